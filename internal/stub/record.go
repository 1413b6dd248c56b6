package stub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"
)

// Recorder is a proxy to a real service that turns the traffic through it
// into mappings: one per distinct request (method, URL and body), with the
// first response the service gave to it.
type Recorder struct {
	target *url.URL
	client *http.Client
	mu     sync.Mutex
	seen   map[string]bool
	ms     []*Mapping
}

// NewRecorder returns a recorder in front of target (http://host:port).
func NewRecorder(target string) (*Recorder, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q: want a URL like http://127.0.0.1:8080", target)
	}
	return &Recorder{target: u, seen: map[string]bool{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// ServeHTTP forwards the request to the target, relays the answer and
// records the pair.
func (rc *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "seam stub record: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	target := strings.TrimSuffix(rc.target.String(), "/") + r.URL.RequestURI()
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		if !hopHeader(k) {
			out.Header[k] = vs
		}
	}
	resp, err := rc.client.Do(out)
	if err != nil {
		http.Error(w, "seam stub record: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rbody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		http.Error(w, "seam stub record: reading the response: "+err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range resp.Header {
		if !hopHeader(k) {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(rbody)
	rc.record(r.Method, r.URL.RequestURI(), body, resp, rbody)
}

// recordedHeaders are response headers worth replaying; the rest (Date,
// Server, …) change on every call or describe the connection.
func recordedHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Date", "Server", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Set-Cookie":
		return false
	}
	return true
}

func (rc *Recorder) record(method, uri string, body []byte, resp *http.Response, rbody []byte) {
	key := method + " " + uri + "\x00" + string(body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.seen[key] {
		return
	}
	rc.seen[key] = true
	m := &Mapping{Request: Pattern{Method: method, URL: URLMatch{Kind: "url", Value: uri}}}
	if len(body) > 0 {
		var v any
		if json.Unmarshal(body, &v) == nil {
			m.Request.Body = []Matcher{equalToJSON{want: v, src: compactJSON(string(body))}}
		} else {
			m.Request.Body = []Matcher{equalTo{want: string(body)}}
		}
	}
	m.Response.Status = resp.StatusCode
	var names []string
	for k := range resp.Header {
		if recordedHeader(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			m.Response.Headers = append(m.Response.Headers, Header{Name: k, Value: v})
		}
	}
	m.Response.Body = rbody
	rc.ms = append(rc.ms, m)
}

// Mappings returns what was recorded, in the order first seen.
func (rc *Recorder) Mappings() []*Mapping {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*Mapping(nil), rc.ms...)
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// fileName is a readable, unique-enough name for a recorded mapping.
func fileName(i int, m *Mapping) string {
	p, _, _ := strings.Cut(m.Request.URL.Value, "?")
	slug := strings.Trim(unsafeName.ReplaceAllString(p, "-"), "-")
	if slug == "" {
		slug = "root"
	}
	if len(slug) > 60 {
		slug = slug[:60]
	}
	return fmt.Sprintf("%03d-%s-%s", i+1, strings.ToLower(m.Request.Method), slug)
}

// WriteWireMock writes mappings as WireMock files under dir/mappings. It
// never overwrites a file: a name taken gets a suffix. It returns the
// files written.
func WriteWireMock(dir string, ms []*Mapping) ([]string, error) {
	mdir := filepath.Join(dir, "mappings")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for i, m := range ms {
		b, err := json.MarshalIndent(m.WireMock(), "", "  ")
		if err != nil {
			return out, err
		}
		p, err := create(mdir, fileName(i, m), ".json", append(b, '\n'))
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// WriteRoutes writes mappings in seam's own form, as a routes file that a
// stub service's mappings: can name. It never overwrites a file.
func WriteRoutes(dir string, ms []*Mapping) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var routes []any
	for _, m := range ms {
		r, err := routeYAML(m)
		if err != nil {
			return "", fmt.Errorf("writing %s as a route: %w", m.Label(), err)
		}
		routes = append(routes, r)
	}
	b, err := yaml.Marshal(map[string]any{"routes": routes})
	if err != nil {
		return "", err
	}
	header := "# Recorded by seam stub record; use with a stub service: stub: {mappings: <this file>}\n"
	return create(dir, "routes", ".yaml", append([]byte(header), b...))
}

// routeYAML is a recorded mapping in seam's form, as a node so keys keep
// their order.
func routeYAML(m *Mapping) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	var encErr error
	encode := func(vn *yaml.Node, v any) {
		if err := vn.Encode(v); err != nil && encErr == nil {
			encErr = err
		}
	}
	add := func(k string, v any) {
		var vn yaml.Node
		encode(&vn, v)
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
	}
	add("when", m.Request.Method+" "+m.Request.URL.Value)
	if len(m.Request.Body) > 0 {
		add("body", m.Request.Body[0].wm())
	}
	then := &yaml.Node{Kind: yaml.MappingNode}
	addThen := func(k string, v any) {
		var vn yaml.Node
		encode(&vn, v)
		then.Content = append(then.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
	}
	addThen("status", m.Response.Status)
	if len(m.Response.Headers) > 0 {
		h := &yaml.Node{Kind: yaml.MappingNode}
		for _, x := range m.Response.Headers {
			h.Content = append(h.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: x.Name}, &yaml.Node{Kind: yaml.ScalarNode, Value: x.Value, Tag: "!!str"})
		}
		then.Content = append(then.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "headers"}, h)
	}
	// JSON bodies are kept as text: played back byte for byte, key order
	// and spacing included.
	switch b := m.Response.Body; {
	case len(b) == 0:
	case isText(b):
		addThen("body", string(b))
	default:
		addThen("base64", base64.StdEncoding.EncodeToString(b))
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "then"}, then)
	return n, encErr
}

// create writes a new file named base+ext in dir, or base-2+ext, … when
// the name is taken: a recording never overwrites the user's files.
func create(dir, base, ext string, data []byte) (string, error) {
	for i := 1; i < 10000; i++ {
		name := base + ext
		if i > 1 {
			name = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		p := filepath.Join(dir, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return "", err
		}
		return p, f.Close()
	}
	return "", fmt.Errorf("%s: no free file name for %s%s", dir, base, ext)
}
