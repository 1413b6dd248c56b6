package seam

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
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
	// Path is matched against the request target, path and query, as
	// Edge.Path is: with path.Match ("/orders*" matches /orders and
	// /orders?id=1; "/orders" the first only), or failing that exactly;
	// "" matches any.
	Path   string
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

// Fault puts f on the edge from → to (replacing the faults it had) until
// ClearFaults or the end of the test e is bound to (Start, Attach): the
// next test starts without it; at the end of a subtest that shares its
// parent's state (Attach), the edge's faults are the parent's again.
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
	if !e.edgeKnown("fault on "+from+"→"+to, from, to) {
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
	if msg := e.faultNeverApplies(from, to, wf); msg != "" {
		e.fail("fault on %s→%s: %s", from, to, msg)
		return
	}
	if err := e.env.SetFaults(from, to, wf); err != nil {
		e.fail("fault: %v", err)
		return
	}
	e.noteFault(from, to, wf)
}

// faultNeverApplies says why f's HTTP or gRPC fault could never apply on
// from → to (an edge to a database carries no HTTP), as a suite's fault
// step is refused for it; "" when it can.
func (e *Env) faultNeverApplies(from, to string, f wire.Faults) string {
	var checks []step.EdgeCheck
	hint := map[step.Protocol]string{}
	for _, p := range []step.Protocol{step.Postgres, step.MySQL, step.Redis, step.NATS} {
		hint[p] = "faults that apply on any edge: Latency, Jitter, Bandwidth, CloseAfter, Reset, Refuse, Blackhole"
	}
	if f.HTTP != nil {
		checks = append(checks, step.EdgeCheck{What: "HTTP", Want: []step.Protocol{step.HTTP}, Hint: hint, Never: "the fault would never apply"})
	}
	if f.GRPC != nil {
		checks = append(checks, step.EdgeCheck{What: "GRPC", Want: []step.Protocol{step.HTTP}, Hint: hint, Never: "the fault would never apply"})
	}
	if len(checks) == 0 || e.sys == nil || e.sys.System == nil {
		return ""
	}
	var errs diag.List
	step.CheckEdge(e.sys.System, from, to, checks, &errs)
	if errs.Len() == 0 {
		return ""
	}
	d := errs.Errors()[0]
	if d.Hint != "" {
		return d.Msg + " (" + d.Hint + ")"
	}
	return d.Msg
}

// ClearFaults takes the faults off the edge from → to now.
func (e *Env) ClearFaults(from, to string) {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() || !e.edgeKnown("clearing faults on "+from+"→"+to, from, to) {
		return
	}
	if err := e.env.SetFaults(from, to, wire.Faults{}); err != nil {
		e.fail("clearing faults: %v", err)
		return
	}
	e.noteFault(from, to, wire.Faults{})
}

// edgeKnown reports (and fails the test when not) whether from→to is an
// edge seam's wire records, what (as "fault on orders→db") naming the use
// in the message: both are the environment's services, from perhaps the
// browser (Browser's pages, which call any service); from depends on to;
// to is no job; and the edge is not wire: false. Without it a fault would
// have nothing to disturb, and a check of interactions would see nothing,
// so that a count of 0 would pass whatever the system does.
func (e *Env) edgeKnown(what, from, to string) bool {
	if e.t != nil {
		e.t.Helper()
	}
	for _, name := range []string{from, to} {
		if _, ok := e.sys.System.Get(name); ok || name == from && name == browserstep.Component {
			continue
		}
		e.fail("%s: no service %q; the services are: %s", what, name, e.serviceNames())
		return false
	}
	caller, ok := e.sys.System.Get(from)
	if !ok {
		return true // the browser
	}
	var deps []string
	for _, d := range caller.DependsOn {
		deps = append(deps, d.Name)
		if d.Name != to {
			continue
		}
		if callee, _ := e.sys.System.Get(to); service.IsJob(callee) {
			e.fail("%s: %s is a job, so the edge %s→%s has no wire (a job runs to its end before %s starts); name an edge to a service",
				what, to, from, to, from)
			return false
		}
		if d.NoWire {
			e.fail("%s: the edge %s→%s is wire: false, so seam's wire does not record its traffic nor can disturb it; remove wire: false from %s's depends_on",
				what, from, to, from)
			return false
		}
		return true
	}
	hint := fmt.Sprintf("%s depends on nothing; add depends_on: [%s] to %s, so its calls go through the wire", from, to, from)
	switch {
	case caller.Kind == "postgres" || caller.Kind == "mariadb" || caller.Kind == "redis" || caller.Kind == "nats":
		// A server calls no one: the edge is from what depends on to.
		var callers []string
		for _, svc := range e.sys.System.Services {
			for _, d := range svc.DependsOn {
				if d.Name == to && svc.Name != from {
					callers = append(callers, svc.Name)
				}
			}
		}
		hint = fmt.Sprintf("%s is a %s server and calls no one: name an edge from a service that depends on %s", from, caller.Kind, to)
		if len(callers) > 0 {
			hint += " (here: " + strings.Join(callers, ", ") + ")"
		}
	case len(deps) > 0:
		hint = fmt.Sprintf("%s depends on: %s", from, strings.Join(deps, ", "))
	}
	e.fail("%s: %s→%s is not an edge: %s does not depend on %s (%s)", what, from, to, from, to, hint)
	return false
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
