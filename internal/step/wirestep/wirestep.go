// Package wirestep is the `interactions` step kind: expectations on what
// crossed an edge between two services during the test (who called whom,
// how often, in what order), as seam's wire recorded it, rather than on a
// response.
package wirestep

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
)

// Kind is the interactions step kind.
type Kind struct{}

// Usage implements step.Kind.
func (Kind) Usage() step.Usage {
	return step.Usage{
		Name: "interactions",
		Summary: "check the interactions on an edge (a depends_on between two services, recorded by seam's wire) since " +
			"the test began: how many matched, and that they came before others. With no count given, at least one must match",
		Inputs: []step.Input{
			{Name: "from, to", Doc: "the edge: the calling service and the one it depends on"},
			{Name: "method", Doc: "HTTP method"},
			{Name: "path", Doc: "the request target (path and query); * matches within a segment, as in shell globs"},
			{Name: "status", Doc: "HTTP status of the answer"},
			{Name: "grpc", Doc: "a gRPC call's method, as its path /package.Service/Method; * matches within a segment"},
			{Name: "code", Doc: "a gRPC call's status: a name (OK, NOT_FOUND, UNAUTHENTICATED, …) or its number; " +
				"e.g. {from: sales, to: auth, grpc: /auth.v1.Auth/Check, code: UNAUTHENTICATED, never: true}"},
			{Name: "sql", Doc: "a regular expression (case-insensitive) a PostgreSQL statement on the edge must match"},
			{Name: "command", Doc: "a Redis command (GET, EVALSHA; any case)"},
			{Name: "key", Doc: "the Redis command's key (its first argument); * matches any run of characters, as in shell globs"},
			{Name: "result", Doc: "text the result must contain: a command tag (INSERT 0 1), an SQL error code (23505), a Redis reply (+OK, -ERR), a status line"},
			{Name: "injected", Doc: "true: only what a fault of seam's made (an answer in the callee's place, a cut); false: only the real traffic"},
			{Name: "count", Doc: `how many must match: a number (2, 0), a range ("2..5", "2..", "..5") or a comparison (">=1", ">0", "<=3", "<4"); quote ranges and comparisons`},
			{Name: "at_least, at_most, never", Doc: "how many must match, the long way (never: true means none, as count: 0)"},
			{Name: "before", Doc: "another pattern ({from, to, method, path, status}): the first match of this one must end before the first match of that one starts"},
		},
		Fields: []expect.Field{
			{Name: "count", Doc: "how many interactions matched", Shape: expect.ScalarShape},
			{Name: "interactions", Doc: "the matches: edge, port (the callee's port by name), protocol, method, path, status, result, sql and params (SQL), command and key (Redis), injected, duration_ms, request_body and response_body (HTTP: parsed when JSON; the first 4 KiB; gRPC: the messages as JSON when their types are known), request_headers and response_headers (HTTP and HTTP/2, gRPC metadata: lower-case name → value, secret ones ***; HTTP/2 trailers in response_headers), request_size and response_size (HTTP/2 and gRPC: bytes), code and message (gRPC)"},
		},
		Example: "interactions: {from: orders, to: inventory, method: POST, path: /reserve, status: 200, count: 1,\n" +
			"               before: {from: orders, to: payments, path: /charges}}\n" +
			"interactions: {from: orders, to: db, sql: \"^insert into orders\", result: \"INSERT 0 1\", count: \"1..3\"}\n" +
			"interactions: {from: orders, to: cache, command: GET, key: \"stock:*\", count: \">=1\"}",
	}
}

type pattern struct {
	From, To, Method, Path string
	Status                 int
	GRPC                   string         // a gRPC method path
	Code                   *int           // a gRPC status
	SQL                    *regexp.Regexp // PostgreSQL statements
	Result                 string         // contained in the result ("INSERT 0 1", "23505")
	Command, Key           string         // Redis
	Injected               *bool
	fromN, toN             diag.Pos
}

func (p *pattern) edge() string { return p.From + "→" + p.To }

func (p *pattern) match(i wire.Interaction) bool {
	if i.Edge != p.edge() {
		return false
	}
	if p.Method != "" && !strings.EqualFold(p.Method, i.Method) {
		return false
	}
	if p.Path != "" {
		if ok, _ := path.Match(p.Path, i.Target); !ok && p.Path != i.Target {
			return false
		}
	}
	if p.SQL != nil && (i.Method != "SQL" || !p.SQL.MatchString(i.Target)) {
		return false
	}
	if p.GRPC != "" || p.Code != nil {
		if i.Protocol != "grpc" {
			return false
		}
		if ok, _ := path.Match(p.GRPC, i.Target); p.GRPC != "" && !ok && p.GRPC != i.Target {
			return false
		}
		if p.Code != nil && *p.Code != i.GRPCStatus {
			return false
		}
	}
	if p.Result != "" && !strings.Contains(i.Result, p.Result) {
		return false
	}
	if p.Command != "" && (i.Method != "REDIS" || !strings.EqualFold(p.Command, i.Command)) {
		return false
	}
	if p.Key != "" {
		if ok, _ := path.Match(p.Key, i.Key); i.Method != "REDIS" || !ok && p.Key != i.Key {
			return false
		}
	}
	if p.Injected != nil && *p.Injected != i.Injected {
		return false
	}
	return p.Status == 0 || p.Status == i.Status
}

func (p *pattern) String() string {
	s := p.edge()
	if p.Method != "" || p.Path != "" {
		s += " " + strings.TrimSpace(p.Method+" "+p.Path)
	}
	if p.SQL != nil {
		s += " SQL ~ " + strings.TrimPrefix(p.SQL.String(), "(?i)")
	}
	if p.Command != "" || p.Key != "" {
		s += " REDIS " + strings.TrimSpace(strings.ToUpper(p.Command)+" "+p.Key)
	}
	if p.Injected != nil {
		if *p.Injected {
			s += " (injected)"
		} else {
			s += " (not injected)"
		}
	}
	if p.GRPC != "" {
		s += " gRPC " + p.GRPC
	}
	if p.Code != nil {
		s += " → " + wire.GRPCCodeName(*p.Code)
	}
	if p.Status != 0 {
		s += fmt.Sprintf(" → %d", p.Status)
	}
	if p.Result != "" {
		s += " → " + p.Result
	}
	return s
}

var patternKeys = []string{"from", "to", "method", "path", "status", "grpc", "code", "sql", "result", "command", "key", "injected"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func decodePatternKey(d *decode.Decoder, f decode.Field, p *pattern, what string) {
	v := decode.Resolve(f.Value)
	switch f.Key {
	case "from":
		d.Decode(v, &p.From, what+".from")
		p.fromN = d.Pos(v)
	case "to":
		d.Decode(v, &p.To, what+".to")
		p.toN = d.Pos(v)
	case "method":
		d.Decode(v, &p.Method, what+".method")
	case "path":
		d.Decode(v, &p.Path, what+".path")
	case "status":
		d.Decode(v, &p.Status, what+".status")
	case "grpc":
		d.Decode(v, &p.GRPC, what+".grpc")
		if !strings.HasPrefix(p.GRPC, "/") || strings.Count(p.GRPC, "/") != 2 {
			d.Errorf(v, "%s.grpc: %q is not a gRPC method path: write /package.Service/Method", what, p.GRPC)
		} else if _, err := path.Match(p.GRPC, ""); err != nil {
			d.Errorf(v, "%s.grpc: %q: %v", what, p.GRPC, err)
		}
	case "code":
		var src string
		d.Decode(v, &src, what+".code")
		n, ok := wire.GRPCCode(src)
		if !ok {
			d.Errorf(v, "%s.code: %q is not a gRPC status: give a name (%s) or a number", what, src, strings.Join(wire.GRPCCodeNames(), ", "))
			return
		}
		p.Code = &n
	case "sql":
		var src string
		d.Decode(v, &src, what+".sql")
		re, err := regexp.Compile("(?i)" + src)
		if err != nil {
			d.Errorf(v, "%s.sql: not a regular expression: %v", what, err)
			return
		}
		p.SQL = re
	case "result":
		d.Decode(v, &p.Result, what+".result")
	case "command":
		d.Decode(v, &p.Command, what+".command")
	case "key":
		d.Decode(v, &p.Key, what+".key")
		if _, err := path.Match(p.Key, ""); err != nil {
			d.Errorf(v, "%s.key: %q: %v", what, p.Key, err)
		}
	case "injected":
		p.Injected = new(bool)
		d.Decode(v, p.Injected, what+".injected")
	}
}

type action struct {
	pattern
	want   step.Count
	Before *pattern
}

// Decode implements step.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	before := d.Errs.Len()
	a := &action{}
	// The pattern's keys sit beside the step's own.
	for _, f := range d.Fields(n, "interactions") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "from", "to", "method", "path", "status", "grpc", "code", "sql", "result", "command", "key", "injected":
			decodePatternKey(d, f, &a.pattern, "interactions")
		case "count", "at_least", "at_most", "never":
			a.want.DecodeKey(d, f.Key, v, "interactions")
		case "before":
			b := &pattern{}
			for _, bf := range d.Fields(v, "interactions.before") {
				if !contains(patternKeys, bf.Key) {
					d.UnknownKey(bf.KeyN, "interactions.before", patternKeys)
					continue
				}
				decodePatternKey(d, bf, b, "interactions.before")
			}
			if b.From == "" || b.To == "" {
				d.Errorf(v, "interactions.before: give from and to (the edge)")
			}
			a.Before = b
		default:
			d.UnknownKey(f.KeyN, "interactions", append(append(append([]string(nil), patternKeys...), step.CountKeys...), "before"))
		}
	}
	if a.From == "" || a.To == "" {
		d.Errorf(n, "interactions: give from and to (the edge: the calling service and the one it depends on)")
	}
	a.want.Validate(d, n, "interactions")
	if a.Path != "" {
		if _, err := path.Match(a.Path, ""); err != nil {
			d.Errorf(n, "interactions.path: %q: %v", a.Path, err)
		}
	}
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

// ServiceRefs implements step.ServiceUser: the edge's ends must be services.
func (a *action) ServiceRefs() []step.Ref {
	refs := []step.Ref{{Name: a.From, Pos: a.fromN}, {Name: a.To, Pos: a.toN}}
	if a.Before != nil {
		refs = append(refs, step.Ref{Name: a.Before.From, Pos: a.Before.fromN}, step.Ref{Name: a.Before.To, Pos: a.Before.toN})
	}
	return refs
}

// EdgeRefs implements step.EdgeUser: each edge must be a wired depends_on.
func (a *action) EdgeRefs() []step.EdgeRef {
	refs := []step.EdgeRef{{From: a.From, To: a.To, Pos: a.fromN}}
	if a.Before != nil {
		refs = append(refs, step.EdgeRef{From: a.Before.From, To: a.Before.To, Pos: a.Before.fromN})
	}
	return refs
}

// recorded is what the environment offers.
type recorded interface {
	Interactions(since time.Time) []wire.Interaction
}

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	src, ok := env.Services.(recorded)
	if !ok || env.Services == nil {
		return nil, fmt.Errorf("this suite starts no services, so no edges are recorded")
	}
	all := src.Interactions(env.Start)
	var found []wire.Interaction
	for _, i := range all {
		if a.match(i) {
			found = append(found, i)
		}
	}
	list := make([]any, len(found))
	for k, i := range found {
		reqBody, respBody := i.Bodies() // gRPC messages become JSON here, on first read
		m := map[string]any{"edge": i.Edge, "port": i.Port, "protocol": i.Protocol, "method": i.Method, "path": i.Target,
			"status": float64(i.Status), "params": i.Note, "result": i.Result, "injected": i.Injected, "duration_ms": float64(i.End.Sub(i.Start).Microseconds()) / 1000,
			"request_body": bodyValue(reqBody), "response_body": bodyValue(respBody)}
		if reqHeader, respHeader := i.Headers(); reqHeader != "" || respHeader != "" {
			m["request_headers"], m["response_headers"] = headerValue(reqHeader), headerValue(respHeader)
		}
		if i.Protocol == "grpc" || i.Protocol == "http2" {
			m["request_size"], m["response_size"] = float64(i.RequestSize), float64(i.ResponseSize)
		}
		if i.Protocol == "grpc" {
			m["code"], m["message"] = wire.GRPCCodeName(i.GRPCStatus), i.GRPCMessage
			if i.GRPCStatus < 0 {
				m["code"] = nil
			}
		}
		switch i.Method {
		case "SQL":
			m["sql"] = i.Target
		case "REDIS":
			m["command"], m["key"] = i.Command, i.Key
		}
		list[k] = m
	}
	res := &step.Result{Fields: map[string]any{"count": float64(len(found)), "interactions": list},
		Request: "interactions matching " + a.pattern.String()}
	want, ok := a.want.Check(len(found))
	var problem string
	if !ok {
		problem = fmt.Sprintf("%d interaction(s) matched %s; want %s", len(found), a.pattern.String(), want)
	} else if a.Before != nil && len(found) > 0 {
		var later *wire.Interaction
		for k := range all {
			if a.Before.match(all[k]) {
				later = &all[k]
				break
			}
		}
		switch {
		case later == nil:
			problem = fmt.Sprintf("%s happened, but %s never did, so it cannot have come before it", a.pattern.String(), a.Before.String())
		case !found[0].End.Before(later.Start) && !found[0].End.Equal(later.Start):
			problem = fmt.Sprintf("%s must come before %s, but %s started first", a.pattern.String(), a.Before.String(), a.Before.String())
		}
	}
	if problem == "" {
		res.Response = fmt.Sprintf("%d matched", len(found))
		return res, nil
	}
	var b strings.Builder
	b.WriteString(problem)
	fmt.Fprintf(&b, "\n  the edges during this test (%d interactions):", len(all))
	for _, i := range all {
		fmt.Fprintf(&b, "\n    %s | %s", i.Edge, i.Line())
	}
	if len(all) == 0 {
		b.WriteString("\n    (none; is the edge declared with depends_on, and not wire: false?)")
	}
	return res, &step.Failed{Msg: b.String()}
}

// headerValue is header lines as a mapping of lower-case names (nil: none).
func headerValue(lines string) any {
	m := wire.HeaderMap(lines)
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// bodyValue is a kept body as expectations see it: JSON parsed, text as a
// string, nothing as null.
func bodyValue(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) == nil {
		return expr.Normalize(v)
	}
	return string(b)
}
