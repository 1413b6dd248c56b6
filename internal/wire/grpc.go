package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// gRPC over HTTP/2: a call is a stream whose request has content-type
// application/grpc…; its messages are length-prefixed (a flags byte, bit 0
// "compressed", then a 4-byte big-endian length) and cut into DATA frames
// anyhow. grpcFrames puts them back together as DATA flows, counting all
// and keeping whole the first ones that fit in maxBodyKept; when the
// proxy knows the method's message types (SetDescriptors) the kept ones
// are shown as JSON.

// grpcFrames reads one direction of a call's messages.
type grpcFrames struct {
	prefix   [5]byte
	nprefix  int
	left     uint32 // bytes of the current message still to come
	cur      []byte // the current message, when it is kept
	keeping  bool
	compress bool
	count    int
	kept     []grpcMsg
	keptSize int
	bad      bool   // not gRPC's framing: counted as bytes only
	encoding string // grpc-encoding of the compressed messages ("gzip")
}

type grpcMsg struct {
	data       []byte
	compressed bool
}

func (g *grpcFrames) feed(b []byte) {
	for len(b) > 0 && !g.bad {
		if g.left == 0 && g.nprefix < 5 {
			n := copy(g.prefix[g.nprefix:], b)
			g.nprefix += n
			b = b[n:]
			if g.nprefix < 5 {
				return
			}
			if g.prefix[0] > 1 {
				g.bad = true
				return
			}
			g.count++
			g.left = binary.BigEndian.Uint32(g.prefix[1:])
			g.compress = g.prefix[0] == 1
			g.keeping = g.keptSize+int(g.left) <= maxBodyKept
			g.cur = nil
			if g.keeping {
				g.cur = make([]byte, 0, g.left) // at most maxBodyKept
			}
			if g.left == 0 {
				g.done()
			}
			continue
		}
		n := min(uint32(len(b)), g.left)
		if g.keeping {
			g.cur = append(g.cur, b[:n]...)
		}
		b, g.left = b[n:], g.left-n
		if g.left == 0 {
			g.done()
		}
	}
}

func (g *grpcFrames) done() {
	g.nprefix = 0
	if g.keeping {
		g.kept = append(g.kept, grpcMsg{data: g.cur, compressed: g.compress})
		g.keptSize += len(g.cur)
	}
	g.cur, g.keeping = nil, false
}

// grpcTypes holds the message types a proxy renders gRPC calls with.
type grpcTypes struct {
	files atomic.Pointer[protoregistry.Files]
	// The types of the methods called, for the files they were found in.
	mu       sync.Mutex
	cacheFor *protoregistry.Files
	cache    map[string]grpcMethod
}

// SetDescriptors gives the proxy the services and message types of the
// callee (from .proto files, a descriptor set or reflection): the
// messages of calls to their methods are then shown as JSON
// (Interaction.Bodies).
func (p *Proxy) SetDescriptors(files *protoregistry.Files) { p.grpc.files.Store(files) }

// grpcBodies prepares a call's kept messages to be shown as JSON when its
// method is known: one message as itself, several as an array. The JSON
// is made when someone first reads it (Interaction.Bodies), not here in
// the forwarding goroutine: rendering was two fifths of the proxy's CPU
// on a gRPC edge (measured, bench/wire), and most recorded calls are never
// read by a step.
func (p *Proxy) grpcBodies(in *Interaction, req, resp *grpcFrames, memo *methodMemo) {
	files := p.grpc.files.Load()
	if files == nil || len(req.kept) == 0 && len(resp.kept) == 0 {
		return
	}
	var types grpcMethod
	var ok bool
	if memo != nil && memo.files == files && memo.path == in.Target {
		types, ok = memo.types, memo.ok
	} else {
		types, ok = p.grpc.method(files, in.Target)
		if memo != nil {
			*memo = methodMemo{files: files, path: in.Target, types: types, ok: ok}
		}
	}
	if !ok {
		return
	}
	j := &grpcJSON{types: types, masker: p.masker.Load()}
	j.req, j.resp = req.saved(&j.oneReq), resp.saved(&j.oneResp)
	in.grpcJSON = j
}

// savedMsgs is what rendering needs of a call's messages one way.
type savedMsgs struct {
	kept     []grpcMsg
	count    int
	bad      bool
	encoding string
}

// saved is what rendering needs of g, once the call has ended. The kept
// messages are copied out (g's slice is used again by the stream's
// next call): one message, the common case, into *one, which the caller
// holds in the same allocation.
func (g *grpcFrames) saved(one *[1]grpcMsg) savedMsgs {
	kept := one[:0]
	if len(g.kept) > 1 {
		kept = make([]grpcMsg, 0, len(g.kept))
	}
	return savedMsgs{kept: append(kept, g.kept...), count: g.count, bad: g.bad, encoding: g.encoding}
}

// grpcJSON renders a recorded call's messages as JSON on first use, then
// masks them as emit masks every body; the Interaction's copies share it.
type grpcJSON struct {
	once            sync.Once
	types           grpcMethod
	req, resp       savedMsgs
	oneReq, oneResp [1]grpcMsg // the kept messages of a call of one each way
	masker          *Masker
	reqJSON         []byte
	respJSON        []byte
}

func (j *grpcJSON) render() (req, resp []byte) {
	j.once.Do(func() {
		j.reqJSON = j.masker.Bytes(maskBody(renderMessages(j.types.in, &j.req)))
		j.respJSON = j.masker.Bytes(maskBody(renderMessages(j.types.out, &j.resp)))
		j.req, j.resp = savedMsgs{}, savedMsgs{} // the raw messages are no longer needed
		j.oneReq, j.oneResp = [1]grpcMsg{}, [1]grpcMsg{}
	})
	return j.reqJSON, j.respJSON
}

// Bodies is the start of the request's and the response's bodies, as
// RequestBody and ResponseBody; for a gRPC call whose method the proxy
// knows (SetDescriptors), its messages as JSON, made on the first call.
// Safe for concurrent use.
func (i Interaction) Bodies() (req, resp []byte) {
	if i.grpcJSON == nil || i.RequestBody != nil || i.ResponseBody != nil {
		return i.RequestBody, i.ResponseBody
	}
	return i.grpcJSON.render()
}

// methodMemo is the last method a connection's call was found of (or
// not): a connection's calls mostly repeat their method.
type methodMemo struct {
	files *protoregistry.Files
	path  string
	types grpcMethod
	ok    bool
}

// grpcMethod is a method's request and response types.
type grpcMethod struct {
	in, out protoreflect.MessageDescriptor
}

// method finds the types of "/pkg.Service/Method" in files, remembering
// them for the files it was asked of last.
func (t *grpcTypes) method(files *protoregistry.Files, path string) (grpcMethod, bool) {
	t.mu.Lock()
	if t.cacheFor != files {
		t.cacheFor, t.cache = files, map[string]grpcMethod{}
	}
	m, ok := t.cache[path]
	t.mu.Unlock()
	if ok {
		return m, true
	}
	in, out, found := methodTypes(files, path)
	if !found {
		return grpcMethod{}, false
	}
	m = grpcMethod{in, out}
	t.mu.Lock()
	if t.cacheFor == files && len(t.cache) < maxMethodCache {
		t.cache[path] = m
	}
	t.mu.Unlock()
	return m, true
}

// maxMethodCache bounds the methods remembered per proxy: paths come
// from the traffic.
const maxMethodCache = 1024

// methodTypes finds the request and response types of "/pkg.Service/Method".
func methodTypes(files *protoregistry.Files, path string) (in, out protoreflect.MessageDescriptor, ok bool) {
	svc, method, found := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !found {
		return nil, nil, false
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, nil, false
	}
	sd, isSvc := d.(protoreflect.ServiceDescriptor)
	if !isSvc {
		return nil, nil, false
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, nil, false
	}
	return md.Input(), md.Output(), true
}

// AllowPartial: the recording shows what was sent, and proto3 has no
// required fields to check; the check walks every message again (a tenth
// of the proxy's CPU on a gRPC edge, measured).
var (
	unmarshalPartial = proto.UnmarshalOptions{AllowPartial: true}
	marshalPartial   = protojson.MarshalOptions{AllowPartial: true}
)

// renderMessages is the JSON of the kept messages, or nil when there are
// none or one cannot be read (compressed, cut, not of the type).
func renderMessages(t protoreflect.MessageDescriptor, g *savedMsgs) []byte {
	if len(g.kept) == 0 || g.bad {
		return nil
	}
	var parts [][]byte
	for _, m := range g.kept {
		data := m.data
		if m.compressed {
			if data = gunzip(g.encoding, data); data == nil {
				return nil
			}
		}
		msg := dynamicpb.NewMessage(t)
		if err := unmarshalPartial.Unmarshal(data, msg); err != nil {
			return nil
		}
		j, err := marshalPartial.Marshal(msg)
		if err != nil {
			return nil
		}
		parts = append(parts, j)
	}
	if len(parts) == 1 && g.count == 1 {
		return parts[0]
	}
	return append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
}

// maxInflated bounds a compressed message's size once inflated.
const maxInflated = 64 << 10

// gunzip inflates a gzip-compressed message; nil for another encoding, a
// broken stream or one that inflates past maxInflated.
func gunzip(encoding string, b []byte) []byte {
	if encoding != "gzip" {
		return nil
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil || len(out) > maxInflated {
		return nil
	}
	return out
}

// GRPCCodeName is a gRPC status code's name ("UNAUTHENTICATED"), or its
// number for one gRPC does not define.
func GRPCCodeName(code int) string { return grpcstatus.Name(code) }

// GRPCCode reads a status code given by name (any case; CANCELED too) or
// number.
func GRPCCode(s string) (int, bool) { return grpcstatus.Parse(s) }

// GRPCCodeNames lists the status codes' names, for hints.
func GRPCCodeNames() []string { return grpcstatus.Names() }
