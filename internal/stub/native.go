package stub

import (
	"strconv"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/grpcstatus"
	"go.yaml.in/yaml/v4"
)

// seam's own form of a stub, written inline in a suite. It compiles to the
// same model as WireMock's JSON:
//
//	- when: POST /charges/{id}          # method and path; {x} segments are parameters
//	  query: {page: "1"}                # a string is equalTo; or any WireMock matcher
//	  headers: {Authorization: {matches: "Bearer .+"}}
//	  body: {matchesJsonPath: $.amount} # one WireMock body matcher, or a list
//	  then: {status: 201, json: {id: ch_1}, delay: 50ms}
//	  scenario: {name: payment, state: Started, next: charged}
//	  priority: 1

var routeKeys = []string{"name", "when", "query", "headers", "cookies", "body", "path_params", "then", "priority", "scenario"}

// ParseRoute parses one route of seam's own form.
func ParseRoute(d *decode.Decoder, n *yaml.Node) *Mapping {
	before := d.Errs.Len()
	m := &Mapping{Pos: d.Pos(n)}
	hasThen := false
	var whenN *yaml.Node
	for _, f := range d.Fields(n, "route") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "name":
			m.Name = str(d, v, "route.name")
		case "when":
			whenN = v
			if v.Kind == yaml.MappingNode {
				parsePattern(d, v, &m.Request, "route.when") // WireMock's request object
			} else {
				parseWhen(d, v, &m.Request)
			}
		case "query":
			m.Request.Query = namedMatchers(d, v, "route.query")
		case "headers":
			m.Request.Headers = append(m.Request.Headers, namedMatchers(d, v, "route.headers")...)
		case "cookies":
			m.Request.Cookies = namedMatchers(d, v, "route.cookies")
		case "path_params":
			m.Request.PathParams = namedMatchers(d, v, "route.path_params")
		case "body":
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, it := range items {
				if x := parseMatcher(d, it, "route.body", true); x != nil {
					m.Request.Body = append(m.Request.Body, x)
				}
			}
		case "then":
			hasThen = true
			parseThen(d, v, &m.Response)
		case "priority":
			m.Priority = integer(d, v, "route.priority")
		case "scenario":
			var sc struct {
				Name  string `yaml:"name" seam:"required"`
				State string `yaml:"state"`
				Next  string `yaml:"next"`
			}
			d.Decode(v, &sc, "route.scenario")
			m.Scenario, m.RequiredState, m.NewState = sc.Name, sc.State, sc.Next
		default:
			d.UnknownKey(f.KeyN, "route", routeKeys)
		}
	}
	if whenN == nil && d.Errs.Len() == before {
		d.Errorf(n, "route: missing \"when\"").WithHint("e.g. when: GET /users/{id}")
	}
	if !hasThen && d.Errs.Len() == before {
		d.Errorf(n, "route: missing \"then\"").WithHint("e.g. then: {status: 200, json: {id: 1}}")
	}
	if d.Errs.Len() > before {
		return nil
	}
	return m
}

// parseWhen reads "METHOD /path" or "/path": a path with {name} segments
// is a template, one with a query string is matched whole.
func parseWhen(d *decode.Decoder, n *yaml.Node, p *Pattern) {
	s := strings.Fields(str(d, n, "route.when"))
	if len(s) == 0 || len(s) > 2 {
		d.Errorf(n, "route.when: want \"METHOD /path\" or \"/path\", got %q", n.Value)
		return
	}
	path := s[len(s)-1]
	if len(s) == 2 {
		p.Method = httpMethod(s[0])
	}
	if !strings.HasPrefix(path, "/") {
		d.Errorf(n, "route.when: the path %q must start with /", path)
		return
	}
	key := "urlPath"
	switch {
	case strings.Contains(path, "?"):
		key = "url"
	case strings.Contains(path, "{"):
		key = "urlPathTemplate"
	}
	parseURL(d, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path, Line: n.Line, Column: n.Column}, &p.URL, key, "route.when")
}

// httpMethod is a route's method as matched: GRPC is a gRPC call's, POST.
func httpMethod(m string) string {
	m = strings.ToUpper(m)
	if m == "GRPC" {
		return "POST"
	}
	return m
}

var thenKeys = []string{"status", "headers", "body", "json", "base64", "file", "delay", "fault", "template", "proxy", "grpc"}

// parseThen reads seam's response keys by rewriting them into WireMock's
// and parsing those, so both forms mean exactly the same.
func parseThen(d *decode.Decoder, n *yaml.Node, r *Response) {
	wm := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	add := func(k *yaml.Node, key string, v *yaml.Node) {
		kk := *k
		kk.Value = key
		wm.Content = append(wm.Content, &kk, v)
	}
	var grpcHeaders []Header // then.grpc's status, as WireMock's gRPC extension takes it
	for _, f := range d.Fields(n, "route.then") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "status", "headers", "body", "fault":
			add(f.KeyN, f.Key, v)
		case "json":
			add(f.KeyN, "jsonBody", v)
		case "base64":
			add(f.KeyN, "base64Body", v)
		case "file":
			add(f.KeyN, "bodyFileName", v)
		case "proxy":
			add(f.KeyN, "proxyBaseUrl", v)
		case "delay":
			dur, ok := d.Duration(v, "route.then.delay")
			if ok {
				add(f.KeyN, "fixedDelayMilliseconds", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int",
					Value: strconv.FormatInt(dur.Milliseconds(), 10), Line: v.Line, Column: v.Column})
			}
		case "template":
			if boolean(d, v, "route.then.template") {
				add(f.KeyN, "transformers", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column,
					Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "response-template"}}})
			}
		case "grpc":
			var g struct {
				Code    string `yaml:"code" seam:"required"`
				Message string `yaml:"message"`
			}
			d.Decode(v, &g, "route.then.grpc")
			if _, ok := grpcstatus.Parse(g.Code); !ok && g.Code != "" {
				d.Errorf(v, "route.then.grpc.code: %q is not a gRPC status code", g.Code).
					WithHint("one of %s, or its number", strings.Join(grpcstatus.Names(), ", "))
			}
			if g.Code != "" {
				grpcHeaders = append(grpcHeaders, Header{Name: grpcStatusName, Value: g.Code})
			}
			if g.Message != "" {
				grpcHeaders = append(grpcHeaders, Header{Name: grpcStatusReason, Value: g.Message})
			}
		default:
			d.UnknownKey(f.KeyN, "route.then", thenKeys)
		}
	}
	parseResponse(d, wm, r)
	r.Headers = append(r.Headers, grpcHeaders...)
}

// PatternKeys are the keys of a request pattern in seam's form.
var PatternKeys = []string{"method", "path", "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate",
	"query", "headers", "cookies", "path_params", "body"}

// ParsePattern parses a request pattern in seam's form (method, path,
// query, headers, cookies, body, or WireMock's URL keys) from the fields of
// n whose keys are in PatternKeys; the caller handles the others.
func ParsePattern(d *decode.Decoder, n *yaml.Node, what string) *Pattern {
	before := d.Errs.Len()
	p := &Pattern{}
	var urlKey *yaml.Node
	for _, f := range d.Fields(n, what) {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "method":
			p.Method = httpMethod(str(d, v, what+".method"))
		case "path", "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate":
			if urlKey != nil {
				d.Errorf(f.KeyN, "%s: both %q and %q given", what, urlKey.Value, f.Key)
				continue
			}
			urlKey = f.KeyN
			if f.Key == "path" {
				m := p.Method
				parseWhen(d, v, p)
				p.Method = m
				continue
			}
			parseURL(d, v, &p.URL, f.Key, what)
		case "query":
			p.Query = namedMatchers(d, v, what+".query")
		case "headers":
			p.Headers = namedMatchers(d, v, what+".headers")
		case "cookies":
			p.Cookies = namedMatchers(d, v, what+".cookies")
		case "path_params":
			p.PathParams = namedMatchers(d, v, what+".path_params")
		case "body":
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, it := range items {
				if x := parseMatcher(d, it, what+".body", true); x != nil {
					p.Body = append(p.Body, x)
				}
			}
		}
	}
	if d.Errs.Len() > before {
		return nil
	}
	return p
}
