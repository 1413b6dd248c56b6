package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// TestGRPCFaultAnswersInTheCalleesPlace: a real grpc-go client calls a
// real server through the proxy; with a gRPC fault on Check, Check gets
// the fault's code and message (recorded as injected), while the other
// methods (unary and streaming) still reach the callee; cleared, Check
// reaches it again.
func TestGRPCFaultAnswersInTheCalleesPlace(t *testing.T) {
	target := grpcServer(t)
	s := &sink{}
	p := listened(t, "sales→auth", target, s.add)
	p.SetDescriptors(echoFile(t))
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer x")
	hc := healthpb.NewHealthClient(conn)
	// A connection open before the fault: it is closed when the fault is
	// set, and the client reconnects.
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"}); err != nil {
		t.Fatal(err)
	}
	p.SetFaults(Faults{GRPC: &GRPCFault{Method: "/grpc.health.v1.Health/Check", Code: int(codes.PermissionDenied), Message: "down: 100% é"}})
	// Made at once, before the client can have read the GOAWAY: the
	// callee never sees it, and the client retries it on a new connection.
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"})
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "down: 100% é" {
		t.Fatalf("faulted check: %v", err)
	}
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the fault matches Check with any metadata: %v", err)
	}
	// Another method reaches the callee, through the proxy's HTTP/2 server.
	stream, err := conn.NewStream(ctx, &echoDesc.Streams[0], "/seam.test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	stream.SendMsg(wrapperspb.UInt32(2))
	stream.CloseSend()
	var got []string
	for {
		var m wrapperspb.StringValue
		if err := stream.RecvMsg(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream through the fault's server: %v", err)
			}
			break
		}
		got = append(got, m.Value)
	}
	if strings.Join(got, ",") != "n1,n2" {
		t.Fatalf("stream: %v", got)
	}
	_, err = healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "auth"})
	if err != nil {
		t.Fatal(err)
	}
	// Cleared: Check reaches the callee again, on the same connection.
	p.ClearFaults()
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("check after the fault: %v %v", r, err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("an error from the callee after the fault: %v", err)
	}
	waitForN(t, s, 7)
	if !strings.Contains(strings.Join(s.lines(), "\n"), "GOAWAY from the wire: a fault drains the connection") {
		t.Errorf("the drain's GOAWAY is not in the timeline:\n%s", strings.Join(s.lines(), "\n"))
	}
	calls := grpcOnly(s)
	var injected, forwarded []string
	for _, c := range calls {
		// Each call's header fields, those the proxy's own HTTP/2 server
		// served as those it forwarded: the caller's, and its answer's
		// with the trailers.
		if reqH, respH := c.Headers(); !strings.Contains(reqH, "content-type: application/grpc") ||
			!strings.Contains(respH, "grpc-status: ") || !strings.Contains(respH, "content-type: application/grpc") {
			t.Errorf("%s: header fields\n%s\n--\n%s", c.Line(), reqH, respH)
		}
		req, resp := c.Bodies()
		if c.Target == "/seam.test.Echo/Count" && (string(req) != "2" || string(resp) != `["n1","n2"]` || c.ResponseMessages != 2) {
			t.Errorf("the forwarded stream's messages: %s → %s (%s)", req, resp, c.Line())
		}
		if c.Injected && string(req) != `{"service":"auth"}` && string(req) != `{}` {
			t.Errorf("the injected call's request: %s (%s)", req, c.Line())
		}
		if c.Injected {
			injected = append(injected, c.Target+" "+c.Result)
			if !c.Suspicious || c.GRPCStatus != int(codes.PermissionDenied) {
				t.Errorf("injected call: %+v", c)
			}
		} else {
			forwarded = append(forwarded, c.Target+" "+c.Result)
		}
	}
	if strings.Join(injected, "; ") != "/grpc.health.v1.Health/Check PERMISSION_DENIED: down: 100% é; /grpc.health.v1.Health/Check PERMISSION_DENIED: down: 100% é" {
		t.Errorf("injected: %q", injected)
	}
	for _, want := range []string{"/seam.test.Echo/Count OK", "/grpc.health.v1.Health/Check NOT_FOUND: unknown service"} {
		if !strings.Contains(strings.Join(forwarded, "; "), want) {
			t.Errorf("forwarded calls lack %q: %q", want, forwarded)
		}
	}
}

// TestGRPCFaultLeavesOtherProtocolsAlone: while a gRPC fault holds, a
// connection that does not open with the HTTP/2 preface is forwarded and
// decoded as before.
func TestGRPCFaultLeavesOtherProtocolsAlone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer srv.Close()
	s := &sink{}
	p, err := Listen("web→api", strings.TrimPrefix(srv.URL, "http://"), s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetFaults(Faults{GRPC: &GRPCFault{Code: 14}})
	resp, err := http.Get("http://" + p.Addr() + "/hi")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	waitForN(t, s, 2)
	if l := strings.Join(s.lines(), "; "); !strings.Contains(l, "GET /hi → 200 OK") {
		t.Errorf("interactions: %s", l)
	}
	if got := grpcstatus.PercentEncode("a%b\né"); got != "a%25b%0A%C3%A9" {
		t.Errorf("percentEncode: %q", got)
	}
	if got := grpcstatus.PercentDecode(grpcstatus.PercentEncode("down: 100% é")); got != "down: 100% é" {
		t.Errorf("round trip: %q", got)
	}
}

// TestGRPCFaultSurvivesGarbage: bytes that are not HTTP/2 after the
// preface end that connection, and the proxy goes on serving.
func TestGRPCFaultSurvivesGarbage(t *testing.T) {
	target := grpcServer(t)
	s := &sink{}
	p, err := Listen("sales→auth", target, s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetFaults(Faults{GRPC: &GRPCFault{Code: 14}})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(h2Preface + "\x00\x00\x05\x09garbage!!"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Ends when the proxy's HTTP/2 server closes (or resets) it.
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("garbage after the preface: the connection stayed open")
	}
	c.Close()
	// Not the preface: forwarded to the callee, which may do as it likes.
	for _, junk := range []string{h2Preface[:10], "\x00\x00\x00"} {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.Close()
	}
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "" {
		t.Fatalf("after garbage: %v", err)
	}
}

// TestGRPCFaultReachesBusyConnections: a caller with a long stream open
// (a health Watch) and callers calling without pause on the same HTTP/2
// connection: the fault still applies to every later call (the connection
// is drained with the calls in flight, which go on: the Watch still gets
// the callee's updates), and no call the fault answers reaches the callee,
// nor fails otherwise (those the caller began before it read the GOAWAY
// are dropped whole and retried by the client).
func TestGRPCFaultReachesBusyConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const check = "/grpc.health.v1.Health/Check"
	var reached atomic.Int64
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == check {
			reached.Add(1)
		}
		return h(ctx, req)
	}))
	hs := health.NewServer()
	hs.SetServingStatus("auth", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	p := listened(t, "sales→auth", ln.Addr().String(), func(Interaction) {})
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "auth"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := watch.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v %v", m, err)
	}
	const callers = 4
	var faulted [callers]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 100000 && !stop.Load(); n++ {
				_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"})
				switch status.Code(err) {
				case codes.OK:
				case codes.PermissionDenied:
					faulted[i].Add(1)
				default:
					errs <- err
					return
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			select {
			case err := <-errs:
				t.Fatalf("a call failed otherwise: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	waitUntil("calls reach the callee", func() bool { return reached.Load() > 20 })
	p.SetFaults(Faults{GRPC: &GRPCFault{Method: check, Code: int(codes.PermissionDenied)}})
	// Once every caller has had a faulted answer, none has a call in
	// flight to the callee.
	waitUntil("every caller meets the fault", func() bool {
		for i := range faulted {
			if faulted[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	r0, f0 := reached.Load(), faulted[0].Load()
	waitUntil("more faulted calls", func() bool { return faulted[0].Load() > f0+50 })
	if r := reached.Load(); r != r0 {
		t.Errorf("%d calls reached the callee after every caller met the fault", r-r0)
	}
	// The stream in flight when the fault came goes on.
	hs.SetServingStatus("auth", healthpb.HealthCheckResponse_NOT_SERVING)
	if m, err := watch.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("the watch after the fault: %v %v", m, err)
	}
	select {
	case err := <-errs:
		t.Fatalf("a call failed otherwise: %v", err)
	default:
	}
}

// TestHTTPFaultAnswersHTTP2: an HTTP fault answers matching requests of a
// caller speaking HTTP/2 (h2c) in the callee's place (or holds the
// callee's answers: slow), on the connection
// it had open when the fault came (drained: the next request goes on a new
// one) and on new ones; other requests reach the callee; cleared, the
// matching ones do again. HTTP/1 callers on the same edge meet it as
// before, without waiting for a preface that does not come.
func TestHTTPFaultAnswersHTTP2(t *testing.T) {
	s := &sink{}
	p := listened(t, "web→api", h2cServer(t), s.add)
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get("http://" + p.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(client, "/items/1"); code != 200 || !strings.Contains(body, `"proto":"HTTP/2.0"`) {
		t.Fatalf("before the fault: %d %s", code, body)
	}
	p.SetFaults(Faults{HTTP: &HTTPFault{Method: "GET", Path: "/items/*", Status: 503, Body: "down for a test"}})
	for range 3 {
		if code, body := get(client, "/items/1"); code != 503 || body != "down for a test" {
			t.Fatalf("faulted: %d %q", code, body)
		}
	}
	if code, body := get(client, "/orders?token=s3cret&n=1"); code != 200 || !strings.Contains(body, `"path":"/orders"`) {
		t.Fatalf("another path: %d %s", code, body)
	}
	h1 := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	if code, body := get(h1, "/items/2"); code != 503 || body != "down for a test" {
		t.Fatalf("HTTP/1 under the fault: %d %q", code, body)
	}
	if d := time.Since(start); d >= prefaceWait {
		t.Errorf("an HTTP/1 request waited %v, as if for an HTTP/2 preface", d)
	}
	// A slow fault holds the answers to matching HTTP/2 requests.
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/slow/*", Slow: 150 * time.Millisecond}})
	start = time.Now()
	if code, body := get(client, "/slow/1"); code != 200 || !strings.Contains(body, `"path":"/slow/1"`) {
		t.Fatalf("held: %d %s", code, body)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("a held answer came after %v, before the 150ms hold", d)
	}
	p.ClearFaults()
	if code, _ := get(client, "/items/1"); code != 200 {
		t.Fatalf("after the fault: %d", code)
	}
	waitForN(t, s, 9)
	var injected, reached []string
	for _, in := range s.all() {
		switch {
		case in.Protocol == "fault" || in.Op == "connection":
		case in.Injected:
			injected = append(injected, in.Protocol+" "+in.Op+" → "+in.Result)
			if string(in.ResponseBody) != "down for a test" {
				t.Errorf("%s: the fault's answer kept as %q", in.Line(), in.ResponseBody)
			}
			if req, resp := in.Headers(); !strings.Contains(strings.ToLower(resp), "x-seam-fault: injected") || !strings.Contains(strings.ToLower(req), "accept-encoding: gzip") {
				t.Errorf("%s: header fields\n%s\n--\n%s", in.Line(), req, resp)
			}
		default:
			reached = append(reached, in.Protocol+" "+in.Op+" → "+in.Result)
			// Served by the proxy's own HTTP/2 server or not, each keeps
			// the start of its answer's body.
			if !strings.Contains(string(in.ResponseBody), `"proto":"HTTP/2.0"`) {
				t.Errorf("%s: the callee's answer kept as %q", in.Line(), in.ResponseBody)
			}
		}
	}
	wantInjected := "http2 GET /items/1 → 503 Service Unavailable; http2 GET /items/1 → 503 Service Unavailable; " +
		"http2 GET /items/1 → 503 Service Unavailable; http GET /items/2 → 503 Service Unavailable"
	if strings.Join(injected, "; ") != wantInjected {
		t.Errorf("injected:\n%s\nwant\n%s", strings.Join(injected, "; "), wantInjected)
	}
	if strings.Join(reached, "; ") != "http2 GET /items/1 → 200 OK; http2 GET /orders?token=***&n=1 → 200 OK; http2 GET /slow/1 → 200 OK; http2 GET /items/1 → 200 OK" {
		t.Errorf("reached the callee: %q", reached)
	}
}

// TestHTTP2FaultReachesSilentConnections: a connection that has carried
// no bytes when a fault that answers HTTP/2 requests comes, to a callee
// that speaks only after the caller's preface (as an HTTP/2 server may):
// its first request must not reach the callee either. The caller meets a
// GOAWAY before it, retries on a new connection and gets the fault's
// answer; also when its first bytes come one at a time, when the callee
// greets with the start of its SETTINGS before the preface and the rest
// after, and when the connection is made while the fault holds but stays
// silent past prefaceWait.
func TestHTTP2FaultReachesSilentConnections(t *testing.T) {
	for _, c := range []silentCase{
		{name: "whole"},
		{name: "byte by byte", split: true},
		{name: "callee greets in pieces", pieces: true},
		{name: "made under the fault, silent past prefaceWait", faultFirst: true},
	} {
		t.Run(c.name, func(t *testing.T) { silentConnection(t, c) })
	}
}

type silentCase struct {
	name                      string
	split, pieces, faultFirst bool
}

// splitConn writes its first bytes one at a time, pausing between them.
type splitConn struct {
	net.Conn
	left int
}

func (c *splitConn) Write(b []byte) (int, error) {
	n := 0
	for c.left > 0 && n < len(b) {
		if _, err := c.Conn.Write(b[n : n+1]); err != nil {
			return n, err
		}
		n++
		c.left--
		time.Sleep(time.Millisecond)
	}
	k, err := c.Conn.Write(b[n:])
	return n + k, err
}

// piecesConn is a callee's connection that writes the first 4 bytes of
// its first write at once, the rest once it has read the caller's preface.
type piecesConn struct {
	net.Conn
	read     atomic.Int64
	preface  chan struct{}
	once     sync.Once
	wroteOne atomic.Bool
}

func (c *piecesConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.read.Add(int64(n)) >= int64(len(h2Preface)) {
		c.once.Do(func() { close(c.preface) })
	}
	return n, err
}

func (c *piecesConn) Write(b []byte) (int, error) {
	if c.wroteOne.Swap(true) || len(b) <= 4 {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(b[:4]); err != nil {
		return 0, err
	}
	select {
	case <-c.preface:
	case <-time.After(10 * time.Second):
	}
	n, err := c.Conn.Write(b[4:])
	return n + 4, err
}

func silentConnection(t *testing.T, c silentCase) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var reached atomic.Int64
	accepted := make(chan struct{}, 8)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "the callee")
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() {
				defer conn.Close()
				if c.pieces {
					// x/net's server greets at once (its SETTINGS), here
					// in two pieces around the caller's preface.
					(&http2.Server{}).ServeConn(&piecesConn{Conn: conn, preface: make(chan struct{})}, &http2.ServeConnOpts{Handler: h})
					return
				}
				pre := make([]byte, len(h2Preface))
				if _, err := io.ReadFull(conn, pre); err != nil {
					return
				}
				(&http2.Server{}).ServeConn(&replayConn{Conn: conn, pre: pre}, &http2.ServeConnOpts{Handler: h})
			}()
		}
	}()
	s := &sink{}
	p := listened(t, "web→api", ln.Addr().String(), s.add)
	fault := Faults{HTTP: &HTTPFault{Method: "GET", Path: "/items/*", Status: 503, Body: "down for a test"}}
	if c.faultFirst {
		p.SetFaults(fault)
	}
	var silent net.Conn
	silent, err = net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if c.split {
		silent = &splitConn{Conn: silent, left: len(h2Preface) + 20}
	}
	if c.faultFirst {
		time.Sleep(prefaceWait + 200*time.Millisecond) // the proxy stops waiting for a preface
	}
	select {
	case <-accepted: // the proxy has its connection to the callee
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy did not connect to the callee")
	}
	if !c.faultFirst {
		time.Sleep(50 * time.Millisecond) // the callee's first piece, if any, reaches the proxy
		p.SetFaults(fault)
	}
	var dials atomic.Int64
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return silent, nil
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + p.Addr() + "/items/1")
	if err != nil {
		t.Fatalf("%v; recorded:\n%s", err, strings.Join(s.lines(), "\n"))
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(b) != "down for a test" || reached.Load() != 0 {
		t.Fatalf("got %d %q; the callee saw %d request(s), want none", resp.StatusCode, b, reached.Load())
	}
	if dials.Load() < 2 {
		t.Errorf("answered on the connection open before the fault (%d dials): it was not drained", dials.Load())
	}
	for _, in := range s.all() {
		if strings.Contains(in.Result, "undecoded") {
			t.Errorf("decoding stopped: %s", in.Line())
		}
	}
}

// slowH2Callee is an h2c server whose calls wait until the test ends (or
// their caller goes); arrived tells each call's path as it comes.
func slowH2Callee(t *testing.T) (addr string, arrived chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan string, 4), make(chan struct{})
	t.Cleanup(func() { close(release); ln.Close() })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.Path
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go (&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	return ln.Addr().String(), arrived
}

// TestDrainCutIsRecordedWithItsCalls: a connection whose HTTP/2 stops
// being readable while a fault drains it is cut, and the record says so:
// the call in flight that the cut ends is counted, not "nothing in
// flight", and no line claims the bytes still pass.
func TestDrainCutIsRecordedWithItsCalls(t *testing.T) {
	callee, arrived := slowH2Callee(t)
	s := &sink{}
	p := listened(t, "web→api", callee, s.add)
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fr := http2.NewFramer(conn, conn)
	fr.AllowIllegalWrites = true
	go io.Copy(io.Discard, conn) // the callee's frames, unread
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/slow"}, {":authority", "api"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	io.WriteString(conn, h2Preface)
	fr.WriteSettings()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk.Bytes(), EndStream: true, EndHeaders: true})
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not reach the callee")
	}
	p.SetFaults(Faults{GRPC: &GRPCFault{Code: 14}})
	fr.WriteData(0, false, nil) // DATA on stream 0: not HTTP/2 the wire can read on
	var cut Interaction
	for deadline := time.Now().Add(5 * time.Second); cut.Result == ""; time.Sleep(10 * time.Millisecond) {
		for _, in := range s.all() {
			if in.Op == "connection" && strings.HasPrefix(in.Result, "cut by a fault") {
				cut = in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cut recorded:\n%s", strings.Join(s.lines(), "\n"))
		}
	}
	if !cut.Injected || !cut.Suspicious || cut.Note != "(1 call(s) in flight, not decoded)" {
		t.Errorf("the cut: %s", cut.Line())
	}
	for _, in := range s.all() {
		if strings.Contains(in.Note, "pass untouched") || strings.Contains(in.Note, "nothing in flight") {
			t.Errorf("untrue: %s", in.Line())
		}
	}
}

// TestHTTPFaultAnswersGRPCCalls: an HTTP fault whose path is a gRPC
// method answers that method's calls with its status (as a proxy in front
// of the callee that fails so): the caller says UNAVAILABLE for a 503;
// other methods reach the callee.
func TestHTTPFaultAnswersGRPCCalls(t *testing.T) {
	s := &sink{}
	p := listened(t, "sales→auth", grpcServer(t), s.add)
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/grpc.health.v1.Health/Check", Status: 503}})
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "auth"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Check under an HTTP 503 fault: %v, want UNAVAILABLE", err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Check again: %v", err)
	}
	stream, err := conn.NewStream(ctx, &echoDesc.Streams[0], "/seam.test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	stream.SendMsg(wrapperspb.UInt32(1))
	stream.CloseSend()
	var m wrapperspb.StringValue
	if err := stream.RecvMsg(&m); err != nil || m.Value != "n1" {
		t.Fatalf("another method under the fault: %v %v", m.Value, err)
	}
	p.ClearFaults()
	waitForN(t, s, 4)
	var injected int
	for _, c := range grpcOnly(s) {
		if c.Target == "/grpc.health.v1.Health/Check" {
			if !c.Injected || c.Status != 503 || !strings.HasPrefix(c.Result, "503") {
				t.Errorf("the faulted call: %s (injected %v, status %d)", c.Line(), c.Injected, c.Status)
			}
			injected++
		} else if c.Injected {
			t.Errorf("not faulted, yet injected: %s", c.Line())
		}
	}
	if injected != 2 {
		t.Errorf("%d faulted calls recorded, want 2", injected)
	}
}

// TestDrainRefusesStreamsOpenedAfterIt: a stream the caller opens on a
// draining connection before it reads the GOAWAY never reaches the
// callee; the caller is told with an RST_STREAM REFUSED_STREAM after the
// GOAWAY (so it retries at once, as RFC 9113 §8.7 allows), and the
// record says which stream was refused.
func TestDrainRefusesStreamsOpenedAfterIt(t *testing.T) {
	callee, arrived := slowH2Callee(t)
	s := &sink{}
	p := listened(t, "web→api", callee, s.add)
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fr := http2.NewFramer(conn, conn)
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	block := func(path string) []byte {
		blk.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "api"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return bytes.Clone(blk.Bytes())
	}
	io.WriteString(conn, h2Preface)
	fr.WriteSettings()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("/slow"), EndStream: true, EndHeaders: true})
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not reach the callee")
	}
	p.SetFaults(Faults{GRPC: &GRPCFault{Code: 14}})
	// Opened before the GOAWAY is read.
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("/late"), EndStream: true, EndHeaders: true})
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var goaway *http2.GoAwayFrame
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the caller's frames: %v (GOAWAY %v)", err, goaway)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			if f.LastStreamID != 1 {
				t.Fatalf("GOAWAY's last stream %d, want 1", f.LastStreamID)
			}
			goaway = f
		case *http2.RSTStreamFrame:
			if goaway == nil || f.StreamID != 3 || f.ErrCode != http2.ErrCodeRefusedStream {
				t.Fatalf("RST_STREAM %d %v (after a GOAWAY: %v), want stream 3 REFUSED_STREAM after it", f.StreamID, f.ErrCode, goaway != nil)
			}
			select {
			case path := <-arrived:
				t.Fatalf("%s reached the callee", path)
			case <-time.After(50 * time.Millisecond):
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if strings.Contains(strings.Join(s.lines(), "\n"), "connection → stream 3 refused by the wire (REFUSED_STREAM): GET /late") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the refused stream is not recorded:\n%s", strings.Join(s.lines(), "\n"))
				}
			}
		}
	}
}
