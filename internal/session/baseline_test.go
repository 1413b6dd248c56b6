package session_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
)

// notices collects a session's notices.
type notices struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (n *notices) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.Write(p)
}

func (n *notices) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.String()
}

// startSuite writes files (seam.yaml among them) to a folder and starts
// one environment of its services.
func startSuite(t *testing.T, files map[string]string) (*environment.Environment, *notices) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := builtin.New()
	t.Cleanup(reg.Close)
	s, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	n := &notices{}
	sess, err := session.Open(ctx, s, session.Options{Command: "test", Seed: 1, StateDir: t.TempDir(), Notices: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	env, err := sess.StartEnv(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env, n
}

func needBinary(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return
		}
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + n); len(m) > 0 {
			return
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; CI installs it (scripts/test.sh)", names[0])
	}
	t.Skipf("%s not installed; CI installs it", names[0])
}

const pgInit = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO items (name) VALUES ('a'), ('b');
`

// pgMigrate is what a migration job does after init: tables in two
// schemas with foreign keys, an identity column, a free-standing sequence,
// a partitioned table, an init table altered and backfilled.
const pgMigrate = `
CREATE SCHEMA billing;
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
CREATE TABLE billing.invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id int NOT NULL REFERENCES users, cents int NOT NULL);
CREATE SEQUENCE ticket;
SELECT nextval('ticket'), nextval('ticket');
CREATE TABLE events (id int, at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO users (email) VALUES ('ada@example.com'), ('grace@example.com');
INSERT INTO billing.invoices (user_id, cents) VALUES (1, 100), (2, 250);
INSERT INTO events VALUES (1, '2026-05-01', 'seeded');
ALTER TABLE items ADD COLUMN note text;
UPDATE items SET note = 'from the job';
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE members (team_id int NOT NULL REFERENCES teams ON DELETE CASCADE, name text);
INSERT INTO teams VALUES (1), (2);
INSERT INTO members VALUES (1, 'ada'), (2, 'grace');
CREATE ROLE app LOGIN PASSWORD 'app';
GRANT USAGE, CREATE ON SCHEMA public, billing TO app;
GRANT ALL ON ALL TABLES IN SCHEMA public, billing TO app;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public, billing TO app;
`

// The migration runs as a service that migrates at start-up and stays.
const pgSuite = `name: pg-after-jobs
services:
  db:
    # The migration makes a role of its own: that takes a superuser.
    postgres: {database: app, init: [init.sql], superuser: true}
  migrate:
    process: [sh, -c, 'psql -X -q -v ON_ERROR_STOP=1 "((service("db").url))" -f migrate.sql && echo migrated && exec sleep 600']
    depends_on: [db]
    ready: {log: ^migrated$}
`

func TestPostgresBaselineIncludesWhatAJobMade(t *testing.T) {
	needBinary(t, "postgres")
	needBinary(t, "psql")
	env, said := startSuite(t, map[string]string{"seam.yaml": pgSuite, "init.sql": pgInit, "migrate.sql": pgMigrate})
	ctx := context.Background()
	c := openPostgres(t, env)
	exec := func(q string) {
		t.Helper()
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A test writes everywhere, bumps sequences, makes objects of its own.
	for round := 0; round < 2; round++ {
		exec(`INSERT INTO users (email) VALUES ('linus@example.com')`)
		exec(`UPDATE billing.invoices SET cents = 0`)
		exec(`INSERT INTO billing.invoices (user_id, cents) VALUES (3, 5)`)
		exec(`SELECT nextval('ticket')`)
		exec(`INSERT INTO events VALUES (2, '2027-02-01', 'through the parent')`)
		exec(`INSERT INTO events_2026 VALUES (3, '2026-02-01', 'into the partition')`)
		exec(`UPDATE items SET note = 'changed'; INSERT INTO items (name) VALUES ('c')`)
		exec(`CREATE TABLE scratch (x int); INSERT INTO scratch VALUES (1)`)
		exec(`CREATE VIEW scratch_v AS SELECT * FROM scratch`)
		exec(`CREATE SCHEMA tmp; CREATE TABLE tmp.t (id serial PRIMARY KEY, u int REFERENCES users)`)
		exec(`CREATE SEQUENCE s2`)
		exec(`CREATE TABLE events_2028 PARTITION OF events FOR VALUES FROM ('2028-01-01') TO ('2029-01-01')`)
		// Rows that go by a foreign key's cascade, or a TRUNCATE's.
		if round == 0 {
			exec(`DELETE FROM teams WHERE id = 1`)
		} else {
			exec(`TRUNCATE teams CASCADE`)
		}
		if err := env.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		// The next test sees exactly the baseline.
		var got string
		if err := c.QueryRow(ctx, `SELECT concat_ws(' | ',
			(SELECT string_agg(id || ':' || email, ',' ORDER BY id) FROM users),
			(SELECT string_agg(id || ':' || cents, ',' ORDER BY id) FROM billing.invoices),
			(SELECT string_agg(id || ':' || what, ',' ORDER BY id) FROM events),
			(SELECT string_agg(id || ':' || name || ':' || note, ',' ORDER BY id) FROM items),
			(SELECT string_agg(team_id || ':' || name, ',' ORDER BY 1) FROM members),
			(SELECT string_agg(c.oid::regclass::text, ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			 WHERE c.relname IN ('scratch', 'scratch_v', 's2', 't', 'events_2028') OR n.nspname = 'tmp'),
			(SELECT nextval('ticket')), (SELECT nextval('users_id_seq')),
			(SELECT nextval('billing.invoices_id_seq')), (SELECT nextval('items_id_seq')))`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := "1:ada@example.com,2:grace@example.com | 1:100,2:250 | 1:seeded | 1:a:from the job,2:b:from the job | 1:ada,2:grace | 3 | 3 | 3 | 3"
		if got != want {
			t.Fatalf("round %d after reset:\n got %s\nwant %s", round, got, want)
		}
		// Those nextval calls are this test's own: the next reset undoes them.
		if err := env.Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The system's own role (not seam's) writes and makes a table.
	appCfg := c.Config().Copy()
	appCfg.User, appCfg.Password = "app", "app"
	app, err := pgx.ConnectConfig(ctx, appCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	for _, q := range []string{`INSERT INTO users (email) VALUES ('linus@example.com')`, `CREATE TABLE mine (x int)`, `INSERT INTO mine VALUES (1)`} {
		if _, err := app.Exec(ctx, q); err != nil {
			t.Fatalf("as app: %s: %v", q, err)
		}
	}
	if err := env.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var users, mine int
	if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM pg_class WHERE relname = 'mine')`).Scan(&users, &mine); err != nil {
		t.Fatal(err)
	}
	if users != 2 || mine != 0 {
		t.Errorf("after the app role's test: %d users, table mine %d; want 2, 0", users, mine)
	}
	if s := said.String(); s != "" {
		t.Errorf("notices for writes seam can reset: %s", s)
	}
}

// TestPostgresSaysOnceWhatItCannotUndo: DDL on baseline tables is not
// undone; seam says so once, and the data is still reset.
func TestPostgresSaysOnceWhatItCannotUndo(t *testing.T) {
	needBinary(t, "postgres")
	needBinary(t, "psql")
	env, said := startSuite(t, map[string]string{"seam.yaml": pgSuite, "init.sql": pgInit, "migrate.sql": pgMigrate +
		"CREATE DATABASE other;"})
	ctx := context.Background()
	c := openPostgres(t, env)
	for i := 0; i < 3; i++ {
		if _, err := c.Exec(ctx, `ALTER TABLE users ADD COLUMN IF NOT EXISTS age int; INSERT INTO users (email, age) VALUES ('x@example.com', 3)`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `CREATE TABLE tags (id int PRIMARY KEY); INSERT INTO tags VALUES (1);
			ALTER TABLE items ADD COLUMN IF NOT EXISTS tag int; ALTER TABLE items ADD FOREIGN KEY (tag) REFERENCES tags`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `DROP TABLE events`); err != nil && i == 0 {
			t.Fatal(err)
		}
		if err := env.Reset(ctx); err != nil {
			t.Fatalf("reset %d: %v", i, err)
		}
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("users after reset %d: %d rows, %v", i, n, err)
		}
		if err := c.QueryRow(ctx, `SELECT count(*) FROM tags`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("tags after reset %d: %d rows, %v", i, n, err)
		}
		c.Exec(ctx, `ALTER TABLE items DROP CONSTRAINT IF EXISTS items_tag_fkey`)
		if _, err := c.Exec(ctx, `DROP TABLE IF EXISTS tags`); err != nil {
			t.Fatal(err)
		}
	}
	s := said.String()
	for _, want := range []string{
		`service "db": users of the baseline was altered by a test`,
		`service "db": events of the baseline was dropped by a test`,
		`service "db": tags, made by a test, is used by the baseline`,
		`service "db": database(s) other were made after init`,
	} {
		if strings.Count(s, want) != 1 {
			t.Errorf("want once %q in the notices:\n%s", want, s)
		}
	}
}

const mariadbSuite = `name: mariadb-after-jobs
services:
  db:
    mariadb: {database: app, init: [init.sql], superuser: true} # the migration makes another database
  migrate:
    process: [sh, -c, 'mariadb -h 127.0.0.1 -P ((service("db").port)) -u seam -p((service("db").password)) app < migrate.sql && echo migrated && exec sleep 600']
    depends_on: [db]
    ready: {log: ^migrated$}
`

func TestMariaDBBaselineIncludesWhatAJobMade(t *testing.T) {
	needBinary(t, "mariadbd", "mysqld")
	needBinary(t, "mariadb")
	env, said := startSuite(t, map[string]string{"seam.yaml": mariadbSuite,
		"init.sql": "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20)); INSERT INTO items (name) VALUES ('a');",
		"migrate.sql": `CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(50) UNIQUE NOT NULL);
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, FOREIGN KEY (user_id) REFERENCES users (id));
INSERT INTO users (email) VALUES ('ada@example.com'), ('grace@example.com');
INSERT INTO orders (user_id) VALUES (1);
INSERT INTO items (name) VALUES ('from the job');
CREATE DATABASE other;`})
	ctx := context.Background()
	db := openMariaDB(t, env)
	for round := 0; round < 2; round++ {
		for _, q := range []string{
			"INSERT INTO users (email) VALUES ('linus@example.com')",
			"INSERT INTO orders (user_id) VALUES (3)",
			"UPDATE items SET name = 'changed'",
			"CREATE TABLE scratch (x INT)", "INSERT INTO scratch VALUES (1)", "CREATE VIEW scratch_v AS SELECT * FROM scratch",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := env.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.QueryRowContext(ctx, `SELECT CONCAT_WS(' | ',
			(SELECT GROUP_CONCAT(id, ':', email ORDER BY id) FROM users),
			(SELECT GROUP_CONCAT(id, ':', user_id ORDER BY id) FROM orders),
			(SELECT GROUP_CONCAT(id, ':', name ORDER BY id) FROM items),
			(SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'app' AND table_name LIKE 'scratch%'))`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := "1:ada@example.com,2:grace@example.com | 1:1 | 1:a,2:from the job | 0"; got != want {
			t.Fatalf("round %d after reset:\n got %s\nwant %s", round, got, want)
		}
		// The auto-increment counters are back too.
		res, err := db.ExecContext(ctx, "INSERT INTO users (email) VALUES ('linus@example.com')")
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := res.LastInsertId(); id != 3 {
			t.Fatalf("round %d: the next user id is %d, want 3", round, id)
		}
		if err := env.Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := said.String(); strings.Count(s, "database(s) other were made after init") != 1 {
		t.Errorf("want one notice of database other:\n%s", s)
	}
}

const redisSuite = `name: redis-after-jobs
services:
  cache:
    redis: {init: [SET from-init yes]}
  seed:
    process: [sh, -c, 'redis-cli -u ((service("cache").url)) MSET k1 v1 k2 v2 >/dev/null && redis-cli -u ((service("cache").url)) HSET user:1 name ada >/dev/null && echo seeded && exec sleep 600']
    depends_on: [cache]
    ready: {log: ^seeded$}
`

func TestRedisBaselineIncludesWhatAJobWrote(t *testing.T) {
	needBinary(t, "redis-server")
	needBinary(t, "redis-cli")
	env, said := startSuite(t, map[string]string{"seam.yaml": redisSuite})
	ctx := context.Background()
	in, _ := env.Info("cache")
	opt, err := goredis.ParseURL(in["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	for round := 0; round < 2; round++ {
		rdb.Set(ctx, "k1", "changed", 0)
		rdb.Del(ctx, "k2")
		rdb.HSet(ctx, "user:1", "name", "linus")
		rdb.Set(ctx, "new", "x", 0)
		if err := env.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		keys, err := rdb.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(keys)
		k1, _ := rdb.Get(ctx, "k1").Result()
		name, _ := rdb.HGet(ctx, "user:1", "name").Result()
		if got, want := fmt.Sprintln(keys, k1, name), "[from-init k1 k2 user:1] v1 ada\n"; got != want {
			t.Fatalf("round %d after reset: got %s, want %s", round, got, want)
		}
	}
	if s := said.String(); s != "" {
		t.Errorf("notices: %s", s)
	}
}

// openPostgres connects as seam to the service db of env; the connection
// closes when the test ends.
func openPostgres(t *testing.T, env *environment.Environment) *pgx.Conn {
	t.Helper()
	in, _ := env.Info("db")
	c, err := pgx.Connect(context.Background(), in["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func openMariaDB(t *testing.T, env *environment.Environment) *sql.DB {
	t.Helper()
	in, _ := env.Info("db")
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "seam", in["password"].(string), "tcp", in["addr"].(string), in["database"].(string)
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}
