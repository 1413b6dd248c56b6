package postgres

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/service"
)

// needPostgres fails in CI (which installs PostgreSQL) and skips elsewhere
// when the server is missing.
func needPostgres(t *testing.T) {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	_, err := exec.LookPath("postgres")
	peertest.Need(t, "PostgreSQL", "postgresql", len(m) > 0 || err == nil)
}

// started is one postgres service started as an environment starts it:
// prepared (init applied, cached), started, initialised, a job's SQL run
// as the suite's role, the baseline taken.
type started struct {
	inst *instance
	conn *pgx.Conn // the suite's role's

	mu   sync.Mutex
	said []string // the notices
}

func (s *started) notices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.said...)
}

func startPostgres(t *testing.T, init, job string) *started {
	t.Helper()
	return startPostgresAs(t, false, init, job)
}

// startPostgresAs is startPostgres with the suite's role a superuser or
// not, as postgres.superuser says.
func startPostgresAs(t *testing.T, superuser bool, init, job string) *started {
	t.Helper()
	return startSpec(t, &Spec{Superuser: superuser}, init, job)
}

// startSpec is startPostgres with spec's superuser and settings.
func startSpec(t *testing.T, spec *Spec, init, job string) *started {
	t.Helper()
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "init.sql"), []byte(init), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Database, spec.User, spec.Reset, spec.Init = "app", "seam", "per-test", []string{"init.sql"}
	if err := spec.Prepare(ctx, &service.PrepareEnv{Name: "db", Dir: dir, CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spec.Close() })
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]any{"name": "db", "addr": "127.0.0.1:" + strconv.Itoa(port), "port": port}
	spec.Describe(info)
	ready := make(chan struct{})
	var once sync.Once
	var logMu sync.Mutex
	var logged []string
	si, err := spec.Start(ctx, &service.StartEnv{Name: "db", Dir: dir, Info: info, Log: func(_, line string) {
		logMu.Lock()
		logged = append(logged, line)
		logMu.Unlock()
		if strings.Contains(line, "ready to accept connections") {
			once.Do(func() { close(ready) })
		}
	}})
	release()
	if err != nil {
		t.Fatal(err)
	}
	inst := si.(*instance)
	t.Cleanup(func() { inst.Stop(context.Background()) })
	select {
	case <-ready:
	case <-inst.Done():
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("postgres exited: %v\n%s", inst.ExitErr(), strings.Join(logged, "\n"))
	case <-ctx.Done():
		t.Fatal("postgres did not become ready")
	}
	if err := inst.Init(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := connect(ctx, "seam", info["password"].(string), port, "app")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.PgConn().Exec(ctx, job).ReadAll(); err != nil {
		t.Fatalf("the job's SQL: %v", err)
	}
	s := &started{inst: inst, conn: conn}
	if err := inst.Baseline(ctx, func(text string) {
		s.mu.Lock()
		s.said = append(s.said, text)
		s.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *started) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := s.conn.PgConn().Exec(context.Background(), sql).ReadAll(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (s *started) reset(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := s.inst.Reset(context.Background()); err != nil {
		t.Fatalf("reset: %v", err)
	}
	t.Logf("reset: %v", time.Since(start))
}

func (s *started) query(t *testing.T, sql string) string {
	t.Helper()
	var got string
	if err := s.conn.QueryRow(context.Background(), sql).Scan(&got); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}

// resetInit is what init: makes: a table with a trigger, its function and
// an index, a partitioned table, an enum type.
const resetInit = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 1, stamp text);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.stamp := 'init'; RETURN NEW; END $$;
CREATE TRIGGER items_stamp BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE INDEX items_name ON items (name);
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO items (name) VALUES ('a'), ('b');
`

// resetJob is what a migration job makes after init, before the baseline
// is taken: a trigger and its function, an index, a routine and a
// procedure, all of the baseline.
const resetJob = `
CREATE TABLE logs (item int, what text);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO logs VALUES (NEW.id, 'job'); RETURN NULL; END $$;
CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION audit();
CREATE INDEX items_qty_name ON items (qty, name);
CREATE FUNCTION double(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE PROCEDURE noop() LANGUAGE sql AS 'SELECT 1';
`

// baselineObjects lists the baseline's objects that tests may touch.
const baselineObjects = `SELECT concat_ws(' | ',
	(SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal AND tgname <> 'seam_dirty'),
	(SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_index JOIN pg_class ON oid = indexrelid
	 WHERE indrelid IN ('items'::regclass, 'events'::regclass, 'events_2026'::regclass)),
	(SELECT string_agg(oid::regprocedure::text, ',' ORDER BY oid::regprocedure::text) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
	(SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'),
	(SELECT coalesce(string_agg(polname, ','), '-') FROM pg_policy),
	(SELECT coalesce(string_agg(rulename, ','), '-') FROM pg_rewrite WHERE ev_class = 'items'::regclass),
	(SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')))`

const wantBaselineObjects = "items_audit,items_stamp | items_name,items_pkey,items_qty_name | audit(),double(integer),noop(),stamp() | mood | - | - | events,events_2026,items,logs"

// A test that makes a trigger (and its function), indexes, a type, a
// policy and a rule on the baseline's tables leaves none of them for the
// next test; the baseline's own, made by init and by a job, stay and
// still act.
func TestResetDropsTriggersIndexesRoutinesTypesATestMade(t *testing.T) {
	pg := startPostgres(t, resetInit, resetJob)
	if got := pg.query(t, baselineObjects); got != wantBaselineObjects {
		t.Fatalf("before any test:\n got %s\nwant %s", got, wantBaselineObjects)
	}
	for round := 0; round < 2; round++ {
		pg.exec(t, `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.qty := 999; RETURN NEW; END $$`)
		pg.exec(t, `CREATE TRIGGER leak_tr BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION f()`)
		pg.exec(t, `CREATE INDEX items_q ON items (qty)`)
		pg.exec(t, `CREATE INDEX items_dq ON items (double(qty))`)
		pg.exec(t, `CREATE UNIQUE INDEX events_id ON events (id, at)`)
		pg.exec(t, `CREATE FUNCTION ev() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`)
		pg.exec(t, `CREATE TRIGGER events_tr BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION ev()`)
		pg.exec(t, `CREATE TYPE color AS ENUM ('red')`)
		pg.exec(t, `CREATE TABLE paint (c color)`)
		pg.exec(t, `CREATE FUNCTION shade(color) RETURNS int LANGUAGE sql AS 'SELECT 1'`)
		pg.exec(t, `CREATE PROCEDURE p2() LANGUAGE sql AS 'SELECT 1'`)
		pg.exec(t, `CREATE AGGREGATE total(int) (SFUNC = int4pl, STYPE = int)`)
		pg.exec(t, `CREATE TYPE pair AS (a int, b mood)`)
		pg.exec(t, `CREATE DOMAIN positive AS int CHECK (VALUE > 0)`)
		pg.exec(t, `CREATE TYPE span AS RANGE (subtype = int)`)
		pg.exec(t, `CREATE POLICY mine ON items USING (true)`)
		pg.exec(t, `CREATE RULE keep AS ON DELETE TO items DO INSTEAD NOTHING`)
		pg.exec(t, `INSERT INTO items (name) VALUES ('in the test')`)
		pg.reset(t)
		if got := pg.query(t, baselineObjects); got != wantBaselineObjects {
			t.Fatalf("round %d after reset:\n got %s\nwant %s", round, got, wantBaselineObjects)
		}
		if got := pg.query(t, `SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype <> 'c' AND typname NOT LIKE '\_%'`); got != "mood" {
			t.Fatalf("round %d: types after reset: %s; want mood", round, got)
		}
		// The next test's inserts are changed by the baseline's triggers
		// alone, and its deletes delete.
		got := pg.query(t, `WITH i AS (INSERT INTO items (name) VALUES ('next') RETURNING id, qty, stamp)
			SELECT id || ':' || qty || ':' || stamp FROM i`)
		if got != "3:1:init" {
			t.Fatalf("round %d: an insert after reset gave %s; want 3:1:init (the baseline's trigger, not the test's)", round, got)
		}
		if got := pg.query(t, `SELECT string_agg(item || ':' || what, ',') FROM logs`); got != "3:job" {
			t.Fatalf("round %d: the job's trigger logged %s; want 3:job", round, got)
		}
		if got := pg.query(t, `WITH d AS (DELETE FROM items WHERE name = 'next' RETURNING 1) SELECT count(*)::text FROM d`); got != "1" {
			t.Fatalf("round %d: a delete after reset deleted %s rows; want 1 (the test's rule is gone)", round, got)
		}
		pg.reset(t)
	}
	if said := pg.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// What a test does to the baseline's own triggers, indexes, routines and
// types cannot be undone: seam says so, once each, as it says of an
// altered table; what a test made that the baseline now uses is kept and
// said.
func TestResetSaysWhatATestDidToTheBaselineOnce(t *testing.T) {
	pg := startPostgres(t, resetInit, resetJob)
	for round := 0; round < 2; round++ {
		if round == 0 {
			pg.exec(t, `DROP TRIGGER items_audit ON items`)
			pg.exec(t, `DROP INDEX items_name`)
			pg.exec(t, `ALTER TYPE mood ADD VALUE 'glad'`)
			pg.exec(t, `ALTER TABLE items ADD CONSTRAINT small CHECK (qty < 100)`)
			pg.exec(t, `CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'`)
			pg.exec(t, `ALTER TABLE items ALTER COLUMN qty SET DEFAULT one()`)
		}
		pg.exec(t, `CREATE OR REPLACE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.stamp := 'test'; RETURN NEW; END $$`)
		pg.exec(t, `CREATE INDEX items_q ON items (qty)`)
		pg.reset(t)
		if got := pg.query(t, `SELECT count(*)::text FROM pg_class WHERE relname = 'items_q'`); got != "0" {
			t.Fatalf("round %d: items_q after reset: %s; want none", round, got)
		}
		if got := pg.query(t, `SELECT count(*)::text FROM items`); got != "2" {
			t.Fatalf("round %d: %s rows in items after reset; want 2", round, got)
		}
	}
	said := strings.Join(pg.notices(), "\n")
	for _, want := range []string{
		"trigger items_audit on items of the baseline was dropped by a test: seam cannot bring it back, and the tests after it run without it",
		"index items_name on items of the baseline was dropped by a test: seam cannot bring it back",
		"function stamp() of the baseline was changed by a test: seam cannot undo the change, and the tests after it run with it",
		"type mood of the baseline was changed by a test",
		"items of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone",
		"function one(), made by a test, is used by the baseline (a column's type or default, a trigger?): it was kept, not dropped",
	} {
		if n := strings.Count(said, want); n != 1 {
			t.Errorf("%d times in the notices, want once: %q\n%s", n, want, said)
		}
	}
	if n := len(pg.notices()); n != 6 {
		t.Errorf("%d notices, want 6:\n%s", n, said)
	}
}
