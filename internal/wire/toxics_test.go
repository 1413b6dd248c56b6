package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// The README lists exactly ToxiproxyDifferences.
func TestReadmeListsToxiproxyDifferences(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- toxiproxy-differences -->"), strings.Index(s, "<!-- /toxiproxy-differences -->")
	if i < 0 || j < i {
		t.Fatal("README.md: the <!-- toxiproxy-differences --> … <!-- /toxiproxy-differences --> list is missing")
	}
	var got []string
	for _, l := range strings.Split(s[i:j], "\n")[1:] {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, strings.TrimPrefix(l, "- "))
		}
	}
	if strings.Join(got, "\n") != strings.Join(ToxiproxyDifferences(), "\n") {
		t.Errorf("README.md's list of differences from Toxiproxy:\n%s\nwant (wire.ToxiproxyDifferences()):\n%s", strings.Join(got, "\n"), strings.Join(ToxiproxyDifferences(), "\n"))
	}
}

// echo answers each connection's first chunk with "ok" and closes.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Read(make([]byte, 64<<10))
				c.Write([]byte("ok"))
			}()
		}
	}()
	return ln.Addr().String()
}

func slowCalls(t *testing.T, seed uint64, n int) string {
	p, err := Listen("a→b", echo(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	api := NewToxiAPI(func() []*Proxy { return []*Proxy{p} }, seed)
	srv := httptest.NewServer(api)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/proxies/a->b/toxics", "application/json", strings.NewReader(`{"type": "latency", "toxicity": 0.5, "attributes": {"latency": 80}}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("add toxic: %v %v", resp, err)
	}
	resp.Body.Close()
	var pattern []byte
	for range n {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.Write([]byte("hi"))
		io.ReadAll(c)
		c.Close()
		if time.Since(start) > 60*time.Millisecond {
			pattern = append(pattern, 'S')
		} else {
			pattern = append(pattern, '.')
		}
	}
	return string(pattern)
}

// A toxicity below 1 acts on some connections, not others, drawn from the
// run's seed: the same seed, the same connections.
func TestToxicityPerConnectionFromTheSeed(t *testing.T) {
	a := slowCalls(t, 7, 12)
	if !strings.Contains(a, "S") || !strings.Contains(a, ".") {
		t.Fatalf("toxicity 0.5 on 12 connections: %s; want some slow, some not", a)
	}
	if b := slowCalls(t, 7, 12); b != a {
		t.Errorf("the same seed gave %s, then %s", a, b)
	}
}

// The bandwidth fault throttles the first bytes too: 40 KB upstream at
// 100 KB/s take 0.4 s, not the time of what follows the first 32 KB.
func TestBandwidthThrottlesTheFirstChunk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan time.Time, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.ReadFull(c, make([]byte, 40000))
		done <- time.Now()
	}()
	p, err := Listen("a→b", ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetFaults(Faults{Bandwidth: 100000})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write(bytes.Repeat([]byte("x"), 40000))
	select {
	case end := <-done:
		if d := end.Sub(start); d < 330*time.Millisecond {
			t.Errorf("40 KB at 100 KB/s arrived in %s; want about 400 ms", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the bytes never arrived")
	}
}

func FuzzToxicJSON(f *testing.F) {
	for _, s := range []string{
		`{"name": "x", "type": "latency", "stream": "upstream", "toxicity": 0.5, "attributes": {"latency": 10, "jitter": 2}}`,
		`{"type": "slicer", "attributes": {"average_size": 10, "size_variation": 3, "delay": 5}}`,
		`{"type": "bandwidth", "stream": "DOWNSTREAM", "attributes": {"rate": "x"}}`,
		`{"type": "limit_data", "attributes": null}`,
		`{"type": "nope"}`, `[]`, `{"attributes": 5, "type": "timeout"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		x, status, msg := decodeToxic(body, func(n string) bool { return n == "taken" })
		if status != 0 {
			if msg == "" || status < 400 {
				t.Fatalf("status %d with message %q", status, msg)
			}
			return
		}
		if _, ok := toxicAttrs[x.Type]; !ok {
			t.Fatalf("accepted type %q", x.Type)
		}
		if !strings.EqualFold(x.Stream, "upstream") && !strings.EqualFold(x.Stream, "downstream") {
			t.Fatalf("accepted stream %q", x.Stream)
		}
		out, err := json.Marshal(showToxic(x))
		if err != nil {
			t.Fatal(err)
		}
		var back toxicOut
		if err := json.Unmarshal(out, &back); err != nil || len(back.Attributes) != len(toxicAttrs[x.Type]) {
			t.Fatalf("echo %s: %v", out, err)
		}
	})
}

// slices covers [0, n) with adjoining pieces, whatever the attributes.
func FuzzSlicer(f *testing.F) {
	f.Add(1000, 100, 20, uint64(1))
	f.Add(5, 0, 0, uint64(2))
	f.Add(70000, 3, 1000, uint64(3))
	f.Fuzz(func(t *testing.T, n, avg, variation int, seed uint64) {
		if n < 0 || n > 1<<16 || variation < 0 || variation > 1<<20 || avg < -1<<20 || avg > 1<<20 {
			return
		}
		cuts := slicer(rand.New(rand.NewPCG(seed, 0)), avg, variation, 0, n, nil)
		at := 0
		for i := 1; i < len(cuts); i += 2 {
			if cuts[i-1] != at || cuts[i] < cuts[i-1] {
				t.Fatalf("pieces %v do not follow on at %d", cuts, at)
			}
			at = cuts[i]
		}
		if at != n {
			t.Fatalf("pieces %v end at %d; want %d", cuts, at, n)
		}
	})
}

// Lifting a blackhole closes the connections whose data it swallowed: their
// callers would otherwise wait for an answer to a request the callee never
// saw (as Toxiproxy closes what a removed timeout toxic held).
func TestLiftingABlackholeClosesWhatItHeld(t *testing.T) {
	p, err := Listen("a→b", echo(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetFaults(Faults{Blackhole: true})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hi"))
	time.Sleep(100 * time.Millisecond) // the proxy swallows it
	p.ClearFaults()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(make([]byte, 10))
	if n != 0 || err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("read after the blackhole was lifted: %d bytes, %v; want the connection closed", n, err)
	}
}

// Proxies made through the API listen on loopback, whatever address is asked.
func TestToxiAPIListensOnLoopbackOnly(t *testing.T) {
	for _, in := range []string{"", ":0", "0.0.0.0:0", "[::]:0"} {
		if got := loopback(in); !strings.HasPrefix(got, "127.0.0.1:") {
			t.Errorf("loopback(%q) = %q", in, got)
		}
	}
}

// The suite's faults and the API's toxics are set apart: clearing the
// faults at a test's end leaves what a Toxiproxy client set, and the other
// way round.
func TestFaultsAndToxicsDoNotClearEachOther(t *testing.T) {
	p, err := Listen("a→b", echo(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	api := NewToxiAPI(func() []*Proxy { return []*Proxy{p} }, 1)
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %v %v", method, path, resp, err)
		}
		resp.Body.Close()
	}
	took := func() (time.Duration, error) {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			return 0, err
		}
		defer c.Close()
		start := time.Now()
		c.Write([]byte("hi"))
		io.ReadAll(c)
		return time.Since(start), nil
	}
	call("POST", "/proxies/a->b/toxics", `{"type": "latency", "attributes": {"latency": 150}}`)
	p.SetFaults(Faults{Latency: time.Millisecond})
	p.ClearFaults()
	if d, err := took(); err != nil || d < 140*time.Millisecond {
		t.Errorf("the API's latency after the faults were cleared: %v after %s", err, d)
	}
	call("POST", "/proxies/a->b", `{"enabled": false}`)
	p.SetFaults(Faults{Refuse: true})
	p.ClearFaults()
	if _, err := took(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a disabled proxy after the faults were cleared: %v; want refused", err)
	}
	call("POST", "/reset", "")
	p.SetFaults(Faults{Latency: 150 * time.Millisecond})
	if d, err := took(); err != nil || d < 140*time.Millisecond {
		t.Errorf("the step's latency after the API's reset: %v after %s", err, d)
	}
}
