package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// partLog is the event log, as seam run writes it, of part shard ("K/N")
// of suite bank, whose tests all pass.
func partLog(t *testing.T, shard string, tests ...string) string {
	t.Helper()
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	j := report.NewJSONL(&b)
	j.Event(report.Event{Time: t0, Type: report.RunStart, Suite: "bank", Seed: 5, Shard: shard, Total: len(tests)})
	for i, name := range tests {
		at := t0.Add(time.Duration(i) * time.Second)
		j.Event(report.Event{Time: at, Type: report.TestStart, Test: name})
		j.Event(report.Event{Time: at, Type: report.Log, Test: name, Service: "db", Message: "LOG: statement: update accounts set balance = balance + 30"})
		j.Event(report.Event{Time: at.Add(time.Millisecond), Type: report.TestEnd, Test: name, Status: report.Passed, Duration: 1})
	}
	end := t0.Add(time.Duration(len(tests)) * time.Second)
	j.Event(report.Event{Time: end, Type: report.RunEnd, Suite: "bank", Seed: 5, Duration: 1000 * float64(len(tests)), Counts: &report.Counts{Passed: len(tests)}})
	if err := j.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cuts of a part's log: torn in the middle of the log line of its
// third test (SIGKILL while it wrote), and on the line boundary before
// it (no run_end).
func cuts(log string) (torn, boundary string) {
	third := strings.Index(log, `"test":"t3"`)
	at := third + strings.Index(log[third:], "update accounts")
	return log[:at], log[:strings.LastIndex(log[:at], "\n")+1]
}

func seamCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, IO{Stdout: &out, Stderr: &errOut, Getenv: os.Getenv})
	return code, out.String(), errOut.String()
}

// seam report of a killed run's log renders what it has and exits 1, and
// --junit gives a valid report that flags the cut: the JUnit a killed
// seam run leaves is empty, and this is how to make it again.
func TestReportOfACutLog(t *testing.T) {
	dir := t.TempDir()
	torn, boundary := cuts(partLog(t, "", "t1", "t2", "t3", "t4"))
	for name, log := range map[string]string{"torn.jsonl": torn, "boundary.jsonl": boundary} {
		t.Run(name, func(t *testing.T) {
			path := writeTemp(t, dir, name, log)
			junit := filepath.Join(dir, name+".xml")
			code, stdout, stderr := seamCmd("report", "--junit", junit, path)
			if code != ExitFail {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitFail, stdout, stderr)
			}
			for _, want := range []string{"PASS t2", "SKIP t3 (cut off: the log ends while this test ran", "FAILED  2 passed, 0 failed, 1 skipped",
				"cut off: " + path + " ends ", "1 test it had not started is not in this report"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, "seam report: the log of "+path+" ends before its run did") {
				t.Errorf("stderr does not say the log was cut off:\n%s", stderr)
			}
			x, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`tests="4"`, `errors="1"`, `skipped="1"`, `type="cut off"`} {
				if !bytes.Contains(x, []byte(want)) {
					t.Errorf("JUnit lacks %s:\n%s", want, x)
				}
			}
			validateJUnit(t, junit)
		})
	}
	// The whole log still passes.
	if code, stdout, stderr := seamCmd("report", writeTemp(t, dir, "whole.jsonl", partLog(t, "", "t1", "t2"))); code != ExitPass {
		t.Errorf("a whole log: exit %d\n%s%s", code, stdout, stderr)
	}
}

// seam report merge with a part killed (its log torn, or without its
// run_end) merges what there is, flags the part as it flags a missing
// one, and exits 1; a part's log with nothing whole in it (killed before
// its run began) is a part missing.
func TestReportMergeWithACutPart(t *testing.T) {
	dir := t.TempDir()
	p1 := writeTemp(t, dir, "shard-1.jsonl", partLog(t, "1/3", "a1", "a2"))
	torn, boundary := cuts(partLog(t, "2/3", "t1", "t2", "t3", "t4"))
	p3 := writeTemp(t, dir, "shard-3.jsonl", partLog(t, "3/3", "c1"))
	for _, c := range []struct{ name, log string }{{"torn", torn}, {"boundary", boundary}} {
		t.Run(c.name, func(t *testing.T) {
			p2 := writeTemp(t, dir, c.name+"-2.jsonl", c.log)
			out := t.TempDir()
			jsonOut, junit, page := filepath.Join(out, "m.jsonl"), filepath.Join(out, "m.xml"), filepath.Join(out, "m.html")
			code, stdout, stderr := seamCmd("report", "merge", "--json", jsonOut, "--junit", junit, "--html", page, p1, p2, p3)
			if code != ExitFail {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitFail, stdout, stderr)
			}
			if !strings.Contains(stdout, "FAILED  5 passed, 0 failed, 1 skipped") || !strings.Contains(stdout, "2/3: cut off: "+p2+" ends ") {
				t.Errorf("stdout does not count the parts' tests and flag part 2/3:\n%s", stdout)
			}
			if !strings.Contains(stderr, "seam report merge: the log of part 2/3 ends before its run did") {
				t.Errorf("stderr does not flag part 2/3:\n%s", stderr)
			}
			f, err := os.Open(jsonOut)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			events, err := report.ReadJSONL(f)
			if err != nil {
				t.Fatal(err)
			}
			var end report.Event
			for _, e := range events {
				if e.Type == report.RunEnd {
					end = e
				}
			}
			if end.Status != report.Failed || strings.Join(end.Cut, " ") != "2/3" {
				t.Errorf("merged run_end: %s, cut %q; want failed, cut [2/3]", end.Status, end.Cut)
			}
			if x, err := os.ReadFile(junit); err != nil || !bytes.Contains(x, []byte(`<testcase name="cut off: part 2/3"`)) {
				t.Errorf("merged JUnit does not flag part 2/3 (%v):\n%s", err, x)
			}
			validateJUnit(t, junit)
			if h, err := os.ReadFile(page); err != nil || len(h) == 0 {
				t.Errorf("no HTML report: %v", err)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		empty := writeTemp(t, dir, "empty-2.jsonl", "")
		code, stdout, stderr := seamCmd("report", "merge", p1, empty, p3)
		if code != ExitFail || !strings.Contains(stdout, "FAILED  3 passed") ||
			!strings.Contains(stderr, empty+" has no whole event: its run was cut off before it began") ||
			!strings.Contains(stderr, "part 2/3 is missing") {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
		if code, _, stderr := seamCmd("report", "merge", empty); code != ExitUsage || !strings.Contains(stderr, "no log has a whole event") {
			t.Errorf("only an empty log: exit %d\n%s", code, stderr)
		}
	})
}

// validateJUnit checks a JUnit report against the shared schema (or the
// report package's copy of it) with xmllint.
func validateJUnit(t *testing.T, file string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is missing; scripts/test.sh installs it (Debian package libxml2-utils)")
	}
	schema := filepath.Join("..", "report", "testdata", "junit.xsd")
	dir, _ := filepath.Abs(".")
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if p := filepath.Join(d, "shared", "schemas", "junit.xsd"); fileExists(p) {
			schema = p
			break
		}
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", schema, file).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// The JUnit report of a killed part is empty (it is written at the run's
// end): merging the parts' JUnit reports takes it as a missing part,
// writes the others' and exits 1.
func TestReportMergeJUnitWithAnEmptyPart(t *testing.T) {
	dir := t.TempDir()
	var xmls []string
	for _, p := range []struct{ shard, name string }{{"1/3", "a"}, {"2/3", ""}, {"3/3", "c"}} {
		path := filepath.Join(dir, "shard-"+p.shard[:1]+".xml")
		xmls = append(xmls, path)
		if p.name == "" {
			writeTemp(t, dir, filepath.Base(path), "")
			continue
		}
		log := writeTemp(t, dir, "shard-"+p.shard[:1]+".jsonl", partLog(t, p.shard, p.name))
		if code, stdout, stderr := seamCmd("report", "--junit", path, log); code != ExitPass {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
	}
	out := filepath.Join(dir, "merged.xml")
	code, stdout, stderr := seamCmd("report", "merge", "--junit", out, xmls[0], xmls[1], xmls[2])
	if code != ExitFail || !strings.Contains(stderr, xmls[1]+" is empty: its run was cut off before it wrote it") ||
		!strings.Contains(stderr, "part 2/3 is missing") || !strings.Contains(stdout, "merged 2 JUnit reports into "+out) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	x, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(x, []byte(`tests="2"`)) {
		t.Errorf("merged JUnit (%v):\n%s", err, x)
	}
	validateJUnit(t, out)
	if code, _, stderr := seamCmd("report", "merge", "--junit", out, xmls[1]); code != ExitUsage || !strings.Contains(stderr, "every JUnit report is empty") {
		t.Errorf("only an empty report: exit %d\n%s", code, stderr)
	}
}
