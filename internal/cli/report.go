package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seamtest/seam/internal/history"
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
	if len(args) > 0 && args[0] == "merge" {
		return cmdReportMerge(args[1:], stdio)
	}
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
	return runCode("report", collector.Run(), stdio.Stderr)
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

// cmdReportMerge is seam report merge: the event logs (or JUnit reports)
// of a suite's parts, run on several machines with --shard K/N, as one
// report with the integration coverage across all parts.
func cmdReportMerge(args []string, stdio IO) int {
	fs := newFlagSet("report merge", stdio.Stderr)
	jsonOut := fs.String("json", "", "write the merged event log (JSON lines) to this file")
	junit := fs.String("junit", "", "write JUnit XML to this file")
	surefire := fs.String("surefire", "", "write JUnit XML with Maven Surefire's rerun elements to this file")
	html := fs.String("html", "", "write the HTML report (one self-contained page) to this file")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(rest) == 0 {
		fmt.Fprintln(stdio.Stderr, "seam report merge: want the parts' event logs (seam run --shard K/N --report json=PATH), or their JUnit reports")
		return ExitUsage
	}
	xmlIn := 0
	for _, p := range rest {
		if strings.HasSuffix(strings.ToLower(p), ".xml") {
			xmlIn++
		}
	}
	if xmlIn > 0 {
		if xmlIn != len(rest) || *junit == "" || *jsonOut != "" || *surefire != "" || *html != "" {
			fmt.Fprintln(stdio.Stderr, "seam report merge: JUnit reports merge into JUnit only: give only .xml files and --junit OUT (or merge the event logs, which give every format)")
			return ExitUsage
		}
		return mergeJUnit(rest, *junit, stdio)
	}
	var logs [][]report.Event
	for _, p := range rest {
		ev, err := history.Read(p)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
			return ExitUsage
		}
		logs = append(logs, ev)
	}
	merged, err := report.Merge(logs, rest)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
		return ExitUsage
	}
	events := merged.Events
	collector := report.NewCollector()
	sinks := []report.Sink{collector, report.NewConsole(stdio.Stdout, report.ConsoleOptions{})}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	create := func(path string) *os.File {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
			return nil
		}
		files = append(files, f)
		return f
	}
	var finishers []report.Finisher
	if *jsonOut != "" {
		f := create(*jsonOut)
		if f == nil {
			return ExitUsage
		}
		j := report.NewJSONL(f)
		sinks = append(sinks, j)
		finishers = append(finishers, j)
	}
	for _, out := range []struct {
		path     string
		surefire bool
	}{{*junit, false}, {*surefire, true}} {
		if out.path == "" {
			continue
		}
		f := create(out.path)
		if f == nil {
			return ExitUsage
		}
		j := report.NewJUnit(f)
		j.Surefire = out.surefire
		finishers = append(finishers, j)
	}
	for _, e := range events {
		for _, s := range sinks {
			s.Event(e)
		}
	}
	if *html != "" {
		if code := writeFile(*html, stdio, func(w io.Writer) error { return htmlreport.Write(w, htmlreport.Build(events)) }); code != ExitPass {
			return code
		}
	}
	for _, fin := range finishers {
		if err := fin.Finish(collector.Run()); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report merge: writing: %v\n", err)
			return ExitEnv
		}
	}
	if len(merged.Missing) > 0 {
		// The reports hold what the given parts ran; a part that is not
		// there (its job failed before it uploaded its log, a wrong
		// artifact pattern) must not pass for green.
		for _, part := range merged.Missing {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %s\n", report.MissingText([]string{part}))
		}
		fmt.Fprintf(stdio.Stderr, "seam report merge: give every part's event log (seam run --shard K/%s --report json=PATH); the reports were written without them\n", partsOf(merged.Missing[0]))
	}
	return runCode("report merge", collector.Run(), stdio.Stderr)
}

// runCode is the exit code seam run gave (or would give) for run:
// ExitEnv when its environment (a part's) could not start, told to w;
// ExitFail when a test failed or the run as a whole did (interrupted, a
// part missing); else ExitPass.
func runCode(cmd string, run *report.Run, w io.Writer) int {
	switch {
	case run.EnvError != "":
		// A run whose environment could not start tested nothing,
		// whatever the counts say.
		fmt.Fprintf(w, "seam %s: %s:\n%s\n", cmd, report.EnvFailed, run.EnvError)
		return ExitEnv
	case run.Counts.Failed > 0 || run.Status == report.Failed || len(run.Missing) > 0:
		return ExitFail
	}
	return ExitPass
}

// partsOf is the N of a part "K/N".
func partsOf(part string) string {
	_, n, _ := strings.Cut(part, "/")
	return n
}

// mergeJUnit merges JUnit reports into out: exit 1 when a merged test
// failed or erred, as merging event logs does; 2 when an input is not a
// JUnit report or a test is in two of them (nothing is written then).
func mergeJUnit(paths []string, out string, stdio IO) int {
	var readers []io.Reader
	var inputs [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
			return ExitUsage
		}
		inputs, readers = append(inputs, b), append(readers, bytes.NewReader(b))
	}
	var buf bytes.Buffer
	failed, err := report.MergeJUnit(&buf, readers, paths)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
		return ExitUsage
	}
	if code := writeFile(out, stdio, func(w io.Writer) error { _, err := buf.WriteTo(w); return err }); code != ExitPass {
		return code
	}
	fmt.Fprintf(stdio.Stdout, "merged %d JUnit reports into %s\n", len(paths), out)
	if missing := report.JUnitMissing(inputs); len(missing) > 0 {
		// As for event logs: a part whose report was lost must not pass.
		fmt.Fprintf(stdio.Stderr, "seam report merge: %s\n", report.MissingText(missing))
		return ExitFail
	}
	if why := report.JUnitEnvFailed(inputs); len(why) > 0 {
		fmt.Fprintf(stdio.Stdout, "FAILED  %s\n", strings.Join(why, "\n"))
		return ExitEnv
	}
	if failed > 0 {
		fmt.Fprintf(stdio.Stdout, "FAILED  %s\n", report.Plural(failed, "test", "tests")+" failed")
		return ExitFail
	}
	return ExitPass
}
