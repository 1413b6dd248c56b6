package wire

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// Faults disturb an edge until they are cleared. Each field is one fault;
// several may hold at once.
type Faults struct {
	Latency    time.Duration // added to every chunk the callee sends back
	Jitter     time.Duration // ± on the latency, drawn from the seeded source
	Bandwidth  int64         // bytes per second each way; 0: unlimited
	CloseAfter int64         // close a connection after this many bytes (both ways); 0: never
	Reset      bool          // reset every connection, open or new
	Blackhole  bool          // accept, but let nothing through: calls time out
	Seed       uint64        // seeds the jitter
}

// IsZero reports whether no fault is set.
func (f Faults) IsZero() bool { return f == Faults{Seed: f.Seed} }

func (f Faults) String() string {
	var parts []string
	if f.Latency > 0 {
		s := "latency " + f.Latency.String()
		if f.Jitter > 0 {
			s += " ±" + f.Jitter.String()
		}
		parts = append(parts, s)
	}
	if f.Bandwidth > 0 {
		parts = append(parts, fmt.Sprintf("bandwidth %d B/s", f.Bandwidth))
	}
	if f.CloseAfter > 0 {
		parts = append(parts, fmt.Sprintf("close after %d bytes", f.CloseAfter))
	}
	if f.Reset {
		parts = append(parts, "reset connections")
	}
	if f.Blackhole {
		parts = append(parts, "blackhole (nothing gets through)")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// faultState is a proxy's current faults.
type faultState struct {
	mu  sync.Mutex
	f   Faults
	rnd *rand.Rand
	gen int // bumped on every change, so connections notice
}

func (s *faultState) get() (Faults, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f, s.gen
}

func (s *faultState) delay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.f.Latency
	if s.f.Jitter > 0 && s.rnd != nil {
		d += time.Duration(s.rnd.Int64N(int64(2*s.f.Jitter)+1)) - s.f.Jitter
	}
	return max(d, 0)
}

// SetFaults puts faults on the edge (replacing any before) and reports it
// in the edge's timeline. Reset applies to open connections at once.
func (p *Proxy) SetFaults(f Faults) {
	p.faults.mu.Lock()
	p.faults.f = f
	p.faults.rnd = rand.New(rand.NewPCG(f.Seed, 0xfa17))
	p.faults.gen++
	p.faults.mu.Unlock()
	now := time.Now()
	what := f.String()
	if f.IsZero() {
		what = "cleared"
	}
	p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
	if f.Reset {
		p.mu.Lock()
		for c := range p.conns {
			resetConn(c)
		}
		p.mu.Unlock()
	}
}

// ClearFaults removes every fault.
func (p *Proxy) ClearFaults() {
	p.faults.mu.Lock()
	had := !p.faults.f.IsZero()
	p.faults.f = Faults{}
	p.faults.gen++
	p.faults.mu.Unlock()
	if had {
		now := time.Now()
		p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: "cleared", Start: now, End: now})
	}
}

func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
