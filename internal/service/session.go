package service

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// StepApp is the application_name of the sessions seam's own sql steps
// open to PostgreSQL. A data service tells by it the suite's own sessions
// from the system's: a transaction a test's steps left open is the
// test's, not the system's.
const StepApp = "seam sql step"

// StepTxSlots is how many locks (GET_LOCK) there are for the sessions
// seam's own sql steps open to MariaDB, and StepTxLock names each: a
// session holds one while it has a transaction open (the step takes the
// first free one, or keeps its own, after each statement, and releases it
// once the transaction has ended). A data service tells by them the
// suite's own sessions from the system's, for the price of a function
// call each (IS_USED_LOCK gives the session): MariaDB shows no name a
// client gives (performance_schema is off), its list of sessions costs a
// third of a millisecond, and InnoDB's list of transactions is a cache,
// up to 100 ms old, and older while read often.
const StepTxSlots = 8

// StepTxLock is the name of lock slot i (0 ≤ i < StepTxSlots).
func StepTxLock(i int) string { return fmt.Sprintf("seam sql step tx %d", i) }

// StepTxError is a transaction that the test's own sql steps left open
// (a BEGIN with no COMMIT): found at the test's end, and rolled back
// (seam ended the session), so that the reset before the next test does
// not wait for its locks and its writes do not outlive the test.
type StepTxError struct {
	Open  time.Duration // how long it had been open (0: unknown)
	Query string        // its last statement, masked, when the server tells
}

func (e *StepTxError) Error() string {
	var b strings.Builder
	b.WriteString("the test's sql steps left a transaction open")
	if open := e.Open.Round(100 * time.Millisecond); open > 0 {
		fmt.Fprintf(&b, " (for %s", open)
		if q := oneLine(e.Query); q != "" {
			fmt.Fprintf(&b, "; its last statement: %s", q)
		}
		b.WriteString(")")
	} else if q := oneLine(e.Query); q != "" {
		fmt.Fprintf(&b, " (its last statement: %s)", q)
	}
	b.WriteString(": seam rolled it back at the test's end, so the tests after it start from the baseline; " +
		"end it in the test with a commit or rollback step (in teardown: to hold its locks to the test's end)")
	return b.String()
}

// oneLine is a statement on one line, cut at about 200 bytes (between
// characters).
func oneLine(q string) string {
	q = strings.TrimRight(strings.Join(strings.Fields(q), " "), "; ")
	if len(q) > 200 {
		n := 200
		for n > 0 && !utf8.RuneStart(q[n]) {
			n--
		}
		q = q[:n] + "…"
	}
	return q
}
