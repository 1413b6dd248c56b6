package main_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/peertest"
)

// needRedis fails in CI (which installs redis-server) and skips
// elsewhere when it is missing.
func needRedis(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("redis-server")
	peertest.Need(t, "redis-server", "redis-server", err == nil)
}

func TestRedisBaselineAndReset(t *testing.T) {
	needRedis(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/redis")
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "redis: ") {
		t.Errorf("the Redis client library's own log lines reached the user:\n%s", r.stderr)
	}
	assertClean(t, state)
}
