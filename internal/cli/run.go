package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
)

type reportFlag []string

func (r *reportFlag) String() string { return strings.Join(*r, ",") }
func (r *reportFlag) Set(s string) error {
	format, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return fmt.Errorf("want FORMAT=PATH, like junit=report.xml or json=events.jsonl")
	}
	switch format {
	case "junit", "json":
	default:
		return fmt.Errorf("unknown report format %q (formats: junit, json)", format)
	}
	*r = append(*r, s)
	return nil
}

func cmdRun(ctx context.Context, args []string, stdio IO) int {
	fs := newFlagSet("run", stdio.Stderr)
	var sel selection
	sel.register(fs)
	var reports reportFlag
	fs.Var(&reports, "report", "write a report: junit=PATH or json=PATH (JSON lines of events); repeatable")
	failFast := fs.Bool("fail-fast", false, "stop starting tests after the first failure")
	parallel := fs.Int("parallel", 1, "run up to N tests at once (tests marked serial run alone)")
	seed := fs.Uint64("seed", 0, "seed for random data; a run prints its seed, pass it to replay (0: pick one)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	arg, ok := positional(fs, rest, stdio.Stderr)
	if !ok {
		return ExitUsage
	}
	if *parallel < 1 {
		fmt.Fprintln(stdio.Stderr, "seam run: --parallel must be at least 1")
		return ExitUsage
	}
	vars, err := sel.varMap()
	if err != nil {
		fmt.Fprintln(stdio.Stderr, "seam run:", err)
		return ExitUsage
	}
	filter, err := sel.filterOf()
	if err != nil {
		fmt.Fprintln(stdio.Stderr, "seam run:", err)
		return ExitUsage
	}
	reg := builtin.New()
	defer reg.Close()
	s, ok := load(arg, vars, reg, stdio.Stderr)
	if !ok {
		return ExitUsage
	}
	tests := engine.Select(s.Tests, filter)
	if len(tests) == 0 {
		fmt.Fprintf(stdio.Stderr, "seam run: no test matches the filters (the suite has %d; see seam list)\n", len(s.Tests))
		return ExitUsage
	}
	if *seed == 0 {
		*seed = seedNow()
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
		case "json":
			j := report.NewJSONL(f)
			sinks = append(sinks, j)
			finishers = append(finishers, j)
		}
	}
	tty := isTerminal(stdio.Stdout)
	console := report.NewConsole(stdio.Stdout, report.ConsoleOptions{
		Color: tty && stdio.Getenv("NO_COLOR") == "",
		Live:  tty,
	})
	sinks = append(sinks, console)
	counts, err := engine.Run(ctx, s, tests, engine.Options{
		Parallel: *parallel,
		FailFast: *failFast,
		Seed:     *seed,
		Vars:     vars,
	}, report.NewFanout(sinks...))
	console.Close()
	if err != nil {
		printLoadErr(err, stdio.Stderr)
		return ExitUsage
	}
	code := ExitPass
	if counts.Failed > 0 {
		code = ExitFail
	}
	for i, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam run: writing %s: %v\n", reports[i], err)
			code = max(code, ExitEnv)
		}
	}
	if ctx.Err() != nil && code == ExitPass {
		code = ExitFail
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

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush() {
	widths := map[int]int{}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(r)-1 {
				t.w.WriteString(c)
			} else {
				t.w.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		t.w.WriteString("\n")
	}
	t.w.Flush()
}
