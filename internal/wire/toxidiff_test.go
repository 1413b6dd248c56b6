package wire_test

// The differential test against Toxiproxy: the same proxies and toxics,
// set through Toxiproxy's own Go client, on a real toxiproxy-server
// v2.12.0 (built by scripts/toxiproxy.sh) and on seam's ToxiAPI, each in
// front of the same kind of loopback upstream; a client sends a request and
// reads the answer through each, and the test compares what it saw (bytes,
// timings within a tolerance, how the connection ended) and what the
// upstream received.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/wire"
)

// toxiproxyServer finds toxiproxy-server, or says how to get it.
func toxiproxyServer(t *testing.T) string {
	bin := os.Getenv("SEAM_TOXIPROXY_SERVER")
	if bin == "" {
		cache := os.Getenv("SEAM_PEERS_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "seam-peers")
		}
		bin = filepath.Join(cache, "toxiproxy", "toxiproxy-server")
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	msg := fmt.Sprintf("toxiproxy-server v2.12.0 (%s) is missing; install it with: bash scripts/toxiproxy.sh", bin)
	if os.Getenv("CI") != "" || os.Getenv("SEAM_TOXIPROXY_SERVER") != "" {
		t.Fatal(msg + " (CI installs it: a skip must not hide a missing dependency)")
	}
	t.Skip(msg)
	return ""
}

// startToxiproxy runs toxiproxy-server on a free loopback port and stops
// it, by its process group, when the test ends.
func startToxiproxy(t *testing.T, bin string) string {
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", fmt.Sprint(port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	peertest.Start(t, "toxiproxy-server", cmd, "http://"+addr+"/version", 10*time.Second)
	return addr
}

// upstream is the loopback service behind both proxies: on each
// connection it reads a request of reqSize bytes, answers respSize bytes
// and closes. It records how many bytes each connection brought.
type upstream struct {
	ln       net.Listener
	reqSize  int
	respSize int
	mu       sync.Mutex
	got      []int
	wg       sync.WaitGroup
}

func newUpstream(t *testing.T) *upstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			req, resp := u.reqSize, u.respSize
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				n, _ := io.ReadFull(c, make([]byte, req))
				u.mu.Lock()
				u.got = append(u.got, n)
				u.mu.Unlock()
				if n == req {
					c.Write(bytes.Repeat([]byte("d"), resp))
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); u.wg.Wait() })
	return u
}

func (u *upstream) set(req, resp int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reqSize, u.respSize, u.got = req, resp, nil
}

// received is what the upstream's connections brought, once they ended.
func (u *upstream) received(wait time.Duration) []int {
	deadline := time.Now().Add(wait)
	for {
		u.mu.Lock()
		got := append([]int(nil), u.got...)
		u.mu.Unlock()
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seen is what a client saw through a proxy.
type seen struct {
	got      int           // bytes of the answer
	end      string        // how the connection ended: eof, reset, timeout, refused, …
	elapsed  time.Duration // from the request's write to the end
	first    time.Duration // to the first byte of the answer; 0: none
	upstream []int         // what the upstream's connections received
}

func endOf(err error) string {
	var ne net.Error
	switch {
	case err == nil || errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}

// exchange sends req bytes through addr and reads the answer for at most
// wait.
func exchange(addr string, req int, wait time.Duration) seen {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return seen{end: endOf(err)}
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	if _, err := c.Write(bytes.Repeat([]byte("u"), req)); err != nil {
		return seen{end: "write: " + endOf(err), elapsed: time.Since(start)}
	}
	var s seen
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 && s.got == 0 {
			s.first = time.Since(start)
		}
		s.got += n
		if err != nil {
			s.end = endOf(err)
			break
		}
	}
	s.elapsed = time.Since(start)
	return s
}

type toxicSpec struct {
	typ, stream string
	toxicity    float32
	attrs       toxiproxy.Attributes
}

type diffCase struct {
	name      string
	req, resp int
	toxics    []toxicSpec
	wait      time.Duration // the client's patience (default 2 s)
	tolerance time.Duration // on timings, besides 60 ms and 15 %
	// during runs while the exchange is under way (after 150 ms), on the
	// proxy as the client sees it.
	during func(p *toxiproxy.Proxy) error
	before func(p *toxiproxy.Proxy) error
}

func toxicCases() []diffCase {
	down, up := "downstream", "upstream"
	a := func(kv ...any) toxiproxy.Attributes {
		m := toxiproxy.Attributes{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	one := func(typ, stream string, attrs toxiproxy.Attributes) []toxicSpec {
		return []toxicSpec{{typ: typ, stream: stream, toxicity: 1, attrs: attrs}}
	}
	var cs []diffCase
	cs = append(cs, diffCase{name: "no toxic", req: 100, resp: 5000})
	for _, s := range []string{down, up} {
		cs = append(cs,
			diffCase{name: "latency " + s, req: 100, resp: 5000, toxics: one("latency", s, a("latency", 250))},
			diffCase{name: "latency with jitter " + s, req: 100, resp: 5000, toxics: one("latency", s, a("latency", 200, "jitter", 50)), tolerance: 50 * time.Millisecond},
			diffCase{name: "latency on a large transfer " + s, req: 200 << 10, resp: 200 << 10, toxics: one("latency", s, a("latency", 200))},
			diffCase{name: "bandwidth " + s, req: 50000, resp: 50000, toxics: one("bandwidth", s, a("rate", 100))},
			diffCase{name: "bandwidth of a small exchange " + s, req: 2000, resp: 2000, toxics: one("bandwidth", s, a("rate", 10))},
			diffCase{name: "limit_data " + s, req: 5000, resp: 5000, toxics: one("limit_data", s, a("bytes", 1000))},
			diffCase{name: "limit_data larger than the exchange " + s, req: 500, resp: 500, toxics: one("limit_data", s, a("bytes", 100000))},
			diffCase{name: "timeout " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 300))},
			diffCase{name: "timeout 0 (held) " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 0)), wait: 700 * time.Millisecond},
			diffCase{name: "reset_peer " + s, req: 100, resp: 5000, toxics: one("reset_peer", s, a("timeout", 0))},
			diffCase{name: "reset_peer after a timeout " + s, req: 100, resp: 5000, toxics: one("reset_peer", s, a("timeout", 300))},
			diffCase{name: "slow_close " + s, req: 100, resp: 5000, toxics: one("slow_close", s, a("delay", 300))},
			diffCase{name: "slicer " + s, req: 4000, resp: 4000, toxics: one("slicer", s, a("average_size", 100, "size_variation", 20, "delay", 2000))},
			diffCase{name: "toxicity 0 " + s, req: 100, resp: 5000, toxics: []toxicSpec{{typ: "latency", stream: s, toxicity: 0, attrs: a("latency", 400)}}},
			diffCase{name: "latency then limit_data " + s, req: 5000, resp: 5000, toxics: []toxicSpec{
				{typ: "latency", stream: s, toxicity: 1, attrs: a("latency", 200)},
				{typ: "limit_data", stream: s, toxicity: 1, attrs: a("bytes", 3000)}}},
			diffCase{name: "removing a held timeout " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 0)),
				during: func(p *toxiproxy.Proxy) error { return p.RemoveToxic("timeout_" + s) }},
			diffCase{name: "updating a timeout restarts it " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 400)),
				during: func(p *toxiproxy.Proxy) error {
					_, err := p.UpdateToxic("timeout_"+s, -1, a("timeout", 400))
					return err
				}},
			diffCase{name: "a held timeout made harmless by toxicity 0 " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 0)),
				during: func(p *toxiproxy.Proxy) error {
					_, err := p.UpdateToxic("timeout_"+s, 0, a())
					return err
				}, wait: 800 * time.Millisecond},
			diffCase{name: "adding latency to an open connection " + s, req: 100, resp: 5000, toxics: one("timeout", s, a("timeout", 0)),
				during: func(p *toxiproxy.Proxy) error {
					if _, err := p.AddToxic("late", "latency", s, 1, a("latency", 200)); err != nil {
						return err
					}
					return p.RemoveToxic("timeout_" + s)
				}},
		)
	}
	cs = append(cs,
		diffCase{name: "bandwidth both ways", req: 30000, resp: 30000, toxics: []toxicSpec{
			{typ: "bandwidth", stream: up, toxicity: 1, attrs: a("rate", 100)},
			{typ: "bandwidth", stream: down, toxicity: 1, attrs: a("rate", 100)}}},
		diffCase{name: "disabled proxy", req: 100, resp: 5000, before: func(p *toxiproxy.Proxy) error { return p.Disable() }},
		diffCase{name: "disabled then enabled", req: 100, resp: 5000, before: func(p *toxiproxy.Proxy) error {
			if err := p.Disable(); err != nil {
				return err
			}
			return p.Enable()
		}},
		diffCase{name: "disabling closes open connections", req: 100, resp: 5000, toxics: one("timeout", down, a("timeout", 0)),
			during: func(p *toxiproxy.Proxy) error { return p.Disable() }},
	)
	return cs
}

// side is one of the two: Toxiproxy or seam.
type side struct {
	name   string
	client *toxiproxy.Client
	up     *upstream
}

func (s side) run(c diffCase, i int) (seen, error) {
	name := fmt.Sprintf("case%d", i)
	p, err := s.client.CreateProxy(name, "127.0.0.1:0", s.up.ln.Addr().String())
	if err != nil {
		return seen{}, fmt.Errorf("create proxy: %w", err)
	}
	defer p.Delete()
	s.up.set(c.req, c.resp)
	for _, x := range c.toxics {
		if _, err := p.AddToxic("", x.typ, x.stream, x.toxicity, x.attrs); err != nil {
			return seen{}, fmt.Errorf("add toxic %s: %w", x.typ, err)
		}
	}
	if c.before != nil {
		if err := c.before(p); err != nil {
			return seen{}, err
		}
	}
	wait := c.wait
	if wait == 0 {
		wait = 2 * time.Second
	}
	var derr error
	var dwg sync.WaitGroup
	if c.during != nil {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			time.Sleep(150 * time.Millisecond)
			derr = c.during(p)
		}()
	}
	got := exchange(p.Listen, c.req, wait)
	dwg.Wait()
	if derr != nil {
		return seen{}, derr
	}
	got.upstream = s.up.received(300 * time.Millisecond)
	return got, nil
}

func near(a, b, tol time.Duration) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= max(60*time.Millisecond+tol, max(a, b)*15/100+tol)
}

// differ says how two sides' sightings differ; "" when they agree.
func differ(c diffCase, t, s seen) string {
	var out []string
	if t.got != s.got {
		out = append(out, fmt.Sprintf("answer bytes: toxiproxy %d, seam %d", t.got, s.got))
	}
	if t.end != s.end {
		out = append(out, fmt.Sprintf("end: toxiproxy %s, seam %s", t.end, s.end))
	}
	if !reflect.DeepEqual(t.upstream, s.upstream) {
		out = append(out, fmt.Sprintf("upstream received: toxiproxy %v, seam %v", t.upstream, s.upstream))
	}
	if !near(t.elapsed, s.elapsed, c.tolerance) {
		out = append(out, fmt.Sprintf("elapsed: toxiproxy %s, seam %s", t.elapsed.Round(time.Millisecond), s.elapsed.Round(time.Millisecond)))
	}
	if (t.first == 0) != (s.first == 0) || !near(t.first, s.first, c.tolerance) {
		out = append(out, fmt.Sprintf("first byte: toxiproxy %s, seam %s", t.first.Round(time.Millisecond), s.first.Round(time.Millisecond)))
	}
	return strings.Join(out, "; ")
}

func TestToxiproxyDifferential(t *testing.T) {
	bin := toxiproxyServer(t)
	tp := side{name: "toxiproxy", client: toxiproxy.NewClient(startToxiproxy(t, bin)), up: newUpstream(t)}
	api := wire.NewToxiAPI(func() []*wire.Proxy { return nil }, 1)
	t.Cleanup(api.Close)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	sm := side{name: "seam", client: toxiproxy.NewClient(srv.URL), up: newUpstream(t)}

	cases := toxicCases()
	agree := 0
	for i, c := range cases {
		// Both at once, each on its own upstream: timings share the
		// machine's load.
		var res [2]seen
		var errs [2]error
		var wg sync.WaitGroup
		for k, s := range []side{tp, sm} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[k], errs[k] = s.run(c, i)
			}()
		}
		wg.Wait()
		switch {
		case errs[0] != nil || errs[1] != nil:
			t.Errorf("%s: toxiproxy: %v; seam: %v", c.name, errs[0], errs[1])
		default:
			d := differ(c, res[0], res[1])
			// Timings on a loaded machine (go test runs packages side by
			// side): two more tries before calling it a difference.
			for try := 1; d != "" && try <= 2; try++ {
				var again [2]seen
				for k, s := range []side{tp, sm} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						again[k], errs[k] = s.run(c, i+1000*try)
					}()
				}
				wg.Wait()
				if errs[0] == nil && errs[1] == nil && differ(c, again[0], again[1]) == "" {
					d = ""
				}
			}
			if d != "" {
				t.Errorf("%s: %s", c.name, d)
				continue
			}
			agree++
		}
	}
	t.Logf("Toxiproxy differential: %d of %d cases agree (%.0f%%)", agree, len(cases), 100*float64(agree)/float64(len(cases)))
	fmt.Printf("Toxiproxy differential: %d of %d cases agree (%.0f%%)\n", agree, len(cases), 100*float64(agree)/float64(len(cases)))
}

// apiCall is one call to the API, made the same way on both sides.
type apiCall struct {
	name string
	do   func(c *toxiproxy.Client, base, upstream string) (any, error)
}

// raw calls the API without the client, for what the client hides
// (statuses, content types, bodies of errors).
func raw(method, url, body string) (any, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b))), nil
}

// shape is a proxy as a client sees it, its address left out (each side
// has its own).
func shape(p *toxiproxy.Proxy) any {
	return []any{p.Name, p.Upstream, p.Enabled, p.ActiveToxics}
}

func apiCalls() []apiCall {
	at := toxiproxy.Attributes{}
	return []apiCall{
		{"create a proxy", func(c *toxiproxy.Client, _, up string) (any, error) {
			p, err := c.CreateProxy("api", "127.0.0.1:0", up)
			if err != nil {
				return nil, err
			}
			return shape(p), nil
		}},
		{"create it again", func(c *toxiproxy.Client, _, up string) (any, error) {
			_, err := c.CreateProxy("api", "127.0.0.1:0", up)
			return nil, err
		}},
		{"create with a bad listen address", func(c *toxiproxy.Client, _, up string) (any, error) {
			_, err := c.CreateProxy("bad", "nowhere", up)
			return nil, err
		}},
		{"create without upstream", func(c *toxiproxy.Client, _, _ string) (any, error) {
			_, err := c.CreateProxy("x", "127.0.0.1:0", "")
			return nil, err
		}},
		{"create without a name", func(_ *toxiproxy.Client, base, up string) (any, error) {
			return raw("POST", base+"/proxies", `{"upstream": "`+up+`"}`)
		}},
		{"create with a bad body", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("POST", base+"/proxies", `{"name": 5}`)
		}},
		{"a proxy that does not exist", func(c *toxiproxy.Client, _, _ string) (any, error) {
			_, err := c.Proxy("nope")
			return nil, err
		}},
		{"a proxy that does not exist, raw", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("GET", base+"/proxies/nope", "")
		}},
		{"a toxic of every type, defaults echoed", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, err := c.Proxy("api")
			if err != nil {
				return nil, err
			}
			var out []any
			for _, typ := range []string{"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data"} {
				x, err := p.AddToxic("", typ, "", 1, at)
				if err != nil {
					return nil, err
				}
				out = append(out, *x)
			}
			x, err := p.AddToxic("up1", "latency", "upstream", 0.5, toxiproxy.Attributes{"latency": 10, "unknown": 3})
			if err != nil {
				return nil, err
			}
			out = append(out, *x)
			return out, nil
		}},
		{"toxics listed upstream first, in order added", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, err := c.Proxy("api")
			if err != nil {
				return nil, err
			}
			return p.Toxics()
		}},
		{"a toxic again", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.AddToxic("latency_downstream", "latency", "downstream", 1, at)
		}},
		{"a toxic of no type", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.AddToxic("t", "nope", "downstream", 1, at)
		}},
		{"a toxic on no stream", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.AddToxic("t", "latency", "sideways", 1, at)
		}},
		{"a stream in capitals", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.AddToxic("", "latency", "UPSTREAM", 1, at)
		}},
		{"an attribute of the wrong type", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			s, err := raw("POST", base+"/proxies/api/toxics", `{"name": "w", "type": "latency", "attributes": {"latency": "slow"}}`)
			if err != nil {
				return nil, err
			}
			return strings.HasPrefix(s.(string), "400 "), nil
		}},
		{"update a toxic", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.UpdateToxic("latency_downstream", -1, toxiproxy.Attributes{"jitter": 7})
		}},
		{"update a toxic's toxicity", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.UpdateToxic("latency_downstream", 0.25, toxiproxy.Attributes{})
		}},
		{"update a toxic that does not exist", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return p.UpdateToxic("nope", 1, at)
		}},
		{"a toxic that does not exist, raw", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("GET", base+"/proxies/api/toxics/nope", "")
		}},
		{"remove a toxic", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			if err := p.RemoveToxic("slicer_downstream"); err != nil {
				return nil, err
			}
			return p.Toxics()
		}},
		{"remove it again", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			return nil, p.RemoveToxic("slicer_downstream")
		}},
		{"disable", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("api")
			if err := p.Disable(); err != nil {
				return nil, err
			}
			p, err := c.Proxy("api")
			if err != nil {
				return nil, err
			}
			return shape(p), nil
		}},
		{"populate", func(c *toxiproxy.Client, _, up string) (any, error) {
			ps, err := c.Populate([]toxiproxy.Proxy{
				{Name: "api", Listen: "127.0.0.1:0", Upstream: up, Enabled: true},
				{Name: "pop", Listen: "127.0.0.1:0", Upstream: up, Enabled: true},
			})
			var out []any
			for _, p := range ps {
				out = append(out, shape(p))
			}
			return out, err
		}},
		{"populate without upstream", func(c *toxiproxy.Client, _, _ string) (any, error) {
			_, err := c.Populate([]toxiproxy.Proxy{{Name: "x"}})
			return nil, err
		}},
		{"populate with a bad body", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			s, err := raw("POST", base+"/populate", `{"name": "x"}`)
			if err != nil {
				return nil, err
			}
			return strings.HasPrefix(s.(string), "400 "), nil
		}},
		{"list proxies", func(c *toxiproxy.Client, _, _ string) (any, error) {
			ps, err := c.Proxies()
			out := map[string]any{}
			for n, p := range ps {
				out[n] = shape(p)
			}
			return out, err
		}},
		{"reset", func(c *toxiproxy.Client, _, _ string) (any, error) {
			if err := c.ResetState(); err != nil {
				return nil, err
			}
			p, err := c.Proxy("api")
			if err != nil {
				return nil, err
			}
			return shape(p), nil
		}},
		{"delete", func(c *toxiproxy.Client, _, _ string) (any, error) {
			p, _ := c.Proxy("pop")
			if err := p.Delete(); err != nil {
				return nil, err
			}
			_, err := c.Proxy("pop")
			return nil, err
		}},
		{"an unknown path", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("GET", base+"/nope", "")
		}},
		{"a method not allowed", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("PUT", base+"/proxies", "")
		}},
		{"a method not allowed on /version", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("POST", base+"/version", "")
		}},
		{"a trailing slash", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("GET", base+"/proxies/api/", "")
		}},
		{"a toxic's path too long", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("GET", base+"/proxies/api/toxics/a/b", "")
		}},
		{"a browser", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			req, _ := http.NewRequest("GET", base+"/proxies", nil)
			req.Header.Set("User-Agent", "Mozilla/5.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(b))), nil
		}},
		{"update a proxy with a bad listen address", func(_ *toxiproxy.Client, base, _ string) (any, error) {
			return raw("PATCH", base+"/proxies/api", `{"listen": "nowhere"}`)
		}},
	}
}

func TestToxiproxyAPIDifferential(t *testing.T) {
	bin := toxiproxyServer(t)
	tpAddr := startToxiproxy(t, bin)
	api := wire.NewToxiAPI(func() []*wire.Proxy { return nil }, 1)
	t.Cleanup(api.Close)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	up := newUpstream(t).ln.Addr().String()
	tp, sm := toxiproxy.NewClient(tpAddr), toxiproxy.NewClient(srv.URL)
	agree := 0
	calls := apiCalls()
	for _, c := range calls {
		tv, terr := c.do(tp, "http://"+tpAddr, up)
		sv, serr := c.do(sm, srv.URL, up)
		show := func(v any, err error) string { return fmt.Sprintf("%+v (error: %v)", v, err) }
		ts, ss := show(tv, terr), show(sv, serr)
		// Each side names its own address in error texts.
		ss = strings.ReplaceAll(ss, strings.TrimPrefix(srv.URL, "http://"), tpAddr)
		if ts != ss {
			t.Errorf("%s:\n toxiproxy: %s\n seam:      %s", c.name, ts, ss)
			continue
		}
		agree++
	}
	t.Logf("Toxiproxy API differential: %d of %d calls agree (%.0f%%)", agree, len(calls), 100*float64(agree)/float64(len(calls)))
	fmt.Printf("Toxiproxy API differential: %d of %d calls agree (%.0f%%)\n", agree, len(calls), 100*float64(agree)/float64(len(calls)))
}
