package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRunKeepsItsEventLog runs testdata/cause (two services, a
// database and a cache; one test fails of an SQL error two hops away)
// without asking for any report: the run keeps its event log, says where
// on its last line, and seam report --html last and seam coverage last
// render it. A truncated copy of the log is an error naming its line.
func TestEveryRunKeepsItsEventLog(t *testing.T) {
	needPostgres(t)
	needRedis(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/cause")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "event log: "+filepath.Join(state, "logs")) || !strings.HasSuffix(last, "events.jsonl (seam report --html report.html last)") {
		t.Errorf("last line = %q; want where the event log is kept", last)
	}
	if !strings.Contains(r.stdout, "failed:\n  1 test failed at users→db SQL ") || !strings.Contains(r.stdout, "testdata/cause/seam.yaml:") {
		t.Errorf("no list of failed tests with their cause and position:\n%s", r.stdout)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	rep := seamEnv(t, env, "report", "--html", page, "last")
	if rep.code != 1 || !strings.Contains(rep.stdout, "report: "+page) {
		t.Fatalf("seam report --html last: exit %d\n%s%s", rep.code, rep.stdout, rep.stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "1 test failed at <code>users→db SQL ") || !strings.Contains(string(b), `id="data"`) {
		t.Errorf("the page does not group the failure by its SQL cause")
	}
	// What each interaction carried is in the page for a click: the SQL
	// statement whole with its (masked) parameters and its error, the
	// HTTP call with its headers and bodies.
	for _, want := range []string{
		`"request":"insert into users (email, hash) values ($1, $2) returning id\nparameters: [\"`,
		`\"***\"]","response":"ERROR 23505: duplicate key value`,
		`"request":"POST /users\nHost: 127.0.0.1:`,
		`"response":"500 Internal Server Error\nContent-Type: text/plain`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page's data lacks %s", want)
		}
	}
	cov := seamEnv(t, env, "coverage", "last")
	if cov.code != 0 || !strings.Contains(cov.stdout, "web→users    POST /users ×4") {
		t.Errorf("seam coverage last: exit %d\n%s%s", cov.code, cov.stdout, cov.stderr)
	}
	kept := strings.TrimSuffix(strings.TrimPrefix(last, "event log: "), " (seam report --html report.html last)")
	full, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	// Torn in the middle of a line before the run_end (a torn line after
	// it, the coverage, loses no result).
	torn := full[:len(full)/2]
	if torn[len(torn)-1] == '\n' {
		torn = torn[:len(torn)-1]
	}
	cut := filepath.Join(t.TempDir(), "cut.jsonl")
	if err := os.WriteFile(cut, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(torn), "\n") + 1
	// A truncated log (a run killed as it wrote) is rendered as far as
	// it is whole, and said to be cut off; seam coverage wants it whole.
	bad := seamEnv(t, env, "report", "--html", page, cut)
	if bad.code != 1 || !strings.Contains(bad.stdout, "cut off: "+cut+" ends in the middle of an event at line "+strconv.Itoa(n)) {
		t.Errorf("a truncated log: exit %d\n%s%s", bad.code, bad.stdout, bad.stderr)
	}
	if bad := seamEnv(t, env, "coverage", cut); bad.code != 2 || !strings.Contains(bad.stderr, cut+":line "+strconv.Itoa(n)+": the log ends in the middle of an event") {
		t.Errorf("coverage of a truncated log: exit %d\n%s", bad.code, bad.stderr)
	}
	foreign := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(foreign, []byte(`{"level":"info","msg":"started"}`+"\n"), 0o644)
	if bad := seamEnv(t, env, "coverage", foreign); bad.code != 2 || !strings.Contains(bad.stderr, foreign+":line 1: not a seam event") {
		t.Errorf("a foreign log: exit %d\n%s", bad.code, bad.stderr)
	}
}

// TestHelpAndListJSON: --help on every command is no error, and seam list
// --json lists the tests.
func TestHelpAndListJSON(t *testing.T) {
	for _, c := range []string{"run", "validate", "list", "up", "down", "reset", "report", "coverage", "stub", "version", "help"} {
		if r := seam(t, c, "--help"); r.code != 0 || r.stdout == "" {
			t.Errorf("seam %s --help: exit %d, stdout %q", c, r.code, r.stdout)
		}
	}
	r := seam(t, "list", "--json", "testdata/cause")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "[\n  {\n    \"name\": ") || !strings.Contains(r.stdout, `"pos": "testdata/cause/`) {
		t.Errorf("seam list --json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
