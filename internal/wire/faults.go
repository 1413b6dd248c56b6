package wire

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
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
	Refuse     bool          // a partition: the port is closed, so new connections are refused; open ones go on
	Blackhole  bool          // accept, but let nothing through: calls time out
	HTTP       *HTTPFault    // answer matching HTTP requests in the callee's place
	GRPC       *GRPCFault    // answer matching gRPC calls in the callee's place (grpcfault.go)
	Seed       uint64        // seeds the jitter
}

// HTTPFault answers matching requests with a status of its own; the callee
// never sees them.
type HTTPFault struct {
	Method string // "" matches any
	Path   string // the request target; * matches within a segment; "" matches any
	Status int    // answer with this; 0: the callee answers
	Body   string
	Slow   time.Duration // with no Status: each chunk of the callee's answer is held this long
}

// FaultProblem is what is wrong with Faults (Problems): Where in them
// ("" for the whole, ".http.status", ".grpc.method", …), What, and a
// Hint (what to do) or "".
type FaultProblem struct{ Where, What, Hint string }

// Problems reports what is wrong with f, none when nothing: of the whole
// and its HTTP fault the first (a jitter without a latency, a negative
// size, an HTTP fault with both or neither of a status and slow, a status
// that is not an HTTP one); of its gRPC fault each (a code of OK or below
// 0, something that is not a method path). Both the fault step and the
// Go API check through it.
func (f Faults) Problems() []FaultProblem {
	var out []FaultProblem
	add := func(where, what, hint string) { out = append(out, FaultProblem{where, what, hint}) }
	switch {
	case f.Jitter > 0 && f.Latency == 0:
		add("", "jitter needs a latency", "")
	case f.Latency < 0 || f.Jitter < 0:
		add("", "latency and jitter must be positive", "")
	case f.Bandwidth < 0 || f.CloseAfter < 0:
		add("", "bandwidth and close_after must be positive", "")
	case f.HTTP != nil && (f.HTTP.Status == 0) == (f.HTTP.Slow == 0):
		add(".http", "give status (answer in the callee's place) or slow (hold the callee's answer), one of them", "")
	case f.HTTP != nil && f.HTTP.Status != 0 && (f.HTTP.Status < 100 || f.HTTP.Status > 599):
		add(".http.status", fmt.Sprintf("%d is not an HTTP status", f.HTTP.Status), "")
	case f.HTTP != nil && f.HTTP.Status != 0 && f.HTTP.Status < 200:
		add(".http.status", fmt.Sprintf("%d is an interim status (1xx), not an answer: a caller would wait on for the real one", f.HTTP.Status), "use a final status, 200 to 599")
	case f.HTTP != nil && f.HTTP.Slow < 0:
		add(".http.slow", "must be positive", "")
	}
	if g := f.GRPC; g != nil {
		switch {
		case g.Code == 0:
			add(".grpc.code", "OK is not a fault", "answer with an error status, as UNAVAILABLE")
		case g.Code < 0:
			add(".grpc.code", fmt.Sprintf("%d is not a gRPC status", g.Code), "")
		}
		if g.Method != "" && (!strings.HasPrefix(g.Method, "/") || strings.Count(g.Method, "/") != 2) {
			add(".grpc.method", fmt.Sprintf("%q is not a gRPC method path: write /package.Service/Method", g.Method), "")
		} else if _, err := path.Match(g.Method, ""); err != nil {
			add(".grpc.method", fmt.Sprintf("%q: %v", g.Method, err), "")
		}
	}
	return out
}

// Matches reports whether the fault is for a request (its method and
// target).
func (h *HTTPFault) Matches(method, target string) bool { return h.matches(method, target) }

func (h *HTTPFault) matches(method, target string) bool {
	if h.Method != "" && !strings.EqualFold(h.Method, method) {
		return false
	}
	if h.Path == "" || h.Path == target {
		return true
	}
	ok, _ := path.Match(h.Path, target)
	return ok
}

// response is the answer put in the callee's place, to a request of
// method: as HTTP frames it (RFC 9110 §6.4.1, §9.3.2), a HEAD's answer has
// its headers but no body, a 204's and a 304's neither a body nor a
// length; closing says the connection closes after it (the request asked
// for it, or its body may still be on the way).
func (h *HTTPFault) response(method string, closing bool) []byte {
	body := h.body()
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", h.Status, http.StatusText(h.Status))
	noBody := h.Status == http.StatusNoContent || h.Status == http.StatusNotModified
	if !noBody {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", len(body))
	}
	if closing {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("X-Seam-Fault: injected\r\n\r\n")
	if !noBody && method != http.MethodHead {
		b.WriteString(body)
	}
	return []byte(b.String())
}

// body is what the fault answers with.
func (h *HTTPFault) body() string {
	if h.Body == "" {
		return http.StatusText(h.Status) + " (injected by seam)\n"
	}
	return h.Body
}

// answersH2 reports whether the faults act on some HTTP/2 requests one
// by one (an answer in the callee's place, an answer held): then the
// proxy serves HTTP/2 connections itself (grpcfault.go).
func (f Faults) answersH2() bool {
	return f.GRPC != nil || f.HTTP != nil && (f.HTTP.Status != 0 || f.HTTP.Slow > 0)
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
	if f.Refuse {
		parts = append(parts, "refuse new connections")
	}
	switch {
	case f.Blackhole && (f.HTTP != nil && f.HTTP.Status != 0 || f.GRPC != nil):
		parts = append(parts, "blackhole (nothing gets through but the answers below)")
	case f.Blackhole:
		parts = append(parts, "blackhole (nothing gets through)")
	}
	if h := f.HTTP; h != nil {
		what := strings.TrimSpace(h.Method + " " + h.Path)
		if what == "" {
			what = "every request"
		}
		if h.Status != 0 {
			parts = append(parts, fmt.Sprintf("answer %s with %d", what, h.Status))
		} else {
			parts = append(parts, fmt.Sprintf("slow answers to %s (%s a chunk)", what, h.Slow))
		}
	}
	if f.GRPC != nil {
		parts = append(parts, f.GRPC.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// faultState is a proxy's current faults. Every forwarded chunk reads
// them, so they sit behind an atomic pointer, not a lock.
type faultState struct {
	cur atomic.Pointer[Faults]
	mu  sync.Mutex // the jitter source
	rnd *rand.Rand
}

func (s *faultState) get() Faults {
	if f := s.cur.Load(); f != nil {
		return *f
	}
	return Faults{}
}

func (s *faultState) delay(f Faults) time.Duration {
	d := f.Latency
	if f.Jitter > 0 {
		s.mu.Lock()
		if s.rnd != nil {
			d += time.Duration(s.rnd.Int64N(int64(2*f.Jitter)+1)) - f.Jitter
		}
		s.mu.Unlock()
	}
	return max(d, 0)
}

// SetFaults puts faults on the edge (replacing any before) and reports it
// in the edge's timeline. Reset applies to open connections at once;
// Refuse closes the proxy's port until it is lifted.
func (p *Proxy) SetFaults(f Faults) {
	p.faults.mu.Lock()
	p.faults.rnd = rand.New(rand.NewPCG(f.Seed, 0xfa17))
	p.faults.mu.Unlock()
	old := p.faults.cur.Swap(&f)
	if old != nil && old.Blackhole && !f.Blackhole {
		p.liftBlackhole()
	}
	now := time.Now()
	what := f.String()
	if f.IsZero() {
		what = "cleared"
	}
	if err := p.refuse(f.Refuse || p.disabled.Load()); err != nil {
		what += " (" + err.Error() + ")"
	}
	p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
	if f.Reset {
		p.mu.Lock()
		for c, st := range p.conns {
			st.cutBy("reset by a fault")
			resetConn(c)
		}
		p.mu.Unlock()
	} else if f.answersH2() {
		p.drainH2()
	}
}

// ClearFaults removes every fault.
func (p *Proxy) ClearFaults() {
	old := p.faults.get()
	had := !old.IsZero()
	p.faults.cur.Store(nil)
	if old.Blackhole {
		p.liftBlackhole()
	}
	err := p.refuse(p.disabled.Load())
	if had {
		now := time.Now()
		what := "cleared"
		if err != nil {
			what += " (" + err.Error() + ")"
		}
		p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
	}
}

func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// hold marks st as holding what a blackhole swallowed; the first time, it
// tells so: its calls are told when they end (the caller gives up, the
// blackhole is lifted), and a check made while the caller still waits
// must see that the fault took hold of the edge.
func (p *Proxy) hold(st *connState) {
	if st.swallowed.CompareAndSwap(false, true) {
		now := time.Now()
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: "held by a blackhole fault (what it carries is swallowed)",
			Start: now, End: now, Suspicious: true, Injected: true})
	}
}

// liftBlackhole closes the connections a blackhole swallowed data of:
// what they carried is lost, so their callers would wait for ever, as
// Toxiproxy closes what its timeout toxic held when it is removed.
func (p *Proxy) liftBlackhole() {
	p.mu.Lock()
	states := map[*connState]bool{}
	for _, st := range p.conns {
		if st.swallowed.Load() {
			states[st] = true
		}
	}
	p.mu.Unlock()
	for st := range states {
		p.cut(st, "closed by a fault (the blackhole that swallowed its data was lifted)", false)
	}
}

// SetToxics puts Toxiproxy's toxics on the proxy (nil: none), apart from
// its faults, and reports the change in the edge's timeline. Timeout
// toxics added start their timers on open connections; one removed closes
// the connections it held, as Toxiproxy does.
func (p *Proxy) SetToxics(ts *Toxics) {
	old := p.toxics.Swap(ts)
	p.toxicsChanged(old, ts)
	what := ts.String()
	if ts == nil || len(ts.List) == 0 {
		what = "toxics cleared"
	}
	now := time.Now()
	p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
}

// SetEnabled enables or disables the proxy as Toxiproxy's API does: a
// disabled proxy stops listening (callers are refused) and closes its open
// connections.
func (p *Proxy) SetEnabled(on bool) {
	if p.disabled.Swap(!on) == !on {
		return
	}
	what := "enabled"
	err := p.refuse(!on || p.faults.get().Refuse)
	if !on {
		what = "disabled: connections refused"
		p.closeAll("closed by a fault (its proxy was disabled)")
	}
	if err != nil {
		what += " (" + err.Error() + ")"
	}
	now := time.Now()
	p.emit(Interaction{Edge: p.Edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
}
