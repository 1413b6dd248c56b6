package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/crash"
)

// Console is the live terminal reporter: a line per finished test, the
// failing step in full, and on a terminal a status line with the running
// tests, counts and elapsed time.
type Console struct {
	cov     *CoverageBuilder
	mu      sync.Mutex
	w       io.Writer
	color   bool
	live    bool
	now     func() time.Time
	start   time.Time
	total   int
	counts  Counts
	running map[string]time.Time
	logs    map[string][]string
	verbose bool
	steps   map[string][]string // -v: each test's timeline so far
	failed  []failedTest
	causes  map[string]string // cause → the first test that failed of it
	status  bool              // a status line is on screen
	stop    chan struct{}
	done    chan struct{}
}

// ConsoleOptions configure a Console.
type ConsoleOptions struct {
	// Crash receives a panic of the live redraw (nil: it ends the process).
	Crash *crash.Handler
	Color bool             // ANSI colours (only on a terminal, and not with NO_COLOR)
	Live  bool             // redraw a status line (only on a terminal)
	Now   func() time.Time // clock; nil means time.Now
	// Verbose shows every test's timeline (steps, interactions, log
	// lines), passing tests' too.
	Verbose bool
}

// failedTest is a failure for the list at the end.
type failedTest struct{ name, pos, cause string }

// NewConsole returns a console reporter writing to w. With Live set it
// redraws its status line every 200ms until Close.
func NewConsole(w io.Writer, opts ConsoleOptions) *Console {
	c := &Console{w: w, color: opts.Color, live: opts.Live, now: opts.Now, verbose: opts.Verbose,
		running: map[string]time.Time{}, logs: map[string][]string{}, cov: NewCoverageBuilder(),
		steps: map[string][]string{}, causes: map[string]string{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.live {
		c.stop, c.done = make(chan struct{}), make(chan struct{})
		opts.Crash.Go(c.tick)
	}
	return c
}

func (c *Console) tick() {
	defer close(c.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.mu.Lock()
			if !c.start.IsZero() {
				c.drawStatus()
			}
			c.mu.Unlock()
		}
	}
}

// Close stops the status line's redraws and waits for them to end.
func (c *Console) Close() {
	if c.live && c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
		c.mu.Lock()
		c.clearStatus()
		c.mu.Unlock()
	}
}

// maxConsoleLogs is how many component log lines a failure shows.
const maxConsoleLogs = 40

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

func (c *Console) paint(code, s string) string {
	if !c.color {
		return s
	}
	return code + s + reset
}

func (c *Console) clearStatus() {
	if c.status {
		fmt.Fprint(c.w, "\r\x1b[K")
		c.status = false
	}
}

func (c *Console) drawStatus() {
	c.clearStatus()
	names := make([]string, 0, len(c.running))
	for n := range c.running {
		names = append(names, n)
	}
	sort.Strings(names)
	running := strings.Join(names, ", ")
	if len(running) > 50 {
		running = running[:49] + "…"
	}
	done := c.counts.Passed + c.counts.Failed + c.counts.Skipped
	line := fmt.Sprintf("%d/%d · %d passed · %d failed · %s", done, c.total, c.counts.Passed, c.counts.Failed,
		c.now().Sub(c.start).Round(100*time.Millisecond))
	if running != "" {
		line += " · running: " + running
	}
	fmt.Fprint(c.w, c.paint(dim, line))
	c.status = true
}

// Event implements Sink.
func (c *Console) Event(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearStatus()
	c.cov.Event(e)
	// Everything below prints text the system under test wrote: its
	// control characters must not drive the terminal.
	e = termSafeEvent(e)
	switch e.Type {
	case RunStart:
		c.start, c.total = e.Time, e.Total
		fmt.Fprintf(c.w, "seam: suite %s: %s (%s)\n", e.Suite, Plural(e.Total, "test", "tests"), SeedText(e.Seed, e.Seeds))
		if len(e.Services) > 0 {
			fmt.Fprintf(c.w, "services: %s\n", ServicesLine(e.Services))
		}
	case TestStart:
		c.running[e.Test] = e.Time
	case Log:
		if e.Test != "" {
			// Only the newest lines are shown; the service's log file has all.
			logs := append(c.logs[e.Test], LogLine(e))
			if len(logs) > 2*maxConsoleLogs {
				logs = append(logs[:0], logs[len(logs)-maxConsoleLogs:]...)
			}
			c.logs[e.Test] = logs
			if c.verbose {
				c.steps[e.Test] = append(c.steps[e.Test], LogLine(e))
			}
		}
	case StepEnd:
		if c.verbose && e.Test != "" {
			mark := "ok  "
			if e.Status == Failed {
				mark = "FAIL"
			}
			c.steps[e.Test] = append(c.steps[e.Test], fmt.Sprintf("%s step %q (%s)", mark, e.Step, fmtDur(e.Duration)))
		}
	case TestRetry:
		msg := e.Message
		if e.Failure != nil {
			msg = e.Failure.Pos + ": " + e.Failure.Message
		}
		fmt.Fprintf(c.w, "%s %s %s\n", c.paint(yellow, "RETRY"), e.Test, c.paint(dim, fmt.Sprintf("(attempt %d failed: %s; again from a fresh reset)", e.Attempt, firstLineOf(msg))))
		delete(c.logs, e.Test)
	case TestEnd:
		delete(c.running, e.Test)
		c.testEnd(e)
		delete(c.logs, e.Test)
		delete(c.steps, e.Test)
	case RunEnd:
		c.runEnd(e)
		return
	}
	if c.live && !c.start.IsZero() {
		c.drawStatus()
	}
}

func fmtDur(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func (c *Console) testEnd(e Event) {
	switch e.Status {
	case Passed:
		c.counts.Passed++
		if e.Flaky {
			c.counts.Flaky++
			fmt.Fprintf(c.w, "%s %s %s\n", c.paint(yellow+bold, "FLAKY"), e.Test, c.paint(dim, fmt.Sprintf("(passed on attempt %d, %s)", e.Attempt, fmtDur(e.Duration))))
			return
		}
		fmt.Fprintf(c.w, "%s %s %s\n", c.paint(green, "PASS"), e.Test, c.paint(dim, "("+fmtDur(e.Duration)+")"))
		if c.verbose && len(c.steps[e.Test]) > 0 {
			c.block(c.w, "timeline:", strings.Join(c.steps[e.Test], "\n"))
		}
	case Skipped:
		c.counts.Skipped++
		fmt.Fprintf(c.w, "%s %s %s\n", c.paint(yellow, "SKIP"), e.Test, c.paint(dim, "("+e.Message+")"))
	case Failed:
		c.counts.Failed++
		fmt.Fprintf(c.w, "%s %s %s\n", c.paint(red+bold, "FAIL"), e.Test, c.paint(dim, "("+fmtDur(e.Duration)+", "+e.Pos+")"))
		cause := Cause(e.Failure)
		c.failed = append(c.failed, failedTest{name: e.Test, pos: e.Pos, cause: cause})
		if first, ok := c.causes[cause]; ok && cause != "" && !c.verbose {
			// The same cause again: its evidence was shown in full above.
			msg, _, _ := strings.Cut(e.Failure.Message, "\n")
			fmt.Fprintf(c.w, "    %s: %s: %s\n", e.Failure.Pos, e.Failure.StepText(), c.paint(red, msg))
			fmt.Fprintf(c.w, "    %s\n", c.paint(dim, fmt.Sprintf("same cause as %q above: %s", first, cause)))
			return
		}
		if cause != "" {
			c.causes[cause] = e.Test
		}
		if c.verbose && len(c.steps[e.Test]) > 0 {
			c.block(c.w, "timeline:", strings.Join(c.steps[e.Test], "\n"))
		}
		fmt.Fprint(c.w, c.failureText(e.Failure, c.logs[e.Test]))
	}
}

// FailureText renders a failure the way the console shows it (without
// colour): where, what, diff, request, response and the components' log
// lines during the test. The Go API writes the same text through t.Error.
func FailureText(f *Failure, logs []string) string {
	c := &Console{}
	safe := make([]string, len(logs))
	for i, l := range logs {
		safe[i] = TermSafe(l)
	}
	return c.failureText(termSafeFailure(f), safe)
}

func (c *Console) failureText(f *Failure, logs []string) string {
	var b strings.Builder
	if f != nil {
		first, rest, _ := strings.Cut(f.Message, "\n")
		fmt.Fprintf(&b, "    %s: %s: %s\n", f.Pos, f.StepText(), c.paint(red, first))
		if rest != "" {
			// A message of several lines (a list of near misses) reads as
			// part of the failure, indented under it.
			for _, line := range strings.Split(rest, "\n") {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
		if f.Diff != "" {
			c.block(&b, "", f.Diff)
		}
		if f.Request != "" {
			c.block(&b, "request:", f.Request)
		}
		if f.Response != "" {
			c.block(&b, "response:", f.Response)
		}
		for _, a := range f.Artifacts {
			fmt.Fprintf(&b, "    %s %s\n", c.paint(bold, a.Name+":"), a.Path)
		}
	}
	if f != nil && len(f.Suspects) > 0 {
		b.WriteString(SuspectsText(f.Suspects, func(s string) string { return c.paint(bold, s) }, func(s string) string { return c.paint(red, s) }))
	} else if len(logs) > 0 {
		// No ranking (an event log of an older seam): the first
		// interaction that looks like a fault is where to start reading.
		for _, l := range logs {
			if strings.HasSuffix(l, " "+suspiciousMark) {
				fmt.Fprintf(&b, "    %s %s\n", c.paint(bold, "first suspicious interaction:"), c.paint(red, strings.TrimSuffix(l, " "+suspiciousMark)))
				break
			}
		}
	}
	if len(logs) > 0 {
		if len(logs) > maxConsoleLogs {
			logs = logs[len(logs)-maxConsoleLogs:]
		}
		c.block(&b, "logs during the test:", strings.Join(logs, "\n"))
	}
	return b.String()
}

// SuspectsText renders a failure's suspects, likeliest cause first, each
// with why; title and line paint the heading and the interactions (the
// Go API passes no colour).
//
// Those not linked to the failing step (Suspect.Unlinked, which come
// last) go under a heading of their own, numbered on: the failure's own
// message comes before them.
func SuspectsText(ss []Suspect, title, line func(string) string) string {
	var b strings.Builder
	for i, s := range ss {
		switch {
		case i == 0 && !s.Unlinked:
			fmt.Fprintf(&b, "    %s\n", title("suspicious interactions, likeliest cause first:"))
		case s.Unlinked && (i == 0 || !ss[i-1].Unlinked):
			fmt.Fprintf(&b, "    %s\n", title("also suspicious, but unlikely to have caused this failure:"))
		}
		fmt.Fprintf(&b, "      %d. %s\n", i+1, line(s.Edge+" | "+s.Line))
		fmt.Fprintf(&b, "         why: %s\n", s.Reason)
	}
	return b.String()
}

// suspiciousMark ends the log line of an interaction the wire found
// suspicious (wire.SuspiciousMark; the report package does not import wire).
const suspiciousMark = "⚠"

func (c *Console) block(w io.Writer, title, text string) {
	if title != "" {
		fmt.Fprintf(w, "    %s\n", c.paint(bold, title))
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if c.color && strings.HasPrefix(line, "- ") {
			line = c.paint(red, line)
		} else if c.color && strings.HasPrefix(line, "+ ") {
			line = c.paint(green, line)
		}
		fmt.Fprintf(w, "      %s\n", line)
	}
}

func (c *Console) runEnd(e Event) {
	counts := c.counts
	if e.Counts != nil {
		counts = *e.Counts
	}
	verdict := c.paint(green+bold, "ok")
	if counts.Failed > 0 || e.Status == Failed {
		verdict = c.paint(red+bold, "FAILED")
	}
	summary := fmt.Sprintf("%d passed, %d failed, %d skipped", counts.Passed, counts.Failed, counts.Skipped)
	if counts.Flaky > 0 {
		summary += fmt.Sprintf(" (%d flaky: passed on a retry)", counts.Flaky)
	}
	fmt.Fprintf(c.w, "\n%s  %s in %s\n", verdict, c.paint(bold, summary), fmtDur(e.Duration))
	if cov := c.cov.Coverage(); cov.Total > 0 {
		line := cov.Summary()
		if cov.Exercised < cov.Total {
			var missed []string
			for _, ed := range cov.Edges {
				if ed.Wired && len(ed.Operations) == 0 && ed.Connections == 0 {
					missed = append(missed, ed.Edge)
				}
			}
			line += "; not exercised: " + strings.Join(missed, ", ")
		}
		fmt.Fprintln(c.w, line+" (seam coverage LOG for each edge's operations)")
	}
	c.failedList()
	if e.Message != "" {
		fmt.Fprintln(c.w, e.Message)
	}
}

// failedList lists the failed tests with where they are, grouped by cause,
// the biggest group first: "9 tests failed at orders→inventory POST
// /reserve → 500 Internal Server Error:".
func (c *Console) failedList() {
	if len(c.failed) == 0 {
		return
	}
	var order []string
	byCause := map[string][]failedTest{}
	for _, f := range c.failed {
		if _, ok := byCause[f.cause]; !ok {
			order = append(order, f.cause)
		}
		byCause[f.cause] = append(byCause[f.cause], f)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(byCause[order[i]]) > len(byCause[order[j]]) })
	fmt.Fprintf(c.w, "\n%s\n", c.paint(bold, "failed:"))
	for _, cause := range order {
		fs := byCause[cause]
		head := Plural(len(fs), "test", "tests") + " failed"
		if cause != "" {
			head += " at " + cause
		}
		fmt.Fprintf(c.w, "  %s:\n", c.paint(red, head))
		width := 0
		for _, f := range fs {
			width = max(width, len(f.pos))
		}
		for _, f := range fs {
			fmt.Fprintf(c.w, "    %s%s  %s\n", f.pos, strings.Repeat(" ", width-len(f.pos)), f.name)
		}
	}
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
