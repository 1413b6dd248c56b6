package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// boxFile is a suite's own protos: seam.test.box.Box, whose Req carries
// an Any, a Struct and padding.
//
//	message Item { string name = 1; }
//	message Req { string text = 1; google.protobuf.Any extra = 2;
//	              google.protobuf.Struct meta = 3; bytes padding = 4; }
//	service Box { rpc Put(Req) returns (Req); rpc List(Req) returns (stream Req); }
func boxFile(t testing.TB) *protoregistry.Files {
	t.Helper()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, msg string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(name)}
		if msg != "" {
			f.TypeName = proto.String(msg)
		}
		return f
	}
	msgType := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("seam/test/box.proto"), Package: proto.String("seam.test.box"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/any.proto", "google/protobuf/struct.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Item"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, "")}},
			{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
				field("text", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
				field("extra", 2, msgType, ".google.protobuf.Any"),
				field("meta", 3, msgType, ".google.protobuf.Struct"),
				field("padding", 4, descriptorpb.FieldDescriptorProto_TYPE_BYTES, "")}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Box"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("Put"), InputType: proto.String(".seam.test.box.Req"), OutputType: proto.String(".seam.test.box.Req")},
			{Name: proto.String("List"), InputType: proto.String(".seam.test.box.Req"), OutputType: proto.String(".seam.test.box.Req"),
				ServerStreaming: proto.Bool(true)}}}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	for _, f := range []protoreflect.FileDescriptor{fd, anypb.File_google_protobuf_any_proto, structpb.File_google_protobuf_struct_proto} {
		if err := files.RegisterFile(f); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// boxReq is a seam.test.Box Req: text, an Any of the suite's Item named
// item (none: ""), a Struct (nil: none) and pad bytes of padding.
func boxReq(t testing.TB, text, item string, meta *structpb.Struct, pad int) []byte {
	t.Helper()
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), text)
	if item != "" {
		value := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), item)
		a, err := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/seam.test.box.Item", Value: value})
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), a)
	}
	if meta != nil {
		m, err := proto.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendBytes(protowire.AppendTag(b, 3, protowire.BytesType), m)
	}
	if pad > 0 {
		b = protowire.AppendBytes(protowire.AppendTag(b, 4, protowire.BytesType), bytes.Repeat([]byte{'p'}, pad))
	}
	return b
}

// rpc is one gRPC call on stream id, fed to the script's decoder: its
// request's messages, then its answer's (each given whole, with its
// 5-byte prefix), then the answer's trailers (fields; none: the stream is
// reset by the callee in the middle of the answer instead).
func (s *h2Script) rpc(id uint32, path string, req, resp [][]byte, respFields []string, trailers ...string) {
	s.d.fromClient(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: s.block(false,
			":method", "POST", ":scheme", "http", ":path", path, ":authority", "b", "content-type", "application/grpc")})
		writeData(fr, id, bytes.Join(req, nil), true)
	}))
	s.d.fromServer(s.frames(func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: s.block(true,
			append([]string{":status", "200", "content-type", "application/grpc"}, respFields...)...)})
		writeData(fr, id, bytes.Join(resp, nil), false)
		if len(trailers) == 0 {
			fr.WriteRSTStream(id, http2.ErrCodeInternal)
			return
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true, BlockFragment: s.block(true, trailers...)})
	}))
}

// writeData writes b as DATA frames of the size every peer allows.
func writeData(fr *http2.Framer, id uint32, b []byte, end bool) {
	for {
		n := min(len(b), 16384)
		if err := fr.WriteData(id, end && n == len(b), b[:n]); err != nil {
			panic(err)
		}
		if b = b[n:]; len(b) == 0 {
			return
		}
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	m := z.Bytes()
	return append([]byte{1, byte(len(m) >> 24), byte(len(m) >> 16), byte(len(m) >> 8), byte(len(m))}, m...)
}

// An Any holding one of the suite's own types is shown as that type,
// from the protos the proxy was given (as the grpc step reads it), not
// only the types linked into seam.
func TestGRPCAnyOfTheSuitesOwnTypeIsJSON(t *testing.T) {
	s := newH2Script(t)
	s.p.SetDescriptors(boxFile(t))
	s.rpc(1, "/seam.test.box.Box/Put", [][]byte{grpcMessage(boxReq(t, "any", "it", nil, 0))},
		[][]byte{grpcMessage(boxReq(t, "ok", "", nil, 0))}, nil, "grpc-status", "0")
	if len(s.got) != 1 {
		t.Fatalf("%d interactions", len(s.got))
	}
	req, _ := s.got[0].Bodies()
	var got struct {
		Text  string
		Extra map[string]string
	}
	if err := json.Unmarshal(req, &got); err != nil || got.Extra["@type"] != "type.googleapis.com/seam.test.box.Item" || got.Extra["name"] != "it" {
		_, body, _, _ := s.got[0].Content()
		t.Fatalf("request shown as %s (%v)", body, err)
	}
}

// Messages of known types that are not shown say why, truly; what is
// shown of a stream kept in part ends with a marker that says so.
func TestGRPCMessagesNotShownSayWhy(t *testing.T) {
	const put, list = "/seam.test.box.Box/Put", "/seam.test.box.Box/List"
	one := func(b []byte) [][]byte { return [][]byte{grpcMessage(b)} }
	many := func(n int, b []byte) [][]byte {
		var out [][]byte
		for range n {
			out = append(out, grpcMessage(b))
		}
		return out
	}
	noKind := &structpb.Struct{Fields: map[string]*structpb.Value{"gone": {}, "n": structpb.NewNumberValue(1)}}
	ok := []string{"grpc-status", "0"}
	for _, c := range []struct {
		name       string
		path       string
		resp       [][]byte
		respFields []string
		trailers   []string
		json       string // what the response's JSON holds ("": none)
		marker     string // the end of a JSON array kept in part
		text       string // what Content says of a response not shown
	}{
		{name: "a 20 kB reply", path: put, resp: one(boxReq(t, "big", "", nil, 20000)), trailers: ok, json: `"text":"big"`},
		{name: "a 1.9 MB reply", path: put, resp: one(boxReq(t, "huge", "", nil, 2000000)), trailers: ok,
			text: "(1 message, 1.9 MB; too large to keep (the wire keeps 64 KiB of a call's messages each way))"},
		{name: "a stream of 3 small ones", path: list, resp: many(3, boxReq(t, "s", "", nil, 3000)), trailers: ok, json: `"text":"s"`},
		{name: "a stream of 3 large ones", path: list, resp: many(3, boxReq(t, "l", "", nil, 29000)), trailers: ok,
			json: `"text":"l"`, marker: "… too large to keep: first 2 of 3 messages (the wire keeps 64 KiB of a call's messages each way)"},
		{name: "a gzip reply inflating past 64 KiB", path: put, resp: [][]byte{gzipped(t, boxReq(t, "z", "", nil, 70000))},
			respFields: []string{"grpc-encoding", "gzip"}, trailers: ok, text: "too large to keep: it inflates past 64 KiB (gzip)"},
		{name: "a gzip reply of another encoding", path: put, resp: [][]byte{gzipped(t, boxReq(t, "z", "", nil, 10))},
			respFields: []string{"grpc-encoding", "snappy"}, trailers: ok, text: `compressed with "snappy", which the wire does not inflate`},
		{name: "a Struct Value with no kind set (grpc-js)", path: put, resp: one(boxReq(t, "v", "", noKind, 0)), trailers: ok,
			json: `"gone":null`},
		{name: "not the method's type", path: put, resp: one([]byte{0xff, 0xff, 0xff}), trailers: ok,
			text: "not a seam.test.box.Req: "},
		{name: "a stream cut short", path: list, resp: append(many(2, boxReq(t, "c", "", nil, 10)), grpcMessage(boxReq(t, "c", "", nil, 100))[:50]),
			json: `"text":"c"`, marker: "… cut short: the call ended inside message 3 of 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newH2Script(t)
			s.p.SetDescriptors(boxFile(t))
			s.rpc(1, c.path, one(boxReq(t, "in", "", nil, 0)), c.resp, c.respFields, c.trailers...)
			if len(s.got) != 1 {
				t.Fatalf("%d interactions", len(s.got))
			}
			in := s.got[0]
			_, resp := in.Bodies()
			_, _, _, text := in.Content()
			if strings.Contains(text, "types are unknown") {
				t.Errorf("the types are known, but the response says %s", text)
			}
			if c.json == "" {
				if resp != nil || !strings.Contains(text, c.text) {
					t.Errorf("response shown as %.200q (JSON %.200q), want %q said", text, resp, c.text)
				}
				return
			}
			if !json.Valid(resp) || !strings.Contains(string(resp), c.json) {
				t.Fatalf("response JSON %.300q, want %s in it", resp, c.json)
			}
			var all []any
			if json.Unmarshal(resp, &all) == nil {
				last, _ := all[len(all)-1].(string)
				if last != c.marker {
					t.Errorf("the array ends with %.100q, want %q", all[len(all)-1], c.marker)
				}
				if c.marker == "" && len(all) != in.ResponseMessages {
					t.Errorf("%d elements for %d messages", len(all), in.ResponseMessages)
				}
			} else if c.marker != "" {
				t.Errorf("response %.200q is no array, want one ending with %q", resp, c.marker)
			}
		})
	}
}

// The journal drops its oldest interactions once what they hold passes
// maxJournalBytes, as it does past maxJournal of them.
func TestJournalBoundsWhatItHolds(t *testing.T) {
	var j Journal
	big := Interaction{Op: "GRPC /a/B"}
	big.grpcJSON = &grpcJSON{held: 2 * maxMessagesKept}
	n := maxJournalBytes/big.heldBytes() + 10
	for range n {
		j.Add(big)
	}
	if j.bytes > maxJournalBytes || len(j.list) != n-10 || j.dropped != 10 {
		t.Errorf("holds %d bytes in %d interactions (%d dropped); want at most %d bytes", j.bytes, len(j.list), j.dropped, maxJournalBytes)
	}
	j.Add(Interaction{Op: "GET /"})
	if len(j.list) != n-9 {
		t.Errorf("an interaction that holds nothing dropped another: %d kept", len(j.list))
	}
}
