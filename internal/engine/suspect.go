package engine

import (
	"fmt"
	"net/url"
	"regexp"
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
//
// Some are no cause at all, and rank below the failing step's own
// failure (Suspect.Unlinked: listed, but the failure is not grouped under
// them): what nothing links to the failing step (off the path from its
// targets, and not during it; or after its answer); an error a client met
// setting up its connection and went past (go-redis's CLIENT SETINFO on a
// Redis that lacks it, a driver's SET of a variable the server does not
// know: later calls on the edge succeeded, so the client ignored it); and
// anything, when the failing step is itself a check of the wire (its own
// message says what the wire saw).

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

// Exit is a service of the environment that has exited since it was
// ready, as a failing test's suspects see it.
type Exit struct {
	Service string
	How     string // "exit status 7", "signal: killed"
	Addr    string // its address (127.0.0.1:41234), as a failure's message would name it; "" when unknown
	// Told is the test in whose timeline the exit was told, when that was
	// before this attempt (an earlier test on the same environment, or an
	// earlier attempt of this one); "" when it happened during this one.
	Told string
}

// Scores of exited services: above any interaction's (JSON has no
// infinity) when the evidence is the failure's own, else among them.
const (
	exitedNow     = 1000 // it exited during this test
	exitedMet     = 900  // exited before, and this test's failure met it
	exitedOnPath  = 3    // exited before, and the failing step's path reaches it: as a refused call would rank
	exitedUnmeant = 0.5  // exited before, and nothing in this test reached it
)

// WithExits places in.Exits among ranked (Suspects' list for the same
// input) by the evidence this test has against each. A service that
// exited during this test heads the list: every call to it fails from
// then on, and the failure's own message ("connection refused") would not
// name it. One that exited in an earlier test stays down (seam does not
// restart it), but it heads a later failure only when that failure met
// it: this test's calls to it failed, the failing step names it, or the
// failure's message names its address. On the failing step's path it
// ranks as a refused call would; otherwise it comes last, so that a test
// failing for its own reasons is not blamed on it, nor grouped under its
// cause. Every exit is shown: it is the environment's state, not one more
// interaction to rank against the cap.
func WithExits(ranked []report.Suspect, in SuspectInput) []report.Suspect {
	if len(in.Exits) == 0 {
		return ranked
	}
	depth := reach(in.Targets, in.DependsOn)
	var exits []report.Suspect
	for _, x := range in.Exits {
		s := report.Suspect{Edge: x.Service, Line: "service → exited (" + x.How + ")"}
		if x.Told == "" {
			s.Score = exitedNow
			s.Reason = "the service stopped after it was ready, during this test: calls to it fail from then on (its log has its last lines)"
			exits = append(exits, s)
			continue
		}
		when := fmt.Sprintf("in an earlier test (%q)", x.Told)
		if x.Told == in.Test {
			when = "in an earlier attempt of this test"
		}
		s.Reason = "the service stopped after it was ready, " + when + ", and is still down (seam does not restart it)"
		var failed []wire.Interaction
		for _, i := range in.All {
			if _, callee, _ := strings.Cut(i.Edge, "→"); callee == x.Service && i.Suspicious && !i.Injected && i.Protocol != "fault" {
				failed = append(failed, i)
			}
		}
		d, reached := depth[x.Service]
		switch {
		case len(failed) > 0:
			s.Score = exitedMet
			s.Reason += fmt.Sprintf("; %d call(s) of this test to it failed, the first %s | %s",
				len(failed), failed[0].Edge, strings.TrimSuffix(failed[0].Line(), " "+wire.SuspiciousMark))
		case reached && d == 0:
			s.Score = exitedMet
			s.Reason += "; the failing step names it (calls it, or checks its edges)"
		case namesAddr(in.Message, x.Addr):
			s.Score = exitedMet
			s.Reason += "; the failure names its address, " + x.Addr
		case reached:
			s.Score = exitedOnPath
			s.Reason += fmt.Sprintf("; %d hop(s) from %s, which the failing step called, though the wire saw no call to it in this test",
				d, strings.Join(in.Targets, ", "))
		default:
			s.Score, s.Unlinked = exitedUnmeant, true
			s.Reason += "; nothing in this test met it that seam saw (no failed call on its edges, not on the failing step's path, " +
				"its address not in the failure), so it ranks below this test's own evidence"
		}
		exits = append(exits, s)
	}
	out := append(append([]report.Suspect(nil), ranked...), exits...)
	// Stable, and the interactions first: on a tie the exit follows the
	// interaction that is this test's own evidence.
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Unlinked != out[b].Unlinked {
			return !out[a].Unlinked
		}
		return out[a].Score > out[b].Score
	})
	return out
}

// hostPort is the host:port of a service's URL, "" when it has none.
func hostPort(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		return ""
	}
	return u.Host
}

// namesAddr reports whether msg names addr (host:port), and not as the
// start of a longer port (127.0.0.1:543 in 127.0.0.1:5432).
func namesAddr(msg, addr string) bool {
	if addr == "" {
		return false
	}
	for rest := msg; ; {
		k := strings.Index(rest, addr)
		if k < 0 {
			return false
		}
		rest = rest[k+len(addr):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
}

// FaultClearer is an Env whose faults the engine takes off at the end of
// each test, while the test is still the one running, so the event that
// says so lands in that test's timeline, not the next one's.
type FaultClearer interface {
	ClearFaults()
}

// WireChecker is a step whose check is of the wire itself (interactions:):
// when it fails, its own message is the cause, whatever else the wire saw.
type WireChecker interface {
	ChecksWire()
}

// SuspectInput is what Suspects ranks.
type SuspectInput struct {
	All                []wire.Interaction
	Targets            []string            // the services the failing step called; none: unknown
	DependsOn          map[string][]string // each service's dependencies
	Stubs              map[string]bool     // services that are stubs
	StepStart, StepEnd time.Time           // the failing step; zero: unknown
	Noise              map[string]int      // signature → passing tests it was seen in
	Test               string              // the failing test's name
	Message            string              // the failure's message
	Exits              []Exit              // the environment's services that have exited (WithExits)
	WireCheck          bool                // the failing step checks the wire itself (WireChecker)
}

// maxSuspects is how many suspects a failure shows.
const maxSuspects = 3

// Suspects returns the suspicious interactions of in.All, likeliest cause
// first, at most n, each with why. Those linked to the failing step come
// before those that are not (Suspect.Unlinked), whatever their scores.
func Suspects(in SuspectInput, n int) []report.Suspect {
	depth := reach(in.Targets, in.DependsOn)
	type scored struct {
		i        wire.Interaction
		score    float64
		reason   []string
		unlinked bool
	}
	var list []scored
	for _, i := range in.All {
		if !i.Suspicious || i.Protocol == "fault" || iconMiss(i) {
			continue
		}
		caller, callee, _ := strings.Cut(i.Edge, "→")
		base, what := severity(i, in.Stubs[callee])
		s := scored{i: i, score: base, reason: []string{what}}
		// Linked: on the failing step's path, or during it; unknown
		// (no targets, no times) counts as linked, as it always did.
		onPath, during := depth == nil, in.StepStart.IsZero()
		if depth != nil {
			if d, ok := depth[caller]; ok {
				onPath = true
				hops := d + 1
				s.score += float64(hops - 1)
				s.reason = append(s.reason, fmt.Sprintf("%d hop(s) from %s, which the failing step called", hops, strings.Join(in.Targets, ", ")))
			} else {
				s.score *= 0.3
				s.reason = append(s.reason, "off the path from "+strings.Join(in.Targets, ", "))
			}
		}
		after := false
		if !in.StepStart.IsZero() {
			switch {
			case i.Start.After(in.StepEnd):
				after = true
				s.score *= 0.2
				s.reason = append(s.reason, "after the failing step's answer")
			case !i.End.Before(in.StepStart):
				during = true
				s.score += 2
				s.reason = append(s.reason, "during the failing step")
			case i.Injected:
				// The test's own fault, met by an earlier step (which
				// passed, so the system's answer to it was as meant).
				s.score *= 0.5
				s.reason = append(s.reason, "before the failing step: an earlier step met it")
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
		switch {
		case in.WireCheck:
			s.unlinked = true
			s.reason = append(s.reason, "the failing step checks the wire itself, so its own message is the cause")
		case !i.Injected && wentPast(i, in.All):
			s.unlinked = true
			s.score *= 0.1
			s.reason = append(s.reason, "an error of the connection's setup that the client went past "+
				"(its later calls on this edge succeeded), so not a cause")
		case report.Consequence(i.Result):
			// Recorded because the step failed (the browser tells what it
			// was still waiting for then): the failure's consequence.
			s.unlinked = true
			s.score *= 0.1
			s.reason = append(s.reason, "still waited for when the step failed, so a consequence of the failure, not its cause")
		case after:
			s.unlinked = true
			s.reason = append(s.reason, "so it cannot have caused the failure")
		case !onPath && !during:
			s.unlinked = true
			s.reason = append(s.reason, "nothing links it to the failing step, so it ranks below the step's own failure")
		}
		list = append(list, s)
	}
	// An error answered while the callee was itself getting an error from
	// its own dependency is most likely that error passed on: it ranks
	// just below the one that explains it. Inner calls start later, so
	// going from the latest start back, each explainer's rank is final.
	// What is no cause explains nothing.
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
				(!list[a].unlinked || list[b].unlinked) && (best < 0 || list[a].score > list[best].score) {
				best = a
			}
		}
		if best >= 0 {
			list[b].score = min(list[b].score, list[best].score-0.1)
			list[b].reason = append(list[b].reason, "likely passed on from "+list[best].i.Edge+" below it")
		}
	}
	sort.SliceStable(list, func(a, b int) bool {
		if list[a].unlinked != list[b].unlinked {
			return !list[a].unlinked
		}
		if list[a].score != list[b].score {
			return list[a].score > list[b].score
		}
		return list[a].i.Start.Before(list[b].i.Start)
	})
	var out []report.Suspect
	for _, s := range list[:min(n, len(list))] {
		out = append(out, report.Suspect{Edge: s.i.Edge, Line: strings.TrimSuffix(s.i.Line(), " "+wire.SuspiciousMark),
			Reason: strings.Join(s.reason, "; "), Score: float64(int(s.score*100)) / 100, Injected: s.i.Injected, Unlinked: s.unlinked})
	}
	return out
}

// wentPast reports whether i is an error a client met setting up its
// connection (setupOp) and went past: a later call on the same edge, not
// itself setup, succeeded. The wire does not say which connection a call
// was on, so any later success on the edge counts: a client that gave up
// on the connection would have made no call there (or only failed ones).
func wentPast(i wire.Interaction, all []wire.Interaction) bool {
	if !setupOp(i) {
		return false
	}
	for _, j := range all {
		if j.Edge == i.Edge && j.Protocol == i.Protocol && !j.Suspicious && !j.Event() && !setupOp(j) && j.Start.After(i.Start) {
			return true
		}
	}
	return false
}

// setupOp reports whether i is a call clients make to set up a connection
// rather than to do their work, one whose error many clients ignore by
// design: Redis HELLO (RESP3, which a Redis before 6 lacks), CLIENT
// (SETINFO, SETNAME, MAINT_NOTIFICATIONS…), READONLY; SQL SET, RESET and
// SHOW (a session variable the server does not know: MariaDB lacks
// transaction_isolation) and SELECT of @@ system variables. AUTH and
// SELECT of a Redis database are not: a client that went past those
// would be using the wrong user or database.
func setupOp(i wire.Interaction) bool {
	switch i.Protocol {
	case "redis":
		switch i.Command {
		case "HELLO", "CLIENT", "READONLY":
			return true
		}
	case "postgres", "mysql":
		f := strings.Fields(strings.ToUpper(strings.TrimLeft(i.Target, " \t\r\n(")))
		if len(f) == 0 {
			return false
		}
		switch f[0] {
		case "SET", "RESET", "SHOW":
			return true
		case "SELECT":
			return len(f) > 1 && strings.HasPrefix(f[1], "@@")
		}
	}
	return false
}

// iconMiss is a 404 for an icon a browser asks for by itself (Chromium
// asks for /favicon.ico on some page loads, not all; Safari and iOS for
// the touch icons): no page's code made the call, and ranking it would
// blame a failure on it, and group failures under it, from run to run
// differently.
func iconMiss(i wire.Interaction) bool {
	if i.Status != 404 || i.Method != "GET" && i.Method != "HEAD" {
		return false
	}
	p := i.Target
	if u, err := url.Parse(p); err == nil {
		p = u.Path
	}
	return p == "/favicon.ico" || strings.HasPrefix(p, "/apple-touch-icon") && strings.HasSuffix(p, ".png")
}

// severity is how much an interaction, by itself, says about a failure.
func severity(i wire.Interaction, fromStub bool) (float64, string) {
	r := i.Result
	switch {
	case i.Injected:
		return 3, "made by a fault this test set"
	case (i.Protocol == "postgres" || i.Protocol == "mysql") && (strings.HasPrefix(r, "ERROR") || strings.HasPrefix(r, "FATAL")):
		return 5, "an SQL error"
	case i.Protocol == "redis" && (strings.HasPrefix(r, "-") || r == "error"):
		return 4, "a Redis error"
	case i.Protocol == "nats" && strings.HasPrefix(r, "-ERR"):
		return 4, "a NATS error"
	case i.Protocol == "nats" && strings.Contains(r, "no responders"):
		return 3.5, "a NATS request nobody answered"
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
	case "postgres", "mysql":
		op = "SQL " + report.SQLShape(i.Target)
	case "redis":
		op = "REDIS " + i.Command
	case "nats":
		op = "NATS " + strings.TrimSpace(i.Command+" "+report.SubjectShape(i.Key))
	}
	result := i.Result
	if i.Protocol == "postgres" || i.Protocol == "mysql" {
		// "ERROR 23505: duplicate key value violates …", "ERROR 1062
		// (23000): Duplicate entry …": the code.
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
