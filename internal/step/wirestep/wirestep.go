// Package wirestep is the `interactions` step kind: expectations on what
// crossed an edge between two services during the test (who called whom,
// how often, in what order), as seam's wire recorded it, rather than on a
// response.
package wirestep

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
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
			"the test began: how many matched, and that they came before others. With no count given, at least one must match. " +
			"A variable's value in a pattern ((id)) matches itself, character for character: its *, ?, [ or . are no wildcards. " +
			"A key that cannot match on the edge is refused: an HTTP method, path, status, grpc and code on an edge to a postgres, mariadb, redis or nats service, " +
			"sql on one to a redis, nats or stub service, command and key on one to a postgres, mariadb or stub service",
		Inputs: []step.Input{
			{Name: "from, to", Doc: "the edge: the calling service and the one it depends on"},
			{Name: "method", Doc: "HTTP method"},
			{Name: "path", Doc: "the request target (path and query); * matches within a segment, as in shell globs"},
			{Name: "status", Doc: "HTTP status of the answer"},
			{Name: "grpc", Doc: "a gRPC call's method, as its path /package.Service/Method (the leading / may be left out); * matches within a segment; " +
				"with the callee's grpc: protos or descriptor sets, it must match one of its methods"},
			{Name: "code", Doc: "a gRPC call's status: a name (OK, NOT_FOUND, UNAUTHENTICATED, …) or its number (0 to 16); " +
				"e.g. {from: sales, to: auth, grpc: /auth.v1.Auth/Check, code: UNAUTHENTICATED, never: true}"},
			{Name: "sql", Doc: "a regular expression (case-insensitive) a PostgreSQL or MySQL statement on the edge must match"},
			{Name: "command", Doc: "a Redis command (GET, EVALSHA; any case), or a NATS operation: PUB (a publish), SUB, MSG (a message delivered to the caller)"},
			{Name: "key", Doc: "the Redis command's key (the first key it names: after numkeys for EVAL and FCALL, after STREAMS for XREAD; none for commands without keys; * matches within a segment, up to a /, as in shell globs), " +
				"or the NATS subject (* matches one token, > the rest: orders.*, orders.>)"},
			{Name: "result", Doc: "text the result must contain: a command tag (INSERT 0 1), an SQL error code (23505), a Redis reply (+OK, -ERR), " +
				"a status line, a NATS outcome (published, received, subscribed, -ERR); with result:, what happened to a connection counts too " +
				"(reset, refused streams), which is not a call otherwise; a fault being set or cleared never counts"},
			{Name: "injected", Doc: "true: only what a fault of seam's made (an answer in the callee's place, a cut); false: only the real traffic"},
			{Name: "count", Doc: `how many must match: a number (2, 0), a range ("2..5", "2..", "..5") or a comparison (">=1", ">0", "<=3", "<4"); quote ranges and comparisons`},
			{Name: "at_least, at_most, never", Doc: "how many must match, the long way (never: true means none, as count: 0)"},
			{Name: "before", Doc: "another pattern ({from, to, method, path, status}): the first match of this one must have been sent before the first match of that one " +
				"(in the order the calls started: a pipelining client sends the second before the first's answer comes)"},
		},
		Fields: []expect.Field{
			{Name: "count", Doc: "how many interactions matched", Shape: expect.ScalarShape},
			{Name: "interactions", Doc: "the matches: edge, port (the callee's port by name), protocol, method, path, status, result, sql and params (SQL: the statement's parameters, a list of values, secret ones \"***\"), command and key (Redis), injected, duration_ms, request_body and response_body (HTTP: parsed when JSON; gzip inflated; the first 4 KiB; gRPC: the messages as JSON when their types are known), request_headers and response_headers (HTTP and HTTP/2, gRPC metadata: lower-case name → value, secret ones ***; trailers (HTTP/2, HTTP/1.1 chunked) in response_headers), request_size and response_size (HTTP/2 and gRPC: bytes), code and message (gRPC)"},
		},
		Example: "interactions: {from: orders, to: inventory, method: POST, path: /reserve, status: 200, count: 1,\n" +
			"               before: {from: orders, to: payments, path: /charges}}\n" +
			"interactions: {from: orders, to: db, sql: \"^insert into orders\", result: \"INSERT 0 1\", count: \"1..3\"}\n" +
			"interactions: {from: orders, to: cache, command: GET, key: \"stock:*\", count: \">=1\"}",
	}
}

// pattern is what interactions to look for, as written: every string may
// hold ((…)) templates, evaluated with the test's vars when the step runs
// (resolve). A string without templates is checked when the suite loads.
type pattern struct {
	what                               string // "interactions" or "interactions.before", naming it in errors
	From, To, Method, Path, GRPC, Code expr.Str
	SQL, Result, Command, Key          expr.Str
	Status                             int
	Injected                           *bool
	code                               *int                // Code, when it holds no template
	sql                                *regexp.Regexp      // SQL compiled, when it holds no template
	at                                 map[string]diag.Pos // where each key's value is written
}

// field is one of a pattern's strings, by its key.
type field struct {
	key string
	s   *expr.Str
}

func (p *pattern) fields() []field {
	return []field{{"from", &p.From}, {"to", &p.To}, {"method", &p.Method}, {"path", &p.Path}, {"grpc", &p.GRPC},
		{"code", &p.Code}, {"sql", &p.SQL}, {"result", &p.Result}, {"command", &p.Command}, {"key", &p.Key}}
}

// matcher is a pattern with its templates evaluated; an empty string
// matches anything.
type matcher struct {
	From, To, Method string
	Path             glob // the request target
	Status           int
	GRPC             glob           // a gRPC method path
	Code             *int           // a gRPC status
	SQL              *regexp.Regexp // PostgreSQL statements
	sqlText          string         // SQL as given, a template's value as it is (not quoted), for messages
	Result           string         // contained in the result ("INSERT 0 1", "23505")
	Command          string         // Redis
	Key              glob           // the Redis command's key
	Injected         *bool
}

// glob is a shell-style pattern (path.Match) and its text as given; a
// template's value is quoted in pat (globQuote), so it matches only
// itself, and is as it is in text.
type glob struct{ pat, text string }

// match reports whether s matches the pattern, or is its text exactly (a
// plain /items[0] means itself too, though as a glob [0] is a class).
func (g glob) match(s string) bool {
	ok, _ := path.Match(g.pat, s)
	return ok || g.text == s
}

// subject reports whether a NATS subject matches the pattern as NATS
// matches subscriptions (wire.SubjectMatches), or is its text.
func (g glob) subject(s string) bool {
	return g.text == s || wire.SubjectMatches(g.pat, s)
}

// resolve evaluates p's templates with vars and checks what they gave as
// the loader checks plain strings (an edge's end: a service of svcs). A
// template's value is matched as the text it is: in a glob or a regular
// expression it is quoted, so a captured "a+b (1)" or "*" matches itself
// and nothing else, while the pattern's own wildcards keep their meaning.
// A problem names the field.
func (p *pattern) resolve(vars expr.Vars, svcs step.Services) (*matcher, error) {
	m := &matcher{Status: p.Status, Injected: p.Injected, Code: p.code, SQL: p.sql}
	var code string
	dst := map[string]*string{"from": &m.From, "to": &m.To, "method": &m.Method, "path": &m.Path.text, "grpc": &m.GRPC.text,
		"code": &code, "sql": &m.sqlText, "result": &m.Result, "command": &m.Command, "key": &m.Key.text}
	pats := map[string]*string{"path": &m.Path.pat, "grpc": &m.GRPC.pat, "key": &m.Key.pat}
	for _, f := range p.fields() {
		s, pat, err := p.eval(f, vars)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", p.what, f.key, err)
		}
		*dst[f.key] = s
		if d := pats[f.key]; d != nil {
			*d = pat
		}
		if !f.s.IsTemplate() {
			continue
		}
		if s == "" {
			return nil, fmt.Errorf("%s.%s: %s gives an empty string; leave %s out to match any", p.what, f.key, f.s.Raw, f.key)
		}
		bad := func(err error) error {
			return fmt.Errorf("%s.%s: %v (from %s)", p.what, f.key, err, f.s.Raw)
		}
		switch f.key {
		case "from", "to":
			// A misspelt end would match nothing, and a never: or a
			// count 0 pass. (A job has no address, but is a service: it
			// calls.)
			if _, err := svcs.URL(s); err != nil && s != "browser" && strings.Contains(err.Error(), "no service") {
				return nil, fmt.Errorf("%s.%s: %s gives %q, which is no service of the suite", p.what, f.key, f.s.Raw, s)
			}
		case "path", "key":
			if err := checkGlob(pat); err != nil {
				return nil, bad(err)
			}
		case "grpc":
			if err := checkGRPC(s, pat); err != nil {
				return nil, bad(err)
			}
			m.GRPC.text, m.GRPC.pat = methodPath(s), methodPath(pat)
		case "code":
			n, err := parseCode(s)
			if err != nil {
				return nil, bad(err)
			}
			m.Code = &n
		case "sql":
			re, err := compileSQL(pat)
			if err != nil {
				return nil, bad(err)
			}
			m.SQL = re
		}
	}
	return m, nil
}

// eval is the text f's string gives with vars and, for a glob or a
// regular expression, the pattern with each template's value quoted in
// (else the text again).
func (p *pattern) eval(f field, vars expr.Vars) (text, pat string, err error) {
	switch f.key {
	case "path", "grpc", "key":
		return f.s.Quoted(vars, globQuote)
	case "sql":
		return f.s.Quoted(vars, regexp.QuoteMeta)
	}
	text, err = f.s.String(vars)
	return text, text, err
}

// The checks on a pattern's strings, shared by the loader (plain strings)
// and resolve (templates).

func checkGlob(s string) error {
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	return nil
}

// checkGRPC checks a gRPC method path: its text (a template's value as it
// is) has the shape, with or without its leading / (methodPath), and its
// pattern is a glob.
func checkGRPC(text, pat string) error {
	if t := methodPath(text); !strings.HasPrefix(t, "/") || strings.Count(t, "/") != 2 {
		return fmt.Errorf("%q is not a gRPC method path: write /package.Service/Method", text)
	}
	return checkGlob(pat)
}

// methodPath is a gRPC method written as the grpc step takes it, without
// its leading / (pkg.Service/Method), as its path.
func methodPath(m string) string {
	if m != "" && !strings.HasPrefix(m, "/") && strings.Count(m, "/") == 1 {
		return "/" + m
	}
	return m
}

func parseCode(s string) (int, error) {
	names := wire.GRPCCodeNames()
	n, ok := wire.GRPCCode(s)
	if !ok || n >= len(names) {
		return 0, fmt.Errorf("%q is not a gRPC status: give a name (%s) or a number from 0 to %d", s, strings.Join(names, ", "), len(names)-1)
	}
	return n, nil
}

func compileSQL(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("(?i)" + s)
	if err != nil {
		return nil, fmt.Errorf("not a regular expression: %v", err)
	}
	return re, nil
}

// globQuote makes s match itself in a path.Match pattern, inside a
// character class too: a backslash before each character with a meaning
// there.
func globQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\*?[]-^`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (p *matcher) edge() string { return p.From + "→" + p.To }

func (p *matcher) match(i wire.Interaction) bool {
	if i.Edge != p.edge() || i.Protocol == "fault" || i.Event() && p.Result == "" {
		return false
	}
	if p.Method != "" && !strings.EqualFold(p.Method, i.Method) {
		return false
	}
	if p.Path.pat != "" && !p.Path.match(i.Target) {
		return false
	}
	if p.SQL != nil && (i.Method != "SQL" || !p.SQL.MatchString(i.Target)) {
		return false
	}
	if p.GRPC.pat != "" || p.Code != nil {
		if i.Protocol != "grpc" {
			return false
		}
		if p.GRPC.pat != "" && !p.GRPC.match(i.Target) {
			return false
		}
		if p.Code != nil && *p.Code != i.GRPCStatus {
			return false
		}
	}
	if p.Result != "" && !strings.Contains(i.Result, p.Result) {
		return false
	}
	if p.Command != "" && (i.Method != "REDIS" && i.Method != "NATS" || !strings.EqualFold(p.Command, i.Command)) {
		return false
	}
	if p.Key.pat != "" && !(i.Method == "REDIS" && p.Key.match(i.Key) || i.Method == "NATS" && p.Key.subject(i.Key)) {
		return false
	}
	if p.Injected != nil && *p.Injected != i.Injected {
		return false
	}
	return p.Status == 0 || p.Status == i.Status
}

func (p *matcher) String() string {
	s := p.edge()
	if p.Method != "" || p.Path.text != "" {
		s += " " + strings.TrimSpace(p.Method+" "+p.Path.text)
	}
	if p.SQL != nil {
		s += " SQL ~ " + p.sqlText
	}
	if p.Command != "" || p.Key.text != "" {
		s += " " + strings.TrimSpace(strings.ToUpper(p.Command)+" "+p.Key.text)
	}
	if p.Injected != nil {
		if *p.Injected {
			s += " (injected)"
		} else {
			s += " (not injected)"
		}
	}
	if p.GRPC.text != "" {
		s += " gRPC " + p.GRPC.text
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

func decodePatternKey(d *decode.Decoder, f decode.Field, p *pattern) {
	v := decode.Resolve(f.Value)
	if p.at == nil {
		p.at = map[string]diag.Pos{}
	}
	p.at[f.Key] = d.Pos(f.Value)
	if f.Key == "status" {
		d.Decode(v, &p.Status, p.what+".status")
		return
	}
	if f.Key == "injected" {
		p.Injected = new(bool)
		d.Decode(v, p.Injected, p.what+".injected")
		return
	}
	var s *expr.Str
	for _, pf := range p.fields() {
		if pf.key == f.Key {
			s = pf.s
		}
	}
	if s == nil {
		return
	}
	before := d.Errs.Len()
	d.Decode(v, s, p.what+"."+f.Key)
	if d.Errs.Len() > before {
		return
	}
	if s.IsTemplate() {
		// A template is checked once it is evaluated, when the step
		// runs; in a glob or a regular expression, its value is quoted in
		// (eval).
		return
	}
	var err error
	switch f.Key {
	case "path", "key":
		err = checkGlob(s.Raw)
	case "grpc":
		if err = checkGRPC(s.Raw, s.Raw); err == nil && s.Raw != methodPath(s.Raw) {
			pos := s.Pos
			*s = expr.Lit(methodPath(s.Raw))
			s.Pos = pos
		}
	case "code":
		var n int
		if n, err = parseCode(s.Raw); err == nil {
			p.code = &n
		}
	case "sql":
		p.sql, err = compileSQL(s.Raw)
	}
	if err != nil {
		d.Errorf(v, "%s.%s: %v", p.what, f.Key, err)
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
	a := &action{pattern: pattern{what: "interactions"}}
	// The pattern's keys sit beside the step's own.
	for _, f := range d.Fields(n, "interactions") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "from", "to", "method", "path", "status", "grpc", "code", "sql", "result", "command", "key", "injected":
			decodePatternKey(d, f, &a.pattern)
		case "count", "at_least", "at_most", "never":
			a.want.DecodeKey(d, f.Key, v, "interactions")
		case "before":
			b := &pattern{what: "interactions.before"}
			for _, bf := range d.Fields(v, "interactions.before") {
				if !contains(patternKeys, bf.Key) {
					d.UnknownKey(bf.KeyN, "interactions.before", patternKeys)
					continue
				}
				decodePatternKey(d, bf, b)
			}
			if b.From.Raw == "" || b.To.Raw == "" {
				d.Errorf(v, "interactions.before: give from and to (the edge)")
			}
			a.Before = b
		default:
			d.UnknownKey(f.KeyN, "interactions", append(append(append([]string(nil), patternKeys...), step.CountKeys...), "before"))
		}
	}
	if a.From.Raw == "" || a.To.Raw == "" {
		d.Errorf(n, "interactions: give from and to (the edge: the calling service and the one it depends on)")
	}
	a.want.Validate(d, n, "interactions")
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

// ServiceRefs implements step.ServiceUser: the edge's ends must be services
// (those named by a template are known only when the step runs).
func (a *action) ServiceRefs() []step.Ref {
	refs := append(step.Refs(a.From), step.Refs(a.To)...)
	if a.Before != nil {
		refs = append(append(refs, step.Refs(a.Before.From)...), step.Refs(a.Before.To)...)
	}
	return refs
}

// ChecksWire marks the step as a check of the wire itself (the engine's
// WireChecker): when it fails, its own message, which lists what the
// edges saw, is the cause, not one of the interactions it lists.
func (a *action) ChecksWire() {}

// EdgeRefs implements step.EdgeUser: each edge must be a wired depends_on
// (one with an end named by a template is known only when the step runs).
func (a *action) EdgeRefs() []step.EdgeRef {
	var refs []step.EdgeRef
	for _, p := range []*pattern{&a.pattern, a.Before} {
		if p != nil && !p.From.IsTemplate() && !p.To.IsTemplate() {
			refs = append(refs, step.EdgeRef{From: p.From.Raw, To: p.To.Raw, Pos: p.From.Pos})
		}
	}
	return refs
}

// CheckServices implements step.ServiceChecker: what each pattern asks of
// its edge must be able to happen there (no HTTP method on an edge to a
// Redis service, no sql: on one to a stub), and a gRPC method must be one
// the callee serves, as its grpc: protos or descriptor sets say. Patterns
// whose edge or field a template names are left to the run.
func (a *action) CheckServices(sys *service.System, errs *diag.List) {
	for _, p := range []*pattern{&a.pattern, a.Before} {
		if p == nil || p.From.IsTemplate() || p.To.IsTemplate() {
			continue
		}
		before := errs.Len()
		step.CheckEdge(sys, p.From.Raw, p.To.Raw, p.edgeChecks(), errs)
		if errs.Len() == before && p.GRPC.Raw != "" && !p.GRPC.IsTemplate() {
			step.CheckGRPCMethod(sys, p.To.Raw, p.GRPC.Raw, p.what+".grpc", p.at["grpc"], errs)
		}
	}
}

// edgeHints say what to match on an edge of each protocol.
var edgeHints = map[step.Protocol]string{
	step.HTTP:     "on an HTTP edge, match requests with method, path and status, gRPC calls with grpc and code",
	step.Postgres: "on an SQL edge, match statements with sql (a regular expression) and result",
	step.MySQL:    "on an SQL edge, match statements with sql (a regular expression) and result",
	step.Redis:    "on a Redis edge, match commands with command and key, like {command: GET, key: \"item:*\"}",
	step.NATS:     "on a NATS edge, match with command (PUB, SUB or MSG) and key (the subject)",
}

// edgeChecks is what p's keys ask of its edge's protocol.
func (p *pattern) edgeChecks() []step.EdgeCheck {
	http := []step.Protocol{step.HTTP}
	want := map[string][]step.Protocol{"path": http, "status": http, "grpc": http, "code": http,
		"sql": {step.Postgres, step.MySQL}, "command": {step.Redis, step.NATS}, "key": {step.Redis, step.NATS}}
	if !p.Method.IsTemplate() {
		// An interaction's method is the HTTP one, or SQL, REDIS, NATS:
		// matching those is no mistake.
		switch m := strings.ToUpper(p.Method.Raw); m {
		case "SQL":
			want["method"] = []step.Protocol{step.HTTP, step.Postgres, step.MySQL}
		case "REDIS":
			want["method"] = []step.Protocol{step.HTTP, step.Redis}
		case "NATS":
			want["method"] = []step.Protocol{step.HTTP, step.NATS}
		default:
			want["method"] = http
		}
	}
	var out []step.EdgeCheck
	for _, k := range patternKeys {
		pos, given := p.at[k]
		if w := want[k]; given && w != nil {
			out = append(out, step.EdgeCheck{What: p.what + "." + k, Pos: pos, Want: w, Hint: edgeHints, Never: "the pattern would never match"})
		}
	}
	return out
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
	p, err := a.pattern.resolve(env.Vars, env.Services)
	if err != nil {
		return nil, err
	}
	var then *matcher // the pattern this one's first match must come before
	if a.Before != nil {
		if then, err = a.Before.resolve(env.Vars, env.Services); err != nil {
			return nil, err
		}
	}
	all := src.Interactions(env.Start)
	var found []wire.Interaction
	firstAt := -1 // the first match's place in all
	for k, i := range all {
		if p.match(i) {
			if firstAt < 0 {
				firstAt = k
			}
			found = append(found, i)
		}
	}
	list := make([]any, len(found))
	for k, i := range found {
		reqBody, respBody := i.Bodies() // gRPC messages become JSON here, on first read
		m := map[string]any{"edge": i.Edge, "port": i.Port, "protocol": i.Protocol, "method": i.Method, "path": i.Target,
			"status": float64(i.Status), "params": paramsOf(i), "result": i.Result, "injected": i.Injected, "duration_ms": float64(i.End.Sub(i.Start).Microseconds()) / 1000,
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
		case "REDIS", "NATS":
			m["command"], m["key"] = i.Command, i.Key
		}
		list[k] = m
	}
	res := &step.Result{Fields: map[string]any{"count": float64(len(found)), "interactions": list},
		Request: "interactions matching " + p.String()}
	want, ok := a.want.Check(len(found))
	var problem string
	if !ok {
		problem = fmt.Sprintf("%d interaction(s) matched %s; want %s", len(found), p.String(), want) + p.eventHint(all)
	} else if then != nil && len(found) > 0 {
		var later *wire.Interaction
		laterAt := -1
		for k := range all {
			if then.match(all[k]) {
				later, laterAt = &all[k], k
				break
			}
		}
		// Before is in the order the calls were sent (their starts): a
		// pipelining client (go-redis's TxPipelined writes MULTI … EXEC
		// at once) sends the second before the first's answer came, and
		// still means them in that order.
		switch first := found[0]; {
		case later == nil:
			problem = fmt.Sprintf("%s happened, but %s never did, so it cannot have come before it", p.String(), then.String())
		case later.Start.Before(first.Start):
			problem = fmt.Sprintf("%s must come before %s, but %s was sent first: %s into the test, and %s %s into it",
				p.String(), then.String(), then.String(), sinceStart(env.Start, later.Start), p.String(), sinceStart(env.Start, first.Start))
		case later.Start.Equal(first.Start) && laterAt < firstAt:
			// Sent at the same moment (as far as the clock tells): the
			// wire's record, in the order it heard the answers, decides.
			problem = fmt.Sprintf("%s must come before %s, but they were sent at the same moment and %s was answered first",
				p.String(), then.String(), then.String())
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

// sinceStart renders when t came in a test begun at start: "12.5 ms".
func sinceStart(start, t time.Time) string {
	if start.IsZero() {
		return t.Format("15:04:05.000000")
	}
	return t.Sub(start).Round(time.Microsecond).String()
}

// eventHint tells, for a pattern without result: that matched a count it
// did not want, of the connection events a fault made on its edge (a
// reset at connect, a cut): they are no calls, so they count only for a
// pattern with result: (match's rule), and an injected: true check that
// meant them would otherwise match nothing without saying why. "" when
// there are none, or the pattern asks for real traffic only.
func (p *matcher) eventHint(all []wire.Interaction) string {
	if p.Result != "" || p.Injected != nil && !*p.Injected {
		return ""
	}
	n := map[string]int{}        // result word → events
	first := map[string]string{} // result word → the first such event's result
	var words []string
	for _, i := range all {
		if i.Edge != p.edge() || !i.Event() || i.Protocol == "fault" || !i.Injected {
			continue
		}
		w := eventWord(i.Result)
		if n[w] == 0 {
			words, first[w] = append(words, w), i.Result
		}
		n[w]++
	}
	var b strings.Builder
	for _, w := range words {
		fmt.Fprintf(&b, "; %d connection event(s) on this edge were injected by a fault (%s), which are no calls: match them with result: %s",
			n[w], first[w], w)
	}
	return b.String()
}

// eventWord is the word of a connection event's result that a result:
// pattern can match it by: "reset" for "reset by a fault at connect",
// "closed" for "closed by a fault after 250 bytes".
func eventWord(result string) string {
	for _, w := range []string{"reset", "closed", "refused", "ended"} {
		if strings.Contains(result, w) {
			return w
		}
	}
	w, _, _ := strings.Cut(result, " ")
	return w
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
	if v, err := expr.DecodeJSON(b); err == nil {
		return v // numbers exact, as a step's own response body's are
	}
	return string(b)
}

// paramsOf is an SQL interaction's parameters as values: each the JSON
// value its text is (wire.Interaction.Params), numbers exact and NULL as
// null, else the text ("<long data>", a cut list's "…"); nil without any,
// and the note itself when the wire masked them all.
func paramsOf(i wire.Interaction) any {
	ps := i.Params()
	if ps == nil {
		if i.Protocol == "postgres" || i.Protocol == "mysql" {
			if i.Note != "" {
				return i.Note
			}
		}
		return nil
	}
	out := make([]any, len(ps))
	for k, p := range ps {
		// Exact: an integer beyond 2^53 stays itself (-9007199254740993),
		// and NULL is null while the text 'NULL' is the string "NULL".
		if v, err := expr.DecodeJSON([]byte(p)); err == nil {
			out[k] = v
		} else {
			out[k] = p
		}
	}
	return out
}
