package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/peertest"
)

// needPostgres fails in CI (which installs PostgreSQL) and skips elsewhere
// when the server is missing.
func needPostgres(t *testing.T) {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	_, err := exec.LookPath("postgres")
	peertest.Need(t, "PostgreSQL", "postgresql", len(m) > 0 || err == nil)
}

func TestPostgresBaselineAndReset(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/postgres")
	if r.code != 0 || !strings.Contains(r.stdout, "5 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
	// A second run takes the initialised data folder from the cache.
	r = seamEnv(t, env, "run", "testdata/postgres", "--parallel", "2")
	if r.code != 0 {
		t.Fatalf("second run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPostgresMissingBinary(t *testing.T) {
	env, state := isolated(t)
	dir := t.TempDir()
	suite := "name: nopg\nservices:\n  db:\n    postgres: {bin: /nonexistent/pg}\ntests:\n  - name: t\n    steps:\n      - sql: {service: db, query: select 1}\n"
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 3 || !strings.Contains(r.stderr, "seam.yaml:3:3: service \"db\": postgres not found in /nonexistent/pg (bin:)") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	_ = state
}

func TestPostgresKilledRunLeavesNothing(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/postgres/seam.yaml")
	suite := strings.Replace(string(data), "init: [migrations/]", "init: ["+filepath.Join(mustAbs(t, "testdata/postgres"), "migrations")+"]", 1)
	suite += "  - name: hangs\n    steps:\n      - exec: [sleep, \"600\"]\n        timeout: 15m\n"
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644)
	cmd := exec.Command(seamBin, "run", dir, "--filter", "hangs")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	var id string
	for time.Now().Before(deadline) && id == "" {
		for _, i := range runIDs(t, state) {
			// The test's step is running: PostgreSQL is up.
			for _, pid := range marked(i) {
				if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "sleep\x00600") {
					id = i
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the run never got PostgreSQL up and its test going")
	}
	pgs := postgresOf(t, state)
	if len(pgs) == 0 {
		t.Fatal("no PostgreSQL process recorded")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r := seamEnv(t, env, "down")
	if r.code != 0 {
		t.Fatalf("seam down: %d %s", r.code, r.stderr)
	}
	assertClean(t, state)
	for _, pid := range pgs {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z") {
			t.Errorf("postgres %d still runs", pid)
		}
	}
	if left := orphanShm(pgs); len(left) > 0 {
		t.Errorf("shared memory segments of the killed run's PostgreSQL left with nothing attached: %v", left)
	}
	recs, _ := filepath.Glob(filepath.Join(state, "runs", "*.json"))
	if len(recs) != 0 {
		t.Errorf("records left: %v", recs)
	}
}

// TestKilledWhileBuildingTheCacheLeavesNothing kills seam while initdb
// makes the cached data folder (a first run): the work folder on tmpfs
// and the processes are gone after the next `seam down`.
func TestKilledWhileBuildingTheCacheLeavesNothing(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	cmd := exec.Command(seamBin, "run", "testdata/postgres")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	scratch := scratchOf[state]
	deadline := time.Now().Add(60 * time.Second)
	var work []string
	for time.Now().Before(deadline) && len(work) == 0 {
		work, _ = filepath.Glob(filepath.Join(scratch, "seam-initdb-*"))
		time.Sleep(5 * time.Millisecond)
	}
	if len(work) == 0 {
		t.Fatal("the run never started building PostgreSQL's cached data folder")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if left, _ := filepath.Glob(filepath.Join(scratch, "seam-initdb-*")); len(left) == 0 {
		t.Fatal("the work folder went with seam: the test cannot show reaping")
	}
	r := seamEnv(t, env, "down")
	if r.code != 0 {
		t.Fatalf("seam down: %d %s", r.code, r.stderr)
	}
	if left, _ := os.ReadDir(scratch); len(left) > 0 {
		t.Errorf("left in the scratch folder: %v", left)
	}
	if recs, _ := filepath.Glob(filepath.Join(state, "runs", "*.json")); len(recs) > 0 {
		t.Errorf("run records left: %v", recs)
	}
	// initdb and its servers name the work folder in their arguments.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmd, _ := os.ReadFile(p); strings.Contains(string(cmd), scratch) {
			t.Errorf("still running: %s", strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// postgresOf lists the PIDs a run recorded.
func postgresOf(t *testing.T, state string) []int {
	recs, _ := filepath.Glob(filepath.Join(state, "runs", "*.json"))
	var out []int
	for _, r := range recs {
		data, _ := os.ReadFile(r)
		var rec struct {
			Procs []struct {
				PID int `json:"pid"`
			} `json:"procs"`
		}
		json.Unmarshal(data, &rec)
		for _, p := range rec.Procs {
			out = append(out, p.PID)
		}
	}
	return out
}

// orphanShm lists the System V shared memory segments that one of pids
// created and nothing is attached to. Only those: other test packages
// start and stop PostgreSQL servers at the same time.
func orphanShm(pids []int) []string {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return nil
	}
	ours := map[string]bool{}
	for _, p := range pids {
		ours[strconv.Itoa(p)] = true
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n")[1:] {
		// key shmid perms size cpid lpid nattch …
		f := strings.Fields(line)
		if len(f) > 6 && f[6] == "0" && ours[f[4]] {
			out = append(out, "shmid "+f[1])
		}
	}
	return out
}

// TestPostgresResetKeepsServicePoolsWorking: a service holding a pgx pool
// sees the baseline in every test, and its next request after a reset
// succeeds.
func TestPostgresResetKeepsServicePoolsWorking(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/postgres-pool", "--var", "svc="+testService(t))
	if r.code != 0 || !strings.Contains(r.stdout, "3 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}

// Tests with a fresh environment each start PostgreSQL again and again in
// one run: later starts take a data folder copied ahead, and no instance
// ever sees another's writes; nothing is left when the run ends.
func TestPostgresFreshEnvironmentsNeverShareData(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	for run := 0; run < 2; run++ { // the second run starts from the cache
		r := seamEnv(t, env, "run", "testdata/postgres-fresh")
		if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
			t.Fatalf("run %d: exit %d\n%s%s", run+1, r.code, r.stdout, r.stderr)
		}
		assertClean(t, state)
	}
}
