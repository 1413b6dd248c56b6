package report_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is a fixed run: one test passes, one fails an assertion, one
// errors, one is skipped.
func sample() []report.Event {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	return []report.Event{
		{Time: at(0), Type: report.RunStart, Suite: "shop", Seed: 42, Total: 4},
		{Time: at(0), Type: report.TestEnd, Test: "later", Pos: "tests/b.yaml:3:11", Status: report.Skipped, Message: "not ready yet", Priority: "low"},
		{Time: at(1), Type: report.TestStart, Test: "order is stored", Pos: "seam.yaml:10:11", Tags: []string{"critical"}, Priority: "high", Worker: 1},
		{Time: at(1), Type: report.StepStart, Test: "order is stored", Phase: "steps", Step: "POST /orders", Pos: "seam.yaml:12:9", Worker: 1},
		{Time: at(13), Type: report.StepEnd, Test: "order is stored", Phase: "steps", Step: "POST /orders", Pos: "seam.yaml:12:9", Status: report.Passed, Duration: 12, Attempt: 1, Worker: 1},
		{Time: at(14), Type: report.TestEnd, Test: "order is stored", Pos: "seam.yaml:10:11", Tags: []string{"critical"}, Priority: "high", Status: report.Passed, Duration: 13, Worker: 1},
		{Time: at(14), Type: report.TestStart, Test: "stock is reserved", Pos: "seam.yaml:20:11", Priority: "medium", Worker: 1},
		{Time: at(15), Type: report.Log, Test: "stock is reserved", Message: "inventory | reserve A1: out of stock"},
		{Time: at(30), Type: report.TestEnd, Test: "stock is reserved", Pos: "seam.yaml:20:11", Priority: "medium", Status: report.Failed, Duration: 16, Worker: 1,
			Message: "body .items: got [\"A1\"]; want [\"A1\",\"B2\"]",
			Failure: &report.Failure{Kind: "assertion", Pos: "seam.yaml:24:11", Step: "GET /stock", Message: "body .items: got [\"A1\"]; want [\"A1\",\"B2\"]",
				Diff:     "--- want\n+++ got\n  [\n    \"A1\",\n-   \"B2\"\n  ]",
				Request:  "GET http://127.0.0.1:4100/stock\nUser-Agent: seam",
				Response: "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"items\":[\"A1\"]}"}},
		{Time: at(30), Type: report.TestStart, Test: "health <&>", Pos: "seam.yaml:30:11", Priority: "medium", Worker: 1},
		{Time: at(35), Type: report.TestEnd, Test: "health <&>", Pos: "seam.yaml:30:11", Priority: "medium", Status: report.Failed, Duration: 5, Worker: 1,
			Message: "GET http://127.0.0.1:1/health: connect: connection refused",
			Failure: &report.Failure{Kind: "error", Pos: "seam.yaml:31:9", Step: "GET /health", Message: "GET http://127.0.0.1:1/health: connect: connection refused"}},
		{Time: at(36), Type: report.RunEnd, Suite: "shop", Seed: 42, Duration: 36, Counts: &report.Counts{Passed: 1, Failed: 2, Skipped: 1}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func feed(sinks ...report.Sink) *report.Run {
	c := report.NewCollector()
	f := report.NewFanout(append([]report.Sink{c}, sinks...)...)
	for _, e := range sample() {
		f.Event(e)
	}
	return c.Run()
}

func TestConsoleGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		color bool
	}{{"console.golden", false}, {"console-color.golden", true}} {
		var buf bytes.Buffer
		c := report.NewConsole(&buf, report.ConsoleOptions{Color: tc.color})
		feed(c)
		c.Close()
		golden(t, tc.name, buf.Bytes())
	}
}

func TestJSONLGolden(t *testing.T) {
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	run := feed(j)
	if err := j.Finish(run); err != nil {
		t.Fatal(err)
	}
	golden(t, "events.jsonl.golden", buf.Bytes())
	// The log reads back into the same events, so a saved run can be
	// rendered again.
	events, err := report.ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(sample()) || events[8].Failure == nil || events[8].Failure.Diff == "" {
		t.Errorf("read back %d events; failure = %+v", len(events), events[8].Failure)
	}
}

func junitXML(t *testing.T) []byte {
	var buf bytes.Buffer
	j := report.NewJUnit(&buf)
	j.Hostname = "ci-host"
	if err := j.Finish(feed()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJUnitGolden(t *testing.T) {
	golden(t, "junit.xml.golden", junitXML(t))
}

// TestJUnitValidatesAgainstSchema checks the report with xmllint against the
// JUnit XSD that Jenkins and GitLab consume (shared/schemas/junit.xsd).
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is missing; the test command installs it (Debian package libxml2-utils)")
		}
		t.Skip("xmllint not installed (Debian package libxml2-utils); CI installs it")
	}
	xsd := schemaPath(t)
	file := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(file, junitXML(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", xsd, file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// And a report that is wrong must fail, so the check above means something.
	bad := strings.Replace(string(junitXML(t)), `hostname="ci-host"`, ``, 1)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, file).CombinedOutput(); err == nil {
		t.Fatalf("xmllint accepted a report without hostname:\n%s", out)
	}
}

// schemaPath finds shared/schemas/junit.xsd beside the repository.
// schemaPath is shared/schemas/junit.xsd beside the repository when there
// is one, else the copy in testdata (a clone on its own has no shared
// folder); the copy must stay the same as the shared schema.
func schemaPath(t *testing.T) string {
	t.Helper()
	copyPath := filepath.Join("testdata", "junit.xsd")
	dir, _ := filepath.Abs(".")
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "schemas", "junit.xsd")
		shared, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		mine, err := os.ReadFile(copyPath)
		if err != nil || !bytes.Equal(shared, mine) {
			t.Fatalf("%s differs from %s: copy the shared schema into testdata", copyPath, p)
		}
		return p
	}
	return copyPath
}

func TestReadJSONLNamesTheBadLine(t *testing.T) {
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	for _, e := range sample() {
		j.Event(e)
	}
	good := buf.String()
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	cut := strings.Join(lines[:5], "\n") + "\n" + lines[5][:len(lines[5])/2]
	for _, tc := range []struct{ name, in, want string }{
		{"truncated", cut, "line 6: the log ends in the middle of an event (truncated"},
		{"foreign", `{"level":"info","msg":"hello"}` + "\n", "line 1: not a seam event: no \"type\""},
		{"not json", lines[0] + "\nGET / HTTP/1.1\n", "line 2: not JSON"},
		{"wrong field", lines[0] + "\n" + `{"type":"log","time":"x"}` + "\n", "line 2: "},
		{"unknown type", lines[0] + "\n" + `{"type":"bogus"}` + "\n", `line 2: unknown event type "bogus"`},
		{"not the start", lines[1] + "\n", "line 1: the log starts with"},
		{"empty", "", "line 1: the log is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := report.ReadJSONL(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to contain %q", err, tc.want)
			}
		})
	}
	events, err := report.ReadJSONL(strings.NewReader(good))
	if err != nil || len(events) != len(sample()) {
		t.Errorf("the whole log: %d events, %v; want %d, nil", len(events), err, len(sample()))
	}
}

func FuzzReadJSONL(f *testing.F) {
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	for _, e := range sample() {
		j.Event(e)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"type":"run_start"}` + "\n" + `{"type":"log","message":"x"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := report.ReadJSONL(bytes.NewReader(b))
		if err == nil && (len(events) == 0 || events[0].Type != report.RunStart) {
			t.Errorf("no error, but %d events not starting with run_start", len(events))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("error %q does not name a line", err)
		}
		// A log cut off anywhere reads as a run that ends: with a run_end.
		events, err = report.ReadRun(bytes.NewReader(b), "x.jsonl")
		ended := false
		for _, e := range events {
			ended = ended || e.Type == report.RunEnd
		}
		if err == nil && (len(events) == 0 || events[0].Type != report.RunStart || !ended) {
			t.Errorf("ReadRun: no error, but %d events, run_end %v", len(events), ended)
		}
	})
}

// TestConsoleGroupsFailuresByCause: a second failure of the same first
// suspicious interaction prints one line that points at the first, and
// the list at the end groups them with their positions; -v shows a
// passing test's timeline.
func TestConsoleGroupsFailuresByCause(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := report.Suspect{Edge: "orders→inventory", Line: "POST /reserve/17 → 500 Internal Server Error (121 µs)", Reason: "an HTTP 500 answer"}
	events := []report.Event{{Time: t0, Type: report.RunStart, Suite: "shop", Total: 1}}
	for i, name := range []string{"first", "second"} {
		events = append(events,
			report.Event{Time: t0, Type: report.TestStart, Test: name},
			report.Event{Time: t0, Type: report.Log, Test: name, Service: "orders→inventory", Stream: "wire", Message: "POST /reserve/17 → 500 Internal Server Error (121 µs) ⚠"},
			report.Event{Time: t0, Type: report.TestEnd, Test: name, Pos: "t.yaml:" + string(rune('1'+i)) + ":3", Status: report.Failed,
				Failure: &report.Failure{Kind: "assertion", Pos: "t.yaml:9:9", Step: "POST /orders", Message: "status: got 502; want 201", Response: "HTTP/1.1 502", Suspects: []report.Suspect{s}}})
	}
	events = append(events,
		report.Event{Time: t0, Type: report.TestStart, Test: "passes"},
		report.Event{Time: t0, Type: report.Log, Test: "passes", Service: "orders→inventory", Stream: "wire", Message: "GET /stock → 200 OK (80 µs)"},
		report.Event{Time: t0, Type: report.StepEnd, Test: "passes", Step: "GET /stock", Status: report.Passed, Duration: 1},
		report.Event{Time: t0, Type: report.TestEnd, Test: "passes", Status: report.Passed},
		report.Event{Time: t0, Type: report.RunEnd, Counts: &report.Counts{Passed: 1, Failed: 2}})
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		c := report.NewConsole(&buf, report.ConsoleOptions{Verbose: verbose})
		for _, e := range events {
			c.Event(e)
		}
		out := buf.String()
		if !strings.Contains(out, "seam: suite shop: 1 test (seed 0)") {
			t.Errorf("no singular at the start:\n%s", out)
		}
		if !strings.Contains(out, "failed:\n  2 tests failed at orders→inventory POST /reserve/{id} → 500 Internal Server Error:\n    t.yaml:1:3  first\n    t.yaml:2:3  second\n") {
			t.Errorf("verbose=%v: no grouped list at the end:\n%s", verbose, out)
		}
		shortened := strings.Contains(out, `same cause as "first" above`)
		if shortened == verbose || strings.Count(out, "HTTP/1.1 502") != map[bool]int{false: 1, true: 2}[verbose] {
			t.Errorf("verbose=%v: the second failure should be shortened only without -v:\n%s", verbose, out)
		}
		if timeline := strings.Contains(out, "timeline:\n      orders→inventory | GET /stock → 200 OK (80 µs)\n      ok   step \"GET /stock\" (1ms)"); timeline != verbose {
			t.Errorf("verbose=%v: passing test's timeline shown: %v\n%s", verbose, timeline, out)
		}
	}
}
