package probe_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/probe"
	"go.yaml.in/yaml/v4"
)

func compile(t *testing.T, src string) (service.Probe, *diag.List) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	errs := &diag.List{}
	c := &probe.Compiler{D: decode.New("t.yaml", errs), Table: probe.Builtin()}
	return c.Probe(decode.Resolve(&doc), "ready"), errs
}

func target(t *testing.T, url string, lines ...string) service.Target {
	t.Helper()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return service.Target{Name: "s", Host: "127.0.0.1", Ports: map[string]int{"http": p}, Main: "http",
		Lines: func() []string { return lines }}
}

func check(t *testing.T, p service.Probe, tg service.Target) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Check(ctx, tg)
}

func TestProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("all good"))
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "warming up", 503)
		}
	}))
	defer srv.Close()
	// A claimed port no one listens on: other seams skip it, and the kernel
	// hands it to no :0 listener (it lies below the ephemeral range).
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	closed := fmt.Sprintf("http://127.0.0.1:%d", port)
	up := target(t, srv.URL, "starting", "listening on :8080")
	down := target(t, closed)
	for _, tc := range []struct {
		src     string
		tg      service.Target
		wantErr string // "" means ready
	}{
		{"tcp: true", up, ""},
		{"tcp: true", down, "connection refused"},
		{"http: /ok", up, ""},
		{"http: /nope", up, "status 503, want 2xx"},
		{"http: {path: /nope, status: 503}", up, ""},
		{"http: {path: /ok, body: good}", up, ""},
		{"http: {path: /ok, body: bad}", up, `body does not contain "bad"`},
		{"http: {path: /moved, status: 302}", up, ""},
		{"log: listening on", up, ""},
		{"log: ready$", up, "no output line matches"},
		{`exec: 'test "$SEAM_PORT" -gt 0'`, up, ""},
		{"exec: [sh, -c, 'echo not yet >&2; exit 1']", up, "not yet"},
		{"all: [{tcp: true}, {http: /ok}]", up, ""},
		{"all: [{tcp: true}, {http: /nope}]", up, "http GET /nope"},
		{"any: [{http: /nope}, {log: listening}]", up, ""},
		{"any: [{http: /nope}, {log: nothing}]", up, "no output line matches"},
	} {
		p, errs := compile(t, tc.src)
		if errs.Len() > 0 || p == nil {
			t.Errorf("%s: %v", tc.src, errs)
			continue
		}
		err := check(t, p, tc.tg)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want ready", tc.src, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want an error containing %q", tc.src, err, tc.wantErr)
		}
	}
}

func TestProbeDecodeErrors(t *testing.T) {
	for src, want := range map[string]string{
		"htp: /x":               `1:1: ready: unknown probe "htp" (did you mean "http"?)`,
		"{tcp: true, http: /x}": `1:13: ready: one probe per entry, but it has "tcp" and "http"`,
		"log: 'a('":             "1:6: log: bad regular expression",
		"http: health":          `1:7: http: want a path starting with /, got "health"`,
		"all: []":               "1:6: all: want a list of probes",
		"any: [{nope: 1}]":      `1:8: any[0]: unknown probe "nope"`,
	} {
		_, errs := compile(t, src)
		if errs.Len() != 1 || !strings.Contains(errs.Error(), want) {
			t.Errorf("%s: got %v, want one problem containing %q", src, errs, want)
		}
	}
}

// A misspelt key beside a probe (or alone, closer to one of the caller's
// keys than to a probe) is an unknown key, at the key, with the closest
// of the probes and the caller's keys: not "one probe per entry".
func TestProbeUnknownKeys(t *testing.T) {
	for src, want := range map[string]string{
		"{http: /, timout: 15s}":         `1:11: ready: unknown key "timout" (did you mean "timeout"?)`,
		"{intervl: 1s, tcp: true}":       `1:2: ready: unknown key "intervl" (did you mean "interval"?)`,
		"{timout: 15s}":                  `1:2: ready: unknown key "timout" (did you mean "timeout"?)`,
		"{htp: /, tcp: true}":            `1:2: ready: unknown key "htp" (did you mean "http"?)`,
		"any: [{tcp: true, timout: 1s}]": `1:19: any[0]: unknown key "timout" (known keys: all, any, exec, http, log, tcp)`,
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		errs := &diag.List{}
		c := &probe.Compiler{D: decode.New("t.yaml", errs), Table: probe.Builtin(), Keys: []string{"timeout", "interval"}}
		c.Probe(decode.Resolve(&doc), "ready")
		if errs.Len() != 1 || !strings.Contains(errs.Error(), want) {
			t.Errorf("%s: got %v, want one problem containing %q", src, errs, want)
		}
	}
}

// The ports probes name are listed with their positions, in composed
// probes too, for the loader to check against the service's.
func TestPortRefs(t *testing.T) {
	for src, want := range map[string]string{
		"tcp: true":                 "",
		"tcp: admin":                "admin@t.yaml:1:6",
		"http: /x":                  "",
		"http: {path: /x, port: m}": "m@t.yaml:1:24",
		"all: [{tcp: a}, {any: [{tcp: b}, {log: x}]}]": "a@t.yaml:1:13 b@t.yaml:1:30",
	} {
		p, errs := compile(t, src)
		if errs.Len() > 0 {
			t.Fatalf("%s: %v", src, errs)
		}
		var got []string
		for _, r := range probe.PortRefs(p) {
			got = append(got, r.Name+"@"+r.Pos.String())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: ports %q, want %q", src, got, want)
		}
	}
}

func TestAfterLine(t *testing.T) {
	for src, want := range map[string]time.Duration{
		"log: ready":                           0,
		"tcp: true":                            time.Millisecond,
		"http: /ok":                            time.Millisecond,
		"exec: [pg_isready]":                   -1,
		"all: [{tcp: true}, {log: listening}]": time.Millisecond,
		"any: [{http: /ok}, {exec: [true]}]":   -1,
	} {
		p, errs := compile(t, src)
		if errs.Len() > 0 || p == nil {
			t.Fatalf("%s: %v", src, errs)
		}
		if got := service.AfterLine(p); got != want {
			t.Errorf("%s: AfterLine = %v, want %v", src, got, want)
		}
	}
}
