// Package cli implements the seam command: flags, subcommands, exit codes.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/suite"
	"golang.org/x/term"
)

// Exit codes.
const (
	ExitPass  = 0 // every test passed
	ExitFail  = 1 // a test failed
	ExitUsage = 2 // the suite or the command line is wrong
	ExitEnv   = 3 // the environment could not be set up
	// ExitCrash is seam's own bug (a panic), EX_SOFTWARE of sysexits.h:
	// not 2, which says the user's suite or command line is wrong.
	ExitCrash = 70
	// ExitInterrupted is a command stopped by SIGINT, SIGTERM or SIGHUP
	// before it finished, 128+SIGINT as shells report Ctrl-C.
	ExitInterrupted = 130
)

// IO is where a command reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Exit, when set, ends the process; only a crash that keeps the
	// command from returning uses it (cmd/seam passes os.Exit).
	Exit func(code int)
	// settled, set by a command once its outcome is known (run --keep
	// holding the failed environment up), makes a later signal its
	// normal end rather than an interruption.
	settled *bool
}

const usage = `seam: integration tests for systems of many components

usage:
  seam run [flags] [DIR|FILE]     run a suite (DIR holds seam.yaml)
  seam validate [DIR|FILE]        check a suite and report every problem
  seam list [flags] [DIR|FILE]    list tests with tags and priority
  seam up [-v] [DIR|FILE]         start the suite's services and keep them up
  seam down [DIR|FILE]            stop the environment seam up (or run --keep)
                                  holds for that suite, and clean up after your
                                  runs that crashed
  seam down --all                 stop every environment of yours
  seam reset [DIR|FILE]           bring the data of seam up's environment back
                                  to its baseline, without restarting it
  seam run --attach [DIR|FILE]    run the tests against seam up's environment
  seam list --json [DIR|FILE]     the same, as JSON
  seam report [--junit PATH] [--html PATH] LOG
                                  render a run's event log again (LOG: a file, or
                                  last: every run keeps its log)
  seam report merge [--json P] [--junit P] [--surefire P] [--html P] LOG...
                                  merge the event logs of a suite's --shard parts
                                  into one report, with coverage across them
  seam coverage LOG               integration coverage of a run: each edge's operations
  seam stub [--port P] DIR        serve stub mappings alone (WireMock's or seam's form)
  seam stub record --target URL --out DIR
                                  record a real service's traffic into mappings
  seam help [suite|steps|expect|services|stubs|commands|COMMAND]
                                  show the reference of a topic, or a command's flags
  seam version                    print the module version and VCS revision of this seam

exit codes: 0 passed, 1 a test failed, 2 suite or usage error, 3 environment error,
            70 a bug in seam (it crashed), 130 interrupted (SIGINT, SIGTERM, SIGHUP)
run 'seam help run' for the flags of run
`

// Run runs the seam command with args (without the program name) and
// returns its exit code. A command stopped by ctx (a signal) returns
// ExitInterrupted, except seam up and seam stub, whose normal end that is;
// a panic is reported as seam's bug and returns ExitCrash.
//
// A panic on any goroutine the command starts (through crash.Go) stops the
// command as an interrupt would, so what it started is stopped, and is
// reported the same way; if the command has not returned 30 seconds
// after, stdio.Exit (when set) ends the process with ExitCrash.
func Run(ctx context.Context, args []string, stdio IO) (code int) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	crashed := crash.New(cancel)
	if stdio.Exit != nil {
		crashed.Stuck = func(p *crash.Panic) {
			reportCrash(stdio.Stderr, p.Value, p.Stack)
			stdio.Exit(ExitCrash)
		}
	}
	ctx = crash.With(ctx, crashed)
	defer func() {
		if p := recover(); p != nil {
			reportCrash(stdio.Stderr, p, debug.Stack())
			code = ExitCrash
		}
		if p := crashed.Finish(); p != nil {
			reportCrash(stdio.Stderr, p.Value, p.Stack)
			code = ExitCrash
		}
	}()
	if crashHook {
		getenv := stdio.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		testCrash(ctx, getenv)
	}
	var settled bool
	stdio.settled = &settled
	code = route(ctx, args, stdio)
	if ctx.Err() != nil && !settled {
		serving := len(args) > 0 && (args[0] == "up" || args[0] == "stub")
		if !serving || code != ExitPass {
			code = ExitInterrupted
		}
	}
	return code
}

func reportCrash(w io.Writer, v any, stack []byte) {
	fmt.Fprintf(w, "seam: internal error: %v\n\n%s\nthis is a bug in seam: please report it with the command line and the output above\n", v, stack)
}

// route handles what every command shares (no command, --help) before
// dispatch picks the command.
func route(ctx context.Context, args []string, stdio IO) int {
	if stdio.Getenv == nil {
		stdio.Getenv = os.Getenv
	}
	if len(args) == 0 {
		fmt.Fprint(stdio.Stderr, usage)
		return ExitUsage
	}
	if args[0] != "help" && wantsHelp(args[1:]) {
		// Asked for: the command's help goes to stdout and is no error.
		stdio.Stderr = stdio.Stdout
		dispatch(ctx, args, stdio)
		return ExitPass
	}
	return dispatch(ctx, args, stdio)
}

// wantsHelp reports whether args ask for help (-h, -help, --help) before
// any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// helpOr is the exit code of a flag parsing error: help asked for is none.
func helpOr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitPass
	}
	return ExitUsage
}

func dispatch(ctx context.Context, args []string, stdio IO) int {
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdio)
	case "validate":
		return cmdValidate(args[1:], stdio)
	case "list":
		return cmdList(args[1:], stdio)
	case "up":
		return cmdUp(ctx, args[1:], stdio)
	case "down":
		return cmdDown(ctx, args[1:], stdio)
	case "reset":
		return cmdReset(ctx, args[1:], stdio)
	case "report":
		return cmdReport(args[1:], stdio)
	case "stub":
		return cmdStub(ctx, args[1:], stdio)
	case "coverage":
		return cmdCoverage(args[1:], stdio)
	case "help", "-h", "-help", "--help":
		return cmdHelp(args[1:], stdio)
	case "version", "--version":
		return cmdVersion(stdio)
	}
	fmt.Fprintf(stdio.Stderr, "seam: unknown command %q\n", args[0])
	if c := diag.Closest(args[0], []string{"run", "validate", "list", "up", "down", "reset", "report", "coverage", "stub", "help", "version"}); c != "" {
		fmt.Fprintf(stdio.Stderr, "did you mean \"seam %s\"?\n", c)
	}
	fmt.Fprint(stdio.Stderr, "\n"+usage)
	return ExitUsage
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (`seam run DIR --tags x`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func splitList(l listFlag) []string {
	var out []string
	for _, item := range l {
		for _, s := range strings.Split(item, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

type selection struct {
	filter      string
	tags        listFlag
	excludeTags listFlag
	priority    string
	vars        listFlag
	stubs       listFlag
	profile     string
	// file, when set, keeps only the tests written in it: the command
	// was given a file a suite includes (suite.IncludedBy).
	file string
}

// register adds the flags that choose tests (tests) and those that shape
// the environment.
func (s *selection) register(fs *flag.FlagSet, tests bool) {
	if tests {
		fs.StringVar(&s.filter, "filter", "", "run only tests whose name matches this regular expression")
		fs.Var(&s.tags, "tags", "run only tests with any of these tags (comma-separated, repeatable)")
		fs.Var(&s.excludeTags, "exclude-tags", "skip tests with any of these tags")
		fs.StringVar(&s.priority, "priority", "", "run only tests of this priority or higher: critical, high (and critical), medium (all but low) or low (all)")
	}
	fs.Var(&s.vars, "var", "set a variable: NAME=VALUE (repeatable; overrides the suite's vars; text unless vars: declares NAME a number or boolean)")
	fs.Var(&s.stubs, "stub", "run these services as their stand-in stubs (comma-separated, repeatable)")
	fs.StringVar(&s.profile, "profile", "", "apply a profile of the suite's profiles: (its stand-ins, vars and service overrides)")
}

func (s *selection) varMap() (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range s.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func (s *selection) filterOf() (engine.Filter, error) {
	f := engine.Filter{Tags: splitList(s.tags), ExcludeTags: splitList(s.excludeTags), File: s.file}
	if s.priority != "" {
		k := slices.Index(suite.PriorityNames, strings.ToLower(s.priority))
		if k < 0 {
			return f, fmt.Errorf("--priority %q: want one of %s", s.priority, strings.Join(suite.PriorityNames, ", "))
		}
		p := suite.Priority(k)
		f.AtLeast = &p
	}
	if s.filter != "" {
		re, err := regexp.Compile(s.filter)
		if err != nil {
			return f, fmt.Errorf("--filter %q: %v", s.filter, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		f.Name = re
	}
	return f, nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("seam "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if text := commandHelp(name); text != "" {
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "%s\n", text)
			var any bool
			fs.VisitAll(func(*flag.Flag) { any = true })
			if any {
				fmt.Fprintf(fs.Output(), "\nflags:\n")
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// commandHelp is what seam help COMMAND says before the flags ("" for
// commands that say nothing).
func commandHelp(name string) string {
	switch name {
	case "run":
		return `usage: seam run [flags] [DIR|FILE]

Run a suite's tests in environments of their own, or with --attach against
the environment seam up holds for the suite (one test at a time, each from
the baseline; --var, --stub and --profile then belong to seam up).

In CI: --shard K/N runs the K-th of N parts (by count, or by duration with
--timings JUNIT|JSONL|history); seam report merge joins the parts' event
logs. --retries N reruns a failed test from a fresh reset (a pass on a
retry is flaky; --fail-on-flaky fails the run). --budget 5m runs critical
tests first, then those that failed most in kept runs, and starts none that
would end past the budget (the rest are reported not run). --changed REF
runs only the tests a change since the git revision REF can affect, and
prints why each was selected. See docs/ci.md.`
	case "up":
		return `usage: seam up [-v] [flags] [DIR|FILE]

Start the suite's services and keep them up until Ctrl-C, seam down, a
closed terminal or a closed output pipe. Prints each service's build and
ready time, then the address table; the services' output follows the table
and, with the wire's interactions, goes to the run's log. seam reset and
seam run --attach work against it.`
	case "down":
		return `usage: seam down [DIR|FILE]
       seam down --all

Stop the environment seam up (or run --keep) holds for the suite in DIR
(default: the current folder), or with --all every one of yours; say which
others are up. Clean up after your runs that crashed. Another user's
environments are never touched.`
	case "report":
		return `usage: seam report [--junit PATH] [--html PATH] LOG

Render a run's event log again: on the console, as JUnit XML, and as one
self-contained HTML page (summary, system map, every test's timeline,
failures grouped by cause). LOG is a file (seam run --report json=PATH) or
last: every run keeps its event log in seam's state folder (the last 20).`
	case "coverage":
		return `usage: seam coverage LOG

Print a run's integration coverage: each depends_on edge with the
operations seen on it during tests. LOG is a file or last (the newest
run's kept event log).`
	case "reset":
		return `usage: seam reset [DIR|FILE]

Bring the data of the environment seam up holds for the suite back to its
baseline, in place: same servers, same ports. Exit 3 when no seam up holds it.`
	}
	return ""
}

// load loads the suite, printing every problem with an excerpt.
func load(arg string, sel *selection, vars map[string]string, reg *builtin.Registry, stderr io.Writer, servicesOnly, discard bool) (*suite.Suite, bool) {
	s, err := suite.Load(arg, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes,
		Vars: vars, ServicesOnly: servicesOnly, Discard: discard, Stub: splitList(sel.stubs), Profile: sel.profile})
	if err != nil {
		printLoadErr(err, stderr)
		return nil, false
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(stderr, "seam: warning: %v\n", w)
	}
	return s, true
}

func printLoadErr(err error, w io.Writer) {
	var l *diag.List
	if errors.As(err, &l) {
		fmt.Fprint(w, diag.Render(l.Errors(), nil))
		n := l.Len()
		word := "problems"
		if n == 1 {
			word = "problem"
		}
		fmt.Fprintf(w, "seam: %d %s in the suite; nothing was run\n", n, word)
		return
	}
	fmt.Fprintf(w, "seam: %v\n", err)
}

// parseArg parses args, flags before or after the one DIR|FILE they may
// name (arg is "." when they name none); rest is what was not a flag.
// false: the problem was printed.
func parseArg(fs *flag.FlagSet, args []string, stderr io.Writer) (arg string, rest []string, ok bool) {
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return "", nil, false
	}
	arg, ok = positional(fs, rest, stderr)
	return arg, rest, ok
}

func positional(fs *flag.FlagSet, args []string, stderr io.Writer) (string, bool) {
	switch len(args) {
	case 0:
		return ".", true
	case 1:
		return args[0], true
	}
	fmt.Fprintf(stderr, "%s: want one DIR or FILE, got %d: %s\n", fs.Name(), len(args), strings.Join(args, " "))
	return "", false
}

// suiteCommand is what every command that takes a suite shares: the
// selection flags, the DIR|FILE argument, --var values, the filter and the
// loaded suite, each problem printed with the command's name.
type suiteCommand struct {
	name   string
	arg    string // the DIR|FILE given, or "."
	fs     *flag.FlagSet
	sel    selection
	stdio  IO
	vars   map[string]string
	filter engine.Filter
	suite  *suite.Suite
	reg    *builtin.Registry
	// servicesOnly accepts a suite without tests (seam up).
	servicesOnly bool
	// discard checks each test and lets it go (seam validate).
	discard bool
}

func newSuiteCommand(name string, stdio IO) *suiteCommand {
	c := &suiteCommand{name: name, fs: newFlagSet(name, stdio.Stderr), stdio: stdio}
	// validate checks every test and up runs none: choosing tests means
	// nothing to them.
	c.sel.register(c.fs, name != "validate" && name != "up")
	return c
}

// parse parses args, runs check (for command-specific flags) and loads the
// suite; false means a usage or suite error was printed.
func (c *suiteCommand) parse(args []string, check func() error) bool {
	arg, _, ok := parseArg(c.fs, args, c.stdio.Stderr)
	if !ok {
		return false
	}
	if root, ok := suite.IncludedBy(arg); ok && !c.servicesOnly {
		// A file of tests a suite includes is not a suite: the suite is
		// loaded, and only the file's tests are taken.
		fmt.Fprintf(c.stdio.Stderr, "seam %s: %s is included by %s: that suite is loaded; only this file's tests are taken\n", c.name, arg, root)
		c.sel.file, arg = arg, root
	}
	c.arg = arg
	if check != nil {
		if err := check(); err != nil {
			fmt.Fprintf(c.stdio.Stderr, "seam %s: %v\n", c.name, err)
			return false
		}
	}
	var err error
	if c.vars, err = c.sel.varMap(); err == nil {
		c.filter, err = c.sel.filterOf()
	}
	if err != nil {
		fmt.Fprintf(c.stdio.Stderr, "seam %s: %v\n", c.name, err)
		return false
	}
	c.reg = builtin.New()
	c.suite, ok = load(arg, &c.sel, c.vars, c.reg, c.stdio.Stderr, c.servicesOnly, c.discard)
	return ok
}

func (c *suiteCommand) close() {
	if c.reg != nil {
		c.reg.Close()
	}
}

func cmdValidate(args []string, stdio IO) int {
	c := newSuiteCommand("validate", stdio)
	c.discard = true
	defer c.close()
	if !c.parse(args, nil) {
		return ExitUsage
	}
	s := c.suite
	fmt.Fprintf(stdio.Stdout, "%s: ok, %d tests\n", s.File, s.Count)
	return ExitPass
}

func cmdList(args []string, stdio IO) int {
	c := newSuiteCommand("list", stdio)
	defer c.close()
	asJSON := c.fs.Bool("json", false, "print the tests as a JSON array: name, pos, priority, tags, skip, serial")
	// The part of a split seam run would run with the same flags.
	var ci ciFlags
	c.fs.StringVar(&ci.shard, "shard", "", "list only the tests seam run --shard K/N would run (with the same --timings and --parallel)")
	c.fs.StringVar(&ci.timings, "timings", "", "earlier durations for --shard: a JUnit or JSON report, or \"history\" (the runs seam keeps)")
	parallel := c.fs.Int("parallel", 1, "as seam run's --parallel, for --shard's split")
	if !c.parse(args, func() error {
		if *parallel < 1 {
			return fmt.Errorf("--parallel must be at least 1")
		}
		return ci.check()
	}) {
		return ExitUsage
	}
	s, filter := c.suite, c.filter
	tests := engine.Select(s.Tests, filter)
	if ci.shard != "" {
		// What the split says goes to stderr: stdout stays the list.
		plan, err := ci.plan(context.Background(), s, tests, *parallel, stdio.Stderr)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam list: %v\n", err)
			return ExitUsage
		}
		tests = plan.tests
	}
	if *asJSON {
		type listed struct {
			Name     string   `json:"name"`
			Pos      string   `json:"pos"`
			Priority string   `json:"priority"`
			Tags     []string `json:"tags"`
			Skip     string   `json:"skip,omitempty"`
			Serial   bool     `json:"serial,omitempty"`
		}
		out := []listed{}
		for _, t := range tests {
			tags := t.Tags
			if tags == nil {
				tags = []string{}
			}
			out = append(out, listed{Name: t.Name, Pos: t.Pos.String(), Priority: t.Priority.String(), Tags: tags, Skip: t.Skip, Serial: t.Serial})
		}
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam list: %v\n", err)
			return ExitEnv
		}
		return ExitPass
	}
	tw := newTable(stdio.Stdout)
	tw.row("TEST", "PRIORITY", "TAGS", "WHERE")
	for _, t := range tests {
		name := t.Name
		if t.Skip != "" {
			name += " (skip: " + t.Skip + ")"
		}
		if t.Serial {
			name += " (serial)"
		}
		tw.row(name, t.Priority.String(), strings.Join(t.Tags, ","), t.Pos.String())
	}
	tw.flush()
	return ExitPass
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// seedNow picks a run seed when --seed is not given.
func seedNow() uint64 { return uint64(time.Now().UnixNano()) % 1_000_000_000 }
