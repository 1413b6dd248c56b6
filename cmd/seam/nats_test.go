package main_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func needNATS(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nats-server is missing; the test command installs it (Debian package nats-server)")
	}
	t.Skip("nats-server not installed (apt-get install nats-server); CI installs it")
}

func TestNATSRecordsMessagesAndResetsStreams(t *testing.T) {
	needNATS(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/nats")
	if r.code != 0 || !strings.Contains(r.stdout, "3 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}
