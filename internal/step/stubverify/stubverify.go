// Package stubverify is the `stub-verify` step kind: check what a stub
// service was sent during the test, with the same matchers its mappings
// use, and show the closest requests when the check fails.
package stubverify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/stub"
	"go.yaml.in/yaml/v4"
)

// Kind is the stub-verify step kind.
type Kind struct{}

// Usage implements step.Kind.
func (Kind) Usage() step.Usage {
	return step.Usage{
		Services: []string{"stub"},
		Name:     "stub-verify",
		Summary: "check the requests a stub service received since the test began; with no count given, at " +
			"least one must match. On failure it lists the closest requests and what differed",
		Inputs: []step.Input{
			{Name: "service", Doc: "a stub service of the suite"},
			{Name: "method", Doc: "HTTP method (any when left out)"},
			{Name: "path", Doc: "the path: exact, {name} segments match any one segment, with ?query the whole URL"},
			{Name: "url, urlPath, urlPattern, urlPathPattern, urlPathTemplate", Doc: "WireMock's URL matchers, instead of path: the whole URL or the path, exactly or as a regular expression, or a template with {name} segments"},
			{Name: "path_params", Doc: "name: value (or name: {WireMock matcher}) for the {name} segments of path: or urlPathTemplate"},
			{Name: "query, headers, cookies", Doc: "name: value (equalTo) or name: {WireMock matcher}"},
			{Name: "body", Doc: "a WireMock body matcher or a list: equalTo, contains, matches, equalToJson, matchesJsonPath, …"},
			{Name: "count", Doc: `how many requests: a number (2, 0), a range ("2..5", "2..", "..5") or a comparison (">=1", ">0", "<=3", "<4"); quote ranges and comparisons`},
			{Name: "at_least", Doc: "at least this many"},
			{Name: "at_most", Doc: "at most this many"},
			{Name: "never", Doc: "true: no request may match"},
		},
		Fields: []expect.Field{
			{Name: "count", Doc: "how many requests matched", Shape: expect.ScalarShape},
			{Name: "requests", Doc: "the matching requests: method, url, path, query, headers, body (parsed when JSON)"},
		},
		Example: "stub-verify: {service: payments, method: POST, path: /charges, body: {matchesJsonPath: $.amount}, count: 1}",
	}
}

type action struct {
	service expr.Str
	node    *yaml.Node              // the pattern's keys, for templated patterns
	tmpls   map[*yaml.Node]expr.Str // scalars holding ((templates))
	pattern *stub.Pattern           // parsed at load time when nothing is templated
	want    step.Count
	pos     diag.Pos
}

var ownKeys = append([]string{"service"}, step.CountKeys...)

// Decode implements step.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	before := d.Errs.Len()
	a := &action{tmpls: map[*yaml.Node]expr.Str{}, pos: d.Pos(n)}
	pat := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	known := append(append([]string(nil), ownKeys...), stub.PatternKeys...)
	for _, f := range d.Fields(n, "stub-verify") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "service":
			a.service.DecodeYAML(d, v)
		case "count", "at_least", "at_most", "never":
			a.want.DecodeKey(d, f.Key, v, "stub-verify")
		default:
			if !contains(stub.PatternKeys, f.Key) {
				d.UnknownKey(f.KeyN, "stub-verify", known)
				continue
			}
			pat.Content = append(pat.Content, f.KeyN, v)
		}
	}
	if a.service.IsZero() {
		d.Errorf(n, "stub-verify: missing required key \"service\"")
	}
	a.want.Validate(d, n, "stub-verify")
	// Templated scalars are checked for names now and filled in at run time.
	walk(pat, func(s *yaml.Node) {
		if strings.Contains(s.Value, "((") {
			var x expr.Str
			x.DecodeYAML(d, s)
			a.tmpls[s] = x
		}
	})
	a.node = pat
	if len(a.tmpls) == 0 {
		a.pattern = stub.ParsePattern(d, pat, "stub-verify")
	} else {
		// Parse once with the templates as written, to catch everything
		// that does not depend on their values.
		var scratch diag.List
		sd := decode.New(d.Pos(n).File, &scratch)
		stub.ParsePattern(sd, pat, "stub-verify")
		for _, e := range scratch.Errors() {
			if !strings.Contains(e.Msg, "((") {
				d.Errs.Add(e)
			}
		}
	}
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	n = decode.Resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		f(n)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			walk(n.Content[i], f)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walk(c, f)
		}
	}
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.service) }

// fill copies the pattern's nodes with templates replaced by their values.
func (a *action) fill(n *yaml.Node, vars expr.Vars) (*yaml.Node, error) {
	n = decode.Resolve(n)
	c := *n
	if x, ok := a.tmpls[n]; ok {
		s, err := x.String(vars)
		if err != nil {
			return nil, err
		}
		c.Value, c.Tag, c.Style = s, "!!str", 0
		return &c, nil
	}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			v, err := a.fill(k, vars)
			if err != nil {
				return nil, err
			}
			c.Content[i] = v
		}
	}
	return &c, nil
}

// stubs is what the environment offers: a running service by name.
type stubs interface {
	Instance(name string) (service.Instance, error)
}

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	name, err := a.service.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	envs, ok := env.Services.(stubs)
	if !ok || env.Services == nil {
		return nil, fmt.Errorf("service %q: this suite starts no services", name)
	}
	inst, err := envs.Instance(name)
	if err != nil {
		return nil, err
	}
	sv, ok := inst.(interface{ Server() *stub.Server })
	if !ok {
		return nil, fmt.Errorf("service %q is not a stub (stub-verify checks what a stub service received)", name)
	}
	p := a.pattern
	if p == nil {
		n, err := a.fill(a.node, env.Vars)
		if err != nil {
			return nil, err
		}
		var errs diag.List
		p = stub.ParsePattern(decode.New(a.pos.File, &errs), n, "stub-verify")
		if err := errs.Err(); err != nil {
			return nil, err
		}
	}
	j := sv.Server().Journal()
	found := j.Find(p, env.Start)
	reqs := make([]any, len(found))
	for i, e := range found {
		reqs[i] = requestValue(e.Request)
	}
	res := &step.Result{
		Fields:  map[string]any{"count": float64(len(found)), "requests": reqs},
		Request: "requests to " + name + " matching " + p.String(),
	}
	want, ok := a.want.Check(len(found))
	if ok {
		res.Response = fmt.Sprintf("%d matched", len(found))
		return res, nil
	}
	return res, &step.Failed{Msg: sv.Server().Explain(name, p, env.Start, found, want)}
}

func requestValue(r *stub.Request) map[string]any {
	headers := map[string]any{}
	for k, vs := range r.Header() {
		headers[strings.ToLower(k)] = vs[0]
	}
	query := map[string]any{}
	for k, vs := range r.Query() {
		query[k] = vs[0]
	}
	var body any = string(r.Body)
	var v any
	if json.Unmarshal(r.Body, &v) == nil {
		body = expr.Normalize(v)
	}
	return map[string]any{"method": r.Method, "url": r.URL, "path": r.Path, "query": query, "headers": headers, "body": body}
}
