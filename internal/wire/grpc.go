package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
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
}

// SetDescriptors gives the proxy the services and message types of the
// callee (from .proto files, a descriptor set or reflection): the
// messages of calls to their methods are then recorded as JSON.
func (p *Proxy) SetDescriptors(files *protoregistry.Files) { p.grpc.files.Store(files) }

// grpcBodies renders a call's kept messages as JSON when its method is
// known: one message as itself, several as an array.
func (p *Proxy) grpcBodies(in *Interaction, req, resp *grpcFrames) {
	files := p.grpc.files.Load()
	if files == nil {
		return
	}
	inType, outType, ok := methodTypes(files, in.Target)
	if !ok {
		return
	}
	in.RequestBody = renderMessages(inType, req)
	in.ResponseBody = renderMessages(outType, resp)
}

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

// renderMessages is the JSON of the kept messages, or nil when there are
// none or one cannot be read (compressed, cut, not of the type).
func renderMessages(t protoreflect.MessageDescriptor, g *grpcFrames) []byte {
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
		if err := proto.Unmarshal(data, msg); err != nil {
			return nil
		}
		j, err := protojson.Marshal(msg)
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

// grpcCodes are gRPC's status codes by number.
var grpcCodes = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCCodeName is a gRPC status code's name ("UNAUTHENTICATED"), or its
// number for one gRPC does not define.
func GRPCCodeName(code int) string {
	if code >= 0 && code < len(grpcCodes) {
		return grpcCodes[code]
	}
	return "code " + strconv.Itoa(code)
}

// GRPCCode reads a status code given by name (any case; CANCELED too) or
// number.
func GRPCCode(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, true
	}
	u := strings.ToUpper(s)
	if u == "CANCELED" {
		u = "CANCELLED"
	}
	for i, n := range grpcCodes {
		if n == u {
			return i, true
		}
	}
	return 0, false
}

// GRPCCodeNames lists the status codes' names, for hints.
func GRPCCodeNames() []string { return append([]string(nil), grpcCodes[:]...) }
