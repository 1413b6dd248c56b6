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
	r := seamEnv(t, env, "run", "testdata/nats")
	if r.code != 0 || !strings.Contains(r.stdout, "3 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}
