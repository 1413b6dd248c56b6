// Package engine runs a loaded suite: it schedules tests onto workers, runs
// their steps with timeouts, retries and captures, always runs teardown, and
// reports everything as events.
package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/suite"
	"github.com/seamtest/seam/internal/wire"
)

// Options configure a run.
type Options struct {
	Parallel int // workers; < 1 means 1
	FailFast bool
	Seed     uint64
	Profile  string            // the --profile applied, for the reports
	Vars     map[string]string // --var values
	Now      func() time.Time  // clock; nil means time.Now
	// Envs starts environments; nil when the suite declares no services.
	Envs EnvFactory
	// Base is the evaluated suite variables; nil means evaluate them here.
	Base expr.Vars
	// ProcEnv is added to the environment of processes steps start.
	ProcEnv []string
	// LeaveEnvs leaves the workers' environments running at the end; the
	// caller (who made the factory) stops them.
	LeaveEnvs bool
	// Retries runs a failed test again, up to this many more times, each
	// attempt from a fresh reset; a test that passes on a retry is flaky.
	Retries int
	// Failures ranks tests within a priority: more recorded failures in
	// earlier runs first (nil: suite order).
	Failures map[string]int
	// Budget, when positive, is the run's time: no test starts once the
	// elapsed time plus its Estimate would pass it; the rest are reported
	// as not run.
	Budget time.Duration
	// Estimate is how long a test is expected to take (from earlier
	// runs); false when unknown (then it counts as taking no time).
	Estimate func(test string) (time.Duration, bool)
	// Shard names the part of the suite this run is ("2/4"), for the
	// event log; "" when whole.
	Shard string
}

// Env is one running environment, as the engine needs it.
type Env interface {
	step.Services
	// ServiceFunc is the service("name") function templates call.
	ServiceFunc() any
	Stop(ctx context.Context) error
}

// Resetter is an Env whose data can go back to its baseline between tests.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Checker is an Env with checks that run after every test: a stub that was
// sent requests no mapping matched fails the test.
type Checker interface {
	Check(since time.Time) error
}

// Flusher is an Env that can wait until the output its services have
// already written is delivered, so log lines land in the right test.
type Flusher interface {
	Flush(ctx context.Context)
}

func flush(env Env) {
	if f, ok := env.(Flusher); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		f.Flush(ctx)
	}
}

// EnvFactory starts environments: one per worker, and one per fresh test.
// log receives every line the environment's services print.
type EnvFactory interface {
	Start(ctx context.Context, worker int, log report.LogFunc) (Env, error)
}

// EnvError is an environment that could not start; the run stops.
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

// Filter selects tests.
type Filter struct {
	Name        *regexp.Regexp
	Tags        []string        // any of these
	ExcludeTags []string        // none of these
	AtLeast     *suite.Priority // this priority or a higher one (nil: any)
	File        string          // written in this file ("": any)
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
		if f.AtLeast != nil && t.Priority > *f.AtLeast {
			continue
		}
		if f.File != "" && !suite.SameFile(t.Pos.File, f.File) {
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
	r := &runner{suite: s, opts: opts, sink: report.Masking(s.Mask, sink), now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	base := opts.Base
	if base == nil {
		var err error
		if base, err = SuiteVars(s, opts.Seed, opts.Vars); err != nil {
			return report.Counts{}, err
		}
	}
	r.base = base
	counts := r.run(ctx, tests)
	if r.envErr != nil {
		return counts, &EnvError{Err: r.envErr}
	}
	return counts, nil
}

type runner struct {
	suite *suite.Suite
	opts  Options
	sink  report.Sink
	now   func() time.Time
	base  expr.Vars

	start time.Time // the run's, for --budget

	mu       sync.Mutex
	counts   report.Counts
	stopping bool   // --fail-fast tripped
	budget   string // why --budget stopped the run; "" while it has not
	envErr   error
	onEnd    func(report.Event) // sees each test_end, for Runner.Test
	noise    map[string]int     // suspicious signatures → passing tests they were seen in
	// toldExited: the services of each environment whose exit a test's
	// timeline told, each with that test's name.
	toldExited map[Env]map[string]string
}

// Runner runs single tests on workers the caller manages; the Go API
// drives it from t.Run so Go's scheduler, not the engine's, runs them.
type Runner struct {
	r    *runner
	mu   sync.Mutex
	ends map[string]chan report.Event
}

// NewRunner evaluates the suite's variables (unless opts.Base has them)
// and returns a Runner that sends events to sink.
func NewRunner(s *suite.Suite, opts Options, sink report.Sink) (*Runner, error) {
	r := &runner{suite: s, opts: opts, sink: report.Masking(s.Mask, sink), now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	r.base = opts.Base
	if r.base == nil {
		var err error
		if r.base, err = SuiteVars(s, opts.Seed, opts.Vars); err != nil {
			return nil, err
		}
	}
	x := &Runner{r: r, ends: map[string]chan report.Event{}}
	r.onEnd = func(e report.Event) {
		x.mu.Lock()
		ch := x.ends[e.Test]
		x.mu.Unlock()
		if ch != nil {
			ch <- e
		}
	}
	return x, nil
}

// LogFunc is the log callback for w's environment: each line is tagged
// with the test running on w.
func (x *Runner) LogFunc(w *Worker) report.LogFunc {
	return x.r.logFunc(w)
}

// Test runs one test on w and returns its test_end event. A fresh test
// gets an environment of its own from opts.Envs.
func (x *Runner) Test(ctx context.Context, t *suite.Test, w *Worker) report.Event {
	ch := make(chan report.Event, 1)
	x.mu.Lock()
	x.ends[t.Name] = ch
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		delete(x.ends, t.Name)
		x.mu.Unlock()
	}()
	if t.Skip != "" {
		x.r.finish(t, report.Event{Status: report.Skipped, Message: t.Skip})
	} else {
		x.r.test(ctx, t, w)
	}
	return <-ch
}

// EnvErr is the error of an environment that could not start, if any.
func (x *Runner) EnvErr() error {
	x.r.mu.Lock()
	defer x.r.mu.Unlock()
	return x.r.envErr
}

// Worker is a place where tests run one at a time, with its environment.
type Worker struct {
	id   int
	env  Env
	mu   sync.Mutex
	test string // the test running now, for log attribution
	used bool   // a test has run on env since it started
	// prev is the test that ran last on env, and when it began: a reset
	// that waited for a transaction left open tells the test it began in.
	prev      string
	prevStart time.Time
}

// NewWorker returns a worker whose environment, if any, is set later with
// SetEnv (it needs the worker's log function to start).
func NewWorker(id int) *Worker { return &Worker{id: id} }

// SetEnv gives w its environment.
func (w *Worker) SetEnv(env Env) { w.env, w.used, w.prev = env, false, "" }

func (w *Worker) setTest(name string) {
	w.mu.Lock()
	w.test = name
	w.mu.Unlock()
}

// logFunc tags each line with the test running on w when it was printed.
func (r *runner) logFunc(w *Worker) report.LogFunc {
	return func(svc, stream, line string, span *report.Span) {
		w.mu.Lock()
		test := w.test
		w.mu.Unlock()
		e := report.Event{Type: report.Log, Test: test, Service: svc, Stream: stream, Message: line, Worker: w.id}
		if span != nil {
			// An interaction: when it started, how long it took, and
			// what it carried.
			e.Time, e.Duration, e.Exchange = span.Start, msSince(span.End, span.Start), span.Exchange
		}
		r.emit(e)
	}
}

// envFor returns the environment a test runs in, starting it when needed;
// fresh tests get one of their own, which the caller stops.
func (r *runner) envFor(ctx context.Context, w *Worker, t *suite.Test) (Env, bool, error) {
	if r.opts.Envs == nil {
		return nil, false, nil
	}
	if t.Fresh {
		env, err := r.opts.Envs.Start(ctx, w.id, r.logFunc(w))
		return env, true, err
	}
	if w.env == nil {
		env, err := r.opts.Envs.Start(ctx, w.id, r.logFunc(w))
		if err != nil {
			return nil, false, err
		}
		w.env = env
	}
	return w.env, false, nil
}

func (r *runner) stopEnv(env Env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = env.Stop(ctx)
}

func (r *runner) emit(e report.Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	r.sink.Event(e)
}

// SuiteVars evaluates a suite's variables once for a run: builtins seeded
// with seed, --var values (typed by their declarations, Suite.VarValue), then the suite's vars in order.
func SuiteVars(s *suite.Suite, seed uint64, cli map[string]string) (expr.Vars, error) {
	vars := expr.Builtins(seed)
	var errs diag.List
	for k, v := range cli {
		x, err := s.VarValue(k, v)
		if err != nil {
			errs.AddErr(s.Pos, err)
			continue
		}
		vars[k] = x
	}
	for _, v := range s.Vars {
		if _, overridden := cli[v.Name]; overridden {
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

// edges lists the suite's depends_on edges.
func edges(s *suite.Suite) []report.EdgeInfo {
	if s.System == nil {
		return nil
	}
	var out []report.EdgeInfo
	for _, svc := range s.System.Services {
		if service.IsJob(svc) {
			// A job ends before the first test: only traffic during tests
			// counts, so its edges could never be exercised.
			continue
		}
		for _, d := range svc.DependsOn {
			if dep, ok := s.System.Get(d.Name); ok && service.IsJob(dep) {
				continue // it orders the start; nothing talks to a job
			}
			out = append(out, report.EdgeInfo{Edge: svc.Name + "→" + d.Name, Wired: !d.NoWire})
		}
	}
	// The edges of components seam drives itself (the browser): it sees
	// their calls as they make them. An edge counts when a step opens it
	// or an interactions: step checks it.
	seen := map[string]bool{}
	components := map[string]bool{}
	var refs []step.EdgeRef
	for _, t := range s.Tests {
		for _, steps := range [][]*suite.Step{t.Setup, t.Steps, t.Teardown} {
			for _, st := range steps {
				if c, ok := st.Action.(step.Component); ok {
					for _, e := range c.ComponentEdges() {
						components[e.From] = true
						refs = append(refs, e)
					}
				}
				if eu, ok := st.Action.(step.EdgeUser); ok {
					refs = append(refs, eu.EdgeRefs()...)
				}
			}
		}
	}
	for _, e := range refs {
		name := e.From + "→" + e.To
		if _, declared := s.System.Get(e.From); components[e.From] && !declared && e.To != "" && !seen[name] {
			seen[name] = true
			out = append(out, report.EdgeInfo{Edge: name, Wired: true})
		}
	}
	return out
}

// services says what runs for each of the suite's services.
func services(s *suite.Suite) []report.ServiceInfo {
	if s.System == nil {
		return nil
	}
	out := make([]report.ServiceInfo, 0, len(s.System.Services))
	for _, svc := range s.System.Services {
		info := report.ServiceInfo{Name: svc.Name, Kind: svc.Kind}
		if svc.Standing {
			info.StandsIn = svc.RealKind
		}
		out = append(out, info)
	}
	return out
}

func (r *runner) run(ctx context.Context, tests []*suite.Test) report.Counts {
	start := r.now()
	r.start = start
	r.emit(report.Event{Time: start, Type: report.RunStart, Suite: r.suite.Name, Seed: r.opts.Seed, Profile: r.opts.Profile, Total: len(tests), Services: services(r.suite), Edges: edges(r.suite), Shard: r.opts.Shard})
	ordered := append([]*suite.Test(nil), tests...)
	// Riskier tests first, so --fail-fast and an impatient reader see them.
	// Within a priority, the tests that failed most in earlier runs come
	// first (--budget keeps what is likeliest to find a fault).
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return r.opts.Failures[a.Name] > r.opts.Failures[b.Name]
	})
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
	workers := make([]*Worker, max(r.opts.Parallel, 1))
	for i := range workers {
		workers[i] = NewWorker(i + 1)
	}
	defer func() {
		if r.opts.LeaveEnvs {
			return
		}
		var wg sync.WaitGroup
		for _, w := range workers {
			if w.env != nil {
				wg.Add(1)
				crash.Go(ctx, func() {
					defer wg.Done()
					r.stopEnv(w.env)
				})
			}
		}
		wg.Wait()
	}()
	queue := make(chan *suite.Test)
	var crashed atomic.Pointer[WorkerPanic]
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		crash.Go(ctx, func() {
			defer wg.Done()
			for t := range queue {
				// Checked here, not when queued: a test handed over just
				// as another failed or the run was interrupted must not start.
				if crashed.Load() == nil && !r.skipRest(ctx, t) {
					crashed.CompareAndSwap(nil, r.guarded(ctx, t, w))
				}
			}
		})
	}
	for _, t := range parallel {
		queue <- t
	}
	close(queue)
	wg.Wait()
	if p := crashed.Load(); p != nil {
		// Panic again here, on the caller's goroutine, so the deferred
		// stops above still run and the command can report seam's bug
		// (a panic on a worker's goroutine would end the process at once).
		panic(p)
	}
	for _, t := range serial {
		if r.skipRest(ctx, t) {
			continue
		}
		r.test(ctx, t, workers[0])
	}
	r.mu.Lock()
	counts := r.counts
	r.mu.Unlock()
	end := report.Event{Type: report.RunEnd, Suite: r.suite.Name, Duration: msSince(r.now(), start), Counts: &counts, Seed: r.opts.Seed}
	r.mu.Lock()
	envErr := r.envErr
	r.mu.Unlock()
	switch {
	case envErr != nil:
		end.Status = report.Failed
		end.Message = "the environment could not start: " + firstLine(envErr.Error())
	case ctx.Err() != nil:
		end.Status = report.Failed
		end.Message = "interrupted: the remaining tests were not run"
	}
	r.emit(end)
	return counts
}

// WorkerPanic is a panic on a worker's goroutine, with that goroutine's
// stack, raised again on the goroutine that called Run.
type WorkerPanic struct {
	Value any
	Stack []byte
}

func (p *WorkerPanic) String() string {
	return fmt.Sprintf("%v\n\nworker goroutine:\n%s", p.Value, p.Stack)
}

// guarded runs t on w, returning the panic that stopped it, if any.
func (r *runner) guarded(ctx context.Context, t *suite.Test, w *Worker) (p *WorkerPanic) {
	defer func() {
		if v := recover(); v != nil {
			p = &WorkerPanic{Value: v, Stack: debug.Stack()}
		}
	}()
	r.test(ctx, t, w)
	return nil
}

// skipRest reports t as not run when the run is stopping.
func (r *runner) skipRest(ctx context.Context, t *suite.Test) bool {
	r.mu.Lock()
	stopping := r.stopping
	envErr := r.envErr
	r.mu.Unlock()
	switch {
	case envErr != nil:
		r.finish(t, report.Event{Status: report.Skipped, Message: "not run: the environment could not start"})
		return true
	case ctx.Err() != nil:
		r.finish(t, report.Event{Status: report.Skipped, Message: "not run: interrupted"})
		return true
	case stopping:
		r.finish(t, report.Event{Status: report.Skipped, Message: "not run: --fail-fast stopped the run after a failure"})
		return true
	}
	if why := r.overBudget(t); why != "" {
		r.finish(t, report.Event{Status: report.Skipped, Message: why})
		return true
	}
	return false
}

// overBudget says why t must not start under --budget ("" when it may):
// the elapsed time plus t's estimate would pass the budget. Once one test
// is refused no later one starts, so the tests run are a prefix of the
// risk order.
func (r *runner) overBudget(t *suite.Test) string {
	if r.opts.Budget <= 0 {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget != "" {
		return r.budget
	}
	elapsed := r.now().Sub(r.start)
	var est time.Duration
	if r.opts.Estimate != nil {
		est, _ = r.opts.Estimate(t.Name)
	}
	if elapsed+est <= r.opts.Budget {
		return ""
	}
	r.budget = fmt.Sprintf("not run: --budget %s would be exceeded (%s used when the first test that did not fit, %q, about %s, was due)",
		r.opts.Budget, elapsed.Round(time.Millisecond), t.Name, est.Round(time.Millisecond))
	return r.budget
}

func (r *runner) finish(t *suite.Test, e report.Event) {
	defer func() {
		if r.onEnd != nil {
			r.onEnd(e)
		}
	}()
	e.Type, e.Test, e.Pos = report.TestEnd, t.Name, t.Pos.String()
	e.Tags, e.Priority = t.Tags, t.Priority.String()
	r.mu.Lock()
	switch e.Status {
	case report.Passed:
		r.counts.Passed++
		if e.Flaky {
			r.counts.Flaky++
		}
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

// test runs t on w, again after a failure while --retries allows: each
// failed attempt but the last ends in a test_retry event with its
// evidence, and the next starts from a fresh reset.
func (r *runner) test(ctx context.Context, t *suite.Test, w *Worker) {
	for attempt := 1; ; attempt++ {
		e, ok := r.once(ctx, t, w)
		if !ok {
			return // the environment could not start; reported
		}
		if e.Status == report.Failed && attempt <= r.opts.Retries && ctx.Err() == nil {
			retry := e
			retry.Type, retry.Test, retry.Pos, retry.Attempt = report.TestRetry, t.Name, t.Pos.String(), attempt
			retry.Tags, retry.Priority = t.Tags, t.Priority.String()
			r.emit(retry)
			w.used = true // whatever the failed attempt left is reset
			continue
		}
		if attempt > 1 {
			e.Attempt, e.Flaky = attempt, e.Status == report.Passed
		}
		r.finish(t, e)
		return
	}
}

// once runs one attempt of t and returns its test_end event, not yet
// emitted; false when the environment could not start (reported).
func (r *runner) once(ctx context.Context, t *suite.Test, w *Worker) (report.Event, bool) {
	env, fresh, err := r.envFor(ctx, w, t)
	if err != nil {
		// A start the run's end stopped (Ctrl-C, SIGTERM, a closed
		// output pipe) is not a broken environment, whatever its error
		// says (a driver's "failed to connect", a job "stopped"): the
		// test is not run, as the ones the interrupt kept from starting.
		if ctx.Err() == nil {
			r.mu.Lock()
			if r.envErr == nil {
				r.envErr = err
			}
			r.mu.Unlock()
		}
		r.skipRest(ctx, t)
		return report.Event{}, false
	}
	if fresh {
		defer func() {
			r.stopEnv(env)
			r.forgetExits(env)
		}()
	}
	worker := w.id
	if env != nil {
		flush(env) // output from before the test is not the test's
	}
	w.setTest(t.Name)
	var resetErr error
	if rs, ok := env.(Resetter); ok && env != nil && !fresh {
		// Every test starts from the baseline; the first on a new
		// environment already does.
		if w.used {
			resetErr = rs.Reset(ctx)
		}
		w.used = true
	}
	if resetErr != nil && ctx.Err() != nil {
		// The run was stopped while the data was being reset: the reset
		// did not fail, and the test, which had not started, is not run
		// (as the tests after it are), not failed.
		w.setTest("")
		return report.Event{Status: report.Skipped, Message: "not run: interrupted"}, true
	}
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
	if resetErr != nil {
		var held *service.HeldError
		if errors.As(resetErr, &held) && w.prev != "" {
			for i, h := range held.Holders {
				if !h.Began.IsZero() && !h.Began.Before(w.prevStart) {
					held.Holders[i].Test = w.prev
				}
			}
		}
		failure = &report.Failure{Kind: "error", Pos: t.Pos.String(), Step: "reset to the baseline", Message: resetErr.Error()}
	}
	w.prev, w.prevStart = t.Name, start
	for _, v := range t.Vars {
		if failure != nil {
			break
		}
		x, err := v.Value.Eval(vars)
		if err != nil {
			failure = &report.Failure{Kind: "error", Pos: v.Pos.String(), Step: "vars." + v.Name, Message: err.Error()}
			break
		}
		vars[v.Name] = x
	}
	// The test's context ends when its steps do, with TestEndedCause,
	// so what watches it (a browser's requests in flight) tells the
	// test's end from an interrupt (context.Canceled) or its timeout.
	tctx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(testEnded{}) }
	timeout := t.Timeout
	if timeout == 0 {
		timeout = r.suite.Defaults.TestTimeout
	}
	if timeout > 0 {
		var stop context.CancelFunc
		tctx, stop = context.WithTimeout(tctx, timeout)
		defer stop()
	}
	tr := &testRun{r: r, run: ctx, t: t, vars: vars, worker: worker, timeout: timeout, start: start}
	if env != nil {
		vars["service"] = env.ServiceFunc()
		tr.services = env
	}
	if failure == nil {
		// A setup failure fails the test as an error (docs/suite.md):
		// what the test checks never ran, whatever setup's step checked.
		if failure = tr.phase(tctx, "setup", t.Setup); failure != nil {
			failure.Phase = "setup"
			if failure.Kind == "assertion" {
				failure.Kind = "error"
			}
		}
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
	if te, ok := env.(TestEnder); ok && env != nil {
		// Before the faults are lifted (a blackhole's held calls would
		// fail then): what is still in flight is the test's.
		te.EndTest(start)
	}
	if fc, ok := env.(FaultClearer); ok && env != nil {
		fc.ClearFaults() // the test's faults end in its own timeline
	}
	if env != nil {
		flush(env) // output the test caused is the test's
	}
	if c, ok := env.(Checker); ok && env != nil && failure == nil {
		if err := c.Check(start); err != nil {
			failure = &report.Failure{Kind: "assertion", Pos: t.Pos.String(), Step: "after the test", Message: err.Error()}
		}
	}
	var list []wire.Interaction
	if rec, ok := env.(Recorder); ok && env != nil {
		list = rec.Interactions(start)
		r.suspicion(tr, failure, list)
	}
	if ex, ok := env.(Exiter); ok && env != nil {
		r.exits(ctx, tr, w, env, ex, fresh, failure, list)
	}
	w.setTest("")
	e := report.Event{Status: report.Passed, Duration: msSince(r.now(), start), Worker: worker}
	switch {
	case failure != nil && failure.Kind == "interrupted":
		// Neither passed nor failed: skipped, as the tests the
		// interrupt kept from starting are.
		e.Status, e.Message = report.Skipped, fmt.Sprintf("interrupted during step %q (%s)", failure.Step, failure.Pos)
	case failure != nil:
		e.Status, e.Failure, e.Message = report.Failed, failure, failure.Message
	}
	return e, true
}

type testRun struct {
	r        *runner
	run      context.Context // the run's: done once it is interrupted
	t        *suite.Test
	vars     expr.Vars
	worker   int
	timeout  time.Duration
	services step.Services
	start    time.Time
	// The first step that failed: when it ran, and the services it called.
	failStart, failEnd time.Time
	failTargets        []string
	failComponents     []string // of failTargets, the components seam drives (browser)
	failWire           bool     // the first failing step checks the wire itself (WireChecker)
}

// suspicion ranks the interactions of a failed test (failure.Suspects);
// a passing test's suspicious interactions are noted as noise instead.
func (r *runner) suspicion(tr *testRun, failure *report.Failure, list []wire.Interaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failure == nil {
		if r.noise == nil {
			r.noise = map[string]int{}
		}
		for sig := range signatures(list) {
			r.noise[sig]++
		}
		return
	}
	in := r.suspectInput(tr, list)
	failure.Suspects = Suspects(in, maxSuspects)
}

// suspectInput is what ranks a failure of tr whose test's interactions
// were list.
func (r *runner) suspectInput(tr *testRun, list []wire.Interaction) SuspectInput {
	in := SuspectInput{All: list, Targets: tr.failTargets, StepStart: tr.failStart, StepEnd: tr.failEnd,
		Noise: r.noise, DependsOn: map[string][]string{}, Stubs: map[string]bool{}, Test: tr.t.Name, WireCheck: tr.failWire}
	if sys := r.suite.System; sys != nil {
		for _, svc := range sys.Services {
			for _, d := range svc.DependsOn {
				in.DependsOn[svc.Name] = append(in.DependsOn[svc.Name], d.Name)
			}
			in.Stubs[svc.Name] = svc.Kind == "stub"
		}
	}
	componentDeps(in.DependsOn, tr.failComponents, list)
	return in
}

// componentDeps makes each of components depend on whatever it called in
// list (a page fetches from any service): its calls are the first hop of
// a path from it.
func componentDeps(deps map[string][]string, components []string, list []wire.Interaction) {
	for _, i := range list {
		caller, callee, _ := strings.Cut(i.Edge, "→")
		if slices.Contains(components, caller) && !slices.Contains(deps[caller], callee) {
			deps[caller] = append(deps[caller], callee)
		}
	}
}

// exits tells, in the timeline of the test during which it happened, the
// exit of each service of env, once; and places every service that has
// exited among a failure's suspects, by the evidence this test has
// against it (WithExits): one that died in an earlier test stays down for
// the rest of the run, but heads only the failures that met it.
func (r *runner) exits(ctx context.Context, tr *testRun, w *Worker, env Env, ex Exiter, fresh bool, failure *report.Failure, list []wire.Interaction) {
	exited := ex.Exited()
	if failure != nil && goneMessage(failure.Message) && !r.metExited(env, tr.failTargets, list, failure.Message) {
		// A service that just died (the failing step met its closed
		// port) may not be reaped yet: a moment for it to be, even when
		// another one died in an earlier test.
		wait := time.NewTimer(exitWait)
		defer wait.Stop()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for waited := false; !waited && !r.untold(env, exited); {
			select {
			case <-tick.C:
				exited = ex.Exited()
			case <-wait.C:
				waited = true
			case <-ctx.Done():
				waited = true
			}
		}
	}
	told := r.tellExits(env, exited, tr.t.Name)
	var gone []Exit
	for _, name := range slices.Sorted(maps.Keys(exited)) {
		x := Exit{Service: name, How: exited[name], Addr: addrOf(env, name), Told: told[name]}
		if x.Told == "" {
			line := "service → exited (" + x.How + ")"
			if !fresh {
				// Said once, here: the later failures that met it say
				// so again, the others do not blame it.
				line += "; not restarted: the tests after this one on this environment run without it"
			}
			r.logFunc(w)(name, "seam", line, nil)
		}
		gone = append(gone, x)
	}
	if failure != nil && len(gone) > 0 {
		in := r.suspectInput(tr, list)
		in.Exits, in.Message = gone, failure.Message
		failure.Suspects = WithExits(failure.Suspects, in)
	}
}

// exitWait bounds the wait for a service that just died to be reaped.
const exitWait = 400 * time.Millisecond

// goneMessage reports whether a failure reads as a component gone (its
// port closed, its connection dropped).
func goneMessage(msg string) bool {
	for _, s := range []string{"connection refused", "connection reset", "EOF", "broken pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// untold reports whether a service in exited has an exit no test of env
// told yet.
func (r *runner) untold(env Env, exited map[string]string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range exited {
		if _, ok := r.toldExited[env][name]; !ok {
			return true
		}
	}
	return false
}

// metExited reports whether this test's failure met a service of env
// that exited in an earlier test (the failing step names it, a failed
// call went to it, or the message names its address): that explains a
// closed port, with no wait for another exit.
func (r *runner) metExited(env Env, targets []string, list []wire.Interaction, msg string) bool {
	r.mu.Lock()
	told := slices.Collect(maps.Keys(r.toldExited[env]))
	r.mu.Unlock()
	for _, name := range told {
		if slices.Contains(targets, name) || namesAddr(msg, addrOf(env, name)) {
			return true
		}
		for _, i := range list {
			if _, callee, _ := strings.Cut(i.Edge, "→"); i.Suspicious && callee == name {
				return true
			}
		}
	}
	return false
}

// addrOf is the address of env's service name, "" when it has none.
func addrOf(env Env, name string) string {
	u, err := env.URL(name)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// tellExits records test as the one in whose timeline the exits in
// exited not told yet are told, and returns, for the others, the test
// that told them ("" for those told now).
func (r *runner) tellExits(env Env, exited map[string]string, test string) map[string]string {
	if len(exited) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.toldExited == nil {
		r.toldExited = map[Env]map[string]string{}
	}
	told := r.toldExited[env]
	if told == nil {
		told = map[string]string{}
		r.toldExited[env] = told
	}
	before := map[string]string{}
	for name := range exited {
		if t, ok := told[name]; ok {
			before[name] = t
		} else {
			told[name] = test
		}
	}
	return before
}

// forgetExits drops what was told of env, once it is stopped.
func (r *runner) forgetExits(env Env) {
	r.mu.Lock()
	delete(r.toldExited, env)
	r.mu.Unlock()
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
	env := &step.Env{Vars: tr.vars, Services: tr.services, Dir: r.suite.Dir, ProcEnv: r.opts.ProcEnv, Start: tr.start,
		Seed: testSeed(r.opts.Seed, tr.t.Name) + uint64(index), Test: tr.t.Name}
	// The parameters of reusable steps this one is the first of.
	for _, v := range s.Vars {
		x, err := v.Value.Eval(tr.vars)
		if err != nil {
			f := &report.Failure{Kind: "error", Pos: v.Pos.String(), Step: s.Name, Message: fmt.Sprintf("parameter %s: %v", v.Name, err)}
			end := base
			end.Type, end.Status, end.Duration, end.Message = report.StepEnd, report.Failed, msSince(r.now(), start), f.Message
			r.emit(end)
			return f
		}
		tr.vars[v.Name] = x
	}
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
	if failure != nil && s.Eventually != nil && tr.interrupted(ctx) {
		// Stopped before its time was up: it may yet have held.
		failure.Kind = "interrupted"
	}
	if failure == nil {
		failure = tr.capture(s, res)
	}
	if ar, ok := s.Action.(step.Artifacter); ok && failure != nil {
		for _, a := range ar.Artifacts(ctx, env) {
			failure.Artifacts = append(failure.Artifacts, report.Artifact{Name: a.Name, Path: a.Path})
		}
	}
	end := base
	end.Type, end.Status, end.Duration, end.Attempt = report.StepEnd, report.Passed, msSince(r.now(), start), attempt
	if failure != nil {
		end.Status, end.Message = report.Failed, failure.Message
		if tr.failStart.IsZero() {
			tr.failStart, tr.failEnd = start, r.now()
			_, tr.failWire = s.Action.(WireChecker)
			if su, ok := s.Action.(step.ServiceUser); ok {
				for _, ref := range su.ServiceRefs() {
					tr.failTargets = append(tr.failTargets, ref.Name)
				}
			}
			// A component seam drives (the browser) is where the step's
			// calls start: its edges are the first hop.
			if c, ok := s.Action.(step.Component); ok {
				for _, e := range c.ComponentEdges() {
					if !slices.Contains(tr.failComponents, e.From) {
						tr.failComponents = append(tr.failComponents, e.From)
						tr.failTargets = append(tr.failTargets, e.From)
					}
				}
			}
		}
	}
	r.emit(end)
	return failure
}

// interrupted reports whether ctx, a step's, ended because the run was
// stopped (Ctrl-C, SIGTERM, a closed output pipe): a step cut short so did
// not fail, whatever its error says. Teardown's context outlives the
// run's, so its failures stay failures.
func (tr *testRun) interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && tr.run.Err() != nil
}

func (tr *testRun) ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("the test timed out after %s", tr.timeout)
	}
	return "interrupted"
}

func (tr *testRun) attempt(ctx context.Context, s *suite.Step, env *step.Env, timeout time.Duration) (*report.Failure, *step.Result) {
	if pr, ok := s.Action.(step.Preparer); ok {
		if err := pr.Prepare(ctx, env); err != nil {
			f := &report.Failure{Pos: s.Pos.String(), Step: s.Name, Kind: "error", Message: err.Error()}
			if tr.interrupted(ctx) {
				// The helper (a browser) was starting when the run
				// was stopped.
				f.Kind, f.Message = "interrupted", "interrupted: "+err.Error()
			}
			return f, nil
		}
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := s.Action.Run(sctx, env)
	f := &report.Failure{Pos: s.Pos.String(), Step: s.Name}
	if res != nil {
		f.Request, f.Response = res.Request, res.Response
	}
	var failed *step.Failed
	if errors.As(err, &failed) {
		f.Kind, f.Message = "assertion", failed.Msg
		return f, res
	}
	if err != nil {
		f.Kind, f.Message = "error", err.Error()
		if sctx.Err() != nil {
			f.Kind = "timeout"
			if tr.interrupted(ctx) {
				// Ctrl-C or SIGTERM: the step did not fail, the run was
				// stopped (the test is reported as not run, once).
				f.Kind = "interrupted"
			}
			if ctx.Err() != nil {
				f.Message = fmt.Sprintf("%s: %s", tr.ctxReason(ctx), err)
			} else {
				f.Message = fmt.Sprintf("step timed out after %s: %s", timeout, err)
			}
		}
		return f, res
	}
	if d, ok := s.Action.(step.Defaulter); ok {
		if why := d.Default(res.Fields, s.Expect.Checks); why != "" {
			f.Kind, f.Message = "assertion", why
			return f, res
		}
	}
	mf := s.Expect.Check(res.Fields, tr.vars)
	waited := ""
	if rc, ok := s.Action.(step.Rechecker); ok && mf != nil && s.Eventually == nil {
		// Read again, without acting again, until the expectations hold
		// or their time (expect_timeout, within the step's) is up: the
		// page may still be rendering.
		expectFor := s.ExpectTimeout
		if expectFor == 0 {
			expectFor = tr.r.suite.Defaults.ExpectTimeout
		}
		ectx := sctx
		if expectFor > 0 {
			var cancel context.CancelFunc
			ectx, cancel = context.WithTimeout(sctx, expectFor)
			defer cancel()
		}
		wait := 10 * time.Millisecond
		for mf != nil {
			t := time.NewTimer(wait)
			select {
			case <-ectx.Done():
				t.Stop()
			case <-t.C:
			}
			if ectx.Err() != nil {
				break
			}
			again, err := rc.Recheck(ectx, env)
			if err != nil || again == nil {
				break
			}
			res = again
			mf = s.Expect.Check(res.Fields, tr.vars)
			wait = min(wait*2, 100*time.Millisecond)
		}
		switch {
		case mf == nil:
		case ctx.Err() != nil:
			// The test's time ran out first (or the run was stopped).
			waited = fmt.Sprintf(" (still so when %s)", tr.ctxReason(ctx))
		case sctx.Err() != nil:
			waited = fmt.Sprintf(" (still so after waiting %s, the step's timeout)", timeout)
		case ectx.Err() != nil:
			waited = fmt.Sprintf(" (still so after waiting %s, the step's expect_timeout)", expectFor)
		}
		f.Request, f.Response = res.Request, res.Response
	}
	if mf != nil {
		f.Kind, f.Message, f.Diff = "assertion", mf.Error()+waited, mf.Diff
		if waited != "" && tr.interrupted(ctx) {
			// The run was stopped while the page was still being read
			// again: the expectations did not have their time.
			f.Kind = "interrupted"
		}
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Describe lists a test for `seam list`.
func Describe(t *suite.Test) string {
	tags := ""
	if len(t.Tags) > 0 {
		tags = " [" + strings.Join(t.Tags, ",") + "]"
	}
	return fmt.Sprintf("%s%s %s", t.Name, tags, t.Priority)
}

// TestEnder is an Env whose helpers keep a test's state (a browser's
// requests in flight): the engine calls EndTest once the test's teardown
// is done, while the test is still the one running, so what they record
// of it lands in its timeline, not the next test's. since is when the
// test began.
type TestEnder interface {
	EndTest(since time.Time)
}

// testEnded is the cause the test's context ends with when its steps are
// done: neither an interrupt (context.Canceled) nor its timeout. Its
// TestEnded method is how a step kind that cannot name this type (the
// browser's watch on the test) tells it.
type testEnded struct{}

func (testEnded) Error() string   { return "the test ended" }
func (testEnded) TestEnded() bool { return true }
