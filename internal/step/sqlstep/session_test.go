package sqlstep_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/cli"
	"github.com/seamtest/seam/internal/peertest"
)

// needServers fails in CI (which installs them) and skips elsewhere when
// PostgreSQL or MariaDB is missing.
func needServers(t *testing.T) {
	t.Helper()
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	_, err := exec.LookPath("postgres")
	peertest.Need(t, "PostgreSQL", "postgresql", len(pg) > 0 || err == nil)
	_, err1 := os.Stat("/usr/sbin/mariadbd")
	_, err2 := exec.LookPath("mariadbd")
	peertest.Need(t, "MariaDB", "mariadb-server", err1 == nil || err2 == nil)
}

// ended is a test's end as the run's event log has it.
type ended struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// runSuite runs a suite with seam run and returns each test's end, by
// name, and what seam printed.
func runSuite(t *testing.T, files map[string]string) (map[string]ended, string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	events := filepath.Join(t.TempDir(), "events.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cli.Run(ctx, []string{"run", "--report", "json=" + events, dir}, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	f, err := os.Open(events)
	if err != nil {
		t.Fatalf("no event log: %v\n%s", err, out.String())
	}
	defer f.Close()
	got := map[string]ended{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e struct {
			Type string `json:"type"`
			Test string `json:"test"`
			ended
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err == nil && e.Type == "test_end" {
			got[e.Test] = e.ended
		}
	}
	return got, out.String()
}

// Each test's sql steps start from a clean session: what a test set in
// its own (LISTEN, SET, a temporary table, a user variable) is gone for
// the next, while its steps share it (a transaction goes on from one step
// to the next).
const sessionSuite = `name: sessions
services:
  pg:
    postgres: {database: app, init: [pg.sql]}
  my:
    mariadb: {database: shop, init: [my.sql]}
tests:
  - name: a test changes its session
    steps:
      - sql: {service: pg, query: "LISTEN stepchan"}
      - sql: {service: pg, query: "set search_path to pg_catalog"}
      - sql: {service: pg, query: "create temp table tmpleak (id int)"}
      - sql: {service: pg, query: "select pg_advisory_lock(7)"}
      - sql: {service: pg, query: "begin"}
      - sql: {service: pg, query: "insert into public.items values (2)"}
      - sql: {service: pg, query: "select count(*) as n from public.items"}
        expect: {rows: [{n: 2}]}
      - sql: {service: pg, query: "commit"}
      - sql: {service: pg, query: "set statement_timeout = 1"}
      - sql: {service: my, query: "set @leak = 42"}
      - sql: {service: my, query: "create temporary table tmpleak (id int)"}
      - sql: {service: my, query: "begin"}
      - sql: {service: my, query: "insert into products (sku) values ('X2')"}
      - sql: {service: my, query: "select count(*) as n from products"}
        expect: {rows: [{n: 2}]}
      - sql: {service: my, query: "commit"}
  - name: the next test has a clean session
    steps:
      - sql: {service: pg, query: "select pg_listening_channels() as c"}
        expect: {row_count: 0}
      - sql: {service: pg, query: "select current_setting('search_path') as p, current_setting('statement_timeout') as t"}
        expect: {rows: [{p: '"$user", public', t: "0"}]}
      - sql: {service: pg, query: "select count(*) as n from pg_class where relname = 'tmpleak'"}
        expect: {rows: [{n: 0}]}
      - sql: {service: pg, query: "select count(*) as n from pg_locks where locktype = 'advisory'"}
        expect: {rows: [{n: 0}]}
      - sql: {service: pg, query: "select count(*) as n from items"}
        expect: {rows: [{n: 1}]}
      - sql: {service: my, query: "select @leak as v"}
        expect: {rows: [{v: null}]}
      - sql: {service: my, query: "create temporary table tmpleak (id int)"}
      - sql: {service: my, query: "select count(*) as n from products"}
        expect: {rows: [{n: 1}]}
  - name: a step opens a mariadb transaction and forgets it
    steps:
      - sql: {service: my, query: "begin"}
      - sql: {service: my, query: "insert into products (sku) values ('X1')"}
  - name: the next test after mariadb sees the baseline
    timeout: 5s
    steps:
      - sql: {service: my, query: "select count(*) as n from products"}
        expect: {rows: [{n: 1}]}
      - sql: {service: my, query: "insert into products (sku) values ('X1')"}
  - name: a step opens a postgres transaction and forgets it
    steps:
      - sql: {service: pg, query: "begin"}
      - sql: {service: pg, query: "insert into items values (3)"}
  - name: the next test after postgres sees the baseline
    timeout: 5s
    steps:
      - sql: {service: pg, query: "select count(*) as n from items"}
        expect: {rows: [{n: 1}]}
      - sql: {service: pg, query: "insert into items values (3)"}
`

func TestEachTestHasACleanSession(t *testing.T) {
	needServers(t)
	got, out := runSuite(t, map[string]string{
		"seam.yaml": sessionSuite,
		"pg.sql":    "create table items (id int primary key); insert into items values (1);",
		"my.sql":    "create table products (id int auto_increment primary key, sku varchar(10) unique); insert into products (sku) values ('A1');",
	})
	for _, name := range []string{"a test changes its session", "the next test has a clean session",
		"the next test after mariadb sees the baseline", "the next test after postgres sees the baseline"} {
		if e, ok := got[name]; !ok || e.Status != "passed" {
			t.Errorf("%q: %+v; want passed", name, e)
		}
	}
	for _, name := range []string{"a step opens a mariadb transaction and forgets it", "a step opens a postgres transaction and forgets it"} {
		e := got[name]
		if e.Status != "failed" || !strings.Contains(e.Message, "the test's sql steps left a transaction open") {
			t.Errorf("%q: %+v; want failed, saying the test's steps left a transaction open", name, e)
		}
	}
	for _, noise := range []string{"[mysql]", "by the system"} {
		if strings.Contains(out, noise) {
			t.Errorf("seam's output has %q:\n%s", noise, out)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
