package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJobsMigrateThenServicesStart runs testdata/jobs: a migration binary
// (a job) creates tables and seeds rows, then a service configured only by
// the config file files: wrote uses them, and a built service gets the
// database's address through env:.
func TestJobsMigrateThenServicesStart(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	events := filepath.Join(t.TempDir(), "run.jsonl")
	r := seamEnv(t, env, "run", "testdata/jobs", "--report", "json="+events)
	if r.code != 0 || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Edges to a job order the start, and a job's own edges carry only
	// start-up traffic: neither are coverage edges (only traffic during
	// tests counts).
	if !strings.Contains(r.stdout, "2 of 2 edges exercised") {
		t.Errorf("coverage:\n%s", r.stdout)
	}
	assertClean(t, state)
	logs, _ := filepath.Glob(filepath.Join(state, "logs", "*", "env1", "migrate.log"))
	if len(logs) != 1 {
		t.Fatalf("migrate log: %v", logs)
	}
	log := mustRead(t, logs[0])
	for _, want := range []string{"seam | running", "stdout | seeded 2 notes by ada", "seam | done in "} {
		if !strings.Contains(log, want) {
			t.Errorf("the job's log lacks %q:\n%s", want, log)
		}
	}
	if ev := mustRead(t, events); !strings.Contains(ev, `"service":"migrate","stream":"seam","worker":1,"message":"done in `) {
		t.Errorf("no progress event for the job in the event log")
	}
	// Nothing was written into the suite's folder.
	if out, err := os.ReadDir("testdata/jobs"); err != nil || len(out) != 4 {
		t.Errorf("testdata/jobs holds %d entries, want its 4 (seam.yaml, notes.yaml.tmpl, migrate, notes)", len(out))
	}
}

// jobSuite writes a suite whose migrate job runs cmd, under timeout.
func jobSuite(t *testing.T, cmd, timeout string) string {
	dir := t.TempDir()
	suite := `name: job-fails
services:
  migrate:
    job:
      run: [sh, -c, '` + cmd + `']
      timeout: ` + timeout + `
  api:
    process: [sleep, "300"]
    depends_on: [migrate]
tests:
  - name: never runs
    steps:
      - exec: ["true"]
`
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFailingJobStopsTheRun(t *testing.T) {
	env, state := isolated(t)
	dir := jobSuite(t, `echo "applying 001_users.sql"; echo "ERROR: relation users already exists" >&2; sleep 300 & exit 2`, "1m")
	r := seamEnv(t, env, "run", dir)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:3:3: service "migrate": the job exited with code 2`,
		"| applying 001_users.sql",
		"| ERROR: relation users already exists",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, `"api"`) {
		t.Errorf("api depends on the failed job and must not have started:\n%s", r.stderr)
	}
	// The sleep the job left in its process group went with it, at once,
	// not at the end of the run.
	if strings.Contains(r.stderr, "outlived their service") {
		t.Errorf("the job's leftover was found only at the end of the run:\n%s", r.stderr)
	}
	assertClean(t, state)
}

func TestJobThatNeverEndsIsKilledAtItsTimeout(t *testing.T) {
	env, state := isolated(t)
	dir := jobSuite(t, `echo working; sleep 300`, "1s")
	start := time.Now()
	r := seamEnv(t, env, "run", dir)
	if r.code != 3 || !strings.Contains(r.stderr, `service "migrate": the job did not end within 1s`) ||
		!strings.Contains(r.stderr, "| working") {
		t.Fatalf("exit %d, want 3 and the timeout\n%s%s", r.code, r.stdout, r.stderr)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %s", took)
	}
	assertClean(t, state)
}

// TestValidateFindsRunTimeNamesInBuildsAndFiles checks that seam validate
// reports a build: that uses a name known only when services start, and a
// files: template with an unknown name, each at its position.
func TestValidateFindsRunTimeNamesInBuildsAndFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "api.tmpl"), []byte("listen: ((addr))\ndb: ((servce(\"db\").url))\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: v
services:
  db: {postgres: {}}
  api:
    process:
      build: go build -o ((bin)) -ldflags "-X main.db=((service("db").url))" ./api
      run: [((bin)), -config, '((files["api.yaml"]))']
      env: {DB: ((service("db").url))}
      files: {api.yaml: {template: api.tmpl}}
tests:
  - name: t
    steps:
      - http: {service: api, path: /}
`), 0o644)
	r := seam(t, "validate", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:6:57: "service" is not known here`,
		"hint: service is known only when the service starts: use it in run:, env: or files:",
		`api.tmpl:2:7: undefined variable "servce"`,
		`hint: did you mean "service"?`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "seam.yaml:8:") {
		t.Errorf("env: may use service():\n%s", r.stderr)
	}
}
