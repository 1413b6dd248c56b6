package seam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
)

// Option configures Run, Start and Up. Var and Seed apply to all three;
// Tags, ExcludeTags and Parallel choose and schedule a suite's tests, so
// they are Run's alone: Start and Up, which start the services only,
// refuse them.
type Option func(*config)

// servicesOnly reports (as an error naming caller) options that choose
// or schedule tests, given to Start or Up, which run none.
func (c *config) servicesOnly(caller string) error {
	var given []string
	if len(c.tags) > 0 {
		given = append(given, "Tags")
	}
	if len(c.exclude) > 0 {
		given = append(given, "ExcludeTags")
	}
	if c.parallel {
		given = append(given, "Parallel")
	}
	if len(given) == 0 {
		return nil
	}
	return fmt.Errorf("seam: %s: the option(s) %s choose or schedule a suite's tests, and %s starts the services only, running none: "+
		"run the suite's tests with seam.Run, or leave the options out (for parallel tests, Start an environment in each)",
		caller, strings.Join(given, ", "), caller)
}

type config struct {
	vars     map[string]string
	seed     uint64
	tags     []string
	exclude  []string
	parallel bool
}

func newConfig(opts []Option) *config {
	c := &config{vars: map[string]string{}, seed: 1}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Var sets a suite variable, like --var NAME=VALUE. value is text ("01234"
// stays "01234") unless the suite's vars: declare name with a number or a
// boolean; then it is read as one (0x1F is 31), and a value that is not one
// fails the test naming the declaration.
func Var(name, value string) Option { return func(c *config) { c.vars[name] = value } }

// Seed sets the seed of random data (default 1, so go test runs repeat).
func Seed(n uint64) Option { return func(c *config) { c.seed = n } }

// Tags runs only the suite's tests that have any of these tags (Run only).
func Tags(tags ...string) Option { return func(c *config) { c.tags = append(c.tags, tags...) } }

// ExcludeTags skips the suite's tests that have any of these tags, like
// --exclude-tags; it applies after Tags (Run only).
func ExcludeTags(tags ...string) Option {
	return func(c *config) { c.exclude = append(c.exclude, tags...) }
}

// Parallel runs the suite's tests as parallel subtests (except those
// marked serial), each on an environment instance of its own (Run only).
func Parallel() Option { return func(c *config) { c.parallel = true } }

// load reads a suite, rendering every problem with positions (with cs,
// by the Go that declared the services written to path).
func load(path string, cfg *config, servicesOnly bool, cs *codeSuite) (*suite.Suite, *builtin.Registry, error) {
	reg := builtin.New()
	s, err := suite.Load(path, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services,
		Probes: reg.Probes, Vars: cfg.vars, ServicesOnly: servicesOnly})
	if err != nil {
		reg.Close()
		var l *diag.List
		if cs != nil && errors.As(err, &l) {
			return nil, nil, cs.problems(l)
		}
		if cs != nil {
			return nil, nil, cs.rewrite(fmt.Errorf("seam: %v", err))
		}
		if errors.As(err, &l) {
			return nil, nil, fmt.Errorf("seam: %s has %d problem(s); fix them (seam validate %s shows the same):\n%s",
				path, l.Len(), path, diag.Render(l.Errors(), nil))
		}
		return nil, nil, fmt.Errorf("seam: %v", err)
	}
	return s, reg, nil
}

// Run loads the suite at path (a seam.yaml, or the folder holding one) and
// runs each of its tests as a subtest of t, named as in the suite, so
// go test -run and go test -json see them. Suite problems fail t with
// every problem and its position.
func Run(t *testing.T, path string, opts ...Option) {
	t.Helper()
	cfg := newConfig(opts)
	s, reg, err := load(path, cfg, false, nil)
	if err != nil {
		t.Fatal(err)
		return
	}
	t.Cleanup(reg.Close)
	ctx := t.Context()
	sess, err := session.Open(ctx, s, session.Options{Command: "go test", Vars: cfg.vars, Seed: cfg.seed, Notices: testWriter{t}})
	if err != nil {
		t.Fatalf("seam: %v", err)
		return
	}
	t.Cleanup(func() {
		if err := sess.Close(); err != nil {
			t.Errorf("seam: cleanup: %v", err)
		}
	})
	logs := newLogSink()
	runner, err := engine.NewRunner(s, engine.Options{Seed: cfg.seed, Vars: cfg.vars, Envs: sess.Factory(),
		Base: sess.Base(), ProcEnv: []string{sess.Mark()}}, report.NewFanout(logs))
	if err != nil {
		t.Fatalf("seam: %v", err)
		return
	}
	tests := engine.Select(s.Tests, engine.Filter{Tags: cfg.tags, ExcludeTags: cfg.exclude})
	if len(tests) == 0 {
		t.Fatalf("seam: no test of %s is left by the tags %v and the excluded tags %v", path, cfg.tags, cfg.exclude)
	}
	p := &pool{sess: sess, runner: runner, hasEnv: sess.Factory() != nil}
	// Parallel subtests run after this function returns; the group below
	// keeps them inside it, so the session outlives them.
	t.Run("seam", func(t *testing.T) {
		for _, st := range tests {
			t.Run(st.Name, func(t *testing.T) {
				t.Helper()
				if cfg.parallel && !st.Serial {
					t.Parallel()
				}
				w, err := p.get(ctx)
				if err != nil {
					t.Fatalf("seam: %v", err)
					return
				}
				defer p.put(w)
				end := runner.Test(ctx, st, w)
				if err := runner.EnvErr(); err != nil && end.Status == report.Skipped {
					t.Fatalf("seam: %v", err)
				}
				engine.ReportTo(t, end, logs.take(st.Name))
			})
		}
	})
}

// testWriter sends notices to t.Log, or to stderr once t has ended (a
// session may write while it closes).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	if w.t == nil || !tryLog(w.t, msg) {
		fmt.Fprintln(os.Stderr, msg)
	}
	return len(p), nil
}

// pool hands each running subtest a worker with an environment of its own,
// starting one more when all are busy.
type pool struct {
	sess   *session.Session
	runner *engine.Runner
	hasEnv bool
	mu     sync.Mutex
	free   []*engine.Worker
	n      int
}

func (p *pool) get(ctx context.Context) (*engine.Worker, error) {
	p.mu.Lock()
	if len(p.free) > 0 {
		w := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.mu.Unlock()
		return w, nil
	}
	p.n++
	w := engine.NewWorker(p.n)
	p.mu.Unlock()
	if p.hasEnv {
		env, err := p.sess.StartEnv(ctx, p.runner.LogFunc(w))
		if err != nil {
			return nil, err
		}
		w.SetEnv(env)
	}
	return w, nil
}

func (p *pool) put(w *engine.Worker) {
	p.mu.Lock()
	p.free = append(p.free, w)
	p.mu.Unlock()
}

// logSink keeps each test's component log lines until the test ends.
type logSink struct {
	mu    sync.Mutex
	lines map[string][]string
}

func newLogSink() *logSink { return &logSink{lines: map[string][]string{}} }

func (l *logSink) Event(e report.Event) {
	if e.Type != report.Log || e.Test == "" {
		return
	}
	l.mu.Lock()
	l.lines[e.Test] = append(l.lines[e.Test], report.LogLine(e))
	l.mu.Unlock()
}

func (l *logSink) take(test string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines[test]
	delete(l.lines, test)
	return out
}

// Env is a running environment: the services of a suite, each on its own
// loopback port.
type Env struct {
	sys   *suite.Suite
	sess  *session.Session
	env   *environment.Environment
	reg   *builtin.Registry
	lines *lineLog
	t     testing.TB // bound test, if any
	from  int        // first log line of the bound test
	start time.Time  // when the bound test began
	state *envState
	ended *atomic.Bool // the bound test has ended (nil: none bound)
	pages *pageList    // the bound test's browser pages (Browser)
	goid  uint64       // the goroutine that attached the bound test
}

type envState struct {
	mu       sync.Mutex
	closed   bool
	attached int          // tests attached so far
	running  []testing.TB // attached tests whose cleanup has not run yet, oldest first
	misuse   []string     // misuse with no test to report it through; Close returns it
	// faults are the faults set through Fault and ClearFaults that hold
	// now, by edge, for a subtest sharing its ancestor's state to give
	// them back when it ends.
	faults map[string]edgeFaults
	gen    int // counts changes of faults
}

// Up starts the services of the suite at path and returns once all are
// ready. It is for TestMain and other code without a *testing.T; call
// Close when done. Tests use Attach to report through their t.
func Up(ctx context.Context, path string, opts ...Option) (*Env, error) {
	cfg := newConfig(opts)
	if err := cfg.servicesOnly("Up"); err != nil {
		return nil, err
	}
	s, reg, err := load(path, cfg, true, nil)
	if err != nil {
		return nil, err
	}
	return up(ctx, s, reg, cfg, testWriter{}, nil)
}

// up starts the environment of s; errors name the places of cs's
// services by the Go that declared them.
func up(ctx context.Context, s *suite.Suite, reg *builtin.Registry, cfg *config, notices testWriter, cs *codeSuite) (*Env, error) {
	if s.System == nil || len(s.System.Services) == 0 {
		reg.Close()
		return nil, fmt.Errorf("seam: %s declares no services; add services: to it", s.File)
	}
	opts := session.Options{Command: "go test", Vars: cfg.vars, Seed: cfg.seed}
	if notices.t != nil {
		opts.Notices = notices
	}
	sess, err := session.Open(ctx, s, opts)
	if err != nil {
		reg.Close()
		return nil, cs.rewrite(fmt.Errorf("seam: %v", err))
	}
	lines := &lineLog{}
	env, err := sess.StartEnv(ctx, lines.add)
	if err != nil {
		sess.Close()
		reg.Close()
		return nil, cs.rewrite(fmt.Errorf("seam: the environment could not start:\n%v", err))
	}
	return &Env{sys: s, sess: sess, env: env, reg: reg, lines: lines, state: &envState{}}, nil
}

// Start starts the services of the suite at path for t and stops them when
// t ends. The cleanup is registered before anything starts. If t fails, its
// log shows the components' output during the test.
func Start(t testing.TB, path string, opts ...Option) *Env {
	t.Helper()
	return start(t, path, nil, opts)
}

// start is Start; with cs, path holds services declared in code.
func start(t testing.TB, path string, cs *codeSuite, opts []Option) *Env {
	t.Helper()
	cfg := newConfig(opts)
	if err := cfg.servicesOnly("Start"); err != nil {
		t.Fatal(err)
		return nil
	}
	s, reg, err := load(path, cfg, true, cs)
	if err != nil {
		t.Fatal(err)
		return nil
	}
	var e *Env
	t.Cleanup(func() {
		if e != nil {
			if err := e.close(); err != nil {
				t.Errorf("seam: cleanup: %v", err)
			}
		}
	})
	e, err = up(t.Context(), s, reg, cfg, testWriter{t}, cs)
	if err != nil {
		t.Fatal(err)
		return nil
	}
	return e.attach(t, true)
}

// Attach returns a view of e for t. Its data services are first reset to
// their baseline, and faults and stub mappings set since are taken off
// (unless t is the test Start started e for, or t shares an ancestor's
// state, below): what was done on e before t, attached or not, is not t's.
// Lookups that fail fail t, and when t fails its log shows the lines the
// components printed while t ran and the interactions most likely to blame.
//
// Tests that share e this way run one at a time: an Attach while another
// test that is not t's ancestor is attached and running fails t, naming
// that test; parallel tests each Start an environment of their own.
//
// A subtest attached while an ancestor of it is attached shares that
// ancestor's state: nothing is reset, so it sees the data, faults and stub
// mappings the ancestor set up. What it adds itself is undone when it ends:
// faults it set or cleared with Fault and ClearFaults, and stub mappings it
// added (Stub.Add, or the stub's admin API), are back as the ancestor had
// them; data it wrote stays. Its checks (Interactions, Stub.Verify,
// unmatched stub requests) and its failure log cover its own span.
//
// The view belongs to t: used once t has ended, or from another test's
// goroutine (a subtest given its parent's view), it reports the misuse.
func (e *Env) Attach(t testing.TB) *Env {
	t.Helper()
	return e.attach(t, false)
}

// attach is Attach; fresh says that nothing can have changed since the
// baseline (Start attaches the test it just started e for).
func (e *Env) attach(t testing.TB, fresh bool) *Env {
	t.Helper()
	e.state.mu.Lock()
	// A test attached and still running that is not t's ancestor runs
	// beside t: t's reset would change its data under it.
	nested := false
	for _, r := range e.state.running {
		if r == t || r.Name() == t.Name() || strings.HasPrefix(t.Name(), r.Name()+"/") {
			nested = true
			continue
		}
		e.state.mu.Unlock()
		t.Fatalf("seam: Attach while %s is attached to this environment and still running (in parallel?): "+
			"the reset that starts %s would change its data under it. Tests that share an environment run one "+
			"at a time; give each parallel test its own with seam.Start", r.Name(), t.Name())
		return nil
	}
	e.state.attached++
	closed := e.state.closed
	e.state.running = append(e.state.running, t)
	var saved *savedState
	if nested && !closed {
		saved = e.saveLocked()
	}
	e.state.mu.Unlock()
	v := *e
	v.t = t
	v.ended = new(atomic.Bool)
	v.goid = goid()
	t.Cleanup(func() {
		// A test that panics fails, but testing runs its cleanups (this)
		// before it marks it failed.
		failed := t.Failed() || panicking()
		e.state.mu.Lock()
		closed := e.state.closed
		for i, r := range e.state.running {
			if r == t {
				e.state.running = append(e.state.running[:i], e.state.running[i+1:]...)
				break
			}
		}
		e.state.mu.Unlock()
		if !closed {
			if saved != nil {
				// The ancestor goes on: its faults and mappings come back.
				v.restore(saved)
			} else {
				e.env.EndTest(v.start) // the calls in flight (the browser's, the wire's) are the test's
				e.env.ClearFaults()    // the test's faults end with it, in its own log
				e.forgetFaults()
			}
			v.checkUnmatched()
			// What the components have written so far is read before the
			// lines are shown, as the CLI does at a test's end.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			e.env.Flush(ctx)
			cancel()
		}
		if failed || t.Failed() {
			v.explainFailure(closed)
		}
		v.ended.Store(true)
	})
	if !fresh && !nested && !closed {
		if err := e.env.Reset(t.Context()); err != nil {
			t.Fatalf("seam: resetting the data to the baseline: %v", err)
		}
		e.forgetFaults() // Reset took every fault off
	}
	v.from = e.lines.len()
	v.start = time.Now()
	return &v
}

// explainFailure logs, for the failed test e is bound to, the interactions
// most likely to blame and the components' lines during it.
func (e *Env) explainFailure(closed bool) {
	lines := e.lines.since(e.from)
	// As the CLI does: the interactions on the edges that most likely
	// caused the failure, likeliest first. A Go test has no failing step
	// seam knows of, so all edges count alike.
	if !closed {
		in := engine.SuspectInput{All: e.env.Interactions(e.start)}
		if ss := engine.Suspects(in, 3); len(ss) > 0 {
			same := func(s string) string { return s }
			e.t.Logf("seam: %s", strings.TrimSpace(report.SuspectsText(ss, same, same)))
		}
	}
	if len(lines) > 0 {
		e.t.Logf("seam: components' log lines during %s:\n%s", e.t.Name(), indent(lines))
	}
}

func indent(lines []string) string {
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// fail reports misuse through the bound test and stops it (see report).
func (e *Env) fail(format string, args ...any) {
	if e.t != nil {
		e.t.Helper()
	}
	e.report(fmt.Sprintf("seam: "+format, args...), true)
}

// report reports a failure (fatal: and stops the test) through the test e
// is bound to. The binary never dies of it:
//   - while that test runs, it fails it, like t.Error or t.Fatal;
//   - once it has ended (the Env was kept, or a goroutine outlived the
//     test), testing routes the message to the nearest ancestor test still
//     running and fails it; with none running, the message goes to stderr
//     and the test binary fails;
//   - on an Env from Up not bound by Attach, it fails the test attached
//     last that is still running; with none, the message goes to stderr
//     and Close returns it.
func (e *Env) report(msg string, fatal bool) {
	t := e.t
	if t == nil {
		msg = callSite() + msg
		e.state.mu.Lock()
		if n := len(e.state.running); n > 0 {
			t = e.state.running[n-1]
		} else if !e.state.closed {
			e.state.misuse = append(e.state.misuse, msg)
		}
		e.state.mu.Unlock()
		// Another test's goroutine cannot stop that test, so its
		// failure does not stop the caller either.
		fatal = false
		if t == nil {
			fmt.Fprintln(os.Stderr, msg)
			return
		}
	}
	t.Helper()
	if g := goid(); e.goid != 0 && g != 0 && g != e.goid {
		// Another test's goroutine (a subtest given its parent's view):
		// FailNow would end that goroutine, and testing would blame a
		// subtest that "may have called FailNow on a parent test".
		fatal = false
		msg += fmt.Sprintf("\n(this Env is attached to %s, and was used from another test's goroutine: a subtest? "+
			"Attach the Env to the subtest that uses it: env := env.Attach(t))", t.Name())
	}
	if tryFail(t) {
		if !tryLog(t, msg) {
			fmt.Fprintln(os.Stderr, msg)
		}
		if fatal {
			t.FailNow()
		}
		return
	}
	// t has ended; Fail has failed the tests above it that still run (the
	// binary fails). testing gives a subtest's line to its parent if that
	// still runs, and drops a top-level test's: stderr always shows it.
	msg = callSite() + msg + fmt.Sprintf("\n(reported after %s ended: an Env belongs to the test that started or attached it; "+
		"use Attach(t) in another test, and end goroutines before the test returns)", t.Name())
	if strings.Contains(t.Name(), "/") {
		tryLog(t, msg)
	}
	fmt.Fprintln(os.Stderr, msg)
}

// callSite is "file:line: " of the first caller outside this package: with
// no running test to mark helpers, the line is named in the message.
func callSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if rest, ok := strings.CutPrefix(f.Function, "github.com/seamtest/seam."); !ok || strings.Contains(rest, "/") {
			if f.File != "" {
				return fmt.Sprintf("%s:%d: ", filepath.Base(f.File), f.Line)
			}
		}
		if !more {
			return ""
		}
	}
}

// tryFail marks t failed, and reports false when t has already ended:
// testing then panics, after it has marked the ancestors still running.
func tryFail(t testing.TB) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if !endedPanic(r) {
				panic(r)
			}
			ok = false
		}
	}()
	t.Fail()
	return true
}

// tryLog logs through t (testing passes the line of a test that has ended
// to its nearest running ancestor), and reports false when no test could
// take it.
func tryLog(t testing.TB, msg string) (ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if !endedPanic(r) {
				panic(r)
			}
			ok = false
		}
	}()
	t.Log(msg)
	return true
}

// endedPanic reports whether r is testing's panic for a test used after it
// completed ("Fail in goroutine after TestX has completed").
func endedPanic(r any) bool {
	s, ok := r.(string)
	return ok && strings.Contains(s, " has completed")
}

func (e *Env) info(name string) map[string]any {
	if e != nil && e.t != nil {
		e.t.Helper()
	}
	if e == nil || e.env == nil {
		panic("seam: use of a nil *seam.Env (did Start or Up fail?)")
	}
	if e.stopped() {
		return nil
	}
	in, ok := e.env.Info(name)
	if !ok {
		e.fail("no service %q; the services are: %s", name, e.serviceNames())
		return nil
	}
	if _, ok := in["addr"]; !ok {
		e.fail("service %q is a job: it runs to its end and has no address", name)
		return nil
	}
	return in
}

// serviceNames lists the suite's services, sorted, for messages.
func (e *Env) serviceNames() string {
	names := e.sys.System.Names()
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// stopped reports (and reports through the test) whether the environment
// is stopped.
func (e *Env) stopped() bool {
	if e.t != nil {
		e.t.Helper()
	}
	e.state.mu.Lock()
	closed := e.state.closed
	e.state.mu.Unlock()
	if closed {
		e.fail("the environment is stopped (its test ended, or Close was called); start one per test with seam.Start, or share one from TestMain with seam.Up and Attach it to each test")
		return true
	}
	if e.ended != nil && e.ended.Load() {
		e.fail("this Env is attached to %s, which has ended: Attach the shared Env to the test using it (env.Attach(t))", e.t.Name())
		return true
	}
	return false
}

// URL is the base URL of a service, like http://127.0.0.1:41234.
func (e *Env) URL(service string) string {
	if e.t != nil {
		e.t.Helper()
	}
	if in := e.info(service); in != nil {
		return in["url"].(string)
	}
	return ""
}

// Addr is a service's host:port.
func (e *Env) Addr(service string) string {
	if e.t != nil {
		e.t.Helper()
	}
	if in := e.info(service); in != nil {
		return in["addr"].(string)
	}
	return ""
}

// Port is a service's port: the main one, or the named one.
func (e *Env) Port(service string, name ...string) int {
	if e.t != nil {
		e.t.Helper()
	}
	in := e.info(service)
	if in == nil {
		return 0
	}
	if len(name) == 0 {
		return in["port"].(int)
	}
	p, ok := in["ports"].(map[string]any)[name[0]]
	if !ok {
		e.fail("service %q has no port named %q", service, name[0])
		return 0
	}
	return p.(int)
}

// Logs returns the lines a service (a job too: a migration, a seeder)
// printed so far, oldest first, without the "name | " prefix of reports.
// An environment keeps the last 100000 lines of all its services.
func (e *Env) Logs(service string) []string {
	if e.t != nil {
		e.t.Helper()
	}
	if e == nil || e.env == nil {
		panic("seam: use of a nil *seam.Env (did Start or Up fail?)")
	}
	if e.stopped() {
		return nil
	}
	if _, ok := e.env.Info(service); !ok {
		e.fail("no service %q; the services are: %s", service, e.serviceNames())
		return nil
	}
	var out []string
	prefix := service + " | "
	for _, l := range e.lines.since(0) {
		if strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimPrefix(l, prefix))
		}
	}
	return out
}

// Close stops every service and removes what the environment left. It is
// safe to call more than once. Besides a failure to clean up, its error
// lists misuse that no running test could report (an Env from Up used
// without Attach: an unknown service, say).
func (e *Env) Close() error { return e.close() }

func (e *Env) close() error {
	e.state.mu.Lock()
	if e.state.closed {
		e.state.mu.Unlock()
		return nil
	}
	e.state.closed = true
	misuse := e.state.misuse
	e.state.mu.Unlock()
	err := e.sess.Close()
	e.reg.Close()
	if len(misuse) > 0 {
		err = errors.Join(append([]error{err}, errors.New(strings.Join(misuse, "\n")))...)
	}
	return err
}

// lineLog keeps every component line of an environment, in order.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	dropped int // lines dropped from the front (the oldest), to stay within maxLines
}

// maxLines bounds the lines an environment keeps: the newest, so that a
// package's later tests, sharing one environment with a chatty service,
// still show theirs.
const maxLines = 100000

func (l *lineLog) add(svc, stream, line string, _ *report.Span) {
	l.mu.Lock()
	l.lines = append(l.lines, svc+" | "+line)
	if len(l.lines) > maxLines {
		n := len(l.lines) / 2
		l.lines = append(l.lines[:0:0], l.lines[n:]...)
		l.dropped += n
	}
	l.mu.Unlock()
}

// len is how many lines were added so far (kept or not).
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.lines)
}

// since returns the lines added from the i-th on; those dropped since are
// said by one line first.
func (l *lineLog) since(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if i < l.dropped {
		out = append(out, fmt.Sprintf("seam | (%d earlier lines dropped: seam keeps the last %d)", l.dropped-i, maxLines))
		i = l.dropped
	}
	if i-l.dropped > len(l.lines) {
		return out
	}
	return append(out, l.lines[i-l.dropped:]...)
}

func contextBackground() context.Context { return context.Background() }
