package grpcstep

import (
	"context"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

const healthProto = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; Inner inner = 2; repeated Inner list = 3; map<string, Inner> by_name = 4; }
message Inner { string name = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
  rpc Up(stream HealthCheckRequest) returns (HealthCheckResponse);
}
`

// system is one service, auth, whose grpc: names healthProto.
func system(t testing.TB) *service.System {
	t.Helper()
	dir := t.TempDir()
	if err := writeFile(dir+"/h.proto", healthProto); err != nil {
		t.Fatal(err)
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: dir, Protos: []string{"h.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	return service.NewSystem([]*service.Service{{Name: "auth", Ports: []string{"http", "grpc"}, Descriptors: files}})
}

// load decodes src as a grpc step and checks it against sys.
func load(src string, sys *service.System, k *Kind) (*action, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		return nil, err
	}
	var errs diag.List
	a := k.Decode(decode.New("t.yaml", &errs), n.Content[0])
	if a != nil && sys != nil {
		a.(step.ServiceChecker).CheckServices(sys, &errs)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a.(*action), nil
}

func TestDecodeAndCheckErrorsArePlaced(t *testing.T) {
	sys := system(t)
	for _, tc := range []struct{ src, want string }{
		{`{method: grpc.health.v1.Health/Check}`, "t.yaml:1:1: grpc: give either service or addr"},
		{`{service: auth, addr: "x:1", method: a.B/C}`, "t.yaml:1:1: grpc: give either service or addr"},
		{`{service: auth}`, `t.yaml:1:1: grpc: missing required key "method"`},
		{`{service: auth, method: Check}`, `t.yaml:1:25: grpc.method: "Check" is not a gRPC method`},
		{`{service: auth, method: "a.B/C/D"}`, `t.yaml:1:25: grpc.method: "a.B/C/D" is not a gRPC method`},
		{`{addr: "x:1", port: grpc, method: a.B/C}`, "t.yaml:1:21: grpc: port needs service"},
		{`{service: auth, method: a.B/C, request: [1]}`, "t.yaml:1:41: grpc.request: want a mapping"},
		{`{service: auth, method: a.B/C, metdata: {}}`, `t.yaml:1:32: grpc: unknown key "metdata"`},
		{`{service: auth, method: a.B/C, timeout: soon}`, "t.yaml:1:41: grpc.timeout"},
		{`{service: auth, method: grpc.health.v1.Helth/Check}`, "t.yaml:1:25: grpc.method: grpc.health.v1.Helth/Check: no service grpc.health.v1.Helth; did you mean grpc.health.v1.Health?"},
		{`{service: auth, method: grpc.health.v1.Health/Chek}`, "service grpc.health.v1.Health has no method Chek (methods: Check, Watch, Up)"},
		{`{service: auth, method: grpc.health.v1.Health/Up}`, "t.yaml:1:25: grpc.method: grpc.health.v1.Health/Up is client streaming"},
		{`{service: auth, port: admin, method: grpc.health.v1.Health/Check}`, `t.yaml:1:23: grpc.port: service "auth" has no port "admin"`},
		{"service: auth\nmethod: grpc.health.v1.Health/Check\nrequest:\n  service: a\n  inner: {nme: x}", `t.yaml:5:11: grpc.request.inner: grpc.health.v1.Inner has no field "nme"`},
		{"service: auth\nmethod: grpc.health.v1.Health/Check\nrequest:\n  list: [{name: a}, {nam: b}]", `t.yaml:4:22: grpc.request.list: grpc.health.v1.Inner has no field "nam"`},
		{"service: auth\nmethod: grpc.health.v1.Health/Check\nrequest:\n  byName: {a: {x: 1}}", `t.yaml:4:16: grpc.request.byName.a: grpc.health.v1.Inner has no field "x"`},
	} {
		_, err := load(tc.src, sys, New())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want %q", tc.src, err, tc.want)
		}
	}
	// Field names as in the .proto or lowerCamel; templates are left to Run.
	for _, src := range []string{
		"{service: auth, method: /grpc.health.v1.Health/Check, request: {service: a, by_name: {k: {name: n}}}}",
		"{service: auth, method: grpc.health.v1.Health/Watch, request: {((k)): 1}}",
		"{service: ((s)), method: a.B/C}",
		"{addr: '127.0.0.1:1', method: a.B/C}",
	} {
		if _, err := load(src, sys, New()); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

type fakeServices struct{ info map[string]map[string]any }

func (f fakeServices) URL(name string) (string, error) { return "", nil }
func (f fakeServices) Info(name string) (map[string]any, bool) {
	in, ok := f.info[name]
	return in, ok
}

// TestRunAgainstARealServer: unary, an error code with metadata checked
// by the server, a server stream that ends, types from files and by
// reflection.
func TestRunAgainstARealServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if len(md.Get("authorization")) == 0 {
			return nil, status.Error(codes.Unauthenticated, "no token")
		}
		grpc.SetHeader(ctx, metadata.Pairs("x-seen", md.Get("authorization")[0]))
		return h(ctx, req)
	}))
	hs := health.NewServer()
	hs.SetServingStatus("auth", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	go srv.Serve(l)
	defer srv.Stop()
	port := l.Addr().(*net.TCPAddr).Port
	env := &step.Env{Services: fakeServices{info: map[string]map[string]any{
		"auth": {"host": "127.0.0.1", "port": 1, "ports": map[string]any{"http": 1, "grpc": port}},
	}}}
	k := New()
	defer k.Close()
	sys := system(t)
	for _, tc := range []struct {
		src    string
		sys    *service.System
		want   map[string]any
		stream bool
	}{
		{"{service: auth, method: grpc.health.v1.Health/Check, request: {service: auth}, metadata: {Authorization: t}}", sys,
			map[string]any{"code": "OK", "message": map[string]any{"status": "SERVING"}}, false},
		{"{service: auth, method: grpc.health.v1.Health/Check, request: {service: auth}}", nil,
			map[string]any{"code": "UNAUTHENTICATED", "status_message": "no token", "message": nil}, false},
		{"{addr: '127.0.0.1:" + strconv.Itoa(port) + "', method: grpc.health.v1.Health/Check, request: {service: x}, metadata: {authorization: t}}", nil,
			map[string]any{"code": "NOT_FOUND", "status_message": "unknown service"}, false},
		{"{service: auth, method: grpc.health.v1.Health/Watch, request: {service: auth}, timeout: 200ms}", sys,
			map[string]any{"code": "DEADLINE_EXCEEDED"}, true},
	} {
		a, err := load(tc.src, tc.sys, k)
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), env)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		for f, want := range tc.want {
			if got := res.Fields[f]; !equal(got, want) {
				t.Errorf("%s: %s: got %#v; want %#v", tc.src, f, got, want)
			}
		}
		if tc.stream {
			msgs, _ := res.Fields["messages"].([]any)
			if len(msgs) != 1 || !equal(msgs[0], map[string]any{"status": "SERVING"}) {
				t.Errorf("%s: messages %#v; want the one status before the deadline", tc.src, res.Fields["messages"])
			}
		}
		if strings.Contains(res.Request, "authorization: t") {
			t.Errorf("the request text shows the token: %s", res.Request)
		}
	}
	// An unknown method by reflection, and a port without a server.
	a, _ := load("{service: auth, method: grpc.health.v1.Health/Nope}", nil, k)
	if _, err := a.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "has no method Nope") {
		t.Errorf("unknown method: %v", err)
	}
	a, _ = load("{service: auth, port: http, method: grpc.health.v1.Health/Check}", nil, k)
	if _, err := a.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "by server reflection") {
		t.Errorf("no server: %v", err)
	}
}

// FuzzDecode: any step text decodes and checks without a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"{service: auth, method: grpc.health.v1.Health/Check, request: {service: a, inner: {name: b}}}",
		"service: auth\nmethod: grpc.health.v1.Health/Check\nrequest:\n  byName: {a: {x: 1}}\n  list: [{nam: b}, &a {name: c}, *a]",
		"{addr: x, method: /a.B/C, metadata: {a: b}, timeout: 1s}",
	} {
		f.Add(s)
	}
	sys := system(f)
	k := New()
	f.Fuzz(func(t *testing.T, src string) {
		// A hang is a failure too, with the input that caused it.
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("slow: %q", src)) })
		defer tm.Stop()
		// As the loader reads suites: alias expansion is bounded.
		n, err := decode.Parse([]byte(src))
		if err != nil || n == nil || len(n.Content) == 0 {
			return
		}
		var errs diag.List
		if a := k.Decode(decode.New("t.yaml", &errs), n.Content[0]); a != nil {
			a.(step.ServiceChecker).CheckServices(sys, &errs)
		}
	})
}

func writeFile(name, text string) error { return os.WriteFile(name, []byte(text), 0o644) }

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }
