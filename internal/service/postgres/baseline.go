package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/service"
)

// baseline is the data once the environment has started (after init, jobs
// and services' start-up), and how to go back to it.
//
// Reset keeps every connection of the services under test open, and
// touches only the tables a test changed: a statement-level trigger on each
// table notes it in seam_baseline.dirty when it is written to; reset then,
// in one call of seam_baseline.reset(), deletes the rows of each noted
// table and copies its baseline rows back from the seam_baseline schema
// (triggers and foreign-key checks off), and sets every sequence back. The
// same call sets the server's roles back, when a test changed them.
// Dropping the database and cloning it from a template is an order of
// magnitude slower (it checkpoints) and would end the services'
// connections (bench/pgreset measures both).
type baseline struct {
	ready chan struct{} // closed once conn or err is set
	conn  *pgx.Conn     // kept open: resets need no new connection
	err   error

	use      sync.Mutex    // held while conn is in use: a reset, a check after a test
	lockWait time.Duration // how long a reset waits for a lock, or for a transaction that wrote and was left open

	notice func(string) // the run's notices (Baseline)
	mu     sync.Mutex
	said   map[string]bool
}

// Init implements service.Initializer. The database, the init files and
// the baseline are in the cached data folder already; a reset needs only
// a connection of its own, which is opened in the background: the services
// that depend on this one start meanwhile, and the first reset waits for
// it.
//
// First it gives the suite's role this environment's password, before
// any dependant starts; seam's own superuser does that, and keeps its
// connection for the resets.
func (i *instance) Init(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := connect(cctx, adminRole, i.srv.adminPW, i.port, i.db)
	if err != nil {
		return fmt.Errorf("connecting as seam's own role: %w", err)
	}
	if _, err := conn.Exec(cctx, fmt.Sprintf("ALTER ROLE %s PASSWORD %s", pgx.Identifier{i.spec.User}.Sanitize(), quoteLiteral(i.password))); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("setting the password of role %s: %w", i.spec.User, err)
	}
	if i.spec.Reset != "per-test" {
		return conn.Close(cctx)
	}
	b := &baseline{ready: make(chan struct{}), conn: conn, lockWait: defaultLockWait}
	close(b.ready)
	i.base = b
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// wait waits for the baseline connection.
func (b *baseline) wait(ctx context.Context) (*pgx.Conn, error) {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.err != nil {
		return nil, fmt.Errorf("connecting for resets: %w", b.err)
	}
	return b.conn, nil
}

// close closes the baseline connection once it is made.
func (b *baseline) close() {
	<-b.ready
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		b.conn.Close(ctx)
		cancel()
	}
}

// applyFile runs one SQL file with the simple protocol (several statements
// allowed) and places an error at its line and column in the file.
func applyFile(ctx context.Context, conn *pgx.Conn, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	_, err = conn.PgConn().Exec(ctx, string(data)).ReadAll()
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 {
		line, col := lineCol(string(data), int(pe.Position))
		return fmt.Errorf("%s:%d:%d: %s (SQLSTATE %s)", file, line, col, pe.Message, pe.Code)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// lineCol turns PostgreSQL's 1-based character position into line:col.
func lineCol(s string, pos int) (int, int) {
	line, col, n := 1, 1, 1
	for _, r := range s {
		if n == pos {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// takeBaseline installs seam's baseline schema in the database conn is
// on and takes the baseline of what is there (the data after init).
func takeBaseline(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.PgConn().Exec(ctx, baselineSchema).ReadAll(); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, "SELECT seam_baseline.take()")
	return err
}

// baselineSchema holds the baseline copies, the dirty-table notes, the
// restore statements and the functions that use them. It is made once, in
// the cached data folder, with the baseline of init; take() brings it up
// to date at the end of the environment's start, copying again only the
// tables written or made since (by jobs, by services at start-up).
//
// What a test does and how reset undoes it:
//   - rows: each table of the baseline has a statement trigger that notes
//     it in dirty (by oid: renames do not matter); reset deletes the rows of
//     each noted table and copies its baseline rows back, triggers and
//     foreign-key checks off (session_replication_role = replica). A
//     partition and its partitioned table share one copy, of the root.
//   - sequences (owned, identity or free-standing): set back by oid.
//   - DDL: an event trigger notes it (dirty 0); reset then drops every
//     schema and relation (table, view, sequence, foreign table) not in the
//     baseline, every index, trigger, policy and rule not in the baseline
//     on a baseline table, and every function, procedure, aggregate and
//     type not in the baseline. A table that a baseline object depends on
//     (say, a foreign key a test added from a baseline table to its own) is
//     emptied instead, another such object is kept, and said so. A baseline
//     table that a test altered keeps the change (its rows are restored
//     with the columns both have). A baseline table (a plain one), view,
//     materialized view or sequence that a test dropped is made again from
//     what the catalog said of it at the baseline (make_again), and a
//     view it replaced gets its definition back; a table of the same name
//     that the test made in its place (a helper that drops and makes a
//     table again) is dropped first, as every table a test made is. What
//     cannot be made again (a partitioned table, a view on it), or not
//     whole (a table's policies and rules), is said; so is a baseline
//     index, trigger, policy, rule, routine or type that a test dropped or
//     changed (CREATE OR REPLACE, ALTER, ENABLE/DISABLE): reset returns a
//     line saying so, which seam shows once. A constraint a test added to
//     a baseline table (ALTER TABLE) is kept and said.
//   - advisory locks a session of the system took since the baseline and
//     holds (pg_advisory_lock, never unlocked): said, not released
//     (advisory_kept tells why).
//   - roles: they belong to the whole server, not to the database, and no
//     trigger sees them change (event triggers skip CREATE, ALTER, DROP
//     ROLE and role GRANTs). Yet a test that changes the suite's role's
//     password fails the logins of every test after it. So reset compares
//     a fingerprint of the roles, their memberships and their settings
//     with the baseline's (some 20µs), and only when it differs
//     drops the roles a test made and gives the baseline's back their
//     names, attributes, passwords, memberships and settings (ALTER ROLE
//     … SET, ALTER DATABASE … SET); what it cannot undo it says.
const baselineSchema = `
DROP EVENT TRIGGER IF EXISTS seam_ddl;
DROP SCHEMA IF EXISTS seam_baseline CASCADE;
CREATE SCHEMA seam_baseline;
-- The notes of the tables written (rel; 0: DDL ran), each added by the
-- writer's own transaction: seen once it commits, gone if it rolls back.
-- No key and no index: a unique key made a writer wait for another's
-- uncommitted note of the same table (and two that wrote two tables in
-- opposite orders deadlock). A transaction notes a table once (mark);
-- reset reads and deletes the notes in one statement.
CREATE UNLOGGED TABLE seam_baseline.dirty (rel oid NOT NULL);
CREATE TABLE seam_baseline.restore (rel oid PRIMARY KEY, root oid NOT NULL, sig text NOT NULL, del text NOT NULL, ins text);
-- The baseline's objects: schemas (n), relations (r) and the others
-- (kinds of seam_baseline.others) with the table each is on (0: none),
-- its name for notices and what tells it changed.
CREATE TABLE seam_baseline.objects (kind "char" NOT NULL, obj oid NOT NULL, rel oid, name text, sig text, PRIMARY KEY (kind, obj));
-- Sequences: where each was (last, called) and its options (sig: the
-- pg_sequence row; opts: the ALTER SEQUENCE clauses that set them back).
CREATE TABLE seam_baseline.seqs (seq oid PRIMARY KEY, last bigint NOT NULL, called boolean NOT NULL, sig text NOT NULL, opts text NOT NULL);
-- The partitions of the baseline: their parent, bound (FOR VALUES …),
-- name and owner, and depth (1: a root's own), to attach one a test
-- detached, or make one it dropped again, parents first.
CREATE TABLE seam_baseline.parts (rel oid PRIMARY KEY, parent oid NOT NULL, bound text NOT NULL, name text NOT NULL, owner oid NOT NULL, lvl int NOT NULL);
-- The materialized views of the baseline: populated, and fresh (their
-- rows are what their query gives on the baseline's tables: a REFRESH
-- after the tables are restored brings those rows back).
CREATE TABLE seam_baseline.mviews (mv oid PRIMARY KEY, populated boolean NOT NULL, fresh boolean NOT NULL);
-- Large objects, prepared transactions (by gid) and comments
-- (pg_description of the objects made after initdb) of the baseline.
CREATE TABLE seam_baseline.los (lo oid PRIMARY KEY);
CREATE TABLE seam_baseline.prepared (gid text PRIMARY KEY);
CREATE TABLE seam_baseline.comments AS SELECT * FROM pg_description WITH NO DATA;
-- The server's roles, their memberships and settings as the baseline has
-- them (the catalogs' own columns, whatever the server's version); deps:
-- the role owned something or held privileges, which a role made again
-- does not. auth: the fingerprint of the three, and the database's owner
-- (the suite's role), who gets what a role a test made owned.
CREATE TABLE seam_baseline.roles AS SELECT a.*, false AS deps FROM pg_authid a WITH NO DATA;
CREATE TABLE seam_baseline.members AS SELECT * FROM pg_auth_members WITH NO DATA;
CREATE TABLE seam_baseline.settings AS SELECT * FROM pg_db_role_setting WITH NO DATA;
CREATE TABLE seam_baseline.auth (sig text, owner oid);
-- The privileges on the user's objects (seam_baseline.privs) as the
-- baseline has them.
CREATE TABLE seam_baseline.acls (kind "char" NOT NULL, obj oid NOT NULL, acl aclitem[] NOT NULL, sig text NOT NULL, PRIMARY KEY (kind, obj));
-- The baseline's plain tables (r: not partitioned, not a partition, no
-- inheritance, not typed), views (v), materialized views (m) and
-- sequences (S; not an identity column's), to make one a test dropped
-- again, and to set back a view a test replaced (CREATE OR REPLACE VIEW,
-- ALTER VIEW … SET): its name, sig (viewsig: what tells a view changed),
-- make (what follows CREATE: every name in it qualified, as the catalog's
-- pg_get_*def functions give them with the search_path pg_catalog), after
-- (what follows at once: a table's constraints but foreign keys, indexes,
-- triggers and row security; a materialized view's indexes), later (what
-- follows once all are made: a table's foreign keys and those of other
-- tables to it; a sequence's OWNED BY and the column defaults that use
-- it, which DROP … CASCADE dropped), dep (the table that owns a sequence,
-- 0: none), owner, cols (a table's column names by attnum, null for a
-- dropped one: its column comments' numbers), idents (a table's identity
-- sequences: {"oid": "column"}) and checks (the VALIDATE CONSTRAINT of
-- each foreign key of later that the baseline has validated: {"ADD …":
-- "VALIDATE …"}).
CREATE TABLE seam_baseline.remake (rel oid PRIMARY KEY, relkind "char" NOT NULL, name text NOT NULL, sig text, make text NOT NULL,
	after text[] NOT NULL, later text[] NOT NULL, dep oid NOT NULL, owner oid NOT NULL, cols name[], idents jsonb, checks jsonb);
-- The foreign keys made again NOT VALID (the rows of their tables were a
-- test's then): reset validates them once the rows are restored.
CREATE TABLE seam_baseline.pending (stmt text NOT NULL);
-- The advisory locks the system's sessions held at the baseline (a
-- leader's lock, taken at start-up): each session by pid and start, each
-- lock as pg_locks has it. Those are not said at reset; others are.
CREATE TABLE seam_baseline.advisory (pid int NOT NULL, began timestamptz NOT NULL, classid oid NOT NULL, objid oid NOT NULL, objsubid int2 NOT NULL, mode text NOT NULL);

-- The user's schemas: not the system's, not seam's.
CREATE VIEW seam_baseline.spaces AS
	SELECT oid, nspname FROM pg_namespace
	WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'seam_baseline')
	  AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%';

-- The user's relations (not an extension's), with what a reset needs.
CREATE VIEW seam_baseline.rels AS
	SELECT c.oid AS rel, c.relkind, coalesce(pg_partition_root(c.oid), c.oid) AS root,
		c.oid::regclass::text AS name,
		coalesce((SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''), '') AS cols
	FROM pg_class c JOIN seam_baseline.spaces n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
	  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');

-- The user's objects other than schemas and relations that DDL makes or
-- changes: on the user's relations, indexes (i; not one of a constraint
-- or a partition's copy of its table's), triggers (t; not seam's, not a
-- partition's copy), policies (o), rules (w; not a view's own) and
-- constraints (c; changed by ALTER TABLE only: said, never dropped); in
-- the user's schemas, routines (f) and types (y; not an array's, a
-- table's row or a range's multirange); none an extension's; and the
-- extensions (x; sig: the version). sig is the object's catalog row (and
-- what else defines it), which DDL alone changes, but for its privileges
-- (undo_privs gives those back); a trigger's begins with whether it is
-- enabled (tgenabled), which reset sets back. drop drops it.
CREATE VIEW seam_baseline.others AS
	SELECT 'i'::"char" AS kind, i.indexrelid AS obj, i.indrelid AS rel, format('index %s on %s', i.indexrelid::regclass, t.name) AS name,
		(c.relname, i.indkey, i.indclass, i.indcollation, i.indoption, i.indisunique, i.indisexclusion, i.indexprs, i.indpred)::text AS sig,
		format('DROP INDEX %s', i.indexrelid::regclass) AS drop, 0 AS ord
	FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN seam_baseline.rels t ON t.rel = i.indrelid
	WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('i', 'P'))
	UNION ALL
	SELECT 't', g.oid, g.tgrelid, format('trigger %I on %s', g.tgname, t.name),
		g.tgenabled::text || (SELECT (to_jsonb(x) - 'tgenabled')::text FROM pg_trigger x WHERE x.oid = g.oid), format('DROP TRIGGER %I ON %s', g.tgname, t.name), 0
	FROM pg_trigger g JOIN seam_baseline.rels t ON t.rel = g.tgrelid
	WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND g.tgname <> 'seam_dirty'
	UNION ALL
	SELECT 'o', p.oid, p.polrelid, format('policy %I on %s', p.polname, t.name), (SELECT x::text FROM pg_policy x WHERE x.oid = p.oid), format('DROP POLICY %I ON %s', p.polname, t.name), 0
	FROM pg_policy p JOIN seam_baseline.rels t ON t.rel = p.polrelid
	UNION ALL
	SELECT 'w', w.oid, w.ev_class, format('rule %I on %s', w.rulename, t.name), (SELECT x::text FROM pg_rewrite x WHERE x.oid = w.oid), format('DROP RULE %I ON %s', w.rulename, t.name), 0
	FROM pg_rewrite w JOIN seam_baseline.rels t ON t.rel = w.ev_class
	WHERE w.rulename <> '_RETURN'
	UNION ALL
	SELECT 'c', k.oid, k.conrelid, format('constraint %I on %s', k.conname, t.name), (SELECT x::text FROM pg_constraint x WHERE x.oid = k.oid), NULL, 0
	FROM pg_constraint k JOIN seam_baseline.rels t ON t.rel = k.conrelid
	WHERE k.conparentid = 0
	UNION ALL
	SELECT 'f', p.oid, 0, format('%s %s', CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.oid::regprocedure),
		(SELECT (to_jsonb(x) - 'proacl')::text FROM pg_proc x WHERE x.oid = p.oid), format('DROP ROUTINE %s', p.oid::regprocedure), 2
	FROM pg_proc p JOIN seam_baseline.spaces n ON n.oid = p.pronamespace
	WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('i', 'e'))
	UNION ALL
	SELECT 'y', y.oid, 0, format('type %s', y.oid::regtype),
		concat_ws(' ', (SELECT (to_jsonb(x) - 'typacl')::text FROM pg_type x WHERE x.oid = y.oid),
			(SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = y.oid),
			(SELECT string_agg(k::text, ',' ORDER BY k.oid) FROM pg_constraint k WHERE k.contypid = y.oid),
			(SELECT string_agg(a::text, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = y.typrelid AND y.typrelid <> 0)),
		format('DROP TYPE %s', y.oid::regtype), 3
	FROM pg_type y JOIN seam_baseline.spaces n ON n.oid = y.typnamespace
	WHERE (y.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = y.typrelid AND c.relkind = 'c'))
	  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = y.oid AND d.deptype IN ('i', 'e'))
	UNION ALL
	SELECT 'x', x.oid, 0, format('extension %I', x.extname), x.extversion, format('DROP EXTENSION %I', x.extname), 4
	FROM pg_extension x;

-- privs is the privileges on the user's relations (r; s: sequences),
-- schemas (n), routines (f) and the database (d): each object's ACL, its
-- default when it has none (the owner's all), its entries sorted, and how
-- GRANT names it. Column privileges and default privileges are not in it.
CREATE VIEW seam_baseline.privs AS
	SELECT x.kind, x.obj, x.target, x.acl,
		(SELECT string_agg(e::text, ',' ORDER BY e::text) FROM unnest(x.acl) e) AS sig
	FROM (
		SELECT CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char" AS kind, c.oid AS obj,
			format('%s %s', CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, t.name) AS target,
			coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
		FROM pg_class c JOIN seam_baseline.rels t ON t.rel = c.oid
		UNION ALL
		SELECT 'n', n.oid, format('SCHEMA %I', n.nspname), coalesce(n.nspacl, acldefault('n', n.nspowner))
		FROM pg_namespace n JOIN seam_baseline.spaces s ON s.oid = n.oid
		UNION ALL
		SELECT 'f', p.oid, format('ROUTINE %s', p.oid::regprocedure), coalesce(p.proacl, acldefault('f', p.proowner))
		FROM pg_proc p JOIN seam_baseline.spaces s ON s.oid = p.pronamespace
		WHERE p.prokind IN ('f', 'p')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('i', 'e'))
		UNION ALL
		SELECT 'd', d.oid, format('DATABASE %I', d.datname), coalesce(d.datacl, acldefault('d', d.datdba))
		FROM pg_database d WHERE d.datname = current_database()
	) x;

-- made lists what a test made, each with the statement that drops it,
-- in an order that drops dependants first (a trigger before its
-- function, a table before its type): the objects on the baseline's
-- tables, the relations, the routines, the types, the extensions. What
-- is on a relation a test made goes with it.
CREATE VIEW seam_baseline.made AS
	SELECT 'r'::"char" AS kind, t.rel AS obj, 'pg_class'::regclass AS cat, t.name,
		format('DROP %s %s', CASE t.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
			WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, t.name) AS drop, 1 AS ord
	FROM seam_baseline.rels t WHERE NOT EXISTS (SELECT 1 FROM seam_baseline.objects b WHERE b.kind = 'r' AND b.obj = t.rel)
	UNION ALL
	SELECT o.kind, o.obj, CASE o.kind WHEN 'i' THEN 'pg_class' WHEN 't' THEN 'pg_trigger' WHEN 'o' THEN 'pg_policy'
			WHEN 'w' THEN 'pg_rewrite' WHEN 'f' THEN 'pg_proc' WHEN 'x' THEN 'pg_extension' ELSE 'pg_type' END::regclass,
		o.name, o.drop, o.ord
	FROM seam_baseline.others o
	WHERE o.kind <> 'c' -- not o.drop IS NOT NULL: that would format every routine's first
	  AND (o.rel = 0 OR EXISTS (SELECT 1 FROM seam_baseline.objects b WHERE b.kind = 'r' AND b.obj = o.rel))
	  AND NOT EXISTS (SELECT 1 FROM seam_baseline.objects b WHERE b.kind = o.kind AND b.obj = o.obj);

-- note notes a table written (0: DDL ran), once per transaction: the
-- setting seam.noted lists those it noted (",16384,16390,"), local to the
-- transaction (and undone with a savepoint rolled back, as its note is).
-- It takes no lock another writer waits for: a plain INSERT into a table
-- without a key, and no read of the others' notes (one committed before
-- may be deleted by a reset before this transaction commits, and a note
-- of its own is the only one sure to outlive it). The notes are written
-- with seam's rights: the system under test may connect as a role of its
-- own, which may not write to seam's schema. A reset's own writes and DDL
-- are not noted (seam.noted '*').
CREATE FUNCTION seam_baseline.note(r oid) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
	noted text := coalesce(nullif(current_setting('seam.noted', true), ''), ',');
BEGIN
	IF strpos(noted, ',' || r || ',') = 0 AND noted <> '*' THEN
		INSERT INTO seam_baseline.dirty VALUES (r);
		PERFORM set_config('seam.noted', noted || r || ',', true);
	END IF;
END $$;

-- mark is the trigger seam_dirty of each baseline table, ENABLE ALWAYS:
-- it fires in a session with session_replication_role = replica too
-- (which turns the system's own triggers and foreign-key checks off): that
-- session is noted too (1), and reset says so.
CREATE FUNCTION seam_baseline.mark() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
	PERFORM seam_baseline.note(TG_RELID);
	IF current_setting('session_replication_role') = 'replica' THEN
		PERFORM seam_baseline.note(1);
	END IF;
	RETURN NULL;
END $$;

-- ddl notes DDL (0). A REFRESH MATERIALIZED VIEW alone notes the view
-- instead: reset refreshes it again, and has no DDL to undo. An ALTER
-- TABLE that turned seam's own trigger off (DISABLE TRIGGER USER or ALL)
-- notes its table too: the writes made before it is on again are not
-- noted, and its rows are to be restored all the same. The event trigger
-- is ENABLE ALWAYS, as the tables' are.
CREATE FUNCTION seam_baseline.ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
	c record;
	other boolean := true;
BEGIN
	FOR c IN SELECT command_tag, objid FROM pg_event_trigger_ddl_commands() LOOP
		IF c.command_tag = 'REFRESH MATERIALIZED VIEW' THEN
			PERFORM seam_baseline.note(c.objid);
			other := false;
		ELSE
			other := true;
			EXIT;
		END IF;
	END LOOP;
	IF other THEN
		PERFORM seam_baseline.note(0);
	END IF;
	IF TG_TAG = 'ALTER TABLE' THEN
		PERFORM seam_baseline.note(tgrelid) FROM pg_trigger WHERE tgname = 'seam_dirty' AND tgenabled = 'D';
	END IF;
END $$;
CREATE EVENT TRIGGER seam_ddl ON ddl_command_end EXECUTE FUNCTION seam_baseline.ddl();
ALTER EVENT TRIGGER seam_ddl ENABLE ALWAYS;

-- authsig is the fingerprint of the roles, their memberships and settings:
-- the rows' xmin, which every write to a row changes (it writes a new
-- version); half the cost of the rows' text, and it runs at every reset.
-- Anything else that moved a row (VACUUM FULL) would cost one pass of
-- undo_roles that finds nothing. plpgsql: its plan is kept for the session.
CREATE FUNCTION seam_baseline.authsig() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT string_agg(x::text, ',') FROM (SELECT xmin FROM pg_authid UNION ALL
		SELECT xmin FROM pg_auth_members UNION ALL SELECT xmin FROM pg_db_role_setting UNION ALL
		SELECT xmin FROM pg_database WHERE datname = current_database()) t(x));
END $$;

-- track gives a baseline table seam's trigger, on whatever a session's
-- session_replication_role (ENABLE ALWAYS). Its condition keeps a reset's
-- own writes from calling it (seam.noted '*'): a call costs some 100µs a
-- statement, twice for each table restored.
CREATE FUNCTION seam_baseline.track(r oid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'seam_dirty') THEN
		EXECUTE format('CREATE TRIGGER seam_dirty AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s
			FOR EACH STATEMENT WHEN (current_setting(''seam.noted'', true) IS DISTINCT FROM ''*'')
			EXECUTE FUNCTION seam_baseline.mark()', r::regclass);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'seam_dirty' AND tgenabled = 'A') THEN
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER seam_dirty', r::regclass);
	END IF;
END $$;

-- viewsig is what tells a view changed: its query's tree (the _RETURN
-- rule, which CREATE OR REPLACE VIEW writes anew), its columns and its
-- options (ALTER VIEW … SET). Not its name: a view renamed is the same.
CREATE FUNCTION seam_baseline.viewsig(r oid) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT concat_ws(' ', (SELECT w.ev_action::text FROM pg_rewrite w WHERE w.ev_class = r AND w.rulename = '_RETURN'),
		(SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ',' ORDER BY a.attnum)
		 FROM pg_attribute a WHERE a.attrelid = r AND a.attnum > 0 AND NOT a.attisdropped),
		(SELECT c.reloptions::text FROM pg_class c WHERE c.oid = r))
$$;

-- remakes is the rows of seam_baseline.remake as the baseline has them.
-- The search_path pg_catalog qualifies every name the pg_get_*def
-- functions give: a reset's session may have another.
CREATE FUNCTION seam_baseline.remakes() RETURNS SETOF seam_baseline.remake LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
	SELECT c.oid, c.relkind, format('%I.%I', n.nspname, c.relname), NULL,
		format('%sTABLE %I.%I (%s)%s', CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END, n.nspname, c.relname,
			coalesce((SELECT string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
					CASE WHEN a.attcollation <> 0 AND a.attcollation <> y.typcollation THEN 'COLLATE ' || a.attcollation::regcollation::text END,
					CASE WHEN a.attgenerated = 's' THEN format('GENERATED ALWAYS AS (%s) STORED', pg_get_expr(ad.adbin, ad.adrelid))
						WHEN ad.adbin IS NOT NULL THEN 'DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) END,
					CASE WHEN a.attidentity IN ('a', 'd') THEN
						(SELECT format('GENERATED %s AS IDENTITY (SEQUENCE NAME %I.%I INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s)',
							CASE a.attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END, qn.nspname, q.relname,
							s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
						 FROM pg_depend d JOIN pg_class q ON q.oid = d.objid JOIN pg_namespace qn ON qn.oid = q.relnamespace JOIN pg_sequence s ON s.seqrelid = q.oid
						 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
						   AND d.refobjsubid = a.attnum AND d.deptype = 'i' LIMIT 1) END,
					CASE WHEN a.attnotnull THEN 'NOT NULL' END), ', ' ORDER BY a.attnum)
			 FROM pg_attribute a JOIN pg_type y ON y.oid = a.atttypid LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),
			CASE WHEN c.reloptions IS NOT NULL THEN format(' WITH (%s)', array_to_string(c.reloptions, ', ')) ELSE '' END),
		ARRAY(SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid))
			FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'c', 'x') ORDER BY k.oid)
		|| ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid
			AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('i', 'P'))
			ORDER BY i.indexrelid)
		|| ARRAY(SELECT x FROM pg_trigger g, LATERAL unnest(ARRAY[pg_get_triggerdef(g.oid),
				CASE WHEN g.tgenabled <> 'O' THEN format('ALTER TABLE %I.%I %s TRIGGER %I', n.nspname, c.relname,
					CASE g.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END, g.tgname) END]) WITH ORDINALITY u(x, o)
			WHERE g.tgrelid = c.oid AND NOT g.tgisinternal AND g.tgname <> 'seam_dirty' AND x IS NOT NULL
			ORDER BY g.oid, o)
		|| CASE WHEN c.relrowsecurity THEN ARRAY[format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', n.nspname, c.relname)] ELSE '{}' END
		|| CASE WHEN c.relforcerowsecurity THEN ARRAY[format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', n.nspname, c.relname)] ELSE '{}' END,
		ARRAY(SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
			FROM pg_constraint k WHERE k.contype = 'f' AND k.conparentid = 0 AND (k.conrelid = c.oid OR k.confrelid = c.oid) ORDER BY k.oid),
		0, c.relowner,
		ARRAY(SELECT CASE WHEN a.attisdropped THEN NULL ELSE a.attname END FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum),
		(SELECT jsonb_object_agg(d.objid::text, a.attname) FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
		 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.deptype = 'i'),
		(SELECT jsonb_object_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid)),
			format('ALTER TABLE %s VALIDATE CONSTRAINT %I', k.conrelid::regclass, k.conname))
		 FROM pg_constraint k WHERE k.contype = 'f' AND k.conparentid = 0 AND k.convalidated AND (k.conrelid = c.oid OR k.confrelid = c.oid))
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN seam_baseline.rels t ON t.rel = c.oid
	WHERE c.relkind = 'r' AND NOT c.relispartition AND c.reloftype = 0
	  AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
	UNION ALL
	SELECT c.oid, c.relkind, format('%I.%I', n.nspname, c.relname), seam_baseline.viewsig(c.oid),
		format('%s %I.%I (%s)%s AS %s%s', CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, n.nspname, c.relname,
			(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
			 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
			CASE WHEN c.reloptions IS NOT NULL THEN format(' WITH (%s)', array_to_string(c.reloptions, ', ')) ELSE '' END,
			rtrim(pg_get_viewdef(c.oid), '; ' || E'\n'), CASE c.relkind WHEN 'm' THEN ' WITH NO DATA' ELSE '' END),
		ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY i.indexrelid), '{}',
		0, c.relowner, NULL, NULL, NULL
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN seam_baseline.rels t ON t.rel = c.oid
	WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT c.oid, c.relkind, format('%I.%I', n.nspname, c.relname), NULL,
		format('%sSEQUENCE %I.%I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s',
			CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END, n.nspname, c.relname, s.seqtypid::regtype,
			s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END),
		'{}',
		ARRAY(SELECT format('ALTER SEQUENCE %I.%I OWNED BY %s.%I', n.nspname, c.relname, d.refobjid::regclass, a.attname)
			FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
			WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a')
		|| ARRAY(SELECT format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', ad.adrelid::regclass, a.attname, pg_get_expr(ad.adbin, ad.adrelid))
			FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
			WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.deptype = 'n'
			ORDER BY ad.oid),
		coalesce((SELECT d.refobjid FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
			AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1), 0),
		c.relowner, NULL, NULL, NULL
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN seam_baseline.rels t ON t.rel = c.oid
		JOIN pg_sequence s ON s.seqrelid = c.oid
	WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
$$;

-- seqsig is what tells a sequence's options changed (ALTER SEQUENCE).
CREATE FUNCTION seam_baseline.seqsig(s pg_sequence) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT (s.seqtypid, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)::text
$$;

-- copy makes the copy of one root table and the restore rows of it and its
-- partitions.
CREATE FUNCTION seam_baseline.copy(r oid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	t record;
	m record;
	n bigint;
	ins text;
	copy text := 'seam_baseline.t' || r;
BEGIN
	SELECT * INTO t FROM seam_baseline.rels WHERE rel = r;
	EXECUTE format('DROP TABLE IF EXISTS %s', copy);
	EXECUTE format('CREATE TABLE %s AS SELECT %s FROM %s', copy, t.cols, t.name);
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		ins := format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s', t.name, t.cols, t.cols, copy);
	END IF;
	FOR m IN SELECT * FROM seam_baseline.rels WHERE root = r AND relkind IN ('r', 'p') LOOP
		INSERT INTO seam_baseline.restore VALUES (m.rel, r, m.name || ':' || m.cols, 'DELETE FROM ' || t.name, ins)
			ON CONFLICT (rel) DO UPDATE SET root = EXCLUDED.root, sig = EXCLUDED.sig, del = EXCLUDED.del, ins = EXCLUDED.ins;
		PERFORM seam_baseline.track(m.rel);
	END LOOP;
END $$;

-- take brings the baseline up to date: tables made, altered or written
-- since it was last taken are copied again, the others are kept.
CREATE FUNCTION seam_baseline.take() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r oid;
	fresh boolean;
BEGIN
	FOR r IN
		SELECT s.root FROM seam_baseline.restore s LEFT JOIN seam_baseline.rels t USING (rel)
		WHERE t.rel IS NULL OR s.sig IS DISTINCT FROM t.name || ':' || t.cols OR s.rel IN (SELECT rel FROM seam_baseline.dirty)
		UNION
		SELECT t.root FROM seam_baseline.rels t
		WHERE t.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM seam_baseline.restore s WHERE s.rel = t.rel)
	LOOP
		DELETE FROM seam_baseline.restore WHERE root = r;
		IF EXISTS (SELECT 1 FROM seam_baseline.rels WHERE rel = r) THEN
			PERFORM seam_baseline.copy(r);
		ELSE
			EXECUTE format('DROP TABLE IF EXISTS seam_baseline.t%s', r);
		END IF;
	END LOOP;
	DELETE FROM seam_baseline.objects;
	INSERT INTO seam_baseline.objects SELECT 'n', oid FROM seam_baseline.spaces;
	INSERT INTO seam_baseline.objects SELECT 'r', rel FROM seam_baseline.rels;
	INSERT INTO seam_baseline.objects SELECT kind, obj, rel, name, sig FROM seam_baseline.others;
	DELETE FROM seam_baseline.seqs;
	-- Each sequence's own last_value and is_called: pg_sequences shows NULL
	-- for a sequence not yet read, even after ALTER SEQUENCE … RESTART WITH
	-- 1001, whose next value is then 1001, not its start_value.
	FOR r IN
		SELECT format('%I.%I', schemaname, sequencename)::regclass::oid
		FROM pg_sequences WHERE schemaname IN (SELECT nspname FROM seam_baseline.spaces)
	LOOP
		EXECUTE format('INSERT INTO seam_baseline.seqs SELECT %s, last_value, is_called, $1, $2 FROM %s', r, r::regclass)
		USING (SELECT seam_baseline.seqsig(s) FROM pg_sequence s WHERE s.seqrelid = r),
			(SELECT format('AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s', s.seqtypid::regtype, s.seqincrement,
				s.seqmin, s.seqmax, s.seqstart, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
			 FROM pg_sequence s WHERE s.seqrelid = r);
	END LOOP;
	-- A job may have turned seam's triggers off, or left them so.
	PERFORM seam_baseline.track(rel) FROM seam_baseline.restore;
	DELETE FROM seam_baseline.parts;
	INSERT INTO seam_baseline.parts SELECT c.oid, i.inhparent, pg_get_expr(c.relpartbound, c.oid), format('%I.%I', n.nspname, c.relname),
		c.relowner, (SELECT count(*) FROM pg_partition_ancestors(c.oid)) - 1
	FROM pg_class c JOIN seam_baseline.rels t ON t.rel = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_inherits i ON i.inhrelid = c.oid
	WHERE c.relispartition;
	-- A materialized view is fresh when its rows (as text, sorted) are
	-- what its query gives now; one whose rows cannot be compared so is
	-- taken as stale. One not populated is brought back as it is by
	-- REFRESH … WITH NO DATA.
	DELETE FROM seam_baseline.remake;
	INSERT INTO seam_baseline.remake SELECT * FROM seam_baseline.remakes();
	DELETE FROM seam_baseline.advisory;
	INSERT INTO seam_baseline.advisory SELECT l.pid, a.backend_start, l.classid, l.objid, l.objsubid, l.mode
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
	DELETE FROM seam_baseline.mviews;
	FOR r IN SELECT t.rel FROM seam_baseline.rels t WHERE t.relkind = 'm' LOOP
		fresh := true;
		IF (SELECT relispopulated FROM pg_class WHERE oid = r) THEN
			BEGIN
				EXECUTE format('SELECT (SELECT string_agg(x::text, E''\n'' ORDER BY x::text) FROM %s x)
					IS NOT DISTINCT FROM (SELECT string_agg(x::text, E''\n'' ORDER BY x::text) FROM (%s) x)',
					r::regclass, rtrim(pg_get_viewdef(r), '; ' || E'\n')) INTO fresh;
			EXCEPTION WHEN OTHERS THEN
				fresh := false;
			END;
		END IF;
		INSERT INTO seam_baseline.mviews SELECT r, relispopulated, fresh FROM pg_class WHERE oid = r;
	END LOOP;
	DELETE FROM seam_baseline.los;
	INSERT INTO seam_baseline.los SELECT oid FROM pg_largeobject_metadata;
	DELETE FROM seam_baseline.prepared;
	INSERT INTO seam_baseline.prepared SELECT gid FROM pg_prepared_xacts WHERE database = current_database();
	DELETE FROM seam_baseline.comments;
	INSERT INTO seam_baseline.comments SELECT * FROM pg_description WHERE objoid >= 16384;
	DELETE FROM seam_baseline.roles;
	INSERT INTO seam_baseline.roles SELECT a.*, EXISTS (SELECT 1 FROM pg_shdepend d
		WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = a.oid AND d.deptype <> 'p') FROM pg_authid a;
	DELETE FROM seam_baseline.members;
	INSERT INTO seam_baseline.members SELECT * FROM pg_auth_members;
	DELETE FROM seam_baseline.settings;
	INSERT INTO seam_baseline.settings SELECT * FROM pg_db_role_setting;
	DELETE FROM seam_baseline.auth;
	INSERT INTO seam_baseline.auth SELECT seam_baseline.authsig(), datdba FROM pg_database WHERE datname = current_database();
	DELETE FROM seam_baseline.acls;
	INSERT INTO seam_baseline.acls SELECT kind, obj, acl, sig FROM seam_baseline.privs;
	DELETE FROM seam_baseline.dirty;
END $$;

-- undo_privs gives the baseline's objects their privileges back (GRANT and
-- REVOKE a test ran, on them or on the database, and what a role it
-- dropped held): every grantee's go, the baseline's are granted again (a
-- superuser grants as the object's owner). It runs after undo_roles: the
-- roles the grants name are back by then.
CREATE FUNCTION seam_baseline.undo_privs() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	e record;
	said text[] := '{}';
	who text;
BEGIN
	FOR r IN SELECT p.kind, p.obj, p.target, p.acl, b.acl AS base FROM seam_baseline.privs p
		JOIN seam_baseline.acls b USING (kind, obj) WHERE p.sig <> b.sig LOOP
		BEGIN
			FOR e IN SELECT DISTINCT grantee FROM aclexplode(r.acl) LOOP
				who := CASE e.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident((SELECT rolname FROM pg_authid WHERE oid = e.grantee)) END;
				CONTINUE WHEN who IS NULL;
				EXECUTE format('REVOKE ALL ON %s FROM %s CASCADE', r.target, who);
			END LOOP;
			FOR e IN SELECT * FROM aclexplode(r.base) LOOP
				who := CASE e.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident((SELECT rolname FROM pg_authid WHERE oid = e.grantee)) END;
				CONTINUE WHEN who IS NULL;
				EXECUTE format('GRANT %s ON %s TO %s%s', e.privilege_type, r.target, who, CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
			END LOOP;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('the privileges on %s of the baseline, changed by a test, could not be given back (%s): the tests after it run with the change', r.target, SQLERRM);
		END;
	END LOOP;
	-- What came back as it could (a grantor the owner now) is the baseline.
	UPDATE seam_baseline.acls b SET acl = p.acl, sig = p.sig FROM seam_baseline.privs p WHERE p.kind = b.kind AND p.obj = b.obj AND p.sig <> b.sig;
	RETURN nullif(array_to_string(said, E'\n'), '');
END $$;

-- remade moves what seam keeps of relation old of the baseline (made
-- again by reset as made) to made, and returns what old had that made
-- has not (a view's triggers and rules, a table's policies and rules,
-- what could not be made again), or null. A table's rows are restored
-- from its copy, renamed for made, and its identity sequences set back.
CREATE FUNCTION seam_baseline.remade(old oid, made oid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	lost text;
	m record;
	t record;
	q record;
BEGIN
	SELECT * INTO m FROM seam_baseline.remake WHERE rel = made;
	SELECT string_agg(b.name, ', ' ORDER BY b.name) INTO lost FROM seam_baseline.objects b
	WHERE b.rel = old AND NOT EXISTS (SELECT 1 FROM seam_baseline.others o WHERE o.rel = made AND o.kind = b.kind AND o.name = b.name);
	DELETE FROM seam_baseline.objects WHERE rel = old OR (kind = 'r' AND obj = old);
	INSERT INTO seam_baseline.objects VALUES ('r', made);
	INSERT INTO seam_baseline.objects SELECT kind, obj, rel, name, sig FROM seam_baseline.others WHERE rel = made;
	UPDATE seam_baseline.acls SET obj = made WHERE kind IN ('r', 's') AND obj = old;
	UPDATE seam_baseline.seqs SET seq = made WHERE seq = old;
	UPDATE seam_baseline.mviews SET mv = made WHERE mv = old;
	UPDATE seam_baseline.remake SET dep = made WHERE dep = old; -- its serial sequences
	-- A column's comment by its name: a table made again has no dropped columns.
	UPDATE seam_baseline.comments c SET objoid = made,
		objsubid = CASE WHEN c.objsubid = 0 THEN 0 ELSE coalesce((SELECT a.attnum FROM pg_attribute a
			WHERE a.attrelid = made AND a.attname = m.cols[c.objsubid] AND NOT a.attisdropped), -1) END
	WHERE c.classoid = 'pg_class'::regclass AND c.objoid = old;
	DELETE FROM seam_baseline.comments WHERE classoid = 'pg_class'::regclass AND objoid = made AND objsubid = -1;
	UPDATE seam_baseline.remake SET sig = CASE WHEN relkind IN ('v', 'm') THEN seam_baseline.viewsig(made) END,
		cols = CASE WHEN relkind = 'r' THEN ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = made AND a.attnum > 0 ORDER BY a.attnum) END
	WHERE rel = made;
	IF m.relkind = 'r' THEN
		-- Its identity sequences are made with it: what seam keeps of them moves.
		FOR q IN SELECT i.key::oid AS was, d.objid AS now FROM jsonb_each_text(m.idents) i
			JOIN pg_attribute a ON a.attrelid = made AND a.attname = i.value
			JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = made
				AND d.refobjsubid = a.attnum AND d.deptype = 'i' LOOP
			UPDATE seam_baseline.seqs SET seq = q.now WHERE seq = q.was;
			UPDATE seam_baseline.acls SET obj = q.now WHERE kind = 's' AND obj = q.was;
			UPDATE seam_baseline.objects SET obj = q.now WHERE kind = 'r' AND obj = q.was;
		END LOOP;
		UPDATE seam_baseline.remake SET idents = (SELECT jsonb_object_agg(d.objid::text, a.attname) FROM pg_depend d
			JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
			WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = made AND d.deptype = 'i')
		WHERE rel = made;
		EXECUTE format('DROP TABLE IF EXISTS seam_baseline.t%s', made); -- a dropped table's whose oid made reuses
		EXECUTE format('ALTER TABLE seam_baseline.t%s RENAME TO t%s', old, made);
		SELECT * INTO t FROM seam_baseline.rels WHERE rel = made;
		UPDATE seam_baseline.restore SET rel = made, root = made, sig = t.name || ':' || t.cols, del = 'DELETE FROM ' || t.name,
			ins = CASE WHEN ins IS NOT NULL THEN format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM seam_baseline.t%s', t.name, t.cols, t.cols, made) END
		WHERE rel = old;
		PERFORM seam_baseline.track(made);
	END IF;
	RETURN lost;
END $$;

-- make_again makes the baseline's tables, views, materialized views and
-- sequences that a test dropped again, as they were (owner; privileges
-- and comments: undo_privs and undo_ddl give them back; a table's rows,
-- and a materialized view's: reset restores and refreshes them, more; a
-- sequence's value: reset sets it), and gives a view a test replaced
-- (CREATE OR REPLACE VIEW, ALTER VIEW … SET) its definition back: in
-- place (what depends on it stays) or, when its columns changed, dropped
-- and made again. Sequences first, then tables, then views; in turns,
-- until a turn makes nothing (a view on another view dropped waits for
-- it); the foreign keys and a sequence's OWNED BY once all are made. What
-- it cannot make, set back or make again whole it says. A table the test
-- made in the place of one it dropped (a helper that drops and makes a
-- table again) is gone by then, as every table a test made is.
CREATE FUNCTION seam_baseline.make_again(OUT said text[], OUT more oid[]) LANGUAGE plpgsql AS $$
DECLARE
	r record;
	why jsonb := '{}'; -- the last error of each (by oid) not made yet
	progress boolean;
	made oid;
	stmt text;
	done text[] := '{}'; -- the later statements run
	lost text[];
	losts jsonb := '{}'; -- what each made again (by oid) lacks, so far
	olds oid[] := '{}'; -- the relations made again, and how
	mades oid[] := '{}';
	replaced boolean[] := '{}';
	gone text;
BEGIN
	said := '{}';
	more := '{}';
	-- A sequence that went with a table that owned it, a table seam does not
	-- make again, is said of the table.
	DELETE FROM seam_baseline.remake m WHERE m.dep <> 0 AND NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = m.dep)
		AND NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = m.rel) AND NOT EXISTS (SELECT 1 FROM seam_baseline.remake t WHERE t.rel = m.dep);
	LOOP
		progress := false;
		FOR r IN SELECT m.*, c.oid IS NOT NULL AS alive FROM seam_baseline.remake m LEFT JOIN pg_class c ON c.oid = m.rel
			WHERE c.oid IS NULL OR m.relkind = 'v' AND seam_baseline.viewsig(m.rel) IS DISTINCT FROM m.sig
			ORDER BY position(m.relkind IN 'Srvm'), m.rel LOOP
			BEGIN
				IF r.alive THEN
					BEGIN
						EXECUTE 'CREATE OR REPLACE ' || r.make;
						UPDATE seam_baseline.remake SET sig = seam_baseline.viewsig(r.rel) WHERE rel = r.rel;
						progress := true;
						CONTINUE;
					EXCEPTION WHEN OTHERS THEN
						NULL; -- its columns changed (CREATE OR REPLACE only adds some): dropped and made again
					END;
					EXECUTE format('DROP VIEW %s', r.rel::regclass);
				END IF;
				EXECUTE 'CREATE ' || r.make;
				made := r.name::regclass::oid;
				EXECUTE format('ALTER %s %s OWNER TO %s', CASE r.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'SEQUENCE' END,
					made::regclass, r.owner::regrole);
			EXCEPTION WHEN OTHERS THEN
				why := why || jsonb_build_object(r.rel::text, SQLERRM);
				CONTINUE;
			END;
			progress := true;
			UPDATE seam_baseline.remake SET rel = made WHERE rel = r.rel;
			olds := olds || r.rel;
			mades := mades || made;
			replaced := replaced || r.alive;
			lost := '{}';
			FOREACH stmt IN ARRAY r.after LOOP
				BEGIN
					EXECUTE stmt;
				EXCEPTION WHEN OTHERS THEN
					lost := lost || format('%s (%s)', stmt, SQLERRM);
				END;
			END LOOP;
			losts := losts || jsonb_build_object(made::text, lost);
			IF r.relkind = 'm' THEN
				more := more || made;
			END IF;
		END LOOP;
		EXIT WHEN NOT progress;
	END LOOP;
	-- A table's rows, before the foreign keys to it are checked.
	FOR r IN SELECT s.del, s.ins FROM seam_baseline.restore s WHERE s.rel = ANY (olds) LOOP
		EXECUTE r.del;
		IF r.ins IS NOT NULL THEN
			EXECUTE r.ins;
		END IF;
	END LOOP;
	FOR i IN 1 .. cardinality(mades) LOOP
		SELECT * INTO r FROM seam_baseline.remake WHERE rel = mades[i];
		lost := ARRAY(SELECT jsonb_array_elements_text(losts->(mades[i]::text)));
		FOREACH stmt IN ARRAY r.later LOOP
			CONTINUE WHEN stmt = ANY (done);
			done := done || stmt;
			BEGIN
				EXECUTE stmt;
			EXCEPTION WHEN foreign_key_violation THEN
				-- Rows of the test's in the other table, not restored yet.
				BEGIN
					EXECUTE stmt || ' NOT VALID';
					IF r.checks->>stmt IS NOT NULL THEN
						INSERT INTO seam_baseline.pending VALUES (r.checks->>stmt);
					END IF;
				EXCEPTION WHEN OTHERS THEN
					lost := lost || format('%s (%s)', stmt, SQLERRM);
				END;
			WHEN OTHERS THEN
				lost := lost || format('%s (%s)', stmt, SQLERRM);
			END;
		END LOOP;
		gone := seam_baseline.remade(olds[i], mades[i]);
		IF gone IS NOT NULL THEN
			lost := lost || gone;
		END IF;
		IF r.relkind = 'm' AND EXISTS (SELECT 1 FROM seam_baseline.mviews WHERE mv = mades[i] AND populated AND NOT fresh) THEN
			-- Its rows once refreshed are the baseline's from now on.
			UPDATE seam_baseline.mviews SET fresh = true WHERE mv = mades[i];
			lost := lost || 'its rows in the baseline (they were not what its query gives on the baseline''s tables: it was refreshed before the last writes of init or a job; its rows are now what its query gives)'::text;
		END IF;
		IF cardinality(lost) > 0 THEN
			said := said || format('%s %s of the baseline was %s by a test: seam made it again, but not %s: the tests after it run without them',
				CASE r.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'sequence' END, r.name,
				CASE WHEN replaced[i] THEN 'replaced' ELSE 'dropped' END, array_to_string(lost, '; '));
		END IF;
	END LOOP;
	-- Constraints of other tables made again (a foreign key to a table made
	-- again) are the baseline's.
	UPDATE seam_baseline.objects b SET obj = o.obj, sig = o.sig FROM seam_baseline.others o
	WHERE cardinality(mades) > 0 AND b.kind = 'c' AND o.kind = 'c' AND o.rel = b.rel AND o.name = b.name AND o.obj <> b.obj
	  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = b.obj);
	FOR r IN SELECT m.*, c.oid IS NOT NULL AS alive FROM seam_baseline.remake m LEFT JOIN pg_class c ON c.oid = m.rel
		WHERE c.oid IS NULL OR m.relkind = 'v' AND seam_baseline.viewsig(m.rel) IS DISTINCT FROM m.sig LOOP
		IF r.alive THEN
			said := said || format('view %s of the baseline was replaced by a test (CREATE OR REPLACE VIEW, ALTER VIEW): seam cannot set it back (%s), and the tests after it run with the change',
				r.name, why->>r.rel::text);
			UPDATE seam_baseline.remake SET sig = seam_baseline.viewsig(r.rel) WHERE rel = r.rel;
		ELSIF r.relkind <> 'r' THEN
			said := said || format('%s %s of the baseline was dropped by a test: seam cannot make it again (%s), and the tests after it run without it',
				CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'sequence' END, r.name, why->>r.rel::text);
			DELETE FROM seam_baseline.remake WHERE rel = r.rel;
		ELSE
			said := said || format('table %s of the baseline was dropped by a test: seam cannot make it again (%s), and the tests after it run without it',
				r.name, why->>r.rel::text);
			DELETE FROM seam_baseline.remake WHERE rel = r.rel;
			DELETE FROM seam_baseline.restore WHERE root = r.rel; -- not said again by undo_ddl
		END IF;
	END LOOP;
END $$;

-- undo_ddl drops what tests made, sets back what it can, and says what
-- cannot be undone (says). more: the tables whose rows are to be restored
-- too (seam's trigger was off on them; a partition attached or made
-- again).
CREATE FUNCTION seam_baseline.undo_ddl(OUT says text, OUT more oid[]) LANGUAGE plpgsql AS $$
DECLARE
	r record;
	p record;
	kept text[];
	keptrels text[];
	said text[] := '{}';
	dropped boolean;
	alive boolean;
	shared text; -- the columns a copy and its altered table share
	attached oid; -- a partition's parent now
	bound text;
	made oid;
	lost text;
	again record;
BEGIN
	more := '{}';
	FOR r IN SELECT * FROM seam_baseline.spaces s WHERE NOT EXISTS (SELECT 1 FROM seam_baseline.objects WHERE kind = 'n' AND obj = s.oid) LOOP
		EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
	END LOOP;
	-- Dependants first: a drop that fails on them is tried again once they
	-- are gone.
	LOOP
		dropped := false;
		kept := '{}';
		keptrels := '{}';
		FOR r IN SELECT * FROM seam_baseline.made ORDER BY ord LOOP
			-- Gone with what it belonged to (a sequence owned by a table)?
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE oid = $1)', r.cat) INTO alive USING r.obj;
			CONTINUE WHEN NOT alive;
			BEGIN
				EXECUTE r.drop;
				dropped := true;
			EXCEPTION WHEN dependent_objects_still_exist THEN
				IF r.kind = 'r' THEN
					keptrels := keptrels || r.name;
				ELSE
					kept := kept || r.name;
				END IF;
			END;
		END LOOP;
		EXIT WHEN NOT dropped OR cardinality(kept) + cardinality(keptrels) = 0;
	END LOOP;
	FOR r IN SELECT * FROM seam_baseline.rels t WHERE t.name = ANY (keptrels) AND t.relkind IN ('r', 'p') LOOP
		EXECUTE 'DELETE FROM ' || r.name;
		said := said || format('%s, made by a test, is used by the baseline (a foreign key or a view on it?): it was emptied, not dropped', r.name);
	END LOOP;
	FOR i IN 1 .. cardinality(kept) LOOP
		said := said || format('%s, made by a test, is used by the baseline (a column''s type or default, a trigger?): it was kept, not dropped', kept[i]);
	END LOOP;
	-- seam's own triggers that a test turned off (and left off, or on
	-- again but not ALWAYS) are on again, and their tables restored.
	FOR r IN SELECT g.tgrelid FROM pg_trigger g WHERE g.tgname = 'seam_dirty' AND g.tgenabled <> 'A'
		AND EXISTS (SELECT 1 FROM seam_baseline.restore s WHERE s.rel = g.tgrelid) LOOP
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER seam_dirty', r.tgrelid::regclass);
		more := more || r.tgrelid;
	END LOOP;
	-- Partitions of the baseline that a test detached (or attached
	-- elsewhere, or with another bound) are attached again, and those it
	-- dropped made again, parents first; their root's rows are restored.
	-- The rows of their parent go first: an attach checks that the
	-- default partition holds no row of the bound.
	FOR r IN SELECT rel FROM seam_baseline.parts ORDER BY lvl LOOP
		SELECT * INTO p FROM seam_baseline.parts WHERE rel = r.rel; -- its parent may be made again by now
		CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = p.parent); -- said of the parent
		IF EXISTS (SELECT 1 FROM pg_class WHERE oid = p.rel) THEN
			attached := (SELECT inhparent FROM pg_inherits WHERE inhrelid = p.rel);
			bound := (SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = p.rel);
			CONTINUE WHEN attached = p.parent AND bound = p.bound;
			BEGIN
				IF attached IS NOT NULL THEN
					EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', attached::regclass, p.rel::regclass);
				END IF;
				EXECUTE format('DELETE FROM %s', p.rel::regclass);
				EXECUTE format('DELETE FROM %s', p.parent::regclass);
				EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s %s', p.parent::regclass, p.rel::regclass, p.bound);
				more := more || p.rel;
			EXCEPTION WHEN OTHERS THEN
				said := said || format('partition %s of %s in the baseline was detached by a test: seam cannot attach it again (%s), and the tests after it run without it',
					p.rel::regclass, p.parent::regclass, SQLERRM);
			END;
			CONTINUE;
		END IF;
		BEGIN
			EXECUTE format('DELETE FROM %s', p.parent::regclass);
			EXECUTE format('CREATE TABLE %s PARTITION OF %s %s', p.name, p.parent::regclass, p.bound);
			made := p.name::regclass::oid;
			EXECUTE format('ALTER TABLE %s OWNER TO %s', made::regclass, p.owner::regrole);
			-- What it had beyond what PARTITION OF gives (its parent's).
			SELECT string_agg(b.name, ', ' ORDER BY b.name) INTO lost FROM seam_baseline.objects b
			WHERE b.rel = p.rel AND NOT EXISTS (SELECT 1 FROM seam_baseline.others o WHERE o.rel = made AND o.kind = b.kind AND o.name = b.name);
			DELETE FROM seam_baseline.objects WHERE rel = p.rel OR (kind = 'r' AND obj = p.rel);
			INSERT INTO seam_baseline.objects VALUES ('r', made);
			INSERT INTO seam_baseline.objects SELECT kind, obj, rel, name, sig FROM seam_baseline.others WHERE rel = made;
			UPDATE seam_baseline.restore SET rel = made WHERE rel = p.rel;
			UPDATE seam_baseline.acls SET obj = made WHERE kind = 'r' AND obj = p.rel;
			UPDATE seam_baseline.parts SET parent = made WHERE parent = p.rel;
			UPDATE seam_baseline.parts SET rel = made WHERE rel = p.rel;
			PERFORM seam_baseline.track(made);
			more := more || made;
			IF lost IS NOT NULL THEN
				said := said || format('partition %s of %s in the baseline was dropped by a test: seam made it again (%s) with its rows, but not its own %s: the tests after it run without them',
					made::regclass, p.parent::regclass, p.bound, lost);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('partition %s of %s in the baseline was dropped by a test: seam cannot make it again (%s), and the tests after it run without it',
				p.name, p.parent::regclass, SQLERRM);
		END;
	END LOOP;
	DELETE FROM seam_baseline.parts s WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = s.parent);
	SELECT m.said, m.more INTO again FROM seam_baseline.make_again() m;
	said := said || again.said;
	more := more || again.more;
	FOR r IN SELECT s.*, t.name, t.cols FROM seam_baseline.restore s LEFT JOIN seam_baseline.rels t USING (rel)
		WHERE s.rel = s.root AND (t.rel IS NULL OR s.sig <> t.name || ':' || t.cols) LOOP
		IF r.name IS NULL THEN
			said := said || format('%s of the baseline was dropped by a test: seam cannot bring it back, and the tests after it run without it', split_part(r.sig, ':', 1));
			DELETE FROM seam_baseline.restore WHERE root = r.root;
			CONTINUE;
		END IF;
		said := said || format('%s of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone', r.name);
		SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO shared FROM pg_attribute a
		WHERE a.attrelid = ('seam_baseline.t' || r.root)::regclass AND a.attnum > 0 AND NOT a.attisdropped
		  AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = r.root AND b.attname = a.attname AND NOT b.attisdropped AND b.attgenerated = '');
		UPDATE seam_baseline.restore s SET sig = t.name || ':' || t.cols, del = 'DELETE FROM ' || r.name,
			ins = CASE WHEN s.ins IS NULL OR shared IS NULL THEN NULL
				ELSE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM seam_baseline.t%s', r.name, shared, shared, r.root) END
		FROM seam_baseline.rels t WHERE s.root = r.root AND t.rel = s.rel;
	END LOOP;
	-- The baseline's other objects that a test dropped or changed. Those
	-- on a table that is gone went with it, which is said above.
	FOR r IN SELECT b.kind, b.obj, b.rel, b.name, o.sig, b.sig AS base FROM seam_baseline.objects b LEFT JOIN seam_baseline.others o USING (kind, obj)
		WHERE b.kind NOT IN ('n', 'r') AND o.sig IS DISTINCT FROM b.sig LOOP
		IF r.rel <> 0 AND NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = r.rel) THEN
			NULL;
		ELSIF r.kind = 't' AND substr(r.sig, 2) = substr(r.base, 2) THEN
			-- Only turned on or off (ENABLE, DISABLE TRIGGER): set back.
			EXECUTE format('ALTER TABLE %s %s TRIGGER %I', r.rel::regclass,
				CASE left(r.base, 1) WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' ELSE 'ENABLE' END,
				(SELECT tgname FROM pg_trigger WHERE oid = r.obj));
			CONTINUE;
		ELSIF r.kind = 'x' AND r.sig IS NOT NULL THEN
			BEGIN
				EXECUTE format('ALTER EXTENSION %I UPDATE TO %L', (SELECT extname FROM pg_extension WHERE oid = r.obj), r.base);
				CONTINUE;
			EXCEPTION WHEN OTHERS THEN
				said := said || format('%s of the baseline was updated by a test to version %s: seam cannot set it back to version %s (%s), and the tests after it run with it',
					r.name, r.sig, r.base, SQLERRM);
			END;
		ELSIF r.kind = 'c' THEN
			said := said || format('%s of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone', r.rel::regclass);
		ELSIF r.sig IS NULL THEN
			said := said || format('%s of the baseline was dropped by a test: seam cannot bring it back, and the tests after it run without it', r.name);
		ELSE
			said := said || format('%s of the baseline was changed by a test: seam cannot undo the change, and the tests after it run with it', r.name);
		END IF;
		IF r.sig IS NULL THEN
			DELETE FROM seam_baseline.objects WHERE kind = r.kind AND obj = r.obj;
		ELSE
			UPDATE seam_baseline.objects SET sig = r.sig WHERE kind = r.kind AND obj = r.obj;
		END IF;
	END LOOP;
	-- Constraints a test added to a baseline table stay (a foreign key to
	-- a table of the test's keeps that table, said above).
	FOR r IN SELECT DISTINCT o.rel FROM seam_baseline.others o
		WHERE o.kind = 'c' AND EXISTS (SELECT 1 FROM seam_baseline.objects b WHERE b.kind = 'r' AND b.obj = o.rel)
		  AND NOT EXISTS (SELECT 1 FROM seam_baseline.objects b WHERE b.kind = 'c' AND b.obj = o.obj) LOOP
		said := said || format('%s of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone', r.rel::regclass);
	END LOOP;
	DELETE FROM seam_baseline.seqs s WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = s.seq);
	-- Sequence options (ALTER SEQUENCE, or ALTER TABLE … ALTER COLUMN … SET
	-- on an identity): set back; reset sets where each was after this.
	FOR r IN SELECT b.seq, b.opts, b.last FROM seam_baseline.seqs b JOIN pg_sequence s ON s.seqrelid = b.seq
		WHERE seam_baseline.seqsig(s) <> b.sig LOOP
		BEGIN
			EXECUTE format('ALTER SEQUENCE %s %s RESTART WITH %s', r.seq::regclass, r.opts, r.last);
		EXCEPTION WHEN OTHERS THEN
			said := said || format('sequence %s of the baseline was altered by a test (ALTER SEQUENCE): seam cannot set its options back (%s), and the tests after it run with them',
				r.seq::regclass, SQLERRM);
		END;
	END LOOP;
	-- Comments (COMMENT ON) on the objects made after initdb, written back
	-- to their catalog as the roles' settings are: a test's go, the
	-- baseline's come back on the objects still there.
	DELETE FROM pg_description d WHERE d.objoid >= 16384 AND NOT EXISTS (SELECT 1 FROM seam_baseline.comments b
		WHERE (b.objoid, b.classoid, b.objsubid, b.description) = (d.objoid, d.classoid, d.objsubid, d.description));
	INSERT INTO pg_description SELECT b.* FROM seam_baseline.comments b
	WHERE NOT EXISTS (SELECT 1 FROM pg_description d WHERE (d.objoid, d.classoid, d.objsubid) = (b.objoid, b.classoid, b.objsubid))
	  AND pg_describe_object(b.classoid, b.objoid, b.objsubid) IS NOT NULL;
	says := nullif(array_to_string(said, E'\n'), '');
END $$;

-- undo_roles brings the server's roles back to the baseline and says what
-- it cannot undo. It runs after undo_ddl: what a test made for its roles
-- in this database is gone by then.
CREATE FUNCTION seam_baseline.undo_roles() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	said text[] := '{}';
	heir regrole := (SELECT a.owner FROM seam_baseline.auth a);
	gave boolean;
	moved oid[] := '{}'; -- renamed to seam's name, and the name each had
	was name[] := '{}';
	why text;
	made oid;
BEGIN
	-- Roles a test made go, with their privileges here and on the
	-- server's shared objects. What one still owns here (after undo_ddl)
	-- is the baseline's, given to it by the test: it goes to the
	-- database's owner, as close to the baseline as seam can tell. A role
	-- that cannot go keeps all it had.
	FOR r IN SELECT a.oid, a.rolname FROM pg_authid a
		WHERE NOT EXISTS (SELECT 1 FROM seam_baseline.roles b WHERE b.oid = a.oid) ORDER BY a.oid DESC LOOP
		BEGIN
			gave := EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid AND d.deptype = 'o'
				AND d.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())));
			IF gave THEN
				EXECUTE format('REASSIGN OWNED BY %I TO %s', r.rolname, heir);
			END IF;
			EXECUTE format('DROP OWNED BY %I', r.rolname);
			EXECUTE format('DROP ROLE %I', r.rolname);
			IF gave THEN
				said := said || format('role %I, made by a test, owned objects of the baseline (ALTER … OWNER TO?): they were given to role %s, the database''s owner', r.rolname, heir);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS why = PG_EXCEPTION_DETAIL;
			said := said || format('role %I, made by a test, cannot be dropped (%s): it was kept, and the tests after it run with it',
				r.rolname, coalesce(nullif(replace(why, E'\n', '; '), ''), SQLERRM));
		END;
	END LOOP;
	-- Names, through a name of seam's: roles that swapped names get their
	-- own back. One whose name a kept role holds keeps the test's.
	FOR r IN SELECT b.oid, b.rolname AS want, a.rolname AS got FROM seam_baseline.roles b JOIN pg_authid a USING (oid) WHERE a.rolname <> b.rolname LOOP
		BEGIN
			EXECUTE format('ALTER ROLE %I RENAME TO %I', r.got, 'seam_renaming_' || r.oid);
			moved := moved || r.oid;
			was := was || r.got;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %I of the baseline was renamed %I by a test: seam cannot rename it back (%s), and the tests after it run with the new name', r.want, r.got, SQLERRM);
		END;
	END LOOP;
	FOR i IN 1 .. cardinality(moved) LOOP
		SELECT rolname INTO r FROM seam_baseline.roles WHERE oid = moved[i];
		BEGIN
			EXECUTE format('ALTER ROLE %I RENAME TO %I', 'seam_renaming_' || moved[i], r.rolname);
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %I of the baseline was renamed %I by a test: seam cannot rename it back (%s), and the tests after it run with the new name', r.rolname, was[i], SQLERRM);
			EXECUTE format('ALTER ROLE %I RENAME TO %I', 'seam_renaming_' || moved[i], was[i]);
		END;
	END LOOP;
	-- Roles a test dropped are made again; their attributes are set below.
	-- What they owned and their privileges on objects were dropped or
	-- given away before the role could go: that is said when they had any.
	FOR r IN SELECT b.* FROM seam_baseline.roles b WHERE NOT EXISTS (SELECT 1 FROM pg_authid a WHERE a.oid = b.oid) LOOP
		BEGIN
			EXECUTE format('CREATE ROLE %I', r.rolname);
			made := (SELECT oid FROM pg_authid WHERE rolname = r.rolname);
			UPDATE seam_baseline.roles SET oid = made WHERE oid = r.oid;
			UPDATE seam_baseline.members SET roleid = made WHERE roleid = r.oid;
			UPDATE seam_baseline.members SET member = made WHERE member = r.oid;
			UPDATE seam_baseline.members SET grantor = made WHERE grantor = r.oid;
			UPDATE seam_baseline.settings SET setrole = made WHERE setrole = r.oid;
			IF r.deps THEN
				said := said || format('role %I of the baseline was dropped by a test: seam made it again (attributes, password, memberships, settings), but not what it owned or its privileges on objects, and the tests after it run without them', r.rolname);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %I of the baseline was dropped by a test: seam cannot make it again (%s), and the tests after it run without it', r.rolname, SQLERRM);
		END;
	END LOOP;
	-- Attributes and password (the stored verifier, set back as it was).
	-- A VALID UNTIL cannot be set back to none, only to infinity, which
	-- means the same.
	FOR r IN SELECT b.*, b.oid::regrole AS cur FROM seam_baseline.roles b JOIN pg_authid a USING (oid)
		WHERE (a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, a.rolreplication, a.rolbypassrls,
			a.rolconnlimit, a.rolpassword, coalesce(a.rolvaliduntil, 'infinity'))
		IS DISTINCT FROM (b.rolsuper, b.rolinherit, b.rolcreaterole, b.rolcreatedb, b.rolcanlogin, b.rolreplication, b.rolbypassrls,
			b.rolconnlimit, b.rolpassword, coalesce(b.rolvaliduntil, 'infinity')) LOOP
		BEGIN
			EXECUTE format('ALTER ROLE %s WITH %sSUPERUSER %sINHERIT %sCREATEROLE %sCREATEDB %sLOGIN %sREPLICATION %sBYPASSRLS CONNECTION LIMIT %s PASSWORD %L VALID UNTIL %L',
				r.cur, CASE WHEN r.rolsuper THEN '' ELSE 'NO' END, CASE WHEN r.rolinherit THEN '' ELSE 'NO' END,
				CASE WHEN r.rolcreaterole THEN '' ELSE 'NO' END, CASE WHEN r.rolcreatedb THEN '' ELSE 'NO' END,
				CASE WHEN r.rolcanlogin THEN '' ELSE 'NO' END, CASE WHEN r.rolreplication THEN '' ELSE 'NO' END,
				CASE WHEN r.rolbypassrls THEN '' ELSE 'NO' END, r.rolconnlimit, r.rolpassword, coalesce(r.rolvaliduntil, 'infinity'));
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %I of the baseline was changed by a test (ALTER ROLE): seam cannot undo the change (%s), and the tests after it run with it', r.rolname, SQLERRM);
		END;
	END LOOP;
	-- Memberships: those the baseline has not are revoked, those it lost
	-- granted again by their grantor with their options (ADMIN; INHERIT
	-- and SET from PostgreSQL 16). A membership whose options changed is
	-- both.
	FOR r IN SELECT m.* FROM pg_auth_members m
		WHERE NOT EXISTS (SELECT 1 FROM seam_baseline.members b WHERE to_jsonb(b) - 'oid' = to_jsonb(m) - 'oid') LOOP
		BEGIN
			EXECUTE format('REVOKE %s FROM %s', r.roleid::regrole, r.member::regrole)
				|| CASE WHEN EXISTS (SELECT 1 FROM pg_authid WHERE oid = r.grantor) THEN format(' GRANTED BY %s', r.grantor::regrole) ELSE '' END;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %s was made a member of role %s by a test (GRANT): seam cannot undo it (%s), and the tests after it run with it', r.member::regrole, r.roleid::regrole, SQLERRM);
		END;
	END LOOP;
	FOR r IN SELECT b.*, to_jsonb(b) AS j FROM seam_baseline.members b
		WHERE NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE to_jsonb(b) - 'oid' = to_jsonb(m) - 'oid')
		  AND EXISTS (SELECT 1 FROM pg_authid WHERE oid = b.roleid) AND EXISTS (SELECT 1 FROM pg_authid WHERE oid = b.member) LOOP
		BEGIN
			EXECUTE format('GRANT %s TO %s', r.roleid::regrole, r.member::regrole)
				|| CASE WHEN r.j ? 'set_option' THEN format(' WITH ADMIN %s, INHERIT %s, SET %s', r.j->>'admin_option', r.j->>'inherit_option', r.j->>'set_option')
					WHEN r.admin_option THEN ' WITH ADMIN OPTION' ELSE '' END
				|| CASE WHEN EXISTS (SELECT 1 FROM pg_authid WHERE oid = r.grantor) THEN format(' GRANTED BY %s', r.grantor::regrole) ELSE '' END;
		EXCEPTION WHEN OTHERS THEN
			said := said || format('role %s lost its membership in role %s to a test (REVOKE): seam cannot grant it again (%s), and the tests after it run without it', r.member::regrole, r.roleid::regrole, SQLERRM);
		END;
	END LOOP;
	-- Settings are written back to their catalog: ALTER … SET would need
	-- each value quoted as its setting parses it (search_path is a list of
	-- names), and the catalog holds them as the server wrote them. Nothing
	-- refers to these rows, and logins read them afresh. A role a test made
	-- and that was kept keeps its own.
	DELETE FROM pg_db_role_setting s
	WHERE (s.setrole = 0 OR EXISTS (SELECT 1 FROM seam_baseline.roles b WHERE b.oid = s.setrole))
	  AND NOT EXISTS (SELECT 1 FROM seam_baseline.settings b WHERE (b.setdatabase, b.setrole, b.setconfig) = (s.setdatabase, s.setrole, s.setconfig));
	INSERT INTO pg_db_role_setting SELECT b.* FROM seam_baseline.settings b
	WHERE NOT EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE (s.setdatabase, s.setrole) = (b.setdatabase, b.setrole))
	  AND (b.setdatabase = 0 OR EXISTS (SELECT 1 FROM pg_database WHERE oid = b.setdatabase))
	  AND (b.setrole = 0 OR EXISTS (SELECT 1 FROM pg_authid WHERE oid = b.setrole));
	-- What could not be undone is said once: the next reset looks again
	-- only when the roles change again.
	UPDATE seam_baseline.auth SET sig = seam_baseline.authsig();
	RETURN nullif(array_to_string(said, E'\n'), '');
END $$;

-- advisory_kept says the advisory locks that the system's sessions hold
-- now and did not at the baseline, one line a lock (the same each reset
-- while it is held: said once), naming the session by its client's
-- address (the wire's, when through it), application_name and pid. A lock
-- a session holds in an open transaction (pg_advisory_xact_lock) is said
-- too: pg_locks cannot tell the two kinds apart. seam's sql steps' own
-- sessions are not: the next test's DISCARD ALL releases their locks.
--
-- Said, not released: only ending the session would release another
-- session's lock, and seam ends a session of the system only when the
-- reset itself cannot be right otherwise (a lock it needs, writes it
-- cannot see: those fail the test). A lock is state of the session, as a
-- session_replication_role it keeps is (said too), and may be meant (a
-- leader's lock, taken once the service first needs it): ending its
-- connection would break the service's pool in the next test, or take
-- its leadership away.
CREATE FUNCTION seam_baseline.advisory_kept() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(format('a session of the system (%s, pid %s) holds advisory lock %s%s, taken since the baseline and not released '
			'(pg_advisory_lock without pg_advisory_unlock?): seam leaves it held (only ending the connection would release it), '
			'and the tests after it find it taken (pg_try_advisory_lock gives false, pg_advisory_lock waits); release it in the system, '
			'or take it for a transaction (pg_advisory_xact_lock)',
			concat_ws(', ', CASE WHEN a.client_addr IS NULL THEN 'the connection from a local socket'
				ELSE format('the connection from %s:%s', host(a.client_addr), a.client_port) END,
				CASE WHEN a.application_name <> '' THEN format('application_name %L', a.application_name) END),
			a.pid,
			CASE l.objsubid WHEN 1 THEN ((l.classid::bigint << 32) | l.objid::bigint)::text ELSE format('(%s, %s)', l.classid::int4, l.objid::int4) END,
			CASE WHEN l.mode = 'ShareLock' THEN ' (shared)' ELSE '' END),
		E'\n' ORDER BY a.backend_start, a.pid, l.classid, l.objid, l.objsubid)
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
	  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND a.application_name <> '` + service.StepApp + `'
	  AND NOT EXISTS (SELECT 1 FROM seam_baseline.advisory b
		WHERE (b.pid, b.began, b.classid, b.objid, b.objsubid, b.mode) = (l.pid, a.backend_start, l.classid, l.objid, l.objsubid, l.mode))
$$;

-- reset brings the data back to the baseline, waiting wait at most for a
-- lock (lock_timeout). prepared is the transactions a test prepared
-- (PREPARE TRANSACTION, by gid): they hold their locks until rolled back,
-- which cannot be done inside a function: when there are any, reset does
-- nothing else, and the caller rolls them back and calls again. said is
-- what it could not undo, or null; held the
-- system's sessions idle in a transaction that wrote ('pid:xid'): their
-- writes are not committed, so no note of theirs is seen, and their
-- commit would land in a later test (the caller waits for them, then ends
-- them). The sessions of seam's own sql steps with a transaction open are
-- ended at once: their test has ended (and was told, CheckTest), and
-- their locks would hold the reset up.
CREATE FUNCTION seam_baseline.reset(wait text, OUT said text, OUT held text[], OUT prepared text[]) LANGUAGE plpgsql AS $$
DECLARE
	r record;
	rels oid[];
	more oid[];
	steps int[]; -- the sessions of seam's sql steps with a transaction open
	ddl boolean; -- privileges may have changed (GRANT, REVOKE, roles)
	writer boolean; -- another session's transaction wrote (it holds the lock on its transaction id)
	twophase boolean; -- a prepared transaction holds locks (they have no pid)
	advisory boolean; -- another session holds an advisory lock
BEGIN
	held := '{}';
	prepared := '{}';
	-- One look at the locks, which costs more than the rest of a reset
	-- that restores a table or two.
	SELECT coalesce(bool_or(l.pid IS NULL), false), coalesce(bool_or(l.locktype = 'transactionid' AND l.pid <> pg_backend_pid()), false),
		coalesce(bool_or(l.locktype = 'advisory' AND l.pid <> pg_backend_pid()), false)
	INTO twophase, writer, advisory FROM pg_locks l WHERE l.pid IS NULL OR l.locktype IN ('transactionid', 'advisory');
	IF twophase THEN
		prepared := ARRAY(SELECT x.gid FROM pg_prepared_xacts x WHERE x.database = current_database()
			AND NOT EXISTS (SELECT 1 FROM seam_baseline.prepared b WHERE b.gid = x.gid) ORDER BY x.prepared);
		IF cardinality(prepared) > 0 THEN
			RETURN;
		END IF;
	END IF;
	PERFORM set_config('session_replication_role', 'replica', true);
	PERFORM set_config('seam.noted', '*', true); -- the reset's own writes and DDL are not noted
	PERFORM set_config('lock_timeout', wait, true); -- baseline.lockWait
	-- The notes committed by now are read and deleted at once: one
	-- committed after is kept for the next reset.
	WITH d AS (DELETE FROM seam_baseline.dirty RETURNING rel) SELECT array_agg(DISTINCT d.rel) INTO rels FROM d;
	ddl := coalesce(0 = ANY (rels), false);
	-- Who else has a transaction open, only when one wrote (the list of
	-- sessions costs more), or when DDL is to be undone (a transaction of
	-- the steps that only read a table holds its DROP up).
	IF ddl OR writer THEN
		SELECT coalesce(array_agg(a.pid || ':' || a.backend_xid) FILTER (WHERE a.application_name <> '` + service.StepApp + `'), '{}'),
			coalesce(array_agg(a.pid) FILTER (WHERE a.application_name = '` + service.StepApp + `'), '{}')
		INTO held, steps
		FROM pg_stat_get_activity(NULL) a
		WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND a.pid <> pg_backend_pid()
		  AND a.backend_type = 'client backend'
		  AND (a.application_name = '` + service.StepApp + `' AND a.xact_start IS NOT NULL
		       OR a.backend_xid IS NOT NULL AND a.state = 'idle in transaction');
		PERFORM pg_terminate_backend(p) FROM unnest(steps) p;
	END IF;
	IF ddl THEN
		SELECT u.says, u.more INTO said, more FROM seam_baseline.undo_ddl() u;
		rels := rels || more;
	END IF;
	FOR r IN SELECT DISTINCT s.del, s.ins FROM seam_baseline.restore s WHERE s.rel = ANY (rels) LOOP
		EXECUTE r.del;
		IF r.ins IS NOT NULL THEN
			EXECUTE r.ins;
		END IF;
	END LOOP;
	PERFORM setval(seq::regclass, last, called) FROM seam_baseline.seqs;
	IF ddl THEN
		FOR r IN DELETE FROM seam_baseline.pending RETURNING stmt LOOP
			BEGIN
				EXECUTE r.stmt;
			EXCEPTION WHEN OTHERS THEN
				said := concat_ws(E'\n', said, format('a foreign key of the baseline, made again, is left NOT VALID (%s: %s): the tests after it run with it unchecked on the rows it had', r.stmt, SQLERRM));
			END;
		END LOOP;
		IF FOUND THEN
			-- Validated, they are as the baseline has them.
			UPDATE seam_baseline.objects b SET sig = o.sig FROM seam_baseline.others o
			WHERE b.kind = 'c' AND o.kind = 'c' AND o.obj = b.obj AND b.sig IS DISTINCT FROM o.sig;
		END IF;
	END IF;
	-- A materialized view only changes when refreshed: one a test
	-- refreshed is refreshed again, on the restored tables, which gives
	-- its baseline rows back when those were its query's then (fresh).
	-- Refreshing it whenever its tables were restored would cost more, and
	-- lose the baseline's rows of a stale one.
	FOR r IN SELECT m.* FROM seam_baseline.mviews m WHERE rels IS NOT NULL AND m.mv = ANY (rels) AND EXISTS (SELECT 1 FROM pg_class WHERE oid = m.mv) LOOP
		IF r.fresh THEN
			EXECUTE format('REFRESH MATERIALIZED VIEW %s%s', r.mv::regclass, CASE WHEN r.populated THEN '' ELSE ' WITH NO DATA' END);
		ELSE
			said := concat_ws(E'\n', said, format('materialized view %s was refreshed by a test, and its rows in the baseline are not what its query gives on the baseline''s tables '
				'(it was refreshed before the last writes of init or a job): seam cannot bring them back, and the tests after it see the refreshed rows; '
				'refresh it after those writes to make its rows part of the baseline', r.mv::regclass));
		END IF;
	END LOOP;
	IF 1 = ANY (rels) THEN
		said := concat_ws(E'\n', said, 'a session wrote with session_replication_role = replica (the system''s own triggers and foreign-key checks off): '
			'seam restored the data, but a session of the system that keeps the setting carries it into the tests after it');
	END IF;
	-- Large objects a test made are unlinked; one of the baseline that a
	-- test unlinked is said (seam keeps no copy of their contents). One
	-- statement: it runs at every reset.
	SELECT count(lo_unlink(m.oid)) FILTER (WHERE b.lo IS NULL), array_agg(b.lo ORDER BY b.lo) FILTER (WHERE m.oid IS NULL)
	INTO r FROM pg_largeobject_metadata m FULL JOIN seam_baseline.los b ON b.lo = m.oid;
	IF r.array_agg IS NOT NULL THEN
		said := concat_ws(E'\n', said, format('large object(s) %s of the baseline were unlinked by a test: seam cannot bring them back, and the tests after it run without them',
			array_to_string(r.array_agg, ', ')));
		DELETE FROM seam_baseline.los WHERE lo = ANY (r.array_agg);
	END IF;
	IF advisory THEN
		said := nullif(concat_ws(E'\n', said, seam_baseline.advisory_kept()), '');
	END IF;
	IF seam_baseline.authsig() IS DISTINCT FROM (SELECT sig FROM seam_baseline.auth) THEN
		said := nullif(concat_ws(E'\n', said, seam_baseline.undo_roles()), '');
		ddl := true;
	END IF;
	IF ddl THEN
		said := nullif(concat_ws(E'\n', said, seam_baseline.undo_privs()), '');
	END IF;
END $$;
`

// Baseline implements service.Baseliner: the environment has started
// (jobs ended, services ready), so what they wrote joins the baseline. The
// cached baseline of init is kept; only the tables written, made or
// altered since are copied again, and the sequences read again.
func (i *instance) Baseline(ctx context.Context, notice func(string)) error {
	if i.base == nil {
		return nil
	}
	i.base.notice = notice
	conn, err := i.base.wait(ctx)
	if err != nil {
		return err
	}
	i.base.use.Lock()
	defer i.base.use.Unlock()
	if _, err := conn.Exec(ctx, "SELECT seam_baseline.take()"); err != nil {
		return fmt.Errorf("taking the baseline after the start: %w", err)
	}
	// Other databases are not reset: one made after init is news.
	var other *string
	if err := conn.QueryRow(ctx, `SELECT string_agg(datname, ', ' ORDER BY datname) FROM pg_database
		WHERE datname NOT IN ($1, 'postgres', 'template0', 'template1')`, i.db).Scan(&other); err != nil {
		return err
	}
	if other != nil {
		i.base.say(fmt.Sprintf("database(s) %s were made after init (by a job or a service?): seam resets only database %s between tests; "+
			"give each its own postgres service to have it reset", *other, i.db))
	}
	return nil
}

// say tells the run's output something about the data, once per text.
func (b *baseline) say(text string) {
	b.mu.Lock()
	if b.said == nil {
		b.said = map[string]bool{}
	}
	first := !b.said[text]
	b.said[text] = true
	b.mu.Unlock()
	if first && b.notice != nil {
		b.notice(text)
	}
}

// Reset implements service.Resetter. A transaction the system left open
// delays it: one holding locks the reset needs (it waits lockWait for
// them), and one idle with writes it has not committed (no lock of its is
// in the way, and no note of its is seen, but it would commit into a
// later test: the reset waits lockWait for it to end). Either way the
// sessions are then reported and ended (service.EndHeld).
func (i *instance) Reset(ctx context.Context) error {
	if i.base == nil {
		return nil // reset: per-suite or never
	}
	conn, err := i.base.wait(ctx)
	if err != nil {
		return err
	}
	i.base.use.Lock()
	defer i.base.use.Unlock()
	wait := i.base.lockWait
	held, err := i.resetOrEnd(ctx, conn)
	if err != nil || len(held) == 0 {
		return err
	}
	// Written, not committed: once they end (a commit's notes are seen
	// then), the reset goes again.
	err = awaitEnd(ctx, conn, held, wait)
	if err == nil {
		_, err = i.resetOrEnd(ctx, conn)
		return err
	}
	if !errors.Is(err, errStillOpen) {
		return err
	}
	err = service.EndHeld(wait, err,
		func() ([]service.Holder, error) { return endHolders(ctx, conn, held) },
		func() error { return i.resetAfter(ctx, conn, held) })
	var he *service.HeldError
	if errors.As(err, &he) {
		he.Writes = true
	}
	return err
}

// resetOrEnd resets, and when locks held it up for lockWait, ends the
// sessions holding them and resets again (a HeldError). It returns the
// system's sessions idle with uncommitted writes that the reset found.
func (i *instance) resetOrEnd(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	said, held, err := i.base.reset(ctx)
	i.base.sayAll(said)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" {
		return nil, service.EndHeld(i.base.lockWait, err,
			func() ([]service.Holder, error) { return endHolders(ctx, conn, nil) },
			func() error { return i.resetAfter(ctx, conn, nil) })
	}
	return held, err
}

// reset calls seam_baseline.reset(): what it could not undo, and the
// system's sessions idle with uncommitted writes. Transactions a test
// prepared (PREPARE TRANSACTION) are rolled back first, and said: they
// would hold their locks, and their writes would wait to be committed,
// into the tests after it.
func (b *baseline) reset(ctx context.Context) (said *string, held []string, err error) {
	wait := fmt.Sprintf("%dms", max(1, b.lockWait.Milliseconds()))
	// Bounded: the system may prepare more meanwhile, and not for ever.
	for try := 0; ; try++ {
		var prepared []string
		err = b.conn.QueryRow(ctx, "SELECT said, held, prepared FROM seam_baseline.reset($1)", wait).Scan(&said, &held, &prepared)
		if err != nil || len(prepared) == 0 {
			return said, held, err
		}
		if try == 3 {
			return nil, nil, fmt.Errorf("resetting: transactions are still being prepared (%s)", strings.Join(prepared, ", "))
		}
		for _, gid := range prepared {
			// Gone meanwhile (committed or rolled back by its maker): no matter.
			if _, err := b.conn.Exec(ctx, "ROLLBACK PREPARED "+quoteLiteral(gid)); err != nil && !isUndefinedObject(err) {
				return nil, nil, fmt.Errorf("rolling back prepared transaction %s: %w", quoteLiteral(gid), err)
			}
			b.say(fmt.Sprintf("a test left prepared transaction %s (PREPARE TRANSACTION) neither committed nor rolled back: "+
				"seam rolled it back; end it in the test (COMMIT PREPARED or ROLLBACK PREPARED)", quoteLiteral(gid)))
		}
	}
}

// isUndefinedObject: err is PostgreSQL's 42704 (a prepared transaction
// that is no more).
func isUndefinedObject(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42704"
}

// resetAfter resets again once the sessions seam ended are gone (those of
// ended, when given: their locks go with them).
func (i *instance) resetAfter(ctx context.Context, conn *pgx.Conn, ended []string) error {
	if len(ended) > 0 {
		if err := awaitEnd(ctx, conn, ended, 5*time.Second); err != nil {
			return err
		}
	}
	said, _, err := i.base.reset(ctx)
	i.base.sayAll(said)
	return err
}

// defaultLockWait is how long a reset waits for a lock (the function's
// lock_timeout), and for a transaction that wrote and was left open.
const defaultLockWait = 10 * time.Second

// errStillOpen: the transactions awaited were still open.
var errStillOpen = errors.New("still open")

// awaitEnd waits until none of the transactions held ('pid:xid', as
// reset gives them) is open, for wait at most.
func awaitEnd(ctx context.Context, conn *pgx.Conn, held []string, wait time.Duration) error {
	err := await(ctx, conn, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid || ':' || backend_xid = ANY ($1))`, held, wait)
	if errors.Is(err, errStillOpen) {
		return fmt.Errorf("its writes were still not committed after %v: %w", wait, err)
	}
	return err
}

// await asks query (with arg) every 20 ms until it says false, for wait
// at most (errStillOpen).
func await(ctx context.Context, conn *pgx.Conn, query string, arg any, wait time.Duration) error {
	// Not a context with wait's deadline: one that ends during a query
	// would close seam's connection (pgx does).
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var open bool
		err := conn.QueryRow(ctx, query, arg).Scan(&open)
		switch {
		case err != nil:
			return err
		case !open:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errStillOpen
		case <-tick.C:
		}
	}
}

// endHolders ends the sessions, other than seam's, with a transaction
// open (the system's: nobody else logs in to seam's server), or only the
// transactions of only ('pid:xid') when given, and returns them, oldest
// first. Rolled back, their locks are gone. Their statements are masked as
// the wire masks SQL.
func endHolders(ctx context.Context, conn *pgx.Conn, only []string) ([]service.Holder, error) {
	rows, err := conn.Query(ctx, `SELECT coalesce(host(client_addr) || ':' || client_port, ''), coalesce(state, ''),
		extract(epoch FROM clock_timestamp() - xact_start)::float8, coalesce(query, ''), pg_terminate_backend(pid)
		FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL
		  AND ($1::text[] IS NULL OR pid || ':' || backend_xid = ANY ($1))
		ORDER BY xact_start`, only)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Holder
	for rows.Next() {
		var h service.Holder
		var open float64
		var ended bool
		if err := rows.Scan(&h.Addr, &h.State, &open, &h.Query, &ended); err != nil {
			return nil, err
		}
		h.Open = time.Duration(open * float64(time.Second))
		h.Began = time.Now().Add(-h.Open)
		h.Query, _, _ = mask.SQL(h.Query)
		out = append(out, h)
	}
	return out, rows.Err()
}

// CheckTest implements service.Checker: a transaction that the test's own
// sql steps left open (their sessions are named service.StepApp) is the
// test's mistake, not the system's. Left open, it would hold its locks
// into the next reset, which would wait for them and blame the system:
// seam ends its session now (rolling it back) and fails the test.
func (i *instance) CheckTest(time.Time) error {
	if i.base == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := i.base.wait(ctx)
	if err != nil {
		return err
	}
	i.base.use.Lock()
	defer i.base.use.Unlock()
	// Every such session ends; the oldest transaction is told.
	rows, err := conn.Query(ctx, `SELECT pid, coalesce(query, ''), extract(epoch FROM clock_timestamp() - xact_start)::float8, pg_terminate_backend(pid)
		FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
		ORDER BY xact_start`, service.StepApp)
	if err != nil {
		return fmt.Errorf("looking for a transaction the test's sql steps left open: %w", err)
	}
	defer rows.Close()
	var e service.StepTxError
	var open float64
	var pids []int32
	for rows.Next() {
		var pid int32
		var q string
		var o float64
		var ended bool
		if err := rows.Scan(&pid, &q, &o, &ended); err != nil {
			return fmt.Errorf("looking for a transaction the test's sql steps left open: %w", err)
		}
		if pids == nil {
			e.Query, open = q, o
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("looking for a transaction the test's sql steps left open: %w", err)
	}
	if pids == nil {
		return nil
	}
	// Gone before the reset, which would wait for their locks.
	if err := await(ctx, conn, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY ($1))`, pids, 2*time.Second); err != nil && !errors.Is(err, errStillOpen) {
		return err
	}
	e.Open = time.Duration(open * float64(time.Second))
	e.Query, _, _ = mask.SQL(e.Query)
	return &e
}

// sayAll says each line of what a reset could not undo.
func (b *baseline) sayAll(said *string) {
	if said == nil {
		return
	}
	for _, line := range strings.Split(*said, "\n") {
		b.say(line)
	}
}
