package stub

import (
	"strings"
	"testing"
	"time"
)

// An unmatched request that came just as a test began is said to be maybe
// the test before's only when there was a test before on the stub, which
// ended just before: a stub's first test has none to blame, and neither
// has a test that began long after the one before ended.
func TestUnmatchedIsBlamedOnTheTestBeforeOnlyWhenThereIsOne(t *testing.T) {
	const hint = "a call the test before set off"
	s, ts := serve(t, `{"mappings": [{"request": {"method": "GET", "url": "/ok"}, "response": {"status": 200}}]}`, Options{})
	unmatched := func(since time.Time) string {
		t.Helper()
		if code, _, _ := do(t, "GET", ts.URL+"/typo", ""); code != 404 {
			t.Fatalf("status %d", code)
		}
		err := s.Unmatched(since)
		if err == nil {
			t.Fatal("no unmatched request")
		}
		return err.Error()
	}

	// The stub's first test: no test before it.
	if msg := unmatched(time.Now()); strings.Contains(msg, hint) {
		t.Errorf("the first test:\n%s", msg)
	}
	// The next test began right after that one ended (it was checked).
	s.Reset()
	if msg := unmatched(time.Now()); !strings.Contains(msg, "GET /typo (came ") || !strings.Contains(msg, hint) {
		t.Errorf("a test right after another:\n%s", msg)
	}
	// One that began long after the test before ended (its check is
	// older than the window).
	s.unmatched.checks = [2]time.Time{{}, time.Now().Add(-2 * earlyUnmatched)}
	s.Reset()
	if msg := unmatched(time.Now()); strings.Contains(msg, hint) {
		t.Errorf("a test long after the one before:\n%s", msg)
	}
	// A request late in a test, right after another.
	s.Reset()
	if msg := unmatched(time.Now().Add(-time.Second)); strings.Contains(msg, hint) {
		t.Errorf("a request a second into the test:\n%s", msg)
	}
}
