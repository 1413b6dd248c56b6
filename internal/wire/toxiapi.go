package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/seamtest/seam/internal/crash"
)

// ToxiAPI speaks toxiproxy-server v2.12.0's HTTP API (proxies, toxics,
// /populate, /reset, /version) over an environment's edges, so Toxiproxy's
// own clients and scripts can drive seam's wire, and answers as it does:
// same routes, statuses, error texts and JSON shapes. Each edge is a proxy
// named like the edge ("orders→inventory"; "orders->inventory" works too);
// clients may create more proxies of their own. Toxics act per stream and
// per connection as Toxiproxy's do (toxics.go); what still differs is listed
// in ToxiproxyDifferences.
type ToxiAPI struct {
	edges func() []*Proxy // the environment's, declared by the suite
	seed  uint64          // the run's: toxicity rolls and jitter
	mu    sync.Mutex
	own   map[string]*Proxy // created through the API
	tox   map[string][]Toxic
	off   map[string]bool // disabled proxies
	next  uint64          // toxic ids and generations
	// Crash receives panics on the goroutines of proxies the API creates
	// (nil: they end the process). Set it before serving the API.
	Crash *crash.Handler
}

// ToxiproxyDifferences lists, for the docs, every way seam's wire answers
// differently from toxiproxy-server v2.12.0, one sentence each; a test
// keeps the README's list (between its toxiproxy-differences marks) equal
// to it.
func ToxiproxyDifferences() []string {
	return []string{
		"A suite's edges cannot be deleted (403) nor moved to another listen or upstream address (403): they live as long as the environment.",
		"Proxies listen on loopback only: a listen address of 0.0.0.0, :: or no host is taken as 127.0.0.1 with the same port, and none at all as 127.0.0.1:0.",
		"`/version` answers `{\"version\": \"2.12.0\"}` (a toxiproxy-server built from source says `git`).",
		"A half-closed connection stays half-closed (Toxiproxy closes both ways when one side stops sending).",
		"A `slicer` toxic with `average_size` 0 slices down to single bytes (Toxiproxy's recursion never ends).",
		"Toxicity rolls, jitter and slicer sizes are drawn per connection and toxic from the run's seed, so `--seed` replays them; Toxiproxy draws them from one process-wide source (its `-seed`), in whatever order connections come.",
		"`/metrics` (served by toxiproxy-server run with `-proxy-metrics` or `-runtime-metrics`) is not served.",
	}
}

// NewToxiAPI serves Toxiproxy's API over the proxies edges returns; seed
// is the run's.
func NewToxiAPI(edges func() []*Proxy, seed uint64) *ToxiAPI {
	return &ToxiAPI{edges: edges, seed: seed, own: map[string]*Proxy{}, tox: map[string][]Toxic{}, off: map[string]bool{}}
}

// Close stops the proxies created through the API.
func (a *ToxiAPI) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.own {
		p.Close()
	}
	a.own = map[string]*Proxy{}
}

func canonicalName(n string) string { return strings.ReplaceAll(n, "->", "→") }

// proxy finds a proxy by name; the caller holds a.mu.
func (a *ToxiAPI) proxy(name string) *Proxy {
	name = canonicalName(name)
	if p, ok := a.own[name]; ok {
		return p
	}
	for _, p := range a.edges() {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// proxyOut is a proxy as Toxiproxy shows it, fields in its order.
type proxyOut struct {
	Name     string     `json:"name"`
	Listen   string     `json:"listen"`
	Upstream string     `json:"upstream"`
	Enabled  bool       `json:"enabled"`
	Toxics   []toxicOut `json:"toxics"`
}

// toxicOut is a toxic as Toxiproxy shows it: every attribute of its type,
// 0 when not given.
type toxicOut struct {
	Attributes map[string]int64 `json:"attributes"`
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Stream     string           `json:"stream"`
	Toxicity   float32          `json:"toxicity"`
}

func showToxic(x Toxic) toxicOut {
	at := map[string]int64{}
	for _, k := range toxicAttrs[x.Type] {
		at[k] = x.Attributes[k]
	}
	return toxicOut{Attributes: at, Name: x.Name, Type: x.Type, Stream: x.Stream, Toxicity: x.Toxicity}
}

// toxics lists a proxy's toxics as Toxiproxy does: the upstream ones,
// then the downstream ones, each in the order they were added.
func (a *ToxiAPI) toxics(p *Proxy) []toxicOut {
	out := []toxicOut{}
	for _, up := range []bool{true, false} {
		for _, x := range a.tox[p.Name()] {
			if x.upstream() == up {
				out = append(out, showToxic(x))
			}
		}
	}
	return out
}

func (a *ToxiAPI) show(p *Proxy) proxyOut {
	return proxyOut{Name: p.Name(), Listen: p.Addr(), Upstream: p.target, Enabled: !a.off[p.Name()], Toxics: a.toxics(p)}
}

// apply puts a proxy's toxics and enabled state on it.
func (a *ToxiAPI) apply(p *Proxy) {
	var ts *Toxics
	if list := a.tox[p.Name()]; len(list) > 0 {
		ts = &Toxics{List: append([]Toxic(nil), list...), Seed: a.seed}
	}
	if ts != nil || p.toxics.Load() != nil {
		p.SetToxics(ts)
	}
	p.SetEnabled(!a.off[p.Name()])
}

// Reset takes every toxic off and enables every proxy, as POST /reset
// does. A test's end calls it: what a test set through the API (a
// toxic, a disabled proxy) is not the next test's, as its faults are not.
func (a *ToxiAPI) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resetLocked()
}

func (a *ToxiAPI) resetLocked() {
	for _, p := range a.all() {
		if len(a.tox[p.Name()]) > 0 || a.off[p.Name()] {
			delete(a.tox, p.Name())
			a.setEnabled(p, true)
		}
	}
}

// setEnabled enables or disables a proxy.
func (a *ToxiAPI) setEnabled(p *Proxy, on bool) {
	if on {
		delete(a.off, p.Name())
	} else {
		a.off[p.Name()] = true
	}
	a.apply(p)
}

func (a *ToxiAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if strings.HasPrefix(r.UserAgent(), "Mozilla/") {
		// As Toxiproxy: a web page must not drive the API from a browser.
		http.Error(w, "User agent not allowed", http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	for _, p := range parts {
		if p == "" {
			http.NotFound(w, r) // as gorilla/mux answers
			return
		}
	}
	method := func(allowed ...string) bool {
		for _, m := range allowed {
			if r.Method == m {
				return true
			}
		}
		w.WriteHeader(http.StatusMethodNotAllowed) // as gorilla/mux answers
		return false
	}
	switch {
	case r.URL.Path == "/version":
		if method(http.MethodGet) {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			fmt.Fprint(w, "{\"version\": \"2.12.0\"}\n")
		}
	case r.URL.Path == "/reset":
		if method(http.MethodPost) {
			a.resetLocked()
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/populate":
		if method(http.MethodPost) {
			a.populate(w, r)
		}
	case r.URL.Path == "/proxies":
		if !method(http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodGet {
			out := map[string]proxyOut{}
			for _, p := range a.all() {
				out[p.Name()] = a.show(p)
			}
			toxJSON(w, http.StatusOK, out)
			return
		}
		// Named as Toxiproxy's, for the same decoding errors.
		type Proxy proxyIn
		in := Proxy{Enabled: true}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		if in.Name == "" {
			toxError(w, http.StatusBadRequest, "missing required field: name")
			return
		}
		if in.Upstream == "" {
			toxError(w, http.StatusBadRequest, "missing required field: upstream")
			return
		}
		if a.proxy(in.Name) != nil {
			toxError(w, http.StatusConflict, "proxy already exists")
			return
		}
		p, err := a.create(proxyIn(in))
		if err != nil {
			toxError(w, http.StatusInternalServerError, err.Error())
			return
		}
		toxJSON(w, http.StatusCreated, a.show(p))
	case len(parts) >= 2 && len(parts) <= 4 && parts[0] == "proxies" && (len(parts) == 2 || parts[2] == "toxics"):
		allowed := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}
		if len(parts) == 3 {
			allowed = allowed[:2]
		}
		if !method(allowed...) {
			return
		}
		p := a.proxy(parts[1])
		if p == nil {
			toxError(w, http.StatusNotFound, "proxy not found")
			return
		}
		if len(parts) == 2 {
			a.proxyRoute(w, r, p)
			return
		}
		a.toxicRoute(w, r, p, parts[3:])
	default:
		http.NotFound(w, r) // as gorilla/mux answers
	}
}

// proxyIn is a proxy as a client sends it.
type proxyIn struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
}

// loopback keeps a listen address on loopback: seam's wire never listens
// beyond the machine.
func loopback(listen string) string {
	if listen == "" {
		return "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen // listening on it fails with Toxiproxy's error
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// create starts a proxy of the API's own; the caller holds a.mu.
func (a *ToxiAPI) create(in proxyIn) (*Proxy, error) {
	name := canonicalName(in.Name)
	p, err := listen(a.Crash, loopback(in.Listen), name, "", name, in.Upstream, nil)
	if err != nil {
		return nil, err
	}
	a.own[p.Name()] = p
	if !in.Enabled {
		a.setEnabled(p, false)
	}
	return p, nil
}

// differs reports whether in moves p to another address, as Toxiproxy
// compares them.
func differs(p *Proxy, in proxyIn) bool {
	l := loopback(in.Listen)
	if addr, err := net.ResolveTCPAddr("tcp", l); err == nil {
		l = addr.String()
	}
	return l != p.Addr() || in.Upstream != p.target
}

// replace moves a proxy of the API's own to in's address, keeping its
// toxics or not (/populate makes a new proxy); the caller holds a.mu.
func (a *ToxiAPI) replace(p *Proxy, in proxyIn, keep bool) (*Proxy, error) {
	name := p.Name()
	tox := a.tox[name]
	if !keep {
		tox = nil
	}
	p.Close()
	delete(a.own, name)
	delete(a.off, name)
	in.Name = name
	q, err := a.create(in)
	if err != nil {
		return nil, err
	}
	a.tox[name] = tox
	a.apply(q)
	return q, nil
}

func (a *ToxiAPI) populate(w http.ResponseWriter, r *http.Request) {
	var in []struct {
		proxyIn
		Enabled *bool `json:"enabled"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	for i := range in {
		switch {
		case in[i].Name == "":
			toxError(w, http.StatusBadRequest, fmt.Sprintf("missing required field: name at proxy %d", i+1))
			return
		case in[i].Upstream == "":
			toxError(w, http.StatusBadRequest, fmt.Sprintf("missing required field: upstream at proxy %d", i+1))
			return
		}
	}
	out := struct {
		Error   string     `json:"error,omitempty"`
		Status  int        `json:"status,omitempty"`
		Proxies []proxyOut `json:"proxies"`
	}{}
	fail := func(status int, msg string) {
		out.Error, out.Status = msg, status
		toxJSON(w, status, out)
	}
	for _, x := range in {
		x.proxyIn.Enabled = x.Enabled == nil || *x.Enabled
		p := a.proxy(x.Name)
		switch {
		case p != nil && !differs(p, x.proxyIn):
			// Toxiproxy keeps a proxy that is already as asked, enabled or not.
		case p != nil && a.own[p.Name()] == nil:
			fail(http.StatusForbidden, edgeFixed)
			return
		case p != nil:
			q, err := a.replace(p, x.proxyIn, false)
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			p = q
		default:
			q, err := a.create(x.proxyIn)
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			p = q
		}
		out.Proxies = append(out.Proxies, a.show(p))
	}
	toxJSON(w, http.StatusCreated, out)
}

const edgeFixed = "this proxy is an edge of the suite: it keeps its address and lives as long as the environment"

func (a *ToxiAPI) all() []*Proxy {
	ps := append([]*Proxy(nil), a.edges()...)
	for _, p := range a.own {
		ps = append(ps, p)
	}
	return ps
}

func (a *ToxiAPI) proxyRoute(w http.ResponseWriter, r *http.Request, p *Proxy) {
	switch r.Method {
	case http.MethodGet:
		toxJSON(w, http.StatusOK, a.show(p))
	case http.MethodPost, http.MethodPatch:
		type Proxy proxyIn // named as Toxiproxy's, for the same decoding errors
		in0 := Proxy{Listen: p.Addr(), Upstream: p.target, Enabled: !a.off[p.Name()]}
		err := json.NewDecoder(r.Body).Decode(&in0)
		in := proxyIn(in0)
		if err != nil {
			toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		if _, err := net.ResolveTCPAddr("tcp", in.Listen); err != nil {
			toxError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if differs(p, in) {
			if a.own[p.Name()] == nil {
				toxError(w, http.StatusForbidden, edgeFixed)
				return
			}
			q, err := a.replace(p, in, true)
			if err != nil {
				toxError(w, http.StatusInternalServerError, err.Error())
				return
			}
			toxJSON(w, http.StatusOK, a.show(q))
			return
		}
		a.setEnabled(p, in.Enabled)
		toxJSON(w, http.StatusOK, a.show(p))
	case http.MethodDelete:
		if _, ok := a.own[p.Name()]; !ok {
			toxError(w, http.StatusForbidden, edgeFixed)
			return
		}
		p.Close()
		delete(a.own, p.Name())
		delete(a.tox, p.Name())
		delete(a.off, p.Name())
		w.WriteHeader(http.StatusNoContent)
	}
}

// toxicIn is a toxic as a client sends it; attributes are read once the
// type is known.
type toxicIn struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Stream     string          `json:"stream"`
	Toxicity   float32         `json:"toxicity"`
	Attributes json.RawMessage `json:"attributes"`
}

// decodeToxic reads a new toxic as Toxiproxy does, with its checks in its
// order; the status and message of the first that fails.
func decodeToxic(body []byte, exists func(name string) bool) (Toxic, int, string) {
	type ToxicWrapper toxicIn // named as Toxiproxy's, for the same decoding errors
	in := ToxicWrapper{Stream: "downstream", Toxicity: 1}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		return Toxic{}, http.StatusBadRequest, "bad request body: " + err.Error()
	}
	if !strings.EqualFold(in.Stream, "upstream") && !strings.EqualFold(in.Stream, "downstream") {
		return Toxic{}, http.StatusBadRequest, "stream was invalid, can be either upstream or downstream"
	}
	if in.Name == "" {
		in.Name = in.Type + "_" + in.Stream
	}
	if _, ok := toxicAttrs[in.Type]; !ok {
		return Toxic{}, http.StatusBadRequest, "invalid toxic type"
	}
	if exists(in.Name) {
		return Toxic{}, http.StatusConflict, "toxic already exists"
	}
	x := Toxic{Name: in.Name, Type: in.Type, Stream: in.Stream, Toxicity: in.Toxicity, Attributes: map[string]int64{}}
	if err := decodeAttrs(x.Type, in.Attributes, x.Attributes); err != nil {
		return Toxic{}, http.StatusBadRequest, "bad request body: " + err.Error()
	}
	return x, 0, ""
}

// decodeAttrs reads a toxic's attributes into at (keeping what is not
// given), as Go's JSON decoder reads them into Toxiproxy's structs:
// unknown names and nulls are ignored, a value of another type is an
// error.
func decodeAttrs(typ string, raw json.RawMessage, at map[string]int64) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	for k, v := range fields {
		name := ""
		for _, n := range toxicAttrs[typ] {
			if strings.EqualFold(k, n) {
				name = n
			}
		}
		if name == "" || string(v) == "null" {
			continue
		}
		var n int64
		if err := json.Unmarshal(v, &n); err != nil {
			return fmt.Errorf("attributes.%s: %w", k, err)
		}
		at[name] = n
	}
	return nil
}

func (a *ToxiAPI) toxicRoute(w http.ResponseWriter, r *http.Request, p *Proxy, rest []string) {
	name := p.Name()
	find := func(n string) int {
		for i, x := range a.tox[name] {
			if x.Name == n {
				return i
			}
		}
		return -1
	}
	if len(rest) == 0 {
		if r.Method == http.MethodGet {
			toxJSON(w, http.StatusOK, a.toxics(p))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		x, status, msg := decodeToxic(body, func(n string) bool { return find(n) >= 0 })
		if status != 0 {
			toxError(w, status, msg)
			return
		}
		a.next++
		x.id, x.gen = a.next, a.next
		a.tox[name] = append(a.tox[name], x)
		a.apply(p)
		toxJSON(w, http.StatusOK, showToxic(x))
		return
	}
	i := find(rest[0])
	if i < 0 {
		toxError(w, http.StatusNotFound, "toxic not found")
		return
	}
	x := a.tox[name][i]
	switch r.Method {
	case http.MethodGet:
		toxJSON(w, http.StatusOK, showToxic(x))
	case http.MethodDelete:
		a.tox[name] = append(a.tox[name][:i:i], a.tox[name][i+1:]...)
		a.apply(p)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost, http.MethodPatch:
		in := struct {
			Attributes json.RawMessage `json:"attributes"`
			Toxicity   float32         `json:"toxicity"`
		}{Toxicity: x.Toxicity}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		at := map[string]int64{}
		for k, v := range x.Attributes {
			at[k] = v
		}
		if err := decodeAttrs(x.Type, in.Attributes, at); err != nil {
			toxError(w, http.StatusBadRequest, "bad request body: "+err.Error())
			return
		}
		x.Attributes, x.Toxicity = at, in.Toxicity
		a.next++
		x.gen = a.next // Toxiproxy restarts the toxic: toxicity is rolled again, timers start again
		a.tox[name][i] = x
		a.apply(p)
		toxJSON(w, http.StatusOK, showToxic(x))
	}
}

// toxJSON answers v as JSON; an encoding failure is an error answer, never
// a half-written body.
func toxJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		toxError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// toxError answers as Toxiproxy's apiError: a JSON body written through
// http.Error (so its content type is text/plain).
func toxError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": msg, "status": status})
	http.Error(w, string(b), status)
}
