package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// HTTP/2 beside the stream: prior-knowledge h2c (the client's first bytes
// are the connection preface) and the h2c upgrade (an HTTP/1.1 request with
// Upgrade: h2c answered 101, then frames). Each direction's bytes are cut
// into frames as they pass: DATA payloads are counted (and, for gRPC, cut
// into length-prefixed messages) as they flow, without waiting for a whole
// frame; every other frame is gathered whole (it is small: at most the
// frame size the receiver allows) and read with x/net's Framer, and header
// blocks go through one HPACK decoder per direction whose dynamic table
// lives as long as the connection. Nothing is written back: what is
// forwarded is the caller's and the callee's own bytes. Each stream is one
// interaction, reported when the callee ends it (END_STREAM) or either side
// resets it, before those last bytes reach the caller.
//
// What it cannot read (garbage after the preface, a frame larger than the
// receiver allows, a header block past maxH2HeaderList, a broken HPACK
// block) ends decoding for the connection: one interaction says so, and
// the bytes flow on untouched.

// h2Fields are what an HTTP/2 or gRPC interaction adds.
type h2Fields struct {
	// GRPCStatus is the call's grpc-status (0 is OK); -1 when the call
	// ended without one (a reset, a lost connection, or not gRPC).
	GRPCStatus int
	// GRPCMessage is the grpc-message, percent-decoded.
	GRPCMessage string
	// RequestSize and ResponseSize count the DATA bytes of an HTTP/2
	// stream each way (for gRPC: the messages with their 5-byte prefixes);
	// RequestMessages and ResponseMessages count gRPC messages.
	RequestSize, ResponseSize         int64
	RequestMessages, ResponseMessages int
	// grpcJSON renders the messages of a call whose types are known, on
	// first use (Bodies).
	grpcJSON *grpcJSON
	// reqFields and respFields are the header fields each way (with the
	// response's trailers), formatted when read (Headers); reqFix is the
	// one request field whose value differs from the shared reqFields'.
	reqFields, respFields []hpack.HeaderField
	reqFix                fieldFix
}

const (
	h2Preface = http2.ClientPreface // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	// maxH2Frame bounds a non-DATA frame gathered whole: far above what
	// real peers send (16 KiB unless the receiver allows more).
	maxH2Frame = 1 << 20
	// maxH2HeaderList bounds one header block's decoded fields.
	maxH2HeaderList = 256 << 10
	// maxH2Streams bounds the streams in flight on a connection.
	maxH2Streams = 1024
)

// looksLikeH2 reports whether a connection's first bytes are (the start
// of) the HTTP/2 client preface.
func looksLikeH2(b []byte) bool {
	n := min(len(b), len(h2Preface))
	return n >= 3 && string(b[:n]) == h2Preface[:n]
}

// looksLikeH2Settings reports whether a callee's first bytes are an
// HTTP/2 SETTINGS frame: servers send theirs without waiting for the
// client's preface.
func looksLikeH2Settings(b []byte) bool {
	if len(b) < 9 || b[3] != byte(http2.FrameSettings) || b[4] != 0 || b[5]|b[6]|b[7]|b[8] != 0 {
		return false
	}
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	return n%6 == 0 && n <= 16384
}

type h2Stream struct {
	id           uint32
	start        time.Time
	method, path string
	grpc         bool
	status       int
	grpcStatus   int
	grpcMessage  string
	note         string
	req, resp    h2Body
	clientEnded  bool
	// headAt is when the answer's head (its final :status) came.
	headAt time.Time
	// The header fields each way, for the reports (formatted when read:
	// Interaction.Headers); the response's trailers follow its headers.
	// reqFields is a copy no one changes (maybe the last call's, with
	// reqFix: share); respFields is the stream's own, used again, copied
	// at its end.
	reqFields, respFields []hpack.HeaderField
	reqFix                fieldFix
}

// h2Body is one direction of a stream's payload.
type h2Body struct {
	size int64
	head bodyStart  // the first maxBodyKept bytes (keep), for HTTP/2
	msgs grpcFrames // for gRPC
}

// h2Dir is one direction of an HTTP/2 connection.
type h2Dir struct {
	server     bool
	preface    int // bytes of the client preface still to check
	hdr        [9]byte
	nhdr       int
	fh         http2.FrameHeader
	frame      []byte // a non-DATA frame being gathered, header included
	inFrame    bool
	inData     bool      // reading a DATA frame's payload (or stepping over a PING, WINDOW_UPDATE or PRIORITY)
	data       *h2Stream // the stream of the DATA frame being read; nil: none known
	dataLeft   uint32    // payload bytes of the DATA frame still to come
	dataPad    int       // -1: the pad length byte is next; else padding bytes at the end
	dataEnd    bool      // the DATA frame ends its stream
	maxFrame   uint32    // what the receiving side allows (its SETTINGS_MAX_FRAME_SIZE)
	feedR      bytes.Reader
	fr         *http2.Framer
	dec        *hpack.Decoder
	fields     []hpack.HeaderField
	fieldSize  int
	blockOpen  bool // a header block waits for its CONTINUATION
	known      blockMemo
	blockID    uint32
	blockEnds  bool   // the HEADERS that opened the block ends its stream
	promisedID uint32 // the block is a PUSH_PROMISE's
	framed     bool   // a frame header was read (the callee's first frame is its SETTINGS)
	// While the connection drains (startFilter), on the caller's side:
	// the frame being read is dropped; bytes of the frame header being
	// read that went on before the drain began.
	dropping  bool
	hdrPassed int
}

type h2Conn struct {
	d       *decoder
	dirs    [2]*h2Dir // client, server
	streams map[uint32]*h2Stream
	broken  bool
	// lastStream is the highest stream the client opened, for a GOAWAY
	// (grpcfault.go).
	lastStream uint32
	// free holds finished streams for the next ones (with their kept
	// messages' slices, emptied): a call opens one, and on a busy gRPC
	// edge their allocation and collection were a third of decoding.
	free []*h2Stream
	// The last call's path and what it made of it: a connection's calls
	// mostly repeat their method.
	lastPath, lastOp string
	// The last call's size note, by what it was made of.
	lastNote    string
	lastNoteKey noteKey
	memo        maskMemo
	method      methodMemo
	// The header fields of the last call each way (keptFields).
	lastReq, lastResp fieldsMemo
	// A gRPC fault drains the connection (startFilter): the caller's frames
	// of streams above drainLast are dropped; out is what of the caller's
	// bytes goes on (read fills it).
	draining  bool
	drainLast uint32
	out       []byte
	// A stream the caller opens while the connection drains is recorded
	// as refused (its header block is still read: the caller's HPACK
	// table counts it) and told so by an RST_STREAM REFUSED_STREAM
	// (RFC 9113 §8.7: not processed, safe to retry), sent once the
	// GOAWAY went (goaway): refuse holds the streams still to tell;
	// lastRefused is the highest refused (a later block on it is its
	// trailers).
	goaway      bool
	refuse      []uint32
	lastRefused uint32
	// unread is how many streams were in flight when decoding stopped.
	unread int
	// now is when the bytes being read arrived, once asked (clock): the
	// calls that start or end in one chunk share one reading of the clock.
	now time.Time
}

func (c *h2Conn) clock() time.Time {
	if c.now.IsZero() {
		c.now = time.Now()
	}
	return c.now
}

// noteKey is what a gRPC call's size note says.
type noteKey struct {
	note              string
	reqMsgs, respMsgs int
	reqSize, respSize int64
}

// maxFreeStreams bounds the finished streams a connection keeps.
const maxFreeStreams = 16

func newH2Conn(d *decoder) *h2Conn {
	c := &h2Conn{d: d, streams: map[uint32]*h2Stream{}}
	for i := range c.dirs {
		dir := &h2Dir{server: i == 1, maxFrame: 16384}
		if i == 0 {
			dir.preface = len(h2Preface)
		}
		dir.fr = http2.NewFramer(nil, &dir.feedR)
		dir.fr.SetMaxReadFrameSize(maxH2Frame)
		dir.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
			dir.fieldSize += int(f.Size())
			if dir.fieldSize <= maxH2HeaderList {
				dir.fields = append(dir.fields, f)
			}
		})
		dir.dec.SetMaxStringLength(64 << 10)
		c.dirs[i] = dir
	}
	return c
}

// upgraded starts HTTP/2 after a 101 answer to an h2c upgrade: the
// upgrading request is stream 1, with the HTTP/1 request's header lines
// as its fields and its body as sent (its size whole, its start kept).
func (c *h2Conn) upgraded(ex exchange) {
	c.lastStream = 1
	c.streams[1] = &h2Stream{id: 1, start: ex.start, method: ex.method, path: ex.target, grpcStatus: -1,
		clientEnded: true, note: "(h2c upgrade)", req: h2Body{size: ex.size, head: bodyStart{body: ex.body, cut: ex.cut}},
		reqFields: lineFields(ex.header)}
}

// lineFields are HTTP/1 header lines ("Name: value" a line, as
// keptHeader keeps them) as header fields, names as sent.
func lineFields(lines string) []hpack.HeaderField {
	if lines == "" {
		return nil
	}
	fields := make([]hpack.HeaderField, 0, strings.Count(lines, "\n")+1)
	for l := range strings.SplitSeq(lines, "\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		fields = append(fields, hpack.HeaderField{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return fields
}

func (c *h2Conn) fromClient(b []byte) bool { return c.feed(c.dirs[0], b) }
func (c *h2Conn) fromServer(b []byte) bool { return c.feed(c.dirs[1], b) }

// feed reads the next bytes of one direction; false once decoding stopped.
func (c *h2Conn) feed(dir *h2Dir, b []byte) bool {
	if c.broken {
		return false
	}
	c.now = time.Time{}
	if why := c.read(dir, b); why != "" {
		c.stop(why)
		return false
	}
	return true
}

func (c *h2Conn) read(dir *h2Dir, b []byte) string {
	filter := c.draining && !dir.server
	for len(b) > 0 {
		switch {
		case dir.preface > 0:
			at := len(h2Preface) - dir.preface
			n := min(len(b), dir.preface)
			if string(b[:n]) != h2Preface[at:at+n] {
				return "not the HTTP/2 client preface"
			}
			if filter {
				c.out = append(c.out, b[:n]...)
			}
			b, dir.preface = b[n:], dir.preface-n
		case dir.inData:
			rest := c.readData(dir, b)
			if filter && !dir.dropping {
				c.out = append(c.out, b[:len(b)-len(rest)]...)
			}
			b = rest
		case dir.inFrame:
			need := int(dir.fh.Length) + 9 - len(dir.frame)
			n := min(len(b), need)
			dir.frame = append(dir.frame, b[:n]...)
			if filter && !dir.dropping {
				c.out = append(c.out, b[:n]...)
			}
			b = b[n:]
			if n == need {
				dir.inFrame = false
				if why := c.frame(dir); why != "" {
					return why
				}
			}
		default:
			n := copy(dir.hdr[dir.nhdr:], b)
			dir.nhdr += n
			b = b[n:]
			if dir.nhdr < 9 {
				continue
			}
			dir.nhdr = 0
			if filter {
				// A frame is passed on or dropped whole, once its
				// header tells its stream; bytes of it passed on before
				// the drain began bind it to go on.
				id := binary.BigEndian.Uint32(dir.hdr[5:]) & (1<<31 - 1)
				dir.dropping = dir.hdrPassed == 0 && id > c.drainLast
				if !dir.dropping {
					c.out = append(c.out, dir.hdr[dir.hdrPassed:]...)
				}
				dir.hdrPassed = 0
				if dir.dropping && !isBlockFrame(dir.hdr[3]) {
					// Stepped over unread: the callee never sees it,
					// and neither does the recording. A header block
					// is read (below), though the callee never sees it
					// either: it changed the caller's HPACK table, and
					// it is a call to record as refused.
					if n := uint32(dir.hdr[0])<<16 | uint32(dir.hdr[1])<<8 | uint32(dir.hdr[2]); n > 0 {
						dir.inData, dir.data, dir.dataLeft, dir.dataPad, dir.dataEnd = true, nil, n, 0, false
					}
					continue
				}
			}
			if why := c.header(dir); why != "" {
				return why
			}
		}
	}
	return ""
}

// isBlockFrame reports whether a frame type carries a header block the
// caller sends (HEADERS, CONTINUATION).
func isBlockFrame(t byte) bool {
	return http2.FrameType(t) == http2.FrameHeaders || http2.FrameType(t) == http2.FrameContinuation
}

// startFilter begins, once, to drop the caller's frames of the streams it
// opens from now on (above drainLast, the highest it opened, as the
// GOAWAY will say): the streams in flight go on (drainH2).
func (c *h2Conn) startFilter() uint32 {
	if c.draining {
		return c.drainLast
	}
	last := c.lastStream
	if cl := c.dirs[0]; cl.blockOpen {
		// A header block begun is the callee's already: its
		// CONTINUATION frames must follow.
		last = max(last, cl.blockID)
	}
	c.draining, c.drainLast = true, last
	// The caller's bytes of a frame header already passed on.
	c.dirs[0].hdrPassed = c.dirs[0].nhdr
	return last
}

// serverBetweenFrames reports whether the callee's side is between two
// frames, where a frame of the proxy's (the GOAWAY) may go to the caller:
// not before the callee's first, its SETTINGS, which must come first
// (RFC 9113 §3.4).
func (c *h2Conn) serverBetweenFrames() bool {
	s := c.dirs[1]
	return s.framed && s.nhdr == 0 && !s.inFrame && !s.inData
}

// header starts a frame once its 9-byte header is in.
func (c *h2Conn) header(dir *h2Dir) string {
	h := dir.hdr
	fh := http2.FrameHeader{Length: uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2]), Type: http2.FrameType(h[3]),
		Flags: http2.Flags(h[4]), StreamID: binary.BigEndian.Uint32(h[5:]) & (1<<31 - 1)}
	dir.fh, dir.framed = fh, true
	if fh.Length > dir.maxFrame {
		return fmt.Sprintf("a %s frame of %d bytes, larger than the %d the receiver allows", fh.Type, fh.Length, dir.maxFrame)
	}
	if dir.blockOpen && fh.Type != http2.FrameContinuation {
		return fmt.Sprintf("a %s frame inside a header block", fh.Type)
	}
	if fh.Type == http2.FrameData {
		if fh.StreamID == 0 {
			return "DATA on stream 0"
		}
		dir.data = c.streams[fh.StreamID]
		dir.dataLeft, dir.dataPad, dir.dataEnd = fh.Length, 0, fh.Flags.Has(http2.FlagDataEndStream)
		if fh.Flags.Has(http2.FlagDataPadded) {
			if fh.Length == 0 {
				return "a padded DATA frame without its pad length"
			}
			dir.dataPad = -1
		}
		dir.inData = true
		if fh.Length == 0 {
			c.dataDone(dir)
		}
		return ""
	}
	if fh.Length > maxH2Frame {
		return fmt.Sprintf("a %s frame of %d bytes", fh.Type, fh.Length)
	}
	switch fh.Type {
	case http2.FramePing, http2.FrameWindowUpdate, http2.FramePriority:
		// Nothing the wire records, and sent often (grpc-go's flow
		// control and bandwidth pings): stepped over unread, as DATA
		// without a stream is.
		if fh.Length > 0 {
			dir.inData, dir.data, dir.dataLeft, dir.dataPad, dir.dataEnd = true, nil, fh.Length, 0, false
		}
		return ""
	}
	dir.frame = append(dir.frame[:0], h[:]...)
	dir.inFrame = true
	if fh.Length == 0 {
		dir.inFrame = false
		return c.frame(dir)
	}
	return ""
}

// readData takes DATA payload bytes as they come.
func (c *h2Conn) readData(dir *h2Dir, b []byte) []byte {
	if dir.dataPad == -1 {
		dir.dataPad = int(b[0])
		dir.dataLeft--
		b = b[1:]
		if uint32(dir.dataPad) > dir.dataLeft {
			dir.dataPad = int(dir.dataLeft) // a bad pad length: the peer will object; count none of it
		}
	}
	n := min(uint32(len(b)), dir.dataLeft)
	content := int(dir.dataLeft) - dir.dataPad // payload bytes before the padding
	if content > 0 && dir.data != nil {
		k := min(int(n), content)
		if dir.server {
			dir.data.resp.add(b[:k], dir.data.grpc)
		} else {
			dir.data.req.add(b[:k], dir.data.grpc)
		}
	}
	dir.dataLeft -= n
	if dir.dataLeft == 0 {
		c.dataDone(dir)
	}
	return b[n:]
}

func (c *h2Conn) dataDone(dir *h2Dir) {
	dir.inData = false
	if dir.dataEnd && dir.data != nil {
		c.ended(dir, dir.data)
	}
	dir.data = nil
}

func (body *h2Body) add(b []byte, grpc bool) {
	body.size += int64(len(b))
	if grpc {
		body.msgs.feed(b)
	} else {
		body.head.keep(b)
	}
}

// frame reads a whole non-DATA frame.
func (c *h2Conn) frame(dir *h2Dir) string {
	switch fh := dir.fh; fh.Type {
	case http2.FrameHeaders:
		// HEADERS, on every call, is read here: x/net's Framer makes a
		// new frame of each (three a gRPC call), which the wire then
		// throws away. Its checks are the Framer's.
		frag, why := headersFragment(fh, dir.frame[9:])
		if why != "" {
			return "a bad HEADERS frame: " + why
		}
		dir.blockOpen, dir.blockID, dir.blockEnds, dir.promisedID = true, fh.StreamID, fh.Flags.Has(http2.FlagHeadersEndStream), 0
		end := fh.Flags.Has(http2.FlagHeadersEndHeaders)
		if end && !c.d.p.noBlockMemo {
			if fields := dir.known.lookup(frag); fields != nil {
				return c.fields(dir, fields)
			}
		}
		return c.block(dir, frag, end, end)
	case http2.FrameContinuation:
		if fh.StreamID == 0 {
			return "a bad CONTINUATION frame: CONTINUATION frame with stream ID 0"
		}
		if !dir.blockOpen || fh.StreamID != dir.blockID {
			return "a CONTINUATION frame outside a header block"
		}
		return c.block(dir, dir.frame[9:], fh.Flags.Has(http2.FlagContinuationEndHeaders), false)
	}
	dir.feedR.Reset(dir.frame)
	f, err := dir.fr.ReadFrame()
	if err != nil {
		return "a bad " + dir.fh.Type.String() + " frame: " + err.Error()
	}
	switch f := f.(type) {
	case *http2.PushPromiseFrame:
		dir.blockOpen, dir.blockID, dir.blockEnds, dir.promisedID = true, f.StreamID, false, f.PromiseID
		return c.block(dir, f.HeaderBlockFragment(), f.HeadersEnded(), false)
	case *http2.SettingsFrame:
		// What one side allows binds what the other sends.
		other := c.dirs[0]
		if !dir.server {
			other = c.dirs[1]
		}
		f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingMaxFrameSize:
				if s.Val >= 16384 && s.Val < 1<<24 {
					other.maxFrame = s.Val
				}
			case http2.SettingHeaderTableSize:
				other.dec.SetAllowedMaxDynamicTableSize(s.Val)
				other.known.forget()
			}
			return nil
		})
	case *http2.RSTStreamFrame:
		if s := c.streams[f.StreamID]; s != nil {
			by := "client"
			if dir.server {
				by = "server"
			}
			why, injected := "reset by the "+by+" ("+f.ErrCode.String()+")", false
			if !dir.server && c.d.blackholed {
				// The caller gave up on a call a blackhole swallowed (its
				// deadline, a cancel): the fault is why.
				why = "no answer: caller reset the call after " + secs(c.clock().Sub(s.start)) + " (" + f.ErrCode.String() + "; a blackhole fault swallowed the call)"
				injected = true
			}
			c.finish(s, why, injected, time.Time{})
		}
	case *http2.GoAwayFrame:
		now := time.Now()
		by := "client"
		if dir.server {
			by = "server"
		}
		// Op "connection", as other connection events: not an operation
		// that coverage counts.
		in := Interaction{Edge: c.d.p.Edge, Protocol: "http2", Op: "connection", Result: "GOAWAY from the " + by + ": " + f.ErrCode.String(),
			Start: now, End: now, Suspicious: f.ErrCode != http2.ErrCodeNo,
			Note: fmt.Sprintf("(last stream %d)", f.LastStreamID)}
		in.GRPCStatus = -1
		if dd := f.DebugData(); len(dd) > 0 {
			in.Note += " " + strconv.Quote(string(dd[:min(len(dd), 200)]))
		}
		c.d.p.emit(in)
	}
	return ""
}

// headersFragment is the header block fragment of a HEADERS frame's
// payload p (RFC 9113 §6.2: an optional pad length, an optional 5-byte
// priority, the fragment, the padding), or why p is not one.
func headersFragment(fh http2.FrameHeader, p []byte) ([]byte, string) {
	if fh.StreamID == 0 {
		return nil, "HEADERS frame with stream ID 0"
	}
	pad := 0
	if fh.Flags.Has(http2.FlagHeadersPadded) {
		if len(p) < 1 {
			return nil, "no pad length"
		}
		pad, p = int(p[0]), p[1:]
	}
	if fh.Flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return nil, "a priority cut short"
		}
		p = p[5:]
	}
	if pad > len(p) {
		return nil, "more padding than payload"
	}
	return p[:len(p)-pad], ""
}

// block takes a fragment of a header block (whole: all of it, in one
// HEADERS frame); at its end the fields are the stream's.
func (c *h2Conn) block(dir *h2Dir, frag []byte, end, whole bool) string {
	if !whole {
		dir.known.forget() // what it does to the table is not known
	}
	if _, err := dir.dec.Write(frag); err != nil {
		return "a header block HPACK cannot read: " + err.Error()
	}
	if dir.fieldSize > maxH2HeaderList {
		return fmt.Sprintf("a header block of more than %d bytes", maxH2HeaderList)
	}
	if !end {
		return ""
	}
	dir.blockOpen = false
	if err := dir.dec.Close(); err != nil {
		return "a header block HPACK cannot read: " + err.Error()
	}
	fields := dir.fields
	dir.fields, dir.fieldSize = dir.fields[:0], 0
	if whole {
		dir.known.learn(frag, fields)
	}
	return c.fields(dir, fields)
}

// blockMemo is the fields of the last header blocks that referred only to
// fields the decoder's table had (RFC 7541 §6.1, an indexed field each):
// such a block leaves the table as it was, so while no other block
// changes it, the same bytes are the same fields. A gRPC callee's answers
// are such blocks (:status 200 and content-type, then grpc-status 0),
// two a call, as are the requests of callers without a deadline; HPACK
// reading them was a third of decoding a call.
type blockMemo struct {
	n     int // entries in use
	next  int // the entry to replace next
	block [4][]byte
	got   [4][]hpack.HeaderField
}

// lookup is the fields of block, nil when not known.
func (m *blockMemo) lookup(block []byte) []hpack.HeaderField {
	for i := range m.n {
		if bytes.Equal(m.block[i], block) {
			return m.got[i]
		}
	}
	return nil
}

// learn keeps the fields of a whole block that HPACK has read; any other
// block may have changed the table, and everything known is forgotten.
func (m *blockMemo) learn(block []byte, fields []hpack.HeaderField) {
	if !indexedOnly(block) || len(fields) == 0 {
		m.forget()
		return
	}
	i := m.next
	m.next = (i + 1) % len(m.block)
	m.n = max(m.n, i+1)
	m.block[i] = append(m.block[i][:0], block...)
	m.got[i] = append(m.got[i][:0], fields...)
}

func (m *blockMemo) forget() { m.n, m.next = 0, 0 }

// indexedOnly reports whether an HPACK block is indexed fields alone:
// each a byte with the high bit set, its 7-bit prefix integer going on in
// more bytes when all ones (RFC 7541 §5.1, §6.1).
func indexedOnly(b []byte) bool {
	for len(b) > 0 {
		if b[0]&0x80 == 0 {
			return false
		}
		if b[0]&0x7f != 0x7f {
			b = b[1:]
			continue
		}
		i := 1
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		if i >= len(b) {
			return false
		}
		b = b[i+1:]
	}
	return true
}

// fields takes a whole header block's fields (read-only: they may be
// the decoder's, used again for the next block, or blockMemo's).
func (c *h2Conn) fields(dir *h2Dir, fields []hpack.HeaderField) string {
	dir.blockOpen = false
	switch {
	case dir.promisedID != 0:
		return c.request(dir.promisedID, fields, true, "(pushed)")
	case !dir.server && dir.dropping:
		return c.refused(dir.blockID, fields)
	case !dir.server:
		if s := c.streams[dir.blockID]; s != nil {
			if dir.blockEnds { // trailers
				s.clientEnded = true
			}
			return ""
		}
		return c.request(dir.blockID, fields, dir.blockEnds, "")
	}
	s := c.streams[dir.blockID]
	if s == nil {
		return ""
	}
	s.respFields = keepFields(s.respFields, fields)
	for _, f := range fields {
		switch f.Name {
		case ":status":
			if n, err := strconv.Atoi(f.Value); err == nil && n >= 200 || s.status == 0 {
				s.status = n
				if n >= 200 && s.headAt.IsZero() {
					s.headAt = c.clock()
				}
			}
		case "grpc-status":
			if n, err := strconv.Atoi(f.Value); err == nil {
				s.grpcStatus = n
			}
		case "grpc-message":
			s.grpcMessage = grpcstatus.PercentDecode(f.Value)
		case "grpc-encoding":
			s.resp.msgs.encoding = f.Value
		}
	}
	if dir.blockEnds {
		c.ended(dir, s)
	}
	return ""
}

// maxRefusePending bounds the RST_STREAM frames waiting to be sent; past
// it a stream is still recorded, and the GOAWAY alone tells the caller.
const maxRefusePending = 1024

// refused records a stream the caller opened while the connection drains
// (dropped: never forwarded), and queues its RST_STREAM. It is recorded
// as an event of the connection, as the GOAWAY is, not as a call: a
// caller that opened it before it read the GOAWAY retries it on a new
// connection (grpc-go does so at once, unseen), and that retry is the
// call; counted as one too, a call would count twice under every fault.
func (c *h2Conn) refused(id uint32, fields []hpack.HeaderField) string {
	if id <= c.lastRefused {
		return "" // the trailers of a stream refused already
	}
	c.lastRefused = id
	var method, target string
	var grpc bool
	for _, f := range fields {
		switch f.Name {
		case ":method":
			method = f.Value
		case ":path":
			target = f.Value
		case "content-type":
			grpc = strings.HasPrefix(f.Value, "application/grpc")
		}
	}
	call := method + " " + maskTarget(target)
	if grpc {
		call = "GRPC " + target
	}
	now := c.clock()
	in := Interaction{Edge: c.d.p.Edge, Protocol: "http2", Op: "connection", Start: now, End: now, Injected: true,
		Result: fmt.Sprintf("stream %d refused by the wire (REFUSED_STREAM): %s, opened after a fault began draining the connection", id, call),
		Note:   "(not forwarded; the caller may retry it on a new connection)"}
	in.GRPCStatus = -1
	c.d.p.emit(in)
	if len(c.refuse) < maxRefusePending {
		c.refuse = append(c.refuse, id)
		if w := c.d.refuseWanted; w != nil {
			w.Store(true)
		}
	}
	return ""
}

// request opens a stream.
func (c *h2Conn) request(id uint32, fields []hpack.HeaderField, ended bool, note string) string {
	if len(c.streams) >= maxH2Streams {
		return fmt.Sprintf("more than %d streams in flight", maxH2Streams)
	}
	var s *h2Stream
	if n := len(c.free); n > 0 {
		s, c.free = c.free[n-1], c.free[:n-1]
	} else {
		s = new(h2Stream)
	}
	s.id, s.start, s.grpcStatus, s.clientEnded, s.note = id, c.clock(), -1, ended, note
	// Shared with the last call's when the same (keptFields).
	s.reqFields, s.reqFix = c.lastReq.shareFix(fitFields(nil, fields))
	for _, f := range fields {
		switch f.Name {
		case ":method":
			s.method = f.Value
		case ":path":
			s.path = f.Value
		case "content-type":
			s.grpc = strings.HasPrefix(f.Value, "application/grpc")
		case "grpc-encoding":
			s.req.msgs.encoding = f.Value
		}
	}
	c.streams[id] = s
	c.lastStream = max(c.lastStream, id)
	return ""
}

// ended: one side ended the stream; the callee's end is the answer's.
func (c *h2Conn) ended(dir *h2Dir, s *h2Stream) {
	if !dir.server {
		s.clientEnded = true
		return
	}
	c.finish(s, "", false, time.Time{})
}

// statusMessage is a call's grpc-message as recorded: none with a
// success, though grpc-js, among others, sends "OK" with every one (its
// header fields keep what came).
func statusMessage(code int, msg string) string {
	if code == 0 && strings.EqualFold(msg, "OK") {
		return ""
	}
	return msg
}

// finish reports a stream and forgets it: answered, or with cut the
// result of one that was not (injected: a fault of seam's is why), which
// ended for the caller at end (zero: now).
func (c *h2Conn) finish(s *h2Stream, cut string, injected bool, end time.Time) {
	delete(c.streams, s.id)
	if end.IsZero() {
		end = c.clock()
	}
	in := Interaction{Edge: c.d.p.Edge, Protocol: "http2", Method: s.method, Target: s.path, Status: s.status,
		Start: s.start, End: end, Note: s.note, Injected: injected}
	in.GRPCStatus, in.GRPCMessage = s.grpcStatus, statusMessage(s.grpcStatus, s.grpcMessage)
	in.RequestSize, in.ResponseSize = s.req.size, s.resp.size
	c.keptFields(&in, s)
	if s.grpc {
		if s.path != c.lastPath || c.lastOp == "" {
			c.lastPath, c.lastOp = s.path, "GRPC "+s.path
		}
		in.Protocol, in.Op = "grpc", c.lastOp
		in.RequestMessages, in.ResponseMessages = s.req.msgs.count, s.resp.msgs.count
		c.d.p.grpcBodies(&in, &s.req.msgs, &s.resp.msgs, &c.method)
		switch {
		case s.grpcStatus >= 0:
			in.Result = GRPCCodeName(s.grpcStatus)
			if in.GRPCMessage != "" {
				in.Result += ": " + in.GRPCMessage
			}
			in.Suspicious = s.grpcStatus != 0
		case s.status != 0 && s.status != 200:
			in.Result, in.Suspicious = fmt.Sprintf("%d %s (no grpc-status)", s.status, httpStatusText(s.status)), true
		default:
			in.Result, in.Suspicious = "no grpc-status", true
		}
		if k := (noteKey{in.Note, in.RequestMessages, in.ResponseMessages, in.RequestSize, in.ResponseSize}); k != c.lastNoteKey || c.lastNote == "" {
			c.lastNoteKey, c.lastNote = k, grpcNote(in.Note, in)
		}
		in.Note = c.lastNote
	} else {
		in.Op = s.method + " " + s.path
		in.RequestBody, in.ResponseBody = s.req.head.body, s.resp.head.body
		in.reqCut, in.respCut = s.req.head.cut, s.resp.head.cut
		in.Result = fmt.Sprintf("%d %s", s.status, httpStatusText(s.status))
		in.Suspicious = s.status >= 500
	}
	if cut != "" {
		in.Result, in.Suspicious = cut, true
		if s.grpc && s.grpcStatus >= 0 {
			in.Result = GRPCCodeName(s.grpcStatus) + ", then " + cut
		}
	} else if at := c.d.callerAt; !at.IsZero() && at.Before(in.End) {
		if !s.grpc && !s.headAt.IsZero() && !at.Before(s.headAt) {
			// The answer's head, and its body as far as it had come, went
			// to the caller before it closed; only the stream's end (an
			// empty DATA frame, trailers) came after: a caller with the
			// whole body (its Content-Length) need not wait for it.
			in.Note = strings.TrimSpace(in.Note + " (the caller closed after " + secs(at.Sub(s.start)) + ", before the stream's end)")
		} else {
			// The answer came, but the caller had closed the connection:
			// what the callee said then (grpcio's UNAVAILABLE for the
			// half-closed socket) never reached it, as over HTTP/1; nor
			// does a gRPC call's status, in its trailers.
			in.Note = strings.TrimSpace(in.Note + " (the callee answered " + in.Result + " after " + secs(in.End.Sub(s.start)) + ")")
			in.Result, in.End, in.Suspicious = "no answer: caller closed after "+secs(at.Sub(s.start)), at, true
			in.GRPCStatus, in.GRPCMessage = -1, "" // no code reached the caller
		}
	}
	c.d.p.emitMemo(&in, &c.memo)
	c.recycle(s)
}

// recycle keeps a finished stream for the next one. Nothing may point to
// it after: the Interaction holds copies, grpcBodies copies the kept
// messages out, and a DATA frame still flowing on it counts for no
// stream (as one on a stream never seen).
func (c *h2Conn) recycle(s *h2Stream) {
	for _, dir := range c.dirs {
		if dir.data == s {
			dir.data = nil
		}
	}
	if len(c.free) >= maxFreeStreams {
		return
	}
	reqKept, respKept := s.req.msgs.kept[:0], s.resp.msgs.kept[:0]
	respFields := s.respFields[:0]
	clear(s.respFields[:cap(s.respFields)]) // their strings may be large: not kept alive
	*s = h2Stream{}
	s.req.msgs.kept, s.resp.msgs.kept = reqKept, respKept
	s.respFields = respFields
	c.free = append(c.free, s)
}

// keptFields is s's header fields for its Interaction, which may share
// them: the stream's response fields are used again, so they are copied,
// unless they are the same as the last call's, as a connection's calls
// mostly are (then that call's copy is shared: nobody changes a copy).
func (c *h2Conn) keptFields(in *Interaction, s *h2Stream) {
	in.reqFields, in.reqFix = s.reqFields, s.reqFix // a copy already (request)
	in.respFields = c.lastResp.share(s.respFields)
}

// fieldsMemo is the last copy of one direction's header fields made.
type fieldsMemo []hpack.HeaderField

func (m *fieldsMemo) share(fields []hpack.HeaderField) []hpack.HeaderField {
	if len(fields) == 0 {
		return nil
	}
	if !sameFields(*m, fields) {
		m.keep(fields)
	}
	return *m
}

// keep makes a copy of fields the last one.
func (m *fieldsMemo) keep(fields []hpack.HeaderField) {
	*m = append(make([]hpack.HeaderField, 0, len(fields)), fields...)
}

// fieldFix is a field of shared header fields whose value is another:
// at is its index + 1 (0: none).
type fieldFix struct {
	at    int
	value string
}

// apply is fields with the fix made (a copy; fields are shared).
func (f fieldFix) apply(fields []hpack.HeaderField) []hpack.HeaderField {
	if f.at == 0 || f.at > len(fields) {
		return fields
	}
	c := append([]hpack.HeaderField(nil), fields...)
	c[f.at-1].Value = f.value
	return c
}

// shareFix is share, but fields that differ from the last copy in one
// value only share that copy, with the value as a fix: a gRPC caller's
// requests repeat every field but grpc-timeout, and copying the fields
// of every call was a quarter of decoding it.
func (m *fieldsMemo) shareFix(fields []hpack.HeaderField) ([]hpack.HeaderField, fieldFix) {
	if len(fields) == 0 {
		return nil, fieldFix{}
	}
	switch at := oneValueApart(*m, fields); {
	case at == 0:
		return *m, fieldFix{}
	case at > 0:
		return *m, fieldFix{at: at, value: fields[at-1].Value}
	}
	m.keep(fields)
	return *m, fieldFix{}
}

// oneValueApart compares two field lists: 0 when they are the same, the
// index + 1 of the one field whose value alone differs, else -1.
func oneValueApart(a, b []hpack.HeaderField) int {
	if len(a) != len(b) {
		return -1
	}
	at := 0
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if at != 0 || a[i].Name != b[i].Name || a[i].Sensitive != b[i].Sensitive {
			return -1
		}
		at = i + 1
	}
	return at
}

func sameFields(a, b []hpack.HeaderField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// grpcNote is note, then the call's sizes, "(1 message, 11 B → 1
// message, 7 B)", built in one allocation: this is on every call.
func grpcNote(note string, in Interaction) string {
	var b strings.Builder
	b.Grow(len(note) + 64)
	if note = strings.TrimSpace(note); note != "" {
		b.WriteString(note)
		b.WriteByte(' ')
	}
	b.WriteByte('(')
	writeMsgCount(&b, in.RequestMessages, in.RequestSize)
	b.WriteString(" → ")
	writeMsgCount(&b, in.ResponseMessages, in.ResponseSize)
	b.WriteByte(')')
	return b.String()
}

func writeMsgCount(b *strings.Builder, n int, bytes int64) {
	var buf [20]byte
	if n == 1 {
		b.WriteString("1 message, ")
	} else {
		b.Write(strconv.AppendInt(buf[:0], int64(n), 10))
		b.WriteString(" messages, ")
	}
	if bytes < 1024 { // as size says it, without fmt
		b.Write(strconv.AppendInt(buf[:0], bytes, 10))
		b.WriteString(" B")
	} else {
		b.WriteString(size(bytes))
	}
}

func msgCount(n int, bytes int64) string {
	var b strings.Builder
	writeMsgCount(&b, n, bytes)
	return b.String()
}

// stop ends decoding of the connection: it is noted, once, with the
// streams it leaves unread.
func (c *h2Conn) stop(why string) {
	c.broken = true
	now := time.Now()
	c.unread = len(c.streams)
	note := "(not decoded further; the bytes pass untouched)"
	switch {
	case c.draining:
		// clientBytes has the proxy cut it.
		note = fmt.Sprintf("(not decoded further, %d stream(s) in flight unread; a fault drains the connection, so it is cut)", c.unread)
	case c.unread > 0:
		note = fmt.Sprintf("(not decoded further, %d stream(s) in flight unread; the bytes pass untouched)", c.unread)
	}
	c.streams = nil
	in := Interaction{Edge: c.d.p.Edge, Protocol: "http2", Op: "connection", Result: "HTTP/2 undecoded: " + why,
		Start: now, End: now, Suspicious: true, Note: note}
	in.GRPCStatus = -1
	c.d.p.emit(in)
}

// close reports the streams a closed connection left without an answer
// (how it ended; cut: by a fault of seam's), as HTTP/1's calls are
// (decoder.unanswered). A connection that ends inside a frame (a
// close_after fault's cut, a peer gone in the middle of a write) still
// tells of its calls; with none in flight, of the truncated frame.
func (c *h2Conn) close(how string, cut bool) {
	if c.broken {
		return
	}
	c.now = time.Time{} // the clock is read afresh: no bytes came since the last chunk
	for _, dir := range c.dirs {
		if dir.nhdr > 0 || dir.inFrame || dir.inData || dir.preface > 0 && dir.preface < len(h2Preface) {
			if len(c.streams) == 0 {
				c.stop("a truncated frame (the connection ended inside it)")
				return
			}
			if !cut {
				how += ", in the middle of a frame"
			}
			break
		}
	}
	now := c.clock()
	for _, s := range sortedStreams(c.streams) {
		res, injected, end := c.d.unanswered(how, cut, s.start, now)
		c.finish(s, res, injected, end)
	}
}

func sortedStreams(m map[uint32]*h2Stream) []*h2Stream {
	out := make([]*h2Stream, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func httpStatusText(n int) string {
	if t := http.StatusText(n); t != "" {
		return t
	}
	return "status"
}

// keepFields adds a header block's fields to kept (the block's slice is
// reused for the next block; the strings in it are not), as many as
// fitFields allows.
func keepFields(kept, fields []hpack.HeaderField) []hpack.HeaderField {
	fields = fitFields(kept, fields)
	if len(fields) == 0 {
		return kept
	}
	if kept == nil {
		// Room for a gRPC answer's trailers (grpc-status, grpc-message)
		// after its headers.
		return append(make([]hpack.HeaderField, 0, len(fields)+2), fields...)
	}
	return append(kept, fields...)
}

// fitFields is fields as kept after kept, in maxHeaderKept bytes in all:
// all of them when they fit (fields itself), else a copy in which a field
// that does not fit is its name and its size alone, or left out once not
// even that fits. A large value (a caller's metadata, which gRPC callers
// may send before their own fields) must not hide the fields after it.
func fitFields(kept, fields []hpack.HeaderField) []hpack.HeaderField {
	size := 0
	for _, f := range kept {
		size += len(f.Name) + len(f.Value)
	}
	for i, f := range fields {
		if size+len(f.Name)+len(f.Value) <= maxHeaderKept {
			size += len(f.Name) + len(f.Value)
			continue
		}
		out := append(make([]hpack.HeaderField, 0, len(fields)), fields[:i]...)
		for _, f := range fields[i:] {
			if size+len(f.Name)+len(f.Value) > maxHeaderKept {
				f.Value = fmt.Sprintf("(%d bytes, not kept)", len(f.Value))
			}
			if size+len(f.Name)+len(f.Value) > maxHeaderKept {
				continue
			}
			size += len(f.Name) + len(f.Value)
			out = append(out, f)
		}
		return out
	}
	return fields
}

// fieldLines renders kept fields as header lines, "name: value" a line,
// pseudo-headers left out (the method, path and status say them), up to
// maxHeaderKept bytes.
func fieldLines(fields []hpack.HeaderField) string {
	var b strings.Builder
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") || b.Len()+len(f.Name)+len(f.Value)+3 > maxHeaderKept {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
	}
	return b.String()
}
