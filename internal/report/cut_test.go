package report_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// writes records each Write its writer is given, as it is given.
type writes struct{ calls [][]byte }

func (w *writes) Write(b []byte) (int, error) {
	w.calls = append(w.calls, append([]byte(nil), b...))
	return len(b), nil
}

func (w *writes) String() string { return string(bytes.Join(w.calls, nil)) }

// cutRun is a run of 3 tests with a busy service: many log lines (more
// than a write buffer holds) before the first test ends.
func cutRun() []report.Event {
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	ev := []report.Event{{Time: t0, Type: report.RunStart, Suite: "bank", Seed: 9, Shard: "2/3", Total: 3,
		Edges: []report.EdgeInfo{{Edge: "api→db", Wired: true}}}}
	for i, name := range []string{"first", "second", "third"} {
		at := t0.Add(time.Duration(i) * time.Second)
		ev = append(ev, report.Event{Time: at, Type: report.TestStart, Test: name})
		for n := range 40 {
			ev = append(ev, report.Event{Time: at, Type: report.Log, Test: name, Service: "db", Stream: "stderr",
				Message: fmt.Sprintf("LOG %d: %s", n, strings.Repeat("x", 100))})
		}
		ev = append(ev, report.Event{Time: at.Add(time.Millisecond), Type: report.TestEnd, Test: name, Status: report.Passed, Duration: 1})
	}
	end := t0.Add(3 * time.Second)
	return append(ev, report.Event{Time: end, Type: report.RunEnd, Suite: "bank", Seed: 9, Duration: 3000, Counts: &report.Counts{Passed: 3}})
}

// A run killed at any moment (SIGKILL from a CI job's timeout) must
// leave a log of whole events, never behind the console: each event is
// one Write of one whole line, made as the event is given.
func TestJSONLWritesEachEventWholeAtOnce(t *testing.T) {
	var w writes
	j := report.NewJSONL(&w)
	for i, e := range cutRun() {
		j.Event(e)
		if e.Type == report.RunEnd {
			break
		}
		if len(w.calls) != i+1 {
			t.Fatalf("after event %d (%s): %d writes; want %d, one per event as it happens", i+1, e.Type, len(w.calls), i+1)
		}
		line := w.calls[i]
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("write %d is not one whole line: %q", i+1, line)
		}
	}
	if err := j.Finish(nil); err != nil {
		t.Fatal(err)
	}
	events, err := report.ReadJSONL(strings.NewReader(w.String()))
	if err != nil || len(events) != len(cutRun())+1 || events[len(events)-2].Type != report.RunEnd || len(w.calls) != len(events) {
		t.Fatalf("read back: %d events in %d writes, %v; want %d ending with run_end, coverage", len(events), len(w.calls), err, len(cutRun())+1)
	}
}

// A write error is kept and told by Finish; nothing is written after it.
func TestJSONLKeepsTheWriteError(t *testing.T) {
	j := report.NewJSONL(failingWriter{})
	for _, e := range cutRun() {
		j.Event(e)
	}
	if err := j.Finish(nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Finish = %v; want the write error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func logOf(t *testing.T, events []report.Event) string {
	t.Helper()
	var b bytes.Buffer
	j := report.NewJSONL(&b)
	for _, e := range events {
		j.Event(e)
	}
	if err := j.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A log cut off (its run killed during the second test) is read as far
// as it is whole, and ends with a run_end that says so: failed, naming
// the log; the test that was running is skipped, not lost, and not
// passed.
func TestReadRunEndsACutLog(t *testing.T) {
	full := logOf(t, cutRun())
	second := strings.Index(full, `"type":"test_start","test":"second"`)
	tornAt := second + strings.Index(full[second:], "LOG 7") // in the middle of a log line of "second"
	boundary := strings.LastIndex(full[:tornAt], "\n") + 1
	for _, c := range []struct{ name, log, where string }{
		{"torn", full[:tornAt], "in the middle of an event at line "},
		{"no run_end", full[:boundary], "after "},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := report.ReadJSONL(strings.NewReader(c.log)); c.name == "torn" && !errors.As(err, new(*report.CutError)) {
				t.Errorf("ReadJSONL: %v; want a *CutError", err)
			}
			events, err := report.ReadRun(strings.NewReader(c.log), "shard-2.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			end := events[len(events)-1]
			if end.Type != report.RunEnd || end.Status != report.Failed || len(end.Cut) != 1 || end.Cut[0] != "shard-2.jsonl" {
				t.Fatalf("last event %s %s cut %q; want run_end failed, cut [shard-2.jsonl]", end.Type, end.Status, end.Cut)
			}
			for _, want := range []string{"cut off: shard-2.jsonl ends " + c.where, "the test it was running is marked skipped", "1 test it had not started is not in this report"} {
				if !strings.Contains(end.Message, want) {
					t.Errorf("run_end message %q lacks %q", end.Message, want)
				}
			}
			if end.Counts == nil || *end.Counts != (report.Counts{Passed: 1, Skipped: 1}) {
				t.Errorf("run_end counts %+v; want 1 passed, 1 skipped", end.Counts)
			}
			r := collect(events)
			if len(r.Tests) != 2 || r.Tests[1].Name != "second" || r.Tests[1].Status != report.Skipped || !strings.HasPrefix(r.Tests[1].Skip, "cut off: ") {
				t.Fatalf("tests %+v; want first passed, second skipped as cut off", r.Tests)
			}
			if r.Status != report.Failed || len(r.Cut) != 1 {
				t.Errorf("run status %s, cut %q; want failed, cut", r.Status, r.Cut)
			}
			var console bytes.Buffer
			cons := report.NewConsole(&console, report.ConsoleOptions{})
			for _, e := range events {
				cons.Event(e)
			}
			if out := console.String(); !strings.Contains(out, "FAILED  1 passed, 0 failed, 1 skipped") || !strings.Contains(out, "cut off: shard-2.jsonl ends") {
				t.Errorf("console does not say the run failed, cut off:\n%s", out)
			}
			junit := junitRun(t, r)
			for _, want := range []string{`<testcase name="cut off: shard-2.jsonl" classname="bank"`, `type="cut off"`, `errors="1"`, `skipped="1"`, "the log of shard-2.jsonl ends before its run did"} {
				if !strings.Contains(junit, want) {
					t.Errorf("JUnit lacks %s:\n%s", want, junit)
				}
			}
			validate(t, junit)
		})
	}
	// A whole log is read as it is; so is one whose torn last line
	// comes after its run_end (the coverage: its results are whole).
	if !strings.Contains(full, `"type":"run_end"`) || !strings.HasPrefix(full[strings.LastIndex(full[:len(full)-1], "\n")+1:], `{"time":"2026-12-02T07:00:03Z","type":"coverage"`) {
		t.Fatalf("the log does not end with run_end, coverage:\n%s", full[len(full)-300:])
	}
	for _, log := range []string{full, full[:len(full)-5]} {
		events, err := report.ReadRun(strings.NewReader(log), "x")
		if r := collect(events); err != nil || r.Status == report.Failed || len(r.Cut) != 0 || r.Counts.Passed != 3 {
			t.Errorf("whole log: %v, %+v", err, r)
		}
	}
	// Nothing whole: an error, as ReadJSONL's.
	for _, log := range []string{"", full[:20]} {
		if _, err := report.ReadRun(strings.NewReader(log), "x"); err == nil || !strings.HasPrefix(err.Error(), "line 1: ") {
			t.Errorf("ReadRun(%q) = %v; want an error of line 1", log, err)
		}
	}
}

func junitRun(t *testing.T, r *report.Run) string {
	t.Helper()
	var b bytes.Buffer
	j := report.NewJUnit(&b)
	j.Hostname = "h"
	if err := j.Finish(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// validate checks a JUnit report against the shared schema with xmllint.
func validate(t *testing.T, doc string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is missing; scripts/test.sh installs it (Debian package libxml2-utils)")
	}
	file := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath(t), file).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// A part whose log ends without its run_end (cut off on a line
// boundary) must not merge as a part that ran all it had: the merge
// fails, names the part as cut off, and keeps what it ran.
func TestMergeFlagsACutPart(t *testing.T) {
	cut := shardLog("2/3", 7, "b1", "b2")
	cut = append(cut[:len(cut)-1:len(cut)-1], report.Event{Time: cut[0].Time, Type: report.TestStart, Test: "b3"})
	m, err := report.Merge([][]report.Event{shardLog("1/3", 7, "a"), cut, shardLog("3/3", 7, "c")}, []string{"s1.jsonl", "s2.jsonl", "s3.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	end := m.Events[len(m.Events)-1]
	if end.Type != report.RunEnd || end.Status != report.Failed || !strings.Contains(end.Message, "2/3: cut off: s2.jsonl ends after 6 events, without its run_end") {
		t.Fatalf("run_end %s %s %q: want failed, saying part 2/3 was cut off", end.Type, end.Status, end.Message)
	}
	if strings.Join(m.Cut, " ") != "2/3" || strings.Join(end.Cut, " ") != "2/3" || len(m.Missing) != 0 {
		t.Errorf("Cut %q, run_end cut %q, Missing %q; want [2/3], [2/3], none", m.Cut, end.Cut, m.Missing)
	}
	if end.Counts == nil || *end.Counts != (report.Counts{Passed: 4, Skipped: 1}) {
		t.Errorf("counts %+v; want 4 passed (a, b1, b2, c), 1 skipped (b3, running when cut)", end.Counts)
	}
	r := collect(m.Events)
	junit := junitRun(t, r)
	if !strings.Contains(junit, `<testcase name="cut off: part 2/3"`) || !strings.Contains(junit, "the log of part 2/3 ends before its run did") {
		t.Errorf("merged JUnit does not flag part 2/3:\n%s", junit)
	}
	validate(t, junit)
	// The merged log, merged again, still says so.
	again, err := report.Merge([][]report.Event{readBack(t, logOf(t, m.Events))}, nil)
	if err != nil || strings.Join(again.Cut, " ") != "2/3" || again.Events[len(again.Events)-1].Status != report.Failed {
		t.Errorf("merged again: %v, %+v", err, again)
	}
}

func readBack(t *testing.T, log string) []report.Event {
	t.Helper()
	events, err := report.ReadJSONL(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	return events
}
