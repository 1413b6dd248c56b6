package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	htmlreport "github.com/seamtest/seam/internal/report/html"
	"github.com/seamtest/seam/internal/runlog"
)

// readLog reads the event log that arg names ("last": the newest run's
// kept log), printing any problem as cmd's; false means it was printed.
func readLog(cmd, arg string, stderr io.Writer) ([]report.Event, bool) {
	path, err := runlog.Resolve(reap.StateDir(), arg)
	if err != nil {
		fmt.Fprintf(stderr, "seam %s: %v\n", cmd, err)
		return nil, false
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "seam %s: %v\n", cmd, err)
		return nil, false
	}
	defer f.Close()
	events, err := report.ReadJSONL(f)
	if err != nil {
		fmt.Fprintf(stderr, "seam %s: %s:%v\n(want an event log that seam run kept, or wrote with --report json=PATH)\n", cmd, path, err)
		return nil, false
	}
	return events, true
}

// cmdReport renders a saved event log again: on the console, as JUnit XML
// with --junit PATH and as an HTML page with --html PATH.
func cmdReport(args []string, stdio IO) int {
	fs := newFlagSet("report", stdio.Stderr)
	junit := fs.String("junit", "", "also write JUnit XML to this file")
	html := fs.String("html", "", "also write the HTML report (one self-contained page) to this file")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return helpOr(err)
	}
	if len(rest) != 1 {
		fmt.Fprintln(stdio.Stderr, "seam report: want one event log: a file (seam run --report json=PATH) or last (the newest run's kept log)")
		return ExitUsage
	}
	events, ok := readLog("report", rest[0], stdio.Stderr)
	if !ok {
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
		if code := writeFile(*junit, stdio, func(w io.Writer) error { return report.NewJUnit(w).Finish(collector.Run()) }); code != ExitPass {
			return code
		}
	}
	if *html != "" {
		if code := writeFile(*html, stdio, func(w io.Writer) error { return htmlreport.Write(w, htmlreport.Build(events)) }); code != ExitPass {
			return code
		}
		fmt.Fprintf(stdio.Stdout, "report: %s\n", *html)
	}
	if collector.Run().Counts.Failed > 0 {
		return ExitFail
	}
	return ExitPass
}

func writeFile(path string, stdio IO, write func(io.Writer) error) int {
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report: %v\n", err)
		return ExitUsage
	}
	err = write(out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report: writing %s: %v\n", path, err)
		return ExitEnv
	}
	return ExitPass
}
