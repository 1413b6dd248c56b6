package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/history"
	"github.com/seamtest/seam/internal/impact"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/shard"
	"github.com/seamtest/seam/internal/suite"
)

// ciFlags are seam run's flags for CI at scale: parts, timings, retries,
// a budget and impact selection.
type ciFlags struct {
	shard      string
	timings    string
	retries    int
	failFlaky  bool
	budget     time.Duration
	changed    string
	historyArg listFlag
	spec       shard.Spec
}

// historyKept is the --timings value that reads the run history seam
// keeps.
const historyKept = "history"

// keptRuns is how many kept runs of a suite timings and failures read.
const keptRuns = 10

func (f *ciFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.shard, "shard", "", "run only part K of N (K/N, like 2/4): by count, or by duration with --timings")
	fs.StringVar(&f.timings, "timings", "", "earlier durations for --shard and --budget: a JUnit or JSON report, or \"history\" (the runs seam keeps)")
	fs.IntVar(&f.retries, "retries", 0, "run a failed test again up to N times, each from a fresh reset; one that then passes is flaky")
	fs.BoolVar(&f.failFlaky, "fail-on-flaky", false, "exit 1 when a test passed only on a retry")
	fs.DurationVar(&f.budget, "budget", 0, "run critical tests first, then those that failed most, and start none that would end past this time (like 5m); the rest are not run")
	fs.StringVar(&f.changed, "changed", "", "run only the tests a change since this git revision can affect (their recorded interactions touched a changed service), the critical ones and those never recorded")
	fs.Var(&f.historyArg, "history", "event logs of earlier runs (files or folders of *.jsonl) for --changed and --budget; default: the runs seam keeps; repeatable")
}

// check validates the flags' values alone, before the suite loads.
func (f *ciFlags) check() error {
	if f.shard != "" {
		spec, err := shard.Parse(f.shard)
		if err != nil {
			return fmt.Errorf("--shard %v", err)
		}
		f.spec = spec
	}
	if f.retries < 0 {
		return fmt.Errorf("--retries must be 0 or more")
	}
	if f.retries > 100 {
		return fmt.Errorf("--retries %d: at most 100", f.retries)
	}
	if f.budget < 0 {
		return fmt.Errorf("--budget must be positive, like 5m")
	}
	if f.timings != "" && f.shard == "" && f.budget == 0 {
		return fmt.Errorf("--timings is read for --shard and --budget; give one of them")
	}
	return nil
}

// ciPlan is what the flags make of a run.
type ciPlan struct {
	tests    []*suite.Test
	failures map[string]int
	estimate func(string) (time.Duration, bool)
}

// plan narrows tests (impact selection, then the part) and gathers the
// history --budget orders by. It prints why each test was selected, and
// returns a usage error for a bad revision, bad timings or history.
func (f *ciFlags) plan(ctx context.Context, s *suite.Suite, tests []*suite.Test, parallel int, stdout io.Writer) (*ciPlan, error) {
	p := &ciPlan{tests: tests}
	var runs [][]report.Event
	needRuns := f.changed != "" || f.budget > 0 || f.timings == historyKept
	if needRuns {
		var err error
		if runs, err = f.runs(s.Name); err != nil {
			return nil, err
		}
	}
	if f.changed != "" {
		files, err := impact.Changed(ctx, s.Dir, f.changed)
		if err != nil {
			return nil, err
		}
		vars, err := engine.SuiteVars(s, 0, nil)
		if err != nil {
			return nil, err
		}
		res, err := impact.Select(ctx, impact.Input{Suite: s, Tests: p.tests, Changed: files, Runs: runs, Vars: vars})
		if err != nil {
			return nil, err
		}
		colon := ":" // the selected tests follow, each with why
		if len(res.Selected) == 0 {
			colon = ""
		}
		fmt.Fprintf(stdout, "--changed %s: %d file(s) changed; %d of %d tests selected (from %d recorded run(s))%s\n", f.changed, len(files), len(res.Selected), len(p.tests), len(runs), colon)
		p.tests = nil
		for _, c := range res.Selected {
			fmt.Fprintf(stdout, "  %s: %s\n", c.Test.Name, c.Why)
			p.tests = append(p.tests, c.Test)
		}
	}
	var timings *shard.Timings
	switch {
	case f.timings == historyKept:
		timings = shard.FromEvents(runs)
		if len(timings.Durations) == 0 {
			fmt.Fprintf(stdout, "--timings history: no kept run of suite %s; balancing by count\n", s.Name)
			timings = nil
		}
	case f.timings != "":
		file, err := os.Open(f.timings)
		if err != nil {
			return nil, fmt.Errorf("--timings: %v", err)
		}
		timings, err = shard.Read(file, f.timings)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("--timings %v", err)
		}
		names := make([]string, len(s.Tests))
		for i, t := range s.Tests {
			names[i] = t.Name
		}
		if err := timings.Check(s.Name, names, f.timings); err != nil {
			return nil, fmt.Errorf("--timings %v", err)
		}
	}
	if f.spec.N > 0 {
		st := make([]shard.Test, len(p.tests))
		for i, t := range p.tests {
			st[i] = shard.Test{Name: t.Name, Serial: t.Serial, Fresh: t.Fresh}
		}
		opts := shard.Options{Parallel: parallel}
		if timings != nil {
			opts.Timings, opts.EnvStart = timings.Durations, timings.EnvStart
		}
		plan := shard.Split(st, f.spec.N, opts)
		part := map[string]bool{}
		for _, n := range plan.Parts[f.spec.K-1] {
			part[n] = true
		}
		var mine []*suite.Test
		for _, t := range p.tests {
			if part[t.Name] {
				mine = append(mine, t)
			}
		}
		how := "by count"
		if plan.ByTime {
			how = fmt.Sprintf("by duration (estimated %s)", plan.Load[f.spec.K-1].Round(time.Millisecond))
		}
		fmt.Fprintf(stdout, "--shard %s: %d of %d tests, %s\n", f.spec, len(mine), len(p.tests), how)
		if plan.ByTime && len(plan.Unknown) > 0 {
			fmt.Fprintf(stdout, "note: %d test(s) not in the timings were placed by count: %s\n", len(plan.Unknown), strings.Join(plan.Unknown, ", "))
		}
		p.tests = mine
	}
	if f.budget > 0 {
		t := timings
		if t == nil {
			t = shard.FromEvents(runs)
		}
		hist := shard.FromEvents(runs)
		p.failures = hist.Failures
		p.estimate = func(name string) (time.Duration, bool) {
			d, ok := t.Durations[name]
			return d, ok
		}
	}
	return p, nil
}

// runs reads the event logs of earlier runs of suite: --history's, else
// the ones seam keeps.
func (f *ciFlags) runs(suiteName string) ([][]report.Event, error) {
	if len(f.historyArg) == 0 {
		return history.Suite(reap.StateDir(), suiteName, keptRuns)
	}
	var out [][]report.Event
	for _, arg := range f.historyArg {
		paths := []string{arg}
		if st, err := os.Stat(arg); err != nil {
			return nil, fmt.Errorf("--history: %v", err)
		} else if st.IsDir() {
			paths = nil
			_ = filepath.WalkDir(arg, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
					paths = append(paths, p)
				}
				return nil
			})
			sort.Strings(paths)
		}
		for _, p := range paths {
			ev, err := history.Read(p)
			if err != nil {
				return nil, fmt.Errorf("--history %v", err)
			}
			if ev[0].Suite != suiteName {
				continue // another suite's run
			}
			out = append(out, ev)
		}
	}
	return out, nil
}

// isRefError reports a --changed revision problem (a usage error).
func isRefError(err error) bool {
	var re *impact.RefError
	return errors.As(err, &re)
}
