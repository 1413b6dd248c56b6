package cli

import (
	"fmt"
	"os"

	"github.com/seamtest/seam/internal/report"
)

// cmdCoverage prints a run's integration coverage from its event log: each
// depends_on edge with the operations seen on it, and the edges no test
// exercised.
func cmdCoverage(args []string, stdio IO) int {
	fs := newFlagSet("coverage", stdio.Stderr)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintln(stdio.Stderr, "seam coverage: want one event log (written by seam run --report json=PATH)")
		return ExitUsage
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam coverage: %v\n", err)
		return ExitUsage
	}
	defer f.Close()
	events, err := report.ReadJSONL(f)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam coverage: %s: after %d events: %v\n", rest[0], len(events), err)
		return ExitUsage
	}
	if len(events) == 0 || events[0].Type != report.RunStart {
		fmt.Fprintf(stdio.Stderr, "seam coverage: %s is not a seam event log (it does not start with run_start)\n", rest[0])
		return ExitUsage
	}
	b := report.NewCoverageBuilder()
	for _, e := range events {
		b.Event(e)
	}
	c := b.Coverage()
	if c.Total == 0 && len(c.Edges) == 0 {
		fmt.Fprintln(stdio.Stdout, "integration coverage: the suite declares no depends_on edges")
		return ExitPass
	}
	fmt.Fprint(stdio.Stdout, c.Text())
	return ExitPass
}
