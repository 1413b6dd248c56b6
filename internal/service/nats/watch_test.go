package nats

import (
	"slices"
	"testing"
)

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		p, q string
		want bool
	}{
		{"orders.*", "orders.created", true},
		{"orders.*", "orders.*", true},
		{"orders.*", "orders.>", false},
		{"orders.>", "orders.a.b", true},
		{"orders.>", "orders.*", true},
		{"orders.>", "orders", false},
		{">", "a", true},
		{">", "a.>", true},
		{"*.created", "orders.created", true},
		{"*.created", "orders.*", false},
		{"orders.created", "orders.*", false},
		{"orders.created", "orders.created", true},
		{"orders.created", "orders.created.x", false},
		{"a.*.c", "a.b.c", true},
	} {
		if got := covers(tc.p, tc.q); got != tc.want {
			t.Errorf("covers(%s, %s) = %v, want %v", tc.p, tc.q, got, tc.want)
		}
	}
}

// TestWatched: a subject within another watched is left out (its messages
// would come twice); of two equal ones, one stays.
func TestWatched(t *testing.T) {
	s := &Spec{}
	for _, w := range []string{"orders.created", "orders.*", "*.created", "orders.*", "audit.>", "audit.eu.login", "x"} {
		s.Watch(w)
	}
	want := []string{"orders.*", "*.created", "audit.>", "x"}
	if got := s.watched(); !slices.Equal(got, want) {
		t.Errorf("watched = %q, want %q", got, want)
	}
}
