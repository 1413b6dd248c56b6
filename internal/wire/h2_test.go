package wire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// -capture rewrites the fuzz seeds in testdata/h2 from real traffic.
var capture = flag.Bool("capture", false, "record the bytes of the HTTP/2 and gRPC tests into testdata/h2")

// tap records what crosses a proxy both ways, in order, for the fuzz
// seeds: each chunk as a direction byte (0 from the client, 1 from the
// server), a 4-byte big-endian length and the bytes.
type tap struct {
	mu  sync.Mutex
	log bytes.Buffer
}

// relay is a plain byte relay in front of target that records into t.
func relay(tb testing.TB, target string, t *tap) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			copyOne := func(dst, src net.Conn, dir byte) {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						t.mu.Lock()
						t.log.Write([]byte{dir, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
						t.log.Write(buf[:n])
						dst.Write(buf[:n])
						t.mu.Unlock()
					}
					if err != nil {
						dst.Close()
						src.Close()
						return
					}
				}
			}
			wg.Add(2)
			go copyOne(s, c, 0)
			go copyOne(c, s, 1)
		}
	}()
	return ln.Addr().String()
}

func (t *tap) save(tb testing.TB, name string) {
	if !*capture {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	dir := filepath.Join("testdata", "h2")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".log"), t.log.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// The test's gRPC service, registered from a descriptor (no protoc):
// seam.test.Echo/Count streams n strings back for a UInt32Value n.
func echoFile(t testing.TB) *protoregistry.Files {
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("seam/test/echo.proto"), Package: proto.String("seam.test"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/wrappers.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Echo"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("Count"), InputType: proto.String(".google.protobuf.UInt32Value"),
				OutputType: proto.String(".google.protobuf.StringValue"), ServerStreaming: proto.Bool(true)}}}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	for _, f := range []protoreflect.FileDescriptor{fd, healthpb.File_grpc_health_v1_health_proto, wrapperspb.File_google_protobuf_wrappers_proto} {
		if err := files.RegisterFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "seam.test.Echo",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{StreamName: "Count", ServerStreams: true, Handler: func(_ any, s grpc.ServerStream) error {
		var n wrapperspb.UInt32Value
		if err := s.RecvMsg(&n); err != nil {
			return err
		}
		for i := range n.Value {
			if err := s.SendMsg(wrapperspb.String(fmt.Sprintf("n%d", i+1))); err != nil {
				return err
			}
		}
		return nil
	}}},
}

// grpcServer serves health and Echo on loopback; calls without an
// "authorization" metadata are refused UNAUTHENTICATED.
func grpcServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	auth := func(ctx context.Context) error {
		md, _ := metadata.FromIncomingContext(ctx)
		if len(md.Get("authorization")) == 0 {
			return status.Error(codes.Unauthenticated, "no token: 100% refusé")
		}
		return nil
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := auth(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}))
	hs := health.NewServer()
	hs.SetServingStatus("auth", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	srv.RegisterService(&echoDesc, struct{}{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// listened is a recording proxy on edge in front of target, closed when
// the test ends.
func listened(t *testing.T, edge, target string, report func(Interaction)) *Proxy {
	t.Helper()
	p, err := Listen(edge, target, report)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// grpcClient is a grpc-go client of addr (plaintext HTTP/2), closed when
// the test ends.
func grpcClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// tapped is a recording proxy on edge in front of target, with a relay
// between them recording the bytes into tp; all are closed when the test
// ends.
func tapped(t *testing.T, edge, target string, tp *tap) (*Proxy, *sink) {
	t.Helper()
	s := &sink{}
	p, err := Listen(edge, relay(t, target, tp), s.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, s
}

func TestGRPCCallsAreRecorded(t *testing.T) {
	target := grpcServer(t)
	var tp tap
	p, s := tapped(t, "sales→auth", target, &tp)
	p.SetDescriptors(echoFile(t))
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	// Unary OK.
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer x")
	if r, err := hc.Check(authed, &healthpb.HealthCheckRequest{Service: "auth"}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("check: %v %v", r, err)
	}
	// Unary UNAUTHENTICATED.
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("check without a token: %v", err)
	}
	// Unary OK, gzip-compressed both ways.
	if _, err := hc.Check(authed, &healthpb.HealthCheckRequest{Service: "zipped"}, grpc.UseCompressor(gzip.Name)); status.Code(err) != codes.NotFound {
		t.Fatalf("a compressed check: %v", err)
	}
	// Server streaming: three messages, then OK.
	st, err := conn.NewStream(ctx, &echoDesc.Streams[0], "/seam.test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(wrapperspb.UInt32(3)); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	var got []string
	for {
		var m wrapperspb.StringValue
		if err := st.RecvMsg(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, m.Value)
	}
	if strings.Join(got, ",") != "n1,n2,n3" {
		t.Fatalf("stream: %v", got)
	}
	conn.Close()
	waitForN(t, s, 4)
	calls := grpcOnly(s)
	if len(calls) != 4 {
		t.Fatalf("want 4 gRPC calls, got %q", s.lines())
	}
	ok, unauth, zipped, stream := calls[0], calls[1], calls[2], calls[3]
	// The JSON is made when first read (Bodies), not in the forwarding.
	if ok.RequestBody != nil || ok.ResponseBody != nil {
		t.Errorf("gRPC messages rendered before anyone read them: %s → %s", ok.RequestBody, ok.ResponseBody)
	}
	zReq, zResp := zipped.Bodies()
	// gzip makes the 8-byte message larger: it was compressed.
	if string(zReq) != `{"service":"zipped"}` || zipped.Result != "NOT_FOUND: unknown service" || zipped.RequestSize <= 5+8+10 {
		t.Errorf("compressed call: %s → %s (%s)", zReq, zResp, zipped.Result)
	}
	if ok.Op != "GRPC /grpc.health.v1.Health/Check" || ok.Result != "OK" || ok.Suspicious || ok.GRPCStatus != 0 || ok.Status != 200 {
		t.Errorf("ok call: %+v", ok)
	}
	// Every copy of the interaction shares one rendering, safe to read at once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if req, resp := ok.Bodies(); string(req) != `{"service":"auth"}` || string(resp) != `{"status":"SERVING"}` {
				t.Errorf("ok call's messages: %s → %s", req, resp)
			}
		}()
	}
	wg.Wait()
	if ok.RequestMessages != 1 || ok.ResponseMessages != 1 || ok.RequestSize != 5+6 || ok.ResponseSize != 5+2 {
		t.Errorf("ok call's sizes: %d/%d messages, %d/%d bytes", ok.RequestMessages, ok.ResponseMessages, ok.RequestSize, ok.ResponseSize)
	}
	if unauth.GRPCStatus != 16 || unauth.GRPCMessage != "no token: 100% refusé" || !unauth.Suspicious ||
		unauth.Result != "UNAUTHENTICATED: no token: 100% refusé" {
		t.Errorf("unauthenticated call: %+v", unauth)
	}
	sReq, sResp := stream.Bodies()
	if stream.Target != "/seam.test.Echo/Count" || stream.Result != "OK" || stream.ResponseMessages != 3 ||
		string(sResp) != `["n1","n2","n3"]` || string(sReq) != `3` {
		t.Errorf("streaming call: %+v (%s → %s)", stream, sReq, sResp)
	}
	// The call whole, for the reports: metadata (its secret masked),
	// messages as JSON, the answer's headers and trailers.
	req, reqBody, resp, respBody := ok.Content()
	for _, want := range []string{"GRPC /grpc.health.v1.Health/Check\n", "content-type: application/grpc", "authorization: ***"} {
		if !strings.Contains(req, want) {
			t.Errorf("the ok call's request lacks %q:\n%s", want, req)
		}
	}
	if strings.Contains(req, "Bearer x") || reqBody != `{"service":"auth"}` || respBody != `{"status":"SERVING"}` ||
		!strings.HasPrefix(resp, "OK\n") || !strings.Contains(resp, "grpc-status: 0") {
		t.Errorf("the ok call's content: %q %q → %q %q", req, reqBody, resp, respBody)
	}
	if !strings.Contains(stream.Line(), "(1 message, 7 B → 3 messages, 27 B)") {
		t.Errorf("streaming call's line: %s", stream.Line())
	}
	tp.save(t, "grpc")
}

// gRPC messages are rendered when first read, and masked then as emit
// masks every body: the built-in secret fields and a suite's patterns.
func TestGRPCMessagesAreMaskedWhenRendered(t *testing.T) {
	target := grpcServer(t)
	s := &sink{}
	p := listened(t, "sales→auth", target, s.add)
	p.SetDescriptors(echoFile(t))
	m, err := NewMasker([]string{`SERV[A-Z]+`})
	if err != nil {
		t.Fatal(err)
	}
	p.SetMasker(m)
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer x")
	hc := healthpb.NewHealthClient(conn)
	if _, err := hc.Check(authed, &healthpb.HealthCheckRequest{Service: "auth"}); err != nil {
		t.Fatal(err)
	}
	// The service name is the JWT-shaped secret the built-in rules know.
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	hc.Check(authed, &healthpb.HealthCheckRequest{Service: jwt})
	waitForN(t, s, 2)
	calls := grpcOnly(s)
	if len(calls) != 2 {
		t.Fatalf("want 2 gRPC calls, got %q", s.lines())
	}
	if req, resp := calls[0].Bodies(); string(req) != `{"service":"auth"}` || string(resp) != `{"status":"***"}` {
		t.Errorf("a suite's pattern in a rendered message: %s → %s", req, resp)
	}
	if req, _ := calls[1].Bodies(); strings.Contains(string(req), jwt) || !strings.Contains(string(req), "***") {
		t.Errorf("a JWT in a rendered message: %s", req)
	}
}

func grpcOnly(s *sink) []Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Interaction
	for _, i := range s.got {
		if i.Protocol == "grpc" {
			out = append(out, i)
		}
	}
	return out
}

func waitForN(t *testing.T, s *sink, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		k := len(s.got)
		s.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("want %d interactions, got %q", n, s.lines())
}

func h2cHandler() http.Handler {
	return h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, `{"proto":%q,"path":%q,"got":%d}`, r.Proto, r.URL.Path, len(body))
	}), &http2.Server{})
}

// h2cServer serves h2cHandler on loopback until the test ends.
func h2cServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2cHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestH2CPriorKnowledgeIsRecorded(t *testing.T) {
	var tp tap
	p, s := tapped(t, "web→api", h2cServer(t), &tp)
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	client := &http.Client{Transport: tr}
	for _, c := range []struct{ method, path, body string }{{"GET", "/a?x=1&token=s3cret", ""}, {"POST", "/b", `{"password":"hunter2","n":1}`}, {"GET", "/fail", ""}} {
		req, _ := http.NewRequest(c.method, "http://"+p.Addr()+c.path, strings.NewReader(c.body))
		if c.body == "" {
			req.Body = nil
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("not HTTP/2: %s", resp.Proto)
		}
	}
	tr.CloseIdleConnections()
	waitForN(t, s, 3)
	got := s.lines()
	want := []string{"GET /a?x=1&token=*** → 200 OK", "POST /b → 200 OK", "GET /fail → 503 Service Unavailable"}
	if strings.Join(got[:3], "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.mu.Lock()
	post, fail := s.got[1], s.got[2]
	s.mu.Unlock()
	if post.Protocol != "http2" || string(post.RequestBody) != `{"password":"***","n":1}` || post.RequestSize != 28 ||
		!strings.Contains(string(post.ResponseBody), `"proto":"HTTP/2.0"`) || post.Suspicious {
		t.Errorf("post: %+v", post)
	}
	if !fail.Suspicious || fail.Status != 503 {
		t.Errorf("a 503 is suspicious: %+v", fail)
	}
	tp.save(t, "h2c")
}

// An h2c upgrade as RFC 7540 §3.2 has it, by hand (Go's client does not
// upgrade): the request is stream 1, a second request follows as stream 3.
func TestH2CUpgradeIsRecorded(t *testing.T) {
	var tp tap
	p, s := tapped(t, "web→api", h2cServer(t), &tp)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u := upgradeAndAsk(t, c, bufio.NewReader(c), "/second")
	if u.goAway || !u.ended[3] {
		t.Fatalf("stream 3 did not end: %+v", u)
	}
	fr := u.fr
	fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	c.Close()
	waitForN(t, s, 3)
	got := strings.Join(s.lines(), "\n")
	for _, want := range []string{"GET /up → 200 OK", "GET /second → 200 OK", "connection → GOAWAY from the client: NO_ERROR"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	var up Interaction
	s.mu.Lock()
	for _, i := range s.got {
		if i.Target == "/up" {
			up = i
		}
	}
	s.mu.Unlock()
	if up.Protocol != "http2" || up.Note != "(h2c upgrade)" || !strings.Contains(string(up.ResponseBody), `"path":"/up"`) {
		t.Errorf("the upgrading request: %+v", up)
	}
	tp.save(t, "h2c-upgrade")
}

// Bad traffic passes untouched and is noted as undecoded; the proxy goes on.
func TestBadH2TrafficPassesThrough(t *testing.T) {
	bigHeaders := func() []byte {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		block := bytes.Repeat([]byte{0x00, 0x01, 'x', 0x7f, 0x81, 0xff, 0xff, 0xff, 0x0f}, 1) // a literal with a 2 GiB value length
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true})
		return b.Bytes()
	}
	manyHeaders := func() []byte {
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for i := range 300 {
			enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-h%d", i), Value: strings.Repeat("v", 1000)})
		}
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		all := block.Bytes()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: all[:16000]})
		for all = all[16000:]; len(all) > 0; {
			n := min(len(all), 16000)
			fr.WriteContinuation(1, n == len(all), all[:n])
			all = all[n:]
		}
		return b.Bytes()
	}
	tooBig := func() []byte {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		fr.WriteData(1, false, make([]byte, 20000)) // more than the 16384 a receiver allows by default
		return b.Bytes()
	}
	cases := map[string]struct {
		send []byte
		why  string
	}{
		"garbage after the preface":   {append([]byte(http2.ClientPreface), "hello, not frames at all, just words"...), "undecoded: a UNKNOWN_FRAME_TYPE_108 frame of 6841708 bytes"},
		"a truncated frame":           {append([]byte(http2.ClientPreface), 0, 0, 30, 1, 4, 0, 0, 0, 1, 2), "undecoded: a truncated frame"},
		"many headers":                {append([]byte(http2.ClientPreface), manyHeaders()...), "undecoded: a header block of more than 262144 bytes"},
		"a huge header block":         {append([]byte(http2.ClientPreface), bigHeaders()...), "undecoded: a header block HPACK cannot read"},
		"a frame larger than the max": {append([]byte(http2.ClientPreface), tooBig()...), "undecoded: a DATA frame of 20000 bytes"},
		"not the preface":             {[]byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), "connection → open"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// A callee that keeps what it gets: it must be what was sent.
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			defer ln.Close()
			got := make(chan []byte, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					got <- nil
					return
				}
				b, _ := io.ReadAll(conn)
				conn.Close()
				got <- b
			}()
			s := &sink{}
			p, err := Listen("x→y", ln.Addr().String(), s.add)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(c.send); err != nil {
				t.Fatal(err)
			}
			conn.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, conn)
			if b := <-got; !bytes.Equal(b, c.send) {
				t.Fatalf("the callee got %d bytes, not the %d sent", len(b), len(c.send))
			}
			p.Close()
			lines := strings.Join(s.lines(), "\n")
			if !strings.Contains(lines, c.why) {
				t.Errorf("want %q in\n%s", c.why, lines)
			}
		})
	}
}

// BenchmarkGRPCUnary: unary calls straight to a grpc-go server and through
// a recording proxy (decoding on), one connection.
func BenchmarkGRPCUnary(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	defer srv.Stop()
	p, err := Listen("b→s", ln.Addr().String(), func(Interaction) {})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	p.SetDescriptors(echoFile(b))
	for _, c := range []struct{ name, addr string }{{"direct", ln.Addr().String()}, {"wire", p.Addr()}} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			hc := healthpb.NewHealthClient(conn)
			ctx := context.Background()
			for b.Loop() {
				if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A call the caller gives up on is reset (RST_STREAM): recorded as such.
func TestGRPCResetIsRecorded(t *testing.T) {
	target := grpcServer(t)
	s := &sink{}
	p := listened(t, "sales→auth", target, s.add)
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sctx, stop := context.WithCancel(ctx)
	st, err := conn.NewStream(sctx, &echoDesc.Streams[0], "/seam.test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	st.SendMsg(wrapperspb.UInt32(1 << 30)) // more than anyone reads
	st.CloseSend()
	var m wrapperspb.StringValue
	if err := st.RecvMsg(&m); err != nil {
		t.Fatal(err)
	}
	stop()
	waitForN(t, s, 1)
	got := grpcOnly(s)
	if len(got) != 1 || got[0].Result != "reset by the client (CANCEL)" || !got[0].Suspicious || got[0].GRPCStatus != -1 || got[0].ResponseMessages < 1 {
		t.Fatalf("%+v", got)
	}
}

// python is Debian's python3 with its grpcio (python3-grpcio, which
// scripts/test.sh installs).
func python(t *testing.T) string {
	t.Helper()
	bin := "/usr/bin/python3"
	if _, err := os.Stat(bin); err != nil {
		bin = "python3"
	}
	if out, err := exec.Command(bin, "-c", "import grpc").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import grpc (install Debian's python3-grpcio; scripts/test.sh does): %v\n%s", bin, err, out)
	}
	return bin
}

// TestGRPCFromPythonIsRecorded: a caller that is not grpc-go (Python's
// grpcio: C-core's HTTP/2 framing and HPACK, its own flow control and
// pings) makes unary calls, each with its own metadata, a refused call, a
// compressed one and a server-streaming one through the wire: each is one
// interaction with its own headers, secrets masked, messages as JSON.
func TestGRPCFromPythonIsRecorded(t *testing.T) {
	bin := python(t)
	target := grpcServer(t)
	var tp tap
	p, s := tapped(t, "web→auth", target, &tp)
	p.SetDescriptors(echoFile(t))
	const calls = 12
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "testdata/grpc-python/client.py", p.Addr(), strconv.Itoa(calls)).CombinedOutput()
	if err != nil {
		t.Fatalf("the Python client: %v\n%s", err, out)
	}
	waitForN(t, s, calls+3)
	got := grpcOnly(s)
	if len(got) != calls+3 {
		t.Fatalf("%d gRPC calls recorded, want %d:\n%s", len(got), calls+3, s.lines())
	}
	for i, in := range got[:calls] {
		req, resp := in.Bodies()
		h, _ := in.Headers()
		if in.Op != "GRPC /grpc.health.v1.Health/Check" || in.Result != "OK" || string(req) != `{"service":"auth"}` ||
			string(resp) != `{"status":"SERVING"}` || !strings.Contains(h+"\n", "x-call: "+strconv.Itoa(i)+"\n") ||
			!strings.Contains(h, "authorization: ***") || strings.Contains(h, "tok-") || !strings.Contains(h, "grpc-timeout: ") {
			t.Errorf("call %d: %s → %s, %s → %s, headers:\n%s", i, in.Op, in.Result, req, resp, h)
		}
	}
	unauth, zipped, stream := got[calls], got[calls+1], got[calls+2]
	if unauth.Result != "UNAUTHENTICATED: no token: 100% refusé" || !unauth.Suspicious {
		t.Errorf("the call without a token: %s", unauth.Line())
	}
	if req, _ := zipped.Bodies(); string(req) != `{"service":"zipped"}` || zipped.Result != "NOT_FOUND: unknown service" {
		t.Errorf("the compressed call: %s (%s)", zipped.Line(), req)
	}
	if req, resp := stream.Bodies(); stream.Result != "OK" || stream.ResponseMessages != 3 || string(req) != "3" || string(resp) != `["n1","n2","n3"]` {
		t.Errorf("the streaming call: %s (%s → %s)", stream.Line(), req, resp)
	}
	for _, in := range s.all() {
		if in.Suspicious && in.Protocol != "grpc" {
			t.Errorf("a suspicious interaction: %s", in.Line())
		}
	}
	tp.save(t, "grpc-python")
}
