package step

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/service"
)

// What an edge carries comes from each of the callee's kinds, its
// stand-in's too; a kind that may serve anything (a process) rules
// nothing out.
func TestEdgeProtocols(t *testing.T) {
	for _, tc := range []struct {
		svc  service.Service
		want string // "": unknown
	}{
		{service.Service{Kind: "redis"}, "Redis"},
		{service.Service{Kind: "postgres"}, "PostgreSQL"},
		{service.Service{Kind: "mariadb"}, "MySQL"},
		{service.Service{Kind: "nats"}, "NATS"},
		{service.Service{Kind: "stub"}, "HTTP"},
		{service.Service{Kind: "process"}, ""},
		{service.Service{Kind: "process", StandIn: &service.StandIn{Kind: "stub"}}, ""},
		{service.Service{Kind: "stub", RealKind: "process", Standing: true}, ""},
		{service.Service{Kind: "stub", RealKind: "redis", Standing: true}, "HTTP or Redis"},
		{service.Service{Kind: "redis", StandIn: &service.StandIn{Kind: "stub"}}, "Redis or HTTP"},
	} {
		got, _, ok := EdgeProtocols(&tc.svc)
		if s := names(got); s != tc.want || ok != (tc.want != "") {
			t.Errorf("%+v: %q (known %v), want %q", tc.svc, s, ok, tc.want)
		}
	}
}

func TestCheckEdge(t *testing.T) {
	sys := service.NewSystem([]*service.Service{{Name: "cache", Kind: "redis"}, {Name: "app", Kind: "process"},
		{Name: "both", Kind: "redis", StandIn: &service.StandIn{Kind: "stub"}}})
	http := []Protocol{HTTP}
	at := diag.Pos{File: "t.yaml", Line: 3, Col: 7}
	for _, tc := range []struct {
		to, want string
	}{
		{"cache", "t.yaml:3:7: x.method: cache is a redis service, so app→cache carries Redis, not HTTP: it would never apply (use command)"},
		{"app", ""},  // a process may speak HTTP
		{"both", ""}, // as may the stand-in
		{"nope", ""}, // reported elsewhere
	} {
		var errs diag.List
		CheckEdge(sys, "app", tc.to, []EdgeCheck{{What: "x.method", Pos: at, Want: http, Hint: map[Protocol]string{Redis: "use command"}}}, &errs)
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.to, got, tc.want)
		}
	}
}

// A gRPC method (a pattern: * within a segment) must match one the
// callee's protos declare; without them nothing is checked.
func TestCheckGRPCMethod(t *testing.T) {
	dir := t.TempDir()
	src := "syntax = \"proto3\";\npackage a.v1;\nmessage R {}\nservice A { rpc Do(R) returns (R); rpc Undo(R) returns (R); }\n"
	if err := os.WriteFile(filepath.Join(dir, "a.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: dir, Protos: []string{"a.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(GRPCMethods(files), " "); got != "/a.v1.A/Do /a.v1.A/Undo" {
		t.Errorf("methods: %s", got)
	}
	sys := service.NewSystem([]*service.Service{{Name: "g", Kind: "process", Descriptors: files}, {Name: "r", Kind: "process"}})
	at := diag.Pos{File: "t.yaml", Line: 1, Col: 2}
	for _, tc := range []struct{ svc, method, want string }{
		{"g", "/a.v1.A/Do", ""},
		{"g", "/a.v1.A/*", ""},
		{"g", "/a.v1.*/Undo", ""},
		{"g", "/a.v1.A/Dox", "t.yaml:1:2: m: g serves no method /a.v1.A/Dox (did you mean /a.v1.A/Do?"},
		{"g", "/a.v1.B/*", "t.yaml:1:2: m: /a.v1.B/* matches none of the methods g serves (g's methods: /a.v1.A/Do, /a.v1.A/Undo)"},
		{"r", "/a.v1.A/Dox", ""}, // known by reflection only, if at all
	} {
		var errs diag.List
		CheckGRPCMethod(sys, tc.svc, tc.method, "m", at, &errs)
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: got %q, want %q", tc.svc, tc.method, got, tc.want)
		}
	}
}
