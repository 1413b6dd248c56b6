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
	"github.com/seamtest/seam/internal/service"
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
			"they are taken off as the test ends, so the next test starts without them. An edge has one fault at a time: a fault step on an edge " +
			"that has one replaces it (write what both do in one mapping: latency, http, bandwidth … together; one http and one grpc fault an edge), " +
			"and a test's faults: may name an edge once. What a fault does (an answer in the " +
			"callee's place, a cut connection, a swallowed call) is recorded as injected. Jitter is drawn from the test's seed, so --seed replays it. " +
			"On the browser's edges (from: browser, to: a service its pages call) the browser puts them in effect itself, pausing its requests to that service: " +
			"http {status} answered in the service's place (with CORS allowed for the page's origin), reset and refuse as failed requests, blackhole held " +
			"until the fault is lifted, latency and http {slow} before the request goes on; bandwidth, close_after and grpc are refused there. " +
			"http and grpc are refused on an edge to a service that is called with no HTTP (postgres, mariadb, redis, nats). " +
			"A fault is checked against the suite's edges when the suite is validated, so its values are written out: no ((templates))",
		Inputs: []step.Input{
			{Name: "from, to", Doc: "the edge: the calling service (or browser) and the one it depends on (or the browser calls)"},
			{Name: "latency", Doc: "added to each answer from the callee (a duration: 200ms)"},
			{Name: "jitter", Doc: "± on the latency"},
			{Name: "bandwidth", Doc: "bytes per second each way"},
			{Name: "close_after", Doc: "cut each connection after this many bytes"},
			{Name: "reset", Doc: "true: reset open connections and every new one"},
			{Name: "refuse", Doc: "true: a partition: the edge's port is closed, so new connections are refused (callers see connection refused); open ones go on"},
			{Name: "blackhole", Doc: "true: let nothing through; calls hang until their own timeout (beside http or grpc: what that fault does not answer)"},
			{Name: "http", Doc: "{method, path (the request target, path and query, matched as interactions' path is: * matches within a segment, as in shell globs; " +
				"so /hello matches no /hello?who=f, /hello* matches both), and status (and body): answer matching HTTP requests in the callee's place, deciding once a request's head is complete however the caller split it (the callee never sees it); or slow: a duration each chunk of the callee's answer to them is held; over HTTP/1 and HTTP/2 (h2c) alike, gRPC calls to a matching path too (a 503 reaches a gRPC caller as UNAVAILABLE), the edge's HTTP/2 connections drained as for grpc}"},
			{Name: "grpc", Doc: "{method: /package.Service/Method (the leading / may be left out; * matches within a segment; none: every call; with the callee's grpc: protos or descriptor sets, " +
				"it must match one of its methods), code: a status name (UNAVAILABLE, NOT_FOUND, …) or number (1 to 16), message}: " +
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
	// where http:, grpc: and grpc's method are written, for the checks
	// against the callee (CheckServices)
	httpPos, grpcPos, methodPos diag.Pos
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

// Decode implements step.Kind. A fault is static: it is checked against
// the suite's edges and the callee's protocol when the suite is
// validated, so no field may hold a template.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	before := d.Errs.Len()
	a := &action{}
	fields := fieldNodes(n)
	// Templates and negative amounts are said here, in words of their own;
	// the decoder's "want a duration" for the same field is dropped.
	said := map[string]bool{}
	for _, k := range fieldOrder {
		v, ok := fields[k]
		if !ok || v.Kind != yaml.ScalarNode {
			continue
		}
		switch noun, amount := amounts[k]; {
		case v.Tag == "!!str" && hasTemplate(v.Value):
			d.Errorf(v, "fault.%s: templates are not allowed here: the fault must be known when the suite is checked", k).
				WithHint("write the value itself; a fault is checked against the suite's edges before anything runs")
			said[k] = true
		case amount && negative(v):
			d.Errorf(v, "fault.%s: %s cannot be negative", k, noun)
			said[k] = true
		}
	}
	var decoded diag.List
	sub := *d
	sub.Errs = &decoded
	sub.Decode(n, a, "fault")
	for _, e := range decoded.Errors() {
		if k, ok := strings.CutPrefix(e.Msg, "fault."); ok {
			if i := strings.Index(k, ":"); i > 0 && said[k[:i]] {
				continue
			}
		}
		d.Errs.Add(e)
	}
	// A problem with one of the fields (not the whole: a missing from)
	// leaves the fault as written unknown: saying it has none, or that its
	// parts do not fit together, would be a second, false, report.
	fieldBad := false
	for _, e := range d.Errs.Errors()[before:] {
		fieldBad = fieldBad || e.Pos != d.Pos(n)
	}
	grpcAt, methodAt := n, n // where the gRPC fault and its method are written
	if v, ok := fields["grpc"]; ok {
		grpcAt, methodAt = v, v
	}
	if v, ok := fields["grpc.method"]; ok {
		methodAt = v
	}
	if v, ok := fields["http"]; ok {
		a.httpPos = d.Pos(v)
	}
	a.grpcPos, a.methodPos = d.Pos(grpcAt), d.Pos(methodAt)
	grpcBad := a.GRPC != nil && d.Errs.Len() > before // its decoding said what is wrong
	codeBad := false                                  // its code is not one: said here
	if g := a.GRPC; g != nil && !grpcBad {
		c, ok := wire.GRPCCode(g.Code)
		if !ok || c >= len(wire.GRPCCodeNames()) {
			d.Errorf(grpcAt, "fault.grpc.code: %q is not a gRPC status", g.Code).WithHint("give a name (%s) or a number from 0 to %d", strings.Join(wire.GRPCCodeNames(), ", "), len(wire.GRPCCodeNames())-1)
			codeBad = true
		}
		g.code = c
		g.Method = methodPath(g.Method)
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
	case fieldBad:
	case a.Clear && !f.IsZero():
		d.Errorf(n, "fault: clear: true takes faults off; give it alone")
	case !a.Clear && f.IsZero():
		msg := "fault: no fault given"
		for _, k := range fieldOrder {
			if v, ok := fields[k]; ok && !strings.Contains(k, ".") && k != "from" && k != "to" && k != "clear" {
				msg += fmt.Sprintf("; %s: %s sets nothing", k, v.Value)
			}
		}
		d.Errorf(n, "%s", msg).WithHint("add latency, bandwidth, close_after, reset, refuse, blackhole, http or grpc (reset, refuse and blackhole take true)")
	case len(problems) > 0 && !strings.HasPrefix(problems[0].Where, ".grpc"):
		at := n // a problem of the whole (jitter needs a latency) is said at it
		if v, ok := fields[strings.TrimPrefix(problems[0].Where, ".")]; ok && problems[0].Where != "" {
			at = v
		}
		problem(d, at, problems[0])
	}
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

// fieldOrder is the fault's fields, its http: and grpc:'s as http.status,
// in the order their problems are said.
var fieldOrder = []string{"from", "to", "latency", "jitter", "bandwidth", "close_after", "reset", "refuse", "blackhole", "clear",
	"http", "http.method", "http.path", "http.status", "http.body", "http.slow",
	"grpc", "grpc.method", "grpc.code", "grpc.message"}

// amounts are the fields that may not be negative, each with what it is.
var amounts = map[string]string{"latency": "a latency", "jitter": "a jitter", "bandwidth": "a bandwidth",
	"close_after": "a byte count", "http.slow": "a hold"}

// fieldNodes is where each field of the fault at n is written (aliases
// followed), by its name in fieldOrder. Keys merged in with << are not
// seen: what they hold is checked as decoded.
func fieldNodes(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		if m = decode.Resolve(m); m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i].Value, decode.Resolve(m.Content[i+1])
			if v == nil {
				continue
			}
			out[prefix+k] = v
			if prefix == "" && (k == "http" || k == "grpc") {
				walk(v, k+".")
			}
		}
	}
	walk(n, "")
	return out
}

// hasTemplate reports whether s holds a ((template)); $((…)) is shell
// arithmetic, left alone as everywhere in a suite.
func hasTemplate(s string) bool {
	for i := strings.Index(s, "(("); i >= 0; {
		if i == 0 || s[i-1] != '$' {
			return true
		}
		j := strings.Index(s[i+2:], "((")
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// negative reports whether the scalar v is a negative number or duration.
func negative(v *yaml.Node) bool {
	if decode.Tag(v) == "!!int" {
		x, err := decode.ParseInt(v.Value)
		i, small := x.(int)
		return err == nil && small && i < 0
	}
	d, err := time.ParseDuration(v.Value)
	return err == nil && d < 0
}

// methodPath is a gRPC method written as the grpc step takes it,
// without its leading / (pkg.Service/Method), as its path.
func methodPath(m string) string {
	if m != "" && !strings.HasPrefix(m, "/") && strings.Count(m, "/") == 1 {
		return "/" + m
	}
	return m
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

// CheckServices implements step.ServiceChecker: the fault must be able to
// apply to what the edge carries (no http: or grpc: on an edge to a
// database), and a gRPC fault's method must be one the callee serves, as
// its grpc: protos or descriptor sets say.
func (a *action) CheckServices(sys *service.System, errs *diag.List) {
	var checks []step.EdgeCheck
	hint := map[step.Protocol]string{}
	for _, p := range []step.Protocol{step.Postgres, step.MySQL, step.Redis, step.NATS} {
		hint[p] = "faults that apply on any edge: latency, jitter, bandwidth, close_after, reset, refuse, blackhole"
	}
	if a.HTTP != nil {
		checks = append(checks, step.EdgeCheck{What: "fault.http", Pos: a.httpPos, Want: []step.Protocol{step.HTTP}, Hint: hint, Never: "the fault would never apply"})
	}
	if a.GRPC != nil {
		checks = append(checks, step.EdgeCheck{What: "fault.grpc", Pos: a.grpcPos, Want: []step.Protocol{step.HTTP}, Hint: hint, Never: "the fault would never apply"})
	}
	before := errs.Len()
	step.CheckEdge(sys, a.From, a.To, checks, errs)
	if a.GRPC != nil && errs.Len() == before {
		step.CheckGRPCMethod(sys, a.To, a.GRPC.Method, "fault.grpc.method", a.methodPos, errs)
	}
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
