package wire

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// The decoder sees each chunk just before it is forwarded, in the
// forwarding goroutine itself: an incremental HTTP/1.x reader per
// direction that keeps only what frames a message (the start line and the
// Content-Length and Transfer-Encoding headers) and counts its way through
// bodies. No copies, no extra goroutines, so recording costs little, and
// an exchange is reported before its last byte reaches the caller, so it
// always lands in the test that caused it. It decides from the first
// bytes whether the connection speaks HTTP/1.x; when it meets something
// it does not understand it stops, and the bytes still flow.

type decodeMode int

const (
	undecided decodeMode = iota
	decodingHTTP
	decodingPG
	decodingRESP
	decodingMySQL // mysql.go
	decodingNATS  // nats.go
	decodingH2    // h2.go
	raw
)

type decoder struct {
	p       *Proxy
	mu      sync.Mutex // the two directions run in two goroutines
	mode    decodeMode
	wasHTTP bool
	req     reader
	resp    reader
	queue   []exchange // requests waiting for their response
	pg      *pgConn
	resp3   *respConn
	my      *mysqlConn
	nats    *natsConn
	// callerAt is when the caller ended its side while the callee still
	// had its open; blackholed: a blackhole fault swallowed requests.
	callerAt   time.Time
	blackholed bool
	// HTTP/1: an end of the caller's side (callerAt) may be a half close
	// (shutdown(SHUT_WR): nc -N, a raw socket, some HTTP/1.0 clients),
	// after which the caller still reads its answers. callerGone: it
	// turned out closed for reading too (a write to it failed, or it
	// reset on one: written). unsent: answers complete after callerAt,
	// told once the write of the chunk that ends them shows whether the
	// caller still reads.
	callerGone bool
	unsent     []unsentAnswer
	callerEnd  atomic.Bool // callerAt is set: written looks
	// chunkFrom is when the callee's chunk being decoded came from it and
	// heldBy the fault that held it since ("": none held it): a call whose
	// caller gave up while a fault held its answer is the fault's doing.
	chunkFrom time.Time
	heldBy    string
	// heldUp is the fault that held the caller's bytes when it ended its
	// side (callerClosedHeld; "": none).
	heldUp string
	// switched is the protocol a 101 answer switched the connection to
	// ("WebSocket"), and switchedBytes the bytes that passed since, both
	// ways.
	switched      string
	switchedBytes int64
	h2            *h2Conn
	// sniffed is a caller's first bytes while they are too few to tell
	// its protocol (a client that writes "G", then "ET /"): kept until
	// they tell, at most maxSniff of them.
	sniffed []byte
	// greeted is a callee's first bytes, sent before the caller's, while
	// they may yet be an HTTP/2 server's SETTINGS frame (9 bytes).
	greeted []byte
	// drainOnH2: a fault that answers HTTP/2 calls came while the
	// connection had carried no bytes (h2Drain): if it turns out HTTP/2,
	// the caller's streams are dropped from the first (drainH2).
	drainOnH2 bool
	// drainWanted is the connection's (connState.drainWanted): an h2c
	// upgrade made while a fault answers HTTP/2 calls asks for its drain.
	// Nil for a decoder alone (tests).
	drainWanted *atomic.Bool
	// refuseWanted is the connection's (connState.refuseWanted): a drain
	// refused a stream whose RST_STREAM is to be sent. Nil for a decoder
	// alone (tests).
	refuseWanted *atomic.Bool
	// stopTold: why decoding stopped was said (stopped).
	stopTold bool
	// abandoned: the calls a caller that closed left waiting were told
	// (tellAbandoned), told of them.
	abandoned bool
	told      int
	// unread: calls waiting when a protocol's decoding stopped (quit).
	unread int
}

// exchange is a request seen, waiting for its response.
type exchange struct {
	method, target string
	key            string // a Redis command's key, whole (target shows its start)
	header         string
	start          time.Time
	body           []byte
	cut            bool  // the body was longer than what is kept
	size           int64 // the body's bytes as sent (an h2c upgrade's stream counts them)
	// HTTP/1's answer: when its head went on to the caller (headAt), when
	// it came from the callee (headFrom: earlier when heldBy, a fault,
	// held it), and whether it reached the caller (head).
	headAt, headFrom time.Time
	heldBy           string
	head             headFate
}

// headFate is whether an HTTP/1 answer's head reached its caller.
type headFate int8

const (
	headNotYet    headFate = iota
	headPending            // written to a caller that ended its side: is it still reading?
	headDelivered          // the caller had it
	headLost               // the caller was gone
)

// unsentAnswer is an HTTP/1 answer complete after its caller ended its
// side, waiting to learn whether the caller still read (decoder.unsent).
type unsentAnswer struct {
	in Interaction
	ex exchange
}

func newDecoder(p *Proxy) *decoder {
	d := &decoder{p: p}
	d.req.request = true
	return d
}

// understood reports whether the connection was decoded (HTTP, PostgreSQL,
// Redis).
func (d *decoder) understood() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wasHTTP
}

func (d *decoder) fromClient(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fromClientLocked(b)
}

// clientBytes decodes b, the caller's next bytes, and returns what of
// them goes on to the callee: b, but while a gRPC fault drains the
// connection, without the frames of the streams the caller opened after
// the GOAWAY (h2Conn.startFilter). cut: decoding stopped while the
// connection drains, so its frames can no longer be told apart: the
// proxy cuts it, and the caller reconnects (to meet the fault) rather
// than wait for answers that would never come.
func (d *decoder) clientBytes(b []byte) (out []byte, cut bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sent := 0 // bytes at the start of what the filter passes that went on already
	switch c := d.h2; {
	case c == nil && d.drainOnH2:
		// The caller's first bytes since the fault came: those kept to
		// tell the protocol (a start of the preface) went on already.
		sent = len(d.sniffed)
	case c == nil || !c.draining:
		d.fromClientLocked(b)
		return b, false
	case d.mode != decodingH2:
		return nil, true
	default:
		c.out = c.out[:0]
	}
	d.fromClientLocked(b)
	switch c := d.h2; {
	case c == nil || !c.draining:
		// Not HTTP/2 after all, or the fault went before it told.
		if d.mode != undecided {
			d.drainOnH2 = false
		}
		return b, false
	case d.mode != decodingH2 || len(c.out) < sent:
		return nil, true
	default:
		return c.out[sent:], false
	}
}

func (d *decoder) fromClientLocked(b []byte) {
	switch d.mode {
	case raw:
		d.passedSwitched(b)
		return
	case undecided:
		if len(d.sniffed) > 0 || len(b) < sniffLimit(b) && mayTellLater(b) {
			d.sniffed = append(d.sniffed, b...)
			if len(d.sniffed) < sniffLimit(d.sniffed) && mayTellLater(d.sniffed) {
				return // too few bytes yet to tell
			}
			b, d.sniffed = d.sniffed, nil
		}
		switch {
		case looksLikeHTTP(b):
			d.mode, d.wasHTTP = decodingHTTP, true
		case looksLikePG(b):
			d.mode, d.wasHTTP, d.pg = decodingPG, true, newPgConn(d)
		case looksLikeRESP(b):
			d.mode, d.wasHTTP, d.resp3 = decodingRESP, true, newRespConn(d)
		case looksLikeH2(b):
			if !d.startH2(true) {
				return
			}
		default:
			d.undecodable()
			return
		}
	}
	switch d.mode {
	case decodingPG:
		if !d.pg.fromClient(b) {
			d.quit()
		}
		return
	case decodingRESP:
		if !d.resp3.fromClient(b) {
			d.quit()
		}
		return
	case decodingMySQL:
		if !d.my.fromClient(b) {
			d.quit()
		}
		return
	case decodingNATS:
		if !d.nats.fromClient(b) {
			d.quit()
		}
		return
	case decodingH2:
		if !d.h2.fromClient(b) {
			d.mode = raw
		}
		return
	}
	if !d.req.feed(b, d.onRequest) {
		d.quit()
		// Said, or the requests after it would vanish unexplained.
		if d.req.why != "" {
			d.stopped("http", d.req.why+"; HTTP faults do not meet the requests after it", true)
		}
	}
}

// fromServer decodes the callee's next bytes, just before they go on to
// the caller.
func (d *decoder) fromServer(b []byte) { d.fromServerHeld(b, time.Time{}, "") }

// fromServerHeld is fromServer for a chunk that a fault (heldBy: "a
// latency fault") held since it came from the callee at from.
func (d *decoder) fromServerHeld(b []byte, from time.Time, heldBy string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.chunkFrom, d.heldBy = from, heldBy
	switch d.mode {
	case undecided:
		if len(d.greeted) > 0 || mayBeH2Settings(b) || mysqlNeedsMore(b) || natsNeedsMore(b) {
			d.greeted = append(d.greeted, b...)
			if len(d.greeted) < 9 && mayBeH2Settings(d.greeted) || mysqlNeedsMore(d.greeted) || natsNeedsMore(d.greeted) {
				return // too few bytes yet to tell
			}
			b, d.greeted = d.greeted, nil
		}
		if looksLikeH2Settings(b) { // an HTTP/2 server greets before the preface comes
			if !d.startH2(false) {
				return
			}
			break
		}
		if looksLikeMySQLHandshake(b) {
			d.mode, d.wasHTTP, d.my = decodingMySQL, true, newMySQLConn(d)
			if !d.my.fromServer(b) {
				d.quit()
			}
			return
		}
		if looksLikeNATSInfo(b) {
			d.mode, d.wasHTTP, d.nats = decodingNATS, true, newNATSConn(d)
			if !d.nats.fromServer(b) {
				d.quit()
			}
			return
		}
		// The callee speaks first (another protocol): not HTTP.
		d.undecodable()
		return
	case raw:
		d.passedSwitched(b)
		return
	case decodingPG:
		if !d.pg.fromServer(b) {
			d.quit()
		}
		return
	case decodingRESP:
		if !d.resp3.fromServer(b) {
			d.quit()
		}
		return
	case decodingMySQL:
		if !d.my.fromServer(b) {
			d.quit()
		}
		return
	case decodingNATS:
		if !d.nats.fromServer(b) {
			d.quit()
		}
		return
	}
	if d.mode == decodingH2 {
		if !d.h2.fromServer(b) {
			d.mode = raw
		}
		return
	}
	if rest, ok := d.resp.feedRest(b, d.onResponse); !ok {
		d.mode = raw
		d.passedSwitched(rest)
		if d.resp.why != "" {
			d.stopped("http", d.resp.why, true)
			d.quit()
		}
		if d.h2 != nil { // an h2c upgrade: HTTP/2 from the next byte on
			d.mode = decodingH2
			if !d.h2.fromServer(rest) {
				d.mode = raw
			}
		}
	}
}

// passedSwitched counts b, bytes that passed either way, when the
// connection switched protocols (a 101 answer: WebSocket). d.mu is held.
func (d *decoder) passedSwitched(b []byte) {
	if d.switched != "" {
		d.switchedBytes += int64(len(b))
	}
}

// switchedTo is what a 101 answer switched the connection to, and the bytes
// that passed since (both ways); "" when it did not.
func (d *decoder) switchedTo() (string, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.switched, d.switchedBytes
}

// startH2 begins decoding HTTP/2, told by one side's first bytes: the
// other side's, kept while too few to tell (the callee's: the start of
// its SETTINGS, keptFromServer; the caller's: the start of its preface),
// are read first. False when they cannot be (decoding stops).
func (d *decoder) startH2(keptFromServer bool) bool {
	d.mode, d.wasHTTP, d.h2 = decodingH2, true, newH2Conn(d)
	d.drainFromTheStart()
	kept, read := d.sniffed, d.h2.fromClient
	if keptFromServer {
		kept, read = d.greeted, d.h2.fromServer
	}
	d.sniffed, d.greeted = nil, nil
	if len(kept) > 0 && !read(kept) {
		d.mode = raw
		return false
	}
	return true
}

// drainFromTheStart starts dropping the caller's streams of a connection
// just found to be HTTP/2 if a fault that answers HTTP/2 calls came
// before it told (drainOnH2) and still holds: its first call must not
// reach the callee either. The GOAWAY follows (drainLocked), as for any
// drained connection.
func (d *decoder) drainFromTheStart() {
	if d.drainOnH2 && d.p.faults.get().answersH2() {
		d.h2.startFilter()
	}
	d.drainOnH2 = false
}

// drainUpgraded drains a connection just upgraded to HTTP/2 (h2c) if a
// fault that answers HTTP/2 calls holds: its HTTP/1 requests met the
// fault one by one (the gate), its streams after the upgrading one must
// meet it too, so they are dropped and the caller, told by the GOAWAY
// that they were not processed, sends them again on a new connection.
func (d *decoder) drainUpgraded() {
	if d.drainWanted == nil || !d.p.faults.get().answersH2() {
		return
	}
	d.h2.startFilter()
	d.drainWanted.Store(true)
}

// stopped says, once for a connection, why its protocol (postgres,
// mysql, redis, nats) is not decoded from here on: the bytes still pass untouched, but
// what they carry is not recorded, and a timeline that goes silent would
// not say so.
func (d *decoder) stopped(protocol, why string, suspicious bool) {
	if d.stopTold {
		return
	}
	d.stopTold = true
	now := time.Now()
	d.p.emit(Interaction{Edge: d.p.Edge, Protocol: protocol, Op: "connection", Start: now, End: now, Suspicious: suspicious,
		Result: "not decoded from here: " + why, Note: "(the bytes pass untouched)"})
}

// undecodable notes, once, a connection in a protocol the wire does not
// decode when its first bytes flow: it shows in the timeline and counts
// for coverage even when it stays open all run.
func (d *decoder) undecodable() {
	d.mode = raw
	now := time.Now()
	d.p.emit(Interaction{Edge: d.p.Edge, Protocol: "tcp", Op: "connection", Result: "open", Start: now, End: now,
		Note: "(protocol not decoded)"})
}

// onRequest is called at the end of a request's head, and once it is
// complete (which changes nothing).
func (d *decoder) onRequest(h *head) bool {
	if h.done {
		if n := len(d.queue); n > 0 {
			d.queue[n-1].body, d.queue[n-1].cut = h.bodyKept()
			d.queue[n-1].size = h.size
			d.queue[n-1].header = h.header // with its trailers, if any
		}
		return true
	}
	if len(d.queue) >= 64 {
		d.req.why = "more than 64 requests waiting for their answers" // more than anyone pipelines
		return false
	}
	d.queue = append(d.queue, exchange{method: h.method, target: h.target, header: h.header, start: time.Now()})
	return true
}

// onResponse is called at the end of a response's head (before its body,
// to learn whether it has one) and again once it is complete.
func (d *decoder) onResponse(h *head) bool {
	if len(d.queue) == 0 {
		d.resp.why = "an answer to no request" // we lost track
		return false
	}
	ex := d.queue[0]
	if !h.done {
		// HEAD answers, 1xx, 204 and 304 have no body whatever they say.
		if ex.method == http.MethodHead || h.status == http.StatusNoContent || h.status == http.StatusNotModified {
			h.length, h.chunked = 0, false
		}
		if h.status >= 100 && h.status < 200 && h.status != http.StatusSwitchingProtocols {
			h.interim = true
		}
		if h.status == http.StatusSwitchingProtocols {
			h.length, h.chunked = 0, false // what follows is the new protocol's
		}
		if !h.interim {
			d.headGoes(&d.queue[0])
		}
		return true
	}
	if h.interim {
		return true // 100 Continue: the real answer follows
	}
	d.queue = d.queue[1:]
	in := Interaction{Edge: d.p.Edge, Protocol: "http", Op: ex.method + " " + ex.target,
		Result: strconv.Itoa(h.status) + " " + h.reason, Start: ex.start, End: time.Now(),
		Suspicious: h.status >= 400, Method: ex.method, Target: ex.target, Status: h.status,
		RequestBody: ex.body, reqHeader: ex.header, respHeader: h.header, reqCut: ex.cut}
	in.ResponseBody, in.respCut = h.bodyKept()
	if h.status == http.StatusSwitchingProtocols && h.upgrade == "h2c" {
		d.h2 = newH2Conn(d)
		d.h2.dirs[1].preface = 0 // the callee starts with its SETTINGS
		d.h2.upgraded(ex)
		d.drainUpgraded()
		return false
	}
	switched := h.status == http.StatusSwitchingProtocols
	if switched {
		in.Note = "(protocol switched; not decoded further)"
		d.switched = switchedName(h.upgrade)
	}
	switch {
	case d.callerAt.IsZero():
		d.p.emit(in)
	case d.callerGone:
		d.tellAnswer(in, ex, false)
	default:
		// The caller ended its side before the answer's end went on: a
		// half close, or gone? The write of the chunk tells (written).
		d.unsent = append(d.unsent, unsentAnswer{in, ex})
	}
	return !switched
}

// switchedName is how a line names the protocol an Upgrade header
// switched to.
func switchedName(upgrade string) string {
	switch {
	case upgrade == "":
		return "another protocol"
	case strings.HasPrefix(upgrade, "websocket"):
		return "WebSocket"
	}
	return oneLine(upgrade, 40)
}

// headGoes notes that ex's answer's head (a final status) is about to go
// to the caller, in the chunk being decoded. d.mu is held.
func (d *decoder) headGoes(ex *exchange) {
	ex.headAt, ex.headFrom, ex.heldBy = time.Now(), d.chunkFrom, d.heldBy
	if ex.headFrom.IsZero() {
		ex.headFrom = ex.headAt
	}
	switch {
	case d.callerAt.IsZero():
		ex.head = headDelivered
	case d.callerGone:
		ex.head = headLost
	default:
		ex.head = headPending // written tells
	}
}

// written is told after each chunk of the callee's went to the caller;
// reading reports whether the caller still reads (the write succeeded and
// the caller did not reset on it): asked only once the caller ended its
// side, for the answers whose fate that decides. d.mu is not held.
func (d *decoder) written(reading func() bool) {
	if !d.callerEnd.Load() {
		return // the clean path: no lock taken
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.callerAt.IsZero() || d.callerGone && len(d.unsent) == 0 {
		return
	}
	if reading() {
		d.tellUnsent(true)
		return
	}
	d.callerGone = true
	d.tellUnsent(false)
}

// tellUnsent tells of the answers that waited to learn whether their
// caller still read (reading). d.mu is held.
func (d *decoder) tellUnsent(reading bool) {
	fate := headLost
	if reading {
		fate = headDelivered
	}
	if len(d.queue) > 0 && d.queue[0].head == headPending {
		d.queue[0].head = fate
	}
	unsent := d.unsent
	d.unsent = nil
	for _, u := range unsent {
		if u.ex.head == headPending {
			u.ex.head = fate
		}
		d.tellAnswer(u.in, u.ex, reading)
	}
}

// tellAnswer tells of ex's answer, in, complete after its caller ended
// its side (callerAt): one the caller read (a half close: reading), or
// one it left, in the middle of the body when its head had reached it.
// d.mu is held.
func (d *decoder) tellAnswer(in Interaction, ex exchange, reading bool) {
	answered := in.Result
	switch {
	case reading:
		in.Note = strings.TrimSpace(in.Note + " (the caller had half-closed its side after its request, and read the answer)")
	case ex.head == headDelivered && d.heldBy != "" && d.chunkFrom.Before(d.callerAt):
		// The rest of the body had come, but a fault held it when the
		// caller gave up (a bandwidth fault's slow link).
		in.Result = answered + ", then the caller closed after " + secs(d.callerAt.Sub(ex.start)) + " (in the middle of its body; " + d.heldBy + " held the rest)"
		in.End, in.Suspicious, in.respCut, in.Injected = d.callerAt, true, true, true
	case ex.head == headDelivered:
		in.Result = answered + ", then the caller closed after " + secs(d.callerAt.Sub(ex.start)) + " (in the middle of its body)"
		in.End, in.Suspicious, in.respCut = d.callerAt, in.Status >= 400, true
	default:
		// The answer came, but the caller had given up on it: the
		// callee's doing, unless its answer came in time and a fault of
		// seam's held it until after.
		came := in.End
		if !ex.headFrom.IsZero() {
			came = ex.headFrom
		}
		in.Note = "(the callee answered " + answered + " after " + secs(came.Sub(ex.start)) + ")"
		in.Result = "no answer: caller closed after " + secs(d.callerAt.Sub(ex.start))
		if ex.heldBy != "" && ex.headFrom.Before(d.callerAt) {
			in.Result += " (" + ex.heldBy + " held the answer)"
			in.Injected = true
		}
		in.End, in.Suspicious = d.callerAt, true
	}
	d.p.emit(in)
}

// answering reports whether the callee is answering a request h matches.
func (d *decoder) answering(h *HTTPFault) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mode == decodingHTTP && len(d.queue) > 0 && h.matches(d.queue[0].method, d.queue[0].target)
}

// gated notes that an HTTP fault's gate decided a request of this
// connection: it is HTTP, even when no byte of it reached the callee.
func (d *decoder) gated() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode == undecided {
		d.mode = decodingHTTP
	}
	d.wasHTTP = true
}

// sniffLimit is how many of a connection's first bytes are looked at to
// tell its protocol: a request line of any method is told once whole, so
// its bytes are gathered up to maxHead.
func sniffLimit(b []byte) int {
	if mayBeRequestLine(b) {
		return maxHead
	}
	return maxSniff
}

// waiting is how many HTTP/1 requests wait for the callee's answer, while
// the callee's answers are still decoded (decoding: else they will not be
// told apart).
func (d *decoder) waiting() (n int, decoding bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue), d.mode == decodingHTTP
}

// atRequestStart reports whether the caller's next byte may start an
// HTTP request: nothing was decoded yet, or an HTTP request just ended.
func (d *decoder) atRequestStart() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mode == undecided && len(d.sniffed) == 0 || d.mode == decodingHTTP && d.req.state == inHead && len(d.req.line) == 0
}

// callerClosed notes that the caller ended its side at t while the callee
// had not: what it still waits for, it gave up on.
func (d *decoder) callerClosed(t time.Time) { d.callerClosedHeld(t, "") }

// callerClosedHeld is callerClosed while a fault (heldUp: "a bandwidth
// fault"; "": none) held bytes the caller sent: what the caller gave up
// on waiting for is that fault's doing.
func (d *decoder) callerClosedHeld(t time.Time, heldUp string) {
	d.mu.Lock()
	d.callerAt, d.heldUp = t, heldUp
	d.mu.Unlock()
	d.callerEnd.Store(true)
}

// callerEnded reports whether the caller ended its side of the
// connection before the callee (callerClosed).
func (d *decoder) callerEnded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.callerAt.IsZero()
}

// swallowed takes what a blackhole kept from the callee: the calls in it
// are known, and end unanswered.
func (d *decoder) swallowed(b []byte) {
	d.fromClient(b)
	d.mu.Lock()
	d.blackholed = true
	if d.h2 != nil {
		d.h2.out = d.h2.out[:0] // what a drain's filter kept goes nowhere
	}
	d.mu.Unlock()
}

// unreadInFlight is how many calls were in flight, unread, when
// decoding stopped: no interaction tells of them.
func (d *decoder) unreadInFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h2 == nil {
		return d.unread
	}
	return d.h2.unread + d.unread
}

// quit stops decoding a protocol (HTTP/1, PostgreSQL, MySQL, Redis, NATS)
// whose decoder cannot go on. The calls it had waiting may be answered
// after, unseen: they are counted (unreadInFlight), not told unanswered
// when the connection ends. d.mu is held.
func (d *decoder) quit() {
	d.mode = raw
	d.unread += len(d.queue)
	d.queue = nil
	if d.nats != nil {
		d.unread += len(d.nats.waits)
		d.nats.waits = nil
	}
	if d.pg != nil {
		d.unread += len(d.pg.unanswered())
		d.pg.pending = nil
	}
	if d.my != nil {
		d.unread += len(d.my.pending)
		d.my.pending = nil
	}
	if d.resp3 != nil {
		d.unread += len(d.resp3.pending) + d.resp3.untold
		d.resp3.pending, d.resp3.untold, d.resp3.answered, d.resp3.errs = nil, 0, 0, 0
	}
}

// pending is a call still waiting for its answer when the connection ends.
type pending struct {
	protocol, method, target, op string
	start                        time.Time
	key                          string // Redis's
}

// close ends decoding when the connection is over: calls still waiting
// got no answer, and each is reported with why (how the connection ended;
// cut says a fault of seam's ended it). It returns how many there were.
func (d *decoder) close(how string, cut bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.abandoned {
		return d.told // told already (tellAbandoned)
	}
	return d.closeLocked(how, cut)
}

// tellAbandoned tells now of the calls that a caller which closed its
// side left waiting, rather than when the callee ends too: a database
// server (PostgreSQL, MySQL, Redis) goes on with a query whose caller is
// gone until it has run, which may be after the test (a client's own
// timeout, then its connection closed, is how such calls end). Those
// callers hardly ever half-close and still wait, as an HTTP/1 one may (a
// script piping into nc -N would: its late answer goes untold). Decoding
// stops there: a late answer reaches no one. d.mu is not held.
func (d *decoder) tellAbandoned() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.callerAt.IsZero() || d.abandoned {
		return
	}
	switch {
	case d.mode == decodingPG && len(d.pg.pending) > 0:
	case d.mode == decodingMySQL && len(d.my.pending) > 0:
	case d.mode == decodingRESP && (len(d.resp3.pending) > 0 || d.resp3.untold > 0):
	default:
		return
	}
	d.told = d.closeLocked("connection closed", false)
	d.abandoned, d.mode = true, raw
}

// closeLocked is close with d.mu held.
func (d *decoder) closeLocked(how string, cut bool) int {
	if d.h2 != nil {
		n := len(d.h2.streams)
		d.h2.close(how, cut)
		return n
	}
	if d.mode == decodingHTTP && d.resp.state != inHead && d.resp.h.status != 0 && !d.resp.h.interim && len(d.queue) > 0 {
		if d.resp.h.untilClose && !cut && !d.callerGone && !strings.Contains(how, "reset") {
			// A response that runs to the end of the connection ends here
			// (read whole by a caller that half-closed, if it did: every
			// write to it went through).
			d.resp.finish(d.onResponse)
			d.tellUnsent(true)
		} else {
			d.cutAnswer(how, cut)
		}
	}
	// Answers whose last chunk's write was not told of (a decoder alone):
	// their caller closed before them.
	d.tellUnsent(false)
	var left []pending
	n := 0 // calls told here besides left
	for _, ex := range d.queue {
		left = append(left, pending{"http", ex.method, ex.target, ex.method + " " + ex.target, ex.start, ""})
	}
	if d.pg != nil {
		d.pg.closed()
		for _, ex := range d.pg.unanswered() {
			left = append(left, pending{"postgres", "SQL", ex.sql, "SQL", ex.start, ""}) // cut as it is masked
		}
	}
	if d.my != nil {
		for _, ex := range d.my.pending {
			if ex.op != "" {
				left = append(left, pending{"mysql", "", "", ex.op, ex.start, ""})
			} else {
				left = append(left, pending{"mysql", "SQL", ex.sql, "SQL", ex.start, ""}) // cut as it is masked
			}
		}
		d.my.pending = nil
	}
	if d.resp3 != nil {
		for _, ex := range d.resp3.pending {
			left = append(left, pending{"redis", "REDIS", ex.target, "REDIS " + ex.target, ex.start, ex.key})
		}
		d.resp3.closeUntold(how)
		if d.mode == decodingRESP && d.resp3.cutWhileSent(how, cut) {
			n++
		}
	}
	if d.nats != nil {
		n += d.nats.close(how, cut)
	}
	now := time.Now()
	for _, x := range left {
		in := Interaction{Edge: d.p.Edge, Protocol: x.protocol, Op: x.op, Start: x.start, Suspicious: true,
			Method: x.method, Target: x.target}
		if x.protocol == "redis" {
			in.Command, _ = redisParts(x.target)
			in.Key = x.key
		}
		in.Result, in.Injected, in.End = d.unanswered(how, cut, x.start, now)
		d.p.emit(in)
	}
	d.queue = nil
	if d.pg != nil {
		d.pg.pending = nil
	}
	if d.resp3 != nil {
		d.resp3.pending = nil
	}
	return len(left) + n
}

// cutAnswer tells of the oldest call, whose answer had begun (its head
// went to the caller) when the connection ended in the middle of its body
// (how; cut: a fault of seam's ended it), or the caller closed it then (an
// event stream it was done with): the answer's status is kept. d.mu is
// held.
func (d *decoder) cutAnswer(how string, cut bool) {
	ex, h := d.queue[0], &d.resp.h
	d.queue = d.queue[1:]
	in := Interaction{Edge: d.p.Edge, Protocol: "http", Op: ex.method + " " + ex.target,
		Result: fmt.Sprintf("%d %s", h.status, h.reason), Start: ex.start, End: time.Now(),
		Suspicious: true, Injected: cut, Method: ex.method, Target: ex.target, Status: h.status,
		RequestBody: ex.body, reqHeader: ex.header, respHeader: h.header, reqCut: ex.cut}
	in.ResponseBody, _ = h.bodyKept()
	in.respCut = true
	d.resp.state, d.resp.h = inHead, head{}
	if !d.callerAt.IsZero() && !cut {
		// The caller left: in the middle of the body, or before the head
		// reached it (a fault held it).
		if ex.head == headPending {
			ex.head = headDelivered // written was not told (a decoder alone)
		}
		d.tellAnswer(in, ex, false)
		return
	}
	in.Result += ", then " + how + " (in the middle of its body)"
	d.p.emit(in)
}

// unanswered is what became of a call (begun at start) still waiting for
// its answer when the connection ended at now (how; cut: a fault of
// seam's ended it), of every protocol: its result, whether a fault of
// seam's is the cause, and when it ended for the caller. d.mu is held.
func (d *decoder) unanswered(how string, cut bool, start, now time.Time) (result string, injected bool, end time.Time) {
	switch {
	case cut:
		return "no response (" + how + ")", true, now
	case !d.callerAt.IsZero() && d.blackholed:
		return "no answer: caller closed after " + secs(d.callerAt.Sub(start)) + " (a blackhole fault swallowed the call)", true, d.callerAt
	case d.blackholed:
		return "no answer (a blackhole fault swallowed the call; " + how + ")", true, now
	case !d.callerAt.IsZero() && d.heldUp != "":
		return "no answer: caller closed after " + secs(d.callerAt.Sub(start)) + " (" + d.heldUp + " held the request)", true, d.callerAt
	case !d.callerAt.IsZero():
		return "no answer: caller closed after " + secs(d.callerAt.Sub(start)), false, d.callerAt
	}
	return "no response (" + how + ")", false, now
}

// secs renders how long a caller waited: "5.0s", "120.0 ms".
func secs(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmtDuration(d)
}

// maxSniff bounds the first bytes of a caller kept to tell its protocol:
// every protocol the wire decodes tells in fewer (PostgreSQL's startup
// in 8, "OPTIONS " in 8, a Redis command's "*3\r\n$" in 5).
const maxSniff = 16

// mayTellLater reports whether a caller's first bytes, b, are too few to
// tell its protocol yet: they are the start of what one of the
// detectors below would accept, but no detector accepts them yet.
func mayTellLater(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if looksLikeHTTP(b) || looksLikePG(b) || looksLikeRESP(b) || looksLikeH2(b) {
		return false
	}
	for _, m := range httpMethods {
		if len(b) < len(m) && string(b) == m[:len(b)] {
			return true
		}
	}
	if mayBeRequestLine(b) {
		return true
	}
	if n := min(len(b), len(h2Preface)); string(b[:n]) == h2Preface[:n] {
		return true
	}
	if len(b) < 8 && (len(b) < 1 || b[0] == 0) && (len(b) < 2 || b[1] < 10000>>16+1) {
		return true // a PostgreSQL startup's length: under 10000, big-endian
	}
	if b[0] == '*' {
		// "*N\r\n$": an array header, then its first bulk string.
		i := 1
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		rest := b[i:]
		return i > 1 && len(rest) < 3 && string(rest) == "\r\n$"[:len(rest)] || i == 1 && len(b) == 1
	}
	return false
}

// mayBeH2Settings reports whether a callee's first bytes, fewer than a
// frame header, may be the start of an HTTP/2 SETTINGS frame.
func mayBeH2Settings(b []byte) bool {
	// length (3 bytes), type SETTINGS, flags 0, stream 0 (4 bytes)
	return len(b) < 9 && (len(b) < 4 || b[3] == byte(http2.FrameSettings)) && (len(b) < 5 || bytes.Count(b[4:], []byte{0}) == len(b)-4)
}

// httpMethods start the request lines the wire decodes.
var httpMethods = [...]string{"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// looksLikeHTTP: the start of an HTTP/1.x request line: a common
// method's, or, once its whole line has come, any method's (WebDAV's
// PROPFIND, a cache's PURGE: RFC 9110 §9 lets a method be any token).
func looksLikeHTTP(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	line, _, whole := bytes.Cut(b, []byte("\n"))
	return whole && requestLine.Match(line)
}

// mayBeRequestLine reports whether b may be the start of a request line
// of any method (looksLikeHTTP tells once it is whole).
func mayBeRequestLine(b []byte) bool {
	line, _, whole := bytes.Cut(b, []byte("\n"))
	if whole {
		return requestLine.Match(line)
	}
	return len(b) < maxHead && requestLineStart.Match(b)
}

var (
	// requestLine is a request line of any method token (upper case, as
	// methods are in practice), whose target has no spaces.
	requestLine = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{0,23} [!-~]+ HTTP/1\.[01]\r?$`)
	// requestLineStart is the start of one, not yet whole.
	requestLineStart = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{0,23}(?: [!-~]*(?: H(?:T(?:T(?:P(?:/(?:1(?:\.(?:[01]\r?)?)?)?)?)?)?)?)?)?$`)
)

// head is what frames one message.
type head struct {
	method, target string // requests
	status         int    // responses
	reason         string
	length         int64 // -1: none given
	chunked        bool
	untilClose     bool   // a response body without framing: to the end of the connection
	interim        bool   // a 1xx answer
	upgrade        string // the Upgrade header, lower-case
	header         string // the header lines as sent (up to maxHeaderKept bytes), for the reports
	gzip           bool   // the body is gzip (Content-Encoding): kept inflated
	done           bool   // set when the whole message has been seen
	size           int64  // the body's bytes so far, as sent (take)
	bodyStart
}

// bodyStart is the start of a body, as an interaction keeps it.
type bodyStart struct {
	body []byte
	cut  bool // the body was longer than what is kept
}

// maxBodyKept is how much of each body an interaction keeps, for the
// interactions step to look into.
const maxBodyKept = 4 << 10

// maxHeaderKept is how much of each message's header lines an
// interaction keeps, for the reports to show.
const maxHeaderKept = 4 << 10

// bodyKept is the start of h's body as an interaction keeps it, and
// whether the body is longer: a gzip body (Content-Encoding) inflated,
// as far as the start kept of it goes, up to maxBodyKept bytes; as it
// came when it does not inflate.
func (h *head) bodyKept() ([]byte, bool) {
	if !h.gzip || len(h.body) == 0 {
		return h.body, h.cut
	}
	zr, err := gzip.NewReader(bytes.NewReader(h.body))
	if err != nil {
		return h.body, h.cut
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxBodyKept+1))
	switch {
	case len(out) == 0:
		return h.body, h.cut
	case len(out) > maxBodyKept:
		return out[:maxBodyKept], true
	}
	return out, h.cut || err != nil
}

// take counts the next bytes of a message's body and keeps their start.
func (h *head) take(b []byte) {
	h.size += int64(len(b))
	h.keep(b)
}

// keep keeps the start of a body.
func (h *bodyStart) keep(b []byte) {
	if room := maxBodyKept - len(h.body); room > 0 {
		h.body = append(h.body, b[:min(len(b), room)]...)
		if len(b) > room {
			h.cut = true
		}
	} else if len(b) > 0 {
		h.cut = true
	}
}

type readState int

const (
	inHead readState = iota
	inBody
	inChunkSize
	inChunkData
	inChunkEnd
	inTrailers
)

// maxHead bounds the start line and headers kept while reading them.
const maxHead = 64 << 10

// reader reads one direction's messages incrementally.
type reader struct {
	request   bool
	state     readState
	line      []byte // the head so far, or a chunk-size or trailer line
	h         head
	left      int64 // body or chunk bytes still to come
	stopAtEnd bool  // feedN: stop at the end of a message
	ended     bool  // feedN: a message ended
	// why is what the reader could not read, once it stopped ("": its
	// callback stopped it).
	why string
}

// stop records why the reader stops reading.
func (r *reader) stop(why string) bool {
	r.why = why
	return false
}

// side names what a reader reads, for what it says.
func (r *reader) side() string {
	if r.request {
		return "request"
	}
	return "response"
}

// feedN reads at most one message from b: it returns how many bytes it
// took (all of b, or up to the end of the message, when ended is set),
// and 0 when b is not HTTP it follows.
func (r *reader) feedN(b []byte, on func(*head) bool) int {
	r.stopAtEnd, r.ended = true, false
	rest, ok := r.feedRest(b, on)
	if !ok {
		return 0
	}
	return len(b) - len(rest)
}

// feed takes the next bytes; at the end of a head and of a message it
// calls on. It returns false when the stream is not HTTP it understands
// (or on returned false): decoding stops there.
func (r *reader) feed(b []byte, on func(*head) bool) bool {
	_, ok := r.feedRest(b, on)
	return ok
}

func (r *reader) feedRest(b []byte, on func(*head) bool) ([]byte, bool) {
	for len(b) > 0 && !(r.stopAtEnd && r.ended) {
		switch r.state {
		case inHead:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				r.line = append(r.line, b...)
				if len(r.line) > maxHead {
					return b, r.stop("a " + r.side() + " head over 64 KiB")
				}
				return nil, true
			}
			r.line = append(r.line, b[:i+1]...)
			b = b[i+1:]
			if !bytes.HasSuffix(r.line, []byte("\n\r\n")) && !bytes.HasSuffix(r.line, []byte("\n\n")) {
				if len(r.line) > maxHead {
					return b, r.stop("a " + r.side() + " head over 64 KiB")
				}
				continue
			}
			h, ok := parseHead(r.line, r.request)
			if !ok {
				first, _, _ := bytes.Cut(r.line, []byte("\n"))
				r.line = r.line[:0]
				return b, r.stop(fmt.Sprintf("a %s that is not HTTP/1.x: %q", r.side(), oneLine(string(bytes.TrimRight(first, "\r")), 60)))
			}
			r.line = r.line[:0]
			r.h = h
			if !on(&r.h) {
				return b, false
			}
			switch {
			case r.h.chunked:
				r.state = inChunkSize
			case r.h.length > 0:
				r.state, r.left = inBody, r.h.length
			case r.h.length < 0 && !r.request && !r.h.interim:
				r.state, r.h.untilClose = inBody, true
			default:
				if !r.finish(on) {
					return b, false
				}
			}
		case inBody:
			if r.h.untilClose {
				r.h.take(b)
				return nil, true // everything to the close is body
			}
			n := min(int64(len(b)), r.left)
			r.h.take(b[:n])
			b, r.left = b[n:], r.left-n
			if r.left == 0 && !r.finish(on) {
				return b, false
			}
		case inChunkSize, inTrailers:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				r.line = append(r.line, b...)
				if len(r.line) > maxHead {
					return nil, r.stop("a chunk size or trailer line over 64 KiB")
				}
				return nil, true
			}
			r.line = append(r.line, b[:i+1]...)
			b = b[i+1:]
			line := bytes.TrimRight(r.line, "\r\n")
			r.line = r.line[:0]
			if r.state == inTrailers {
				if len(line) > 0 {
					// Kept with the headers, as HTTP/2's trailers are.
					r.h.header = withTrailer(r.h.header, line)
				} else if !r.finish(on) {
					return b, false
				}
				continue
			}
			sz, _, _ := bytes.Cut(line, []byte(";"))
			n, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
			if err != nil || n < 0 {
				return b, r.stop(fmt.Sprintf("a bad chunk size %q", oneLine(string(sz), 40)))
			}
			if n == 0 {
				r.state = inTrailers
			} else {
				r.state, r.left = inChunkData, n
			}
		case inChunkData:
			n := min(int64(len(b)), r.left)
			r.h.take(b[:n])
			b, r.left = b[n:], r.left-n
			if r.left == 0 {
				r.state, r.left = inChunkEnd, 2
			}
		case inChunkEnd:
			n := min(int64(len(b)), r.left)
			b, r.left = b[n:], r.left-n
			if r.left == 0 {
				r.state = inChunkSize
			}
		}
	}
	return b, true
}

// finish ends a message and readies the reader for the next.
func (r *reader) finish(on func(*head) bool) bool {
	r.h.done = true
	ok := on(&r.h)
	r.state, r.h, r.ended = inHead, head{}, true
	return ok
}

// parseHead reads a start line and the headers that frame a body.
func parseHead(b []byte, request bool) (head, bool) {
	h := head{length: -1}
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	a, more, ok1 := bytes.Cut(line, []byte(" "))
	m, c, ok2 := bytes.Cut(more, []byte(" "))
	if !ok1 {
		return h, false
	}
	if request {
		if !ok2 || !bytes.HasPrefix(c, []byte("HTTP/1.")) {
			return h, false
		}
		h.method, h.target = string(a), string(m)
	} else {
		if !bytes.HasPrefix(a, []byte("HTTP/1.")) || len(m) != 3 {
			return h, false
		}
		n, err := strconv.Atoi(string(m))
		if err != nil {
			return h, false
		}
		h.status, h.reason = n, string(c)
	}
	h.header = keptHeader(rest)
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		l = bytes.TrimRight(l, "\r")
		if len(l) == 0 {
			break
		}
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return h, false
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return h, false
			}
			h.length = n
		case bytes.EqualFold(k, []byte("Content-Encoding")):
			e := string(bytes.ToLower(v))
			h.gzip = e == "gzip" || e == "x-gzip"
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			h.chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		case bytes.EqualFold(k, []byte("Upgrade")):
			h.upgrade = string(bytes.ToLower(v))
		}
	}
	return h, true
}

// withTrailer adds a trailer line (a chunked body's, "Name: value") to
// header lines kept (keptHeader), within maxHeaderKept as they are: its
// name and size alone when it does not fit, left out when not even that
// does.
func withTrailer(kept string, line []byte) string {
	add := func(l []byte) (string, bool) {
		if len(kept)+len(l)+1 > maxHeaderKept {
			return kept, false
		}
		if kept == "" {
			return string(l), true
		}
		return kept + "\n" + string(l), true
	}
	if out, ok := add(line); ok {
		return out
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	out, _ := add(fmt.Appendf(nil, "%s: (%d bytes, not kept)", name, len(bytes.TrimSpace(value))))
	return out
}

// keptHeader is the header lines of a head (what follows its start line),
// one "Name: value" a line, in maxHeaderKept bytes: one string, so keeping
// them costs one allocation a message. When they do not all fit, a line
// that does not is its name and its size alone (or left out once not even
// that fits): a large one (a cookie, a token) must not hide those after it.
func keptHeader(b []byte) string {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > maxHeaderKept {
		var out []byte
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			if len(out)+len(line)+1 > maxHeaderKept {
				name, value, _ := bytes.Cut(line, []byte(":"))
				line = fmt.Appendf(nil, "%s: (%d bytes, not kept)", name, len(bytes.TrimSpace(value)))
			}
			if len(out)+len(line)+1 > maxHeaderKept {
				continue
			}
			if len(out) > 0 {
				out = append(out, '\n')
			}
			out = append(out, line...)
		}
		return string(out)
	}
	if bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
}
