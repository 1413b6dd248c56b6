package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/internal/service"
)

// twoTables is a baseline of two tables with keys, the first with a row.
const twoTables = `CREATE TABLE t1 (id int PRIMARY KEY); CREATE TABLE t2 (id int PRIMARY KEY); INSERT INTO t1 VALUES (100);`

const twoTablesState = `SELECT concat_ws(' | ', (SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '-') FROM t1),
	(SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '-') FROM t2))`

// session opens another session of the suite's role (as a service of the
// system would), or of seam's sql steps when app is service.StepApp.
func (s *started) session(t *testing.T, app string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fallbacks = nil
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = "127.0.0.1", uint16(s.inst.port), "seam", s.inst.password, "app"
	cfg.RuntimeParams["application_name"] = app
	cfg.RuntimeParams["statement_timeout"] = "3s" // a writer held up fails the test, it does not hang it
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func run(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// seam's notes of the tables written hold up no writer: a transaction
// that wrote a row of a table and is still open does not make another
// writer of that table wait, in either order, and two transactions that
// write two tables in opposite orders do not deadlock.
func TestTrackingHoldsUpNoWriter(t *testing.T) {
	pg := startPostgres(t, twoTables, "")
	a, b := pg.session(t, "service a"), pg.session(t, "service b")
	for _, order := range [][2]*pgx.Conn{{a, b}, {b, a}} {
		first, second := order[0], order[1]
		run(t, first, "BEGIN")
		run(t, first, "INSERT INTO t1 VALUES (1)")
		start := time.Now()
		run(t, second, "INSERT INTO t1 VALUES (2)")
		run(t, second, "BEGIN")
		run(t, second, "INSERT INTO t2 VALUES (2)")
		run(t, first, "INSERT INTO t2 VALUES (1)")
		if d := time.Since(start); d > time.Second {
			t.Errorf("writes of other rows took %v while another transaction that wrote the same tables was open", d)
		}
		run(t, first, "COMMIT")
		run(t, second, "COMMIT")
		pg.reset(t)
		if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
			t.Fatalf("after reset: %s; want %s", got, want)
		}
	}
	// t1 then t2, and t2 then t1, at once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*pgx.Conn{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			tx, err := c.Begin(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			defer tx.Rollback(ctx)
			tables := []string{"t1", "t2"}
			if i == 1 {
				tables = []string{"t2", "t1"}
			}
			for j, tb := range tables {
				if _, err := tx.Exec(ctx, "INSERT INTO "+tb+" VALUES ($1)", 10+i); err != nil {
					errs[i] = err
					return
				}
				if j == 0 {
					time.Sleep(300 * time.Millisecond)
				}
			}
			errs[i] = tx.Commit(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d, writing other rows than the other: %v", i, err)
		}
	}
	pg.reset(t)
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after reset: %s; want %s", got, want)
	}
}

// A note goes with its transaction: a write after a savepoint rolled back
// is noted again; a transaction whose snapshot saw a note that a reset
// then consumed still notes its own write.
func TestTrackingNotesEachTransactionsWrites(t *testing.T) {
	pg := startPostgres(t, twoTables, "")
	a, b := pg.session(t, "service a"), pg.session(t, "service b")
	run(t, a, "BEGIN")
	run(t, a, "SAVEPOINT s")
	run(t, a, "INSERT INTO t1 VALUES (7)")
	run(t, a, "ROLLBACK TO s")
	run(t, a, "UPDATE t1 SET id = 101 WHERE id = 100")
	run(t, a, "COMMIT")
	pg.reset(t)
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after a savepoint rolled back, a write and reset: %s; want %s", got, want)
	}
	run(t, b, "INSERT INTO t1 VALUES (5)")
	run(t, a, "BEGIN ISOLATION LEVEL REPEATABLE READ")
	run(t, a, "SELECT count(*) FROM t1") // its snapshot: the note of b's write is in it
	// a only read: nothing to wait for.
	pg.reset(t)
	run(t, a, "INSERT INTO t1 VALUES (9)")
	run(t, a, "COMMIT")
	pg.reset(t)
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after a repeatable-read transaction that began before a reset wrote after it, and reset: %s; want %s", got, want)
	}
}

// A transaction the system left open with writes it did not commit: its
// writes hold no lock the reset needs and leave no note it sees, but they
// would land in whichever test it commits in. The reset waits for it,
// then says whose it is and ends it; one that commits meanwhile is reset;
// one that only read is no reason to wait.
func TestResetEndsUncommittedWrites(t *testing.T) {
	pg := startPostgres(t, twoTables, "")
	pg.inst.base.lockWait = time.Second
	left, other := pg.session(t, "service left"), pg.session(t, "service other")
	run(t, left, "BEGIN")
	run(t, left, "UPDATE t1 SET id = 100 WHERE id = 100")
	run(t, left, "INSERT INTO t2 VALUES (42)")
	run(t, other, "INSERT INTO t2 VALUES (1)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := pg.inst.Reset(ctx)
	var held *service.HeldError
	if !errors.As(err, &held) || !held.Ended || !held.Writes || len(held.Holders) != 1 {
		t.Fatalf("reset with writes left uncommitted: %v; want a HeldError naming one session that wrote, ended", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the reset gave up after %v; want it to wait %v first", d, time.Second)
	}
	h := held.Holders[0]
	if h.State != "idle in transaction" || h.Open <= 0 || !strings.Contains(h.Query, "INSERT INTO t2") {
		t.Errorf("holder %+v: want it idle in transaction, its age and its last statement", h)
	}
	for _, want := range []string{"kept its writes uncommitted for more than 1s", "seam ended that connection (its transaction rolled back) and reset again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to say %q", err, want)
		}
	}
	if _, err := left.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Errorf("the session left open still answers; want it ended")
	}
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after the reset: %s; want %s", got, want)
	}
	// Committed while the reset waits: its writes are reset.
	late := pg.session(t, "service late")
	run(t, late, "BEGIN")
	run(t, late, "INSERT INTO t2 VALUES (3)")
	committed := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := late.Exec(context.Background(), "COMMIT")
		committed <- err
	}()
	if err := pg.inst.Reset(ctx); err != nil {
		t.Fatalf("reset while a transaction that wrote commits: %v", err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after a transaction committed during the reset: %s; want %s", got, want)
	}
	// Only read: nothing to wait for.
	reader := pg.session(t, "service reader")
	run(t, reader, "BEGIN")
	run(t, reader, "SELECT * FROM t1")
	run(t, other, "INSERT INTO t2 VALUES (1)")
	start = time.Now()
	pg.reset(t)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("reset took %v with a transaction open that only read", d)
	}
	run(t, reader, "COMMIT")
}

// A transaction the system left open that holds a lock the reset needs:
// the reset waits, then says whose it is and ends it.
func TestResetEndsATransactionHoldingLocks(t *testing.T) {
	pg := startPostgres(t, twoTables, "")
	pg.inst.base.lockWait = time.Second
	locker, other := pg.session(t, "service locker"), pg.session(t, "service other")
	run(t, other, "INSERT INTO t1 VALUES (1)")
	run(t, locker, "BEGIN")
	run(t, locker, "LOCK TABLE t1 IN SHARE MODE")
	err := pg.inst.Reset(context.Background())
	var held *service.HeldError
	if !errors.As(err, &held) || !held.Ended || held.Writes || len(held.Holders) != 1 {
		t.Fatalf("reset with a lock held: %v; want a HeldError naming one session, ended", err)
	}
	if want := "held locks the reset needs for more than 1s"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want it to say %q", err, want)
	}
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after the reset: %s; want %s", got, want)
	}
}

// A transaction seam's own sql steps left open is the test's: the check
// after the test ends it and says so (not the system's, and not after the
// reset waited for it); the reset after a test that failed ends one at
// once, without blaming the system.
func TestStepTransactionIsTheTests(t *testing.T) {
	pg := startPostgres(t, twoTables, "")
	step := pg.session(t, service.StepApp)
	run(t, step, "BEGIN")
	run(t, step, "INSERT INTO t1 VALUES (3)")
	err := pg.inst.CheckTest(time.Now())
	var open *service.StepTxError
	if !errors.As(err, &open) || !strings.Contains(open.Query, "INSERT INTO t1") || open.Open <= 0 {
		t.Fatalf("check after a test whose sql step left a transaction open: %v; want a StepTxError with its statement", err)
	}
	if want := "the test's sql steps left a transaction open"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want it to say %q", err, want)
	}
	if _, err := step.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Errorf("the step's session still answers; want it ended")
	}
	if err := pg.inst.CheckTest(time.Now()); err != nil {
		t.Errorf("a second check: %v; want nothing left", err)
	}
	pg.reset(t)
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after the reset: %s; want %s", got, want)
	}
	// No check (the test failed): the reset ends it at once.
	pg.inst.base.lockWait = 5 * time.Second
	step = pg.session(t, service.StepApp)
	run(t, step, "BEGIN")
	run(t, step, "UPDATE t1 SET id = 7") // a row lock the reset's restore of t1 waits for
	run(t, pg.session(t, "service other"), "INSERT INTO t1 VALUES (1)")
	start := time.Now()
	pg.reset(t)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reset took %v with the steps' transaction open; want it ended at once", d)
	}
	pg.reset(t)
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after the reset: %s; want %s", got, want)
	}
}

// An advisory lock a session of the system took in a test and kept
// (pg_advisory_lock, never unlocked, on a pooled connection) is said once,
// naming the connection, and left held: the tests after it find it taken.
// One held at the baseline (a leader's) and one of seam's sql steps (the
// next test's DISCARD ALL releases it) are not said.
func TestResetSaysTheAdvisoryLocksTheSystemKept(t *testing.T) {
	pg := startPostgres(t, twoTables, `SELECT pg_advisory_lock(1)`) // held by the job's session from before the baseline
	pool := pg.session(t, "service pool")
	run(t, pool, `SELECT pg_advisory_lock(7)`)
	run(t, pool, `SELECT pg_advisory_lock(-5000000000)`)
	run(t, pool, `SELECT pg_advisory_lock_shared(3, -4)`)
	run(t, pg.session(t, service.StepApp), `SELECT pg_advisory_lock(9)`)
	var addr string
	var pid int
	if err := pool.QueryRow(context.Background(), `SELECT host(inet_client_addr()) || ':' || inet_client_port(), pg_backend_pid()`).Scan(&addr, &pid); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		run(t, pool, `INSERT INTO t2 VALUES (5)`)
		pg.reset(t)
	}
	who := fmt.Sprintf("a session of the system (the connection from %s, application_name 'service pool', pid %d) holds advisory lock ", addr, pid)
	const rest = ", taken since the baseline and not released (pg_advisory_lock without pg_advisory_unlock?): seam leaves it held"
	saidOnce(t, pg, 3, who+"7"+rest, who+"-5000000000"+rest, who+"(3, -4) (shared)"+rest)
	if got := pg.query(t, `SELECT pg_try_advisory_lock(7)::text`); got != "false" {
		t.Errorf("pg_try_advisory_lock(7) after reset: %s; want false (the lock is left held)", got)
	}
	if got, want := pg.query(t, twoTablesState), "100 | -"; got != want {
		t.Fatalf("after the reset: %s; want %s", got, want)
	}
}
