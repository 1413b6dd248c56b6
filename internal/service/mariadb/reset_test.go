package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/service"
)

// needMariaDB fails in CI (which installs MariaDB) and skips elsewhere
// when the server is missing.
func needMariaDB(t *testing.T) {
	t.Helper()
	_, _, err := find("")
	peertest.Need(t, "MariaDB", "mariadb-server", err == nil)
}

// cache is the initialised data folder the tests of the package share:
// mariadb-install-db takes seconds.
var cache struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	os.Exit(code)
}

// started is one mariadb service started as an environment starts it:
// prepared, started, initialised, a job's SQL run as the suite's user,
// the baseline taken.
type started struct {
	inst *instance
	db   *sql.DB // the suite's user's

	mu   sync.Mutex
	said []string // the notices
}

func (s *started) notices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.said...)
}

func startMariaDB(t *testing.T, init, job string) *started {
	t.Helper()
	needMariaDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cache.once.Do(func() { cache.dir, cache.err = os.MkdirTemp("", "seam-mariadb-test-cache-") })
	if cache.err != nil {
		t.Fatal(cache.err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "init.sql"), []byte(init), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := &Spec{Database: "app", User: "seam", Reset: "per-test", Init: []string{"init.sql"}}
	if err := spec.Prepare(ctx, &service.PrepareEnv{Name: "db", Dir: dir, CacheDir: cache.dir}); err != nil {
		t.Fatal(err)
	}
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]any{"name": "db", "addr": "127.0.0.1:" + strconv.Itoa(port), "port": port}
	spec.Describe(info)
	var logMu sync.Mutex
	var logged []string
	si, err := spec.Start(ctx, &service.StartEnv{Name: "db", Dir: dir, Info: info, Log: func(_, line string) {
		logMu.Lock()
		logged = append(logged, line)
		logMu.Unlock()
	}})
	release()
	if err != nil {
		t.Fatal(err)
	}
	inst := si.(*instance)
	t.Cleanup(func() { inst.Stop(context.Background()) })
	// Ready as an environment tells it: the kind's own probe.
	target := service.Target{Name: "db", Host: "127.0.0.1", Ports: map[string]int{"main": port}, Main: "main"}
	for {
		err := spec.DefaultProbe().Check(ctx, target)
		if err == nil {
			break
		}
		select {
		case <-inst.Done():
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("mariadbd exited: %v\n%s", inst.ExitErr(), strings.Join(logged, "\n"))
		case <-ctx.Done():
			t.Fatalf("mariadbd did not become ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := inst.Init(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "seam", info["password"].(string), "tcp", info["addr"].(string), "app"
	cfg.MultiStatements = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if job != "" {
		if _, err := db.ExecContext(ctx, job); err != nil {
			t.Fatalf("the job's SQL: %v", err)
		}
	}
	s := &started{inst: inst, db: db}
	if err := inst.Baseline(ctx, func(text string) {
		s.mu.Lock()
		s.said = append(s.said, text)
		s.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *started) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := s.db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
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

func (s *started) query(t *testing.T, q string) string {
	t.Helper()
	got, err := s.tryQuery(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return got
}

func (s *started) tryQuery(q string) (string, error) {
	var got sql.NullString
	err := s.db.QueryRow(q).Scan(&got)
	return got.String, err
}

// resetInit is what init: makes: tables linked by cascading foreign keys
// (customers → orders → items), triggers of the user's that change the
// rows they write (a stamp), count (orders in customers) and audit
// (deleted orders), a MyISAM table, a row whose AUTO_INCREMENT id is 0,
// a view. It leaves its session's settings changed, as init files may (a
// trigger is made with them).
const resetInit = `
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, orders INT NOT NULL DEFAULT 0, stamp VARCHAR(20));
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total INT NOT NULL,
	FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(10),
	FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE);
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50));
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) ENGINE=MyISAM;
CREATE TABLE codes (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(10));
CREATE TRIGGER customers_stamp BEFORE INSERT ON customers FOR EACH ROW SET NEW.stamp = 'trigger';
CREATE TRIGGER orders_count AFTER INSERT ON orders FOR EACH ROW UPDATE customers SET orders = orders + 1 WHERE id = NEW.customer_id;
CREATE TRIGGER orders_audit AFTER DELETE ON orders FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('deleted order ', OLD.id));
INSERT INTO customers (name) VALUES ('ada'), ('grace');
UPDATE customers SET stamp = 'init';
INSERT INTO orders (customer_id, total) VALUES (1, 10), (1, 20), (2, 5);
INSERT INTO items (order_id, sku) VALUES (1, 'A'), (2, 'B'), (3, 'C');
INSERT INTO notes VALUES (1, 'note');
SET NAMES latin1;
SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO,ANSI_QUOTES');
INSERT INTO codes VALUES (0, 'zero'), (1, 'one');
CREATE TRIGGER codes_upper BEFORE INSERT ON codes FOR EACH ROW SET NEW.code = UPPER(NEW.code);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total >= 10;
`

// resetJob is what a job run by the suite's user makes after init: a
// trigger of another definer.
const resetJob = `CREATE TRIGGER notes_keep BEFORE INSERT ON notes FOR EACH ROW SET NEW.body = NEW.body`

// state is everything a test may see of the database: every table's rows,
// the tables and views with their AUTO_INCREMENT, the user's triggers in
// their order.
const state = `SELECT CONCAT_WS(' | ',
	(SELECT GROUP_CONCAT(id, ':', name, ':', orders, ':', stamp ORDER BY id) FROM customers),
	(SELECT GROUP_CONCAT(id, ':', customer_id, ':', total ORDER BY id) FROM orders),
	(SELECT GROUP_CONCAT(id, ':', order_id, ':', sku ORDER BY id) FROM items),
	(SELECT COALESCE(GROUP_CONCAT(id, ':', what ORDER BY id), '-') FROM audit),
	(SELECT GROUP_CONCAT(id, ':', body ORDER BY id) FROM notes),
	(SELECT GROUP_CONCAT(id, ':', code ORDER BY id) FROM codes),
	(SELECT GROUP_CONCAT(id, ':', total ORDER BY id) FROM big_orders),
	(SELECT GROUP_CONCAT(table_name, '=', COALESCE(auto_increment, '-') ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'app'),
	(SELECT GROUP_CONCAT(event_object_table, '.', trigger_name, ':', action_order ORDER BY trigger_name) FROM information_schema.triggers
	 WHERE trigger_schema = 'app' AND trigger_name NOT LIKE 'seam\_dirty\_%'),
	(SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = 'app'))`

const wantState = "1:ada:2:init,2:grace:1:init | 1:1:10,2:1:20,3:2:5 | 1:1:A,2:2:B,3:3:C | - | 1:note | 0:zero,1:one | 1:10,2:20 | " +
	"audit=1,big_orders=-,codes=2,customers=3,items=4,notes=-,orders=4 | " +
	"codes.codes_upper:1,customers.customers_stamp:1,notes.notes_keep:1,orders.orders_audit:1,orders.orders_count:1 | 0"

// The reset undoes what every kind of write does, including those no
// trigger sees (foreign-key cascades, TRUNCATE, ALTER TABLE …
// AUTO_INCREMENT, a write while seam's trigger was dropped), and the
// user's triggers do not fire while it restores rows; what a test made is
// dropped, the baseline's triggers and views a test dropped or replaced
// are made again.
func TestResetUndoesEveryKindOfWrite(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	mysql.RegisterReaderHandler("notes", func() io.Reader { return strings.NewReader("2\tloaded\n1\treplaced\n") })
	t.Cleanup(func() { mysql.DeregisterReaderHandler("notes") })
	if got := my.query(t, state); got != wantState {
		t.Fatalf("the baseline:\n got %s\nwant %s", got, wantState)
	}
	cases := []struct {
		name  string
		stmts []string
	}{
		{"insert, update, delete", []string{"INSERT INTO customers (name) VALUES ('linus')", "UPDATE orders SET total = 99 WHERE id = 1", "DELETE FROM items WHERE id = 3"}},
		{"the user's triggers write to other tables", []string{"INSERT INTO orders (customer_id, total) VALUES (2, 7)", "DELETE FROM orders WHERE id = 3"}},
		{"replace, which cascades", []string{"REPLACE INTO customers (id, name) VALUES (1, 'ada')"}},
		{"insert on duplicate key update", []string{"INSERT INTO customers (name) VALUES ('ada') ON DUPLICATE KEY UPDATE orders = 100"}},
		{"a failed insert takes an auto_increment value", []string{"INSERT INTO customers (name) VALUES ('ada')"}},
		{"a rolled back insert takes one too", []string{"BEGIN; INSERT INTO audit (what) VALUES ('x'); ROLLBACK"}},
		{"load data", []string{"LOAD DATA LOCAL INFILE 'Reader::notes' REPLACE INTO TABLE notes"}},
		{"through a view", []string{"UPDATE big_orders SET total = 11 WHERE id = 1"}},
		{"a delete that cascades two levels", []string{"DELETE FROM customers WHERE id = 1"}},
		{"an update that cascades", []string{"UPDATE customers SET id = 10 WHERE id = 2"}},
		{"truncate", []string{"TRUNCATE TABLE items"}},
		{"truncate of a parent, foreign keys off", []string{"SET foreign_key_checks = 0; TRUNCATE TABLE orders; SET foreign_key_checks = 1"}},
		{"truncate by a prepared statement in a routine", []string{
			"CREATE PROCEDURE wipe() BEGIN PREPARE s FROM 'TRUNCATE TABLE codes'; EXECUTE s; END", "CALL wipe()", "DROP PROCEDURE wipe"}},
		{"alter auto_increment", []string{"ALTER TABLE audit AUTO_INCREMENT = 50"}},
		{"the row with id 0", []string{"UPDATE codes SET code = 'changed' WHERE id = 0"}},
		{"many rows", []string{"INSERT INTO audit (what) SELECT CONCAT('row ', seq) FROM seq_1_to_3000", "INSERT INTO items (order_id, sku) SELECT 1, 'X' FROM seq_1_to_2000"}},
		{"tables, a view, a sequence and a trigger made", []string{"CREATE TABLE scratch (x INT)", "INSERT INTO scratch VALUES (1)",
			"CREATE VIEW scratch_v AS SELECT * FROM scratch", "CREATE SEQUENCE scratch_s",
			"CREATE TRIGGER scratch_t BEFORE INSERT ON customers FOR EACH ROW SET NEW.stamp = 'test'",
			"CREATE TABLE scratch_child (id INT, FOREIGN KEY (id) REFERENCES customers (id))"}},
		{"a baseline trigger and view dropped", []string{"DROP TRIGGER orders_count", "DROP VIEW big_orders"}},
		{"a baseline trigger and view replaced", []string{
			"CREATE OR REPLACE TRIGGER customers_stamp BEFORE INSERT ON customers FOR EACH ROW SET NEW.stamp = 'test'",
			"CREATE OR REPLACE VIEW big_orders AS SELECT id, total FROM orders"}},
		{"a write after seam's trigger was dropped", []string{"DROP TRIGGER seam_dirty_2_upd", "UPDATE customers SET orders = 0"}},
		{"a table dropped and made again", []string{"DROP TABLE items",
			"CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(10), FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE)",
			"INSERT INTO items (order_id, sku) VALUES (1, 'new')"}},
	}
	for round := 0; round < 2; round++ {
		for _, c := range cases {
			for _, q := range c.stmts {
				_, err := my.db.Exec(q)
				var me *mysql.MySQLError
				if err != nil && !(c.name == "a failed insert takes an auto_increment value" && errors.As(err, &me) && me.Number == 1062) {
					t.Fatalf("round %d, %s: %s: %v", round, c.name, q, err)
				}
			}
			if got, err := my.tryQuery(state); err == nil && got == wantState {
				t.Fatalf("round %d, %s: the test changed nothing", round, c.name)
			}
			my.reset(t)
			if got := my.query(t, state); got != wantState {
				t.Fatalf("round %d, %s: after reset:\n got %s\nwant %s", round, c.name, got, wantState)
			}
			my.sameTriggers(t)
		}
	}
	// The baseline's triggers act after the resets, and the next ids are
	// the baseline's.
	my.exec(t, "INSERT INTO customers (name) VALUES ('linus')")
	my.exec(t, "INSERT INTO orders (customer_id, total) VALUES (3, 1)")
	if got, want := my.query(t, "SELECT GROUP_CONCAT(id, ':', orders, ':', stamp) FROM customers WHERE name = 'linus'"), "3:1:trigger"; got != want {
		t.Errorf("a customer inserted after the resets: %s; want %s", got, want)
	}
	// seam's database is not the suite's user's to see.
	if got := my.query(t, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'seam_baseline'"); got != "0" {
		t.Errorf("the suite's user sees database seam_baseline")
	}
	if said := my.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// sameTriggers checks that every table has the baseline's triggers, as
// seam reads them: made again as they were, they are not taken for a
// test's change at the next look.
func (s *started) sameTriggers(t *testing.T) {
	t.Helper()
	b := s.inst.base
	trig, err := b.readTriggers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range b.tables {
		if !tb.gone && !sameTriggers(trig[tb.name], tb.triggers) {
			t.Errorf("triggers of %s:\n got %+v\nwant %+v", tb.name, trig[tb.name], tb.triggers)
		}
	}
}

// restored counts the tables a reset restored (the INSERT … SELECT
// statements of seam's connection), and those it emptied by TRUNCATE.
func (s *started) restored(t *testing.T) (tables, truncated int) {
	t.Helper()
	ins, trunc := s.sessionCount(t, "COM_INSERT_SELECT"), s.sessionCount(t, "COM_TRUNCATE")
	s.reset(t)
	return s.sessionCount(t, "COM_INSERT_SELECT") - ins, s.sessionCount(t, "COM_TRUNCATE") - trunc
}

func (s *started) sessionCount(t *testing.T, name string) int {
	t.Helper()
	var n int
	if err := s.inst.root.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A reset restores the tables a test wrote and those their foreign keys
// cascade to, not the others.
func TestResetRestoresOnlyTheTablesWritten(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	for _, c := range []struct {
		stmt            string
		want, truncated int
	}{
		{"SELECT * FROM customers", 0, 0},
		{"INSERT INTO audit (what) VALUES ('x')", 1, 0},
		{"UPDATE notes SET body = 'changed'", 1, 0},
		{"DELETE FROM orders WHERE id = 3", 3, 0}, // orders, items (cascade) and audit (the user's trigger)
		{"DELETE FROM customers WHERE id = 2", 3, 0},
		{"CREATE TABLE scratch (x INT)", 0, 0},
		{"TRUNCATE TABLE items", 1, 0},
		// Big: emptied by TRUNCATE. The user's trigger counts the orders in
		// customers, whose keys cascade to orders and items.
		{"INSERT INTO orders (customer_id, total) SELECT 1, seq FROM seq_1_to_3000", 3, 1},
		{"SELECT 1", 0, 0},
	} {
		my.exec(t, c.stmt)
		if got, truncated := my.restored(t); got != c.want || truncated != c.truncated {
			t.Errorf("after %s: %d tables restored, %d by TRUNCATE; want %d, %d", c.stmt, got, truncated, c.want, c.truncated)
		}
		if got := my.query(t, state); got != wantState {
			t.Fatalf("after %s and reset:\n got %s\nwant %s", c.stmt, got, wantState)
		}
	}
}

// What a test did that seam cannot undo is said once: a baseline table
// dropped, one altered (its rows restored with the columns both have), a
// view and a trigger that cannot be made again (what they use is gone).
func TestResetSaysWhatItCannotUndoOnce(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	conn, err := my.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"DROP TABLE notes",
		"ALTER TABLE codes ADD COLUMN extra INT NOT NULL DEFAULT 7, DROP COLUMN code",
		"SET foreign_key_checks = 0", "DROP TABLE orders", "SET foreign_key_checks = 1", "DROP VIEW big_orders",
	} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for round := 0; round < 2; round++ {
		my.exec(t, "UPDATE codes SET extra = 1")
		my.exec(t, "UPDATE customers SET orders = 9")
		my.reset(t)
		if got, want := my.query(t, "SELECT GROUP_CONCAT(id, ':', extra ORDER BY id) FROM codes"), "0:7,1:7"; got != want {
			t.Errorf("round %d: codes after reset: %s; want %s", round, got, want)
		}
		if got, want := my.query(t, "SELECT GROUP_CONCAT(id, ':', orders ORDER BY id) FROM customers"), "1:2,2:1"; got != want {
			t.Errorf("round %d: customers after reset: %s; want %s", round, got, want)
		}
		if got, want := my.query(t, "SELECT auto_increment FROM information_schema.tables WHERE table_schema = 'app' AND table_name = 'codes'"), "2"; got != want {
			t.Errorf("round %d: codes' auto_increment after reset: %s; want %s", round, got, want)
		}
	}
	said := strings.Join(my.notices(), "\n")
	for _, want := range []string{
		"table notes of the baseline was dropped by a test: seam cannot bring it back, and the tests after it run without it",
		"table orders of the baseline was dropped by a test",
		"table codes of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone",
		"view big_orders of the baseline was dropped by a test: seam cannot make it again (Error 1146 (42S02): Table 'app.orders' doesn't exist), and the tests after it run without it",
		"trigger codes_upper on table codes of the baseline cannot be made again (Error 1054 (42S22): Unknown column 'code' in 'NEW'): the tests after it run without it",
	} {
		if n := strings.Count(said, want); n != 1 {
			t.Errorf("%d times in the notices, want once: %q\n%s", n, want, said)
		}
	}
	if n := len(my.notices()); n != 5 {
		t.Errorf("%d notices, want 5:\n%s", n, said)
	}
}

// A transaction the system left open holds locks the reset needs: the
// reset waits a while, then says whose it is (a HeldError with the
// session), ends that connection (rolling the transaction back) and resets
// again, so the next test starts from the baseline. Both kinds: one that
// wrote (row locks) and one that only read a table whose restore drops a
// trigger of the user's (a metadata lock: autocommit off, as PyMySQL has
// it, and no COMMIT after a SELECT).
func TestResetEndsATransactionLeftOpen(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	my.inst.base.lockWait = time.Second
	ctx := context.Background()
	for _, tc := range []struct {
		name, write, leak string
	}{
		{"wrote", "UPDATE customers SET orders = 50 WHERE id = 1", "UPDATE customers SET orders = 60 WHERE id = 1"},
		{"only read", "INSERT INTO orders (customer_id, total) VALUES (1, 5)", "SELECT count(*) FROM orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := my.db.Exec(tc.write); err != nil {
				t.Fatal(err)
			}
			conn, err := my.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "SET autocommit = 0"); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.QueryContext(ctx, tc.leak)
			if err != nil {
				t.Fatal(err)
			}
			rows.Close()
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err = my.inst.Reset(rctx)
			var held *service.HeldError
			if !errors.As(err, &held) || !held.Ended || len(held.Holders) != 1 {
				t.Fatalf("reset with a transaction open: %v; want a HeldError naming one session, ended", err)
			}
			h := held.Holders[0]
			if !strings.HasPrefix(h.Addr, "127.0.0.1:") || h.State != "idle in transaction" || h.Open <= 0 || h.Began.After(time.Now()) {
				t.Errorf("holder %+v: want the suite user's TCP session, idle in transaction, with its age", h)
			}
			if want := "seam ended that connection (its transaction rolled back) and reset again"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q: want it to say %q", err, want)
			}
			if got := my.query(t, state); got != wantState {
				t.Fatalf("after the reset:\n got %s\nwant %s", got, wantState)
			}
			if err := conn.PingContext(ctx); err == nil {
				t.Errorf("the session left open still answers; want it ended")
			}
		})
	}
}

// seam's triggers hold up no writer: while a long statement writes one
// table and a transaction that wrote another is left open, other
// connections write to both, and to a third, at once.
func TestTrackingHoldsUpNoWriter(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	ctx := context.Background()
	tx, err := my.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO notes VALUES (7, 'open')"); err != nil {
		t.Fatal(err)
	}
	long := make(chan error, 1)
	go func() {
		_, err := my.db.Exec("INSERT INTO audit (what) SELECT IF(SLEEP(3) = 0, 'slow', 'x')")
		long <- err
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	for _, q := range []string{"INSERT INTO audit (what) VALUES ('fast')", "INSERT INTO notes VALUES (8, 'fast')", "UPDATE codes SET code = 'fast' WHERE id = 1"} {
		my.exec(t, q)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("three writes took %v while another statement and a transaction were writing", d)
	}
	if err := <-long; err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	my.reset(t)
	if got := my.query(t, state); got != wantState {
		t.Fatalf("after reset:\n got %s\nwant %s", got, wantState)
	}
}

// Writes that change rows without a trigger firing and without emptying a
// table or moving its AUTO_INCREMENT: a partition emptied, two tables
// swapped by RENAME (each then has the other's triggers of seam's).
func TestResetSeesWritesNoTriggerFires(t *testing.T) {
	my := startMariaDB(t, `
CREATE TABLE events (id INT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at))
	PARTITION BY RANGE (YEAR(at)) (PARTITION p2025 VALUES LESS THAN (2026), PARTITION p2026 VALUES LESS THAN (2027));
INSERT INTO events VALUES (1, '2025-05-01'), (2, '2026-05-01');
CREATE TABLE left_side (id INT PRIMARY KEY, v VARCHAR(10));
CREATE TABLE right_side (id INT PRIMARY KEY, v VARCHAR(10));
INSERT INTO left_side VALUES (1, 'left');
INSERT INTO right_side VALUES (1, 'right');
`, "")
	const state = `SELECT CONCAT_WS(' | ', (SELECT GROUP_CONCAT(id ORDER BY id) FROM events),
		(SELECT GROUP_CONCAT(id, v ORDER BY id) FROM left_side), (SELECT GROUP_CONCAT(id, v ORDER BY id) FROM right_side))`
	const want = "1,2 | 1left | 1right"
	for round := 0; round < 2; round++ {
		for _, stmts := range [][]string{
			{"ALTER TABLE events TRUNCATE PARTITION p2025"},
			{"RENAME TABLE left_side TO swap, right_side TO left_side, swap TO right_side", "INSERT INTO left_side VALUES (2, 'new')"},
		} {
			for _, q := range stmts {
				my.exec(t, q)
			}
			if got := my.query(t, state); got == want {
				t.Fatalf("%s changed nothing", stmts)
			}
			my.reset(t)
			if got := my.query(t, state); got != want {
				t.Fatalf("round %d, after %s and reset: %s; want %s", round, stmts, got, want)
			}
			my.sameTriggers(t)
			// seam's triggers are on the right tables again.
			my.exec(t, "UPDATE right_side SET v = 'changed'")
			my.reset(t)
			if got := my.query(t, state); got != want {
				t.Fatalf("round %d, after %s, an update and reset: %s; want %s", round, stmts, got, want)
			}
		}
	}
	if said := my.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// An index a test made on a baseline table is dropped at the reset, and
// one it dropped or changed is made again, silently: only the indexes
// changed, not the table (no "altered" notice). Twice, as the second
// reset starts from the first's ALTER TABLE.
func TestResetUndoesIndexChanges(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	const indexes = `SELECT GROUP_CONCAT(table_name, '.', index_name, '(', column_name, ':', non_unique, ')'
		ORDER BY table_name, index_name, seq_in_index) FROM information_schema.statistics WHERE table_schema = 'app'`
	base := my.query(t, indexes)
	for round := 0; round < 2; round++ {
		for _, q := range []string{
			"CREATE INDEX customers_orders ON customers (orders)",
			"DROP INDEX name ON customers",
			"ALTER TABLE audit ADD UNIQUE KEY what_u (what)",
			"ALTER TABLE notes DROP PRIMARY KEY, ADD PRIMARY KEY (id) COMMENT 'changed'",
			"INSERT INTO customers (name) VALUES ('ada')",
		} {
			my.exec(t, q)
		}
		if my.query(t, indexes) == base {
			t.Fatalf("round %d: the test's index changes did not change the indexes", round)
		}
		my.reset(t)
		if got := my.query(t, indexes); got != base {
			t.Errorf("round %d: indexes after reset:\n%s\nwant\n%s", round, got, base)
		}
		if got := my.query(t, state); got != wantState {
			t.Errorf("round %d: after reset:\n%s\nwant\n%s", round, got, wantState)
		}
	}
	if said := my.notices(); len(said) != 0 {
		t.Errorf("notices, want none: %q", said)
	}
}
