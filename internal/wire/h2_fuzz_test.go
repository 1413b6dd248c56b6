package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// h2Seeds are the bytes real clients and servers exchanged in the HTTP/2
// and gRPC tests, in order (go test ./internal/wire -run 'GRPC|H2C'
// -args -capture records them again; tap has the format).
func h2Seeds(tb testing.TB) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "h2", "*.log"))
	if len(files) == 0 {
		tb.Fatal("no seeds in testdata/h2")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// replay feeds a recorded connection to a decoder, each chunk cut in
// pieces of at most step bytes, and returns what it reported. A record
// cut short ends the log.
func replay(log []byte, step int, files *protoregistry.Files) []Interaction {
	return replayMemo(log, step, files, true)
}

// replayMemo is replay, with blockMemo on or off.
func replayMemo(log []byte, step int, files *protoregistry.Files, memo bool) []Interaction {
	var got []Interaction
	p := &Proxy{Edge: "f→g", report: func(i Interaction) { got = append(got, i) }, noBlockMemo: !memo}
	p.SetDescriptors(files)
	d := newDecoder(p)
	for len(log) >= 5 {
		dir, n := log[0]&1, int(min(binary.BigEndian.Uint32(log[1:5]), uint32(len(log)-5)))
		chunk := log[5 : 5+n]
		log = log[5+n:]
		for len(chunk) > 0 {
			k := min(step, len(chunk))
			if dir == 0 {
				d.fromClient(chunk[:k])
			} else {
				d.fromServer(chunk[:k])
			}
			chunk = chunk[k:]
		}
	}
	d.close("connection closed", false)
	return got
}

func TestH2SeedsDecode(t *testing.T) {
	files := echoFile(t)
	for name, log := range h2Seeds(t) {
		// However the caller splits its writes, down to a byte at a
		// time (its first bytes are kept until they tell HTTP/2).
		for _, step := range []int{1, 2, 3, 9, 10, 1 << 20} {
			got := replay(log, step, files)
			if len(got) < 3 {
				t.Errorf("%s in steps of %d: %d interactions", name, step, len(got))
			}
			for _, i := range got {
				if strings.Contains(i.Result, "undecoded") || strings.Contains(i.Result, "no response") {
					t.Errorf("%s in steps of %d: %s → %s", name, step, i.Op, i.Result)
				}
			}
		}
	}
}

func FuzzH2(f *testing.F) {
	for _, log := range h2Seeds(f) {
		f.Add(log, uint16(0))
		f.Add(log, uint16(12))
		f.Add(log, uint16(4096))
	}
	files := echoFile(f)
	f.Fuzz(func(t *testing.T, log []byte, step uint16) {
		got := replay(log, int(step)+1, files)
		// What blockMemo gives is what HPACK reads.
		if want := replayMemo(log, int(step)+1, files, false); !sameCalls(got, want) {
			t.Fatalf("with blockMemo:\n%s\nwithout:\n%s", callLines(got), callLines(want))
		}
		for _, i := range got {
			if i.Edge != "f→g" || i.Protocol == "http2" && (len(i.RequestBody) > maxBodyKept || len(i.ResponseBody) > maxBodyKept) {
				t.Fatalf("%+v", i)
			}
			if req, resp := i.Bodies(); i.Protocol == "grpc" && (req != nil && !json.Valid(req) || resp != nil && !json.Valid(resp)) {
				t.Fatalf("gRPC messages rendered as something other than JSON: %s → %s", req, resp)
			}
			if i.End.Before(i.Start) {
				t.Fatalf("ends before it starts: %+v", i)
			}
		}
	})
}

// sameCalls compares interactions but for their times.
func sameCalls(a, b []Interaction) bool {
	return callLines(a) == callLines(b)
}

func callLines(is []Interaction) string {
	var b strings.Builder
	for _, i := range is {
		req, resp := i.Headers()
		fmt.Fprintf(&b, "%s %s %s %q %d %d %q %q\n", i.Protocol, i.Op, i.Result, i.Note, i.Status, i.GRPCStatus, req, resp)
	}
	return b.String()
}

func FuzzGRPCFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 6, 10, 4, 'a', 'u', 't', 'h'}, uint8(2))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 8, 1}, uint8(0))
	f.Add([]byte{0, 0, 0, 16, 0, 1}, uint8(255))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte{10, 4, 'a', 'u', 't', 'h'})
	zw.Close()
	f.Add(append([]byte{1, 0, 0, 0, byte(zipped.Len())}, zipped.Bytes()...), uint8(3))
	req := healthpb.File_grpc_health_v1_health_proto.Messages().ByName("HealthCheckRequest")
	types := &anyTypes{files: dynamicpb.NewTypes(echoFile(f))}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var g grpcFrames
		if step%2 == 1 {
			g.encoding = "gzip"
		}
		for b := data; len(b) > 0; {
			n := min(int(step)+1, len(b))
			g.feed(b[:n])
			b = b[n:]
		}
		if g.keptSize > maxMessagesKept || len(g.kept) > g.count {
			t.Fatalf("kept %d bytes in %d of %d messages", g.keptSize, len(g.kept), g.count)
		}
		var one [1]grpcMsg
		saved := g.saved(&one)
		out, why := renderMessages(req, &saved, types)
		// Every message is shown, or why not is said.
		if why == "" && g.count > 0 && (len(g.kept) < g.count || out == nil) {
			t.Fatalf("%d of %d messages kept, shown as %q, and no reason", len(g.kept), g.count, out)
		}
		if out != nil && !json.Valid(out) {
			t.Fatalf("not JSON: %q", out)
		}
	})
}

// split undoes a log into what each side sent.
func split(log []byte) (client, server []byte) {
	for len(log) >= 5 {
		n := int(min(binary.BigEndian.Uint32(log[1:5]), uint32(len(log)-5)))
		if log[0]&1 == 0 {
			client = append(client, log[5:5+n]...)
		} else {
			server = append(server, log[5:5+n]...)
		}
		log = log[5+n:]
	}
	return client, server
}

// FuzzH2Frames mutates the frames themselves: the client's bytes after
// its preface and the server's, fed in turn step bytes at a time.
func FuzzH2Frames(f *testing.F) {
	for _, log := range h2Seeds(f) {
		c, s := split(log)
		if i := bytes.Index(c, []byte(h2Preface)); i >= 0 {
			f.Add(c[i+len(h2Preface):], s, uint16(4096))
			f.Add(c[i+len(h2Preface):], s, uint16(5))
		}
	}
	files := echoFile(f)
	f.Fuzz(func(t *testing.T, client, server []byte, step uint16) {
		var log []byte
		add := func(dir byte, b []byte) {
			log = append(log, dir, byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b)))
			log = append(log, b...)
		}
		add(0, []byte(h2Preface))
		for n := int(step) + 1; len(client) > 0 || len(server) > 0; {
			k := min(n, len(client))
			add(0, client[:k])
			client = client[k:]
			k = min(n, len(server))
			add(1, server[:k])
			server = server[k:]
		}
		for _, i := range replay(log, 1<<20, files) {
			if i.Edge != "f→g" || i.End.Before(i.Start) {
				t.Fatalf("%+v", i)
			}
		}
	})
}

// TestH2MutatedSeeds is a small seeded fuzz that runs with every go test:
// the recorded connections with bytes changed, cut, repeated, fed in
// pieces of any size, never panic and never take long.
func TestH2MutatedSeeds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	files := echoFile(t)
	seeds := h2Seeds(t)
	for range 1000 {
		for _, log := range seeds {
			b := append([]byte(nil), log...)
			for range 1 + r.IntN(8) {
				i, j := r.IntN(len(b)), r.IntN(len(b))
				switch r.IntN(4) {
				case 0:
					b[i] = byte(r.IntN(256))
				case 1:
					b = append(b[:i], b[min(len(b), i+r.IntN(20)):]...)
				case 2:
					b = append(b[:i], append([]byte{byte(r.IntN(256)), 0, 0xff}, b[i:]...)...)
				case 3:
					if i < j {
						b = append(b, b[i:j]...)
					}
				}
				if len(b) == 0 {
					b = []byte{0}
				}
			}
			start := time.Now()
			replay(b, 1+r.IntN(70000), files)
			if d := time.Since(start); d > time.Second {
				t.Fatalf("%v to decode %q", d, b)
			}
		}
	}
}

// TestH2PrefaceSplitAroundTheServersSettings: a caller's first bytes
// ("PR") kept before the callee's SETTINGS tell HTTP/2 are its preface's,
// not lost when the callee's bytes decide.
func TestH2PrefaceSplitAroundTheServersSettings(t *testing.T) {
	var records [][2][]byte // direction, bytes
	log := h2Seeds(t)["grpc.log"]
	for len(log) >= 5 {
		dir, n := log[0]&1, int(min(binary.BigEndian.Uint32(log[1:5]), uint32(len(log)-5)))
		records = append(records, [2][]byte{{dir}, log[5 : 5+n]})
		log = log[5+n:]
	}
	if len(records) < 2 || records[0][0][0] != 1 || records[1][0][0] != 0 {
		t.Fatal("grpc.log no longer starts with the server's SETTINGS, then the client's preface")
	}
	var got []Interaction
	p := &Proxy{Edge: "f→g", report: func(i Interaction) { got = append(got, i) }}
	p.SetDescriptors(echoFile(t))
	d := newDecoder(p)
	preface := records[1][1]
	d.fromClient(preface[:2])
	d.fromServer(records[0][1])
	d.fromClient(preface[2:])
	for _, r := range records[2:] {
		if r[0][0] == 0 {
			d.fromClient(r[1])
		} else {
			d.fromServer(r[1])
		}
	}
	d.close("connection closed", false)
	calls := 0
	for _, i := range got {
		if i.Protocol == "grpc" {
			calls++
		}
		if strings.Contains(i.Result, "undecoded") {
			t.Errorf("%s → %s", i.Op, i.Result)
		}
	}
	if calls < 3 {
		t.Errorf("%d gRPC calls decoded; want the log's (3 or more)", calls)
	}
}

// FuzzH2Drain: a connection drained by a gRPC fault part way, then fed
// the rest of the caller's bytes through the frame filter: never a panic,
// never more bytes passed on than came (a frame header cut between two
// writes goes on with the second).
func FuzzH2Drain(f *testing.F) {
	for _, log := range h2Seeds(f) {
		c, s := split(log)
		f.Add(c, s, uint16(4096), uint16(len(c)/2))
		f.Add(c, s, uint16(3), uint16(len(c)/3))
		f.Add(c, []byte{}, uint16(7), uint16(0))
	}
	files := echoFile(f)
	f.Fuzz(func(t *testing.T, client, server []byte, step, at uint16) {
		p := &Proxy{Edge: "f→g", report: func(Interaction) {}}
		p.SetDescriptors(files)
		// The fault holds (a drain before any bytes starts with the
		// caller's first: drainOnH2).
		p.faults.cur.Store(&Faults{GRPC: &GRPCFault{Code: 7}})
		d := newDecoder(p)
		d.fromServer(server[:len(server)/2])
		cut := min(int(at), len(client))
		d.fromClient(client[:cut])
		d.h2Drain(true)
		d.fromServer(server[len(server)/2:])
		in, out := 0, 0
		for b := client[cut:]; len(b) > 0; {
			n := min(int(step)+1, len(b))
			pass, cutNow := d.clientBytes(b[:n])
			if cutNow {
				break // the proxy cuts the connection: nothing more passes
			}
			in, out = in+n, out+len(pass)
			if out > in {
				t.Fatalf("%d bytes passed on of %d", out, in)
			}
			b = b[n:]
		}
		d.close("connection closed", false)
	})
}
