// Package stub is seam's HTTP stub server (service virtualization): it
// answers requests from mappings written in WireMock's JSON or seam's own
// form, keeps a bounded journal of what it was sent for verification, and
// speaks WireMock's admin API so WireMock's clients can drive it.
package stub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/mask"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"
)

// Options configure a Server.
type Options struct {
	// Crash receives panics of the goroutine serving (nil: they end the
	// process).
	Crash      *crash.Handler
	JournalCap int // requests kept in the journal; 0: DefaultJournalCap, <0: none
	// JournalBytes bounds the journal's size in bytes (bodies, URLs,
	// headers); 0: DefaultJournalBytes, <0: no byte limit.
	JournalBytes int64
	// JournalBody is the most bytes of one body the journal keeps; a
	// longer body is kept truncated with its size noted. 0:
	// DefaultJournalBody, <0: whole bodies.
	JournalBody int
	FilesDir    string // where bodyFileName files are (WireMock's __files)
	Seed        int64  // seeds random delays and template values
	// MaxBody is the largest request body served, in bytes (after
	// decompression); a larger one is answered 413. 0: DefaultMaxBody.
	MaxBody int64
	// OnRequest, when set, hears of every request served, after matching.
	OnRequest func(e *Entry)
	// AdminToken, when set, is the token the admin API wants (see
	// internal/token); Mask, when set, masks the journal's listings.
	AdminToken string
	Mask       *mask.Masker
	// GRPC are the gRPC services whose calls the stub reads and answers
	// as JSON (see serveGRPC); nil: calls are matched and answered as
	// bytes.
	GRPC *protoregistry.Files
}

// DefaultJournalCap is how many requests a journal keeps by default.
const DefaultJournalCap = 10000

// DefaultJournalBytes is how many bytes of requests a journal keeps by
// default: the oldest are dropped beyond it.
const DefaultJournalBytes = 128 << 20

// DefaultJournalBody is how much of one request body a journal keeps by
// default.
const DefaultJournalBody = 1 << 20

// maxBody caps what the stub reads of anything else (admin requests,
// proxied answers, multipart parts).
const maxBody = 16 << 20

// DefaultMaxBody is the largest request body a stub serves by default.
const DefaultMaxBody = 16 << 20

// Server is a running set of mappings; it is an http.Handler serving stubs
// and, under /__admin/, WireMock's admin API.
type Server struct {
	opts     Options
	cat      atomic.Pointer[catalog]
	mu       sync.Mutex // serialises changes to the mappings
	seq      uint64
	scenMu   sync.Mutex // held across choosing a mapping and moving its scenario
	states   map[string]string
	baseline []*Mapping // what a mappings reset goes back to
	journal  *journal
	// unmatched counts requests no mapping matched, apart from the
	// bounded journal.
	unmatched unmatchedLog
	rnd       *lockedRand
	client    *http.Client
	salt      [2]uint64
	ids       atomic.Uint64
	grpc      *grpcTypes // nil without descriptors
}

// New returns a server with no mappings.
func New(opts Options) *Server {
	if opts.JournalCap == 0 {
		opts.JournalCap = DefaultJournalCap
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.JournalBytes == 0 {
		opts.JournalBytes = DefaultJournalBytes
	}
	if opts.JournalBody == 0 {
		opts.JournalBody = DefaultJournalBody
	}
	s := &Server{
		opts:    opts,
		states:  map[string]string{},
		journal: newJournal(opts.JournalCap, max(opts.JournalBytes, 0), opts.JournalBody),
		rnd:     newLockedRand(opts.Seed),
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	s.salt = [2]uint64{s.rnd.r.Uint64(), s.rnd.r.Uint64()}
	s.grpc = newGRPCTypes(opts.GRPC)
	s.cat.Store(newCatalog(nil))
	return s
}

// Add adds mappings; among mappings that match a request equally, the one
// added last wins.
func (s *Server) Add(ms ...*Mapping) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append([]*Mapping(nil), s.cat.Load().all...)
	for _, m := range ms {
		// A copy: the same loaded mappings serve many servers (one per
		// environment), each numbering its own.
		c := *m
		s.seq++
		c.seq = s.seq
		if c.ID == "" {
			c.ID = s.uuid()
		}
		all = append(all, &c)
	}
	s.cat.Store(newCatalog(all))
}

// Mappings returns the mappings in the order they were added.
func (s *Server) Mappings() []*Mapping {
	return append([]*Mapping(nil), s.cat.Load().all...)
}

// Remove removes the mapping with id; it reports whether there was one.
func (s *Server) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []*Mapping
	found := false
	for _, m := range s.cat.Load().all {
		if m.ID == id {
			found = true
			continue
		}
		keep = append(keep, m)
	}
	s.cat.Store(newCatalog(keep))
	return found
}

// Replace puts m in place of the mapping with m.ID, keeping its rank.
func (s *Server) Replace(m *Mapping) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append([]*Mapping(nil), s.cat.Load().all...)
	for i, old := range all {
		if old.ID == m.ID {
			m.seq = old.seq
			all[i] = m
			s.cat.Store(newCatalog(all))
			return true
		}
	}
	return false
}

// ResetMappings removes every mapping.
func (s *Server) ResetMappings() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.Store(newCatalog(nil))
}

// ResetScenarios puts every scenario back in its first state.
func (s *Server) ResetScenarios() {
	s.scenMu.Lock()
	defer s.scenMu.Unlock()
	clear(s.states)
}

// Journal is the server's record of requests.
func (s *Server) Journal() *Journal { return &Journal{j: s.journal} }

// Scenario states, by scenario name; scenarios never entered are in
// their first state, "Started".
func (s *Server) Scenarios() map[string]string {
	out := map[string]string{}
	for _, m := range s.cat.Load().all {
		if m.Scenario != "" {
			out[m.Scenario] = ScenarioStarted
		}
	}
	s.scenMu.Lock()
	defer s.scenMu.Unlock()
	for k, v := range s.states {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return out
}

// SetScenario moves a scenario to a state.
func (s *Server) SetScenario(name, state string) {
	s.scenMu.Lock()
	defer s.scenMu.Unlock()
	s.states[name] = state
}

// ScenarioStarted is the state every scenario starts in.
const ScenarioStarted = "Started"

func (s *Server) state(name string) string {
	if st, ok := s.states[name]; ok {
		return st
	}
	return ScenarioStarted
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	var body []byte
	limit := s.opts.MaxBody
	if r.ContentLength > limit {
		http.Error(w, tooLarge(limit), http.StatusRequestEntityTooLarge)
		return
	}
	if r.ContentLength != 0 || r.Body != http.NoBody {
		var err error
		body, err = readLimited(r.Body, limit)
		if err == nil {
			body, err = decodeBody(r.Header.Get("Content-Encoding"), body, limit)
		}
		if errors.Is(err, errTooLarge) {
			http.Error(w, tooLarge(limit), http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "seam stub: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	req := NewRequest(r, body)
	m, params := s.handle(req)
	if m == nil {
		s.notFound(w, req)
		return
	}
	s.writeHTTP(w, r, s.reply(req, m, params, r.Host))
}

// handle gives req its ID, chooses its mapping (moving a scenario), and
// records it in the journal before any answer goes out.
func (s *Server) handle(req *Request) (*Mapping, map[string]string) {
	req.idBits = s.nextID()
	c := s.cat.Load()
	var m *Mapping
	if c.scenarios {
		// Choosing and moving the scenario is one step, so two concurrent
		// requests never both see the same state.
		s.scenMu.Lock()
		m = c.find(req, s.state)
		if m != nil && m.Scenario != "" && m.NewState != "" {
			s.states[m.Scenario] = m.NewState
		}
		s.scenMu.Unlock()
	} else {
		m = c.find(req, nil)
	}
	// The journal hears of the request before the client gets its answer,
	// so a verification right after the response always sees it.
	e := s.journal.add(req, m)
	if m == nil {
		s.unmatched.add(e)
	}
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(e)
	}
	if m == nil {
		return nil, nil
	}
	var params map[string]string
	if m.Request.URL.Kind == "urlPathTemplate" {
		_, params = m.Request.URL.Match(req)
	}
	return m, params
}

// notFound answers a request no mapping matched, with the closest ones.
func (s *Server) notFound(w http.ResponseWriter, req *Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write(s.notFoundText(req))
}

func (s *Server) notFoundText(req *Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "seam stub: no mapping matched %s %s\n", req.Method, req.URL)
	for _, nm := range s.NearMisses(req, 3) {
		fmt.Fprintf(&b, "\nclosest: %s\n", nm.Mapping.Label())
		for _, d := range nm.Diff {
			fmt.Fprintf(&b, "  - %s\n", d)
		}
	}
	return b.Bytes()
}

// proxy forwards the request to base and takes its answer as the reply.
func (s *Server) proxy(rp *reply, req *Request, base string) {
	bad := func(err error) {
		rp.status, rp.body = http.StatusBadGateway, []byte("seam stub: proxy to "+base+": "+err.Error())
		rp.header = []Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), proxyTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, req.Method, strings.TrimSuffix(base, "/")+req.URL, bytes.NewReader(req.Body))
	if err != nil {
		bad(err)
		return
	}
	for k, vs := range req.Header() {
		if !hopHeader(k) {
			out.Header[k] = vs
		}
	}
	resp, err := s.client.Do(out)
	if err != nil {
		bad(err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		bad(err)
		return
	}
	rp.status, rp.body = resp.StatusCode, body
	for k, vs := range resp.Header {
		if !hopHeader(k) {
			for _, v := range vs {
				rp.header = append(rp.header, Header{Name: k, Value: v})
			}
		}
	}
}

// proxyTimeout bounds a proxied request.
const proxyTimeout = 60 * time.Second

func hopHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length":
		return true
	}
	return false
}

// nextID draws the bits of a request's id: a counter mixed with the
// server's seeded salt (splitmix64), without a lock.
func (s *Server) nextID() [2]uint64 {
	n := s.ids.Add(1)
	return [2]uint64{mix(s.salt[0] + n), mix(s.salt[1] ^ n)}
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uuid is a random (version 4) UUID from the server's seeded source.
func (s *Server) uuid() string {
	s.rnd.mu.Lock()
	v, w := s.rnd.r.Uint64(), s.rnd.r.Uint64()
	s.rnd.mu.Unlock()
	return uuidOf(v, w)
}

// NearMiss is a mapping close to a request, with what did not match.
type NearMiss struct {
	Mapping *Mapping
	Diff    []string
}

// NearMisses returns up to n mappings closest to req, closest first.
func (s *Server) NearMisses(req *Request, n int) []NearMiss {
	var out []NearMiss
	for _, m := range s.cat.Load().all {
		d := m.Request.Diff(req)
		if m.RequiredState != "" {
			s.scenMu.Lock()
			st := s.state(m.Scenario)
			s.scenMu.Unlock()
			if st != m.RequiredState {
				d = append(d, fmt.Sprintf("scenario %s: want state %q, is %q", m.Scenario, m.RequiredState, st))
			}
		}
		out = append(out, NearMiss{Mapping: m, Diff: d})
	}
	sortNear(out, req)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// since is the journal's entries from t on.
func (s *Server) since(t time.Time) []*Entry { return s.journal.since(t) }
