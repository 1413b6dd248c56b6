package stub

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/seamtest/seam/internal/protos"
)

func greeterTypes(t *testing.T) *protoregistry.Files {
	t.Helper()
	files, err := protos.Load(context.Background(), protos.Sources{Dir: "testdata/grpc", Protos: []string{"greeter.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// grpcStub serves mappings (WireMock JSON) with the greeter's types and
// returns a grpc-go client connection to it.
func grpcStub(t *testing.T, doc string, files *protoregistry.Files) (*Server, *grpc.ClientConn, string) {
	t.Helper()
	s, hs := serve(t, doc, Options{GRPC: files})
	addr := strings.TrimPrefix(hs.URL, "http://")
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return s, cc, addr
}

func msg(t *testing.T, files *protoregistry.Files, name, js string) *dynamicpb.Message {
	t.Helper()
	d, err := files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
	if js != "" {
		if err := protojson.Unmarshal([]byte(js), m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func asJSON(m proto.Message) string {
	b, _ := protojson.MarshalOptions{}.Marshal(m)
	return strings.ReplaceAll(string(b), " ", "")
}

const greeterMappings = `{"mappings": [
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Ada", "visits": "3"}}]},
   "response": {"status": 200, "jsonBody": {"greeting": "hello Ada", "at": "2026-01-02T03:04:05Z"}}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"matchesJsonPath": "$[?(@.name == 'Bob')]"}]},
   "response": {"status": 200, "body": "{\"greeting\": \"hi {{jsonPath request.body '$.name'}} from {{request.headers.x-team}}\"}",
     "headers": {"x-served-by": "stub"}, "transformers": ["response-template"]}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Eve"}}]},
   "response": {"status": 200, "headers": {"grpc-status-name": "PERMISSION_DENIED", "grpc-status-reason": "eve is not let in: 100% sure"}}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Mal"}}]},
   "response": {"status": 503, "body": "down for maintenance"}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Typo"}}]},
   "response": {"status": 200, "jsonBody": {"greetin": "x"}}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Slow"}}]},
   "response": {"status": 200, "jsonBody": {"greeting": "late"}, "fixedDelayMilliseconds": 2000}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Reset"}}]},
   "response": {"fault": "CONNECTION_RESET_BY_PEER"}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello",
     "bodyPatterns": [{"equalToJson": {"name": "Empty"}}]},
   "response": {"fault": "EMPTY_RESPONSE"}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Count"},
   "response": {"status": 200, "jsonBody": [{"n": 1}, {"n": 2}, {"n": 3}]}},
  {"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Sum",
     "bodyPatterns": [{"equalToJson": [{"upto": 1}, {"upto": 2}]}]},
   "response": {"status": 200, "jsonBody": {"n": 3}}},
  {"request": {"method": "GET", "urlPath": "/plain"}, "response": {"status": 200, "body": "plain"}}
]}`

func TestGRPCCallsAreMatchedAndAnsweredAsJSON(t *testing.T) {
	files := greeterTypes(t)
	s, cc, _ := grpcStub(t, greeterMappings, files)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hello := func(js string, opts ...grpc.CallOption) (*dynamicpb.Message, error) {
		out := msg(t, files, "test.v1.HelloReply", "")
		err := cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", js), out, opts...)
		return out, err
	}

	out, err := hello(`{"name": "Ada", "visits": 3}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(out); got != `{"greeting":"helloAda","at":"2026-01-02T03:04:05Z"}` {
		t.Errorf("Ada: got %s", got)
	}
	// Compressed by the caller, templated from the body and the metadata,
	// with a header of the mapping's as metadata.
	var hdr metadata.MD
	out, err = hello(`{"name": "Bob"}`, grpc.UseCompressor("gzip"), grpc.Header(&hdr))
	if err == nil {
		ctx2 := metadata.AppendToOutgoingContext(ctx, "x-team", "blue")
		out = msg(t, files, "test.v1.HelloReply", "")
		err = cc.Invoke(ctx2, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name": "Bob"}`), out, grpc.UseCompressor("gzip"), grpc.Header(&hdr))
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(out); got != `{"greeting":"hiBobfromblue"}` {
		t.Errorf("Bob: got %s", got)
	}
	if got := hdr.Get("x-served-by"); len(got) != 1 || got[0] != "stub" {
		t.Errorf("Bob: header metadata %v", hdr)
	}

	for _, c := range []struct {
		req  string
		code codes.Code
		msg  string
	}{
		{`{"name": "Eve"}`, codes.PermissionDenied, "eve is not let in: 100% sure"},
		{`{"name": "Mal"}`, codes.Unavailable, "down for maintenance"},
		{`{"name": "Typo"}`, codes.Internal, `test.v1.HelloReply`},
		{`{"name": "Nobody"}`, codes.NotFound, "no mapping matched POST /test.v1.Greeter/Hello"},
	} {
		_, err := hello(c.req)
		st, _ := status.FromError(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.msg) {
			t.Errorf("%s: got %v %q; want %v with %q", c.req, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	_, err = hello(`{"name": "Nobody"}`)
	if st, _ := status.FromError(err); !strings.Contains(st.Message(), `Nobody`) || !strings.Contains(st.Message(), "closest:") {
		t.Errorf("an unmatched call should say what was sent and the closest mappings: %q", st.Message())
	}

	// A server-streaming method answers a JSON list as a stream.
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/test.v1.Greeter/Count")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(msg(t, files, "test.v1.CountRequest", `{"upto": 3}`)); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	var got []string
	for {
		m := msg(t, files, "test.v1.CountReply", "")
		if err := st.RecvMsg(m); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, asJSON(m))
	}
	if strings.Join(got, " ") != `{"n":1} {"n":2} {"n":3}` {
		t.Errorf("stream: %v", got)
	}
	// A client stream is matched as a JSON list.
	cs, err := cc.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/test.v1.Greeter/Sum")
	if err != nil {
		t.Fatal(err)
	}
	cs.SendMsg(msg(t, files, "test.v1.CountRequest", `{"upto": 1}`))
	cs.SendMsg(msg(t, files, "test.v1.CountRequest", `{"upto": 2}`))
	cs.CloseSend()
	sum := msg(t, files, "test.v1.CountReply", "")
	if err := cs.RecvMsg(sum); err != nil || asJSON(sum) != `{"n":3}` {
		t.Errorf("client stream: %v %s", err, asJSON(sum))
	}

	// An unknown method is UNIMPLEMENTED, naming those the protos define.
	err = cc.Invoke(ctx, "/test.v1.Greeter/Nope", msg(t, files, "test.v1.HelloRequest", ""), msg(t, files, "test.v1.HelloReply", ""))
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "/test.v1.Greeter/Hello") {
		t.Errorf("unknown method: %v", err)
	}

	// The journal has the calls as JSON, for stub-verify, and the
	// unmatched ones fail the test.
	n := 0
	for _, e := range s.since(time.Time{}) {
		if e.Request.URL == "/test.v1.Greeter/Hello" && string(e.Request.Body) == `{"name":"Ada","visits":"3"}` && e.Request.IsGRPC() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("journal: %d calls from Ada", n)
	}
	if err := s.Unmatched(time.Time{}); err == nil || !strings.Contains(err.Error(), "Nobody") {
		t.Errorf("unmatched: %v", err)
	}
}

func TestGRPCFaultsAndDelays(t *testing.T) {
	files := greeterTypes(t)
	_, cc, _ := grpcStub(t, greeterMappings, files)
	call := func(name string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name": "`+name+`"}`), msg(t, files, "test.v1.HelloReply", ""))
	}
	if st, _ := status.FromError(call("Slow", 200*time.Millisecond)); st.Code() != codes.DeadlineExceeded {
		t.Errorf("a delay beyond the deadline: %v", st)
	}
	if st, _ := status.FromError(call("Empty", 5*time.Second)); st.Code() != codes.Internal && st.Code() != codes.Unavailable {
		t.Errorf("EMPTY_RESPONSE: %v", st)
	}
	if st, _ := status.FromError(call("Reset", 5*time.Second)); st.Code() != codes.Unavailable {
		t.Errorf("CONNECTION_RESET_BY_PEER: %v", st)
	}
	// The client reconnects and goes on.
	if err := call("Ada", 5*time.Second); err == nil || status.Code(err) != codes.NotFound {
		// Ada without visits matches no mapping: NOT_FOUND, not a transport error.
		t.Errorf("after a reset: %v", err)
	}
}

func TestHTTP2AndHTTP1ShareThePort(t *testing.T) {
	_, hs := serve(t, greeterMappings, Options{})
	addr := strings.TrimPrefix(hs.URL, "http://")
	h2c := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	for _, c := range []*http.Client{h2c, http.DefaultClient} {
		for _, path := range []string{"/plain", "/__admin/health"} {
			resp, err := c.Get(hs.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || path == "/plain" && string(b) != "plain" {
				t.Errorf("%s over HTTP/%d: %d %q", path, resp.ProtoMajor, resp.StatusCode, b)
			}
		}
	}
	// A caller that writes its request a byte at a time, pausing: the
	// sniffing waits for as many bytes as it needs, and loses none.
	for _, req := range []string{"PUT /plain HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(req); i++ {
			c.Write([]byte{req[i]})
			if i < 4 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 512)
		n, _ := io.ReadAtLeast(c, b, 12)
		c.Close()
		want := "HTTP/1.1 200"
		if strings.HasPrefix(req, "PUT") {
			want = "HTTP/1.1 404" // no mapping for PUT
		}
		if !strings.HasPrefix(string(b[:n]), want) {
			t.Errorf("%q written a byte at a time: got %q", req[:3], b[:n])
		}
	}
}

func TestCloseEndsHTTP2Connections(t *testing.T) {
	s := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(h2Preface[:10])) // sniffing, waiting for the rest
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte(h2Preface)) // served over HTTP/2
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	l.Close(ctx)
	if time.Since(start) > 3*time.Second {
		t.Errorf("Close waited %v", time.Since(start))
	}
	for _, x := range []net.Conn{c, c2} {
		x.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(x); err != nil {
			t.Errorf("a connection stayed open after Close: %v", err)
		}
	}
}

func TestGRPCRoutesInSeamsForm(t *testing.T) {
	files := greeterTypes(t)
	ms, err := ParseRoutes("routes.yaml", []byte(`
- when: GRPC /test.v1.Greeter/Hello
  body: {equalToJson: {name: Ada}}
  then: {grpc: {code: not_found, message: "no Ada here"}}
- when: GRPC /test.v1.Greeter/Count
  then: {json: [{n: 7}, {n: 8}]}
- when: GRPC /test.v1.Greeter/Hello
  body: {equalToJson: {name: Tpl}, ignoreExtraElements: true}
  then: {json: {greeting: "{{jsonPath request.body '$.visits'}} visits"}, template: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{GRPC: files})
	s.Add(ms...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	defer l.Close(context.Background())
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name":"Ada"}`), msg(t, files, "test.v1.HelloReply", ""))
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "no Ada here" {
		t.Errorf("then.grpc: got %v", err)
	}
	out := msg(t, files, "test.v1.HelloReply", "")
	if err := cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name":"Tpl","visits":12}`), out); err != nil || asJSON(out) != `{"greeting":"12visits"}` {
		t.Errorf("a templated json answer: %v %s", err, asJSON(out))
	}
	if got := ms[0].GRPCStatus(); got != "NOT_FOUND" {
		t.Errorf("GRPCStatus: %s", got)
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/test.v1.Greeter/Count")
	if err != nil {
		t.Fatal(err)
	}
	st.SendMsg(msg(t, files, "test.v1.CountRequest", `{}`))
	st.CloseSend()
	var got []string
	for {
		m := msg(t, files, "test.v1.CountReply", "")
		if st.RecvMsg(m) != nil {
			break
		}
		got = append(got, asJSON(m))
	}
	if strings.Join(got, " ") != `{"n":7} {"n":8}` {
		t.Errorf("json list as a stream: %v", got)
	}

	_, err = ParseRoutes("bad.yaml", []byte("- when: GRPC /a.B/C\n  then: {grpc: {code: NOPE}}\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:2:") || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Errorf("a bad code: %v", err)
	}
}

func TestAGRPCFolderOfAMappingsFolderGivesTheTypes(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mappings"), 0o755)
	os.MkdirAll(filepath.Join(dir, "grpc"), 0o755)
	proto, _ := os.ReadFile("testdata/grpc/greeter.proto")
	os.WriteFile(filepath.Join(dir, "grpc", "greeter.proto"), proto, 0o644)
	os.WriteFile(filepath.Join(dir, "mappings", "hello.json"), []byte(`{"request": {"method": "POST", "urlPath": "/test.v1.Greeter/Hello"}, "response": {"jsonBody": {"greeting": "hi"}}}`), 0o644)
	src, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.GRPC == nil || len(src.Mappings) != 1 {
		t.Fatalf("grpc/ not read: %+v", src)
	}
	if _, err := src.GRPC.FindDescriptorByName("test.v1.Greeter"); err != nil {
		t.Error(err)
	}
	os.WriteFile(filepath.Join(dir, "grpc", "broken.proto"), []byte("syntax = \"proto3\";\nmessage {"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "broken.proto:2:") {
		t.Errorf("a broken .proto in grpc/: %v", err)
	}
}

// FuzzGRPCMessages: any body a caller sends is cut into messages or
// refused with an error, never a panic, and the messages are its bytes.
func FuzzGRPCMessages(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1}, "")
	f.Add([]byte{1, 0, 0, 0, 3, 1, 2, 3}, "gzip")
	f.Add([]byte{0, 0, 0, 0}, "")
	f.Add([]byte{0, 255, 255, 255, 255}, "")
	f.Fuzz(func(t *testing.T, b []byte, enc string) {
		msgs, err := grpcMessages(b, enc, 1<<20)
		if err != nil {
			return
		}
		n := 0
		for _, m := range msgs {
			n += len(m)
		}
		if enc != "gzip" && n+5*len(msgs) != len(b) {
			t.Fatalf("%d bytes in %d messages from %d", n, len(msgs), len(b))
		}
	})
}
