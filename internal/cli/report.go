package cli

import (
	"fmt"
	"os"

	"github.com/seamtest/seam/internal/report"
)

// cmdReport renders a saved event log (run --report json=PATH) again: on
// the console, and as JUnit XML with --junit PATH.
func cmdReport(args []string, stdio IO) int {
	fs := newFlagSet("report", stdio.Stderr)
	junit := fs.String("junit", "", "also write JUnit XML to this file")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintln(stdio.Stderr, "seam report: want one event log (written by seam run --report json=PATH)")
		return ExitUsage
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report: %v\n", err)
		return ExitUsage
	}
	defer f.Close()
	events, err := report.ReadJSONL(f)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report: %s: after %d events: %v\n", rest[0], len(events), err)
		return ExitUsage
	}
	if len(events) == 0 || events[0].Type != report.RunStart {
		fmt.Fprintf(stdio.Stderr, "seam report: %s is not a seam event log (it does not start with run_start)\n", rest[0])
		return ExitUsage
	}
	collector := report.NewCollector()
	console := report.NewConsole(stdio.Stdout, report.ConsoleOptions{})
	for _, e := range events {
		collector.Event(e)
		console.Event(e)
	}
	console.Close()
	if *junit != "" {
		out, err := os.Create(*junit)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report: %v\n", err)
			return ExitUsage
		}
		defer out.Close()
		if err := report.NewJUnit(out).Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report: writing %s: %v\n", *junit, err)
			return ExitEnv
		}
	}
	if collector.Run().Counts.Failed > 0 {
		return ExitFail
	}
	return ExitPass
}
