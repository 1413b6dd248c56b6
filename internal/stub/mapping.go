package stub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seamtest/seam/internal/diag"
)

// DefaultPriority is the priority of a mapping that names none, as in
// WireMock (1 is the highest).
const DefaultPriority = 5

// Mapping is one stub: a request pattern and the response it gets.
type Mapping struct {
	ID       string
	Name     string
	Priority int
	Request  Pattern
	Response Response
	// Scenario state machine: the mapping matches only while Scenario is in
	// RequiredState (when set), and moves it to NewState (when set).
	Scenario      string
	RequiredState string
	NewState      string
	Pos           diag.Pos        // where it was written
	Raw           json.RawMessage // as written, in WireMock's JSON, for the admin API
	seq           uint64          // order of adding: later wins among equals
	recordedGRPC  bool            // recorded from a gRPC call: written back in seam's form as one
}

func (m *Mapping) priority() int {
	if m.Priority == 0 {
		return DefaultPriority
	}
	return m.Priority
}

// Label names the mapping for people: its name, else method and URL.
func (m *Mapping) Label() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Request.String()
}

// Request is a request as the stub sees it.
type Request struct {
	Time     time.Time
	Method   string
	URL      string // path and query, as sent
	Path     string
	RawQuery string
	Cookies  map[string][]string
	Body     []byte
	// BodySize is the body's size as sent when the journal kept Body
	// truncated; 0 otherwise.
	BodySize int

	queryOnce sync.Once
	query     url.Values

	headerOnce sync.Once
	header     http.Header
	rawHeader  []byte // the header block as sent, parsed on first use

	idBits [2]uint64
}

// Header is the request's header; names are canonical.
func (r *Request) Header() http.Header {
	r.headerOnce.Do(func() {
		if r.rawHeader != nil {
			tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(r.rawHeader, "\r\n"...))))
			h, _ := tp.ReadMIMEHeader()
			r.header = http.Header(h)
		}
		if r.header == nil {
			r.header = http.Header{}
		}
	})
	return r.header
}

// headerValues is Header()[name] without building the whole map: matching
// reads one or two headers of most requests, and parsing every header of
// every request into a map cost more than the rest of the match.
func (r *Request) headerValues(name string) ([]string, bool) {
	if r.rawHeader == nil || bytes.Contains(r.rawHeader, []byte("\n ")) || bytes.Contains(r.rawHeader, []byte("\n\t")) {
		// No raw block (a request made in Go), or one with folded lines,
		// which the full parser joins.
		vs, has := r.Header()[http.CanonicalHeaderKey(name)]
		return vs, has
	}
	var vs []string
	for rest := r.rawHeader; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		k, v, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(":"))
		if ok && len(k) == len(name) && strings.EqualFold(string(k), name) {
			vs = append(vs, string(bytes.Trim(v, " \t")))
		}
	}
	return vs, vs != nil
}

// truncated is a copy of r for the journal with the body cut to keep
// bytes and its size noted.
func (r *Request) truncated(keep int) *Request {
	return &Request{Time: r.Time, Method: r.Method, URL: r.URL, Path: r.Path, RawQuery: r.RawQuery,
		Cookies: r.Cookies, Body: append([]byte(nil), r.Body[:keep]...), BodySize: len(r.Body),
		header: r.header, rawHeader: r.rawHeader, idBits: r.idBits}
}

// ID is the request's id: a random-looking (version 4) UUID, made on first
// use from bits the server drew for it.
func (r *Request) ID() string { return uuidOf(r.idBits[0], r.idBits[1]) }

// uuidOf formats 128 random bits as a version 4 UUID.
func uuidOf(v, w uint64) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], v)
	binary.LittleEndian.PutUint64(b[8:], w)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Query is the request's query parameters, parsed on first use: most
// requests are never matched on them.
func (r *Request) Query() url.Values {
	r.queryOnce.Do(func() { r.query, _ = url.ParseQuery(r.RawQuery) })
	return r.query
}

// NewRequest reads what matching needs from r; body is the whole body.
func NewRequest(r *http.Request, body []byte) *Request {
	req := &Request{
		Time: time.Now(), Method: r.Method, URL: r.URL.RequestURI(), Path: r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery, header: r.Header, Body: body,
	}
	if _, ok := r.Header["Cookie"]; !ok {
		return req
	}
	for _, c := range r.Cookies() {
		if req.Cookies == nil {
			req.Cookies = map[string][]string{}
		}
		req.Cookies[c.Name] = append(req.Cookies[c.Name], c.Value)
	}
	return req
}

// URLMatch is how a pattern matches the URL. Kind is WireMock's key: url,
// urlPath, urlPattern, urlPathPattern or urlPathTemplate ("" matches any).
type URLMatch struct {
	Kind   string
	Value  string
	re     *regexp.Regexp
	prefix string   // what every match of re starts with: a cheap first test
	tmpl   []string // urlPathTemplate segments; "{name}" are parameters
}

// Match reports whether r's URL matches, and the path parameters of a
// template.
func (u *URLMatch) Match(r *Request) (bool, map[string]string) {
	switch u.Kind {
	case "":
		return true, nil
	case "url":
		return r.URL == u.Value, nil
	case "urlPath":
		return r.Path == u.Value, nil
	case "urlPattern":
		return strings.HasPrefix(r.URL, u.prefix) && u.re.MatchString(r.URL), nil
	case "urlPathPattern":
		// Unindexed mappings are tried on every request; most are told
		// apart by their literal start without running the regexp.
		return strings.HasPrefix(r.Path, u.prefix) && u.re.MatchString(r.Path), nil
	case "urlPathTemplate":
		return matchTemplate(u.tmpl, r.Path)
	}
	return false, nil
}

// exactPath is the one path this URL match accepts, if there is one: the
// key that indexes the mapping.
func (u *URLMatch) exactPath() (string, bool) {
	switch u.Kind {
	case "urlPath":
		return u.Value, true
	case "url":
		p, _, _ := strings.Cut(u.Value, "?")
		return p, true
	}
	return "", false
}

func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

func matchTemplate(tmpl []string, path string) (bool, map[string]string) {
	segs := splitPath(path)
	if len(segs) != len(tmpl) {
		return false, nil
	}
	var params map[string]string
	for i, t := range tmpl {
		if name, ok := templateParam(t); ok {
			if segs[i] == "" {
				return false, nil
			}
			if params == nil {
				params = map[string]string{}
			}
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				v = segs[i]
			}
			params[name] = v
			continue
		}
		if segs[i] != t {
			return false, nil
		}
	}
	return true, params
}

func templateParam(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// Named is a matcher of one named value (a header, a query parameter…).
type Named struct {
	Name string
	M    Matcher
}

// Pattern is what a request must look like to match.
type Pattern struct {
	Method     string // "" or ANY: any
	URL        URLMatch
	PathParams []Named
	Query      []Named
	Headers    []Named
	Cookies    []Named
	Body       []Matcher
	Multipart  []MultipartPattern
}

func (p *Pattern) String() string {
	m := p.Method
	if m == "" {
		m = "ANY"
	}
	u := p.URL.Value
	if p.URL.Kind == "" {
		u = "(any URL)"
	} else if p.URL.Kind != "url" && p.URL.Kind != "urlPath" {
		u = p.URL.Kind + " " + u
	}
	return m + " " + u
}

// Match reports whether r matches every part of p. It is the hot path of
// every request, so it stops at the first part that fails and builds no
// descriptions (Diff does that).
func (p *Pattern) Match(r *Request) bool {
	if p.Method != "" && p.Method != "ANY" && p.Method != r.Method {
		return false
	}
	ok, params := p.URL.Match(r)
	if !ok {
		return false
	}
	for _, pp := range p.PathParams {
		v, has := params[pp.Name]
		if !pp.M.Match(v, has) {
			return false
		}
	}
	for _, q := range p.Query {
		vs, has := r.Query()[q.Name]
		if !matchAny(q.M, vs, has) {
			return false
		}
	}
	for _, x := range p.Headers {
		vs, has := r.headerValues(x.Name)
		if !matchAny(x.M, vs, has) {
			return false
		}
	}
	for _, c := range p.Cookies {
		vs, has := r.Cookies[c.Name]
		if !matchAny(c.M, vs, has) {
			return false
		}
	}
	for _, b := range p.Body {
		if !b.Match(string(r.Body), true) {
			return false
		}
	}
	if len(p.Multipart) > 0 {
		parts, ok := multipartParts(r)
		if !ok {
			return false
		}
		for i := range p.Multipart {
			if !p.Multipart[i].Match(parts) {
				return false
			}
		}
	}
	return true
}

// Diff lists the parts of p that r does not match, in words.
func (p *Pattern) Diff(r *Request) []string {
	var out []string
	p.check(r, &out)
	return out
}

// check lists in diff every part of p that r does not match.
func (p *Pattern) check(r *Request, diff *[]string) bool {
	ok := true
	fail := func(format string, args ...any) bool {
		ok = false
		*diff = append(*diff, fmt.Sprintf(format, args...))
		return true
	}
	if p.Method != "" && p.Method != "ANY" && p.Method != r.Method {
		if !fail("method: want %s, got %s", p.Method, r.Method) {
			return false
		}
	}
	urlOK, params := p.URL.Match(r)
	if !urlOK {
		got := r.Path
		if p.URL.Kind == "url" || p.URL.Kind == "urlPattern" {
			got = r.URL
		}
		if !fail("%s: want %s, got %s", p.URL.Kind, clip(p.URL.Value), clip(got)) {
			return false
		}
	}
	for _, pp := range p.PathParams {
		v, has := params[pp.Name]
		if !pp.M.Match(v, has) && !fail("path parameter %s: want %s, got %s", pp.Name, clip(pp.M.String()), clip(shown(v, has))) {
			return false
		}
	}
	for _, q := range p.Query {
		vs, has := r.Query()[q.Name]
		if !matchAny(q.M, vs, has) && !fail("query parameter %s: want %s, got %s", q.Name, clip(q.M.String()), clip(shownAll(vs, has))) {
			return false
		}
	}
	for _, h := range p.Headers {
		vs, has := r.Header()[http.CanonicalHeaderKey(h.Name)]
		if !matchAny(h.M, vs, has) && !fail("header %s: want %s, got %s", h.Name, clip(h.M.String()), clip(shownAll(vs, has))) {
			return false
		}
	}
	for _, c := range p.Cookies {
		vs, has := r.Cookies[c.Name]
		if !matchAny(c.M, vs, has) && !fail("cookie %s: want %s, got %s", c.Name, clip(c.M.String()), clip(shownAll(vs, has))) {
			return false
		}
	}
	for _, b := range p.Body {
		if !b.Match(string(r.Body), true) && !fail("body: want %s, got %s", clip(b.String()), shownBody(r.Body)) {
			return false
		}
	}
	if len(p.Multipart) > 0 {
		parts, isMultipart := multipartParts(r)
		for i := range p.Multipart {
			mp := &p.Multipart[i]
			if !isMultipart {
				fail("body: want a multipart body (%s), got none", clip(mp.String()))
				break
			}
			if !mp.Match(parts) {
				fail("body: want %s", clip(mp.String()))
			}
		}
	}
	return ok
}

// matchAny: a multi-valued field matches when one of its values does.
func matchAny(m Matcher, vs []string, has bool) bool {
	if mm, ok := m.(multiMatcher); ok {
		return mm.MatchAll(vs, has && len(vs) > 0)
	}
	if !has || len(vs) == 0 {
		return m.Match("", false)
	}
	for _, v := range vs {
		if m.Match(v, true) {
			return true
		}
	}
	return false
}

func shown(v string, has bool) string {
	if !has {
		return "(absent)"
	}
	return fmt.Sprintf("%q", v)
}

func shownAll(vs []string, has bool) string {
	if !has || len(vs) == 0 {
		return "(absent)"
	}
	if len(vs) == 1 {
		return fmt.Sprintf("%q", vs[0])
	}
	return fmt.Sprintf("%q", vs)
}

// clipAt is how much of a wanted or received value a near miss shows.
const clipAt = 200

// clip shortens s for a message: its first clipAt bytes (whole UTF-8
// characters) and a marker saying how much was left out.
func clip(s string) string {
	if len(s) <= clipAt {
		return s
	}
	cut := diag.Prefix(s, clipAt)
	return fmt.Sprintf("%s…[%d more bytes]", cut, len(s)-len(cut))
}

// shownBody is a body for a message: quoted, cut with a marker past
// clipAt bytes, or (absent).
func shownBody(b []byte) string {
	if len(b) == 0 {
		return "(absent)"
	}
	if len(b) <= clipAt {
		return fmt.Sprintf("%q", b)
	}
	cut := clipAt
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…[%d more bytes]", b[:cut], len(b)-cut)
}

// catalog is an immutable set of mappings with its index; the server swaps
// in a new one on every change, so matching never takes a lock.
type catalog struct {
	all       []*Mapping                       // in the order added
	exact     map[string]map[string][]*Mapping // method ("*": any) → path → mappings, best first
	rest      []*Mapping                       // no exact path: patterns, templates, any URL; best first
	scenarios bool
}

func newCatalog(all []*Mapping) *catalog {
	c := &catalog{all: all, exact: map[string]map[string][]*Mapping{}}
	for _, m := range all {
		if m.Scenario != "" {
			c.scenarios = true
		}
		if p, ok := m.Request.URL.exactPath(); ok {
			method := m.Request.Method
			if method == "" || method == "ANY" {
				method = "*"
			}
			if c.exact[method] == nil {
				c.exact[method] = map[string][]*Mapping{}
			}
			c.exact[method][p] = append(c.exact[method][p], m)
			continue
		}
		c.rest = append(c.rest, m)
	}
	for _, byPath := range c.exact {
		for _, ms := range byPath {
			sortBest(ms)
		}
	}
	sortBest(c.rest)
	return c
}

// sortBest orders mappings as WireMock chooses among matches: priority
// (1 first), then the most recently added.
func sortBest(ms []*Mapping) {
	sort.SliceStable(ms, func(i, j int) bool { return better(ms[i], ms[j]) })
}

func better(a, b *Mapping) bool {
	if pa, pb := a.priority(), b.priority(); pa != pb {
		return pa < pb
	}
	return a.seq > b.seq
}

// find returns the best mapping r matches; state says what state a
// scenario is in.
func (c *catalog) find(r *Request, state func(string) string) *Mapping {
	var best *Mapping
	try := func(ms []*Mapping) {
		for _, m := range ms {
			if best != nil && !better(m, best) {
				return // the rest of this list ranks lower still
			}
			if c.matches(m, r, state) {
				best = m
				return
			}
		}
	}
	try(c.exact[r.Method][r.Path])
	try(c.exact["*"][r.Path])
	try(c.rest)
	return best
}

func (c *catalog) matches(m *Mapping, r *Request, state func(string) string) bool {
	if m.RequiredState != "" && state(m.Scenario) != m.RequiredState {
		return false
	}
	return m.Request.Match(r)
}
