package seam

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/wire"
)

// Edge selects interactions on an edge between two services (a
// depends_on, which seam's wire records). Empty fields match anything but
// From and To.
type Edge struct {
	From, To string
	Method   string
	Path     string // the request target; * matches within a segment
	Status   int
	GRPC     string // a gRPC method, "/pkg.Service/Method"; * matches within a segment
	Code     string // a gRPC status: "UNAUTHENTICATED", "16"; "" matches any
}

func (m Edge) String() string {
	s := m.From + "→" + m.To
	if m.Method != "" || m.Path != "" {
		s += " " + strings.TrimSpace(m.Method+" "+m.Path)
	}
	if m.GRPC != "" {
		s += " gRPC " + m.GRPC
	}
	if m.Status != 0 {
		s += fmt.Sprintf(" → %d", m.Status)
	}
	if m.Code != "" {
		s += " → " + m.Code
	}
	return s
}

// Interaction is one exchange the wire saw on an edge.
type Interaction struct {
	Edge     string // "orders→inventory"
	Port     string // the callee's port it crossed, by name ("http", "grpc")
	Protocol string // http, http2, grpc, postgres, redis, tcp
	Method   string
	Path     string // for gRPC: the method, "/pkg.Service/Method"
	Status   int
	Result   string // "200 OK", "no response (connection reset)", "UNAUTHENTICATED: bad token", …
	// GRPCCode is a gRPC call's status by name ("OK", "NOT_FOUND"); "" when
	// it ended without one or is not gRPC. GRPCMessage is its message.
	GRPCCode, GRPCMessage string
	Start, End            time.Time
}

// Interactions returns what crossed the edge m names since the test began,
// in order.
func (e *Env) Interactions(m Edge) []Interaction {
	if e.t != nil {
		e.t.Helper()
	}
	e.info(m.From)
	e.info(m.To)
	if _, ok := wire.GRPCCode(m.Code); m.Code != "" && !ok {
		e.fail("Edge.Code %q is not a gRPC status: give a name (%s) or a number", m.Code, strings.Join(wire.GRPCCodeNames(), ", "))
		return nil
	}
	var out []Interaction
	for _, i := range e.env.Interactions(e.start) {
		if i.Edge != m.From+"→"+m.To || (m.Method != "" && !strings.EqualFold(m.Method, i.Method)) ||
			(m.Status != 0 && m.Status != i.Status) {
			continue
		}
		if m.Path != "" {
			if ok, _ := path.Match(m.Path, i.Target); !ok && m.Path != i.Target {
				continue
			}
		}
		var code string
		if i.Protocol == "grpc" && i.GRPCStatus >= 0 {
			code = wire.GRPCCodeName(i.GRPCStatus)
		}
		if m.GRPC != "" || m.Code != "" {
			if i.Protocol != "grpc" {
				continue
			}
			if ok, _ := path.Match(m.GRPC, i.Target); m.GRPC != "" && !ok && m.GRPC != i.Target {
				continue
			}
			if n, known := wire.GRPCCode(m.Code); m.Code != "" && (!known || code != wire.GRPCCodeName(n)) {
				continue
			}
		}
		out = append(out, Interaction{Edge: i.Edge, Port: i.Port, Protocol: i.Protocol, Method: i.Method, Path: i.Target, Status: i.Status,
			Result: i.Result, GRPCCode: code, GRPCMessage: i.GRPCMessage, Start: i.Start, End: i.End})
	}
	return out
}

// VerifyInteractions fails the test unless exactly count interactions on
// the edge match m since the test began (AtLeastOnce: one or more). The
// failure shows every edge's interactions during the test.
func (e *Env) VerifyInteractions(m Edge, count int) {
	if e.t != nil {
		e.t.Helper()
	}
	found := e.Interactions(m)
	ok, want := len(found) == count, fmt.Sprintf("exactly %d", count)
	if count == AtLeastOnce {
		ok, want = len(found) > 0, "at least 1"
	}
	if ok {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seam: %d interaction(s) matched %s; want %s\n  the edges during this test:", len(found), m, want)
	all := e.env.Interactions(e.start)
	for _, i := range all {
		fmt.Fprintf(&b, "\n    %s | %s", i.Edge, i.Line())
	}
	if len(all) == 0 {
		b.WriteString("\n    (none; is the edge declared with depends_on, and not wire: false?)")
	}
	if e.t != nil {
		e.t.Error(b.String())
		return
	}
	panic(b.String())
}

// ToxiproxyURL is the address of a Toxiproxy-compatible API over the
// environment's edges (each a proxy named like "orders→inventory"), for
// Toxiproxy's own clients.
func (e *Env) ToxiproxyURL() string {
	if e.t != nil {
		e.t.Helper()
	}
	u, err := e.env.ToxiproxyURL()
	if err != nil {
		e.fail("the Toxiproxy API: %v", err)
	}
	return u
}
