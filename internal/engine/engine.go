// Package engine runs a loaded suite: it schedules tests onto workers, runs
// their steps with timeouts, retries and captures, always runs teardown, and
// reports everything as events.
package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/suite"
	"go.yaml.in/yaml/v4"
)

// Options configure a run.
type Options struct {
	Parallel int // workers; < 1 means 1
	FailFast bool
	Seed     uint64
	Vars     map[string]string // --var values
	Now      func() time.Time  // clock; nil means time.Now
	Services step.Services     // nil when the suite starts none
}

// Filter selects tests.
type Filter struct {
	Name        *regexp.Regexp
	Tags        []string // any of these
	ExcludeTags []string // none of these
}

// Select returns the tests that pass f, in suite order.
func Select(tests []*suite.Test, f Filter) []*suite.Test {
	var out []*suite.Test
	for _, t := range tests {
		if f.Name != nil && !f.Name.MatchString(t.Name) {
			continue
		}
		if len(f.Tags) > 0 && !anyTag(t.Tags, f.Tags) {
			continue
		}
		if anyTag(t.Tags, f.ExcludeTags) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func anyTag(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// Run runs tests of s and sends every event to sink. It returns the counts;
// the error is a problem that stopped the run as a whole (a variable that
// cannot be evaluated, say), reported before any test starts.
func Run(ctx context.Context, s *suite.Suite, tests []*suite.Test, opts Options, sink report.Sink) (report.Counts, error) {
	r := &runner{suite: s, opts: opts, sink: sink, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	base, err := r.suiteVars()
	if err != nil {
		return report.Counts{}, err
	}
	r.base = base
	return r.run(ctx, tests), nil
}

type runner struct {
	suite *suite.Suite
	opts  Options
	sink  report.Sink
	now   func() time.Time
	base  expr.Vars

	mu       sync.Mutex
	counts   report.Counts
	stopping bool // --fail-fast tripped
}

func (r *runner) emit(e report.Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	r.sink.Event(e)
}

// ParseVar types a --var value the way YAML would: 5 is a number, true a
// boolean, anything else a string.
func ParseVar(s string) any {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err == nil && len(n.Content) == 1 {
		c := n.Content[0]
		if c.Kind == yaml.ScalarNode {
			switch c.ShortTag() {
			case "!!int", "!!float", "!!bool":
				var v any
				if err := c.Decode(&v); err == nil {
					return expr.Normalize(v)
				}
			}
		}
	}
	return s
}

func (r *runner) suiteVars() (expr.Vars, error) {
	vars := expr.Builtins(r.opts.Seed)
	for k, v := range r.opts.Vars {
		vars[k] = ParseVar(v)
	}
	var errs diag.List
	for _, v := range r.suite.Vars {
		if _, overridden := r.opts.Vars[v.Name]; overridden {
			continue
		}
		x, err := v.Value.Eval(vars)
		if err != nil {
			errs.Add(diag.Errorf(v.Pos, "vars.%s: %v", v.Name, err))
			continue
		}
		vars[v.Name] = x
	}
	return vars, errs.Err()
}

func (r *runner) run(ctx context.Context, tests []*suite.Test) report.Counts {
	start := r.now()
	r.emit(report.Event{Time: start, Type: report.RunStart, Suite: r.suite.Name, Seed: r.opts.Seed, Total: len(tests)})
	ordered := append([]*suite.Test(nil), tests...)
	// Riskier tests first, so --fail-fast and an impatient reader see them.
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Priority < ordered[j].Priority })
	var parallel, serial []*suite.Test
	for _, t := range ordered {
		switch {
		case t.Skip != "":
			r.finish(t, report.Event{Status: report.Skipped, Message: t.Skip})
		case t.Serial:
			serial = append(serial, t)
		default:
			parallel = append(parallel, t)
		}
	}
	workers := max(r.opts.Parallel, 1)
	queue := make(chan *suite.Test)
	var wg sync.WaitGroup
	for w := 1; w <= workers; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for t := range queue {
				// Checked here, not when queued: a test handed over just
				// as another failed or the run was interrupted must not start.
				if !r.skipRest(ctx, t) {
					r.test(ctx, t, worker)
				}
			}
		}(w)
	}
	for _, t := range parallel {
		queue <- t
	}
	close(queue)
	wg.Wait()
	for _, t := range serial {
		if r.skipRest(ctx, t) {
			continue
		}
		r.test(ctx, t, 1)
	}
	r.mu.Lock()
	counts := r.counts
	r.mu.Unlock()
	msg := ""
	if ctx.Err() != nil {
		msg = "interrupted: the remaining tests were not run"
	}
	r.emit(report.Event{Type: report.RunEnd, Suite: r.suite.Name, Duration: msSince(r.now(), start), Counts: &counts, Seed: r.opts.Seed, Message: msg})
	return counts
}

// skipRest reports t as not run when the run is stopping.
func (r *runner) skipRest(ctx context.Context, t *suite.Test) bool {
	r.mu.Lock()
	stopping := r.stopping
	r.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		r.finish(t, report.Event{Status: report.Skipped, Message: "not run: interrupted"})
		return true
	case stopping:
		r.finish(t, report.Event{Status: report.Skipped, Message: "not run: --fail-fast stopped the run after a failure"})
		return true
	}
	return false
}

func (r *runner) finish(t *suite.Test, e report.Event) {
	e.Type, e.Test, e.Pos = report.TestEnd, t.Name, t.Pos.String()
	e.Tags, e.Priority = t.Tags, t.Priority.String()
	r.mu.Lock()
	switch e.Status {
	case report.Passed:
		r.counts.Passed++
	case report.Failed:
		r.counts.Failed++
		if r.opts.FailFast {
			r.stopping = true
		}
	case report.Skipped:
		r.counts.Skipped++
	}
	r.mu.Unlock()
	r.emit(e)
}

func msSince(now, start time.Time) float64 {
	return float64(now.Sub(start).Microseconds()) / 1000
}

// testSeed derives a per-test seed so that random data does not depend on
// which worker ran which test first.
func testSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return seed ^ h.Sum64()
}

func (r *runner) test(ctx context.Context, t *suite.Test, worker int) {
	start := r.now()
	r.emit(report.Event{Time: start, Type: report.TestStart, Test: t.Name, Pos: t.Pos.String(), Tags: t.Tags, Priority: t.Priority.String(), Worker: worker})
	vars := make(expr.Vars, len(r.base)+8)
	for k, v := range r.base {
		vars[k] = v
	}
	for k, v := range expr.Builtins(testSeed(r.opts.Seed, t.Name)) {
		if k != "env" {
			vars[k] = v
		}
	}
	var failure *report.Failure
	for _, v := range t.Vars {
		x, err := v.Value.Eval(vars)
		if err != nil {
			failure = &report.Failure{Kind: "error", Pos: v.Pos.String(), Step: "vars." + v.Name, Message: err.Error()}
			break
		}
		vars[v.Name] = x
	}
	tctx, cancel := ctx, context.CancelFunc(func() {})
	timeout := t.Timeout
	if timeout == 0 {
		timeout = r.suite.Defaults.TestTimeout
	}
	if timeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, timeout)
	}
	tr := &testRun{r: r, t: t, vars: vars, worker: worker, timeout: timeout}
	if failure == nil {
		failure = tr.phase(tctx, "setup", t.Setup)
	}
	if failure == nil {
		failure = tr.phase(tctx, "steps", t.Steps)
	}
	cancel()
	// Teardown always runs, after a failure, a test timeout or an
	// interrupt, with its own step timeouts.
	tdctx := context.WithoutCancel(ctx)
	if f := tr.phase(tdctx, "teardown", t.Teardown); failure == nil {
		failure = f
	}
	e := report.Event{Status: report.Passed, Duration: msSince(r.now(), start), Worker: worker}
	if failure != nil {
		e.Status, e.Failure, e.Message = report.Failed, failure, failure.Message
	}
	r.finish(t, e)
}

type testRun struct {
	r       *runner
	t       *suite.Test
	vars    expr.Vars
	worker  int
	timeout time.Duration
}

// phase runs steps in order; teardown runs them all even after a failure,
// other phases stop at the first.
func (tr *testRun) phase(ctx context.Context, name string, steps []*suite.Step) *report.Failure {
	var first *report.Failure
	for i, s := range steps {
		f := tr.step(ctx, name, i, s)
		if f != nil && first == nil {
			first = f
			if name != "teardown" {
				break
			}
		}
	}
	return first
}

func (tr *testRun) step(ctx context.Context, phase string, index int, s *suite.Step) *report.Failure {
	r := tr.r
	start := r.now()
	base := report.Event{Test: tr.t.Name, Phase: phase, Step: s.Name, Index: index, Pos: s.Pos.String(), Worker: tr.worker}
	ev := base
	ev.Type, ev.Time = report.StepStart, start
	r.emit(ev)
	timeout := s.Timeout
	if timeout == 0 {
		timeout = r.suite.Defaults.StepTimeout
	}
	env := &step.Env{Vars: tr.vars, Services: r.opts.Services, Dir: r.suite.Dir}
	var deadline time.Time
	if s.Eventually != nil {
		deadline = start.Add(s.Eventually.Timeout)
	}
	attempt := 0
	var failure *report.Failure
	var res *step.Result
	for {
		attempt++
		failure, res = tr.attempt(ctx, s, env, timeout)
		if failure == nil || s.Eventually == nil || ctx.Err() != nil {
			break
		}
		wait := s.Eventually.Interval
		if r.now().Add(wait).After(deadline) {
			failure.Message += fmt.Sprintf(" (still failing after %d attempts in %s)", attempt, s.Eventually.Timeout)
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			failure.Message += fmt.Sprintf(" (after %d attempts; %s)", attempt, tr.ctxReason(ctx))
			break
		}
	}
	if failure == nil {
		failure = tr.capture(s, res)
	}
	end := base
	end.Type, end.Status, end.Duration, end.Attempt = report.StepEnd, report.Passed, msSince(r.now(), start), attempt
	if failure != nil {
		end.Status, end.Message = report.Failed, failure.Message
	}
	r.emit(end)
	return failure
}

func (tr *testRun) ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("the test timed out after %s", tr.timeout)
	}
	return "interrupted"
}

func (tr *testRun) attempt(ctx context.Context, s *suite.Step, env *step.Env, timeout time.Duration) (*report.Failure, *step.Result) {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := s.Action.Run(sctx, env)
	f := &report.Failure{Pos: s.Pos.String(), Step: s.Name}
	if res != nil {
		f.Request, f.Response = res.Request, res.Response
	}
	if err != nil {
		f.Kind, f.Message = "error", err.Error()
		if sctx.Err() != nil {
			f.Kind = "timeout"
			if ctx.Err() != nil {
				f.Message = fmt.Sprintf("%s: %s", tr.ctxReason(ctx), err)
			} else {
				f.Message = fmt.Sprintf("step timed out after %s: %s", timeout, err)
			}
		}
		return f, res
	}
	if mf := s.Expect.Check(res.Fields, tr.vars); mf != nil {
		f.Kind, f.Message, f.Diff = "assertion", mf.Error(), mf.Diff
		if !mf.Pos.IsZero() {
			f.Pos = mf.Pos.String()
		}
		return f, res
	}
	return nil, res
}

func (tr *testRun) capture(s *suite.Step, res *step.Result) *report.Failure {
	if len(s.Captures) == 0 || res == nil {
		return nil
	}
	obj := make(map[string]any, len(res.Fields))
	for k, v := range res.Fields {
		obj[k] = v
	}
	for _, c := range s.Captures {
		v, found, err := c.Query.Run(obj)
		if err == nil && !found {
			err = fmt.Errorf("%s found nothing in the result", c.Query)
		}
		if err != nil {
			return &report.Failure{Kind: "assertion", Pos: c.Pos.String(), Step: s.Name,
				Message: fmt.Sprintf("capture %s: %v", c.Name, err), Request: res.Request, Response: res.Response}
		}
		tr.vars[c.Name] = v
	}
	return nil
}

// Describe lists a test for `seam list`.
func Describe(t *suite.Test) string {
	tags := ""
	if len(t.Tags) > 0 {
		tags = " [" + strings.Join(t.Tags, ",") + "]"
	}
	return fmt.Sprintf("%s%s %s", t.Name, tags, t.Priority)
}
