package environment

import (
	"fmt"
	"net"
	"sync"
)

// Ports hands out free loopback ports, never the same one twice in a run,
// so parallel environments cannot collide with each other.
type Ports struct {
	mu    sync.Mutex
	given map[int]bool
}

// NewPorts returns an empty allocator.
func NewPorts() *Ports { return &Ports{given: map[int]bool{}} }

// Take returns a port that was free a moment ago on 127.0.0.1.
func (p *Ports) Take() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tries := 0; tries < 100; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !p.given[port] {
			p.given[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: no new port after 100 tries")
}
