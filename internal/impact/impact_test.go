package impact

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/suite"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@localhost"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

const suiteYAML = `name: shop
services:
  payments:
    stub: {mappings: stubs/payments/}
  orders:
    process:
      dir: orders
      run: [sh, main.sh]
    depends_on: [payments]
  mail:
    process:
      dir: mail
      run: [sh, main.sh]
include: [tests/*.yaml]
`

const testsYAML = `tests:
  - name: pays
    steps: [{exec: ["true"]}]
  - name: mails
    steps: [{exec: ["true"]}]
  - name: guards
    priority: critical
    steps: [{exec: ["true"]}]
  - name: brand new
    steps: [{exec: ["true"]}]
`

func fixture(t *testing.T) (string, *suite.Suite, [][]report.Event) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "seam.yaml"), suiteYAML)
	write(t, filepath.Join(dir, "tests", "flows.yaml"), testsYAML)
	write(t, filepath.Join(dir, "orders", "main.sh"), "echo orders\n")
	write(t, filepath.Join(dir, "mail", "main.sh"), "echo mail\n")
	write(t, filepath.Join(dir, "stubs", "payments", "charge.json"), `{"request": {"method": "POST", "url": "/charges"}, "response": {"status": 201}}`)
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one")
	reg := builtin.New()
	t.Cleanup(reg.Close)
	s, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	run := []report.Event{{Time: now, Type: report.RunStart, Suite: "shop"}}
	for _, e := range []report.Event{
		{Type: report.Log, Stream: report.WireStream, Test: "pays", Service: "orders→payments", Message: "POST /charges → 201 Created"},
		{Type: report.Log, Stream: "stdout", Test: "mails", Service: "mail", Message: "sent"},
	} {
		run = append(run, e)
	}
	for _, n := range []string{"pays", "mails", "guards"} {
		run = append(run, report.Event{Type: report.TestEnd, Test: n, Status: report.Passed})
	}
	return dir, s, [][]report.Event{run}
}

func selected(t *testing.T, s *suite.Suite, dir string, runs [][]report.Event) map[string]string {
	t.Helper()
	changed, err := Changed(context.Background(), dir, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Select(context.Background(), Input{Suite: s, Tests: s.Tests, Changed: changed, Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range res.Selected {
		out[c.Test.Name] = c.Why
	}
	return out
}

func TestSelectFollowsRecordedInteractionsToChangedServices(t *testing.T) {
	dir, s, runs := fixture(t)
	// A stub mapping changes: pays touched payments (orders→payments).
	write(t, filepath.Join(dir, "stubs", "payments", "charge.json"), `{"request": {"method": "POST", "url": "/charges"}, "response": {"status": 402}}`)
	got := selected(t, s, dir, runs)
	if !strings.Contains(got["pays"], "touched payments, whose stubs/payments/charge.json changed") {
		t.Errorf("pays: %q", got["pays"])
	}
	if _, ok := got["mails"]; ok {
		t.Errorf("mails selected (%q), though it never touched payments", got["mails"])
	}
	if got["guards"] != "critical" || got["brand new"] != "never recorded in an earlier run" {
		t.Errorf("critical and unrecorded tests: %v", got)
	}
	// A new, untracked file in mail's dir: mails, from its log lines.
	git(t, dir, "checkout", "-q", ".")
	write(t, filepath.Join(dir, "mail", "templates.txt"), "hi\n")
	got = selected(t, s, dir, runs)
	if _, ok := got["pays"]; ok || !strings.Contains(got["mails"], "touched mail") {
		t.Errorf("after a change to mail: %v", got)
	}
	// A file of no service's under the suite's folder: every test.
	write(t, filepath.Join(dir, "shared.env"), "X=1\n")
	if got = selected(t, s, dir, runs); len(got) != 4 || !strings.Contains(got["pays"], "shared.env changed, which is no service's file") {
		t.Errorf("after an unplaced change: %v", got)
	}
}

func TestChangedRefusesAnUnknownRevision(t *testing.T) {
	dir, _, _ := fixture(t)
	_, err := Changed(context.Background(), dir, "no-such-branch")
	var re *RefError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "no such revision") {
		t.Errorf("err = %v; want a RefError naming the revision", err)
	}
	if _, err := Changed(context.Background(), t.TempDir(), "HEAD"); !errors.As(err, &re) || !strings.Contains(err.Error(), "not in a git repository") {
		t.Errorf("outside a repository: %v", err)
	}
}
