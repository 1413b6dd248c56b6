package freeport

import (
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestTakeStaysBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low-lowest < minRange {
		t.Skipf("this machine's ephemeral range starts at %d: ports come from the kernel", low)
	}
	a := New()
	defer a.Close()
	for range 50 {
		p, err := a.Take()
		if err != nil {
			t.Fatal(err)
		}
		if p < lowest || p >= low {
			t.Fatalf("port %d: want %d ≤ port < %d (below the ephemeral range)", p, lowest, low)
		}
	}
}

// Two allocators stand for two seam processes: the claim is machine-wide.
// They share a range of 64 ports and take 40 between them, so other
// programs (seam tests alongside) may hold a few of the 64.
func TestTwoAllocatorsNeverShareAPort(t *testing.T) {
	lo := lowest + rand.IntN(10000)
	a, b := newRange(lo, lo+63), newRange(lo, lo+63)
	defer a.Close()
	defer b.Close()
	seen := map[int]string{}
	for i := range 20 {
		for name, al := range map[string]*Allocator{"a": a, "b": b} {
			p, err := al.Take()
			if err != nil {
				t.Fatalf("take %d from %s: %v", i, name, err)
			}
			if p < lo || p > lo+63 {
				t.Fatalf("port %d is outside %d to %d", p, lo, lo+63)
			}
			if other, ok := seen[p]; ok {
				t.Fatalf("port %d given to %s and to %s", p, other, name)
			}
			seen[p] = name
		}
	}
}

func TestTakeSkipsAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	a := newRange(busy, busy)
	defer a.Close()
	if p, err := a.Take(); err == nil {
		t.Fatalf("took port %d, which a listener holds", p)
	} else if want := "is free"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q: want it to say %q", err, want)
	}
}

func TestCloseDropsTheClaims(t *testing.T) {
	a := New()
	port, err := a.Take()
	if err != nil {
		t.Fatal(err)
	}
	b := newRange(port, port)
	defer b.Close()
	if _, err := b.Take(); err == nil {
		t.Fatal("a second allocator took a claimed port")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Take(); err == nil {
		t.Fatal("a closed allocator handed out a port")
	}
	if p, err := b.Take(); err != nil || p != port {
		t.Fatalf("after Close: got %d, %v; want %d", p, err, port)
	}
}

func TestOneHoldsItsClaimUntilReleased(t *testing.T) {
	port, release, err := One()
	if err != nil {
		t.Fatal(err)
	}
	name := "@seam/port/" + strconv.Itoa(port)
	if l, err := net.Listen("unix", name); err == nil {
		l.Close()
		t.Fatal("the port was not claimed")
	}
	release()
	l, err := net.Listen("unix", name)
	if err != nil {
		t.Fatalf("the claim outlived release: %v", err)
	}
	l.Close()
}

func TestReleaseDropsAClaimButNeverGivesThePortAgain(t *testing.T) {
	a := New()
	defer a.Close()
	port, err := a.Take()
	if err != nil {
		t.Fatal(err)
	}
	a.Release(port)
	b := newRange(port, port)
	defer b.Close()
	if p, err := b.Take(); err != nil || p != port {
		t.Fatalf("after Release, another allocator got %d, %v; want %d", p, err, port)
	}
	b.Release(port)
	a.lo, a.hi = port, port
	if p, err := a.Take(); err == nil {
		t.Fatalf("the allocator gave port %d again", p)
	}
}
