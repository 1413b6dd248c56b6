package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/service"
)

// saidOnce fails t unless each of want is in exactly one of pg's notices,
// and there are n notices in all.
func saidOnce(t *testing.T, pg *started, n int, want ...string) {
	t.Helper()
	said := pg.notices()
	all := strings.Join(said, "\n")
	for _, w := range want {
		k := 0
		for _, line := range said {
			if strings.Contains(line, w) {
				k++
			}
		}
		if k != 1 {
			t.Errorf("%d notices say %q, want 1:\n%s", k, w, all)
		}
	}
	if len(said) != n {
		t.Errorf("%d notices, want %d:\n%s", len(said), n, all)
	}
}

// stampInit is a table whose inserts a trigger of the baseline stamps.
const stampInit = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, stamp text);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.stamp := 'init'; RETURN NEW; END $$;
CREATE TRIGGER items_stamp BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION stamp();
INSERT INTO items (name) VALUES ('a'), ('b');
`

// ALTER TABLE … DISABLE TRIGGER USER (or ALL) turns seam's own trigger off
// too: the writes made while it is off are restored all the same, whether
// the test turned it on again or not, and the next test's writes are
// noted again; the baseline's own trigger is on again. Writes made with
// session_replication_role = replica (which turns the system's triggers
// off) are restored, and said.
func TestResetRestoresWritesMadeWithSeamsTriggerOff(t *testing.T) {
	pg := startPostgresAs(t, true, stampInit, "")
	const rows = `SELECT string_agg(name || ':' || coalesce(stamp, '-'), ',' ORDER BY id) FROM items`
	const want = "a:init,b:init"
	check := func(what string) {
		t.Helper()
		if got := pg.query(t, rows); got != want {
			t.Fatalf("%s: after reset items are %s; want %s", what, got, want)
		}
	}
	pg.exec(t, `ALTER TABLE items DISABLE TRIGGER USER`)
	pg.exec(t, `INSERT INTO items (name) VALUES ('ghost')`)
	pg.exec(t, `ALTER TABLE items ENABLE TRIGGER USER`)
	pg.reset(t)
	check("triggers off, then on again")

	pg.exec(t, `ALTER TABLE items DISABLE TRIGGER ALL`)
	pg.exec(t, `INSERT INTO items (name) VALUES ('ghost')`)
	pg.reset(t)
	check("triggers left off")
	// The next test's write is stamped (the baseline's trigger is on) and
	// noted (seam's is).
	if got := pg.query(t, `WITH i AS (INSERT INTO items (name) VALUES ('next') RETURNING stamp) SELECT stamp FROM i`); got != "init" {
		t.Fatalf("an insert after reset was stamped %q; want init (the baseline's trigger on again)", got)
	}
	pg.reset(t)
	check("a write after the triggers were turned on again")

	pg.exec(t, `ALTER TABLE items DISABLE TRIGGER seam_dirty`)
	pg.exec(t, `DELETE FROM items`)
	pg.reset(t)
	check("seam's trigger turned off by name")

	for round := 0; round < 2; round++ {
		pg.exec(t, `SET session_replication_role = replica`)
		pg.exec(t, `INSERT INTO items (name) VALUES ('replica')`)
		pg.exec(t, `RESET session_replication_role`)
		pg.reset(t)
		check("a write with session_replication_role = replica")
	}
	// Set for the role, seam sets it back as it does the role's other
	// settings: a session of the system opened after the reset has none.
	pg.exec(t, `ALTER ROLE seam SET session_replication_role = replica`)
	if got := pg.query(t, `SELECT count(*)::text FROM pg_db_role_setting WHERE setrole = 'seam'::regrole`); got != "1" {
		t.Fatalf("ALTER ROLE … SET made %s settings; want 1", got)
	}
	pg.reset(t)
	if got := pg.query(t, `SELECT count(*)::text FROM pg_db_role_setting WHERE setrole = 'seam'::regrole`); got != "0" {
		t.Fatalf("after reset the role has %s settings; want none", got)
	}
	saidOnce(t, pg, 1, "a session wrote with session_replication_role = replica")
}

// partInit is a table partitioned by range, with a partition that has an
// index of its own and a default partition.
const partInit = `
CREATE TABLE events (id int, at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_2024_what ON events_2024 (what);
CREATE TABLE events_rest PARTITION OF events DEFAULT;
INSERT INTO events VALUES (1, '2024-03-01', 'a'), (2, '2024-04-01', 'b'), (3, '2030-01-01', 'c');
`

// A partition of the baseline that a test detached (or attached again
// with another bound) is attached again, and one it dropped is made again,
// with their rows in them; what a dropped one had of its own is said.
func TestResetAttachesAndMakesAgainThePartitionsATestDetachedOrDropped(t *testing.T) {
	pg := startPostgres(t, partInit, "")
	const rows = `SELECT string_agg(tableoid::regclass || ':' || id, ',' ORDER BY id) FROM events`
	const want = "events_2024:1,events_2024:2,events_rest:3"
	const bound = `SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'events_2024' AND relispartition`
	wantBound := pg.query(t, bound)
	check := func(what string) {
		t.Helper()
		if got := pg.query(t, rows); got != want {
			t.Fatalf("%s: after reset events are %s; want %s", what, got, want)
		}
		if got := pg.query(t, bound); got != wantBound {
			t.Fatalf("%s: after reset events_2024 is %s; want %s", what, got, wantBound)
		}
	}
	pg.exec(t, `ALTER TABLE events DETACH PARTITION events_2024`)
	pg.reset(t)
	check("detached")
	pg.exec(t, `ALTER TABLE events DETACH PARTITION events_2024`)
	pg.exec(t, `ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2024-06-01')`)
	pg.reset(t)
	check("attached with another bound")
	pg.exec(t, `ALTER TABLE events DETACH PARTITION events_2024`)
	pg.exec(t, `DROP TABLE events_2024`)
	pg.reset(t)
	check("detached and dropped")
	// The partition made again is tracked: a write to it alone is restored.
	pg.exec(t, `INSERT INTO events_2024 VALUES (9, '2024-09-01', 'z')`)
	pg.reset(t)
	check("written to after it was made again")
	pg.exec(t, `DROP TABLE events_2024`)
	pg.reset(t)
	check("dropped")
	if got := pg.query(t, `SELECT count(*)::text FROM pg_class WHERE relname = 'events_2024'`); got != "1" {
		t.Fatalf("%s tables events_2024 after reset; want 1", got)
	}
	saidOnce(t, pg, 1, "partition events_2024 of events in the baseline was dropped by a test: seam made it again "+
		"(FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')) with its rows, but not its own index events_2024_what on events_2024")
}

// mviewInit has a fresh materialized view (with a unique index, for
// REFRESH … CONCURRENTLY), one not populated, and a stale one (its rows
// are not what its query gives on the baseline's tables).
const mviewInit = `
CREATE TABLE items (id int PRIMARY KEY, kind text NOT NULL);
INSERT INTO items VALUES (1, 'a'), (2, 'b');
CREATE MATERIALIZED VIEW stale AS SELECT count(*) AS n FROM items;
INSERT INTO items VALUES (3, 'a');
CREATE MATERIALIZED VIEW counts AS SELECT kind, count(*) AS n FROM items GROUP BY kind;
CREATE UNIQUE INDEX ON counts (kind);
CREATE MATERIALIZED VIEW later AS SELECT id FROM items WITH NO DATA;
`

// A materialized view that a test refreshed has its baseline rows again:
// it is refreshed once its tables are restored; one the test did not
// refresh is left alone; a stale one cannot be brought back, and that is
// said.
func TestResetBringsBackTheRowsOfMaterializedViews(t *testing.T) {
	pg := startPostgres(t, mviewInit, "")
	const counts = `SELECT string_agg(kind || ':' || n, ',' ORDER BY kind) FROM counts`
	const file = `SELECT relfilenode::text FROM pg_class WHERE relname = 'counts'`
	for _, refresh := range []string{`REFRESH MATERIALIZED VIEW counts`, `REFRESH MATERIALIZED VIEW CONCURRENTLY counts`} {
		pg.exec(t, `INSERT INTO items VALUES (4, 'b'), (5, 'c')`)
		pg.exec(t, refresh)
		pg.reset(t)
		if got := pg.query(t, counts); got != "a:2,b:1" {
			t.Fatalf("%s: after reset counts is %s; want a:2,b:1", refresh, got)
		}
	}
	// Its tables written, but not refreshed: left as it is.
	before := pg.query(t, file)
	pg.exec(t, `INSERT INTO items VALUES (4, 'b')`)
	pg.reset(t)
	if got := pg.query(t, file); got != before {
		t.Errorf("a reset refreshed counts, which the test did not refresh (file %s, was %s)", got, before)
	}
	pg.exec(t, `REFRESH MATERIALIZED VIEW later`)
	pg.reset(t)
	if got := pg.query(t, `SELECT relispopulated::text FROM pg_class WHERE relname = 'later'`); got != "false" {
		t.Errorf("after reset later is populated: %s; want false, as in the baseline", got)
	}
	if got := pg.query(t, `SELECT n::text FROM stale`); got != "2" {
		t.Fatalf("stale has %s before it is refreshed; want 2", got)
	}
	pg.exec(t, `REFRESH MATERIALIZED VIEW stale`)
	pg.reset(t)
	saidOnce(t, pg, 1, "materialized view stale was refreshed by a test, and its rows in the baseline are not what its query gives")
}

// A transaction that a test prepared (PREPARE TRANSACTION) and left is
// rolled back, and its gid said: its locks would hold the next tests up.
// One of the baseline stays.
func TestResetRollsBackTheTransactionsATestPrepared(t *testing.T) {
	pg := startSpec(t, &Spec{Settings: map[string]string{"max_prepared_transactions": "4"}}, twoTables,
		`CREATE TABLE kept (id int); BEGIN; INSERT INTO kept VALUES (1); PREPARE TRANSACTION 'job';`)
	for round := 0; round < 2; round++ {
		c := pg.session(t, "service a")
		run(t, c, `BEGIN`)
		run(t, c, `INSERT INTO t1 VALUES (1)`)
		run(t, c, `PREPARE TRANSACTION 'gx1'`)
		pg.reset(t)
		if got := pg.query(t, `SELECT string_agg(gid, ',') FROM pg_prepared_xacts`); got != "job" {
			t.Fatalf("round %d: prepared transactions after reset: %s; want job (the baseline's)", round, got)
		}
		// Its row lock is gone: the same key is written at once.
		run(t, pg.session(t, "service b"), `INSERT INTO t1 VALUES (1)`)
		pg.reset(t)
		if got := pg.query(t, twoTablesState); got != "100 | -" {
			t.Fatalf("round %d: after reset %s; want 100 | -", round, got)
		}
	}
	saidOnce(t, pg, 1, "a test left prepared transaction 'gx1' (PREPARE TRANSACTION) neither committed nor rolled back: seam rolled it back")
	if _, err := pg.conn.Exec(context.Background(), `ROLLBACK PREPARED 'job'`); err != nil {
		t.Fatal(err)
	}
}

// An extension a test made is dropped (after what it made with it); one
// of the baseline that a test updated or dropped is said.
func TestResetDropsTheExtensionsATestMade(t *testing.T) {
	pg := startPostgresAs(t, true, `CREATE EXTENSION citext VERSION '1.5'; CREATE TABLE items (name citext);`, "")
	const exts = `SELECT string_agg(extname || ':' || extversion, ',' ORDER BY extname) FROM pg_extension`
	want := pg.query(t, exts)
	for round := 0; round < 2; round++ {
		pg.exec(t, `CREATE EXTENSION hstore`)
		pg.exec(t, `CREATE TABLE kv (h hstore)`)
		pg.reset(t)
		if got := pg.query(t, exts); got != want {
			t.Fatalf("round %d: extensions after reset: %s; want %s", round, got, want)
		}
	}
	pg.exec(t, `ALTER EXTENSION citext UPDATE TO '1.6'`)
	pg.reset(t)
	pg.exec(t, `DROP EXTENSION citext CASCADE`)
	pg.reset(t)
	saidOnce(t, pg, 3,
		"extension citext of the baseline was updated by a test to version 1.6: seam cannot set it back to version 1.5",
		"extension citext of the baseline was dropped by a test: seam cannot bring it back",
		"items of the baseline was altered by a test")
}

// ALTER SEQUENCE (and an identity's ALTER COLUMN … SET) is undone: the
// sequence's type, increment, bounds, start, cache and cycle are the
// baseline's again, and it goes on where it was.
func TestResetSetsBackSequenceOptions(t *testing.T) {
	pg := startPostgres(t, `CREATE SEQUENCE s START 1000; CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, n int); SELECT nextval('s');`, "")
	const opts = `SELECT string_agg(concat_ws(':', seqrelid::regclass, seqtypid::regtype, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle), ',' ORDER BY seqrelid) FROM pg_sequence`
	want := pg.query(t, opts)
	pg.exec(t, `ALTER SEQUENCE s AS int INCREMENT BY 10 MINVALUE 5 MAXVALUE 99999 START 7 CACHE 3 CYCLE`)
	pg.exec(t, `SELECT setval('s', 5000)`)
	pg.exec(t, `ALTER TABLE t ALTER COLUMN id SET INCREMENT BY 7`)
	pg.exec(t, `INSERT INTO t (n) VALUES (1), (2)`)
	pg.reset(t)
	if got := pg.query(t, opts); got != want {
		t.Fatalf("after reset the sequences are\n%s\nwant\n%s", got, want)
	}
	if got := pg.query(t, `SELECT nextval('s') || ',' || nextval('s')`); got != "1001,1002" {
		t.Fatalf("after reset s gave %s; want 1001,1002", got)
	}
	if got := pg.query(t, `WITH i AS (INSERT INTO t (n) VALUES (1), (2) RETURNING id) SELECT string_agg(id::text, ',' ORDER BY id) FROM i`); got != "1,2" {
		t.Fatalf("after reset the identity gave %s; want 1,2", got)
	}
	saidOnce(t, pg, 0)
}

// Large objects a test made are unlinked; comments (COMMENT ON) are the
// baseline's again; a large object of the baseline that a test unlinked
// is said.
func TestResetUnlinksLargeObjectsAndSetsBackComments(t *testing.T) {
	pg := startPostgres(t, `CREATE TABLE items (id int, name text);`,
		`SELECT lo_from_bytea(4242, 'base'); COMMENT ON TABLE items IS 'the items'; COMMENT ON COLUMN items.name IS 'its name';`)
	const los = `SELECT string_agg(oid || ':' || encode(lo_get(oid), 'escape'), ',' ORDER BY oid) FROM pg_largeobject_metadata`
	const comments = `SELECT concat_ws(',', obj_description('items'::regclass), col_description('items'::regclass, 1), col_description('items'::regclass, 2))`
	for round := 0; round < 2; round++ {
		pg.exec(t, `SELECT lo_from_bytea(0, 'test'), lo_create(0)`)
		pg.exec(t, `COMMENT ON TABLE items IS 'changed'`)
		pg.exec(t, `COMMENT ON COLUMN items.name IS NULL`)
		pg.exec(t, `COMMENT ON COLUMN items.id IS 'new'`)
		pg.reset(t)
		if got := pg.query(t, los); got != "4242:base" {
			t.Fatalf("round %d: large objects after reset: %s; want 4242:base", round, got)
		}
		if got := pg.query(t, comments); got != "the items,its name" {
			t.Fatalf("round %d: comments after reset: %s; want the items,its name", round, got)
		}
	}
	pg.exec(t, `SELECT lo_unlink(4242)`)
	pg.reset(t)
	pg.reset(t)
	saidOnce(t, pg, 1, "large object(s) 4242 of the baseline were unlinked by a test")
}

var _ service.Resetter = (*instance)(nil)
