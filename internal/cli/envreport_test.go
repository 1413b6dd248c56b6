package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/report"
)

// brokenBuildSuite writes a suite whose one service fails to build,
// printing why on stderr.
func brokenBuildSuite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SEAM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	suite := `name: broken
services:
  api:
    process:
      build: "echo main.go 3 syntax error >&2; exit 1"
      run: [sleep, "60"]
tests:
  - name: one
    steps:
      - exec: [true]
  - name: two
    steps:
      - exec: [true]
`
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A service that fails to build stops the run before any environment
// exists; the reports must still be whole (not 0 bytes): every test
// skipped, the run_end failed with the build's output, and a JUnit
// testcase in error that says why.
func TestBuildFailureWritesReports(t *testing.T) {
	dir := brokenBuildSuite(t)
	out := t.TempDir()
	junit, events, page := filepath.Join(out, "r.xml"), filepath.Join(out, "r.jsonl"), filepath.Join(out, "r.html")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"run", dir, "--report", "junit=" + junit, "--report", "json=" + events, "--report", "html=" + page},
		IO{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv})
	if code != ExitEnv {
		t.Fatalf("exit %d, want %d (environment); stderr:\n%s", code, ExitEnv, stderr.String())
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := report.ReadJSONL(f)
	if err != nil {
		t.Fatalf("event log: %v", err)
	}
	last := evs[len(evs)-1]
	if evs[0].Type != report.RunStart || last.Type != report.RunEnd || last.Status != report.Failed {
		t.Fatalf("event log from %s to %s (%s), want run_start … run_end failed", evs[0].Type, last.Type, last.Status)
	}
	if !strings.Contains(last.EnvError, "syntax error") || !strings.HasPrefix(last.Message, report.EnvFailed) {
		t.Errorf("run_end: message %q, env_error %q: want the build's output", last.Message, last.EnvError)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`errors="1"`, `skipped="2"`, `<testcase name="environment" classname="broken"`, `type="environment"`, "syntax error"} {
		if !bytes.Contains(x, []byte(want)) {
			t.Errorf("JUnit lacks %s:\n%s", want, x)
		}
	}
	if h, err := os.ReadFile(page); err != nil || len(h) == 0 {
		t.Errorf("HTML report: %d bytes, %v", len(h), err)
	}
	if !strings.Contains(stdout.String(), "report: "+page+"\n") {
		t.Errorf("stdout does not say where the page is (report: %s):\n%s", page, stdout.String())
	}
}

// Merging the parts of a run whose environment failed in one part exits
// as seam run did (ExitEnv), for event logs and for JUnit reports, and
// the merged JUnit keeps the reason; it used to exit 0 with FAILED
// printed.
func TestMergeOfEnvFailureExitsEnv(t *testing.T) {
	dir := brokenBuildSuite(t)
	out := t.TempDir()
	io := func() (IO, *bytes.Buffer) {
		var b bytes.Buffer
		return IO{Stdout: &b, Stderr: &b, Getenv: os.Getenv}, &b
	}
	var logs, xmls []string
	for _, part := range []string{"1/2", "2/2"} {
		k := part[:1]
		logs, xmls = append(logs, filepath.Join(out, k+".jsonl")), append(xmls, filepath.Join(out, k+".xml"))
		stdio, b := io()
		if code := Run(context.Background(), []string{"run", dir, "--shard", part, "--report", "json=" + logs[len(logs)-1], "--report", "junit=" + xmls[len(xmls)-1]}, stdio); code != ExitEnv {
			t.Fatalf("part %s: exit %d, want %d:\n%s", part, code, ExitEnv, b)
		}
	}
	merged := filepath.Join(out, "m.xml")
	stdio, b := io()
	if code := Run(context.Background(), append([]string{"report", "merge", "--junit", merged}, logs...), stdio); code != ExitEnv {
		t.Errorf("merging the event logs: exit %d, want %d:\n%s", code, ExitEnv, b)
	}
	if x, _ := os.ReadFile(merged); !bytes.Contains(x, []byte(`type="environment"`)) || !bytes.Contains(x, []byte("syntax error")) {
		t.Errorf("merged JUnit lacks the environment's error:\n%s", x)
	}
	stdio, b = io()
	if code := Run(context.Background(), append([]string{"report", "merge", "--junit", filepath.Join(out, "m2.xml")}, xmls...), stdio); code != ExitEnv {
		t.Errorf("merging the JUnit reports: exit %d, want %d:\n%s", code, ExitEnv, b)
	}
	stdio, b = io()
	if code := Run(context.Background(), []string{"report", logs[0]}, stdio); code != ExitEnv {
		t.Errorf("seam report of a part: exit %d, want %d:\n%s", code, ExitEnv, b)
	}
}

// A suite without services starts no environment: the watch on
// environment starts must not give the engine a factory it lacks.
func TestRunWithoutServices(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SEAM_STATE_DIR", filepath.Join(dir, "state"))
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("name: plain\ntests:\n  - name: one\n    steps:\n      - exec: [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if code := Run(context.Background(), []string{"run", dir}, IO{Stdout: &b, Stderr: &b, Getenv: os.Getenv}); code != ExitPass {
		t.Fatalf("exit %d:\n%s", code, b.String())
	}
}

// Two --report outputs on one path: the second overwrote the first,
// silently; refused (exit 2) before anything runs or is written.
func TestRunRefusesTwoReportsOnOnePath(t *testing.T) {
	dir := brokenBuildSuite(t)
	out := filepath.Join(t.TempDir(), "r.xml")
	var b bytes.Buffer
	code := Run(context.Background(), []string{"run", dir, "--report", "junit=" + out, "--report", "html=" + filepath.Join(filepath.Dir(out), ".", "r.xml")},
		IO{Stdout: &b, Stderr: &b, Getenv: os.Getenv})
	if code != ExitUsage || !strings.Contains(b.String(), "write the same file") {
		t.Fatalf("exit %d, want %d saying so:\n%s", code, ExitUsage, b.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run wrote %s", out)
	}
}

// A service that never gets ready: the console says why once (it said
// the first line twice), and the JUnit report's error carries the
// service's last log lines.
func TestNotReadySaysWhyOnce(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SEAM_STATE_DIR", filepath.Join(dir, "state"))
	suite := `name: slow
services:
  api:
    process:
      run: [sh, -c, "echo api says no config; sleep 30"]
    ready: {exec: [sh, -c, "exit 1"], timeout: 1s}
tests:
  - name: one
    steps:
      - exec: ["true"]
`
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "r.xml")
	var b, e bytes.Buffer
	code := Run(context.Background(), []string{"run", dir, "--report", "junit=" + junit}, IO{Stdout: &b, Stderr: &e, Getenv: os.Getenv})
	if code != ExitEnv {
		t.Fatalf("exit %d, want %d:\n%s%s", code, ExitEnv, b.String(), e.String())
	}
	// The console says why in a line; stderr, the error channel, has it
	// all, with the service's last log lines.
	if n := strings.Count(b.String(), `service "api": not ready`); n != 1 || !strings.Contains(e.String(), `service "api": not ready`) ||
		!strings.Contains(e.String(), "api says no config") {
		t.Errorf("the reason is printed %d times on stdout, want once, and on stderr with the logs:\n%s\nstderr:\n%s", n, b.String(), e.String())
	}
	x, _ := os.ReadFile(junit)
	if !bytes.Contains(x, []byte(`type="environment"`)) || bytes.Count(x, []byte("api says no config")) < 2 {
		t.Errorf("JUnit lacks the error with the service's log lines (in the error and system-err):\n%s", x)
	}
}
