package wire

import (
	"testing"
	"time"
)

// A test's interactions are those told during it, whenever they began: a
// call sent before the test and answered during it (a worker's blocking
// BLPOP) is the test's; one told before the test is not, however long it
// lasted (a pool's connection, opened at start-up and ended before).
func TestJournalSinceIsWhenTold(t *testing.T) {
	var j Journal
	boot := time.Now()
	j.Add(Interaction{Op: "connection", Result: "closed", Start: boot, End: boot})
	testStart := time.Now()
	// Sent at start-up, answered now: told now.
	j.Add(Interaction{Op: "REDIS BLPOP jobs", Result: "[jobs, 1]", Start: boot, End: time.Now()})
	j.Add(Interaction{Op: "GET /", Result: "200 OK", Start: time.Now(), End: time.Now()})
	got := j.Since(testStart)
	if len(got) != 2 || got[0].Op != "REDIS BLPOP jobs" || got[1].Op != "GET /" {
		t.Fatalf("since the test began: %+v", got)
	}
	if all := j.Since(time.Time{}); len(all) != 3 {
		t.Errorf("since always: %d interactions, want 3", len(all))
	}
	if later := j.Since(time.Now().Add(time.Second)); len(later) != 0 {
		t.Errorf("since a time to come: %d interactions, want 0", len(later))
	}
}
