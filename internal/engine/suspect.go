package engine

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/wire"
)

// Suspicion: when a test fails, which of the interactions the wire
// recorded during it most likely caused the failure. Every error answer
// counts (HTTP 4xx and 5xx, SQL errors, Redis errors, resets, refusals,
// calls that got no answer, what faults did); they are ranked by
//   - what they are: an error the callee answered (SQL 23505) says more
//     than a connection reset while nothing was in flight;
//   - where they are: on the path from the service the failing step
//     called (edges reachable from it through depends_on), deeper ones
//     first, since an error deep down is what the ones above it pass on
//     (an error answered while the callee was getting one from below
//     ranks just under that one);
//   - when: during the failing step, before its answer; what came after
//     the answer (teardown) cannot have caused it;
//   - whether passing tests had it too: what recurs in tests that pass (a
//     pool's reconnect) is noise.
// A 4xx from a stub counts less: a stub answers what its mappings say,
// so the 4xx was scripted by the suite's author.

// Recorder is an Env whose wire recorded what crossed its edges.
type Recorder interface {
	Interactions(since time.Time) []wire.Interaction
}

// Exiter is an Env whose services may stop while the suite runs: the
// services that have exited since they were ready, each with how
// ("exit status 7", "signal: killed").
type Exiter interface {
	Exited() map[string]string
}

// exitedSuspects are the services that have exited, as a failure's
// likeliest causes: every call to one fails from then on, and the
// failure's own message ("connection refused") would not name it.
func exitedSuspects(exited map[string]string) []report.Suspect {
	var out []report.Suspect
	for _, name := range slices.Sorted(maps.Keys(exited)) {
		out = append(out, report.Suspect{Edge: name, Line: "service → exited (" + exited[name] + ")",
			Reason: "the service stopped after it was ready, while the suite ran: calls to it fail from then on (its log has its last lines)",
			Score:  1000}) // above any interaction's (JSON has no infinity)
	}
	return out
}

// FaultClearer is an Env whose faults the engine takes off at the end of
// each test, while the test is still the one running, so the event that
// says so lands in that test's timeline, not the next one's.
type FaultClearer interface {
	ClearFaults()
}

// SuspectInput is what Suspects ranks.
type SuspectInput struct {
	All                []wire.Interaction
	Targets            []string            // the services the failing step called; none: unknown
	DependsOn          map[string][]string // each service's dependencies
	Stubs              map[string]bool     // services that are stubs
	StepStart, StepEnd time.Time           // the failing step; zero: unknown
	Noise              map[string]int      // signature → passing tests it was seen in
}

// maxSuspects is how many suspects a failure shows.
const maxSuspects = 3

// Suspects returns the suspicious interactions of in.All, likeliest cause
// first, at most n, each with why.
func Suspects(in SuspectInput, n int) []report.Suspect {
	depth := reach(in.Targets, in.DependsOn)
	type scored struct {
		i      wire.Interaction
		score  float64
		reason []string
	}
	var list []scored
	for _, i := range in.All {
		if !i.Suspicious || i.Protocol == "fault" {
			continue
		}
		caller, callee, _ := strings.Cut(i.Edge, "→")
		base, what := severity(i, in.Stubs[callee])
		s := scored{i: i, score: base, reason: []string{what}}
		if depth != nil {
			if d, ok := depth[caller]; ok {
				hops := d + 1
				s.score += float64(hops - 1)
				s.reason = append(s.reason, fmt.Sprintf("%d hop(s) from %s, which the failing step called", hops, strings.Join(in.Targets, ", ")))
			} else {
				s.score *= 0.3
				s.reason = append(s.reason, "off the path from "+strings.Join(in.Targets, ", "))
			}
		}
		if !in.StepStart.IsZero() {
			switch {
			case i.Start.After(in.StepEnd):
				s.score *= 0.2
				s.reason = append(s.reason, "after the failing step's answer")
			case !i.End.Before(in.StepStart):
				s.score += 2
				s.reason = append(s.reason, "during the failing step")
			default:
				s.reason = append(s.reason, "before the failing step")
			}
		}
		// What a fault made is not noise: this test set the fault, whatever
		// other tests that set it did.
		if k := in.Noise[Signature(i)]; k > 0 && !i.Injected {
			s.score *= 0.2
			s.reason = append(s.reason, fmt.Sprintf("also in %d passing test(s), so likely noise", k))
		}
		list = append(list, s)
	}
	// An error answered while the callee was itself getting an error from
	// its own dependency is most likely that error passed on: it ranks
	// just below the one that explains it. Inner calls start later, so
	// going from the latest start back, each explainer's rank is final.
	order := make([]int, len(list))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return list[order[a]].i.Start.After(list[order[b]].i.Start) })
	for _, b := range order {
		_, callee, _ := strings.Cut(list[b].i.Edge, "→")
		best := -1
		for a := range list {
			caller, _, _ := strings.Cut(list[a].i.Edge, "→")
			ia, ib := list[a].i, list[b].i
			if a != b && caller == callee && !ia.Start.Before(ib.Start) && !ia.End.After(ib.End) &&
				(best < 0 || list[a].score > list[best].score) {
				best = a
			}
		}
		if best >= 0 {
			list[b].score = min(list[b].score, list[best].score-0.1)
			list[b].reason = append(list[b].reason, "likely passed on from "+list[best].i.Edge+" below it")
		}
	}
	sort.SliceStable(list, func(a, b int) bool {
		if list[a].score != list[b].score {
			return list[a].score > list[b].score
		}
		return list[a].i.Start.Before(list[b].i.Start)
	})
	var out []report.Suspect
	for _, s := range list[:min(n, len(list))] {
		out = append(out, report.Suspect{Edge: s.i.Edge, Line: strings.TrimSuffix(s.i.Line(), " "+wire.SuspiciousMark),
			Reason: strings.Join(s.reason, "; "), Score: float64(int(s.score*100)) / 100})
	}
	return out
}

// severity is how much an interaction, by itself, says about a failure.
func severity(i wire.Interaction, fromStub bool) (float64, string) {
	r := i.Result
	switch {
	case i.Injected:
		return 3, "made by a fault this test set"
	case i.Protocol == "postgres" && (strings.HasPrefix(r, "ERROR") || strings.HasPrefix(r, "FATAL")):
		return 5, "an SQL error"
	case i.Protocol == "redis" && (strings.HasPrefix(r, "-") || r == "error"):
		return 4, "a Redis error"
	case i.Protocol == "grpc" && i.GRPCStatus > 0:
		// A non-OK grpc-status is an error answer as a 5xx is.
		return 4, "a gRPC " + wire.GRPCCodeName(i.GRPCStatus) + " answer"
	case i.Status >= 500:
		return 4, fmt.Sprintf("an HTTP %d answer", i.Status)
	case i.Status >= 400 && fromStub:
		return 1.5, fmt.Sprintf("an HTTP %d answer from a stub (its mappings scripted it)", i.Status)
	case i.Status >= 400:
		return 3.5, fmt.Sprintf("an HTTP %d answer", i.Status)
	case strings.HasPrefix(r, "no answer"), strings.HasPrefix(r, "no response"):
		return 3, "a call that got no answer"
	case strings.HasPrefix(r, "refused"):
		return 3, "a refused connection"
	case strings.Contains(i.Note, "nothing in flight"):
		return 1, "a connection reset while nothing was in flight"
	case strings.Contains(r, "reset"):
		return 2.5, "a reset connection"
	}
	return 2, "marked suspicious by the wire"
}

// reach is how many hops each service lies from targets along depends_on
// (the targets: 0); nil when no target is known.
func reach(targets []string, deps map[string][]string) map[string]int {
	if len(targets) == 0 {
		return nil
	}
	depth := map[string]int{}
	queue := append([]string(nil), targets...)
	for _, t := range targets {
		depth[t] = 0
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, d := range deps[s] {
			if _, seen := depth[d]; !seen {
				depth[d] = depth[s] + 1
				queue = append(queue, d)
			}
		}
	}
	return depth
}

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// Signature is what makes two suspicious interactions "the same" across
// tests: the edge, the operation's shape and the kind of result, without
// ids, durations or values.
func Signature(i wire.Interaction) string {
	op := i.Op
	switch i.Protocol {
	case "http":
		op = i.Method + " " + report.Route(i.Target)
	case "postgres":
		op = "SQL " + report.SQLShape(i.Target)
	case "redis":
		op = "REDIS " + i.Command
	}
	result := i.Result
	if i.Protocol == "postgres" {
		// "ERROR 23505: duplicate key value violates …": the code.
		result, _, _ = strings.Cut(result, ":")
	}
	return i.Edge + " " + op + " → " + digits.ReplaceAllString(result, "#")
}

// signatures is the set of suspicious signatures in list.
func signatures(list []wire.Interaction) map[string]bool {
	out := map[string]bool{}
	for _, i := range list {
		if i.Suspicious && i.Protocol != "fault" && !i.Injected {
			out[Signature(i)] = true
		}
	}
	return out
}
