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
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
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
		{`{service: auth, method: grpc.health.v1.Health/Chek}`, "t.yaml:1:25: grpc.method: grpc.health.v1.Health/Chek: service grpc.health.v1.Health has no method Chek; did you mean Check?"},
		{`{service: auth, method: grpc.health.v1.Health/Status}`, "service grpc.health.v1.Health has no method Status (methods: Check, Watch, Up)"},
		{`{service: auth, method: a.B/C, metadata: {x-bin: "not base64!"}}`, `t.yaml:1:50: grpc.metadata.x-bin: a -bin value is the bytes to send in base64`},
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
		"{addr: '127.0.0.1:1', method: a.B/C, metadata: {x-bin: AAEC/w, y-bin: AAEC/w==, z-bin: ((v))}}",
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
	// An unknown method by reflection.
	a, _ := load("{service: auth, method: grpc.health.v1.Health/Nope}", nil, k)
	if _, err := a.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "has no method Nope (methods: Check, List, Watch)") {
		t.Errorf("unknown method: %v", err)
	}
	a, _ = load("{service: auth, method: grpc.health.v1.Health/Chekc}", nil, k)
	if _, err := a.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "has no method Chekc; did you mean Check?") {
		t.Errorf("a typo'd method: %v", err)
	}
}

// serve starts srv on loopback until the test ends.
func serve(t *testing.T, srv *grpc.Server) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().(*net.TCPAddr).Port
}

// run loads src as a grpc step and runs it within timeout, as the engine
// runs a step.
func run(t *testing.T, k *Kind, src string, sys *service.System, env *step.Env, timeout time.Duration) (*step.Result, error) {
	t.Helper()
	a, err := load(src, sys, k)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.Run(ctx, env)
}

// TestReflectionErrors: a server that cannot be reached is code
// UNAVAILABLE, as the call would end, when its types were to be asked by
// reflection too; one without reflection is an error that says to
// register it; one with only v1alpha reflection is asked by that.
func TestReflectionErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	none := grpc.NewServer()
	healthpb.RegisterHealthServer(none, health.NewServer())
	alpha := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("a", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(alpha, hs)
	v1alphagrpc.RegisterServerReflectionServer(alpha, reflection.NewServer(reflection.ServerOptions{Services: alpha}))
	k := New()
	defer k.Close()

	res, err := run(t, k, "{addr: '"+down+"', method: grpc.health.v1.Health/Check}", nil, &step.Env{}, 5*time.Second)
	if err != nil {
		t.Fatalf("a server that is down: %v", err)
	}
	for f, want := range map[string]any{"code": "UNAVAILABLE", "message": nil, "messages": []any{}, "headers": map[string]any{}} {
		if got := res.Fields[f]; !equal(got, want) {
			t.Errorf("a server that is down: %s: got %#v; want %#v", f, got, want)
		}
	}
	if m, _ := res.Fields["status_message"].(string); !strings.Contains(m, "connection refused") {
		t.Errorf("a server that is down: status_message %q; want the dial error", m)
	}

	_, err = run(t, k, "{addr: '127.0.0.1:"+strconv.Itoa(serve(t, none))+"', method: grpc.health.v1.Health/Check}", nil, &step.Env{}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "serves no reflection") || !strings.Contains(err.Error(), "register the reflection service") {
		t.Errorf("a server without reflection: %v", err)
	}

	res, err = run(t, k, "{addr: '127.0.0.1:"+strconv.Itoa(serve(t, alpha))+"', method: grpc.health.v1.Health/Check, request: {service: a}}", nil, &step.Env{}, 5*time.Second)
	if err != nil {
		t.Fatalf("v1alpha reflection: %v", err)
	}
	if !equal(res.Fields["message"], map[string]any{"status": "SERVING"}) {
		t.Errorf("v1alpha reflection: %#v", res.Fields)
	}
}

const echoProto = `syntax = "proto3";
package test.v1;
message Blob { bytes data = 1; int32 pad = 2; int32 sleep_ms = 3; }
service Echo { rpc Echo(Blob) returns (Blob); }
`

// echoServer serves echoProto: it answers with pad bytes of data after
// sleep_ms, sets the header x-resp-bin to the bytes 0 1 2 255, and sends
// back the request's x-data-bin as the trailer x-echo-bin.
func echoServer(t *testing.T) (*service.System, int) {
	t.Helper()
	dir := t.TempDir()
	if err := writeFile(dir+"/echo.proto", echoProto); err != nil {
		t.Fatal(err)
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: dir, Protos: []string{"echo.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName("test.v1.Blob")
	if err != nil {
		t.Fatal(err)
	}
	blob := d.(protoreflect.MessageDescriptor)
	echo := func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		in := dynamicpb.NewMessage(blob)
		if err := dec(in); err != nil {
			return nil, err
		}
		if ms := in.Get(blob.Fields().ByName("sleep_ms")).Int(); ms > 0 {
			select {
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			case <-time.After(time.Duration(ms) * time.Millisecond):
			}
		}
		md, _ := metadata.FromIncomingContext(ctx)
		grpc.SetHeader(ctx, metadata.Pairs("x-resp-bin", "\x00\x01\x02\xff"))
		grpc.SetTrailer(ctx, metadata.MD{"x-echo-bin": md.Get("x-data-bin")})
		out := dynamicpb.NewMessage(blob)
		out.Set(blob.Fields().ByName("data"), protoreflect.ValueOfBytes(make([]byte, in.Get(blob.Fields().ByName("pad")).Int())))
		return out, nil
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	srv.RegisterService(&grpc.ServiceDesc{ServiceName: "test.v1.Echo", HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: echo}}}, struct{}{})
	port := serve(t, srv)
	return service.NewSystem([]*service.Service{{Name: "echo", Ports: []string{"grpc"}, Descriptors: files}}), port
}

func echoEnv(port int) *step.Env {
	return &step.Env{Services: fakeServices{info: map[string]map[string]any{
		"echo": {"host": "127.0.0.1", "port": port, "ports": map[string]any{"grpc": port}},
	}}}
}

// TestLargeMessages: messages past grpc-go's default 4 MiB.
func TestLargeMessages(t *testing.T) {
	sys, port := echoServer(t)
	k := New()
	defer k.Close()
	res, err := run(t, k, "{service: echo, method: test.v1.Echo/Echo, request: {pad: 5000000}}", sys, echoEnv(port), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fields["code"] != "OK" {
		t.Fatalf("a 5 MB answer: %v: %v", res.Fields["code"], res.Fields["status_message"])
	}
	if data, _ := res.Fields["message"].(map[string]any)["data"].(string); len(data) < 5000000 {
		t.Errorf("a 5 MB answer: %d bytes of base64", len(data))
	}
}

// TestBinaryMetadata: -bin values are base64 both ways, as on the wire.
func TestBinaryMetadata(t *testing.T) {
	sys, port := echoServer(t)
	k := New()
	defer k.Close()
	for _, sent := range []string{"AAEC/w", "AAEC/w=="} {
		res, err := run(t, k, "{service: echo, method: test.v1.Echo/Echo, metadata: {x-data-bin: '"+sent+"'}}", sys, echoEnv(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Fields["headers"].(map[string]any)["x-resp-bin"]; got != "AAEC/w" {
			t.Errorf("header x-resp-bin: got %#v; want AAEC/w", got)
		}
		if got := res.Fields["trailers"].(map[string]any)["x-echo-bin"]; got != "AAEC/w" {
			t.Errorf("%s sent: trailer x-echo-bin: got %#v; want AAEC/w", sent, got)
		}
	}
}

// TestDeadline: without a timeout the call's deadline is a little before
// the step's, so that a slow call ends with code DEADLINE_EXCEEDED, not
// with the step timed out; a timeout past the step's is cut to it.
func TestDeadline(t *testing.T) {
	sys, port := echoServer(t)
	k := New()
	defer k.Close()
	for _, src := range []string{
		"{service: echo, method: test.v1.Echo/Echo, request: {sleep_ms: 3000}}",
		"{service: echo, method: test.v1.Echo/Echo, request: {sleep_ms: 3000}, timeout: 10s}",
	} {
		start := time.Now()
		res, err := run(t, k, src, sys, echoEnv(port), 500*time.Millisecond)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if res.Fields["code"] != "DEADLINE_EXCEEDED" {
			t.Errorf("%s: code %v", src, res.Fields["code"])
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s: the status after %s, past the step's timeout", src, d)
		}
	}
	a := &action{Timeout: time.Second}
	now := time.Now()
	for _, tc := range []struct {
		step time.Duration // 0: none
		want time.Duration
	}{
		{0, time.Second},
		{10 * time.Second, time.Second},
		{time.Second, 900 * time.Millisecond},
		{500 * time.Millisecond, 450 * time.Millisecond},
		{time.Minute, time.Second},
	} {
		ctx := context.Background()
		if tc.step > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, now.Add(tc.step))
			defer cancel()
		}
		if d, ok := a.deadline(ctx, now); !ok || d.Sub(now) != tc.want {
			t.Errorf("timeout 1s, step %s: the call's deadline in %s; want %s", tc.step, d.Sub(now), tc.want)
		}
	}
	a.Timeout = 0
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Minute))
	defer cancel()
	if d, _ := a.deadline(ctx, now); d.Sub(now) != time.Minute-maxDeadlineMargin {
		t.Errorf("no timeout, step 1m: the call's deadline in %s", d.Sub(now))
	}
	if _, ok := a.deadline(context.Background(), now); ok {
		t.Errorf("no timeout and no step deadline: a deadline")
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

// partialReflection describes t.S, whose request uses a type of a file it
// does not send.
type partialReflection struct {
	rpb.UnimplementedServerReflectionServer
}

func (partialReflection) ServerReflectionInfo(st rpb.ServerReflection_ServerReflectionInfoServer) error {
	file, _ := proto.Marshal(&descriptorpb.FileDescriptorProto{
		Name: proto.String("t.proto"), Package: proto.String("t"), Syntax: proto.String("proto3"),
		Dependency: []string{"other.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: proto.String("m"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".other.Missing")}}}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("S"), Method: []*descriptorpb.MethodDescriptorProto{{
			Name: proto.String("M"), InputType: proto.String(".t.Req"), OutputType: proto.String(".t.Req")}}}},
	})
	for {
		req, err := st.Recv()
		if err != nil {
			return nil
		}
		resp := &rpb.ServerReflectionResponse{MessageResponse: &rpb.ServerReflectionResponse_ErrorResponse{
			ErrorResponse: &rpb.ErrorResponse{ErrorCode: int32(codes.NotFound), ErrorMessage: "not found"}}}
		switch req.MessageRequest.(type) {
		case *rpb.ServerReflectionRequest_ListServices:
			resp.MessageResponse = &rpb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: &rpb.ListServiceResponse{
				Service: []*rpb.ServiceResponse{{Name: "t.S"}}}}
		case *rpb.ServerReflectionRequest_FileContainingSymbol:
			resp.MessageResponse = &rpb.ServerReflectionResponse_FileDescriptorResponse{FileDescriptorResponse: &rpb.FileDescriptorResponse{
				FileDescriptorProto: [][]byte{file}}}
		}
		if err := st.Send(resp); err != nil {
			return err
		}
	}
}

// TestReflectedPlaceholders: a type the server's reflection names but
// does not describe fails the step, saying which.
func TestReflectedPlaceholders(t *testing.T) {
	srv := grpc.NewServer()
	rpb.RegisterServerReflectionServer(srv, partialReflection{})
	k := New()
	defer k.Close()
	_, err := run(t, k, "{addr: '127.0.0.1:"+strconv.Itoa(serve(t, srv))+"', method: t.S/M}", nil, &step.Env{}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "reflection names types it does not describe: other.Missing") {
		t.Errorf("a type not described: %v", err)
	}
}
