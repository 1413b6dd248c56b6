package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
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
// and keeping whole the first ones that fit in maxMessagesKept; when the
// proxy knows the method's message types (SetDescriptors) the kept ones
// are shown as JSON, and what is not shown says why (renderMessages).

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
	// full: a message did not fit in what is kept; none after it is
	// kept either, so the kept ones are always the first.
	full     bool
	bad      bool   // not gRPC's framing: counted as bytes only
	encoding string // grpc-encoding of the compressed messages ("gzip")
}

// maxMessagesKept is how many bytes of a call's messages are kept each
// way, whole messages only, to be shown as JSON. More than an HTTP body's
// start (maxBodyKept): a message cut is not a message, and real ones of
// some kilobytes are common. Each recorded call may hold this much each
// way until it is rendered, and the journal holds thousands of calls:
// maxJournalBytes bounds what they hold in all.
const maxMessagesKept = 64 << 10

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
			g.keeping = !g.full && g.keptSize+int(g.left) <= maxMessagesKept
			g.full = !g.keeping
			g.cur = nil
			if g.keeping {
				g.cur = make([]byte, 0, g.left) // at most maxMessagesKept
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
	descs atomic.Pointer[grpcDescs]
	// The types of the methods called, for the files they were found in.
	mu       sync.Mutex
	cacheFor *protoregistry.Files
	cache    map[string]grpcMethod
}

// grpcDescs is what SetDescriptors gave: the files, and the types an
// Any in a message is read with (the files' own first).
type grpcDescs struct {
	files *protoregistry.Files
	types *anyTypes
}

// SetDescriptors gives the proxy the services and message types of the
// callee (from .proto files, a descriptor set or reflection): the
// messages of calls to their methods are then shown as JSON
// (Interaction.Bodies), an Any in them as the message it holds when its
// type is among the files (or linked into seam: the well-known types).
func (p *Proxy) SetDescriptors(files *protoregistry.Files) {
	if files == nil {
		p.grpc.descs.Store(nil)
		return
	}
	p.grpc.descs.Store(&grpcDescs{files: files, types: &anyTypes{files: dynamicpb.NewTypes(files)}})
}

// anyTypes resolves the types named in an Any (and extensions): those of
// the callee's files, as the grpc step reads them (dynamicpb), then those
// linked into seam (protoregistry.GlobalTypes: the well-known types,
// google.rpc's), which protojson alone would look in.
type anyTypes struct {
	files *dynamicpb.Types
}

func (r *anyTypes) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if t, err := r.files.FindMessageByName(name); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

func (r *anyTypes) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if t, err := r.files.FindMessageByURL(url); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}

func (r *anyTypes) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if t, err := r.files.FindExtensionByName(name); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByName(name)
}

func (r *anyTypes) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if t, err := r.files.FindExtensionByNumber(message, field); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// grpcBodies prepares a call's kept messages to be shown as JSON when its
// method is known: one message as itself, several as an array. The JSON
// is made when someone first reads it (Interaction.Bodies), not here in
// the forwarding goroutine: rendering was two fifths of the proxy's CPU
// on a gRPC edge (measured, bench/wire), and most recorded calls are never
// read by a step.
func (p *Proxy) grpcBodies(in *Interaction, req, resp *grpcFrames, memo *methodMemo) {
	ds := p.grpc.descs.Load()
	if ds == nil || req.count == 0 && resp.count == 0 {
		return // nothing to show, or nothing to show it with
	}
	files := ds.files
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
	j := &grpcJSON{types: types, any: ds.types, masker: p.masker.Load(), held: req.keptSize + resp.keptSize}
	j.req, j.resp = req.saved(&j.oneReq), resp.saved(&j.oneResp)
	in.grpcJSON = j
}

// savedMsgs is what rendering needs of a call's messages one way.
type savedMsgs struct {
	kept  []grpcMsg
	count int
	bad   bool
	full  bool // a message was too large to keep (grpcFrames.full)
	// cut: the call ended inside its last message (counted, not whole).
	cut      bool
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
	return savedMsgs{kept: append(kept, g.kept...), count: g.count, bad: g.bad, full: g.full,
		cut: g.left > 0, encoding: g.encoding}
}

// grpcJSON renders a recorded call's messages as JSON on first use, then
// masks them as emit masks every body; the Interaction's copies share it.
// It is made for every call whose method is known (on the forwarding
// path): what is only needed once it is rendered is in out.
type grpcJSON struct {
	once            sync.Once
	types           grpcMethod
	any             *anyTypes
	req, resp       savedMsgs
	oneReq, oneResp [1]grpcMsg // the kept messages of a call of one each way
	masker          *Masker
	out             *renderedMsgs
	held            int // bytes of the messages kept (the journal's budget counts them)
}

// renderedMsgs is a call's messages as rendered: JSON each way (nil when
// none could be shown), and why what is not shown is not.
type renderedMsgs struct {
	reqJSON, respJSON []byte
	reqWhy, respWhy   string
}

func (j *grpcJSON) render() *renderedMsgs {
	j.once.Do(func() {
		out := &renderedMsgs{}
		var req, resp []byte
		req, out.reqWhy = renderMessages(j.types.in, &j.req, j.any)
		resp, out.respWhy = renderMessages(j.types.out, &j.resp, j.any)
		out.reqJSON, out.respJSON = j.masker.Bytes(maskBody(req)), j.masker.Bytes(maskBody(resp))
		out.reqWhy, out.respWhy = j.masker.Str(out.reqWhy), j.masker.Str(out.respWhy)
		j.out = out
		j.req, j.resp = savedMsgs{}, savedMsgs{} // the raw messages are no longer needed
		j.oneReq, j.oneResp = [1]grpcMsg{}, [1]grpcMsg{}
	})
	return j.out
}

// Bodies is the start of the request's and the response's bodies, as
// RequestBody and ResponseBody; for a gRPC call whose method the proxy
// knows (SetDescriptors), its messages as JSON, made on the first call:
// one message as itself, several as an array, which ends with a string
// saying why the rest is not shown when only the first are ("… too
// large to keep: first 2 of 3 messages"); nil when none can be (Content
// says why). Safe for concurrent use.
func (i Interaction) Bodies() (req, resp []byte) {
	if i.grpcJSON == nil || i.RequestBody != nil || i.ResponseBody != nil {
		return i.RequestBody, i.ResponseBody
	}
	out := i.grpcJSON.render()
	return out.reqJSON, out.respJSON
}

// messagesWhy is why a gRPC call's messages each way are not all shown
// as JSON ("" when they are, or when there are none); unknown: its
// method's types are not known, so none are.
func (i Interaction) messagesWhy() (req, resp string, unknown bool) {
	if i.grpcJSON == nil {
		return "", "", true
	}
	out := i.grpcJSON.render()
	return out.reqWhy, out.respWhy, false
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

// renderMessages is the JSON of a call's messages one way: one message
// as itself, several as an array. What cannot be shown is said: why is
// "" when every message is shown (or there are none); else the JSON is
// nil when none is, or an array of those before the first that is not,
// ending with a marker that says why the rest is not ("… too large to
// keep: first 2 of 3 messages").
func renderMessages(t protoreflect.MessageDescriptor, g *savedMsgs, types *anyTypes) (out []byte, why string) {
	if g.count == 0 {
		return nil, ""
	}
	var parts [][]byte
	inflated := 0 // bytes of the compressed messages once inflated
	for i, m := range g.kept {
		j, n, err := renderMessage(t, m, g.encoding, types, maxMessagesKept-inflated)
		if err != "" {
			why = err
			if g.count > 1 {
				why = "message " + strconv.Itoa(i+1) + " of " + strconv.Itoa(g.count) + ": " + why
			}
			break
		}
		inflated += n
		parts = append(parts, j)
	}
	if why == "" {
		why = notAllKept(g, len(parts))
	}
	switch {
	case why == "" && len(parts) == 1 && g.count == 1:
		return parts[0], ""
	case len(parts) == 0:
		return nil, why
	case why != "":
		marker, _ := jsonString("… " + why)
		parts = append(parts, marker)
	}
	return append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']'), why
}

// notAllKept is why the messages after the first n, all of them
// rendered, are not shown ("" when there are none).
func notAllKept(g *savedMsgs, n int) string {
	switch {
	case n == g.count && g.bad:
		return "not gRPC's message framing after message " + strconv.Itoa(n)
	case n == g.count:
		return ""
	case g.full:
		why := "too large to keep"
		switch {
		case n > 0:
			why += ": first " + strconv.Itoa(n) + " of " + strconv.Itoa(g.count) + " messages"
		case g.count > 1:
			why += ": none of " + strconv.Itoa(g.count) + " messages"
		}
		return why + " (the wire keeps " + strconv.Itoa(maxMessagesKept>>10) + " KiB of a call's messages each way)"
	case g.cut && g.count == 1:
		return "cut short: the call ended inside its message"
	case g.cut:
		return "cut short: the call ended inside message " + strconv.Itoa(n+1) + " of " + strconv.Itoa(g.count)
	}
	return "not gRPC's message framing after message " + strconv.Itoa(n)
}

// jsonString is s as a JSON string.
func jsonString(s string) ([]byte, error) { return json.Marshal(s) }

// renderMessage is one message as JSON, and its size inflated (0 when it
// came uncompressed), or why it cannot be shown; a compressed one may
// inflate to room bytes at most.
func renderMessage(t protoreflect.MessageDescriptor, m grpcMsg, encoding string, types *anyTypes, room int) ([]byte, int, string) {
	data, inflated := m.data, 0
	if m.compressed {
		var why string
		if data, why = inflate(encoding, data, room); why != "" {
			return nil, 0, why
		}
		inflated = len(data)
	}
	msg := dynamicpb.NewMessage(t)
	uo, mo := unmarshalPartial, marshalPartial
	if types != nil {
		uo.Resolver, mo.Resolver = types, types
	}
	if err := uo.Unmarshal(data, msg); err != nil {
		return nil, 0, "not a " + string(t.FullName()) + ": " + err.Error()
	}
	j, err := mo.Marshal(msg)
	if err != nil && fillEmptyValues(msg.ProtoReflect()) {
		// grpc-js sends a google.protobuf.Value with no kind set as an
		// empty message; protojson refuses it. It reads as null.
		j, err = mo.Marshal(msg)
	}
	if err != nil {
		return nil, 0, "cannot render as JSON: " + err.Error()
	}
	return j, inflated, ""
}

// fillEmptyValues sets every google.protobuf.Value in m with no kind set
// to null (NullValue), and reports whether there was one.
func fillEmptyValues(m protoreflect.Message) bool {
	changed := false
	d := m.Descriptor()
	if d.FullName() == "google.protobuf.Value" {
		if kind := d.Oneofs().ByName("kind"); kind != nil && m.WhichOneof(kind) == nil {
			if null := d.Fields().ByName("null_value"); null != nil {
				m.Set(null, protoreflect.ValueOfEnum(0))
				return true
			}
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				changed = fillEmptyValues(l.Get(i).Message()) || changed
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				changed = fillEmptyValues(mv.Message()) || changed
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			changed = fillEmptyValues(v.Message()) || changed
		}
		return true
	})
	return changed
}

// maxInflated bounds what a call's compressed messages inflate to, each
// way: what is kept of them (maxMessagesKept), once inflated.
const maxInflated = maxMessagesKept

// inflate inflates a compressed message to at most room bytes, or says
// why it cannot.
func inflate(encoding string, b []byte, room int) ([]byte, string) {
	switch encoding {
	case "gzip":
	case "":
		return nil, "compressed, though the call names no grpc-encoding"
	default:
		return nil, "compressed with " + strconv.Quote(encoding) + ", which the wire does not inflate"
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, "gzip that does not inflate: " + err.Error()
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(room)+1))
	switch {
	case len(out) > room && room == maxInflated:
		return nil, "too large to keep: it inflates past " + strconv.Itoa(maxInflated>>10) + " KiB (gzip)"
	case len(out) > room:
		return nil, "too large to keep: it inflates past what is left of the " + strconv.Itoa(maxInflated>>10) + " KiB kept of a call's messages each way (gzip)"
	case err != nil:
		return nil, "gzip that does not inflate: " + err.Error()
	}
	return out, ""
}

// GRPCCodeName is a gRPC status code's name ("UNAUTHENTICATED"), or its
// number for one gRPC does not define.
func GRPCCodeName(code int) string { return grpcstatus.Name(code) }

// GRPCCode reads a status code given by name (any case; CANCELED too) or
// number.
func GRPCCode(s string) (int, bool) { return grpcstatus.Parse(s) }

// GRPCCodeNames lists the status codes' names, for hints.
func GRPCCodeNames() []string { return grpcstatus.Names() }
