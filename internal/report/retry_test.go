package report_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// retried feeds a run with a flaky test (failed, then passed) and one that
// failed both attempts.
func retried() []report.Event {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f := func(msg string) *report.Failure {
		return &report.Failure{Kind: "assertion", Pos: "s.yaml:3:5", Step: "call", Message: msg}
	}
	return []report.Event{
		{Time: t0, Type: report.RunStart, Suite: "ci", Total: 2, Shard: "1/2", Edges: []report.EdgeInfo{{Edge: "a→b", Wired: true}}},
		{Time: t0, Type: report.TestStart, Test: "flaky"},
		{Time: t0, Type: report.Log, Test: "flaky", Service: "a", Message: "first try log"},
		{Time: t0, Type: report.TestRetry, Test: "flaky", Attempt: 1, Status: report.Failed, Failure: f("status: got 503; want 200"), Duration: 10},
		{Time: t0, Type: report.TestStart, Test: "flaky"},
		{Time: t0, Type: report.TestEnd, Test: "flaky", Status: report.Passed, Attempt: 2, Flaky: true, Duration: 5},
		{Time: t0, Type: report.TestStart, Test: "broken"},
		{Time: t0, Type: report.TestRetry, Test: "broken", Attempt: 1, Status: report.Failed, Failure: f("first: got 1"), Duration: 10},
		{Time: t0, Type: report.TestStart, Test: "broken"},
		{Time: t0, Type: report.Log, Test: "broken", Stream: report.WireStream, Service: "a→b", Message: "GET /x → 500 Internal Server Error"},
		{Time: t0, Type: report.TestEnd, Test: "broken", Status: report.Failed, Attempt: 2, Failure: f("second: got 2"), Duration: 5},
		{Time: t0, Type: report.RunEnd, Duration: 40, Counts: &report.Counts{Passed: 1, Failed: 1, Flaky: 1}},
	}
}

func collect(events []report.Event) *report.Run {
	c := report.NewCollector()
	for _, e := range events {
		c.Event(e)
	}
	return c.Run()
}

func TestCollectorKeepsFailedAttempts(t *testing.T) {
	r := collect(retried())
	if len(r.Tests) != 2 || r.Counts.Flaky != 1 || r.Counts.Passed != 1 || r.Counts.Failed != 1 {
		t.Fatalf("tests %d, counts %+v; want 2 tests, 1 flaky", len(r.Tests), r.Counts)
	}
	fl := r.Tests[0]
	if !fl.Flaky || len(fl.Attempts) != 1 || fl.Attempts[0].Logs[0] != "a | first try log" || len(fl.Logs) != 0 {
		t.Errorf("flaky test: %+v; want its first attempt's evidence kept apart", fl)
	}
}

func TestJUnitWithRetriesValidatesAndSurefireNamesReruns(t *testing.T) {
	r := collect(retried())
	var ant, sf bytes.Buffer
	j := report.NewJUnit(&ant)
	j.Hostname = "h"
	if err := j.Finish(r); err != nil {
		t.Fatal(err)
	}
	s := report.NewJUnit(&sf)
	s.Hostname, s.Surefire = "h", true
	if err := s.Finish(r); err != nil {
		t.Fatal(err)
	}
	a := ant.String()
	for _, want := range []string{`name="seam.flaky" value="1"`, "FLAKY flaky", "attempt 1 failed: s.yaml:3:5: status: got 503", "attempt 1 of 2:", "first: got 1", "second: got 2"} {
		if !strings.Contains(a, want) {
			t.Errorf("Ant JUnit lacks %q:\n%s", want, a)
		}
	}
	if strings.Contains(a, "flakyFailure") || strings.Contains(a, "rerunFailure") {
		t.Errorf("Ant JUnit has Surefire's elements, which its schema refuses")
	}
	x := sf.String()
	for _, want := range []string{"<flakyFailure message=\"s.yaml:3:5: status: got 503; want 200\" type=\"assertion\">", "<stackTrace>", `<failure message="s.yaml:3:5: first: got 1"`, `<rerunFailure message="s.yaml:3:5: second: got 2"`} {
		if !strings.Contains(x, want) {
			t.Errorf("Surefire JUnit lacks %q:\n%s", want, x)
		}
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is missing; scripts/test.sh installs it (Debian package libxml2-utils)")
	}
	file := filepath.Join(t.TempDir(), "j.xml")
	os.WriteFile(file, ant.Bytes(), 0o644)
	if out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath(t), file).CombinedOutput(); err != nil {
		t.Errorf("the Ant JUnit of a retried run does not validate: %v\n%s", err, out)
	}
}

func TestMergeJoinsPartsWithCoverageAcrossThem(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	part := func(shard, test, edge string, d float64, status report.Status) []report.Event {
		return []report.Event{
			{Time: t0, Type: report.RunStart, Suite: "ci", Total: 1, Shard: shard, Edges: []report.EdgeInfo{{Edge: "a→b", Wired: true}, {Edge: "a→c", Wired: true}}},
			{Time: t0, Type: report.TestStart, Test: test},
			{Time: t0, Type: report.Log, Test: test, Stream: report.WireStream, Service: edge, Message: "GET /x → 200 OK"},
			{Time: t0, Type: report.TestEnd, Test: test, Status: status, Duration: d},
			{Time: t0.Add(time.Duration(d) * time.Millisecond), Type: report.RunEnd, Duration: d},
		}
	}
	merged, err := report.Merge([][]report.Event{part("1/2", "one", "a→b", 300, report.Passed), part("2/2", "two", "a→c", 500, report.Failed)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := merged.Events
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	for _, e := range ev {
		j.Event(e)
	}
	j.Finish(nil)
	out := buf.String()
	if !strings.Contains(out, `"exercised":2,"total":2`) {
		t.Errorf("coverage across parts is not 2 of 2:\n%s", out)
	}
	last := ev[len(ev)-1]
	if last.Type != report.RunEnd || last.Duration != 500 || last.Counts.Passed != 1 || last.Counts.Failed != 1 || ev[0].Total != 2 {
		t.Errorf("run_end %+v counts %+v; want the longest part's duration and summed counts", last, last.Counts)
	}
	if _, err := report.Merge([][]report.Event{part("1/2", "one", "a→b", 1, report.Passed), part("2/2", "one", "a→b", 1, report.Passed)}, nil); err == nil {
		t.Error("a test in two parts merged")
	}
	other := part("2/2", "two", "a→c", 1, report.Passed)
	other[0].Suite = "shop"
	if _, err := report.Merge([][]report.Event{part("1/2", "one", "a→b", 1, report.Passed), other}, nil); err == nil || !strings.Contains(err.Error(), "suite") {
		t.Errorf("parts of two suites: %v", err)
	}
	// JUnit parts merge into one valid testsuite.
	var j1, j2, m bytes.Buffer
	for i, p := range [][]report.Event{part("1/2", "one", "a→b", 1, report.Passed), part("2/2", "two", "a→c", 1, report.Failed)} {
		w := []*bytes.Buffer{&j1, &j2}[i]
		ju := report.NewJUnit(w)
		ju.Hostname = "h"
		ju.Finish(collect(p))
	}
	if failed, err := report.MergeJUnit(&m, []io.Reader{&j1, &j2}, []string{"1", "2"}); err != nil || failed != 1 {
		t.Fatalf("MergeJUnit: %d failed, %v; want 1 failed", failed, err)
	}
	if !strings.Contains(m.String(), `tests="2" failures="1"`) || strings.Count(m.String(), "<testsuite ") != 1 {
		t.Errorf("merged JUnit:\n%s", m.String())
	}
}

// FuzzMergeJUnit: any input either merges into XML that parses again, or
// is refused; never a panic.
func FuzzMergeJUnit(f *testing.F) {
	f.Add(`<testsuites><testsuite name="ci" tests="1" time="1.5"><testcase name="a" classname="ci" time="1.5"/></testsuite></testsuites>`)
	f.Add(`<testsuites><testsuite name="ci" time="x"><testcase name="a"><failure message="m" type="t">x</failure></testcase></testsuite></testsuites>`)
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		// Another part's report: the same one twice is refused.
		other := `<testsuites><testsuite name="ci" tests="1" time="1"><testcase name="of part 2" classname="ci" time="1"/></testsuite></testsuites>`
		if _, err := report.MergeJUnit(&out, []io.Reader{strings.NewReader(in), strings.NewReader(other)}, []string{"a", "b"}); err != nil {
			return
		}
		var back struct {
			XMLName xml.Name `xml:"testsuites"`
		}
		if err := xml.Unmarshal(out.Bytes(), &back); err != nil {
			t.Fatalf("merged output does not parse: %v\n%s", err, out.String())
		}
	})
}
