package wire

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
)

// h2Script writes HTTP/2 frames each way and feeds them to a decoder, as
// a proxy would see them: for cases real clients rarely make.
type h2Script struct {
	t          *testing.T
	p          *Proxy
	d          *decoder
	got        []Interaction
	cenc, senc *hpack.Encoder
	cblk, sblk bytes.Buffer
}

func newH2Script(t *testing.T) *h2Script {
	s := &h2Script{t: t}
	s.p = &Proxy{Edge: "a→b", report: func(i Interaction) { s.got = append(s.got, i) }}
	s.p.SetDescriptors(echoFile(t))
	s.d = newDecoder(s.p)
	s.cenc, s.senc = hpack.NewEncoder(&s.cblk), hpack.NewEncoder(&s.sblk)
	s.d.fromServer(s.frames(func(fr *http2.Framer) { fr.WriteSettings() }))
	s.d.fromClient(append([]byte(h2Preface), s.frames(func(fr *http2.Framer) { fr.WriteSettings() })...))
	return s
}

func (s *h2Script) frames(write func(fr *http2.Framer)) []byte {
	var b bytes.Buffer
	write(http2.NewFramer(&b, nil))
	return b.Bytes()
}

// block HPACK-encodes fields ("name", "value", …) with one side's encoder.
func (s *h2Script) block(server bool, kv ...string) []byte {
	enc, buf := s.cenc, &s.cblk
	if server {
		enc, buf = s.senc, &s.sblk
	}
	buf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			s.t.Fatal(err)
		}
	}
	return append([]byte(nil), buf.Bytes()...)
}

// grpcMsg is a gRPC length-prefixed message.
func grpcMessage(b []byte) []byte {
	return append([]byte{0, byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
}

// call makes one unary health check on stream id: its request's service
// name and one extra header, its answer's status.
func (s *h2Script) call(id uint32, service, extra string, status healthpb.HealthCheckResponse_ServingStatus) {
	req, _ := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
	resp, _ := proto.Marshal(&healthpb.HealthCheckResponse{Status: status})
	s.d.fromClient(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: s.block(false,
			":method", "POST", ":scheme", "http", ":path", "/grpc.health.v1.Health/Check", ":authority", "b",
			"content-type", "application/grpc", "x-extra", extra)})
		fr.WriteData(id, true, grpcMessage(req))
	}))
	s.d.fromServer(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: s.block(true,
			":status", "200", "content-type", "application/grpc")})
		fr.WriteData(id, false, grpcMessage(resp))
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true, BlockFragment: s.block(true,
			"grpc-status", "0")})
	}))
}

// A connection's streams are used again for its next calls (and their
// header fields shared while they repeat): every call still keeps its own
// messages and headers, read after the calls that came later.
func TestH2ReusedStreamsKeepTheirOwnCalls(t *testing.T) {
	s := newH2Script(t)
	s.call(1, "first", "one", healthpb.HealthCheckResponse_SERVING)
	s.call(3, "second", "two", healthpb.HealthCheckResponse_NOT_SERVING)
	s.call(5, "third", "two", healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
	if len(s.got) != 3 {
		t.Fatalf("%d interactions: %+v", len(s.got), s.got)
	}
	want := []struct{ service, extra, status string }{
		{"first", "one", "SERVING"}, {"second", "two", "NOT_SERVING"}, {"third", "two", "SERVICE_UNKNOWN"}}
	for i, w := range want {
		in := s.got[i]
		req, resp := in.Bodies()
		h, _ := in.Headers()
		if in.Result != "OK" || !strings.Contains(string(req), `"`+w.service+`"`) || !strings.Contains(string(resp), w.status) ||
			!strings.Contains(h, "x-extra: "+w.extra) {
			t.Errorf("call %d: %s → %s, request %s, response %s, headers %q", i+1, in.Op, in.Result, req, resp, h)
		}
	}
	// The calls' fields differ in one value only (x-extra, as grpc-timeout
	// in a grpc-go caller's calls): they share one copy, each with its
	// own value as a fix (the headers above are each call's own).
	if &s.got[1].reqFields[0] != &s.got[0].reqFields[0] || &s.got[2].reqFields[0] != &s.got[0].reqFields[0] {
		t.Error("the request fields were copied again, though they differ from the first call's in one value")
	}
}

// shareFix shares the last copy of a direction's header fields while they
// differ from it in one value at most, and copies them otherwise; the
// shared copy never changes.
func TestFieldsShareFix(t *testing.T) {
	f := func(kv ...string) []hpack.HeaderField {
		var out []hpack.HeaderField
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	var m fieldsMemo
	a, fa := m.shareFix(f(":path", "/x", "grpc-timeout", "100m"))
	b, fb := m.shareFix(f(":path", "/x", "grpc-timeout", "99m"))
	c, fc := m.shareFix(f(":path", "/x", "grpc-timeout", "100m"))
	if &a[0] != &b[0] || &a[0] != &c[0] || fa != (fieldFix{}) || fb != (fieldFix{at: 2, value: "99m"}) || fc != (fieldFix{}) {
		t.Fatalf("one value apart: not shared, or a wrong fix: %v %v %v", fa, fb, fc)
	}
	if got := fieldLines(fb.apply(b)); got != "grpc-timeout: 99m" {
		t.Errorf("the fixed fields: %q", got)
	}
	if got := fieldLines(a); got != "grpc-timeout: 100m" {
		t.Errorf("applying a fix changed the shared copy: %q", got)
	}
	for _, other := range [][]hpack.HeaderField{
		f(":path", "/y", "grpc-timeout", "98m"),          // two values apart
		f(":path", "/x", "grpc-encoding", "100m"),        // a name apart
		f(":path", "/x", "grpc-timeout", "1m", "a", "b"), // a field more
	} {
		d, fd := m.shareFix(other)
		if &d[0] == &a[0] || fd != (fieldFix{}) || fieldLines(d) != fieldLines(other) {
			t.Errorf("%v: shared with %v (fix %v)", other, a, fd)
		}
		m = fieldsMemo(a) // each case against the first copy
	}
}

// A stream the callee resets while the caller is inside one of its DATA
// frames: the rest of that frame counts for no other stream, even one
// that takes the reset stream's place.
func TestH2ResetStreamMidDataCountsForNoOther(t *testing.T) {
	s := newH2Script(t)
	data := s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: s.block(false,
			":method", "POST", ":scheme", "http", ":path", "/upload", ":authority", "b")})
		fr.WriteData(1, true, []byte("0123456789"))
	})
	s.d.fromClient(data[:len(data)-5])
	s.d.fromServer(s.frames(func(fr *http2.Framer) { fr.WriteRSTStream(1, http2.ErrCodeRefusedStream) }))
	s.d.fromClient(data[len(data)-5:])
	s.d.fromClient(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, EndHeaders: true, EndStream: true, BlockFragment: s.block(false,
			":method", "GET", ":scheme", "http", ":path", "/next", ":authority", "b")})
	}))
	s.d.fromServer(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, EndHeaders: true, EndStream: true, BlockFragment: s.block(true, ":status", "204")})
	}))
	if len(s.got) != 2 {
		t.Fatalf("%+v", s.got)
	}
	if r := s.got[0]; r.Op != "POST /upload" || r.RequestSize != 5 || !strings.HasPrefix(r.Result, "reset by the server") {
		t.Errorf("the reset stream: %s → %s, %d bytes sent", r.Op, r.Result, r.RequestSize)
	}
	if n := s.got[1]; n.Op != "GET /next" || n.RequestSize != 0 || n.Status != 204 {
		t.Errorf("the next stream: %s → %s, %d bytes sent, want 0", n.Op, n.Result, n.RequestSize)
	}
}

// Masking is remembered per connection, and learns the secrets a run
// registers later: the next call is masked by them.
func TestH2MaskMemoFollowsNewSecrets(t *testing.T) {
	s := newH2Script(t)
	m, err := NewMasker(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.p.SetMasker(m)
	get := func(id uint32) {
		s.d.fromClient(s.frames(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true, BlockFragment: s.block(false,
				":method", "GET", ":scheme", "http", ":path", "/keys/k3y-0f-the-run", ":authority", "b")})
		}))
		s.d.fromServer(s.frames(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true, BlockFragment: s.block(true, ":status", "200")})
		}))
	}
	get(1)
	get(3)
	m.Add("k3y-0f-the-run")
	get(5)
	if len(s.got) != 3 {
		t.Fatalf("%+v", s.got)
	}
	if s.got[1].Op != "GET /keys/k3y-0f-the-run" || s.got[2].Op != "GET /keys/"+masked || s.got[2].Target != "/keys/"+masked {
		t.Errorf("before the secret: %q; after: %q (%q)", s.got[1].Op, s.got[2].Op, s.got[2].Target)
	}
}

// headersFragment reads HEADERS payloads as x/net's Framer does.
func TestHeadersFragment(t *testing.T) {
	fh := func(flags http2.Flags, id uint32) http2.FrameHeader {
		return http2.FrameHeader{Type: http2.FrameHeaders, Flags: flags, StreamID: id}
	}
	for _, c := range []struct {
		fh      http2.FrameHeader
		p       string
		want    string
		wantErr string
	}{
		{fh(0, 1), "abc", "abc", ""},
		{fh(http2.FlagHeadersPadded, 1), "\x02abcPP", "abc", ""},
		{fh(http2.FlagHeadersPriority, 1), "\x80\x00\x00\x03\x10abc", "abc", ""},
		{fh(http2.FlagHeadersPadded|http2.FlagHeadersPriority, 1), "\x01\x00\x00\x00\x03\x10abcP", "abc", ""},
		{fh(http2.FlagHeadersPadded, 1), "\x02", "", "more padding than payload"},
		{fh(http2.FlagHeadersPadded, 1), "", "", "no pad length"},
		{fh(http2.FlagHeadersPriority, 1), "\x00\x00\x00", "", "a priority cut short"},
		{fh(0, 0), "abc", "", "HEADERS frame with stream ID 0"},
	} {
		got, why := headersFragment(c.fh, []byte(c.p))
		if string(got) != c.want || why != c.wantErr {
			t.Errorf("%v %q: %q, %q; want %q, %q", c.fh.Flags, c.p, got, why, c.want, c.wantErr)
		}
	}
}

// While a connection drains (a gRPC fault), the caller's frames of the
// streams it opened after the GOAWAY are dropped whole, whatever the
// writes they came in; the frames of the streams in flight and of the
// connection go on byte for byte, a frame header begun before the drain
// included.
func TestH2DrainDropsNewStreamsWhole(t *testing.T) {
	for _, step := range []int{1, 3, 1 << 20} {
		s := newH2Script(t)
		open := s.frames(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: s.block(false,
				":method", "POST", ":scheme", "http", ":path", "/up", ":authority", "b")})
		})
		s.d.fromClient(open)
		inFlight := s.frames(func(fr *http2.Framer) { fr.WriteData(1, false, []byte("in flight")) })
		s.d.fromClient(inFlight[:4]) // a frame header begun
		last, now, started, never := s.d.h2Drain(true)
		if last != 1 || !now || !started || never {
			t.Fatalf("h2Drain: %d %v %v %v", last, now, started, never)
		}
		// Begun, the drain goes on though its fault is cleared (its
		// GOAWAY must still go), and its last stream stays.
		if last, _, started, _ := s.d.h2Drain(false); last != 1 || !started {
			t.Fatalf("h2Drain after the fault: %d %v", last, started)
		}
		var want, all []byte
		want = append(want, inFlight[4:]...)
		all = append(all, inFlight[4:]...)
		kept := func(b []byte) { want, all = append(want, b...), append(all, b...) }
		dropped := func(b []byte) { all = append(all, b...) }
		dropped(s.frames(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: s.block(false,
				":method", "GET", ":scheme", "http", ":path", "/new", ":authority", "b")})
			fr.WriteContinuation(3, true, s.block(false, "x-more", "yes"))
			fr.WriteData(3, true, []byte("new call"))
		}))
		kept(s.frames(func(fr *http2.Framer) {
			fr.WriteWindowUpdate(0, 1000)
			fr.WritePing(false, [8]byte{1})
			fr.WriteData(1, false, []byte("end"))
			// Trailers that index what the dropped block added to the
			// caller's HPACK table: the recording read that block too.
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true, BlockFragment: s.block(false, "x-more", "yes")})
		}))
		dropped(s.frames(func(fr *http2.Framer) { fr.WriteRSTStream(3, http2.ErrCodeCancel) }))
		var got []byte
		for b := all; len(b) > 0; {
			n := min(step, len(b))
			out, cut := s.d.clientBytes(b[:n])
			if cut {
				t.Fatalf("step %d: cut", step)
			}
			got = append(got, out...)
			b = b[n:]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("step %d: passed on %x\nwant %x", step, got, want)
		}
		s.d.fromServer(s.frames(func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true, BlockFragment: s.block(true, ":status", "200")})
		}))
		// The dropped stream is an event of the connection, not a call
		// (the caller retries it, and that is the call), told to the
		// caller by an RST_STREAM once the GOAWAY went.
		if len(s.got) != 2 || s.got[1].Op != "POST /up" || s.got[1].RequestSize != int64(len("in flight")+len("end")) {
			t.Fatalf("step %d: recorded %+v", step, s.got)
		}
		if r := s.got[0]; r.Op != "connection" || !r.Injected || r.Suspicious || r.Method != "" ||
			r.Result != "stream 3 refused by the wire (REFUSED_STREAM): GET /new, opened after a fault began draining the connection" {
			t.Errorf("step %d: the dropped stream: %s", step, r.Line())
		}
		if ids := s.d.h2TakeRefused(); ids != nil {
			t.Errorf("step %d: RST_STREAM for %v before the GOAWAY went", step, ids)
		}
		s.d.h2GoawaySent()
		if ids := s.d.h2TakeRefused(); len(ids) != 1 || ids[0] != 3 {
			t.Errorf("step %d: RST_STREAM for %v, want stream 3", step, ids)
		}
		if ids := s.d.h2TakeRefused(); ids != nil {
			t.Errorf("step %d: RST_STREAM for %v again", step, ids)
		}
	}
}

// rawAnswer answers stream id with header and trailer blocks as given
// (raw HPACK bytes), and a health check response between them.
func (s *h2Script) rawAnswer(id uint32, headers, trailers []byte) Interaction {
	s.t.Helper()
	req, _ := proto.Marshal(&healthpb.HealthCheckRequest{Service: "x"})
	resp, _ := proto.Marshal(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
	s.d.fromClient(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: s.block(false,
			":method", "POST", ":scheme", "http", ":path", "/grpc.health.v1.Health/Check", ":authority", "b",
			"content-type", "application/grpc")})
		fr.WriteData(id, true, grpcMessage(req))
	}))
	n := len(s.got)
	s.d.fromServer(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: headers})
		fr.WriteData(id, false, grpcMessage(resp))
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true, BlockFragment: trailers})
	}))
	if len(s.got) != n+1 {
		s.t.Fatalf("stream %d: %d interactions, want 1: %+v", id, len(s.got)-n, s.got[n:])
	}
	return s.got[n]
}

// literal is an HPACK literal field with incremental indexing and a new
// name (RFC 7541 §6.2.1): it adds the field to the table at index 62.
func literal(name, value string) []byte {
	b := append([]byte{0x40, byte(len(name))}, name...)
	return append(append(b, byte(len(value))), value...)
}

// A block of indexed fields alone is read from the blocks seen before
// (blockMemo) only while the table they index stays as it was: the same
// bytes mean other fields once a block has added to it.
func TestH2BlockMemoFollowsTheTable(t *testing.T) {
	s := newH2Script(t)
	status200 := []byte{0x88} // static index 8
	// Table after: 62 grpc-status: 0, 63 x-who: a.
	in := s.rawAnswer(1, append(status200, literal("x-who", "a")...), literal("grpc-status", "0"))
	// Indexed only: 0xbf is index 63, 0xbe index 62.
	for id := uint32(3); id <= 5; id += 2 {
		in = s.rawAnswer(id, []byte{0x88, 0xbf}, []byte{0xbe})
		if _, h := in.Headers(); in.Result != "OK" || !strings.Contains(h, "x-who: a") {
			t.Fatalf("stream %d: %s, response headers %q", id, in.Result, h)
		}
	}
	if s.d.h2.dirs[1].known.n != 2 {
		t.Fatalf("the callee's indexed blocks are not remembered: %+v", s.d.h2.dirs[1].known)
	}
	// x-who: b goes in at 62: grpc-status: 0 is 63, x-who: a 64.
	s.rawAnswer(7, append(status200, literal("x-who", "b")...), []byte{0xbf})
	in = s.rawAnswer(9, []byte{0x88, 0xbf}, []byte{0xbf})
	if _, h := in.Headers(); in.Result != "OK" || strings.Contains(h, "x-who") || !strings.Contains(h, "grpc-status: 0") {
		t.Fatalf("after the table changed, the same block reads as before: %s, response headers %q", in.Result, h)
	}
	in = s.rawAnswer(11, []byte{0x88, 0xbe, 0xc0}, []byte{0xbf})
	if _, h := in.Headers(); !strings.Contains(h, "x-who: b") || !strings.Contains(h, "x-who: a") {
		t.Fatalf("response headers %q, want x-who b and a", h)
	}
}

func TestIndexedOnly(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want bool
	}{
		{[]byte{0x88, 0xbe}, true},
		{[]byte{0xff, 0x80, 0x01}, true}, // index 127 + 128, in three bytes
		{[]byte{0xff}, false},            // the integer cut short
		{[]byte{0xff, 0x80}, false},
		{[]byte{0x88, 0x40}, false}, // a literal
		{[]byte{0x3f, 0xe1, 0x1f}, false},
	} {
		if got := indexedOnly(c.b); got != c.want {
			t.Errorf("indexedOnly(% x) = %v, want %v", c.b, got, c.want)
		}
	}
}

// A connection whose HTTP/2 cannot be read any more while it drains is
// cut (the caller reconnects and meets the fault), not left with its
// bytes dropped and no GOAWAY to tell it.
func TestH2DrainCutsWhatItCannotRead(t *testing.T) {
	s := newH2Script(t)
	if _, _, started, _ := s.d.h2Drain(true); !started {
		t.Fatal("the drain did not begin")
	}
	// DATA on stream 0 (a connection's frame, which the drain passes on):
	// decoding stops.
	if out, cut := s.d.clientBytes([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0}); !cut || len(out) > 0 {
		t.Fatalf("passed %x, cut %v; want it cut", out, cut)
	}
	if out, cut := s.d.clientBytes([]byte("more")); !cut || len(out) > 0 {
		t.Fatalf("after: passed %x, cut %v; want it cut", out, cut)
	}
}
