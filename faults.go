package seam

import (
	"hash/fnv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/step/browserstep"
	"github.com/seamtest/seam/internal/wire"
	"google.golang.org/grpc/codes"
)

// Fault disturbs an edge (a depends_on between two services, through
// seam's wire), as a suite's fault step does (seam help steps, fault).
// Each field is one fault; several may hold at once. What a fault does
// in the callee's place (an answer, a cut connection, a swallowed call)
// is recorded as injected.
type Fault struct {
	Latency    time.Duration // added to each answer from the callee
	Jitter     time.Duration // ± on Latency, drawn from a seed of the test's name
	Bandwidth  int64         // bytes per second each way; 0: unlimited
	CloseAfter int64         // cut each connection after this many bytes (both ways)
	Reset      bool          // reset open connections and every new one
	Refuse     bool          // a partition: the edge's port closes, new connections are refused; open ones go on
	Blackhole  bool          // let nothing through: calls hang until their own timeout
	HTTP       *HTTPFault    // answer matching HTTP requests in the callee's place, or hold their answers
	GRPC       *GRPCFault    // answer matching gRPC calls in the callee's place
}

// HTTPFault answers matching HTTP requests (HTTP/1 and h2c alike) in the
// callee's place with Status and Body, deciding once a request's head is
// complete; or, with Slow and no Status, holds each chunk of the
// callee's answers to them that long.
type HTTPFault struct {
	Method string // "" matches any
	Path   string // the request target; * matches within a segment; "" matches any
	Status int
	Body   string
	Slow   time.Duration
}

// GRPCFault answers matching gRPC calls in the callee's place with Code
// (not OK) and Message; the edge's open HTTP/2 connections are drained
// (a GOAWAY), so that callers make their next calls on a new connection
// and meet it, while their calls in flight go on to the callee.
type GRPCFault struct {
	Method  string // "/package.Service/Method"; * matches within a segment; "" matches every call
	Code    codes.Code
	Message string
}

// Fault puts f on the edge from → to until ClearFaults or the end of the
// test e is bound to (Start, Attach): the next test starts without it.
// An edge the environment lacks (no depends_on, or wire: false) or a
// fault that makes no sense (a jitter without a latency, an HTTP fault
// with both or neither of Status and Slow, a gRPC fault of OK) fails the
// test.
func (e *Env) Fault(from, to string, f Fault) {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() {
		return
	}
	if !e.edgeKnown(from, to) {
		return
	}
	wf := f.wire(e.seed())
	if wf.IsZero() {
		e.fail("fault on %s→%s: no fault given (set Latency, Bandwidth, CloseAfter, Reset, Refuse, Blackhole, HTTP or GRPC)", from, to)
		return
	}
	if prs := wf.Problems(); len(prs) > 0 {
		e.fail("fault on %s→%s: %s%s", from, to, goName(prs[0].Where), prs[0].What)
		return
	}
	if err := e.env.SetFaults(from, to, wf); err != nil {
		e.fail("fault: %v", err)
	}
}

// ClearFaults takes the faults off the edge from → to now.
func (e *Env) ClearFaults(from, to string) {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() || !e.edgeKnown(from, to) {
		return
	}
	if err := e.env.SetFaults(from, to, wire.Faults{}); err != nil {
		e.fail("clearing faults: %v", err)
	}
}

// edgeKnown reports (and fails the test when not) whether from and to are
// the environment's services, from perhaps the browser (Browser's pages).
func (e *Env) edgeKnown(from, to string) bool {
	if e.t != nil {
		e.t.Helper()
	}
	for _, name := range []string{from, to} {
		if _, ok := e.sys.System.Get(name); ok || name == from && name == browserstep.Component {
			continue
		}
		e.fail("fault on %s→%s: no service %q; the services are: %s", from, to, name, e.serviceNames())
		return false
	}
	return true
}

func (f Fault) wire(seed uint64) wire.Faults {
	w := wire.Faults{Latency: f.Latency, Jitter: f.Jitter, Bandwidth: f.Bandwidth, CloseAfter: f.CloseAfter,
		Reset: f.Reset, Refuse: f.Refuse, Blackhole: f.Blackhole, Seed: seed}
	if h := f.HTTP; h != nil {
		w.HTTP = &wire.HTTPFault{Method: h.Method, Path: h.Path, Status: h.Status, Body: h.Body, Slow: h.Slow}
	}
	if g := f.GRPC; g != nil {
		w.GRPC = &wire.GRPCFault{Method: g.Method, Code: int(g.Code), Message: g.Message}
	}
	return w
}

// seed is the bound test's jitter seed: the same test draws the same
// jitter run after run.
func (e *Env) seed() uint64 {
	h := fnv.New64a()
	if e.t != nil {
		h.Write([]byte(e.t.Name()))
	}
	return h.Sum64()
}

// goName turns where in a fault a problem is (".grpc.code") into the Go
// API's field names ("GRPC.Code: ").
func goName(where string) string {
	if where == "" {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(where, "."), ".")
	for i, p := range parts {
		switch p {
		case "http", "grpc":
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ".") + ": "
}
