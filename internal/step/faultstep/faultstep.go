// Package faultstep is the `fault` step kind: disturb an edge between two
// services (latency, a slow link, resets, a blackhole, a cut after some
// bytes) for the rest of the test, to check how the system reacts.
package faultstep

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
)

// Kind is the fault step kind.
type Kind struct{}

// Usage implements step.Kind.
func (Kind) Usage() step.Usage {
	return step.Usage{
		Name: "fault",
		Summary: "put faults on an edge (a depends_on between two services, through seam's wire) until the test ends; " +
			"they are taken off as the test ends, so the next test starts without them. What a fault does (an answer in the " +
			"callee's place, a cut connection, a swallowed call) is recorded as injected. Jitter is drawn from the test's seed, so --seed replays it. " +
			"On the browser's edges (from: browser, to: a service its pages call) the browser puts them in effect itself, pausing its requests to that service: " +
			"http {status} answered in the service's place (with CORS allowed for the page's origin), reset and refuse as failed requests, blackhole held " +
			"until the fault is lifted, latency and http {slow} before the request goes on; bandwidth, close_after and grpc are refused there",
		Inputs: []step.Input{
			{Name: "from, to", Doc: "the edge: the calling service (or browser) and the one it depends on (or the browser calls)"},
			{Name: "latency", Doc: "added to each answer from the callee (a duration: 200ms)"},
			{Name: "jitter", Doc: "± on the latency"},
			{Name: "bandwidth", Doc: "bytes per second each way"},
			{Name: "close_after", Doc: "cut each connection after this many bytes"},
			{Name: "reset", Doc: "true: reset open connections and every new one"},
			{Name: "refuse", Doc: "true: a partition: the edge's port is closed, so new connections are refused (callers see connection refused); open ones go on"},
			{Name: "blackhole", Doc: "true: let nothing through; calls hang until their own timeout (beside http or grpc: what that fault does not answer)"},
			{Name: "http", Doc: "{method, path, and status (and body): answer matching HTTP requests in the callee's place, deciding once a request's head is complete however the caller split it (the callee never sees it); or slow: a duration each chunk of the callee's answer to them is held; over HTTP/1 and HTTP/2 (h2c) alike, gRPC calls to a matching path too (a 503 reaches a gRPC caller as UNAVAILABLE), the edge's HTTP/2 connections drained as for grpc}"},
			{Name: "grpc", Doc: "{method: /package.Service/Method (* matches within a segment; none: every call), code: a status name (UNAVAILABLE, NOT_FOUND, …) or number, message}: " +
				"answer matching gRPC calls in the callee's place (the callee never sees them); the edge's HTTP/2 connections are drained with a GOAWAY, busy ones too: their calls in flight (a long stream) go on to the callee, callers make their next calls on a new connection and meet the fault; a call sent before the caller read the GOAWAY is refused (RST_STREAM REFUSED_STREAM, recorded as \"stream N refused by the wire\") for the caller to retry"},
			{Name: "clear", Doc: "true: take the edge's faults off now"},
		},
		Example: "fault: {from: orders, to: payments, reset: true}",
	}
}

type action struct {
	From       string        `yaml:"from" seam:"required"`
	To         string        `yaml:"to" seam:"required"`
	Latency    time.Duration `yaml:"latency"`
	Jitter     time.Duration `yaml:"jitter"`
	Bandwidth  int64         `yaml:"bandwidth"`
	CloseAfter int64         `yaml:"close_after"`
	Reset      bool          `yaml:"reset"`
	Refuse     bool          `yaml:"refuse"`
	Blackhole  bool          `yaml:"blackhole"`
	Clear      bool          `yaml:"clear"`
	HTTP       *httpFault    `yaml:"http"`
	GRPC       *grpcFault    `yaml:"grpc"`
	Pos        diag.Pos      `yaml:"-" seam:"pos"`
}

// httpFault answers matching requests in the callee's place.
type httpFault struct {
	Method string        `yaml:"method"`
	Path   string        `yaml:"path"`
	Status int           `yaml:"status"`
	Body   string        `yaml:"body"`
	Slow   time.Duration `yaml:"slow"`
}

// grpcFault answers matching gRPC calls in the callee's place.
type grpcFault struct {
	Method  string `yaml:"method"`
	Code    string `yaml:"code" seam:"required"`
	Message string `yaml:"message"`
	code    int
}

// Decode implements step.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	before := d.Errs.Len()
	a := &action{}
	d.Decode(n, a, "fault")
	grpcAt := n // where the gRPC fault is written
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "grpc" {
			grpcAt = n.Content[i+1]
		}
	}
	grpcBad := a.GRPC != nil && d.Errs.Len() > before // its decoding said what is wrong
	codeBad := false                                  // its code is not one: said here
	if g := a.GRPC; g != nil && !grpcBad {
		c, ok := wire.GRPCCode(g.Code)
		if !ok {
			d.Errorf(grpcAt, "fault.grpc.code: %q is not a gRPC status", g.Code).WithHint("give a name (%s) or a number", strings.Join(wire.GRPCCodeNames(), ", "))
			codeBad = true
		}
		g.code = c
	}
	f := a.faults(0)
	problems := f.Problems()
	for _, pr := range problems {
		if !strings.HasPrefix(pr.Where, ".grpc") || grpcBad || codeBad && pr.Where == ".grpc.code" {
			continue
		}
		problem(d, grpcAt, pr)
	}
	switch {
	case a.Clear && !f.IsZero():
		d.Errorf(n, "fault: clear: true takes faults off; give it alone")
	case !a.Clear && f.IsZero():
		d.Errorf(n, "fault: no fault given").WithHint("add latency, bandwidth, close_after, reset, refuse, blackhole, http or grpc")
	case len(problems) > 0 && !strings.HasPrefix(problems[0].Where, ".grpc"):
		problem(d, n, problems[0])
	}
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

// problem reports pr at n.
func problem(d *decode.Decoder, n *yaml.Node, pr wire.FaultProblem) {
	e := d.Errorf(n, "fault%s: %s", pr.Where, pr.What)
	if pr.Hint != "" {
		e.WithHint("%s", pr.Hint)
	}
}

func (a *action) faults(seed uint64) wire.Faults {
	f := wire.Faults{Latency: a.Latency, Jitter: a.Jitter, Bandwidth: a.Bandwidth, CloseAfter: a.CloseAfter,
		Reset: a.Reset, Refuse: a.Refuse, Blackhole: a.Blackhole, Seed: seed}
	if h := a.HTTP; h != nil {
		f.HTTP = &wire.HTTPFault{Method: h.Method, Path: h.Path, Status: h.Status, Body: h.Body, Slow: h.Slow}
	}
	if g := a.GRPC; g != nil {
		f.GRPC = &wire.GRPCFault{Method: g.Method, Code: g.code, Message: g.Message}
	}
	return f
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref {
	return []step.Ref{{Name: a.From, Pos: a.Pos}, {Name: a.To, Pos: a.Pos}}
}

// EdgeRefs implements step.EdgeUser.
func (a *action) EdgeRefs() []step.EdgeRef {
	return []step.EdgeRef{{From: a.From, To: a.To, Pos: a.Pos}}
}

type faulty interface {
	SetFaults(from, to string, f wire.Faults) error
}

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	e, ok := env.Services.(faulty)
	if !ok || env.Services == nil {
		return nil, fmt.Errorf("this suite starts no services, so it has no edges to disturb")
	}
	f := a.faults(env.Seed)
	if err := e.SetFaults(a.From, a.To, f); err != nil {
		return nil, err
	}
	return &step.Result{Fields: map[string]any{}, Request: fmt.Sprintf("fault on %s→%s: %s", a.From, a.To, f)}, nil
}
