package cli

import (
	"fmt"

	"github.com/seamtest/seam/internal/report"
)

// cmdCoverage prints a run's integration coverage from its event log: each
// depends_on edge with the operations seen on it, and the edges no test
// exercised.
func cmdCoverage(args []string, stdio IO) int {
	fs := newFlagSet("coverage", stdio.Stderr)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return helpOr(err)
	}
	if len(rest) != 1 {
		fmt.Fprintln(stdio.Stderr, "seam coverage: want one event log: a file (seam run --report json=PATH) or last (the newest run's kept log)")
		return ExitUsage
	}
	events, ok := readLog("coverage", rest[0], stdio.Stderr)
	if !ok {
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
