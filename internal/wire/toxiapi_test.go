package wire

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestToxiproxyAPI(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	edge, err := Listen("a→b", strings.TrimPrefix(target.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Close()
	api := NewToxiAPI(func() []*Proxy { return []*Proxy{edge} }, 1)
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	through := func(p *Proxy) (time.Duration, error) {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		resp, err := c.Get("http://" + p.Addr())
		if err == nil {
			resp.Body.Close()
		}
		return time.Since(start), err
	}
	if code, body := call("GET", "/proxies", ""); code != 200 || !strings.Contains(body, `"a→b"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := call("POST", "/proxies/a->b/toxics", `{"name": "slow", "type": "latency", "attributes": {"latency": 400}}`); code != 200 {
		t.Fatalf("add toxic: %d %s", code, body)
	}
	if d, err := through(edge); err != nil || d < 390*time.Millisecond {
		t.Errorf("latency toxic: %v after %s", err, d)
	}
	if code, body := call("POST", "/proxies/a→b/toxics", `{"type": "nope"}`); code != 400 || !strings.Contains(body, "invalid toxic type") {
		t.Errorf("unsupported toxic: %d %s", code, body)
	}
	if code, _ := call("DELETE", "/proxies/a→b/toxics/slow", ""); code != 204 {
		t.Errorf("delete toxic: %d", code)
	}
	call("POST", "/proxies/a→b", `{"enabled": false}`)
	if _, err := through(edge); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a disabled proxy: %v; want connection refused", err)
	}
	call("POST", "/reset", "")
	if d, err := through(edge); err != nil || d > 300*time.Millisecond {
		t.Errorf("after reset: %v after %s", err, d)
	}
	code, body := call("POST", "/proxies", `{"name": "mine", "listen": "127.0.0.1:0", "upstream": "`+strings.TrimPrefix(target.URL, "http://")+`"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _ := call("DELETE", "/proxies/a→b", ""); code != 403 {
		t.Errorf("deleting an edge of the suite: %d", code)
	}
	if code, _ := call("DELETE", "/proxies/mine", ""); code != 204 {
		t.Errorf("deleting an own proxy: %d", code)
	}
}

// An edge to a callee with several ports has a proxy per port: the main
// one named like the edge, the others "edge:port"; each can be disturbed.
func TestToxiproxyAPINamesPorts(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	addr := strings.TrimPrefix(target.URL, "http://")
	var got []Interaction
	var mu sync.Mutex
	report := func(i Interaction) { mu.Lock(); got = append(got, i); mu.Unlock() }
	api1, err := ListenPort(t.Context(), "a→b", "api", true, addr, report)
	if err != nil {
		t.Fatal(err)
	}
	defer api1.Close()
	grpc1, err := ListenPort(t.Context(), "a→b", "grpc", false, addr, report)
	if err != nil {
		t.Fatal(err)
	}
	defer grpc1.Close()
	api := NewToxiAPI(func() []*Proxy { return []*Proxy{api1, grpc1} }, 1)
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/proxies")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"a→b":`) || !strings.Contains(string(body), `"a→b:grpc":`) {
		t.Fatalf("proxies: %s", body)
	}
	resp, err = http.Post(srv.URL+"/proxies/a->b:grpc/toxics", "application/json", strings.NewReader(`{"name": "cut", "type": "reset_peer"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a toxic on the gRPC port: %v %v", resp, err)
	}
	resp.Body.Close()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := c.Get("http://" + grpc1.Addr() + "/x"); err == nil {
		t.Error("the gRPC port's proxy let a request through a reset toxic")
	}
	r2, err := c.Get("http://" + api1.Addr() + "/y")
	if err != nil {
		t.Fatalf("the main port's proxy has no toxic, yet: %v", err)
	}
	r2.Body.Close()
	// The reset call is recorded as its connection ends, which may come
	// after the next call's record: wait for both (bounded), in any order.
	var ports []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		ports = ports[:0]
		for _, i := range got {
			if i.Protocol == "http" {
				ports = append(ports, i.Port+" "+i.Target)
			}
		}
		mu.Unlock()
		if len(ports) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	sort.Strings(ports)
	// A downstream reset_peer lets the request through (the callee sees
	// it) and resets the connection instead of the answer, as Toxiproxy.
	if strings.Join(ports, ",") != "api /y,grpc /x" {
		t.Errorf("interactions by port: %q", ports)
	}
}

// Reset (a test's end) takes off what a test set through the API: its
// toxics and a disabled proxy, which used to carry into the next test.
func TestToxiAPIResetAtATestsEnd(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	var s sink
	a, err := Listen("a→b", strings.TrimPrefix(target.URL, "http://"), s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen("a→c", strings.TrimPrefix(target.URL, "http://"), s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	api := NewToxiAPI(func() []*Proxy { return []*Proxy{a, b} }, 1)
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	post := func(path, body string) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	post("/proxies/a->b/toxics", `{"name": "slow", "type": "latency", "attributes": {"latency": 400}}`)
	post("/proxies/a->c", `{"enabled": false}`)
	if a.toxics.Load() == nil || !b.disabled.Load() {
		t.Fatal("the API did not set the toxic and the disabled proxy")
	}
	api.Reset()
	if a.toxics.Load() != nil || b.disabled.Load() {
		t.Errorf("after Reset: toxics %v, a→c disabled %v", a.toxics.Load(), b.disabled.Load())
	}
	resp, err := http.Get(srv.URL + "/proxies")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `"slow"`) || strings.Contains(string(body), `"enabled":false`) {
		t.Errorf("the API still shows the test's state: %s", body)
	}
	if c, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + b.Addr()); err != nil {
		t.Errorf("a→c is still refused: %v", err)
	} else {
		c.Body.Close()
	}
	// Nothing set: nothing said.
	n := len(s.all())
	api.Reset()
	if len(s.all()) != n {
		t.Errorf("a Reset with nothing set told: %q", s.lines()[n:])
	}
}
