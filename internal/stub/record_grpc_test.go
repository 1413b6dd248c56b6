package stub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// realGreeter serves the greeter as a real gRPC service would (grpc-go,
// from its descriptors), with server reflection when reflect.
func realGreeter(t *testing.T, files *protoregistry.Files, reflect bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Marshalled as generated code is, fields in order: dynamicpb's own
	// order varies from call to call, and a recording as bytes would see
	// two answers.
	srv := grpc.NewServer(grpc.ForceServerCodec(orderedCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.v1.Greeter",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Hello", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := msg(t, files, "test.v1.HelloRequest", "")
			if err := dec(in); err != nil {
				return nil, err
			}
			name := in.Get(in.Descriptor().Fields().ByName("name")).String()
			if name == "nobody" {
				return nil, status.Error(codes.NotFound, "no such person: nobody (100%)")
			}
			grpc.SetHeader(ctx, metadata.Pairs("x-served-by", "real"))
			return msg(t, files, "test.v1.HelloReply", `{"greeting": "hello `+name+`", "at": "2026-01-02T03:04:05Z"}`), nil
		}}},
		Streams: []grpc.StreamDesc{{StreamName: "Count", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			in := msg(t, files, "test.v1.CountRequest", "")
			if err := st.RecvMsg(in); err != nil {
				return err
			}
			upto := in.Get(in.Descriptor().Fields().ByName("upto")).Int()
			for i := int64(1); i <= upto; i++ {
				if err := st.SendMsg(msg(t, files, "test.v1.CountReply", `{"n": `+itoa(i)+`}`)); err != nil {
					return err
				}
			}
			return nil
		}}},
	}, struct{}{})
	if reflect {
		// The services listed, their files from the descriptors (they are
		// not in the process's registry, as generated code's would be).
		rpb.RegisterServerReflectionServer(srv, reflection.NewServerV1(reflection.ServerOptions{Services: srv, DescriptorResolver: files}))
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

type orderedCodec struct{}

func (orderedCodec) Marshal(v any) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(v.(proto.Message))
}
func (orderedCodec) Unmarshal(b []byte, v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
func (orderedCodec) Name() string                    { return "proto" }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// recordGRPCThrough serves a recorder in front of target as seam stub
// record does (HTTP/1 and HTTP/2 without TLS on one port) and returns it,
// a client to it and the messages it logged.
func recordGRPCThrough(t *testing.T, target string, files *protoregistry.Files) (*Recorder, *grpc.ClientConn, func() []string) {
	t.Helper()
	rec, err := NewRecorder("http://" + target)
	if err != nil {
		t.Fatal(err)
	}
	rec.GRPC = files
	var mu sync.Mutex
	var logs []string
	rec.Log = func(m string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rec, Protocols: new(http.Protocols)}
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return rec, cc, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), logs...)
	}
}

// greeterCalls makes the calls a recording is checked with, and checks
// their answers (the same through the recorder, the real service or a
// stub playing the recording back). count is false where a stream cannot
// be played back.
func greeterCalls(t *testing.T, cc *grpc.ClientConn, files *protoregistry.Files, count bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		out := msg(t, files, "test.v1.HelloReply", "")
		var hdr metadata.MD
		if err := cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name": "Ada"}`), out, grpc.Header(&hdr)); err != nil {
			t.Fatalf("Hello Ada: %v", err)
		}
		if got := asJSON(out); got != `{"greeting":"helloAda","at":"2026-01-02T03:04:05Z"}` {
			t.Errorf("Hello Ada: %s", got)
		}
		if got := hdr.Get("x-served-by"); len(got) != 1 || got[0] != "real" {
			t.Errorf("Hello Ada: x-served-by %q, want the service's metadata", got)
		}
	}
	err := cc.Invoke(ctx, "/test.v1.Greeter/Hello", msg(t, files, "test.v1.HelloRequest", `{"name": "nobody"}`), msg(t, files, "test.v1.HelloReply", ""))
	if s, _ := status.FromError(err); s.Code() != codes.NotFound || s.Message() != "no such person: nobody (100%)" {
		t.Errorf("Hello nobody: %v, want NOT_FOUND with the service's message", err)
	}
	if !count {
		return
	}
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
		err := st.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		got = append(got, asJSON(m))
	}
	if strings.Join(got, " ") != `{"n":1} {"n":2} {"n":3}` {
		t.Errorf("Count 3: %v", got)
	}
}

func TestRecorderRecordsGRPCCallsAsJSONThatPlayBack(t *testing.T) {
	files := greeterTypes(t)
	for _, c := range []struct {
		name    string
		given   bool // descriptors given (--proto); else from reflection
		reflect bool
	}{{"descriptors given", true, false}, {"descriptors from reflection", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			target := realGreeter(t, files, c.reflect)
			var given *protoregistry.Files
			if c.given {
				given = files
			}
			rec, cc, logs := recordGRPCThrough(t, target, given)
			greeterCalls(t, cc, files, true) // through the recorder, as from the real service
			ms := rec.Mappings()
			var labels []string
			for _, m := range ms {
				labels = append(labels, m.Label())
			}
			if len(ms) != 3 {
				t.Fatalf("recorded %d mappings, want 3 (Ada twice is one): %v; logs %q", len(ms), labels, logs())
			}
			if got := string(ms[0].Response.Body); !strings.Contains(got, `"greeting": "hello Ada"`) {
				t.Errorf("Hello Ada recorded as %q, want its message as JSON", got)
			}
			if w, _ := json.Marshal(ms[0].WireMock()); !strings.Contains(string(w), `"equalToJson"`) {
				t.Errorf("Hello Ada's request recorded as %s, want equalToJson", w)
			}
			if got := ms[1].Response.Headers; !hasHeader(got, grpcStatusName, "NOT_FOUND") || !hasHeader(got, grpcStatusReason, "no such person: nobody (100%)") {
				t.Errorf("Hello nobody recorded with headers %v, want its status by name and its message decoded", got)
			}
			if got := string(ms[2].Response.Body); !strings.HasPrefix(got, "[") || strings.Count(got, `"n"`) != 3 {
				t.Errorf("Count recorded as %q, want a list of its 3 messages", got)
			}

			// Played back from the folder a recording writes, as WireMock
			// and seam stub read it: its descriptors in grpc/.
			out := t.TempDir()
			if _, err := WriteWireMock(out, ms); err != nil {
				t.Fatal(err)
			}
			p, err := WriteDescriptors(out, rec.Descriptors())
			if err != nil || p == "" {
				t.Fatalf("descriptors: %q, %v", p, err)
			}
			src, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if src.GRPC == nil {
				t.Fatal("the recording's grpc/ gave no descriptors")
			}
			_, pc := playGRPC(t, src.Mappings, src.GRPC)
			greeterCalls(t, pc, files, true)

			// Again in seam's form.
			rp, err := WriteRoutes(out, ms)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(rp)
			for _, want := range []string{"when: GRPC /test.v1.Greeter/Hello", "code: NOT_FOUND", "no such person: nobody (100%)", "upto: 3"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("routes file lacks %q:\n%s", want, b)
				}
			}
			routes, err := LoadFile(rp)
			if err != nil {
				t.Fatalf("%s: %v", rp, err)
			}
			_, rc := playGRPC(t, routes, src.GRPC)
			greeterCalls(t, rc, files, true)
		})
	}
}

func TestRecorderRecordsGRPCAsBytesWithoutDescriptors(t *testing.T) {
	files := greeterTypes(t)
	target := realGreeter(t, files, false)
	rec, cc, logs := recordGRPCThrough(t, target, nil)
	greeterCalls(t, cc, files, true)
	if l := strings.Join(logs(), "\n"); !strings.Contains(l, "recorded as bytes") || !strings.Contains(l, "--proto") {
		t.Errorf("logs %q, want a word that calls are recorded as bytes and how to give descriptors", l)
	}
	if !strings.Contains(strings.Join(logs(), "\n"), "GRPC /test.v1.Greeter/Count: passed through, not recorded") {
		t.Errorf("logs %q, want the stream of 3 messages passed through unrecorded", logs())
	}
	if rec.Descriptors() != nil {
		t.Error("descriptors reported without any")
	}
	ms := rec.Mappings()
	if len(ms) != 2 {
		for _, m := range ms {
			t.Logf("%s %s %v %q", m.Label(), m.Scenario, m.Response.Headers, m.Response.Body)
		}
		t.Fatalf("recorded %d mappings, want 2; logs %q", len(ms), logs())
	}
	out := t.TempDir()
	if _, err := WriteWireMock(out, ms); err != nil {
		t.Fatal(err)
	}
	src, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	_, pc := playGRPC(t, src.Mappings, nil)
	greeterCalls(t, pc, files, false)
}

// playGRPC serves mappings as seam serves a stub and returns a client.
func playGRPC(t *testing.T, ms []*Mapping, files *protoregistry.Files) (*Server, *grpc.ClientConn) {
	t.Helper()
	s := New(Options{GRPC: files})
	s.Add(ms...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	t.Cleanup(func() { l.Close(context.Background()) })
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return s, cc
}

func hasHeader(hs []Header, name, value string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) && h.Value == value {
			return true
		}
	}
	return false
}
