package seam

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/stub"
	"go.yaml.in/yaml/v4"
)

// StubService declares a stub (service virtualization) in code: an HTTP
// server standing in for a component that is missing or third-party,
// answering from WireMock mapping files or folders (or .yaml route files),
// relative to the test's package folder. Add more mappings at run time with
// Env.Stub(name).Add.
func StubService(name string, mappings ...string) *Service {
	wd, _ := os.Getwd()
	paths := make([]string, len(mappings))
	for i, m := range mappings {
		if !filepath.IsAbs(m) {
			m = filepath.Join(wd, m)
		}
		paths[i] = m
	}
	spec := map[string]any{}
	if len(paths) > 0 {
		spec["mappings"] = paths
	}
	return &Service{name: name, ctor: "StubService", def: map[string]any{"stub": spec}, proc: map[string]any{}}
}

// AtLeastOnce is the count for Stub.Verify and Env.VerifyInteractions
// that accepts one matching request or more (any number but zero). It is
// the only negative count they take.
const AtLeastOnce = -1

// badCount says what is wrong with a count given to caller, or "" when it
// is one: 0 or more, or AtLeastOnce.
func badCount(caller string, count int) string {
	if count >= 0 || count == AtLeastOnce {
		return ""
	}
	return fmt.Sprintf("%s: count %d: want 0 or more (exactly that many), or seam.AtLeastOnce (one or more)", caller, count)
}

// Match describes requests to a stub. Empty fields match anything.
type Match struct {
	Method string
	// Path is matched against the request's path alone, whatever its
	// query ("/charges" matches /charges?x=1; select the query with
	// Query): exactly, or with {name} segments that match any one
	// segment ("/charges/{id}"). With a ?query in it, it is matched
	// against the whole URL, path and query, exactly. (Unlike Edge.Path
	// and HTTPFault.Path, which take the query in always, and globs.)
	Path    string
	Query   map[string]string // each must be present with this value
	Headers map[string]string // each must be present with this value
	// BodyContains is text the body must contain.
	BodyContains string
	// JSON is a document the body must equal as JSON (extra fields allowed).
	JSON any
	// JSONPath is a JSON path that must find something in the body.
	JSONPath string
}

// Request is a request a stub received.
type Request struct {
	Method string
	URL    string // path and query
	Path   string
	Header http.Header
	Body   []byte
	Time   time.Time
}

// Stub is a running stub service, seen from one test.
type Stub struct {
	e    *Env
	name string
	srv  *stub.Server
}

// Stub returns the stub service name. Requests and verifications see what
// it received since the test (Attach, Start) began. When name is not a
// stub, or the environment is stopped, the test fails and Stub returns nil,
// whose methods do nothing.
func (e *Env) Stub(name string) *Stub {
	if e.t != nil {
		e.t.Helper()
	}
	if e.info(name) == nil {
		return nil
	}
	srv := e.stubServer(name)
	if srv == nil {
		e.fail("service %q is not a stub (declare it with stub: in the suite, or seam.StubService)", name)
		return nil
	}
	return &Stub{e: e, name: name, srv: srv}
}

func (e *Env) stubServer(name string) *stub.Server {
	inst, err := e.env.Instance(name)
	if err != nil {
		return nil
	}
	s, ok := inst.(interface{ Server() *stub.Server })
	if !ok {
		return nil
	}
	return s.Server()
}

// Add adds a mapping in WireMock's JSON for the rest of the test; the next
// test starts from the stub's own mappings again (a subtest sharing its
// parent's state, under Attach, from its parent's).
func (s *Stub) Add(mappingJSON string) {
	if s == nil {
		return // Env.Stub has reported why
	}
	if s.e.t != nil {
		s.e.t.Helper()
	}
	if s.e.stopped() {
		return
	}
	ms, err := stub.ParseJSON("mapping", []byte(mappingJSON))
	if err != nil {
		s.e.fail("stub %s: %v", s.name, err)
		return
	}
	s.srv.Add(ms...)
}

// Requests returns the requests the stub received since the test began
// that match m, oldest first.
func (s *Stub) Requests(m Match) []Request {
	if s == nil {
		return nil // Env.Stub has reported why
	}
	if s.e.t != nil {
		s.e.t.Helper()
	}
	if s.e.stopped() {
		return nil
	}
	p := s.pattern(m)
	if p == nil {
		return nil
	}
	var out []Request
	for _, en := range s.srv.Journal().Find(p, s.e.start) {
		r := en.Request
		out = append(out, Request{Method: r.Method, URL: r.URL, Path: r.Path, Header: r.Header(), Body: r.Body, Time: r.Time})
	}
	return out
}

// Verify fails the test unless exactly count requests since the test began
// match m (AtLeastOnce: one or more). The failure lists the closest
// requests and what differed, as `seam run` does.
func (s *Stub) Verify(m Match, count int) {
	if s == nil {
		return // Env.Stub has reported why
	}
	if s.e.t != nil {
		s.e.t.Helper()
	}
	if s.e.stopped() {
		return
	}
	if msg := badCount("Stub.Verify", count); msg != "" {
		s.e.fail("stub %s: %s", s.name, msg)
		return
	}
	p := s.pattern(m)
	if p == nil {
		return
	}
	found := s.srv.Journal().Find(p, s.e.start)
	ok, want := len(found) == count, fmt.Sprintf("exactly %d", count)
	if count == AtLeastOnce {
		ok, want = len(found) > 0, "at least 1"
	}
	if !ok {
		msg := s.srv.Explain(s.name, p, s.e.start, found, want)
		s.e.report("seam: "+msg, false)
	}
}

// pattern compiles m with the stub's own matcher parser, so Go and suite
// files match requests the same way.
func (s *Stub) pattern(m Match) *stub.Pattern {
	doc := map[string]any{}
	if m.Method != "" {
		doc["method"] = m.Method
	}
	if m.Path != "" {
		doc["path"] = m.Path
	}
	if len(m.Query) > 0 {
		doc["query"] = m.Query
	}
	if len(m.Headers) > 0 {
		doc["headers"] = m.Headers
	}
	var body []any
	if m.BodyContains != "" {
		body = append(body, map[string]any{"contains": m.BodyContains})
	}
	if m.JSON != nil {
		body = append(body, map[string]any{"equalToJson": m.JSON, "ignoreExtraElements": true})
	}
	if m.JSONPath != "" {
		body = append(body, map[string]any{"matchesJsonPath": m.JSONPath})
	}
	if len(body) > 0 {
		doc["body"] = body
	}
	var n yaml.Node
	if err := n.Encode(doc); err != nil {
		s.e.fail("stub %s: %v", s.name, err)
		return nil
	}
	var errs diag.List
	p := stub.ParsePattern(decode.New("seam.Match", &errs), &n, "match")
	if err := errs.Err(); err != nil {
		s.e.fail("stub %s: %s", s.name, strings.ReplaceAll(err.Error(), "seam.Match: ", "seam.Match "))
		return nil
	}
	return p
}

// checkUnmatched fails t when a stub received requests no mapping matched
// while t ran, naming each with its closest mapping.
func (e *Env) checkUnmatched() {
	for _, svc := range e.sys.System.Services {
		inst, err := e.env.Instance(svc.Name)
		if err != nil {
			continue
		}
		if c, ok := inst.(service.Checker); ok {
			if err := c.CheckTest(e.start); err != nil {
				e.report(fmt.Sprintf("seam: stub %s: %v", svc.Name, err), false)
			}
		}
	}
}
