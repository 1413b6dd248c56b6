package faultstep

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/step/wirestep"
	"go.yaml.in/yaml/v4"
)

// Every problem of a fault is said, each where it is written: those of
// the whole (the first), and each of its gRPC fault's (code, method).
func TestEveryProblemIsSaid(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`{from: a, to: b, grpc: {method: Check, code: NOPE}}`, []string{
			`1:24: fault.grpc.code: "NOPE" is not a gRPC status`, `1:24: fault.grpc.method: "Check" is not a gRPC method path`}},
		{`{from: a, to: b, grpc: {method: Check, code: OK}}`, []string{
			"1:24: fault.grpc.code: OK is not a fault", `1:24: fault.grpc.method: "Check" is not a gRPC method path`}},
		{`{from: a, to: b, jitter: 5ms, grpc: {code: OK}}`, []string{
			"1:1: fault: jitter needs a latency", "1:37: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, http: {status: 700}, grpc: {code: OK}}`, []string{
			"1:33: fault.http.status: 700 is not an HTTP status", "1:45: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, clear: true, grpc: {code: OK}}`, []string{
			"1:1: fault: clear: true takes faults off", "1:37: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, grpc: {}}`, []string{`fault.grpc: missing required key "code"`}}, // said once
		{`{from: a, to: b, grpc: {method: /a.B/C, code: UNAVAILABLE}}`, nil},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &n); err != nil {
			t.Fatal(err)
		}
		var errs diag.List
		Kind{}.Decode(decode.New("t.yaml", &errs), n.Content[0])
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if n := strings.Count(got, "t.yaml:"); n != len(tc.want) {
			t.Errorf("%s: %d problems, want %d:\n%s", tc.src, n, len(tc.want), got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in:\n%s", tc.src, w, got)
			}
		}
	}
}

func decodeFault(t *testing.T, src string) (*action, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	a := Kind{}.Decode(decode.New("t.yaml", &errs), n.Content[0])
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a.(*action), nil
}

// A gRPC fault's method may leave out its leading /, as the grpc step's
// may; a code must be one gRPC defines.
func TestGRPCMethodAndCode(t *testing.T) {
	a, err := decodeFault(t, `{from: a, to: b, grpc: {method: a.v1.A/Do, code: NOT_FOUND}}`)
	if err != nil {
		t.Fatal(err)
	}
	if m := a.faults(0).GRPC.Method; m != "/a.v1.A/Do" {
		t.Errorf("method %q, want /a.v1.A/Do", m)
	}
	for _, src := range []string{`{from: a, to: b, grpc: {code: 99}}`, `{from: a, to: b, grpc: {code: 17}}`} {
		if _, err := decodeFault(t, src); err == nil || !strings.Contains(err.Error(), `1:24: fault.grpc.code: "`) {
			t.Errorf("%s: %v", src, err)
		}
	}
	if _, err := decodeFault(t, `{from: a, to: b, grpc: {code: 16}}`); err != nil {
		t.Error(err)
	}
}

// A fault that cannot apply to what the edge carries (http: or grpc: on
// an edge to a database) is refused where it is written, and a gRPC
// fault's method must be one of the callee's, when its protos are known.
func TestCheckServices(t *testing.T) {
	dir := t.TempDir()
	src := "syntax = \"proto3\";\npackage a.v1;\nmessage R {}\nservice A { rpc Do(R) returns (R); }\n"
	if err := os.WriteFile(filepath.Join(dir, "a.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: dir, Protos: []string{"a.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	sys := service.NewSystem([]*service.Service{{Name: "app", Kind: "process"}, {Name: "cache", Kind: "redis"},
		{Name: "db", Kind: "postgres"}, {Name: "api", Kind: "stub"}, {Name: "g", Kind: "process", Descriptors: files}})
	for _, tc := range []struct{ src, want string }{
		{`{from: app, to: cache, http: {path: /x, status: 500}}`, "t.yaml:1:30: fault.http: cache is a redis service, so app→cache carries Redis, not HTTP: the fault would never apply"},
		{`{from: app, to: db, grpc: {code: UNAVAILABLE}}`, "t.yaml:1:27: fault.grpc: db is a postgres service, so app→db carries PostgreSQL, not HTTP"},
		{`{from: app, to: cache, latency: 5ms, reset: true}`, ""},
		{`{from: app, to: api, http: {status: 503}, grpc: {code: UNAVAILABLE}}`, ""},
		{`{from: app, to: g, http: {status: 503}}`, ""},
		{`{from: app, to: g, grpc: {method: a.v1.A/Do, code: UNAVAILABLE}}`, ""},
		{`{from: app, to: g, grpc: {method: "/a.v1.*/*", code: UNAVAILABLE}}`, ""},
		{`{from: app, to: g, grpc: {method: /a.v1.A/Dox, code: UNAVAILABLE}}`, "t.yaml:1:35: fault.grpc.method: g serves no method /a.v1.A/Dox (did you mean /a.v1.A/Do?"},
		{`{from: app, to: app, grpc: {method: /a.v1.A/Dox, code: UNAVAILABLE}}`, ""}, // its methods are not known
	} {
		a, err := decodeFault(t, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		var errs diag.List
		a.CheckServices(sys, &errs)
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) || strings.Count(got, "t.yaml") > 1 {
			t.Errorf("%s: got %q, want %q", tc.src, got, tc.want)
		}
	}
}

// An HTTP fault's path is matched against the request target, path and
// query, as interactions' path is, and both say so.
func TestHTTPPathIsTheTarget(t *testing.T) {
	for _, tc := range []struct {
		path, target string
		want         bool
	}{
		{"/hello", "/hello", true},
		{"/hello", "/hello?who=f", false},
		{"/hello*", "/hello?who=f", true},
		{"/hello?who=f", "/hello?who=f", true},
	} {
		a, err := decodeFault(t, "{from: a, to: b, http: {path: '"+tc.path+"', status: 503}}")
		if err != nil {
			t.Fatal(err)
		}
		if got := a.faults(0).HTTP.Matches("GET", tc.target); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.path, tc.target, got, tc.want)
		}
	}
	doc := func(u step.Usage, name string) string {
		for _, in := range u.Inputs {
			if in.Name == name {
				return in.Doc
			}
		}
		return ""
	}
	if d := doc(Kind{}.Usage(), "http"); !strings.Contains(d, "path and query") || !strings.Contains(d, "/hello* matches both") {
		t.Errorf("fault's http doc does not say what path matches: %s", d)
	}
	if d := doc(wirestep.Kind{}.Usage(), "path"); !strings.Contains(d, "path and query") {
		t.Errorf("interactions' path doc does not say what it matches: %s", d)
	}
}

// A fault's problem is said once, where its key is written, in words of
// its own: no "no fault given" beside a fault that is given but wrong,
// no "want a duration" for a negative one, and a template is refused as
// such (a fault is checked against the suite's edges before anything
// runs, as every typed step field is; nothing would evaluate it).
func TestProblemSaidOnceWhereWritten(t *testing.T) {
	const tmpl = "templates are not allowed here: the fault must be known when the suite is checked"
	for _, tc := range []struct{ src, want string }{
		{`{from: a, to: b, slicer: 10}`, `1:18: fault: unknown key "slicer"`},
		{`{from: a, to: b, latency: -200ms}`, "1:27: fault.latency: a latency cannot be negative"},
		{`{from: a, to: b, latency: 100ms, jitter: -5ms}`, "1:42: fault.jitter: a jitter cannot be negative"},
		{`{from: a, to: b, latency: 200}`, "1:27: fault.latency: want a duration like 5s or 1m30s, got number 200"},
		{`{from: a, to: b, reset: "yes"}`, `1:25: fault.reset: want true or false, got "yes"`},
		{`{from: a, to: b, latency: ((lat))}`, "1:27: fault.latency: " + tmpl},
		{`{from: a, to: b, http: {path: /x, status: ((st))}}`, "1:43: fault.http.status: " + tmpl},
		{`{from: a, to: b, bandwidth: ((bw))}`, "1:29: fault.bandwidth: " + tmpl},
		{`{from: a, to: ((target)), reset: true}`, "1:15: fault.to: " + tmpl},
		{`{from: a, to: b, reset: false}`, "1:1: fault: no fault given; reset: false sets nothing"},
		{`{from: a, to: b}`, "1:1: fault: no fault given"},
		{`{from: a, to: b, http: {status: 999}}`, "1:33: fault.http.status: 999 is not an HTTP status"},
		{`{from: a, to: b, http: {path: /x, slow: -1s}}`, "1:41: fault.http.slow: a hold cannot be negative"},
		{`{from: a, to: b, http: {path: /x}}`, "1:24: fault.http: give status"},
		{`{from: a, to: b, bandwidth: -1}`, "1:29: fault.bandwidth: a bandwidth cannot be negative"},
		{`{from: a, to: b, close_after: -5}`, "1:31: fault.close_after: a byte count cannot be negative"},
	} {
		_, err := decodeFault(t, tc.src)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, "t.yaml:"+tc.want) || strings.Count(got, "t.yaml:") != 1 {
			t.Errorf("%s:\n got %s\nwant t.yaml:%s, alone", tc.src, got, tc.want)
		}
	}
	// Shell arithmetic is no template; a fault with its values written
	// out is taken.
	if !hasTemplate("a((b))") || hasTemplate("$((1+2))") || !hasTemplate("$((1)) ((x))") {
		t.Error("hasTemplate")
	}
	if _, err := decodeFault(t, `{from: a, to: b, latency: 0s, reset: true, http: {path: /x, slow: 1s}}`); err != nil {
		t.Error(err)
	}
}
