package postgres

import (
	"testing"
)

// viewsInit is a baseline of views (one on another, one with an option,
// one with privileges and a comment), a materialized view with an index,
// and sequences: a free-standing one read once, one a column's default
// uses, a serial column's.
const viewsInit = `
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO t VALUES (1), (2);
CREATE VIEW v AS SELECT count(*) AS n FROM t;
CREATE VIEW v2 AS SELECT n * 10 AS tens FROM v;
CREATE VIEW w WITH (security_barrier) AS SELECT id FROM t;
CREATE MATERIALIZED VIEW m AS SELECT id FROM t;
CREATE UNIQUE INDEX m_id ON m (id);
CREATE SEQUENCE s START 100;
SELECT nextval('s');
CREATE SEQUENCE free START 5;
CREATE TABLE k (id int DEFAULT nextval('free'), n int);
CREATE TABLE serials (id serial, n int);
GRANT SELECT ON v TO PUBLIC;
COMMENT ON VIEW v IS 'the count';
`

// viewsState is what the tests after see of viewsInit's objects. It
// reads the sequences: a reset sets them back.
const viewsState = `WITH ki AS (INSERT INTO k (n) VALUES (1) RETURNING id), si AS (INSERT INTO serials (n) VALUES (1) RETURNING id)
	SELECT concat_ws(' | ',
	(SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm', 'S')),
	(SELECT n FROM v), (SELECT tens FROM v2), (SELECT count(*) FROM w), (SELECT reloptions::text FROM pg_class WHERE relname = 'w'),
	(SELECT string_agg(id::text, ',' ORDER BY id) FROM m), (SELECT count(*) FROM pg_index WHERE indexrelid = 'm_id'::regclass AND indrelid = 'm'::regclass),
	(SELECT relacl::text LIKE '%=r/%' FROM pg_class WHERE relname = 'v'), obj_description('v'::regclass, 'pg_class'),
	nextval('s'), (SELECT relowner = 'seam'::regrole FROM pg_class WHERE relname = 's'),
	(SELECT id FROM ki), (SELECT id FROM si), pg_get_serial_sequence('serials', 'id'))`

const wantViewsState = "free,m,s,serials_id_seq,v,v2,w | 2 | 20 | 2 | {security_barrier=true} | 1,2 | 1 | t | the count | 101 | t | 5 | 1 | public.serials_id_seq"

// The baseline's views, materialized views and sequences that a test
// dropped are made again as they were, and a view it replaced gets its
// definition back, whatever the test made in their place; the next reset
// takes them for the baseline's (it does not drop them as a test's).
func TestResetMakesAgainTheViewsAndSequencesATestDroppedOrReplaced(t *testing.T) {
	pg := startPostgres(t, viewsInit, "")
	if got := pg.query(t, viewsState); got != wantViewsState {
		t.Fatalf("before any test:\n got %s\nwant %s", got, wantViewsState)
	}
	pg.reset(t)
	for round := 0; round < 2; round++ {
		pg.exec(t, `DROP VIEW v CASCADE`) // and v2
		pg.exec(t, `CREATE VIEW v AS SELECT 42 AS n, 'the test''s' AS what`)
		pg.exec(t, `CREATE OR REPLACE VIEW w AS SELECT id FROM t WHERE id > 1`)
		pg.exec(t, `DROP MATERIALIZED VIEW m`)
		pg.exec(t, `DROP SEQUENCE s`)
		pg.exec(t, `DROP SEQUENCE free CASCADE`) // and k.id's default
		pg.exec(t, `DROP SEQUENCE serials_id_seq CASCADE`)
		pg.exec(t, `INSERT INTO t VALUES (3)`)
		pg.reset(t)
		if got := pg.query(t, viewsState); got != wantViewsState {
			t.Fatalf("round %d after reset:\n got %s\nwant %s", round, got, wantViewsState)
		}
		// A reset after other DDL keeps them.
		pg.exec(t, `CREATE TABLE other (id int)`)
		pg.reset(t)
		if got := pg.query(t, viewsState); got != wantViewsState {
			t.Fatalf("round %d after a reset that undid other DDL:\n got %s\nwant %s", round, got, wantViewsState)
		}
		pg.reset(t)
	}
	// Replaced with more columns (CREATE OR REPLACE cannot take them off
	// again), and with what depended on it gone: dropped and made again.
	pg.exec(t, `DROP VIEW v2`)
	pg.exec(t, `CREATE OR REPLACE VIEW v AS SELECT count(*) AS n, 'more' AS extra FROM t`)
	pg.exec(t, `ALTER VIEW w SET (security_barrier = false)`)
	pg.reset(t)
	if got := pg.query(t, viewsState); got != wantViewsState {
		t.Fatalf("after a view got more columns:\n got %s\nwant %s", got, wantViewsState)
	}
	saidOnce(t, pg, 0)
}

// What seam cannot make again or set back it says, once: a view whose
// table a test dropped (one seam does not make again), a view whose columns a test renamed while another
// of the baseline depends on it, and a view's trigger (made again
// without it).
func TestResetSaysTheViewsItCannotMakeAgain(t *testing.T) {
	pg := startPostgres(t, `
CREATE TABLE t (id int PRIMARY KEY);
CREATE TABLE gone (id int) PARTITION BY RANGE (id); -- a partitioned table is not made again
CREATE VIEW v AS SELECT count(*) AS n FROM t;
CREATE VIEW v2 AS SELECT n * 10 AS tens FROM v;
CREATE VIEW on_gone AS SELECT id FROM gone;
CREATE VIEW ins AS SELECT id FROM t;
CREATE FUNCTION ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (NEW.id * 100); RETURN NEW; END $$;
CREATE TRIGGER ins INSTEAD OF INSERT ON ins FOR EACH ROW EXECUTE FUNCTION ins();
`, "")
	for round := 0; round < 2; round++ {
		if round == 0 {
			pg.exec(t, `DROP TABLE gone CASCADE`)
			pg.exec(t, `ALTER VIEW v RENAME COLUMN n TO total`)
			pg.exec(t, `DROP VIEW ins`)
		}
		pg.exec(t, `INSERT INTO t VALUES (1)`)
		pg.reset(t)
		if got := pg.query(t, `SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace`); got != "ins,v,v2" {
			t.Fatalf("round %d: views after reset: %s; want ins,v,v2", round, got)
		}
	}
	saidOnce(t, pg, 4,
		"gone of the baseline was dropped by a test: seam cannot bring it back",
		`view public.on_gone of the baseline was dropped by a test: seam cannot make it again (relation "public.gone" does not exist), and the tests after it run without it`,
		"view public.v of the baseline was replaced by a test (CREATE OR REPLACE VIEW, ALTER VIEW): seam cannot set it back (cannot drop view v because other objects depend on it)",
		"view public.ins of the baseline was dropped by a test: seam made it again, but not trigger ins on ins: the tests after it run without them")
}

// tablesInit is a baseline of tables with what a table can have: a
// serial key, defaults, a check, a unique constraint, a foreign key each
// way, a collation, a generated column, a dropped column, an index, a
// trigger, row security and a policy, privileges, comments, a view on it;
// and a table with an identity column.
const tablesInit = `
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent VALUES (1), (2);
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL DEFAULT 'empty' CHECK (body <> 'bad'), parent int REFERENCES parent,
	code text COLLATE "C", n int GENERATED ALWAYS AS (length(body)) STORED, UNIQUE (body, parent));
ALTER TABLE notes ADD COLUMN gone int;
ALTER TABLE notes DROP COLUMN gone;
ALTER TABLE notes ADD COLUMN tag text;
CREATE INDEX notes_body ON notes (lower(body));
CREATE FUNCTION tag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.tag := 'init'; RETURN NEW; END $$;
CREATE TRIGGER notes_tag BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION tag();
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON notes USING (true);
CREATE TABLE child (id int, note bigint REFERENCES notes ON DELETE CASCADE);
INSERT INTO notes (body, parent) VALUES ('a', 1), ('bb', 2);
INSERT INTO child VALUES (1, 1);
CREATE VIEW notes_v AS SELECT id, body FROM notes;
GRANT SELECT ON notes TO PUBLIC;
COMMENT ON TABLE notes IS 'the notes';
COMMENT ON COLUMN notes.tag IS 'a tag';
CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY (START WITH 10), x int);
INSERT INTO ident (x) VALUES (1);
`

// tablesState is what the tests after see of tablesInit's tables; it
// writes (a reset sets that back).
const tablesState = `WITH ni AS (INSERT INTO notes (body, parent) VALUES ('c', 1) RETURNING id || ':' || tag AS x),
	ii AS (INSERT INTO ident (x) VALUES (2) RETURNING id)
	SELECT concat_ws(' | ',
	(SELECT string_agg(concat_ws(':', id, body, parent, n, tag), ',' ORDER BY id) FROM notes WHERE body <> 'c'), (SELECT x FROM ni), (SELECT id FROM ii),
	(SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid IN ('notes'::regclass, 'child'::regclass)),
	(SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'notes'::regclass),
	(SELECT count(*) FROM notes_v), (SELECT relacl::text LIKE '%=r/%' FROM pg_class WHERE relname = 'notes'),
	obj_description('notes'::regclass, 'pg_class'), col_description('notes'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'notes'::regclass AND attname = 'tag')),
	(SELECT collname FROM pg_attribute JOIN pg_collation c ON c.oid = attcollation WHERE attrelid = 'notes'::regclass AND attname = 'code'),
	(SELECT relrowsecurity FROM pg_class WHERE relname = 'notes'), pg_get_serial_sequence('notes', 'id'),
	(SELECT string_agg(id || ':' || note, ',') FROM child), (SELECT convalidated FROM pg_constraint WHERE conname = 'child_note_fkey'))`

const wantTablesState = "1:a:1:1:init,2:bb:2:2:init | 3:init | 11 | child_note_fkey,notes_body_check,notes_body_parent_key,notes_parent_fkey,notes_pkey | " +
	"notes_body,notes_body_parent_key,notes_pkey | 2 | t | the notes | a tag | C | t | public.notes_id_seq | 1:1 | t"

// A baseline table a test dropped is made again from the catalog, with
// its rows, constraints (and other tables' foreign keys to it), indexes,
// triggers, identity and serial sequences where they were, privileges,
// comments and the views on it, whether the test made a table of the
// same name in its place (a helper that drops and makes a table again)
// or not; what seam does not make again (a policy) is said, once.
func TestResetMakesAgainTheTablesATestDropped(t *testing.T) {
	pg := startPostgres(t, tablesInit, "")
	if got := pg.query(t, tablesState); got != wantTablesState {
		t.Fatalf("before any test:\n got %s\nwant %s", got, wantTablesState)
	}
	pg.reset(t)
	for round := 0; round < 2; round++ {
		pg.exec(t, `DROP TABLE notes CASCADE`) // and child's foreign key, notes_v
		if round == 0 {
			pg.exec(t, `CREATE TABLE notes (id bigserial PRIMARY KEY, body text)`)
			pg.exec(t, `INSERT INTO notes (body) VALUES ('the test''s')`)
		} else {
			pg.exec(t, `INSERT INTO child VALUES (5, 999)`) // no foreign key now: the reset's comes back once child's rows are restored
		}
		pg.exec(t, `DROP TABLE ident`)
		pg.exec(t, `INSERT INTO parent VALUES (3)`)
		pg.reset(t)
		if got := pg.query(t, tablesState); got != wantTablesState {
			t.Fatalf("round %d after reset:\n got %s\nwant %s", round, got, wantTablesState)
		}
		pg.reset(t)
		pg.exec(t, `CREATE TABLE other (id int)`)
		pg.reset(t)
		if got := pg.query(t, tablesState); got != wantTablesState {
			t.Fatalf("round %d after a reset that undid other DDL:\n got %s\nwant %s", round, got, wantTablesState)
		}
		pg.reset(t)
	}
	saidOnce(t, pg, 1, "table public.notes of the baseline was dropped by a test: seam made it again, but not policy mine on notes: the tests after it run without them")
}
