package main_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// TestToxiproxyClientDrivesSeamUp: `seam up` prints the address of its
// Toxiproxy API; Toxiproxy's own Go client finds the edge there, slows
// it, disables it (callers are refused) and resets it, as it would drive a
// toxiproxy-server.
func TestToxiproxyClientDrivesSeamUp(t *testing.T) {
	env, state := isolated(t)
	u := startUp(t, env, "", "testdata/services", "--var", "svc="+testService(t))
	m := regexp.MustCompile(`(?m)^  \(wire\) +(http://\S+) \(Toxiproxy-compatible API over the edges\)$`).FindStringSubmatch(u.output())
	if m == nil {
		t.Fatalf("seam up does not print its Toxiproxy API:\n%s", u.output())
	}
	tp := toxiproxy.NewClient(m[1])
	ps, err := tp.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	p := ps["front→backend"]
	if p == nil || !p.Enabled {
		t.Fatalf("proxies: %+v; want front→backend, enabled", ps)
	}
	get := func() (string, time.Duration, error) {
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		resp, err := c.Get("http://" + p.Listen + "/healthz")
		if err != nil {
			return "", time.Since(start), err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(b), time.Since(start), nil
	}
	if _, d, err := get(); err != nil || d > 250*time.Millisecond {
		t.Fatalf("through the edge: %v after %s", err, d)
	}
	if _, err := p.AddToxic("slow", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 300}); err != nil {
		t.Fatal(err)
	}
	if _, d, err := get(); err != nil || d < 290*time.Millisecond {
		t.Errorf("with 300 ms of latency: %v after %s", err, d)
	}
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a disabled proxy: %v; want connection refused", err)
	}
	if err := tp.ResetState(); err != nil {
		t.Fatal(err)
	}
	if _, d, err := get(); err != nil || d > 250*time.Millisecond {
		t.Errorf("after a reset: %v after %s", err, d)
	}
	if r := seamEnv(t, env, "down", "testdata/services"); r.code != 0 {
		t.Errorf("seam down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if code := u.waitEnd(t); code != 0 {
		t.Errorf("seam up exit %d\n%s", code, u.errors())
	}
	assertClean(t, state)
}
