package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	htmlreport "github.com/seamtest/seam/internal/report/html"
	"github.com/seamtest/seam/internal/runlog"
)

// readLog reads the event log that arg names ("last": the newest run's
// kept log), printing any problem as cmd's; false means it was printed.
// A log cut off (ending in the middle of an event) is such a problem.
func readLog(cmd, arg string, stderr io.Writer) ([]report.Event, bool) {
	return readWith(cmd, arg, stderr, func(r io.Reader, _ string) ([]report.Event, error) { return report.ReadJSONL(r) })
}

// readRunLog is readLog, but a log of a run that was cut off (killed,
// or still running) is read as far as it is whole, ended by the run_end
// report.EndCut makes up for it.
func readRunLog(cmd, arg string, stderr io.Writer) ([]report.Event, bool) {
	return readWith(cmd, arg, stderr, report.ReadRun)
}

func readWith(cmd, arg string, stderr io.Writer, read func(io.Reader, string) ([]report.Event, error)) ([]report.Event, bool) {
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
	events, err := read(f, path)
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
	events, ok := readRunLog("report", rest[0], stdio.Stderr)
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
	for _, cut := range collector.Run().Cut {
		// The console's last line says it too; CI logs show stderr.
		fmt.Fprintf(stdio.Stderr, "seam report: %s\n", report.CutText(cut))
	}
	return runCode("report", collector.Run(), stdio.Stderr)
}

// readPart reads the event log of one part for seam report merge, as
// report.ReadRun does.
func readPart(path string) ([]report.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	events, err := report.ReadRun(f, path)
	if err != nil {
		return events, fmt.Errorf("%s: after %d events: %w", path, len(events), err)
	}
	return events, nil
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
	var names, lost []string
	for _, p := range rest {
		ev, err := readPart(p)
		var cut *report.CutError
		switch {
		case errors.Is(err, report.ErrEmptyLog) || errors.As(err, &cut):
			// Cut off before its first whole event (killed while its
			// environment started, say): like a part whose log is
			// missing, it is told of and the others are merged.
			lost = append(lost, p)
			continue
		case err != nil:
			fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
			return ExitUsage
		}
		logs, names = append(logs, ev), append(names, p)
	}
	if len(logs) == 0 {
		fmt.Fprintf(stdio.Stderr, "seam report merge: no log has a whole event (%s): their runs were cut off before they began, or they are not seam's event logs\n", strings.Join(lost, ", "))
		return ExitUsage
	}
	merged, err := report.Merge(logs, names)
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
	for _, p := range lost {
		fmt.Fprintf(stdio.Stderr, "seam report merge: %s has no whole event: its run was cut off before it began (or it is not a seam event log); nothing of it is in the reports\n", p)
	}
	for _, part := range merged.Cut {
		if _, _, ok := strings.Cut(part, "/"); ok {
			part = "part " + part
		}
		// Like a missing part: what it ran up to there is reported, and
		// the merge does not pass.
		fmt.Fprintf(stdio.Stderr, "seam report merge: %s\n", report.CutText(part))
	}
	code := runCode("report merge", collector.Run(), stdio.Stderr)
	if len(lost) > 0 && code == ExitPass {
		code = ExitFail
	}
	return code
}

// runCode is the exit code seam run gave (or would give) for run:
// ExitEnv when its environment (a part's) could not start, told to w;
// ExitFail when a test failed or the run as a whole did (interrupted, cut
// off, a part missing); else ExitPass.
func runCode(cmd string, run *report.Run, w io.Writer) int {
	switch {
	case run.EnvError != "":
		// A run whose environment could not start tested nothing,
		// whatever the counts say.
		fmt.Fprintf(w, "seam %s: %s:\n%s\n", cmd, report.EnvFailed, run.EnvError)
		return ExitEnv
	case run.Counts.Failed > 0 || run.Status == report.Failed || len(run.Missing) > 0 || len(run.Cut) > 0:
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
// failed or erred, or a part is missing or empty (a killed run's), as
// merging event logs does; 2 when an input is not a JUnit report or a
// test is in two of them (nothing is written then).
func mergeJUnit(paths []string, out string, stdio IO) int {
	var readers []io.Reader
	var inputs [][]byte
	var names, empty []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
			return ExitUsage
		}
		if len(bytes.TrimSpace(b)) == 0 {
			// A killed run's JUnit report: it is written at the run's
			// end, so it stays empty. Like a missing part.
			empty = append(empty, p)
			continue
		}
		inputs, readers, names = append(inputs, b), append(readers, bytes.NewReader(b)), append(names, p)
	}
	for _, p := range empty {
		fmt.Fprintf(stdio.Stderr, "seam report merge: %s is empty: its run was cut off before it wrote it (killed?); seam report --junit %s LOG makes it again from that run's event log\n", p, p)
	}
	if len(inputs) == 0 {
		fmt.Fprintln(stdio.Stderr, "seam report merge: every JUnit report is empty: nothing to merge")
		return ExitUsage
	}
	var buf bytes.Buffer
	failed, err := report.MergeJUnit(&buf, readers, names)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam report merge: %v\n", err)
		return ExitUsage
	}
	if code := writeFile(out, stdio, func(w io.Writer) error { _, err := buf.WriteTo(w); return err }); code != ExitPass {
		return code
	}
	fmt.Fprintf(stdio.Stdout, "merged %d JUnit reports into %s\n", len(inputs), out)
	if missing := report.JUnitMissing(inputs); len(missing) > 0 || len(empty) > 0 {
		// As for event logs: a part whose report was lost must not pass.
		if len(missing) > 0 {
			fmt.Fprintf(stdio.Stderr, "seam report merge: %s\n", report.MissingText(missing))
		}
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
