package main_test

import (
	"strings"
	"testing"
)

// testMigrate is the migration binary (testdata/migrate).
func testMigrate(t *testing.T) string { return built(t, "migrate") }

// TestBaselineIsTheDataAfterJobs: a migration binary makes 19 tables and
// seeds rows after init, another seeds Redis and NATS; a test registers a
// customer, writes, bumps a sequence, makes a table, and the next tests
// see exactly the data after the migration (registering the same name
// again works). Twice: the second run starts from the cache.
func TestBaselineIsTheDataAfterJobs(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	for run := 1; run <= 2; run++ {
		r := seamEnv(t, env, "run", "testdata/jobs-baseline", "--var", "svc="+testService(t), "--var", "migrate="+testMigrate(t))
		if r.code != 0 || !strings.Contains(r.stdout, "3 passed, 0 failed") {
			t.Fatalf("run %d: exit %d\n%s%s", run, r.code, r.stdout, r.stderr)
		}
		// The one thing seam cannot reset, the message the seeder left in
		// a stream, is said once.
		want := `seam: notice: service "bus": stream JOBS holds 1 message(s) once the environment has started`
		if strings.Count(r.stderr, "notice") != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("run %d: want one notice %q:\n%s", run, want, r.stderr)
		}
		assertClean(t, state)
	}
}
