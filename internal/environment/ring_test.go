package environment

import "testing"

func TestRingSignalsEachAddedLine(t *testing.T) {
	r := newRing(2)
	first := r.changed()
	select {
	case <-first:
		t.Fatal("changed before any line was added")
	default:
	}
	r.add("a")
	select {
	case <-first:
	default:
		t.Fatal("not told of the added line")
	}
	second := r.changed()
	select {
	case <-second:
		t.Fatal("the next wait is already over")
	default:
	}
	r.add("b")
	r.add("c")
	<-second
	if got := r.last(5); len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Errorf("last = %q, want the two newest", got)
	}
}
