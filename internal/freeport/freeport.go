// Package freeport hands out loopback ports for services to listen on, so
// that nothing else takes them between the choice and the service's bind.
//
// A port found by listening on 127.0.0.1:0 is closed again until the
// service binds it, seconds later when the service waits for its
// dependencies. Meanwhile the kernel may give that port to any process's
// own :0 listener or outgoing connection: all of them draw from the
// ephemeral range. So ports are chosen below that range, where only
// explicit binds land, and each is claimed across processes (go test runs
// packages, and CI runs jobs, side by side) by an abstract Unix socket
// named for it: a name only one socket on the machine can hold, dropped by
// the kernel when its process dies, and never a file left behind.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Allocator hands out ports, never the same one twice, and holds each
// port's claim until Close.
type Allocator struct {
	mu     sync.Mutex
	lo, hi int // candidates, inclusive; 0, 0: ask the kernel (:0)
	given  map[int]bool
	claims []net.Listener
	closed bool
}

// The lowest port handed out, and how many candidates below the ephemeral
// range are worth picking from rather than asking the kernel.
const (
	lowest   = 10000
	minRange = 2000
)

// New returns an allocator that picks from the ports below the machine's
// ephemeral range (net.ipv4.ip_local_port_range), or from the kernel's
// choice when that range leaves too few below it.
func New() *Allocator {
	a := &Allocator{given: map[int]bool{}}
	if low := ephemeralLow(); low-lowest >= minRange {
		a.lo, a.hi = lowest, low-1
	}
	return a
}

// newRange is New with a given candidate range, for tests.
func newRange(lo, hi int) *Allocator { return &Allocator{lo: lo, hi: hi, given: map[int]bool{}} }

func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return n
}

// Take returns a port that is free on 127.0.0.1 and claimed for this
// allocator until Close.
func (a *Allocator) Take() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, errors.New("finding a free port: the allocator is closed")
	}
	const tries = 200
	for range tries {
		port, err := a.candidate()
		if err != nil {
			return 0, err
		}
		if a.given[port] {
			continue
		}
		claim, err := claim(port)
		if err != nil {
			continue // another seam holds it
		}
		if !free(port) {
			if claim != nil {
				claim.Close()
			}
			continue
		}
		a.given[port] = true
		if claim != nil {
			a.claims = append(a.claims, claim)
		}
		return port, nil
	}
	if a.lo != 0 {
		return 0, fmt.Errorf("finding a free port: %d tries between %d and %d found none free", tries, a.lo, a.hi)
	}
	return 0, fmt.Errorf("finding a free port: %d tries found none free", tries)
}

// candidate is a random port from the range, or the kernel's choice.
// Randomness here decides nothing a test can see, so it is not seeded.
func (a *Allocator) candidate() (int, error) {
	if a.lo != 0 {
		return a.lo + rand.IntN(a.hi-a.lo+1), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// claim binds the port's abstract socket name. A nil listener with no
// error means this machine has no such sockets to claim with (a sandbox
// that refuses them): the bind test alone decides then.
func claim(port int) (net.Listener, error) {
	l, err := net.Listen("unix", "@seam/port/"+strconv.Itoa(port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		return nil, nil
	}
	return l, nil
}

// free says whether the port can be listened on now.
func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Close drops every claim; the ports may be handed out again by others.
func (a *Allocator) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	var errs []error
	for _, c := range a.claims {
		errs = append(errs, c.Close())
	}
	a.claims = nil
	return errors.Join(errs...)
}
