package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, é and → stay\n\tindented":   "plain text, é and → stay\n\tindented",
		"\x1b[31mred\x1b[0m":                     `\x1b[31mred\x1b[0m`,
		"\x1b]0;pwned\a":                         `\x1b]0;pwned\a`,
		"\x1b]52;c;ZWNobyBoaQ==\x1b\\":           `\x1b]52;c;ZWNobyBoaQ==\x1b\`,
		"a\bb\fc\vd\x00e\x7ff":                   `a\bb\fc\vd\x00e\x7ff`,
		"over\rwrite":                            `over\rwrite`,
		"HTTP/1.1 200 OK\r\nA: b\r\n":            "HTTP/1.1 200 OK\nA: b\n",
		"c1 \u009b31m csi":                       `c1 \u009b31m csi`,
		"bad \x9b utf-8":                         `bad \x9b utf-8`,
		"admin\u202e\u2066 // check later\u2069": `admin\u202e\u2066 // check later\u2069`,
	} {
		if got := report.TermSafe(in); got != want {
			t.Errorf("TermSafe(%q) = %q; want %q", in, got, want)
		}
	}
}

// hostile is a run whose system wrote terminal control sequences into
// everything the console shows: a component's log line, an interaction,
// a step's response, the failure's message and diff, a suspect.
func hostile() []report.Event {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	esc := "\x1b[31mRED\x1b]0;title\a\x1b]52;c;Y2xpcA==\a\b\f\v\u009b2J"
	return []report.Event{
		{Time: t0, Type: report.RunStart, Suite: "s", Seed: 1, Total: 2},
		{Time: t0, Type: report.TestStart, Test: "t"},
		{Time: t0, Type: report.Log, Test: "t", Service: "api", Stream: "stdout", Message: "log " + esc},
		{Time: t0, Type: report.Log, Test: "t", Service: "api→db", Stream: report.WireStream, Message: "GET /" + esc + " → 500 ⚠"},
		{Time: t0, Type: report.StepEnd, Test: "t", Step: "exec " + esc, Status: report.Failed, Attempt: 1},
		{Time: t0, Type: report.TestEnd, Test: "t", Pos: "s.yaml:1:1", Status: report.Failed, Failure: &report.Failure{
			Kind: "assertion", Pos: "s.yaml:2:3", Step: "exec " + esc, Message: "stdout: got " + esc + "\nsecond " + esc,
			Diff: "- " + esc, Request: "$ printf " + esc, Response: "exit code 1\n\nstdout:\n" + esc,
			Suspects: []report.Suspect{{Edge: "api→db", Line: "GET /" + esc, Reason: "a 500 " + esc}}}},
		{Time: t0, Type: report.TestStart, Test: "u"},
		{Time: t0, Type: report.TestRetry, Test: "u", Attempt: 1, Failure: &report.Failure{Pos: "s.yaml:5:5", Message: "retry " + esc}},
		{Time: t0, Type: report.TestEnd, Test: "u", Status: report.Skipped, Message: "skip " + esc},
		{Time: t0, Type: report.RunEnd, Duration: 1, Status: report.Failed, Message: "end " + esc},
	}
}

func TestConsoleShowsControlCharactersEscaped(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		c := report.NewConsole(&out, report.ConsoleOptions{Verbose: verbose})
		events := hostile()
		for _, e := range events {
			c.Event(e)
		}
		c.Close()
		got := out.String()
		for i, r := range got {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f {
				t.Fatalf("verbose %v: the console wrote control character %q at %d:\n%s", verbose, r, i, got)
			}
		}
		for _, want := range []string{`log \x1b[31mRED\x1b]0;title\a\x1b]52;c;Y2xpcA==\a\b\f\v\u009b2J`, `GET /\x1b[31mRED`,
			`stdout: got \x1b[31mRED`, `second \x1b[31m`, `exit code 1`, `retry \x1b`, `skip \x1b`, `end \x1b`} {
			if !strings.Contains(got, want) {
				t.Errorf("verbose %v: console lacks %q:\n%s", verbose, want, got)
			}
		}
		// Other reporters see the events as they were.
		if f := events[5].Failure; !strings.Contains(f.Message, "\x1b[31m") || !strings.Contains(f.Suspects[0].Line, "\a") {
			t.Errorf("the console changed the shared failure: %q", f.Message)
		}
	}
	// With colour, the only escape sequences are the console's own.
	var out bytes.Buffer
	c := report.NewConsole(&out, report.ConsoleOptions{Color: true})
	for _, e := range hostile() {
		c.Event(e)
	}
	if got := out.String(); strings.Contains(got, "\x1b]") || strings.ContainsAny(got, "\a\b\f\v") || strings.Contains(got, "\x1b[31mRED") {
		t.Errorf("coloured console passed the system's control sequences through:\n%q", got)
	}
	// The Go API's failure text too.
	f := hostile()[5]
	if got := report.FailureText(f.Failure, []string{"api | \x1b]0;x\a"}); strings.ContainsAny(got, "\x1b\a\b\f\v") {
		t.Errorf("FailureText passed control characters through:\n%q", got)
	}
}
