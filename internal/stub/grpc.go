package stub

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// gRPC on a stub works as WireMock's gRPC extension does: a call is
// turned into an HTTP request that mappings match as any other —
// POST /package.Service/Method, the metadata as headers, the request
// message as JSON (protojson, from the descriptors the stub was given) —
// and the mapping's answer is turned back into a gRPC answer: its body,
// JSON, becomes the response message (a JSON array, one message each, for
// a server-streaming method); the headers grpc-status-name (a code's name
// or number) and grpc-status-reason give a status other than OK; an HTTP
// status other than 200 without them gives the code gRPC's clients report
// for it (http-grpc-status-mapping.md: 401 UNAUTHENTICATED, 404
// UNIMPLEMENTED, 503 UNAVAILABLE, …), the body as its message. So
// equalToJson, matchesJsonPath, scenarios, templates over request.body,
// the journal and stub-verify all apply to gRPC calls unchanged.
//
// Without descriptors for a method, its request message is matched as
// bytes (binaryEqualTo) and the body answered is the message's bytes
// (base64Body). Client-streaming and bidirectional calls are answered once
// the caller has ended its side; their messages are a JSON array.
// The source of the framing is gRPC's PROTOCOL-HTTP2.md.

// Headers a mapping answers a gRPC status with, as WireMock's gRPC
// extension reads them.
const (
	grpcStatusName   = "grpc-status-name"
	grpcStatusReason = "grpc-status-reason"
)

// isGRPC reports whether a Content-Type is gRPC's (application/grpc,
// application/grpc+proto, …).
func isGRPC(ct string) bool {
	return ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+") || strings.HasPrefix(ct, "application/grpc;")
}

// IsGRPC reports whether a journaled request was a gRPC call.
func (r *Request) IsGRPC() bool { return isGRPC(r.Header().Get("Content-Type")) }

// grpcTypes are the gRPC services a stub answers as JSON.
type grpcTypes struct {
	files *protoregistry.Files
	types *dynamicpb.Types // resolves Any's types
}

func newGRPCTypes(files *protoregistry.Files) *grpcTypes {
	if files == nil {
		return nil
	}
	return &grpcTypes{files: files, types: dynamicpb.NewTypes(files)}
}

// method is the descriptor of the method a path names, nil when unknown.
func (g *grpcTypes) method(path string) protoreflect.MethodDescriptor {
	if g == nil {
		return nil
	}
	svc, name, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok {
		return nil
	}
	d, err := g.files.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil
	}
	return sd.Methods().ByName(protoreflect.Name(name))
}

// methods lists the methods the descriptors define, for an error.
func (g *grpcTypes) methods() []string {
	var out []string
	g.files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			sd := f.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				out = append(out, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return len(out) < 20
	})
	return out
}

// serveGRPC answers one gRPC call from the mappings.
func (s *Server) serveGRPC(w http.ResponseWriter, r *http.Request) {
	md := s.grpc.method(r.URL.Path)
	raw, err := readLimited(r.Body, s.opts.MaxBody)
	if errors.Is(err, errTooLarge) {
		grpcAnswer(w, 8, "seam stub: "+tooLarge(s.opts.MaxBody)) // RESOURCE_EXHAUSTED
		return
	}
	if err != nil {
		grpcAnswer(w, grpcstatus.Internal, "seam stub: reading the call: "+err.Error())
		return
	}
	msgs, err := grpcMessages(raw, r.Header.Get("Grpc-Encoding"), s.opts.MaxBody)
	if err != nil {
		grpcAnswer(w, grpcstatus.Internal, "seam stub: "+err.Error())
		return
	}
	body, err := s.grpc.requestJSON(md, msgs)
	if err != nil {
		grpcAnswer(w, grpcstatus.Internal, "seam stub: "+err.Error())
		return
	}
	req := NewRequest(r, body)
	m, params := s.handle(req)
	if m == nil {
		code, text := grpcstatus.NotFound, string(s.notFoundText(req))
		if md == nil && s.grpc != nil {
			code = grpcstatus.Unimplemented
			text += fmt.Sprintf("\nthe stub's protos define no method %s; they define: %s", r.URL.Path, strings.Join(s.grpc.methods(), ", "))
		}
		grpcAnswer(w, code, strings.TrimSpace(text))
		return
	}
	rp := s.reply(req, m, params, r.Host)
	if !sleep(r.Context(), rp.delay) {
		return
	}
	if rp.fault != "" {
		s.h2Fault(r, rp.fault)
		return
	}
	s.writeGRPC(w, md, m, rp)
}

// grpcMessages cuts a call's body into its messages, inflating those
// sent compressed.
func grpcMessages(b []byte, encoding string, limit int64) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 5 {
			return nil, fmt.Errorf("a gRPC message is cut short (%d bytes of its 5-byte prefix)", len(b))
		}
		flag, n := b[0], binary.BigEndian.Uint32(b[1:5])
		if uint64(len(b)-5) < uint64(n) {
			return nil, fmt.Errorf("a gRPC message is cut short (%d of its %d bytes)", len(b)-5, n)
		}
		msg := b[5 : 5+n]
		b = b[5+n:]
		if flag&1 != 0 {
			if encoding != "gzip" {
				return nil, fmt.Errorf("a message compressed with %q: the stub reads gzip only", encoding)
			}
			zr, err := gzip.NewReader(bytes.NewReader(msg))
			if err != nil {
				return nil, fmt.Errorf("a gzip message does not inflate: %v", err)
			}
			if msg, err = readLimited(zr, limit); err != nil {
				return nil, fmt.Errorf("a gzip message does not inflate: %v", err)
			}
		}
		out = append(out, msg)
	}
	return out, nil
}

// decode reads a message of type d, its Any fields resolved from the
// stub's types (a call's request, or a recorded answer).
func (g *grpcTypes) decode(d protoreflect.MessageDescriptor, b []byte) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(d)
	return m, (proto.UnmarshalOptions{Resolver: g.types}).Unmarshal(b, m)
}

// requestJSON is the body mappings see: the message as JSON (several: a
// JSON array), or with no descriptor for the method, its bytes.
func (g *grpcTypes) requestJSON(md protoreflect.MethodDescriptor, msgs [][]byte) ([]byte, error) {
	if md == nil {
		return bytes.Join(msgs, nil), nil
	}
	var parts [][]byte
	for _, b := range msgs {
		m, err := g.decode(md.Input(), b)
		if err != nil {
			return nil, fmt.Errorf("the request is not a %s: %v", md.Input().FullName(), err)
		}
		j, err := protojson.MarshalOptions{Resolver: g.types}.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("the request %s as JSON: %v", md.Input().FullName(), err)
		}
		// protojson varies its spacing on purpose: mappings compare
		// bodies, so it is made one form.
		var c bytes.Buffer
		json.Compact(&c, j)
		parts = append(parts, c.Bytes())
	}
	switch {
	case len(parts) == 0:
		return nil, nil
	case len(parts) == 1 && !md.IsStreamingClient():
		return parts[0], nil
	}
	return append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']'), nil
}

// responseMessages are the messages a mapping's body answers with.
func (g *grpcTypes) responseMessages(md protoreflect.MethodDescriptor, body []byte) ([][]byte, error) {
	if md == nil {
		return [][]byte{body}, nil
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return [][]byte{nil}, nil // the output type with every field unset
	}
	items := []json.RawMessage{t}
	if t[0] == '[' {
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, fmt.Errorf("the body is not JSON: %v", err)
		}
		if !md.IsStreamingServer() && len(items) != 1 {
			return nil, fmt.Errorf("a list of %d messages answers only a server-streaming method; %s answers one %s", len(items), md.FullName(), md.Output().FullName())
		}
	}
	out := make([][]byte, 0, len(items))
	for i, it := range items {
		m := dynamicpb.NewMessage(md.Output())
		if err := (protojson.UnmarshalOptions{Resolver: g.types}).Unmarshal(it, m); err != nil {
			what := "the body"
			if t[0] == '[' {
				what = fmt.Sprintf("message %d of the body", i+1)
			}
			return nil, fmt.Errorf("%s is not a %s: %v", what, md.Output().FullName(), err)
		}
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// writeGRPC answers a call with a mapping's reply.
func (s *Server) writeGRPC(w http.ResponseWriter, md protoreflect.MethodDescriptor, m *Mapping, rp *reply) {
	code, message, named := grpcstatus.OK, "", false
	h := w.Header()
	for _, x := range rp.header {
		switch strings.ToLower(x.Name) {
		case grpcStatusName:
			c, ok := grpcstatus.Parse(strings.TrimSpace(x.Value))
			if !ok {
				grpcAnswer(w, grpcstatus.Internal, fmt.Sprintf("seam stub: %s: %s %q is not a gRPC status code (%s)",
					m.Label(), grpcStatusName, x.Value, strings.Join(grpcstatus.Names(), ", ")))
				return
			}
			code, named = c, true
		case grpcStatusReason:
			message = x.Value
		case "content-length", "content-type", "grpc-status", "grpc-message":
			// The framing is the stub's: a mapping recorded from HTTP
			// may carry these.
		default:
			h.Add(x.Name, x.Value)
		}
	}
	if !named && rp.status != 0 && rp.status != http.StatusOK {
		code = grpcstatus.FromHTTP(rp.status)
		if message == "" {
			message = strings.TrimSpace(string(rp.body))
		}
	}
	if code != grpcstatus.OK {
		grpcAnswer(w, code, message)
		return
	}
	msgs, err := s.grpc.responseMessages(md, rp.body)
	if err != nil {
		grpcAnswer(w, grpcstatus.Internal, "seam stub: "+m.Label()+": "+err.Error())
		return
	}
	h.Set("Content-Type", "application/grpc")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	prefix := make([]byte, 5)
	for _, b := range msgs {
		binary.BigEndian.PutUint32(prefix[1:], uint32(len(b)))
		w.Write(prefix)
		w.Write(b)
		if len(msgs) > 1 && f != nil {
			f.Flush() // a stream's messages go as they would from a server
		}
	}
	h.Set(http.TrailerPrefix+"Grpc-Status", "0")
	if message != "" {
		h.Set(http.TrailerPrefix+"Grpc-Message", grpcstatus.PercentEncode(message))
	}
}

// grpcAnswer answers a call with a status and no message, in one header
// block (gRPC's Trailers-Only answer).
func grpcAnswer(w http.ResponseWriter, code int, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(code))
	if message != "" {
		if len(message) > maxGRPCMessage {
			message = message[:maxGRPCMessage] + "…"
		}
		h.Set("Grpc-Message", grpcstatus.PercentEncode(message))
	}
	w.WriteHeader(http.StatusOK)
}

// maxGRPCMessage bounds a grpc-message the stub writes: clients limit the
// size of a header block (grpc-go: 16 KiB by default).
const maxGRPCMessage = 4 << 10

// h2Fault breaks an HTTP/2 answer the way a mapping's fault says: a
// reset or random data end the TCP connection (every call on it fails, as
// with a server that died); an empty response or a malformed chunk resets
// the call's stream alone. It reports false for a request that did not
// come over the stub's HTTP/2.
func (s *Server) h2Fault(r *http.Request, fault string) bool {
	c, ok := r.Context().Value(connKey{}).(net.Conn)
	if !ok {
		return false
	}
	if fault == "CONNECTION_RESET_BY_PEER" || fault == "RANDOM_DATA_THEN_CLOSE" {
		s.breakConn(c, fault)
		return true
	}
	if abort, ok := r.Context().Value(abortKey{}).(*bool); ok {
		*abort = true // http2 resets the stream when the handler panics so
	}
	return true
}

// GRPCStatus is the status m answers a gRPC call with, by name ("OK",
// "UNAVAILABLE"); a templated status reads as its template.
func (m *Mapping) GRPCStatus() string {
	for _, h := range m.Response.Headers {
		if strings.EqualFold(h.Name, grpcStatusName) {
			if c, ok := grpcstatus.Parse(strings.TrimSpace(h.Value)); ok {
				return grpcstatus.Name(c)
			}
			return h.Value
		}
	}
	if st := m.Response.Status; st != 0 && st != http.StatusOK {
		return grpcstatus.Name(grpcstatus.FromHTTP(st))
	}
	return "OK"
}
