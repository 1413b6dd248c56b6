package postgres

import (
	"context"
	"strings"
	"testing"
)

// admin is a connection of seam's own superuser to database db, to look
// at the server's roles whatever the suite's role may see, and to play a
// test that works in another database.
func (s *started) admin(t *testing.T, db string) *started {
	t.Helper()
	conn, err := connect(context.Background(), adminRole, s.inst.srv.adminPW, s.inst.port, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &started{inst: s.inst, conn: conn}
}

// login opens a new session as user, as a service started after a reset
// would, and returns what query gives in it.
func (s *started) login(t *testing.T, user, password, query string) (string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := connect(ctx, user, password, s.inst.port, "app")
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var got string
	err = conn.QueryRow(ctx, query).Scan(&got)
	return got, err
}

// rolesState is the server's roles (not the predefined ones): attributes,
// a digest of the stored password, memberships and settings, by name.
const rolesState = `SELECT concat_ws(E'\n',
	(SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT format('%s super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s limit=%s until=%s password=%s',
		rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit,
		coalesce(rolvaliduntil, 'infinity'), md5(coalesce(rolpassword, '-'))) FROM pg_authid WHERE rolname NOT LIKE 'pg\_%') a(x)),
	(SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT format('%s in %s admin=%s by %s', member::regrole, roleid::regrole, admin_option, grantor::regrole)
		FROM pg_auth_members) m(x)),
	(SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT format('%s/%s: %s', coalesce(d.datname, '*'), CASE setrole WHEN 0 THEN '*' ELSE setrole::regrole::text END, setconfig)
		FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase) s(x)))`

// A test that changes the password of the suite's role (no superuser may
// do that to its own role), its settings or its database's, leaves the
// next test a server where the services log in with the environment's
// password and get the baseline's settings.
func TestResetRestoresTheSuiteRolesPasswordAndSettings(t *testing.T) {
	pg := startPostgres(t, resetInit, resetJob+`
		ALTER DATABASE app SET search_path = public, "$user";
		ALTER ROLE seam SET work_mem = '8MB';`)
	admin := pg.admin(t, "app")
	before := admin.query(t, rolesState)
	const settings = `SELECT current_setting('search_path') || ' | ' || current_setting('work_mem') || ' | ' || current_setting('statement_timeout')`
	const want = `public, "$user" | 8MB | 0`
	for round := 0; round < 2; round++ {
		pg.exec(t, `ALTER ROLE seam PASSWORD 'the test''s'`)
		pg.exec(t, `ALTER ROLE seam SET work_mem = '64kB'`)
		pg.exec(t, `ALTER ROLE seam IN DATABASE app SET statement_timeout = '1ms'`)
		pg.exec(t, `ALTER DATABASE app RESET search_path`)
		pg.exec(t, `INSERT INTO items (name) VALUES ('in the test')`)
		pg.reset(t)
		got, err := pg.login(t, "seam", pg.inst.password, settings)
		if err != nil {
			t.Fatalf("round %d: the next test's login with the environment's password: %v", round, err)
		}
		if got != want {
			t.Fatalf("round %d: settings of a new session after reset: %s; want %s", round, got, want)
		}
		if _, err := pg.login(t, "seam", "the test's", "SELECT 'in'"); err == nil {
			t.Fatalf("round %d: the test's password still logs in after reset", round)
		}
		if got := admin.query(t, rolesState); got != before {
			t.Fatalf("round %d: roles after reset:\n%s\nwant\n%s", round, got, before)
		}
		if got := pg.query(t, `SELECT count(*)::text FROM items`); got != "2" {
			t.Fatalf("round %d: %s rows in items after reset; want 2", round, got)
		}
	}
	if said := pg.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// rolesInit is init: made by a superuser suite role: resetInit, and roles
// of the system under test with privileges, memberships and settings.
const rolesInit = resetInit + `
CREATE ROLE reader NOLOGIN;
GRANT SELECT ON items TO reader;
CREATE ROLE clerk LOGIN PASSWORD 'clerk pw' CONNECTION LIMIT 5 VALID UNTIL '2100-01-01' IN ROLE reader;
ALTER ROLE clerk SET search_path = public, "$user";
CREATE ROLE spare LOGIN PASSWORD 'spare pw';
CREATE ROLE lefty LOGIN PASSWORD 'lefty pw';
CREATE ROLE righty LOGIN PASSWORD 'righty pw';
`

// What a test does to the server's roles is undone: roles it made are
// dropped (with what it granted them), the baseline's get their names,
// attributes, passwords, memberships and settings back, and one it
// dropped is made again; none of that is news.
func TestResetRestoresTheRolesATestChangedMadeOrDropped(t *testing.T) {
	pg := startPostgresAs(t, true, rolesInit, resetJob)
	admin := pg.admin(t, "app")
	before := admin.query(t, rolesState)
	for round := 0; round < 2; round++ {
		pg.exec(t, `ALTER ROLE clerk NOLOGIN CREATEDB CONNECTION LIMIT 0 PASSWORD 'x' VALID UNTIL '2000-01-01'`)
		pg.exec(t, `ALTER ROLE clerk RESET ALL`)
		pg.exec(t, `REVOKE reader FROM clerk`)
		pg.exec(t, `GRANT pg_read_all_data TO clerk`)
		pg.exec(t, `GRANT reader TO righty WITH ADMIN OPTION`)
		pg.exec(t, `ALTER ROLE seam CONNECTION LIMIT 3 PASSWORD 'the test''s'`)
		pg.exec(t, `ALTER ROLE reader RENAME TO reader_old`)
		pg.exec(t, `CREATE ROLE reader LOGIN`) // the baseline's name, a test's role
		pg.exec(t, `ALTER ROLE lefty RENAME TO lefty2`)
		pg.exec(t, `ALTER ROLE righty RENAME TO lefty`)
		pg.exec(t, `ALTER ROLE lefty2 RENAME TO righty`)
		pg.exec(t, `DROP ROLE spare`)
		pg.exec(t, `CREATE ROLE tester LOGIN PASSWORD 'tester pw' IN ROLE reader_old`)
		pg.exec(t, `GRANT SELECT ON items TO tester`)
		pg.exec(t, `ALTER ROLE tester SET work_mem = '64kB'`)
		pg.exec(t, `CREATE TABLE scratch (i int)`)
		pg.exec(t, `ALTER TABLE scratch OWNER TO tester`)
		pg.reset(t)
		if got := admin.query(t, rolesState); got != before {
			t.Fatalf("round %d: roles after reset:\n%s\nwant\n%s", round, got, before)
		}
		for user, password := range map[string]string{"seam": pg.inst.password, "clerk": "clerk pw", "spare": "spare pw", "lefty": "lefty pw", "righty": "righty pw"} {
			if _, err := pg.login(t, user, password, "SELECT 'in'"); err != nil {
				t.Fatalf("round %d: login as %s after reset: %v", round, user, err)
			}
		}
		if got, err := pg.login(t, "clerk", "clerk pw", `SELECT current_setting('search_path') || ' | ' || (SELECT count(*) FROM items)`); err != nil || got != `public, "$user" | 2` {
			t.Fatalf("round %d: clerk's search path and items after reset: %q, %v; want public, \"$user\" | 2", round, got, err)
		}
		if got := admin.query(t, `SELECT count(*)::text FROM pg_class WHERE relname = 'scratch'`); got != "0" {
			t.Fatalf("round %d: the test's table after reset: %s; want none", round, got)
		}
		if got := admin.query(t, `SELECT string_agg(grantee, ',' ORDER BY grantee) FROM information_schema.role_table_grants
			WHERE table_name = 'items' AND privilege_type = 'SELECT'`); got != "reader,seam" {
			t.Fatalf("round %d: who may read items after reset: %s; want reader,seam", round, got)
		}
	}
	if said := pg.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// What seam cannot undo to the roles it says, once each, naming the role
// and what happened: a role a test made that owns objects in another
// database is kept; one that was given a baseline table is dropped and
// the table goes to the database's owner; a baseline role a test dropped
// comes back without its privileges.
func TestResetSaysWhatItCannotUndoToTheRolesOnce(t *testing.T) {
	pg := startPostgresAs(t, true, rolesInit, resetJob)
	other := pg.admin(t, "postgres")
	admin := pg.admin(t, "app")
	for round := 0; round < 2; round++ {
		if round == 0 {
			pg.exec(t, `CREATE ROLE keeper`)
			other.exec(t, `CREATE TABLE keep_me (i int)`)
			other.exec(t, `ALTER TABLE keep_me OWNER TO keeper`)
		}
		pg.exec(t, `CREATE ROLE taker`)
		pg.exec(t, `ALTER TABLE logs OWNER TO taker`)
		pg.exec(t, `REVOKE SELECT ON items FROM reader`)
		pg.exec(t, `DROP ROLE reader`) // clerk's membership goes with it
		pg.reset(t)
		if got := admin.query(t, `SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('keeper', 'taker', 'reader')`); got != "keeper,reader" {
			t.Fatalf("round %d: roles after reset: %s; want keeper,reader", round, got)
		}
		if got := admin.query(t, `SELECT tableowner FROM pg_tables WHERE tablename = 'logs'`); got != "seam" {
			t.Fatalf("round %d: logs owned by %s after reset; want seam", round, got)
		}
		if got := admin.query(t, `SELECT pg_has_role('clerk', 'reader', 'MEMBER')::text`); got != "true" {
			t.Fatalf("round %d: clerk is a member of reader after reset: %s; want true", round, got)
		}
	}
	said := strings.Join(pg.notices(), "\n")
	for _, want := range []string{
		"role keeper, made by a test, cannot be dropped (1 object in database postgres): it was kept, and the tests after it run with it",
		"role taker, made by a test, owned objects of the baseline (ALTER … OWNER TO?): they were given to role seam, the database's owner",
		"role reader of the baseline was dropped by a test: seam made it again (attributes, password, memberships, settings), but not what it owned or its privileges on objects, and the tests after it run without them",
	} {
		if n := strings.Count(said, want); n != 1 {
			t.Errorf("%d times in the notices, want once: %q\n%s", n, want, said)
		}
	}
	if n := len(pg.notices()); n != 3 {
		t.Errorf("%d notices, want 3:\n%s", n, said)
	}
}

// privsState is who may do what to the baseline's objects: tables,
// sequences, schemas, routines and the database, as the catalogs say (no
// ACL is the owner's all: the same as an ACL that says so).
const privsState = `SELECT concat_ws(E'\n',
	(SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT c.relname || ' ' || coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v')) a(x)),
	(SELECT 'schema public ' || coalesce(nspacl::text, 'default') FROM pg_namespace WHERE nspname = 'public'),
	(SELECT string_agg(x, E'\n' ORDER BY x) FROM (SELECT p.oid::regprocedure::text || ' ' || coalesce(p.proacl, acldefault('f', p.proowner))::text
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public') f(x)),
	(SELECT 'database ' || coalesce(datacl::text, 'default') FROM pg_database WHERE datname = current_database()))`

// A test that grants and revokes (to check how the system copes with a
// role that may not write, say) leaves the next test the baseline's
// privileges: on tables, sequences, the schema, routines and the
// database, the owner's own included; the roles then log in and read as
// before.
func TestResetRestoresPrivileges(t *testing.T) {
	pg := startPostgresAs(t, true, rolesInit+`
CREATE FUNCTION stock_of(text) RETURNS int LANGUAGE sql AS 'SELECT 1';
REVOKE EXECUTE ON FUNCTION stock_of(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stock_of(text) TO reader;
REVOKE CONNECT ON DATABASE app FROM PUBLIC;
GRANT CONNECT ON DATABASE app TO clerk, reader, seam;
`, resetJob)
	admin := pg.admin(t, "app")
	before := admin.query(t, privsState)
	for round := 0; round < 2; round++ {
		pg.exec(t, `REVOKE SELECT ON items FROM reader`)
		pg.exec(t, `GRANT INSERT, DELETE ON items TO PUBLIC`)
		pg.exec(t, `GRANT SELECT ON items TO spare WITH GRANT OPTION`)
		pg.exec(t, `GRANT USAGE ON SEQUENCE items_id_seq TO spare`)
		pg.exec(t, `REVOKE ALL ON SCHEMA public FROM PUBLIC`)
		pg.exec(t, `GRANT CREATE ON SCHEMA public TO spare`)
		pg.exec(t, `REVOKE EXECUTE ON FUNCTION stock_of(text) FROM reader`)
		pg.exec(t, `GRANT EXECUTE ON FUNCTION stock_of(text) TO PUBLIC`)
		pg.exec(t, `REVOKE CONNECT ON DATABASE app FROM clerk`)
		pg.exec(t, `GRANT CONNECT ON DATABASE app TO righty`)
		pg.exec(t, `REVOKE ALL ON items FROM seam`)
		pg.reset(t)
		if got := admin.query(t, privsState); got != before {
			t.Fatalf("round %d: privileges after reset:\n%s\nwant\n%s", round, got, before)
		}
		if got, err := pg.login(t, "clerk", "clerk pw", `SELECT count(*)::text FROM items`); err != nil || got != "2" {
			t.Fatalf("round %d: clerk (a reader) reads items after reset: %q, %v; want 2", round, got, err)
		}
		if _, err := pg.login(t, "righty", "righty pw", `SELECT 1::text`); err == nil {
			t.Fatalf("round %d: righty connects after reset; the baseline gives it no CONNECT", round)
		}
	}
	if said := pg.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}
