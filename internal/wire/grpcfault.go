package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/seamtest/seam/internal/grpcstatus"
)

// GRPCFault answers matching gRPC calls in the callee's place with a
// status of its own (a trailers-only response); the callee never sees
// them.
//
// The wire forwards bytes untouched, and HTTP/2 carries many calls on one
// connection, so one call cannot be answered in the callee's place on a
// forwarded connection. While a gRPC fault holds, the edge's proxy serves
// new connections that open with the HTTP/2 preface as an HTTP/2 (h2c)
// server of its own, answering matching calls and forwarding the others
// over HTTP/2 to the callee; connections open when the fault is set are
// drained (drainH2), so that callers reconnect (gRPC clients do so on
// their next call).
type GRPCFault struct {
	Method  string // "/pkg.Service/Method"; * matches within a segment; "" matches any
	Code    int    // the grpc-status answered; not 0 (OK)
	Message string // the grpc-message
}

func (g *GRPCFault) matches(p string) bool {
	if g.Method == "" || g.Method == p {
		return true
	}
	ok, _ := path.Match(g.Method, p)
	return ok
}

func (g *GRPCFault) String() string {
	what := g.Method
	if what == "" {
		what = "every gRPC call"
	}
	return fmt.Sprintf("answer %s with %s", what, GRPCCodeName(g.Code))
}

// drainGrace is how long a drained connection stays open for the caller
// to read the GOAWAY and close it itself.
const drainGrace = 2 * time.Second

// drainH2 sends a GOAWAY to the caller on each forwarded HTTP/2
// connection, whose last stream is the highest the caller opened: the
// calls in flight go on to the callee, and the caller's next calls go on
// a new connection, which the proxy's own HTTP/2 server serves. A call
// the caller began before it read the GOAWAY (a higher stream) is dropped
// whole, frame by frame, so the callee never sees it; gRPC clients retry
// such calls on a new connection. When the callee is inside a frame, the
// GOAWAY waits for the end of its chunk (tryDrain, from its forwarding).
func (p *Proxy) drainH2() {
	p.mu.Lock()
	states := map[*connState]bool{}
	for _, st := range p.conns {
		if !st.front.Load() {
			states[st] = true
		}
	}
	p.mu.Unlock()
	for st := range states {
		st.drainWanted.Store(true)
		// The caller's next streams are dropped from now on, even if the
		// GOAWAY that tells it so must wait: a call made once the fault
		// is set never reaches the callee.
		if d := st.dec.Load(); d != nil {
			d.h2Drain(true)
		}
		// Not waiting for a chunk being written (to a caller that may not
		// read): its forwarding tries again once it is written.
		if st.wmu.TryLock() {
			p.drainLocked(st)
			st.wmu.Unlock()
		}
	}
}

// tryDrain sends a connection its GOAWAY if it is wanted and can be sent
// now; a connection that is not HTTP/2 is left alone.
func (p *Proxy) tryDrain(st *connState) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	p.drainLocked(st)
	p.refuseLocked(st)
}

// refuseLocked sends the caller an RST_STREAM REFUSED_STREAM for each
// stream the drain refused, once its GOAWAY went and while the callee is
// between frames (st.wmu held): without it a caller that opened a stream
// before it read the GOAWAY learns that it was not processed only from
// the GOAWAY's last stream, which some (curl 7.88) take as an error
// rather than a call to retry.
func (p *Proxy) refuseLocked(st *connState) {
	if !st.refuseWanted.Load() || st.client == nil {
		return
	}
	d := st.dec.Load()
	if d == nil {
		return
	}
	ids := d.h2TakeRefused()
	if len(ids) == 0 {
		return
	}
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	for _, id := range ids {
		fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	}
	st.client.Write(b.Bytes())
}

// drainLocked is tryDrain with st.wmu held.
func (p *Proxy) drainLocked(st *connState) {
	if !st.drainWanted.Load() {
		return
	}
	d := st.dec.Load()
	if d == nil || st.client == nil {
		return
	}
	// A fault cleared before its drain began needs none; once begun, the
	// GOAWAY must go, or the calls dropped would wait for ever.
	begin := p.faults.get().answersH2()
	last, now, started, never := d.h2Drain(begin)
	if never || !started && !begin {
		st.drainWanted.Store(false)
		return
	}
	if !started || !now {
		return // not HTTP/2 yet, or the callee inside a frame: after its next chunk
	}
	st.drainWanted.Store(false)
	http2.NewFramer(st.client, nil).WriteGoAway(last, http2.ErrCodeNo, []byte("seam: a fault"))
	d.h2GoawaySent()
	c := st.client
	start := time.Now()
	// In the timeline, as the caller's GOAWAY is: why its next calls go
	// on a new connection.
	in := Interaction{Edge: p.Edge, Protocol: "http2", Op: "connection", Start: start, End: start, Injected: true,
		Result: "GOAWAY from the wire: a fault drains the connection (the caller's next calls go on a new one)",
		Note:   fmt.Sprintf("(last stream %d)", last)}
	in.GRPCStatus = -1
	p.emit(in)
	var closeLater func()
	closeLater = func() {
		// The calls in flight end first (a long stream: at most
		// maxDrainWait); the caller has closed the connection itself by
		// then, most often.
		if d.h2InFlight() > 0 && time.Since(start) < maxDrainWait {
			time.AfterFunc(drainGrace, closeLater)
			return
		}
		st.cutBy("drained by a fault")
		c.Close()
	}
	time.AfterFunc(drainGrace, closeLater)
}

// maxDrainWait bounds how long a drained connection stays open for its
// calls in flight.
const maxDrainWait = 30 * time.Second

// h2Drain starts dropping the caller's new streams (h2Conn.startFilter)
// if the connection is decoded as HTTP/2 and begin is set or the drain
// began before; now: the callee is between frames, so the GOAWAY (with
// last) may go; never: the connection is not HTTP/2, and will not be.
func (d *decoder) h2Drain(begin bool) (last uint32, now, started, never bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.mode == undecided:
		// No bytes yet: the callee's or the caller's first tell, and the
		// drain begins then.
		d.drainOnH2 = begin
		return 0, false, false, false
	case d.mode != decodingH2 || d.h2 == nil || d.h2.broken:
		return 0, false, false, true
	case !begin && !d.h2.draining:
		return 0, false, false, false
	}
	last = d.h2.startFilter()
	return last, d.h2.serverBetweenFrames(), true, false
}

// h2GoawaySent notes that the drain's GOAWAY went: RST_STREAM frames for
// the streams it refused may follow.
func (d *decoder) h2GoawaySent() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h2 != nil {
		d.h2.goaway = true
	}
}

// h2TakeRefused is the streams refused whose RST_STREAM may go now (the
// GOAWAY went, the callee is between frames), forgotten as taken; none
// while they must wait, and refuseWanted stays set for the next try.
func (d *decoder) h2TakeRefused() []uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.h2
	if c != nil && !c.broken && (!c.goaway || !c.serverBetweenFrames()) {
		return nil
	}
	if d.refuseWanted != nil {
		d.refuseWanted.Store(false)
	}
	if c == nil || c.broken {
		return nil
	}
	ids := c.refuse
	c.refuse = nil
	return ids
}

// h2InFlight is how many calls are in flight on an HTTP/2 connection.
func (d *decoder) h2InFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h2 == nil {
		return 0
	}
	return len(d.h2.streams)
}

// prefaceWait bounds how long a new connection is watched for the HTTP/2
// preface while a gRPC (or HTTP) fault holds: a protocol whose server speaks first
// (MySQL) sends nothing, and is forwarded after it.
const prefaceWait = 300 * time.Millisecond

// maxFaultBody bounds what is read of a call answered in the callee's
// place before the answer (the request is discarded).
const maxFaultBody = 1 << 20

// h2Front is a proxy's HTTP/2 server and client for connections served
// while a gRPC fault, or an HTTP fault that answers, holds (HTTP/2 carries
// many requests on a connection, so one cannot be answered in the
// callee's place on a forwarded one).
type h2Front struct {
	p   *Proxy
	srv *http2.Server
	tr  *http2.Transport
}

func newH2Front(p *Proxy) *h2Front {
	return &h2Front{p: p, srv: &http2.Server{}, tr: &http2.Transport{
		AllowHTTP: true, // h2c: the callee speaks plaintext HTTP/2
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// front is the proxy's h2Front, made on first use.
func (p *Proxy) front() *h2Front {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.h2 == nil {
		p.h2 = newH2Front(p)
	}
	return p.h2
}

// serveFaulted serves a connection accepted while a fault answers HTTP/2
// requests: as HTTP/2 when it opens with the preface, else forwarded as
// any other.
func (p *Proxy) serveFaulted(c net.Conn, st *connState) {
	pre := make([]byte, len(h2Preface))
	c.SetReadDeadline(time.Now().Add(prefaceWait))
	n := 0
	for n < len(pre) {
		// Until the bytes differ from the preface: a short HTTP/1 request
		// or a Redis PING is forwarded at once, not after prefaceWait.
		k, err := c.Read(pre[n:])
		n += k
		if err != nil || string(pre[:n]) != h2Preface[:n] {
			break
		}
	}
	c.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: c, pre: pre[:n]}
	if n < len(pre) || string(pre) != h2Preface {
		if string(pre[:n]) == h2Preface[:n] {
			// Silent past prefaceWait, or a preface still coming: if
			// it turns out HTTP/2, it is drained from its first stream.
			st.drainWanted.Store(true)
		}
		p.serve(rc, st)
		return
	}
	st.front.Store(true)
	defer c.Close()
	fr := p.front()
	// Protocol errors end the connection; they are not seam's to log.
	fr.srv.ServeConn(&shapedConn{Conn: rc, p: p, st: st}, &http2.ServeConnOpts{Handler: fr, BaseConfig: &http.Server{ErrorLog: log.New(io.Discard, "", 0)},
		Context: context.WithValue(context.Background(), frontConn{}, st)})
	// ServeConn does not wait for its handlers: with the connection gone
	// their contexts end, and they report what they held, before this
	// goroutine (which Close waits for) ends. One that starts from now on
	// reports nothing (set first: a handler counts itself, then looks).
	st.frontDone.Store(true)
	for start := time.Now(); st.handlers.Load() > 0 && time.Since(start) < drainGrace; {
		time.Sleep(time.Millisecond)
	}
}

// shapedConn is a connection the h2Front serves, shaped by the faults
// that act on a stream's bytes as the wire's forwarding shapes a
// forwarded one: bandwidth (each way, Toxiproxy's way: sleepDebt) and
// close_after (both ways together). Its reads are the caller's bytes, its
// writes what goes back to the caller (the HTTP/2 server reads and writes
// from one goroutine each).
type shapedConn struct {
	net.Conn
	p        *Proxy
	st       *connState
	up, down sleepDebt
	sent     atomicCounter
}

func (c *shapedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n == 0 {
		return n, err
	}
	k, cut, ok := c.shape(&c.up, n)
	if !ok {
		return 0, net.ErrClosed
	}
	if cut {
		c.cut()
		return k, nil // the next read finds the connection closed
	}
	return n, err
}

func (c *shapedConn) Write(b []byte) (int, error) {
	k, cut, ok := c.shape(&c.down, len(b))
	if !ok {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Write(b[:k])
	if cut {
		c.cut()
		return n, net.ErrClosed
	}
	return n, err
}

// shape is how many of n bytes may pass now (after their bandwidth's
// wait), and whether the connection is cut after them; ok false: the
// connection ended during the wait.
func (c *shapedConn) shape(debt *sleepDebt, n int) (k int, cut, ok bool) {
	f := c.p.faults.get()
	k = n
	if f.CloseAfter > 0 {
		var taken int64
		taken, cut = c.sent.take(int64(n), f.CloseAfter)
		k = int(taken)
	}
	if f.Bandwidth > 0 && !debt.wait(c.st, k, f.Bandwidth) {
		return 0, false, false
	}
	return k, cut, true
}

func (c *shapedConn) cut() {
	c.st.cutBy(fmt.Sprintf("closed by a fault after %d bytes", c.p.faults.get().CloseAfter))
	c.Conn.Close()
}

// replayConn gives back the bytes read from a connection to look at it.
type replayConn struct {
	net.Conn
	mu  sync.Mutex
	pre []byte
}

// CloseWrite half-closes the connection underneath (closeWrite).
func (r *replayConn) CloseWrite() error {
	closeWrite(r.Conn)
	return nil
}

func (r *replayConn) Read(b []byte) (int, error) {
	r.mu.Lock()
	if len(r.pre) > 0 {
		n := copy(b, r.pre)
		r.pre = r.pre[n:]
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	return r.Conn.Read(b)
}

// ServeHTTP answers one HTTP/2 stream: in the callee's place when the
// fault matches it, else by forwarding it to the callee; either way it is
// recorded as the decoder records a stream.
func (fr *h2Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(frontConn{}).(*connState)
	if st != nil {
		st.handlers.Add(1)
		defer st.handlers.Add(-1)
		if st.frontDone.Load() {
			return // the connection is gone, and what it served reported
		}
	}
	p := fr.p
	in := Interaction{Edge: p.Edge, Protocol: "http2", Method: r.Method, Target: r.URL.Path, Start: time.Now()}
	in.GRPCStatus = -1
	isGRPC := strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
	if isGRPC {
		in.Protocol, in.Op = "grpc", "GRPC "+r.URL.Path
	} else {
		// The whole :path, query included, as the decoder records it
		// (emit masks secrets in it).
		in.Target = r.RequestURI
		in.Op = r.Method + " " + in.Target
	}
	defer func() {
		in.End = time.Now()
		// The header fields each way, as the decoder keeps them: the
		// caller's, and what it was answered (trailers after).
		in.reqFields = fitFields(nil, headerFields(r.Header))
		in.respFields = fitFields(nil, headerFields(w.Header()))
		if isGRPC {
			switch {
			case in.GRPCStatus >= 0:
				in.Result = GRPCCodeName(in.GRPCStatus)
				if in.GRPCMessage != "" {
					in.Result += ": " + in.GRPCMessage
				}
				in.Suspicious = in.GRPCStatus != 0
			case in.Result == "":
				in.Result, in.Suspicious = "no grpc-status", true
			}
		} else if in.Result == "" {
			in.Result = fmt.Sprintf("%d %s", in.Status, httpStatusText(in.Status))
			in.Suspicious = in.Status >= 500
		}
		p.emit(in)
	}()
	if g := p.faults.get().GRPC; g != nil && isGRPC && g.matches(r.URL.Path) {
		body := &countReader{r: r.Body}
		body.g.encoding = r.Header.Get("Grpc-Encoding")
		io.Copy(io.Discard, io.LimitReader(body, maxFaultBody))
		var req grpcFrames
		in.RequestSize, req, _ = body.seen()
		in.RequestMessages = req.count
		p.grpcBodies(&in, &req, &grpcFrames{}, nil)
		in.Note = grpcNote("", in)
		h := w.Header()
		h.Set("Content-Type", "application/grpc")
		h.Set("Grpc-Status", strconv.Itoa(g.Code))
		if g.Message != "" {
			h.Set("Grpc-Message", grpcstatus.PercentEncode(g.Message))
		}
		w.WriteHeader(http.StatusOK) // no body: the headers end the stream (trailers-only)
		in.Status, in.GRPCStatus, in.GRPCMessage, in.Injected = http.StatusOK, g.Code, g.Message, true
		return
	}
	if h := p.faults.get().HTTP; h != nil && h.Status != 0 && h.matches(r.Method, r.RequestURI) {
		// An HTTP fault, as the wire's gate answers HTTP/1 requests; a
		// gRPC call it matches too (a proxy in front of the callee that
		// fails so: its caller says UNAVAILABLE, or what the status maps to).
		req := &countReader{r: r.Body, keepHead: !isGRPC}
		io.Copy(io.Discard, io.LimitReader(req, maxFaultBody))
		body := h.body()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Seam-Fault", "injected")
		w.WriteHeader(h.Status)
		io.WriteString(w, body)
		var head, answer bodyStart
		in.RequestSize, _, head = req.seen()
		answer.keep([]byte(body))
		in.RequestBody, in.reqCut, in.ResponseBody, in.respCut = head.body, head.cut, answer.body, answer.cut
		in.Status, in.ResponseSize, in.Injected, in.Note = h.Status, int64(len(body)), true, InjectedNote
		in.Result, in.Suspicious = fmt.Sprintf("%d %s", h.Status, httpStatusText(h.Status)), h.Status >= 400
		return
	}
	f := p.faults.get()
	if f.Blackhole {
		// Held with the gRPC or HTTP fault beside it, as the wire holds
		// what it swallows: no answer until the caller gives up or the
		// blackhole is lifted (liftBlackhole closes the connection).
		fr.swallow(r, st, &in)
		return
	}
	var slow time.Duration
	if h := f.HTTP; h != nil && h.Status == 0 && h.Slow > 0 && h.matches(r.Method, r.RequestURI) {
		slow = h.Slow
	}
	fr.forward(w, r, &in, slow)
}

// headerFields is h as HTTP/2 header fields, names in lower case and in
// order, a value a field; trailers (names with http.TrailerPrefix, as a
// handler sets them) last.
func headerFields(h http.Header) []hpack.HeaderField {
	var head, trail []hpack.HeaderField
	for _, k := range slices.Sorted(maps.Keys(h)) {
		name, isTrailer := strings.CutPrefix(k, http.TrailerPrefix)
		name = strings.ToLower(name)
		for _, v := range h[k] {
			if isTrailer {
				trail = append(trail, hpack.HeaderField{Name: name, Value: v})
			} else if name != "trailer" {
				head = append(head, hpack.HeaderField{Name: name, Value: v})
			}
		}
	}
	return append(head, trail...)
}

// frontConn is the context key of the connState of a connection the
// h2Front serves.
type frontConn struct{}

// swallow holds a call a blackhole swallows on a connection the h2Front
// serves (st; nil: not known): the callee never sees it, the caller gets
// no answer.
func (fr *h2Front) swallow(r *http.Request, st *connState, in *Interaction) {
	if st != nil {
		fr.p.hold(st)
	}
	// All of it, as the wire's blackhole takes every byte: a body left
	// unread would hold the connection's flow-control window, and the
	// calls the fault answers on it would wait behind it.
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
	in.Injected, in.Suspicious = true, true
	if st != nil && st.cutReason() != "" {
		in.Result = "no answer (a blackhole fault swallowed the call; " + st.cutReason() + ")"
		return
	}
	fr.p.mu.Lock()
	closed := fr.p.closed
	fr.p.mu.Unlock()
	if closed {
		in.Result = "no answer (a blackhole fault swallowed the call; the wire closed as the run ended)"
		return
	}
	in.Result = "no answer: caller closed after " + secs(time.Since(in.Start)) + " (a blackhole fault swallowed the call)"
}

// forward sends the stream on to the callee and its answer back, message
// by message, trailers last.
func (fr *h2Front) forward(w http.ResponseWriter, r *http.Request, in *Interaction, slow time.Duration) {
	// hold holds the answer's next part (its headers, then each chunk of
	// its body) until at: false when the caller left meanwhile.
	hold := func(at time.Time) bool {
		wait := time.Until(at)
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			callerGone(in)
			return false
		}
	}
	// due is when a part of the answer that arrived at got may go on: a
	// latency fault beside the gRPC or HTTP one delays each from its
	// arrival, as the wire does (the body is read ahead meanwhile, so the
	// delays do not add up); an HTTP slow fault holds each part for its
	// whole duration once its turn comes.
	due := func(got time.Time) time.Time {
		at := got.Add(fr.p.faults.delay(fr.p.faults.get()))
		if slow > 0 {
			at = time.Now().Add(slow + max(time.Until(at), 0))
		}
		return at
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = "http", fr.p.target, ""
	isGRPC := in.Protocol == "grpc"
	body := &countReader{r: r.Body, keepHead: !isGRPC}
	body.g.encoding = r.Header.Get("Grpc-Encoding")
	out.Body = body
	var answer grpcFrames
	var answerHead bodyStart // an HTTP answer's start, as the decoder keeps it
	defer func() {
		var req grpcFrames
		var head bodyStart
		in.RequestSize, req, head = body.seen()
		if isGRPC {
			in.RequestMessages, in.ResponseMessages = req.count, answer.count
			fr.p.grpcBodies(in, &req, &answer, nil)
			in.Note = grpcNote(in.Note, *in)
		} else {
			in.RequestBody, in.reqCut, in.ResponseBody, in.respCut = head.body, head.cut, answerHead.body, answerHead.cut
		}
	}()
	resp, err := fr.tr.RoundTrip(out)
	if err != nil {
		in.Result, in.Suspicious = "no answer: "+errText(err), true
		if r.Context().Err() != nil {
			callerGone(in)
			return
		}
		why := "seam's wire could not reach the callee: " + errText(err)
		if !isGRPC {
			// As a proxy answers that cannot reach its upstream.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, why+"\n")
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "14") // UNAVAILABLE, as a client that cannot reach the callee says
		w.Header().Set("Grpc-Message", grpcstatus.PercentEncode(why))
		w.WriteHeader(http.StatusOK)
		return
	}
	defer resp.Body.Close()
	answer.encoding = resp.Header.Get("Grpc-Encoding")
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	in.Status = resp.StatusCode
	gotHead := time.Now()
	chunks := fr.p.readAhead(resp.Body, r.Context().Done())
	if !hold(due(gotHead)) {
		return
	}
	w.WriteHeader(resp.StatusCode)
	fl, _ := w.(http.Flusher)
	for n := 0; ; n++ {
		c, ok := <-chunks
		if !ok {
			callerGone(in)
			return
		}
		if len(c.b) > 0 {
			in.ResponseSize += int64(len(c.b))
			if isGRPC {
				answer.feed(c.b)
			} else {
				answerHead.keep(c.b)
			}
			// The headers' hold covers a first chunk that came with them
			// (a small answer comes in one write, as over HTTP/1): one
			// that was there as soon as it was asked for.
			if (n > 0 || c.at.Sub(c.asked) > time.Millisecond) && !hold(due(c.at)) {
				return
			}
			if _, werr := w.Write(c.b); werr != nil {
				callerGone(in)
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if errors.Is(c.err, io.EOF) {
			break
		}
		if c.err != nil {
			in.Result, in.Suspicious = "cut: "+errText(c.err), true
			if r.Context().Err() != nil {
				// The caller reset the call (its deadline, a cancel), not
				// the callee or a fault.
				callerGone(in)
			}
			return
		}
	}
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			w.Header().Add(http.TrailerPrefix+k, v)
		}
	}
	st := resp.Trailer.Get("Grpc-Status")
	msg := resp.Trailer.Get("Grpc-Message")
	if st == "" { // trailers-only
		st, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if n, err := strconv.Atoi(st); err == nil {
		in.GRPCStatus, in.GRPCMessage = n, statusMessage(n, grpcstatus.PercentDecode(msg))
	}
}

// callerGone tells of a call the proxy's own HTTP/2 server forwarded whose
// caller left before its answer was through: it reset the stream (its
// deadline, a cancel) or closed the connection (the server cannot say
// which).
func callerGone(in *Interaction) {
	in.Result, in.Suspicious = "no answer: caller gave up after "+secs(time.Since(in.Start)), true
}

// countReader counts the request's bytes and reads its gRPC messages, or
// keeps its start (keepHead: an HTTP request's); the transport reads it on
// a goroutine of its own.
type countReader struct {
	r        io.ReadCloser
	keepHead bool
	mu       sync.Mutex
	n        int64
	g        grpcFrames
	head     bodyStart
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.mu.Lock()
	c.n += int64(n)
	if c.keepHead {
		c.head.keep(b[:n])
	} else {
		c.g.feed(b[:n])
	}
	c.mu.Unlock()
	return n, err
}

// seen is what was read so far: its size, its gRPC messages and its start.
func (c *countReader) seen() (int64, grpcFrames, bodyStart) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.g, c.head
}

func (c *countReader) Close() error { return c.r.Close() }
