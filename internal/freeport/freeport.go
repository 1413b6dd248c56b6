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
	claims map[int]net.Listener
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
	a := &Allocator{given: map[int]bool{}, claims: map[int]net.Listener{}}
	if low := ephemeralLow(); low-lowest >= minRange {
		a.lo, a.hi = lowest, low-1
	}
	return a
}

// newRange is New with a given candidate range, for tests.
func newRange(lo, hi int) *Allocator {
	return &Allocator{lo: lo, hi: hi, given: map[int]bool{}, claims: map[int]net.Listener{}}
}

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
	if a.lo == 0 {
		return a.takeFromKernel()
	}
	// From a random place in the range, every port once: a run's next
	// port is usually the first tried, and a nearly full range is still
	// searched to its end.
	n := a.hi - a.lo + 1
	first := rand.IntN(n) // decides nothing a test can see, so not seeded
	for i := range n {
		port := a.lo + (first+i)%n
		ok, err := a.try(port)
		if err != nil {
			return 0, err
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: none of %d to %d is free", a.lo, a.hi)
}

// takeFromKernel takes ports the kernel finds (listening on :0).
func (a *Allocator) takeFromKernel() (int, error) {
	const tries = 200
	for range tries {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok, err := a.try(port)
		if err != nil {
			return 0, err
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: %d tries found none free", tries)
}

// try claims port if no one has it: not this allocator, not another seam,
// not a listener. An error is one no other port would avoid.
func (a *Allocator) try(port int) (bool, error) {
	if a.given[port] {
		return false, nil
	}
	c, err := claim(port)
	if errors.Is(err, syscall.EADDRINUSE) {
		return false, nil // another seam holds it
	}
	if err != nil {
		return false, err
	}
	if !free(port) {
		if c != nil {
			c.Close()
		}
		return false, nil
	}
	a.given[port] = true
	if c != nil {
		a.claims[port] = c
	}
	return true, nil
}

// claim binds the port's abstract socket name; EADDRINUSE means another
// seam holds it. A nil listener with no error means this machine has no
// such sockets to claim with (a sandbox that refuses them, a system
// without abstract names): the bind test alone decides then.
func claim(port int) (net.Listener, error) {
	l, err := net.Listen("unix", "@seam/port/"+strconv.Itoa(port))
	switch {
	case err == nil:
		return l, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, err
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return nil, fmt.Errorf("finding a free port: %w", err)
	default:
		return nil, nil
	}
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

// Release drops the claims on ports whose services have stopped, so a
// run of many environments does not hold a descriptor for each port it
// ever gave. This allocator still never gives them again: a port closed a
// moment ago may have connections in TIME_WAIT, which some servers cannot
// bind over.
func (a *Allocator) Release(ports ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range ports {
		if c, ok := a.claims[p]; ok {
			c.Close()
			delete(a.claims, p)
		}
	}
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
	clear(a.claims)
	return errors.Join(errs...)
}

// One claims a single port, for a process started on its own (a cache's
// server, a test's peer): release drops the claim once it is listening or
// gone.
func One() (port int, release func(), err error) {
	a := New()
	port, err = a.Take()
	if err != nil {
		return 0, nil, err
	}
	return port, func() { a.Close() }, nil
}
