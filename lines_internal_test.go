package seam

import (
	"fmt"
	"strings"
	"testing"
)

// TestLineLogKeepsTheNewest: an environment shared by a package's tests
// with a chatty service keeps the newest lines, so a late test still gets
// its own; one whose start was dropped is told how many.
func TestLineLogKeepsTheNewest(t *testing.T) {
	var l lineLog
	for i := range maxLines + 10 {
		l.add("svc", "stdout", fmt.Sprint("early ", i), nil)
	}
	from := l.len()
	l.add("svc", "stdout", "the late test's line", nil)
	if got := l.since(from); len(got) != 1 || got[0] != "svc | the late test's line" {
		t.Fatalf("the late test's lines: %q", got)
	}
	all := l.since(0)
	if !strings.HasPrefix(all[0], "seam | (") || !strings.Contains(all[0], "earlier lines dropped") || len(all) > maxLines+1 {
		t.Errorf("from the start: %d lines, first %q", len(all), all[0])
	}
	if l.len() != maxLines+11 {
		t.Errorf("len %d, want %d", l.len(), maxLines+11)
	}
}
