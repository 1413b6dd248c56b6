package wire

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Talk writes one side of an HTTP/2 conversation for a decoder: frames
// with one HPACK encoder, as a real endpoint keeps.
type h2Talk struct {
	hb  bytes.Buffer
	enc *hpack.Encoder
	out bytes.Buffer
	fr  *http2.Framer
}

func newH2Talk(client bool) *h2Talk {
	t := &h2Talk{}
	t.enc = hpack.NewEncoder(&t.hb)
	t.fr = http2.NewFramer(&t.out, nil)
	if client {
		t.out.WriteString(http2.ClientPreface)
	}
	t.fr.WriteSettings()
	return t
}

// headers writes a HEADERS frame of fields (name, value, name, value, …).
func (t *h2Talk) headers(id uint32, end bool, fields ...string) *h2Talk {
	t.hb.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		t.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	t.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: t.hb.Bytes(), EndHeaders: true, EndStream: end})
	return t
}

// take is what was written since the last take.
func (t *h2Talk) take() []byte {
	b := bytes.Clone(t.out.Bytes())
	t.out.Reset()
	return b
}

// recordingDecoder is a decoder whose proxy's reports go to the returned
// function's result.
func recordingDecoder() (*decoder, func() []Interaction) {
	var mu sync.Mutex
	var got []Interaction
	p := &Proxy{Edge: "gateway→auth", report: func(in Interaction) {
		mu.Lock()
		got = append(got, in)
		mu.Unlock()
	}}
	return newDecoder(p), func() []Interaction {
		mu.Lock()
		defer mu.Unlock()
		return append([]Interaction(nil), got...)
	}
}

func grpcCall(t *h2Talk, id uint32, path string, extra ...string) []byte {
	fields := append([]string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "auth"}, extra...)
	fields = append(fields, "content-type", "application/grpc", "te", "trailers", "grpc-timeout", "1S")
	t.headers(id, false, fields...)
	t.fr.WriteData(id, true, []byte{0, 0, 0, 0, 2, 8, 1})
	return t.take()
}

// A large value first (grpc-js sends a caller's metadata before its own
// fields) must not hide the fields after it.
func TestH2LargeFieldDoesNotHideTheOthers(t *testing.T) {
	d, got := recordingDecoder()
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromClient(grpcCall(client, 1, "/auth.v1.Auth/Check", "x-blob", strings.Repeat("b", 6000)))
	server.headers(1, false, ":status", "200", "content-type", "application/grpc")
	server.fr.WriteData(1, false, []byte{0, 0, 0, 0, 0})
	server.headers(1, true, "grpc-status", "0")
	d.fromServer(server.take())
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	req, _ := ins[0].Headers()
	for _, want := range []string{"content-type: application/grpc", "te: trailers", "grpc-timeout: 1S", "x-blob: (6000 bytes, not kept)"} {
		if !strings.Contains(req, want) {
			t.Errorf("request headers lack %q:\n%s", want, req)
		}
	}
}

// HTTP/1 likewise: a large cookie does not hide the header lines after it.
func TestHTTPLargeHeaderDoesNotHideTheOthers(t *testing.T) {
	head := "Host: api\r\nCookie: " + strings.Repeat("c", 5000) + "\r\nAuthorization: Bearer x\r\nX-Request-Id: 42\r\n"
	got := keptHeader([]byte(head))
	for _, want := range []string{"Host: api", "Cookie: (5000 bytes, not kept)", "X-Request-Id: 42", "Authorization: Bearer x"} {
		if !strings.Contains(got, want) {
			t.Errorf("kept header lacks %q:\n%s", want, got)
		}
	}
	if len(got) > maxHeaderKept {
		t.Errorf("kept %d bytes, more than %d", len(got), maxHeaderKept)
	}
}

// A call in flight when a fault cuts the connection in the middle of a
// frame (close_after) is told, as cut by the fault (injected), not lost
// to "undecoded".
func TestH2CallCutInsideAFrameIsInjected(t *testing.T) {
	d, got := recordingDecoder()
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromClient(grpcCall(client, 1, "/auth.v1.Auth/Big"))
	server.headers(1, false, ":status", "200", "content-type", "application/grpc")
	server.fr.WriteData(1, false, make([]byte, 5000))
	b := server.take()
	d.fromServer(b[:len(b)-1000]) // the cut: inside the DATA frame
	d.close("closed by a fault after 5000 bytes", true)
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	in := ins[0]
	if in.Op != "GRPC /auth.v1.Auth/Big" || !in.Injected || !strings.Contains(in.Result, "no response (closed by a fault after 5000 bytes)") {
		t.Errorf("got %s (injected %v), want the call, cut by the fault, injected", in.Line(), in.Injected)
	}
}

// Cut by a fault between frames: injected too, as HTTP/1's calls are.
func TestH2CallCutByAFaultIsInjected(t *testing.T) {
	d, got := recordingDecoder()
	client := newH2Talk(true)
	d.fromClient(grpcCall(client, 1, "/auth.v1.Auth/ListSessions"))
	d.fromServer(newH2Talk(false).take())
	d.close("reset by a fault", true)
	ins := got()
	if len(ins) != 1 || !ins[0].Injected || ins[0].Result != "no response (reset by a fault)" {
		t.Fatalf("got %v, want the call, reset by a fault, injected", ins)
	}
}

// A call a blackhole swallowed, which its caller then cancels (its
// deadline): the fault is why, and said.
func TestH2SwallowedCallResetByTheCallerIsInjected(t *testing.T) {
	d, got := recordingDecoder()
	client := newH2Talk(true)
	d.fromClient(client.take())
	d.fromServer(newH2Talk(false).take())
	d.swallowed(grpcCall(client, 1, "/auth.v1.Auth/Check"))
	time.Sleep(20 * time.Millisecond)
	client.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	d.swallowed(client.take())
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	in := ins[0]
	if !in.Injected || !strings.Contains(in.Result, "caller reset the call after") || !strings.Contains(in.Result, "blackhole") {
		t.Errorf("got %s (injected %v), want the caller's reset of a swallowed call, injected", in.Line(), in.Injected)
	}
	if in.End.Sub(in.Start) < 20*time.Millisecond {
		t.Errorf("lasted %v, want at least the 20ms before the reset", in.End.Sub(in.Start))
	}
}

// The caller closes a connection whose call a blackhole swallowed (a
// keepalive that gave up): the caller closed, not the callee, and the
// duration runs to then, not to the last bytes seen.
func TestH2SwallowedCallCallerClosed(t *testing.T) {
	d, got := recordingDecoder()
	client := newH2Talk(true)
	d.fromClient(client.take())
	d.fromServer(newH2Talk(false).take())
	d.swallowed(grpcCall(client, 1, "/auth.v1.Auth/Check"))
	time.Sleep(20 * time.Millisecond)
	d.callerClosed(time.Now())
	d.close("the callee closed the connection", false)
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	in := ins[0]
	if !in.Injected || !strings.HasPrefix(in.Result, "no answer: caller closed after") || strings.Contains(in.Result, "callee") {
		t.Errorf("got %s (injected %v), want the caller's close of a swallowed call, injected", in.Line(), in.Injected)
	}
	if in.End.Sub(in.Start) < 20*time.Millisecond {
		t.Errorf("lasted %v, want at least 20ms", in.End.Sub(in.Start))
	}
}

// A caller that resets a call and at once answers its own caller (the
// test's step) sent the reset first: Flush at the test's end waits until
// the wire has read and told of it, so the call is the test's, not the
// next one's.
func TestFlushWaitsForWhatTheCallerAlreadySent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// A callee that reads and never answers.
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	s := &sink{}
	p := listened(t, "gateway→auth", ln.Addr().String(), func(in Interaction) {
		if strings.Contains(in.Result, "reset by the client") {
			time.Sleep(100 * time.Millisecond) // telling of it takes a while
		}
		s.add(in)
	})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := newH2Talk(true)
	if _, err := c.Write(grpcCall(client, 1, "/auth.v1.Auth/Slow")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	client.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	if _, err := c.Write(client.take()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.Flush(ctx)
	var found bool
	for _, in := range s.all() {
		found = found || in.Op == "GRPC /auth.v1.Auth/Slow" && strings.Contains(in.Result, "reset by the client (CANCEL)")
	}
	if !found {
		t.Fatalf("after Flush, the reset call is not told: %q", s.lines())
	}
}

// grpc-js sends grpc-message "OK" with every success: the result is OK,
// with no message, as grpc-go's successes are; the trailers keep it.
func TestGRPCOKMessageIsNotRepeated(t *testing.T) {
	d, got := recordingDecoder()
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromClient(grpcCall(client, 1, "/auth.v1.Auth/Check"))
	server.headers(1, false, ":status", "200", "content-type", "application/grpc")
	server.headers(1, true, "grpc-status", "0", "grpc-message", "OK")
	d.fromServer(server.take())
	ins := got()
	if len(ins) != 1 || ins[0].Result != "OK" || ins[0].GRPCMessage != "" {
		t.Fatalf("got %v, want one call whose result is OK, with no message", ins)
	}
	if _, resp := ins[0].Headers(); !strings.Contains(resp, "grpc-message: OK") {
		t.Errorf("its trailers lost what came:\n%s", resp)
	}
}

// The callee answers a call after its caller closed the connection (the
// wire half-closed the callee's side; grpcio then answers UNAVAILABLE):
// the caller never saw it, so the call is told as the caller's close.
func TestH2AnswerAfterTheCallerClosed(t *testing.T) {
	d, got := recordingDecoder()
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromClient(grpcCall(client, 1, "/ledger.v1.Ledger/Slow"))
	d.fromServer(server.take())
	time.Sleep(10 * time.Millisecond)
	d.callerClosed(time.Now())
	time.Sleep(10 * time.Millisecond)
	server.headers(1, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "14", "grpc-message", "Socket closed")
	d.fromServer(server.take())
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	in := ins[0]
	if !strings.HasPrefix(in.Result, "no answer: caller closed after") || !strings.Contains(in.Note, "the callee answered UNAVAILABLE: Socket closed after") {
		t.Errorf("got %s, want the caller's close, with the callee's late answer in the note", in.Line())
	}
	if in.GRPCStatus != -1 || in.GRPCMessage != "" {
		t.Errorf("code %d %q, want none: no code reached the caller", in.GRPCStatus, in.GRPCMessage)
	}
}

// The request of an h2c upgrade is stream 1: its header lines are its
// fields, and its size is the body's as sent, not the start kept of it.
func TestH2CUpgradeKeepsTheRequestsHeadersAndSize(t *testing.T) {
	d, got := recordingDecoder()
	body := strings.Repeat("b", 135091)
	d.fromClient([]byte("POST /echo HTTP/1.1\r\nHost: h2\r\nUser-Agent: curl/7.88.1\r\nContent-Type: text/plain\r\n" +
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n" +
		"Content-Length: 135091\r\n\r\n" + body[:1000]))
	d.fromClient([]byte(body[1000:]))
	d.fromServer([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"))
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromServer(server.take())
	d.fromClient(client.take())
	server.headers(1, false, ":status", "201", "content-type", "text/plain")
	server.fr.WriteData(1, true, []byte("ok"))
	d.fromServer(server.take())
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
	}
	in := ins[0]
	if in.Result != "201 Created" || in.RequestSize != 135091 || !in.reqCut || len(in.RequestBody) != maxBodyKept {
		t.Errorf("got %s, request of %d bytes (%d kept, cut %v); want 201 Created, 135091 bytes, cut", in.Line(), in.RequestSize, len(in.RequestBody), in.reqCut)
	}
	req, _ := in.Headers()
	if h := HeaderMap(req); h["content-type"] != "text/plain" || h["user-agent"] != "curl/7.88.1" {
		t.Errorf("request headers %q, want the upgrading request's", req)
	}
	if _, body, _, _ := in.Content(); !strings.HasSuffix(body, "(the first 4 KiB)") {
		t.Errorf("the body kept does not say it is the start: …%q", body[max(0, len(body)-40):])
	}
}

// A status message with a newline (a fault's, a callee's) is shown
// escaped: a timeline's line is one line.
func TestLineEscapesControlCharacters(t *testing.T) {
	d, got := recordingDecoder()
	client, server := newH2Talk(true), newH2Talk(false)
	d.fromClient(grpcCall(client, 1, "/auth.v1.Auth/Check"))
	server.headers(1, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "14",
		"grpc-message", "down%0Aagain%09%1B[31m%E2%80%AE")
	d.fromServer(server.take())
	ins := got()
	if len(ins) != 1 {
		t.Fatalf("got %d interactions, want 1", len(ins))
	}
	line := ins[0].Line()
	if strings.ContainsAny(line, "\n\t\x1b\u202e") || !strings.Contains(line, `UNAVAILABLE: down\nagain\t\x1b[31m\u202e`) {
		t.Errorf("line %q, want the message escaped", line)
	}
	if ins[0].GRPCMessage != "down\nagain\t\x1b[31m\u202e" {
		t.Errorf("the message itself is %q, want it as sent", ins[0].GRPCMessage)
	}
	if s := "GET /é → 200 OK (1.0 ms) \xff"; lineSafe(s) != s {
		t.Errorf("lineSafe(%q) = %q, want it unchanged", s, lineSafe(s))
	}
}

// A caller that has the whole answer, head and body, may close before
// the stream's end comes (an empty DATA frame, trailers): it was
// answered. Not so a gRPC caller, whose status is in the trailers.
func TestH2CallerClosedBeforeTheStreamsEnd(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		d, got := recordingDecoder()
		client, server := newH2Talk(true), newH2Talk(false)
		if grpc {
			d.fromClient(grpcCall(client, 1, "/echo.v1.Echo/Say"))
		} else {
			client.headers(1, true, ":method", "POST", ":scheme", "http", ":path", "/echo", ":authority", "h2")
			d.fromClient(client.take())
		}
		ct := "text/plain"
		if grpc {
			ct = "application/grpc"
		}
		server.headers(1, false, ":status", "201", "content-type", ct)
		server.fr.WriteData(1, false, []byte{0, 0, 0, 0, 2, 8, 1})
		d.fromServer(server.take())
		time.Sleep(2 * time.Millisecond)
		d.callerClosed(time.Now())
		time.Sleep(2 * time.Millisecond)
		server.headers(1, true, "x-sum", "10", "grpc-status", "0")
		d.fromServer(server.take())
		ins := got()
		if len(ins) != 1 {
			t.Fatalf("got %d interactions, want 1: %v", len(ins), ins)
		}
		in := ins[0]
		switch {
		case !grpc && (in.Result != "201 Created" || !strings.Contains(in.Note, "before the stream's end")):
			t.Errorf("HTTP/2: got %s, want the answer, noting the caller closed before the stream's end", in.Line())
		case grpc && !strings.HasPrefix(in.Result, "no answer: caller closed after"):
			t.Errorf("gRPC: got %s, want no answer: the caller closed before the status came", in.Line())
		}
	}
}
