package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/report"
	htmlreport "github.com/seamtest/seam/internal/report/html"
	"github.com/seamtest/seam/internal/runlog"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/shard"
	"github.com/seamtest/seam/internal/suite"
)

// envFailure prints an environment that could not start and returns the
// exit code for it (a problem in the suite's vars is a suite error). An
// error that is context.Canceled is taken for an interrupt; a command
// that has the context the start ran in asks it instead (setUpFailure).
func envFailure(err error, stdio IO) int {
	return setUpFailure(err, errors.Is(err, context.Canceled), stdio)
}

// setUpFailure is envFailure told whether the command was interrupted
// (Ctrl-C, SIGTERM, a closed output pipe) while the environment was set
// up: then err is the interrupt's doing, whatever it says (a driver's
// "failed to connect", a job "stopped", a cancel's cause).
func setUpFailure(err error, interrupted bool, stdio IO) int {
	var l *diag.List
	if errors.As(err, &l) {
		printLoadErr(err, stdio.Stderr)
		return ExitUsage
	}
	if interrupted {
		// Not a broken environment. (The exit code for a signal is
		// cli's; the caller's for a closed output pipe.)
		interruptedSetUp(err, true, stdio)
		return ExitEnv
	}
	fmt.Fprintf(stdio.Stderr, "seam: the environment could not start; nothing was tested\n%v\n", err)
	return ExitEnv
}

// interruptedSetUp says that an interrupt stopped the environment's set-up
// (err is what the stopped start returned); none says no test ran.
func interruptedSetUp(err error, none bool, stdio IO) {
	what := ""
	if none {
		what = "; nothing was tested"
	}
	fmt.Fprintf(stdio.Stderr, "seam: interrupted while the environment was being set up%s\n%v\n", what, err)
}

// envDetail follows the console's run_end (on stdout, with the first
// line of why) with the whole reason on stderr, the error channel, where
// a CI log that keeps stderr apart (or a user's 2>file) finds it.
func envDetail(err error, stdio IO) {
	fmt.Fprintf(stdio.Stderr, "seam: the environment could not start; nothing was tested\n%v\n", err)
}

// keepUp starts a fresh environment for inspection after a failed run and
// waits for Ctrl-C or seam down.
func keepUp(ctx context.Context, s *suite.Suite, sess *session.Session, stdio IO) {
	envs := sess.Envs()
	if len(envs) == 0 {
		return
	}
	fmt.Fprintf(stdio.Stdout, "\n--keep: the environment of the failed run is up for inspection:\n")
	for i, env := range envs {
		if len(envs) > 1 {
			fmt.Fprintf(stdio.Stdout, "environment %d:\n", i+1)
		}
		fmt.Fprint(stdio.Stdout, session.Addresses(s, env))
	}
	fmt.Fprintf(stdio.Stdout, "stop it with Ctrl-C, or run: seam down %s (pid %d)\n", s.File, os.Getpid())
	sess.MarkUp()
	<-ctx.Done()
}

type reportFlag []string

func (r *reportFlag) String() string { return strings.Join(*r, ",") }
func (r *reportFlag) Set(s string) error {
	format, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return fmt.Errorf("want FORMAT=PATH, like junit=report.xml, json=events.jsonl or html=report.html")
	}
	switch format {
	case "junit", "json", "surefire", "html":
	default:
		return fmt.Errorf("unknown report format %q (formats: junit, json, surefire, html)", format)
	}
	*r = append(*r, s)
	return nil
}

// runExit is the exit code of engine.Run's result, with its error
// reported: ExitEnv when the environment failed (envFailed is told why),
// ExitUsage for any other error (printed to loadErr as a suite problem),
// else ExitFail when a test failed, else ExitPass.
func runExit(counts report.Counts, err error, envFailed func(error), loadErr io.Writer) int {
	var envErr *engine.EnvError
	switch {
	case errors.As(err, &envErr):
		envFailed(envErr.Err)
		return ExitEnv
	case err != nil:
		printLoadErr(err, loadErr)
		return ExitUsage
	case counts.Failed > 0:
		return ExitFail
	}
	return ExitPass
}

func cmdRun(ctx context.Context, args []string, stdio IO) int {
	c := newSuiteCommand("run", stdio)
	defer c.close()
	fs := c.fs
	var reports reportFlag
	fs.Var(&reports, "report", "write a report: junit=PATH, json=PATH (JSON lines of events), surefire=PATH (JUnit with Maven Surefire's rerun elements) or html=PATH (one self-contained page); repeatable")
	failFast := fs.Bool("fail-fast", false, "stop starting tests after the first failure")
	parallel := fs.Int("parallel", 1, "run up to N tests at once (tests marked serial run alone)")
	seed := fs.Uint64("seed", 0, "seed for random data; a run prints its seed, pass it to replay (0: pick one)")
	keep := fs.Bool("keep", false, "after a failure, leave the environment up for inspection until Ctrl-C or seam down")
	verbose := fs.Bool("v", false, "show every test's timeline: its steps, the wire's interactions and the log lines, passing tests too")
	attach := fs.Bool("attach", false, "run the tests against the environment seam up holds for this suite, one at a time (each from the baseline)")
	var ci ciFlags
	ci.register(fs)
	if !c.parse(args, func() error {
		if *parallel < 1 {
			return fmt.Errorf("--parallel must be at least 1")
		}
		if err := ci.check(); err != nil {
			return err
		}
		if *attach {
			for name, set := range map[string]bool{"--parallel": *parallel != 1, "--keep": *keep, "--seed": *seed != 0,
				"--var": len(c.sel.vars) > 0, "--stub": len(c.sel.stubs) > 0, "--profile": c.sel.profile != "",
				"--shard": ci.shard != "", "--retries": ci.retries != 0, "--budget": ci.budget != 0, "--changed": ci.changed != ""} {
				if set {
					return fmt.Errorf("--attach runs on the environment seam up holds, as seam up made it; %s does not go with it (give it to seam up)", name)
				}
			}
		}
		return nil
	}) {
		return ExitUsage
	}
	s, vars, filter := c.suite, c.vars, c.filter
	// A closed output pipe (seam run | head) stops the run: seam stops
	// what it started instead of testing on for nobody.
	tty := isTerminal(stdio.Stdout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := stdio.Stdout // before it is wrapped below: the watch needs the file
	crash.Go(ctx, func() { watchPipe(ctx, out, cancel) })
	stdio.Stdout = &pipeWriter{w: stdio.Stdout, broken: cancel}
	tests := engine.Select(s.Tests, filter)
	if len(tests) == 0 {
		fmt.Fprintf(stdio.Stderr, "seam run: no test matches the filters (the suite has %d; see seam list)\n", len(s.Tests))
		return ExitUsage
	}
	plan, err := ci.plan(ctx, s, tests, *parallel, stdio.Stdout)
	if err != nil {
		if !isRefError(err) {
			var l interface{ Unwrap() []error }
			if errors.As(err, &l) {
				printLoadErr(err, stdio.Stderr)
				return ExitUsage
			}
		}
		fmt.Fprintf(stdio.Stderr, "seam run: %v\n", err)
		return ExitUsage
	}
	tests = plan.tests
	if len(tests) > 0 && *seed == 0 {
		*seed = seedNow() // a part that runs no test needs none
	}

	// Open every report file before running, so a bad path fails fast.
	var sinks []report.Sink
	var finishers []report.Finisher
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	collector := report.NewCollector()
	sinks = append(sinks, collector)
	paths := map[string]string{} // a cleaned path → the --report that took it
	for _, r := range reports {
		_, path, _ := strings.Cut(r, "=")
		if abs, err := filepath.Abs(path); err == nil {
			if other, dup := paths[abs]; dup {
				// The second would overwrite the first, unnoticed.
				fmt.Fprintf(stdio.Stderr, "seam run: --report %s and --report %s write the same file: give each report a path of its own\n", other, r)
				return ExitUsage
			}
			paths[abs] = r
		}
	}
	for _, r := range reports {
		format, path, _ := strings.Cut(r, "=")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				fmt.Fprintf(stdio.Stderr, "seam run: --report %s: %v\n", r, err)
				return ExitUsage
			}
		}
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: --report %s: %v\n", r, err)
			return ExitUsage
		}
		files = append(files, f)
		switch format {
		case "junit":
			finishers = append(finishers, report.NewJUnit(f))
		case "surefire":
			j := report.NewJUnit(f)
			j.Surefire = true
			finishers = append(finishers, j)
		case "json":
			j := report.NewJSONL(f)
			sinks = append(sinks, j)
			finishers = append(finishers, j)
		case "html":
			h := htmlreport.NewReporter(f)
			sinks = append(sinks, h)
			finishers = append(finishers, h)
		}
	}
	if len(tests) == 0 {
		// A part of a split that got no test still writes its reports,
		// empty: the merge counts the part as there, and CI finds the
		// files it was told to keep.
		why := "--changed selected none"
		if ci.spec != (shard.Spec{}) {
			why = "nothing selected for this part"
		}
		fmt.Fprintf(stdio.Stdout, "seam run: no test to run here (%s); nothing to do\n", why)
		return emptyRun(ctx, s, engine.Options{Shard: shardName(ci.spec), Seed: *seed, Profile: c.sel.profile, Base: expr.Vars{}},
			collector, sinks, finishers, reports, stdio)
	}
	if *attach {
		c.stdio = stdio
		return attachRun(ctx, c, tty, *failFast, *verbose, collector, sinks, finishers, reports)
	}
	sess, err := session.Open(ctx, s, session.Options{Command: "run", Vars: vars, Seed: *seed, Notices: stdio.Stderr})
	if err != nil {
		// Asked now, as the set-up ends: the run's context, not the
		// error, says whether it was interrupted.
		interrupted := ctx.Err() != nil
		var l *diag.List
		if !errors.As(err, &l) {
			// A build that failed, or an interrupt while building: the
			// reports say so as they do for a service that never got
			// ready (or for a run interrupted), rather than staying empty.
			failedRun(ctx, s, tests, engine.Options{Shard: shardName(ci.spec), Seed: *seed, Profile: c.sel.profile,
				Base: expr.Vars{}, Envs: failedEnvs{err}}, collector, sinks, finishers, reports, stdio)
		}
		code := setUpFailure(err, interrupted, stdio)
		if interrupted && code == ExitEnv {
			code = ExitFail // as a run the interrupt stopped later
		}
		return code
	}
	defer func() {
		if err := sess.Close(); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam: cleanup: %v\n", err)
		}
	}()
	kept, err := keepEvents(sess.LogDir())
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam: %v\n", err)
	} else {
		defer kept.close()
		sinks = append(sinks, kept.jsonl)
	}
	console := report.NewConsole(stdio.Stdout, report.ConsoleOptions{
		Color:   tty && stdio.Getenv("NO_COLOR") == "",
		Live:    tty,
		Verbose: *verbose,
		Crash:   crash.From(ctx),
	})
	sinks = append(sinks, console)
	var envs engine.EnvFactory // nil: a suite without services starts none
	watch := &envWatch{}
	if f := sess.Factory(); f != nil {
		watch.EnvFactory, envs = f, watch
	}
	counts, err := engine.Run(ctx, s, tests, engine.Options{
		Retries:   ci.retries,
		Budget:    ci.budget,
		Failures:  plan.failures,
		Estimate:  plan.estimate,
		Shard:     shardName(ci.spec),
		Parallel:  *parallel,
		FailFast:  *failFast,
		Seed:      *seed,
		Profile:   c.sel.profile,
		Vars:      vars,
		Envs:      envs,
		Base:      sess.Base(),
		LeaveEnvs: *keep,
		ProcEnv:   []string{sess.Mark()},
	}, watch.sink(report.NewFanout(sinks...)))
	console.Close()
	code := runExit(counts, err, func(err error) { envDetail(err, stdio) }, stdio.Stderr)
	if code == ExitUsage {
		return ExitUsage
	}
	if startErr := watch.firstErr(); startErr != nil && code != ExitEnv {
		// A start failed, yet the engine did not take it for a broken
		// environment: the run was stopped while it started (the
		// engine asks the run's context as the start returns).
		interruptedSetUp(startErr, counts.Passed+counts.Failed == 0, stdio)
	}
	if counts.Failed > 0 && s.System != nil {
		fmt.Fprintf(stdio.Stdout, "service logs: %s\n", sess.LogDir())
	}
	if *keep && code != ExitPass && s.System != nil && ctx.Err() == nil {
		if stdio.settled != nil {
			*stdio.settled = true // the tests' outcome stands; Ctrl-C ends the inspection
		}
		keepUp(ctx, s, sess, stdio)
	}
	for i, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: writing %s: %v\n", reports[i], err)
			code = max(code, ExitEnv)
		}
	}
	if kept != nil {
		if err := kept.close(); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam: keeping the event log: %v\n", err)
			kept = nil
		}
	}
	fmt.Fprintln(stdio.Stdout, whereReport(reports, kept))
	if ctx.Err() != nil && code == ExitPass {
		code = ExitFail
	}
	if ci.failFlaky && counts.Flaky > 0 && code == ExitPass {
		fmt.Fprintf(stdio.Stderr, "seam run: --fail-on-flaky: %d test(s) passed only on a retry\n", counts.Flaky)
		code = ExitFail
	}
	return code
}

// emptyRun writes the reports of a run of no test (a part of a split
// that got none): a run_start, with the part, and a run_end. No
// environment starts for it.
func emptyRun(ctx context.Context, s *suite.Suite, opts engine.Options, collector *report.Collector, sinks []report.Sink, finishers []report.Finisher, reports reportFlag, stdio IO) int {
	if _, err := engine.Run(ctx, s, nil, opts, report.NewFanout(sinks...)); err != nil {
		fmt.Fprintf(stdio.Stderr, "seam run: %v\n", err)
		return ExitUsage
	}
	code := ExitPass
	for i, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: writing %s: %v\n", reports[i], err)
			code = ExitEnv
		}
	}
	return code
}

// failedRun writes the reports of a run whose environment could not be
// made before any test (session.Open failed: a build error, an interrupt
// while building): every test skipped, and the run_end with the reason,
// as when a service is not ready. envs fails every start with err.
func failedRun(ctx context.Context, s *suite.Suite, tests []*suite.Test, opts engine.Options, collector *report.Collector, sinks []report.Sink, finishers []report.Finisher, reports reportFlag, stdio IO) {
	w := &envWatch{EnvFactory: opts.Envs}
	opts.Envs = w
	if _, err := engine.Run(ctx, s, tests, opts, w.sink(report.NewFanout(sinks...))); err != nil {
		var envErr *engine.EnvError
		if !errors.As(err, &envErr) {
			fmt.Fprintf(stdio.Stderr, "seam run: %v\n", err)
		}
	}
	for i, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: writing %s: %v\n", reports[i], err)
		}
	}
	// As a run that started says where its page is (no event log was
	// kept: the run's folder was never made).
	if where := whereReport(reports, nil); strings.HasPrefix(where, "report: ") && !strings.HasPrefix(where, "report: none") {
		fmt.Fprintln(stdio.Stdout, where)
	}
}

// failedEnvs is an EnvFactory whose every start fails with err.
type failedEnvs struct{ err error }

func (f failedEnvs) Start(context.Context, int, report.LogFunc) (engine.Env, error) {
	return nil, f.err
}

// envWatch keeps the first error of its factory's starts and writes it,
// whole, into the run_end (Event.EnvError), for the file reports: the
// engine's run_end message has its first line only.
type envWatch struct {
	engine.EnvFactory
	mu  sync.Mutex
	err error
}

func (w *envWatch) Start(ctx context.Context, worker int, log report.LogFunc) (engine.Env, error) {
	env, err := w.EnvFactory.Start(ctx, worker, log)
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return env, err
}

// firstErr is the error of the first start that failed, nil when none.
func (w *envWatch) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *envWatch) sink(next report.Sink) report.Sink {
	return sinkFunc(func(e report.Event) {
		if e.Type == report.RunEnd {
			w.mu.Lock()
			if w.err != nil && e.Status == report.Failed && strings.HasPrefix(e.Message, report.EnvFailed) {
				e.EnvError = w.err.Error()
			}
			w.mu.Unlock()
		}
		next.Event(e)
	})
}

type sinkFunc func(report.Event)

func (f sinkFunc) Event(e report.Event) { f(e) }

// keptLog is the event log every run keeps in its log folder (runlog).
type keptLog struct {
	path  string
	f     *os.File
	jsonl *report.JSONL
	done  bool
	err   error
}

func keepEvents(runDir string) (*keptLog, error) {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("keeping the event log: %w", err)
	}
	path := runlog.Path(runDir)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keeping the event log: %w", err)
	}
	return &keptLog{path: path, f: f, jsonl: report.NewJSONL(f)}, nil
}

// close flushes and closes the log, once.
func (k *keptLog) close() error {
	if k.done {
		return k.err
	}
	k.done = true
	k.err = k.jsonl.Finish(nil)
	if err := k.f.Close(); k.err == nil {
		k.err = err
	}
	return k.err
}

// whereReport is the console's last line: where the run's report is, or
// how to make one from the event log every run keeps.
func whereReport(reports reportFlag, kept *keptLog) string {
	for _, r := range reports {
		if format, path, _ := strings.Cut(r, "="); format == "html" {
			return "report: " + path
		}
	}
	if kept == nil {
		return "report: none (the event log could not be kept)"
	}
	return "event log: " + kept.path + " (seam report --html report.html last)"
}

// attachRun is seam run --attach: the seam up holding the suite runs the
// tests; its events are rendered here by the same reporters.
func attachRun(ctx context.Context, c *suiteCommand, tty, failFast, verbose bool, collector *report.Collector, sinks []report.Sink, finishers []report.Finisher, reports reportFlag) int {
	stdio := c.stdio
	console := report.NewConsole(stdio.Stdout, report.ConsoleOptions{
		Color:   tty && stdio.Getenv("NO_COLOR") == "",
		Live:    tty,
		Verbose: verbose,
		Crash:   crash.From(ctx),
	})
	sinks = append(sinks, console)
	req := runRequest{Filter: c.sel.filter, Tags: splitList(c.sel.tags), ExcludeTags: splitList(c.sel.excludeTags), FailFast: failFast}
	code := runAttach(ctx, c.arg, req, report.NewFanout(sinks...), stdio)
	console.Close()
	if code == ExitUsage || code == ExitEnv && len(collector.Run().Tests) == 0 {
		return code
	}
	for i, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: writing %s: %v\n", reports[i], err)
			code = max(code, ExitEnv)
		}
	}
	return code
}

// table aligns columns for list output.
type table struct {
	w    *bufio.Writer
	rows [][]string
}

func newTable(w interface{ Write([]byte) (int, error) }) *table {
	return &table{w: bufio.NewWriter(w)}
}

// row adds a row; a cell's control characters (a tab in a test's name)
// are shown escaped, as the console shows the system's text.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(report.TermSafe(c), "\t", `\t`)
	}
	t.rows = append(t.rows, cells)
}

func (t *table) flush() {
	widths := map[int]int{}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], cellWidth(c))
		}
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(r)-1 {
				t.w.WriteString(c)
			} else {
				t.w.WriteString(c + strings.Repeat(" ", widths[i]-cellWidth(c)+2))
			}
		}
		t.w.WriteString("\n")
	}
	t.w.Flush()
}

// cellWidth is how many columns a terminal gives s: two for a wide or
// full-width rune (CJK, most emoji), none for a combining mark.
func cellWidth(s string) int {
	n := 0
	for _, r := range s {
		n += diag.RuneWidth(r)
	}
	return n
}

func shardName(s shard.Spec) string {
	if s.N == 0 {
		return ""
	}
	return s.String()
}
