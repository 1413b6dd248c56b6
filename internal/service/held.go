package service

import (
	"fmt"
	"strings"
	"time"
)

// HeldError is a reset that waited Wait for locks that sessions of the
// system held (a transaction left open: a missing COMMIT, a client with
// autocommit off that only read), and gave up. Holders are the sessions
// with a transaction open then, oldest first. Their transactions are
// rolled back (seam ended their connections: left open, they hold the
// locks for every test after, and their writes could land in any of them),
// and Ended reports whether the reset then succeeded.
type HeldError struct {
	Service string // the data service reset (the environment tells)
	Wait    time.Duration
	Holders []Holder
	Ended   bool
	// Writes: the holders' transactions had written and not committed.
	// No lock of theirs was in the reset's way, yet their writes, unseen
	// by the reset, would have landed in whichever test they committed in.
	Writes bool
	Err    error // the server's error (lock wait timeout)
}

// Holder is a database session with a transaction open while a reset
// waited for locks.
type Holder struct {
	Addr  string        // its client's address (host:port); "" for a local socket
	Who   string        // who that client is (the environment tells: a service, by its edge); "" when unknown
	State string        // what the server says it is doing (idle in transaction, active, Sleep)
	Open  time.Duration // how long its transaction has been open (0: unknown)
	Began time.Time     // when its transaction began (zero: unknown)
	Test  string        // the test it began in (the runner tells), when known
	Query string        // its current or last statement, when the server tells
}

// EndHeld is what a data service's reset does when it gave up waiting
// for locks (err): end reports and ends the sessions holding them, retry
// resets again. It returns the HeldError that says so.
func EndHeld(wait time.Duration, err error, end func() ([]Holder, error), retry func() error) error {
	held := &HeldError{Wait: wait, Err: err}
	if held.Holders, err = end(); err != nil {
		return fmt.Errorf("%w (and finding who held them: %v)", held, err)
	}
	if err = retry(); err == nil {
		held.Ended = true
	} else {
		held.Err = err
	}
	return held
}

func (e *HeldError) Unwrap() error { return e.Err }

func (e *HeldError) Error() string {
	var b strings.Builder
	if e.Service != "" {
		fmt.Fprintf(&b, "resetting %s: ", e.Service)
	}
	what := "held locks the reset needs"
	if e.Writes {
		what = "kept its writes uncommitted"
	}
	fmt.Fprintf(&b, "a transaction left open by the system %s for more than %v", what, e.Wait)
	if len(e.Holders) == 0 {
		fmt.Fprintf(&b, " (it ended before seam could tell whose): %v", e.Err)
		return b.String()
	}
	for i, h := range e.Holders {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(h.String())
	}
	if e.Ended {
		b.WriteString(". seam ended that connection (its transaction rolled back) and reset again: the tests after this one start from the baseline")
	} else {
		fmt.Fprintf(&b, ". seam ended that connection, and the reset still failed: %v", e.Err)
	}
	return b.String()
}

func (h Holder) String() string {
	var b strings.Builder
	switch {
	case h.Who != "":
		b.WriteString(h.Who)
	case h.Addr != "":
		fmt.Fprintf(&b, "the connection from %s", h.Addr)
	default:
		b.WriteString("a connection by a local socket")
	}
	if h.Open > 0 {
		fmt.Fprintf(&b, ", its transaction open for %s", h.Open.Round(100*time.Millisecond))
	}
	if h.Test != "" {
		fmt.Fprintf(&b, " (begun during test %q)", h.Test)
	}
	if h.State != "" {
		fmt.Fprintf(&b, ", %s", h.State)
	}
	if q := oneLine(h.Query); q != "" {
		fmt.Fprintf(&b, ", its last statement: %s", q)
	}
	return b.String()
}
