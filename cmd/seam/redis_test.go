package main_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("redis-server is missing; the test command installs it (Debian package redis-server)")
	}
	t.Skip("redis-server not installed (apt-get install redis-server); CI installs it")
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
