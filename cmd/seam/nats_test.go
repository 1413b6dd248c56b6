package main_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/peertest"
)

// needNATS fails in CI (which installs nats-server) and skips elsewhere
// when it is missing.
func needNATS(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("nats-server")
	peertest.Need(t, "nats-server", "nats-server", err == nil)
}

func TestNATSRecordsMessagesAndResetsStreams(t *testing.T) {
	needNATS(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/nats", "--var", "migrate="+testMigrate(t), "--exclude-tags", "late")
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}

// TestNATSLateSubjectSaysWhy: a receive whose service is a template is not
// known at load; its subject is recorded from the step on, and when the
// message came before, the failure says so.
func TestNATSLateSubjectSaysWhy(t *testing.T) {
	needNATS(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/nats", "--tags", "late")
	want := "0 message(s) on audit.eu.login within 300ms, want 1 (seam recorded audit.eu.login only from this step on, so a message before the step was not seen"
	if r.code != 1 || !strings.Contains(r.stdout, "0 passed, 1 failed") || !strings.Contains(r.stdout, want) {
		t.Fatalf("want one failure saying %q; exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}
