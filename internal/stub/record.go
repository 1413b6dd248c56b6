package stub

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// Recorder is a proxy to a real service that turns the traffic through it
// into mappings: one per distinct request (method, URL and body) with the
// answer the service gave; a request repeated with different answers
// becomes a scenario that steps through them in order, as WireMock's
// recorder does (repeatsAsScenarios), the last answer repeating.
//
// It passes traffic whole, streaming both bodies however large; it keeps
// at most keep bytes of each for the recording, and an exchange with a
// body over that is passed through but not recorded (Log says so).
type Recorder struct {
	target *url.URL
	client *http.Client
	keep   int64
	// Log, when set, hears of each exchange passed through but not
	// recorded, and why; it is called from the handlers' goroutines.
	Log func(msg string)
	// GRPC, when set before the first call, are the descriptors gRPC calls
	// are recorded with as JSON; else the target's reflection service is
	// asked for them (record_grpc.go).
	GRPC      *protoregistry.Files
	grpcOnce  sync.Once
	grpcTypes *grpcTypes
	h2        *http.Client // to the target over HTTP/2, for gRPC calls
	tickets   atomic.Uint64
	mu        sync.Mutex
	order     []*recordedRequest // in the order first seen
	byKey     map[string]*recordedRequest
	sawGRPC   bool
}

// recordedRequest is one distinct request and the answers it got, in the
// order the upstream gave them.
type recordedRequest struct {
	method, uri string
	body        []byte
	grpc        bool // a gRPC call: body is its message as JSON, or raw
	raw         bool // body is bytes to match as bytes
	answers     []ticketed
}

// ticketed is an answer with its place in the order of answers: taken
// when the upstream answered, since an exchange is recorded only after
// its client has the whole answer and may have sent its next request.
type ticketed struct {
	ticket uint64
	a      *recordedAnswer
}

type recordedAnswer struct {
	status  int
	headers []Header
	body    []byte
}

func (a *recordedAnswer) equal(b *recordedAnswer) bool {
	if a.status != b.status || !bytes.Equal(a.body, b.body) || len(a.headers) != len(b.headers) {
		return false
	}
	for i := range a.headers {
		if a.headers[i].Name != b.headers[i].Name || a.headers[i].Value != b.headers[i].Value {
			return false
		}
	}
	return true
}

// NewRecorder returns a recorder in front of target (http://host:port).
func NewRecorder(target string) (*Recorder, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q: want a URL like http://127.0.0.1:8080", target)
	}
	// The upstream sees exactly the client's headers and the client gets
	// the upstream's bytes: no Accept-Encoding added on the client's
	// behalf, nothing unzipped on the way back.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	return &Recorder{target: u, keep: maxBody, byKey: map[string]*recordedRequest{}, h2: h2cClient(),
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// keeper keeps the first limit bytes written to it and counts them all.
type keeper struct {
	buf   bytes.Buffer
	limit int64
	n     int64
	eof   bool // what it keeps a copy of was read to its end
}

func (k *keeper) Write(p []byte) (int, error) {
	if room := k.limit - int64(k.buf.Len()); room > 0 {
		k.buf.Write(p[:min(int64(len(p)), room)])
	}
	k.n += int64(len(p))
	return len(p), nil
}

// sentBody is a request body on its way upstream: it notes in k when it
// was read to its end, and closes done when the transport is through
// with it.
type sentBody struct {
	r    io.Reader
	k    *keeper
	once sync.Once
	done chan struct{}
}

func (b *sentBody) Read(p []byte) (int, error) {
	if b.k.eof {
		return 0, io.EOF // not read again: see ServeHTTP
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.k.eof = true
	}
	return n, err
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// whole reports whether every byte written was kept.
func (k *keeper) whole() bool { return k.n <= k.limit }

func (rc *Recorder) log(format string, args ...any) {
	if rc.Log != nil {
		rc.Log(fmt.Sprintf(format, args...))
	}
}

// ServeHTTP forwards the request to the target, streams the answer back
// and records the pair.
func (rc *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqKept := &keeper{limit: rc.keep}
	var body io.Reader = http.NoBody
	var sent *sentBody
	if r.ContentLength != 0 {
		var src io.Reader = r.Body
		if r.ContentLength > 0 {
			// The transport reads past the length to check there is no
			// more; r.Body, once the answer starts, is closed by the
			// server, and that read would fail the upstream exchange.
			src = io.LimitReader(r.Body, r.ContentLength)
		}
		sent = &sentBody{r: io.TeeReader(src, reqKept), k: reqKept, done: make(chan struct{})}
		body = sent
	}
	target := strings.TrimSuffix(rc.target.String(), "/") + r.URL.RequestURI()
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.ContentLength = r.ContentLength // -1: unknown, sent chunked as it came
	for k, vs := range r.Header {
		if !hopHeader(k) {
			out.Header[k] = vs
		}
	}
	client := rc.client
	grpcCall := r.ProtoMajor == 2 && isGRPC(r.Header.Get("Content-Type"))
	if grpcCall {
		// A gRPC server speaks HTTP/2 only, and wants to be told the
		// caller reads trailers (where the call's status comes).
		client = rc.h2
		out.Header.Set("Te", "trailers")
	}
	resp, err := client.Do(out)
	if err != nil {
		if grpcCall {
			grpcAnswer(w, grpcstatus.Unavailable, "seam stub record: "+err.Error())
			return
		}
		http.Error(w, "seam stub record: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	ticket := rc.tickets.Add(1)
	for k, vs := range resp.Header {
		if !hopHeader(k) {
			w.Header()[k] = vs
		}
	}
	if resp.ContentLength >= 0 && resp.StatusCode >= 200 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		// The length as the upstream sent it, so the client can tell a
		// whole answer from a cut one.
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	respKept := &keeper{limit: rc.keep}
	flush := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			respKept.Write(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				rc.log("%s %s: the client went away during the answer; not recorded", r.Method, r.URL.RequestURI())
				return
			}
			flush.Flush() // a streamed answer (events, long polls) goes out as it comes
		}
		if rerr == io.EOF {
			// Trailers (a gRPC call's status, a chunked answer's) are
			// known once the body is read, and pass on after it.
			for k, vs := range resp.Trailer {
				w.Header()[http.TrailerPrefix+k] = vs
			}
			break
		}
		if rerr != nil {
			// The client must not take a cut answer for a whole one: its
			// connection is broken, as the upstream's was.
			rc.log("%s %s: reading the answer: %v; not recorded", r.Method, r.URL.RequestURI(), rerr)
			panic(http.ErrAbortHandler)
		}
	}
	if sent != nil {
		// The transport sends the body on its own goroutine and closes it
		// when done, maybe after the answer came: what it kept is read
		// only after that.
		// Not the client's context: a client that read the whole answer
		// may close its connection before the transport is through, and
		// the exchange would go unrecorded. The transport closes the body
		// in any case (done, or its request cancelled with the client's).
		select {
		case <-sent.done:
		case <-time.After(10 * time.Second):
			rc.log("%s %s: passed through, not recorded: the request body was not done with", r.Method, r.URL.RequestURI())
			return
		}
	}
	if sent != nil && !reqKept.eof && reqKept.n != r.ContentLength {
		// An upstream may answer without reading the whole request: the
		// recording matches the request as the client sent it, if it
		// can still be read.
		_, cerr := io.CopyN(reqKept, r.Body, rc.keep+1)
		if (cerr != nil && cerr != io.EOF) || (r.ContentLength > 0 && reqKept.n < r.ContentLength) {
			rc.log("%s %s: passed through, not recorded: the upstream answered before reading the whole request body",
				r.Method, r.URL.RequestURI())
			return
		}
	}
	switch {
	case !reqKept.whole():
		rc.log("%s %s: passed through whole, not recorded: the request body (%d bytes) is over the %d bytes a recording keeps",
			r.Method, r.URL.RequestURI(), reqKept.n, rc.keep)
		return
	case !respKept.whole():
		rc.log("%s %s: passed through whole, not recorded: the answer's body (%d bytes) is over the %d bytes a recording keeps",
			r.Method, r.URL.RequestURI(), respKept.n, rc.keep)
		return
	}
	if grpcCall {
		rc.recordGRPC(r, reqKept.buf.Bytes(), resp, respKept.buf.Bytes(), ticket)
		return
	}
	reqBody := reqKept.buf.Bytes()
	// The stub matches a compressed body as what it holds: record that.
	if reqBody, err = decodeBody(r.Header.Get("Content-Encoding"), reqBody, rc.keep); err != nil {
		rc.log("%s %s: passed through whole, not recorded: the request body unzips to over the %d bytes a recording keeps",
			r.Method, r.URL.RequestURI(), rc.keep)
		return
	}
	a := recordedAnswer{status: resp.StatusCode, body: respKept.buf.Bytes()}
	var names []string
	for k := range resp.Header {
		if recordedHeader(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			a.headers = append(a.headers, Header{Name: k, Value: v})
		}
	}
	rc.record(r.Method, r.URL.RequestURI(), reqBody, ticket, a)
}

// recordedHeaders are response headers worth replaying; the rest (Date,
// Server, …) change on every call or describe the connection.
func recordedHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Date", "Server", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding":
		return false
	}
	return true
}

func (rc *Recorder) record(method, uri string, body []byte, ticket uint64, a recordedAnswer) {
	rc.recordRequest(&recordedRequest{method: method, uri: uri, body: body}, ticket, a)
}

// recordCall records a gRPC call: body is its message as JSON, or when
// raw its bytes.
func (rc *Recorder) recordCall(method, uri string, body []byte, raw bool, ticket uint64, a recordedAnswer) {
	rc.recordRequest(&recordedRequest{method: method, uri: uri, body: body, grpc: true, raw: raw}, ticket, a)
}

func (rc *Recorder) recordRequest(req *recordedRequest, ticket uint64, a recordedAnswer) {
	key := req.method + " " + req.uri + "\x00" + strconv.FormatBool(req.raw) + "\x00" + string(req.body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rr := rc.byKey[key]
	if rr == nil {
		rr = req
		rc.byKey[key] = rr
		rc.order = append(rc.order, rr)
	}
	i := sort.Search(len(rr.answers), func(i int) bool { return rr.answers[i].ticket > ticket })
	ap := &a
	// A repeated answer shares its neighbour's copy: a request polled a
	// thousand times costs a thousand tickets, not a thousand bodies.
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(rr.answers) && rr.answers[j].a.equal(&a) {
			ap = rr.answers[j].a
			break
		}
	}
	rr.answers = slices.Insert(rr.answers, i, ticketed{ticket: ticket, a: ap})
}

// steps is the request's answers in order with the repeats of the last
// dropped (it repeats anyway), or one answer when all were the same.
func (rr *recordedRequest) steps() []*recordedAnswer {
	var out []*recordedAnswer
	for _, t := range rr.answers {
		out = append(out, t.a)
	}
	for len(out) > 1 && out[len(out)-2].equal(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return out
}

// Mappings returns what was recorded, in the order first seen: a request
// that always got the same answer is one mapping; one that got different
// answers is a scenario of one mapping per answer, in order, the last
// repeating.
func (rc *Recorder) Mappings() []*Mapping {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*Mapping
	scenarios := 0
	for _, rr := range rc.order {
		steps := rr.steps()
		if len(steps) == 1 {
			out = append(out, rr.mapping(steps[0]))
			continue
		}
		scenarios++
		name := fmt.Sprintf("scenario-%d-%s", scenarios, slug(rr.uri))
		state := func(i int) string {
			if i == 0 {
				return ScenarioStarted
			}
			return fmt.Sprintf("%s-%d", name, i+1)
		}
		for i, a := range steps {
			m := rr.mapping(a)
			m.Scenario, m.RequiredState = name, state(i)
			if i < len(steps)-1 {
				m.NewState = state(i + 1)
			}
			out = append(out, m)
		}
	}
	return out
}

// mapping is the request with one of its answers.
func (rr *recordedRequest) mapping(a *recordedAnswer) *Mapping {
	m := &Mapping{Request: Pattern{Method: rr.method, URL: URLMatch{Kind: "url", Value: rr.uri}}, recordedGRPC: rr.grpc}
	if b := rr.body; len(b) > 0 {
		if rr.raw {
			m.Request.Body = []Matcher{binaryEqualTo{want: b}}
		} else if v, err := decodeExact(b); err == nil {
			m.Request.Body = []Matcher{equalToJSON{want: v, src: compactJSON(string(b))}}
		} else if isText(b) {
			m.Request.Body = []Matcher{equalTo{want: string(b)}}
		} else {
			// Bytes that are not text are compared as bytes: an equalTo
			// would carry them through JSON or YAML mangled.
			m.Request.Body = []Matcher{binaryEqualTo{want: b}}
		}
	}
	m.Response.Status = a.status
	m.Response.Headers = append([]Header(nil), a.headers...)
	m.Response.Body = a.body
	return m
}

// slug is a path as a name: letters and digits, runs of others one dash.
func slug(uri string) string {
	p, _, _ := strings.Cut(uri, "?")
	s := strings.ToLower(strings.Trim(unsafeName.ReplaceAllString(p, "-"), "-"))
	if s == "" {
		s = "root"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// fileName is a readable, unique-enough name for a recorded mapping.
func fileName(i int, m *Mapping) string {
	return fmt.Sprintf("%03d-%s-%s", i+1, strings.ToLower(m.Request.Method), slug(m.Request.URL.Value))
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
		x := m.WireMock()
		if m.ID == "" {
			// WireMock wants an id: an empty one fails its loading.
			id := randomUUID()
			x["id"], x["uuid"] = id, id
		}
		b, err := json.MarshalIndent(x, "", "  ")
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
	method := m.Request.Method
	if m.recordedGRPC {
		method = "GRPC"
	}
	add("when", method+" "+m.Request.URL.Value)
	if len(m.Request.Body) > 0 {
		// Through JSON: a number in an equalToJson (a json.Number) would
		// be written as a string, and no longer match what it was.
		b, err := json.Marshal(m.Request.Body[0].wm())
		var vn yaml.Node
		if err == nil {
			err = yaml.Unmarshal(b, &vn)
		}
		if err != nil || len(vn.Content) != 1 {
			return nil, fmt.Errorf("the request body as YAML: %v", err)
		}
		blockStyle(vn.Content[0])
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "body"}, vn.Content[0])
	}
	if m.Scenario != "" {
		sc := map[string]string{"name": m.Scenario}
		if m.RequiredState != "" {
			sc["state"] = m.RequiredState
		}
		if m.NewState != "" {
			sc["next"] = m.NewState
		}
		add("scenario", sc)
	}
	then := &yaml.Node{Kind: yaml.MappingNode}
	addThen := func(k string, v any) {
		var vn yaml.Node
		encode(&vn, v)
		then.Content = append(then.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
	}
	headers := m.Response.Headers
	if m.recordedGRPC {
		// A call's status is written as seam's form says it: grpc:.
		g := &yaml.Node{Kind: yaml.MappingNode}
		headers = nil
		for _, x := range m.Response.Headers {
			switch x.Name {
			case grpcStatusName:
				g.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "code"}, {Kind: yaml.ScalarNode, Value: x.Value}}, g.Content...)
			case grpcStatusReason:
				g.Content = append(g.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "message"}, &yaml.Node{Kind: yaml.ScalarNode, Value: x.Value, Tag: "!!str"})
			default:
				headers = append(headers, x)
			}
		}
		if len(g.Content) > 0 {
			then.Content = append(then.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "grpc"}, g)
		}
	} else {
		addThen("status", m.Response.Status)
	}
	if len(headers) > 0 {
		h := &yaml.Node{Kind: yaml.MappingNode}
		for _, x := range headers {
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

// blockStyle clears the flow style JSON read as YAML has, so the node is
// written as YAML's blocks; scalars keep their tags, and are quoted again
// only where a plain one would read differently.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
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

// randomUUID is a fresh random (version 4) UUID.
func randomUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on the systems Go supports
	}
	return uuidOf(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:]))
}
