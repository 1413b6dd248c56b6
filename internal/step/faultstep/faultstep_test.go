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
			"1:1: fault.http.status: 700 is not an HTTP status", "1:45: fault.grpc.code: OK is not a fault"}},
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
