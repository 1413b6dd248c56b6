package wire

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// ToxiAPI speaks Toxiproxy's HTTP API (proxies and toxics) over an
// environment's edges, so Toxiproxy's own clients and scripts can drive
// seam's wire. Each edge is a proxy named like the edge ("orders→inventory";
// "orders->inventory" works too); clients may create more proxies of their
// own. Toxics become the wire's faults: latency, bandwidth, limit_data,
// timeout and reset_peer, applied to every connection.
type ToxiAPI struct {
	edges func() []*Proxy // the environment's, declared by the suite
	mu    sync.Mutex
	own   map[string]*Proxy // created through the API
	tox   map[string]map[string]toxic
	off   map[string]bool // disabled proxies
}

type toxic struct {
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Stream     string           `json:"stream"`
	Toxicity   float64          `json:"toxicity"`
	Attributes map[string]int64 `json:"attributes"`
}

// NewToxiAPI serves Toxiproxy's API over the proxies edges returns.
func NewToxiAPI(edges func() []*Proxy) *ToxiAPI {
	return &ToxiAPI{edges: edges, own: map[string]*Proxy{}, tox: map[string]map[string]toxic{}, off: map[string]bool{}}
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

func (a *ToxiAPI) proxyJSON(p *Proxy) map[string]any {
	toxics := []toxic{}
	for _, t := range a.tox[p.Name()] {
		toxics = append(toxics, t)
	}
	sort.Slice(toxics, func(i, j int) bool { return toxics[i].Name < toxics[j].Name })
	return map[string]any{"name": p.Name(), "listen": p.Addr(), "upstream": p.target, "enabled": !a.off[p.Name()], "toxics": toxics}
}

// apply turns a proxy's toxics and enabled state into its faults.
func (a *ToxiAPI) apply(p *Proxy) {
	var f Faults
	if a.off[p.Name()] {
		f.Reset = true // disabled: every connection is refused (reset)
	}
	for _, t := range a.tox[p.Name()] {
		at := t.Attributes
		switch t.Type {
		case "latency":
			f.Latency += time.Duration(at["latency"]) * time.Millisecond
			f.Jitter += time.Duration(at["jitter"]) * time.Millisecond
		case "bandwidth":
			f.Bandwidth = at["rate"] * 1000 // KB/s
		case "limit_data":
			f.CloseAfter = at["bytes"]
		case "timeout":
			f.Blackhole = true
			f.CloseAfterTime = time.Duration(at["timeout"]) * time.Millisecond
		case "reset_peer":
			f.Reset = true
		}
	}
	if f.IsZero() {
		p.ClearFaults()
		return
	}
	p.SetFaults(f)
}

var supportedToxics = []string{"latency", "bandwidth", "limit_data", "timeout", "reset_peer"}

func (a *ToxiAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/version":
		fmt.Fprint(w, "2.5.0 (seam's wire)")
	case r.URL.Path == "/reset" && r.Method == http.MethodPost:
		for _, p := range a.all() {
			delete(a.tox, p.Name())
			delete(a.off, p.Name())
			a.apply(p)
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "proxies":
		switch r.Method {
		case http.MethodGet:
			out := map[string]any{}
			for _, p := range a.all() {
				out[p.Name()] = a.proxyJSON(p)
			}
			toxJSON(w, http.StatusOK, out)
		case http.MethodPost:
			var in struct {
				Name, Listen, Upstream string
				Enabled                *bool
			}
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" || in.Upstream == "" {
				toxError(w, http.StatusBadRequest, "want {name, listen, upstream}")
				return
			}
			if a.proxy(in.Name) != nil {
				toxError(w, http.StatusConflict, "proxy already exists")
				return
			}
			listen := in.Listen
			if listen == "" || strings.HasSuffix(listen, ":0") || listen == "localhost:0" {
				listen = "127.0.0.1:0"
			}
			p, err := ListenAt(listen, canonicalName(in.Name), in.Upstream, nil)
			if err != nil {
				toxError(w, http.StatusInternalServerError, err.Error())
				return
			}
			a.own[p.Name()] = p
			if in.Enabled != nil && !*in.Enabled {
				a.off[p.Name()] = true
				a.apply(p)
			}
			toxJSON(w, http.StatusCreated, a.proxyJSON(p))
		default:
			toxError(w, http.StatusMethodNotAllowed, r.Method+" /proxies")
		}
	case len(parts) >= 2 && parts[0] == "proxies":
		p := a.proxy(parts[1])
		if p == nil {
			toxError(w, http.StatusNotFound, "proxy not found")
			return
		}
		a.proxyRoute(w, r, p, parts[2:])
	default:
		toxError(w, http.StatusNotFound, "seam's wire speaks Toxiproxy's /version, /reset and /proxies endpoints")
	}
}

func (a *ToxiAPI) all() []*Proxy {
	ps := append([]*Proxy(nil), a.edges()...)
	for _, p := range a.own {
		ps = append(ps, p)
	}
	return ps
}

func (a *ToxiAPI) proxyRoute(w http.ResponseWriter, r *http.Request, p *Proxy, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		toxJSON(w, http.StatusOK, a.proxyJSON(p))
	case len(rest) == 0 && (r.Method == http.MethodPost || r.Method == http.MethodPatch):
		var in struct{ Enabled *bool }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			toxError(w, http.StatusBadRequest, err.Error())
			return
		}
		if in.Enabled != nil {
			a.off[p.Name()] = !*in.Enabled
			a.apply(p)
		}
		toxJSON(w, http.StatusOK, a.proxyJSON(p))
	case len(rest) == 0 && r.Method == http.MethodDelete:
		if _, ok := a.own[p.Name()]; !ok {
			toxError(w, http.StatusForbidden, "this proxy is an edge of the suite; it lives as long as the environment")
			return
		}
		p.Close()
		delete(a.own, p.Name())
		delete(a.tox, p.Name())
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && rest[0] == "toxics" && r.Method == http.MethodGet:
		toxJSON(w, http.StatusOK, a.proxyJSON(p)["toxics"])
	case len(rest) == 1 && rest[0] == "toxics" && r.Method == http.MethodPost:
		var t toxic
		t.Toxicity, t.Stream = 1, "downstream"
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
			toxError(w, http.StatusBadRequest, err.Error())
			return
		}
		if !contains(supportedToxics, t.Type) {
			toxError(w, http.StatusBadRequest, fmt.Sprintf("toxic type %q: seam's wire supports %s", t.Type, strings.Join(supportedToxics, ", ")))
			return
		}
		if t.Toxicity != 1 {
			toxError(w, http.StatusBadRequest, "seam applies toxics to every connection: toxicity must be 1")
			return
		}
		if t.Name == "" {
			t.Name = t.Type + "_" + t.Stream
		}
		if a.tox[p.Name()] == nil {
			a.tox[p.Name()] = map[string]toxic{}
		}
		if _, dup := a.tox[p.Name()][t.Name]; dup {
			toxError(w, http.StatusConflict, "toxic already exists")
			return
		}
		a.tox[p.Name()][t.Name] = t
		a.apply(p)
		toxJSON(w, http.StatusOK, t)
	case len(rest) == 2 && rest[0] == "toxics":
		t, ok := a.tox[p.Name()][rest[1]]
		if !ok {
			toxError(w, http.StatusNotFound, "toxic not found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			toxJSON(w, http.StatusOK, t)
		case http.MethodDelete:
			delete(a.tox[p.Name()], rest[1])
			a.apply(p)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost, http.MethodPatch:
			var in struct{ Attributes map[string]int64 }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				toxError(w, http.StatusBadRequest, err.Error())
				return
			}
			for k, v := range in.Attributes {
				if t.Attributes == nil {
					t.Attributes = map[string]int64{}
				}
				t.Attributes[k] = v
			}
			a.tox[p.Name()][rest[1]] = t
			a.apply(p)
			toxJSON(w, http.StatusOK, t)
		default:
			toxError(w, http.StatusMethodNotAllowed, r.Method)
		}
	default:
		toxError(w, http.StatusNotFound, "no such endpoint")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func toxJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func toxError(w http.ResponseWriter, status int, msg string) {
	toxJSON(w, status, map[string]any{"error": msg, "status": status})
}
