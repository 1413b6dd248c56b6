package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSuspicionNamesTheSQLCause runs testdata/cause: two services, where
// users answers a duplicate signup's SQL unique violation (two hops from
// the step's target) with a 500, and resets a Redis connection of its own
// in every request. The failure names the SQL interaction first, the 500
// as passed on, the reset as noise; an http fault answers web's urllib-
// style split request in users' place; coverage lists that answer as
// injected; the bcrypt hash and the suite's mask: pattern never reach
// the report.
func TestSuspicionNamesTheSQLCause(t *testing.T) {
	needPostgres(t)
	needRedis(t)
	env, state := isolated(t)
	log := filepath.Join(t.TempDir(), "run.jsonl")
	r := seamEnv(t, env, "run", "testdata/cause", "--report", "json="+log)
	if r.code != 1 || !strings.Contains(r.stdout, "3 passed, 1 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, failure, _ := strings.Cut(r.stdout, "FAIL a second signup")
	first, rest, _ := strings.Cut(failure, "      2. ")
	second, third, _ := strings.Cut(rest, "      3. ")
	if !strings.Contains(first, "suspicious interactions, likeliest cause first:\n      1. users→db | SQL insert into users") ||
		!strings.Contains(first, "ERROR 23505: duplicate key value") || !strings.Contains(first, "why: an SQL error; 2 hop(s) from web") {
		t.Errorf("the SQL unique violation is not named first:\n%s", r.stdout)
	}
	if !strings.HasPrefix(second, "web→users | POST /users → 500") || !strings.Contains(second, "passed on from users→db") {
		t.Errorf("second suspect:\n%s", second)
	}
	if !strings.HasPrefix(third, "users→cache | connection → reset") || !strings.Contains(third, "also in 2 passing test(s), so likely noise") {
		t.Errorf("third suspect:\n%s", third)
	}
	if !strings.Contains(r.stdout, "integration coverage: 3 of 3 edges exercised (100%)") {
		t.Errorf("coverage:\n%s", r.stdout)
	}
	cov := seamEnv(t, env, "coverage", log)
	if !strings.Contains(cov.stdout, "web→users    POST /users ×4; injected by faults (not exercised): POST /users ×1") {
		t.Errorf("seam coverage:\n%s%s", cov.stdout, cov.stderr)
	}
	saved, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"R9h/cIPz0gi", "user-secret-42"} {
		if strings.Contains(string(saved), secret) || strings.Contains(r.stdout, secret) {
			t.Errorf("%q reached the report", secret)
		}
	}
	if !strings.Contains(r.stdout, `["ken@example.com", "***"]`) {
		t.Errorf("the hash parameter is not shown masked:\n%s", r.stdout)
	}
	assertClean(t, state)
}
