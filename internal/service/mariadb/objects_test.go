package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/service"
)

// A baseline sequence goes back to its next value and its definition,
// whatever a test did to it: NEXTVAL, SETVAL (which only moves it on),
// ALTER SEQUENCE, DROP, RENAME; a sequence no test used costs no
// statement.
func TestResetRestartsSequences(t *testing.T) {
	my := startMariaDB(t, `CREATE SEQUENCE s START WITH 100; DO NEXTVAL(s);
CREATE SEQUENCE n START WITH 1 INCREMENT BY 5 NOCACHE;
CREATE TABLE tickets (id INT NOT NULL DEFAULT NEXTVAL(n), what VARCHAR(10));`, "")
	const state = `SELECT CONCAT_WS(' | ', NEXTVAL(s), NEXTVAL(n), NEXTVAL(n),
		(SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'app'))`
	const want = "101 | 1 | 6 | n,s,tickets"
	for round, stmts := range [][]string{
		nil, // NEXTVAL alone (the state query)
		{"SELECT SETVAL(s, 500)", "SELECT SETVAL(n, 50)"},
		{"ALTER SEQUENCE n INCREMENT BY 7 CACHE 10", "ALTER SEQUENCE s RESTART WITH 7"},
		{"INSERT INTO tickets (what) VALUES ('x')"},
		{"DROP SEQUENCE s"},
		{"RENAME TABLE s TO s2", "CREATE SEQUENCE made"},
		nil,
	} {
		for _, q := range stmts {
			my.exec(t, q)
		}
		if got, err := my.tryQuery(state); stmts != nil && err == nil && got == want {
			t.Fatalf("round %d: %s changed nothing", round, stmts)
		}
		my.reset(t)
		if got := my.query(t, state); got != want {
			t.Fatalf("round %d: after %s and reset: %s; want %s", round, stmts, got, want)
		}
		my.reset(t)
	}
	// Not used: the reset runs nothing.
	before := my.sessionCount(t, "COM_ALTER_SEQUENCE")
	my.reset(t)
	if n := my.sessionCount(t, "COM_ALTER_SEQUENCE") - before; n != 0 {
		t.Errorf("a reset after a test that used no sequence ran ALTER SEQUENCE %d times", n)
	}
	if said := my.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// routinesInit makes a procedure whose body has several statements, a
// function, an event and the table it empties.
const routinesInit = `CREATE TABLE t (id INT);
CREATE PROCEDURE base_p() BEGIN DECLARE x INT DEFAULT 1; SELECT x; END;
CREATE FUNCTION base_f(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE EVENT base_e ON SCHEDULE EVERY 1 HOUR DO DELETE FROM t;`

const routinesState = `SELECT CONCAT_WS(' | ',
	(SELECT GROUP_CONCAT(routine_type, ' ', routine_name, ':', routine_comment ORDER BY routine_name) FROM information_schema.routines WHERE routine_schema = 'app'),
	(SELECT GROUP_CONCAT(event_name, ':', status ORDER BY event_name) FROM information_schema.events WHERE event_schema = 'app'),
	base_f(2))`

const wantRoutines = "FUNCTION base_f:,PROCEDURE base_p: | base_e:ENABLED | 4"

// The procedures, functions and events a test makes are dropped, so the
// next test can make them again; the baseline's that a test drops or
// changes are made again as they were.
func TestResetDropsRoutinesATestMade(t *testing.T) {
	my := startMariaDB(t, routinesInit, "")
	if got := my.query(t, routinesState); got != wantRoutines {
		t.Fatalf("the baseline: %s; want %s", got, wantRoutines)
	}
	for round := 0; round < 2; round++ {
		for _, stmts := range [][]string{
			{"CREATE PROCEDURE p1() SELECT 1", "CREATE FUNCTION f1() RETURNS INT RETURN 1",
				"CREATE EVENT e1 ON SCHEDULE EVERY 1 DAY DO SELECT 1"},
			{"DROP PROCEDURE base_p", "DROP FUNCTION base_f", "DROP EVENT base_e"},
			{"CREATE OR REPLACE FUNCTION base_f(x INT) RETURNS INT DETERMINISTIC RETURN x * 3",
				"ALTER PROCEDURE base_p COMMENT 'changed'", "ALTER EVENT base_e DISABLE"},
		} {
			for _, q := range stmts {
				my.exec(t, q)
			}
			if got, err := my.tryQuery(routinesState); err == nil && got == wantRoutines {
				t.Fatalf("round %d: %s changed nothing", round, stmts)
			}
			my.reset(t)
			if got := my.query(t, routinesState); got != wantRoutines {
				t.Fatalf("round %d: after %s and reset:\n got %s\nwant %s", round, stmts, got, wantRoutines)
			}
		}
		// What the first test made, the next can make again.
		my.exec(t, "CREATE PROCEDURE p1() SELECT 1")
		my.reset(t)
	}
	my.exec(t, "CALL base_p()")
	if said := my.notices(); len(said) > 0 {
		t.Errorf("notices for what seam can reset:\n%s", strings.Join(said, "\n"))
	}
}

// stepSession opens a session as seam's sql steps do.
func (s *started) stepSession(t *testing.T) *sql.Conn {
	t.Helper()
	c, err := s.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stepExec runs a statement as seam's sql steps do: then the session
// holds a lock service.StepTxLock names (the first) while it has a
// transaction open.
func stepExec(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	name := service.StepTxLock(0)
	if _, err := c.ExecContext(ctx, "DO IF(@@in_transaction, IF(IS_USED_LOCK(?) <=> CONNECTION_ID(), 1, GET_LOCK(?, 0)), RELEASE_LOCK(?))",
		name, name, name); err != nil {
		t.Fatal(err)
	}
}

// A transaction seam's own sql steps left open is the test's: the check
// after the test ends it and says so (not the system's, and not after the
// reset waited for it); the reset after a test that failed ends one at
// once, without blaming the system.
func TestStepTransactionIsTheTests(t *testing.T) {
	my := startMariaDB(t, resetInit, resetJob)
	ctx := context.Background()
	step := my.stepSession(t)
	for _, q := range []string{"BEGIN", "INSERT INTO audit (what) VALUES ('step')"} {
		stepExec(t, step, q)
	}
	err := my.inst.CheckTest(time.Now())
	var open *service.StepTxError
	if !errors.As(err, &open) {
		t.Fatalf("check after a test whose sql step left a transaction open: %v; want a StepTxError", err)
	}
	if want := "the test's sql steps left a transaction open"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want it to say %q", err, want)
	}
	if err := step.PingContext(ctx); err == nil {
		t.Errorf("the step's session still answers; want it ended")
	}
	if err := my.inst.CheckTest(time.Now()); err != nil {
		t.Errorf("a second check: %v; want nothing left", err)
	}
	// A session of the system's is none of the check's business.
	sys, err := my.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	for _, q := range []string{"BEGIN", "INSERT INTO audit (what) VALUES ('system')"} {
		if _, err := sys.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := my.inst.CheckTest(time.Now()); err != nil {
		t.Errorf("check with the system's transaction open: %v; want nothing (the reset's business)", err)
	}
	if _, err := sys.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	my.reset(t)
	if got := my.query(t, state); got != wantState {
		t.Fatalf("after the reset:\n got %s\nwant %s", got, wantState)
	}
	// No check (the test failed): the reset ends it at once.
	my.inst.base.lockWait = 5 * time.Second
	step = my.stepSession(t)
	for _, q := range []string{"BEGIN", "UPDATE customers SET orders = 7"} {
		stepExec(t, step, q)
	}
	my.exec(t, "INSERT INTO audit (what) VALUES ('x')")
	start := time.Now()
	my.reset(t)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reset took %v with the steps' transaction open; want it ended at once", d)
	}
	if got := my.query(t, state); got != wantState {
		t.Fatalf("after the reset:\n got %s\nwant %s", got, wantState)
	}
}
