// Package wire is seam's proxy on the edges between components: A is given
// the proxy's address for B, the proxy forwards every byte unchanged, and
// incremental decoders read each chunk as it passes (in the forwarding
// goroutine, keeping no copies) and turn it into interactions: HTTP
// exchanges, PostgreSQL queries, Redis commands; for protocols they do not
// know, a connection and its bytes. Decoding never changes the traffic:
// when it does not understand, it stops and the bytes still flow. Faults
// (faults.go) act on the same chunks, and a Toxiproxy-compatible API
// (toxiapi.go) sets them.
package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/crash"
)

// Interaction is one thing that happened on an edge.
type Interaction struct {
	Edge       string // "orders→inventory"
	Port       string // the callee's port it crossed, by name ("http", "grpc"); "" when unnamed
	Protocol   string // http, http2, grpc, postgres, redis, tcp, fault
	Op         string // "POST /reserve", "connection"
	Result     string // "200 OK", "closed", "reset"
	Start, End time.Time
	Suspicious bool // an error answer, a reset, a cut, no answer
	// Injected: a fault of seam's made this (an answer given in the
	// callee's place, a connection it cut, a request it swallowed), so it
	// says nothing about the callee.
	Injected bool
	// InFlight: the call had not ended when this was read (Proxy.InFlight);
	// End is then when it was read. It is told again when it ends.
	InFlight bool
	Note     string
	// HTTP: the request's method and target, the response's status, and
	// the start of each body (up to 4 KiB). PostgreSQL: Method "SQL",
	// Target the statement. Redis: Method "REDIS", Target "GET key".
	Method, Target            string
	Status                    int
	RequestBody, ResponseBody []byte
	// HTTP: the header lines each way as seen (HTTP/2 keeps its fields:
	// h2Fields), read masked through Headers.
	reqHeader, respHeader string
	headerMask            *Masker
	reqCut, respCut       bool // a body was longer than the start kept
	// PostgreSQL and MySQL: the statement's parameters (Params' form),
	// masked; Note shows their start.
	params []string
	// Redis: the command (upper case) and the first key it names ("" for
	// commands without keys, and AUTH and HELLO, whose arguments are secret).
	Command, Key string
	h2Fields     // HTTP/2 and gRPC (h2.go)
}

// Params are an SQL statement's parameters, masked, each the exact JSON
// text of its value ("\"apple\"", "1", "9007199254740993", "2.5",
// "true", "null") or a description that is no JSON ("<long data>",
// "<16 bytes>" for a binary type the wire does not read, MariaDB's DEFAULT
// and IGNORE); nil when there are none or all were masked. All of them, as
// far as the wire keeps the message that carries them (the first MiB of
// PostgreSQL's Bind, the first 64 KiB of MySQL's COM_STMT_EXECUTE); a list
// cut there ends in "…". Note shows the first 8 of them, text cut to 40
// characters.
func (i Interaction) Params() []string { return i.params }

// Event reports whether i is an event of an edge rather than a call on it:
// a fault set or cleared (protocol fault), or what happened to a
// connection (Op "connection": a reset, a close with calls in flight,
// decoding that stopped, a stream refused). A timeline shows both; a
// count of calls (interactions: steps, Env.Interactions) only asks for
// events when it asks for a result.
func (i Interaction) Event() bool { return i.Protocol == "fault" || i.Op == "connection" }

// Line renders an interaction for a timeline.
func (i Interaction) Line() string {
	// A long target (an 8 KB query string) is cut, as SQL is: the line
	// is for reading; Target keeps it whole.
	op := i.Op
	if len(op) > maxOpLine {
		op = oneLine(op, maxOpLine)
	}
	s := fmt.Sprintf("%s → %s (%s)", op, i.Result, fmtDuration(i.End.Sub(i.Start)))
	if i.Note != "" {
		s += " " + i.Note
	}
	if i.Injected && !strings.Contains(i.Note, InjectedNote) {
		s += " " + InjectedNote
	}
	if i.Suspicious {
		s += " " + SuspiciousMark
	}
	return lineSafe(s)
}

// maxOpLine is how much of an operation a line shows (runes).
const maxOpLine = 240

// SuspiciousMark ends the line of an interaction that looks like a fault.
const SuspiciousMark = "⚠"

// InjectedNote marks the line of an interaction a fault of seam's made;
// coverage reads it (from saved logs too) to count such answers apart.
const InjectedNote = "(injected by a fault)"

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

// Proxy forwards one edge's connections to a target and reports what it
// sees.
type Proxy struct {
	crash  *crash.Handler // the panics of its goroutines (nil: they end the process)
	Edge   string
	Port   string // the callee's port, by name; "" for an unnamed one
	name   string // for Toxiproxy's API: Name
	target string
	addr   string
	report func(Interaction)

	wg     sync.WaitGroup
	mu     sync.Mutex
	ln     net.Listener // nil while a refuse fault holds: the port is closed
	conns  map[net.Conn]*connState
	closed bool
	faults faultState
	h2     *h2Front // serves connections while a gRPC fault holds (grpcfault.go)
	masker atomic.Pointer[Masker]
	grpc   grpcTypes     // to show gRPC messages as JSON (grpc.go)
	serial atomic.Uint64 // connections accepted
	// Set through Toxiproxy's API (toxiapi.go), apart from the faults of
	// the suite's steps, so that neither clears the other.
	toxics   atomic.Pointer[Toxics]
	disabled atomic.Bool
	// pgBackends: the PostgreSQL connections on the edge by their
	// backend's process ID (uint32 → *pgConn), which a cancel request,
	// made on a connection of its own, names.
	pgBackends sync.Map
	// gone: the local ports of connections that ended, when (Upstream);
	// under mu.
	gone map[int]time.Time
	// noBlockMemo: HPACK reads every header block (blockMemo off), for
	// tests that check what the memo gives against HPACK.
	noBlockMemo bool
}

// connState is what a proxied connection's two directions share.
type connState struct {
	cut        atomic.Pointer[string] // why a fault of seam's cut it
	calleeGone atomic.Bool            // the callee ended its side first
	dec        atomic.Pointer[decoder]
	front      atomic.Bool // served by the proxy's own HTTP/2 server (a gRPC or HTTP fault)
	// handlers is how many calls that server is handling on it: they
	// end, and are reported, before the connection's goroutine does.
	handlers  atomic.Int32
	frontDone atomic.Bool // the server is done with it: late handlers report nothing
	// A gRPC fault drains an HTTP/2 connection (grpcfault.go): a GOAWAY
	// goes to the caller (between the callee's frames: wmu holds the
	// caller's side while a chunk is decoded and written), and the frames
	// of the streams the caller opens after are dropped. drainWanted: the
	// GOAWAY is still to be sent (the callee was inside a frame).
	client      net.Conn
	wmu         sync.Mutex
	drainWanted atomic.Bool
	// refuseWanted: RST_STREAM frames for streams the drain refused wait
	// to go to the caller (refuseLocked), after the GOAWAY, between the
	// callee's frames.
	refuseWanted atomic.Bool
	// Bytes forwarded each way, and how many of them the last Flush told
	// of (for connections whose protocol is not decoded).
	up, down         atomic.Int64
	toldUp, toldDown int64
	// Toxiproxy's toxics (toxics.go): the connection's number (for
	// toxicity rolls), the toxics there as it opened, the rolls made, the
	// timeout toxics' timers; done closes as the connection ends.
	swallowed atomic.Bool // a blackhole fault swallowed some of its data
	serial    uint64
	startIDs  []uint64
	tmu       sync.Mutex
	rolls     map[uint64]bool
	timers    []*time.Timer
	done      chan struct{}
	doneOnce  sync.Once
	// ending: one side of the connection has ended, so what it carried
	// is about to be reported (a call a cut left without an answer is
	// told when both sides have ended); reported closes once it is
	// (settle waits for it).
	ending   atomic.Bool
	reported chan struct{}
	// busy is how many chunks read from the connection's two sides are
	// being forwarded now (Flush waits for them).
	busy atomic.Int32
	// left closes when the caller ends its side before the callee
	// (callerEnded), at leftAt (Unix nanoseconds): a hold of the callee's
	// bytes for it ends then (hold). upHeld is what holds the caller's
	// bytes now (a holder; 0: nothing does).
	left     chan struct{}
	caller   net.Conn // the caller's connection, as accepted
	leftOnce sync.Once
	leftAt   atomic.Int64
	upHeld   atomic.Int32
}

// askedClose is the cut of a connection a fault answered a request on
// that asked for the connection to end.
const askedClose = "closed after a fault's answer, as the request asked (HTTP/1.0, Connection: close or Expect: 100-continue)"

func (c *connState) cutBy(why string) {
	c.cut.CompareAndSwap(nil, &why)
}

func (c *connState) cutReason() string {
	if p := c.cut.Load(); p != nil {
		return *p
	}
	return ""
}

// Listen starts a proxy on a free loopback port for edge, forwarding to
// target (host:port); report hears of every interaction.
func Listen(edge, target string, report func(Interaction)) (*Proxy, error) {
	return ListenAt("127.0.0.1:0", edge, target, report)
}

// ListenAt is Listen on a given address.
func ListenAt(addr, edge, target string, report func(Interaction)) (*Proxy, error) {
	return listen(nil, addr, edge, "", edge, target, report)
}

// listen starts a proxy whose goroutines' panics go to h (nil: they end
// the process).
func listen(h *crash.Handler, addr, edge, port, name, target string, report func(Interaction)) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Edge: edge, Port: port, name: name, target: target, ln: ln, addr: ln.Addr().String(), report: report, conns: map[net.Conn]*connState{}, crash: h}
	p.wg.Add(1)
	p.crash.Go(func() { p.accept(ln) })
	return p, nil
}

// SetMasker adds a suite's own secret patterns to what the proxy masks
// (nil: the built-in ones only). Call it before traffic flows.
func (p *Proxy) SetMasker(m *Masker) { p.masker.Store(m) }

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Target is the address the proxy forwards to (the callee's port).
func (p *Proxy) Target() string { return p.target }

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ts := p.toxics.Load()
		st := newConnState(p.serial.Add(1), ts)
		st.caller = c
		if !p.track(c, st) {
			c.Close()
			return
		}
		// Read once tracked: a fault set since is either seen here or
		// finds the connection (drainH2).
		f := p.faults.get()
		if f.Reset {
			now := time.Now()
			p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: "reset by a fault at connect",
				Start: now, End: now, Suspicious: true, Injected: true})
			p.untrack(c)
			resetConn(c)
			continue
		}
		h2Fault := f.answersH2()
		p.toxicTimers(st, ts, nil)
		p.wg.Add(1)
		p.crash.Go(func() {
			defer p.wg.Done()
			defer p.untrack(c)
			defer st.finish()
			defer close(st.reported)
			if h2Fault {
				p.serveFaulted(c, st)
				return
			}
			p.serve(c, st)
		})
	}
}

// refuse closes the listener (on) or listens again on the same port (off):
// while it is closed, the kernel answers connection attempts with a reset
// to the SYN, so callers see "connection refused" as from a real
// partition or a stopped server. The attempts never reach the proxy, so
// they are not interactions; the fault's start and end are.
func (p *Proxy) refuse(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if on {
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		return nil
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr) // Go sets SO_REUSEADDR: open connections do not block it
	if err != nil {
		return fmt.Errorf("listening again on %s after a partition: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	p.crash.Go(func() { p.accept(ln) })
	return nil
}

func (p *Proxy) track(c net.Conn, st *connState) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = st
	return true
}

// Upstream reports whether one of the proxy's connections to the callee
// leaves from local port port: the callee's view of a caller's connection
// (a database's list of sessions) names the wire's side of it.
// One that ended within upstreamLinger counts: a reset may end a
// connection (MariaDB's KILL of a session that held a lock) before it
// names whose it was, and its client may close it at once.
func (p *Proxy) Upstream(port int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if a, ok := c.LocalAddr().(*net.TCPAddr); ok && a.Port == port {
			return true
		}
	}
	at, ok := p.gone[port]
	return ok && time.Since(at) < upstreamLinger
}

// upstreamLinger is how long Upstream knows a connection that ended.
const upstreamLinger = time.Minute

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		now := time.Now()
		if p.gone == nil {
			p.gone = map[int]time.Time{}
		}
		if len(p.gone) >= 1024 {
			for port, at := range p.gone {
				if now.Sub(at) >= upstreamLinger {
					delete(p.gone, port)
				}
			}
		}
		if len(p.gone) < 4096 { // bounded, however many connections end at once
			p.gone[a.Port] = now
		}
	}
}

// serve forwards one connection both ways, decoding a copy.
func (p *Proxy) serve(client net.Conn, st *connState) {
	defer client.Close()
	start := time.Now()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		// The caller's connection is already accepted (the kernel did it
		// before the proxy could know), so it cannot be refused any more:
		// it is reset, which callers report as "connection reset by peer".
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connect", Result: "refused: " + errText(err) + " (the callee is not listening)",
			Start: start, End: time.Now(), Suspicious: true})
		resetConn(client)
		return
	}
	if !p.track(server, st) {
		server.Close()
		return
	}
	defer p.untrack(server)
	defer server.Close()
	d := newDecoder(p)
	d.drainWanted, d.refuseWanted = &st.drainWanted, &st.refuseWanted
	st.dec.Store(d)
	if st.drainWanted.Load() {
		// A drain came before the decoder did (drainH2 found none).
		d.h2Drain(p.faults.get().answersH2())
	}
	st.wmu.Lock()
	st.client = client
	st.wmu.Unlock()
	var up, down int64
	var upErr, downErr error
	var wg sync.WaitGroup
	wg.Add(2)
	var sent atomicCounter // both ways, for close_after
	p.crash.Go(func() {
		defer wg.Done()
		up, upErr = p.forward(server, client, d, false, &sent, st)
		st.ending.Store(true)
		p.callerEnded(st, d, time.Now())
		closeWrite(server)
	})
	p.crash.Go(func() {
		defer wg.Done()
		down, downErr = p.forward(client, server, d, true, &sent, st)
		st.ending.Store(true)
		st.calleeGone.Store(true)
		closeWrite(client)
	})
	wg.Wait()
	// A write toward a caller that had ended its side failed: it closed
	// for reading too (it left), and was reset by nobody.
	var w toCaller
	callerLeft := errors.As(downErr, &w) && d.callerEnded()
	reset := isReset(upErr) || isReset(downErr) && !callerLeft
	cut := st.cutReason()
	how := "connection closed"
	switch {
	case cut != "":
		how = cut
	case reset:
		how = "connection reset"
	case callerLeft:
		how = "the caller closed the connection"
	case st.calleeGone.Load():
		how = "the callee closed the connection"
	}
	inFlight := d.close(how, cut != "")
	unread := d.unreadInFlight() // calls lost to decoding that stopped
	switch {
	case st.swallowed.Load() && cut == "" && inFlight == 0 && unread == 0 && d.understood():
		// Held with no call waiting (an HTTP/2 client that waits for the
		// callee's SETTINGS before its first call, a connection pool's
		// idle one): how it ended is what its caller met.
		end := time.Now()
		d.mu.Lock()
		if !d.callerAt.IsZero() {
			how, end = "the caller closed it", d.callerAt
		}
		d.mu.Unlock()
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Start: start, End: end, Suspicious: true, Injected: true,
			Result: fmt.Sprintf("ended while a blackhole fault held it (%s after %s; no call was waiting on it)", how, secs(end.Sub(start)))})
	case !d.understood():
		res, bad := "closed", false
		if cut != "" {
			res, bad = cut, true
		} else if reset {
			res, bad = "reset", true
		}
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: res, Start: start, End: time.Now(),
			Suspicious: bad, Injected: cut != "", Note: fmt.Sprintf("%s sent, %s received", size(up), size(down))})
	case cut != "" && unread > 0:
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: cut, Start: start, End: time.Now(),
			Suspicious: true, Injected: true, Note: fmt.Sprintf("(%d call(s) in flight, not decoded)", unread)})
	case cut != "" && inFlight == 0:
		// Nothing was waiting, but the connection the caller holds is gone
		// — unless it asked for that: a close after the answer, as the
		// request asked, is how such a connection ends.
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: cut, Start: start, End: time.Now(),
			Suspicious: cut != askedClose, Injected: true, Note: idleNote(d)})
	case reset && cut == "":
		note := ""
		if inFlight == 0 {
			note = idleNote(d)
		}
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: "reset", Start: start, End: time.Now(),
			Suspicious: true, Note: note})
	}
}

// callerEnded notes that the caller ended its side of st at t (its
// forwarding read the end, or read ahead to it while a fault held its
// bytes). When the callee had not ended its side first, and no fault of
// seam's cut the connection, the caller is done with it (or gave up on
// it): what still waits for an answer will not get one, and a hold of
// the callee's answer for it ends (hold). The first end noted counts.
func (p *Proxy) callerEnded(st *connState, d *decoder, t time.Time) {
	if st.cutReason() != "" || st.calleeGone.Load() {
		return
	}
	st.leftOnce.Do(func() {
		d.callerClosedHeld(t, holder(st.upHeld.Load()).String())
		st.leftAt.Store(t.UnixNano())
		close(st.left)
	})
}

// idleNote says what a connection carried when it ended with no call in
// flight: nothing, or, once a 101 answer switched its protocol
// (WebSocket), the new protocol's messages, which are not calls.
func idleNote(d *decoder) string {
	to, n := d.switchedTo()
	if to == "" {
		return "(nothing in flight)"
	}
	return fmt.Sprintf("(speaking %s after 101 Switching Protocols: %s passed since, not decoded)", to, size(n))
}

func (p *Proxy) emit(i Interaction) { p.emitMemo(&i, nil) }

// emitMemo is emit for a connection's calls, masking through its memo
// (nil: none).
func (p *Proxy) emitMemo(i *Interaction, memo *maskMemo) {
	if p.report != nil {
		i.Port = p.Port
		maskMemoized(p.masker.Load(), i, memo)
		p.report(*i)
	}
}

// forward copies src to dst, handing each chunk to observe just before it
// is sent: the decoder must know of a request before its answer can come.
// Faults act here, on each chunk: back is the callee's answer direction.
func (p *Proxy) forward(dst, src net.Conn, d *decoder, back bool, sent *atomicCounter, st *connState) (int64, error) {
	var n int64
	var cut bool
	var readAt time.Time
	var tr *toxicRun       // Toxiproxy's toxics on this stream, once there are any
	var throttle sleepDebt // the bandwidth fault's
	// heldBy names the fault that holds the callee's chunk being passed
	// ("": none does), which came from the callee at readAt.
	var heldBy string
	// rest is what of the callee's chunk being passed is not yet decoded
	// and sent (lost takes it).
	var rest []byte
	var ahead chan readChunk // reading ahead (readAhead), once a fault or toxic holds the stream
	// send observes b and writes it to dst.
	send := func(b []byte) error {
		// Decoded in this goroutine (keeping nothing of the bytes), before
		// they go on; the caller's were, as they came (pass).
		if back {
			st.wmu.Lock()
			d.fromServerHeld(b, readAt, heldBy)
			rest = rest[min(len(b), len(rest)):]
		}
		// Counted before the write: the answer to these bytes may reach
		// the caller, and a Flush, before Write returns.
		if back {
			st.down.Add(int64(len(b)))
		} else {
			st.up.Add(int64(len(b)))
		}
		_, err := dst.Write(b)
		if back {
			st.wmu.Unlock()
			if st.drainWanted.Load() || st.refuseWanted.Load() {
				p.tryDrain(st) // between two of the callee's chunks
			}
			// A caller that ended its side may still read (a half close):
			// it left only if this write failed or it reset on it.
			d.written(func() bool { return err == nil && !resetOnWrite(dst) })
			if err != nil {
				return toCaller{err}
			}
		}
		if err != nil {
			return err
		}
		n += int64(len(b))
		return nil
	}
	// lost takes, when the caller left while a fault or toxic held the
	// callee's bytes, what was held (rest) and what was read ahead behind
	// it: decoded as if sent to a caller that was gone, so that the call
	// is told now as the fault's doing, and dropped (the caller is gone,
	// and what it left ends: errLeft).
	lost := func() error {
		st.wmu.Lock()
		d.fromServerHeld(rest, readAt, heldBy)
		rest = nil
		for drained := false; ahead != nil && !drained; {
			select {
			case c, ok := <-ahead:
				if !ok {
					ahead = nil
					break
				}
				d.fromServerHeld(c.b, c.at, heldBy)
			default:
				drained = true
			}
		}
		st.wmu.Unlock()
		d.written(func() bool { return false })
		return errLeft
	}
	newRun := func(ts *Toxics) *toxicRun {
		r := newToxicRun(p, st, back, ts.Seed)
		if back {
			r.lost = lost
		}
		return r
	}
	// pass sends b on, as the faults that shape a stream allow.
	pass := func(b []byte, f Faults) error {
		if len(b) == 0 {
			return nil
		}
		if f.CloseAfter > 0 {
			// Only what is left of the allowance goes through.
			var k int64
			k, cut = sent.take(int64(len(b)), f.CloseAfter)
			b = b[:k]
		}
		if !back {
			// Decoded as they come, before a fault or toxic holds them: a
			// call whose caller gives up while its request is held is
			// known, and told.
			var cutNow bool
			if b, cutNow = d.clientBytes(b); cutNow {
				st.cutBy("cut by a fault: its HTTP/2 could not be read to drain the connection")
				src.Close()
				dst.Close()
				return errCut
			}
			if st.refuseWanted.Load() && st.wmu.TryLock() {
				// Not waiting for a chunk of the callee's being written:
				// its forwarding sends them after it.
				p.refuseLocked(st)
				st.wmu.Unlock()
			}
			// Empty: all dropped (a gRPC fault drains the connection).
		}
		ts := p.toxics.Load()
		if !back && (f.Bandwidth > 0 || ts != nil) {
			// Noted while the chunk is held, slices and all, for a
			// caller that leaves meanwhile (callerEnded).
			if by := p.holder(f, ts, tr, false); by != heldNot {
				st.upHeld.Store(int32(by))
				defer st.upHeld.Store(int32(heldNot))
			}
		}
		for len(b) > 0 {
			s := b
			if f.Bandwidth > 0 {
				// In slices, each after its share of time, as a slow link
				// carries them.
				s = b[:sliceOf(len(b), f.Bandwidth)]
				switch throttle.hold(st, len(s), f.Bandwidth, back, readAt) {
				case holdCut:
					return errCut
				case holdLeft:
					return lost()
				}
			}
			b = b[len(s):]
			var err error
			if ts != nil {
				if tr == nil {
					tr = newRun(ts)
				}
				err = tr.run(tr.chain(ts), s, readAt, send)
			} else {
				err = send(s)
			}
			if err != nil {
				return err
			}
		}
		if cut {
			st.cutBy(fmt.Sprintf("closed by a fault after %d bytes", f.CloseAfter))
			src.Close()
			dst.Close()
		}
		return nil
	}
	var g gate
	// endAfterBody: a fault answered a request that asked the connection
	// to end; it does once that request's body is swallowed.
	var endAfterBody bool
	// holed: a blackhole swallowed a request the gate passed it; those
	// after it are swallowed too, not answered (an answer to a later one
	// would reach the caller as the answer to the swallowed one: HTTP/1
	// answers in order).
	var holed bool
	buf := make([]byte, 32<<10)
	// busy: a chunk read is being forwarded (connState.busy).
	var busy bool
	defer func() {
		if busy {
			st.busy.Add(-1)
		}
	}()
	for {
		if busy {
			st.busy.Add(-1)
			busy = false
		}
		var k int
		var err error
		if ahead != nil {
			c, ok := <-ahead
			if !ok {
				return n, net.ErrClosed // the connection ended while chunks were read ahead
			}
			buf, k, err, readAt = c.b, len(c.b), c.err, c.at
		} else {
			k, err = src.Read(buf)
			readAt = time.Time{}
			if k > 0 {
				st.busy.Add(1)
				busy = true
			}
		}
		if k > 0 {
			f := p.faults.get()
			ts := p.toxics.Load()
			if ts != nil || f.Latency > 0 || f.Bandwidth > 0 {
				// Only holds need it: the clean path saves the call.
				if readAt.IsZero() {
					readAt = time.Now()
				}
				if tr == nil && ts != nil {
					tr = newRun(ts)
				}
				if ahead == nil && err == nil && p.readsAhead(f, ts, back, tr) {
					var ended func(time.Time)
					if !back {
						ended = func(at time.Time) { p.callerEnded(st, d, at) }
					}
					ahead = p.readAheadTo(src, st.done, ended)
				}
			}
			// An HTTP fault that answers decides on each request first
			// (the gate), the blackhole swallowing what it does not
			// answer, as on the browser's edges.
			gated := !back && (g.active || f.HTTP != nil && f.HTTP.Status != 0 && d.atRequestStart())
			switch {
			case f.Blackhole && !gated:
				p.hold(st)
				if !back {
					// The decoder learns of the request, so that the call
					// shows (as swallowed) when it ends, but the callee
					// never does.
					d.swallowed(buf[:k])
				}
				continue // the caller waits for an answer that never comes
			case f.Reset:
				st.cutBy("reset by a fault")
				resetConn(src)
				resetConn(dst)
				return n, syscall.ECONNRESET
			}
			heldBy = ""
			if back {
				rest = buf[:k]
				if ts != nil || f.Latency > 0 || f.Bandwidth > 0 {
					heldBy = p.holder(f, ts, tr, true).String()
				}
			}
			if back && f.Latency > 0 {
				switch st.hold(p.faults.delay(f)-time.Since(readAt), true, readAt) {
				case holdCut:
					return n, nil
				case holdLeft:
					return n, toCaller{lost()}
				}
			}
			if back && f.HTTP != nil && f.HTTP.Status == 0 && f.HTTP.Slow > 0 && d.answering(f.HTTP) {
				if readAt.IsZero() {
					readAt = time.Now()
				}
				heldBy = heldSlowFault.String()
				switch st.hold(f.HTTP.Slow, true, readAt) {
				case holdCut:
					return n, nil
				case holdLeft:
					return n, toCaller{lost()}
				}
			}
			var werr error
			if gated {
				// An HTTP fault decides on a request once its head is
				// complete, however the caller split it into writes.
				g.active = true
				through := func(b []byte) error { return pass(b, f) }
				if f.Blackhole {
					through = func(b []byte) error {
						holed = true
						p.hold(st)
						d.swallowed(b)
						return nil
					}
				}
				werr = g.feed(buf[:k], f.HTTP, through, func(m, target, header string, closing bool) error {
					d.gated()
					if holed {
						// Pipelined behind a swallowed request: its answer
						// cannot go before that one's, which never comes.
						now := time.Now()
						p.emit(Interaction{Edge: p.Edge, Protocol: "http", Op: m + " " + target, Method: m, Target: target, Start: now, End: now,
							Result:     "no answer (a blackhole fault swallowed the call; a request before it on the connection was swallowed)",
							Suspicious: true, Injected: true})
						return nil
					}
					if err := p.answer(src, st, d, m, target, header, closing, f.HTTP); err != nil || !closing {
						return err
					}
					// As a server does when the request asks for it (or
					// its body may still come): the connection ends. Half
					// closed first, the request's body still read (and
					// swallowed) for a while: closing a socket with unread
					// bytes resets it, and the caller could lose the answer.
					st.cutBy(askedClose)
					closeWrite(src)
					src.SetReadDeadline(time.Now().Add(drainGrace))
					endAfterBody = true
					return nil
				})
			} else {
				werr = pass(buf[:k], f)
			}
			if errors.Is(werr, errLeft) {
				return n, toCaller{werr}
			}
			if errors.Is(werr, errCut) || endAfterBody && !g.inBody {
				return n, nil
			}
			if werr != nil {
				return n, werr
			}
			if cut {
				return n, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if ts := p.toxics.Load(); ts != nil {
					if tr == nil {
						tr = newToxicRun(p, st, back, ts.Seed)
					}
					tr.end(ts) // slow_close waits, reset_peer resets
				}
				return n, nil
			}
			return n, err
		}
	}
}

// readChunk is a chunk read ahead, with when it was read.
type readChunk struct {
	b         []byte
	asked, at time.Time
	err       error // the read's; the last chunk has one (io.EOF at the end)
}

// readsAhead reports whether this stream is read ahead while its chunks
// wait. A latency acts on it: each chunk is delayed by the latency from
// when it arrived, as Toxiproxy's latency toxic does, not by the sum of
// the latencies of the chunks before it. Or it is the caller's, and a
// fault or toxic holds its bytes (bandwidth, slicer): the caller's end is
// read as it comes (callerEnded), not once the hold is over.
func (p *Proxy) readsAhead(f Faults, ts *Toxics, back bool, tr *toxicRun) bool {
	if back && f.Latency > 0 || !back && f.Bandwidth > 0 {
		return true
	}
	if tr == nil || ts == nil {
		return false
	}
	for _, x := range tr.chain(ts) {
		if x.Type == "latency" || !back && (x.Type == "bandwidth" || x.Type == "slicer") {
			return true
		}
	}
	return false
}

// holder is the fault or toxic that holds the chunk that came now on a
// stream (back: the callee's), if one does: a latency fault (the
// callee's), a bandwidth fault, or the first toxic of the stream that
// holds (a slow fault is told where it holds).
func (p *Proxy) holder(f Faults, ts *Toxics, tr *toxicRun, back bool) holder {
	switch {
	case back && f.Latency > 0:
		return heldLatencyFault
	case f.Bandwidth > 0:
		return heldBandwidthFault
	case tr == nil || ts == nil:
		return heldNot
	}
	for _, x := range tr.chain(ts) {
		switch x.Type {
		case "latency":
			return heldLatencyToxic
		case "bandwidth":
			return heldBandwidthToxic
		case "slicer":
			return heldSlicerToxic
		}
	}
	return heldNot
}

// errLeft ends the callee's side of a connection whose caller left while
// a fault or toxic held the callee's bytes.
var errLeft = errors.New("the caller left while a fault held the answer")

// toCaller is an error writing to the caller: once the caller ended its
// side, it is the caller's leaving, not a reset by anybody.
type toCaller struct{ err error }

func (e toCaller) Error() string { return e.err.Error() }
func (e toCaller) Unwrap() error { return e.err }

// readAhead reads src into a queue of up to 1024 chunks (Toxiproxy's
// latency buffer) until src ends or done; the queue is closed then. Each
// chunk is a copy of its own size, with when it was asked for and when it
// came. The wire's forwarding reads a connection ahead this way while a
// latency holds, the proxy's own HTTP/2 server an answer's body.
func (p *Proxy) readAhead(src io.Reader, done <-chan struct{}) chan readChunk {
	return p.readAheadTo(src, done, nil)
}

// readAheadTo is readAhead telling ended when src ends (its end, or a
// reset), as it reads it.
func (p *Proxy) readAheadTo(src io.Reader, done <-chan struct{}, ended func(at time.Time)) chan readChunk {
	ch := make(chan readChunk, 1024)
	p.wg.Add(1)
	p.crash.Go(func() {
		defer p.wg.Done()
		defer close(ch)
		buf := make([]byte, 32<<10)
		for {
			asked := time.Now()
			k, err := src.Read(buf)
			if ended != nil && (errors.Is(err, io.EOF) || isReset(err)) {
				ended(time.Now())
			}
			select {
			case ch <- readChunk{b: bytes.Clone(buf[:k]), asked: asked, at: time.Now(), err: err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	})
	return ch
}

// answer writes an HTTP fault's response to the caller, in the callee's
// place. It is reported first, as every exchange is: before the caller
// has its answer.
func (p *Proxy) answer(caller net.Conn, st *connState, d *decoder, method, target, header string, closing bool, h *HTTPFault) error {
	// HTTP/1 answers in order: the callee's answers to the requests
	// pipelined before this one go first (at most maxAnswerWait; not once
	// the callee is gone or its answers are no longer decoded).
	for wait := time.Now(); time.Since(wait) < maxAnswerWait && !st.calleeGone.Load(); {
		if n, decoding := d.waiting(); n == 0 || !decoding {
			break
		}
		if !st.sleep(time.Millisecond) {
			return net.ErrClosed
		}
	}
	now := time.Now()
	resp := h.response(method, closing)
	respHead, body, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
	_, respHeader, _ := bytes.Cut(respHead, []byte("\r\n"))
	var kept bodyStart
	kept.keep(body)
	p.emit(Interaction{Edge: p.Edge, Protocol: "http", Op: method + " " + target,
		Result: fmt.Sprintf("%d %s", h.Status, http.StatusText(h.Status)), Start: now, End: now,
		Suspicious: h.Status >= 400, Injected: true, Note: InjectedNote, Method: method, Target: target, Status: h.Status,
		ResponseBody: kept.body, respCut: kept.cut, reqHeader: header, respHeader: keptHeader(respHeader)})
	// Not inside an answer of the callee's being written (wmu).
	st.wmu.Lock()
	defer st.wmu.Unlock()
	_, err := caller.Write(resp)
	return err
}

// maxAnswerWait bounds how long a fault's answer waits behind the
// callee's answers to the requests pipelined before it.
const maxAnswerWait = 10 * time.Second

// closesAfter reports whether a connection ends after the answer to the
// request whose head is b (RFC 9112 §9.3): HTTP/1.0 without keep-alive,
// "Connection: close", or "Expect: 100-continue" (its body may come or
// not: only a close leaves no doubt).
func closesAfter(b []byte) bool {
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	http10 := bytes.HasSuffix(bytes.TrimRight(line, "\r"), []byte("HTTP/1.0"))
	keepAlive := false
	for l := range bytes.SplitSeq(rest, []byte("\n")) {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		name, value = bytes.TrimSpace(name), bytes.ToLower(bytes.TrimSpace(value))
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				switch string(bytes.TrimSpace(tok)) {
				case "close":
					return true
				case "keep-alive":
					keepAlive = true
				}
			}
		case bytes.EqualFold(name, []byte("Expect")) && string(value) == "100-continue":
			return true
		}
	}
	return http10 && !keepAlive
}

// gate holds the caller's bytes while an HTTP fault is set until a
// request's head is complete, decides on the whole head, and then either
// passes the request on or swallows it (head and body) and has it
// answered. Between requests it is inactive, so a fault set or cleared
// takes effect at the next request.
type gate struct {
	active  bool
	hold    []byte // a head not yet complete
	inBody  bool   // passing or swallowing the body of a decided request
	swallow bool
	r       reader // frames the decided request's body
}

func (g *gate) feed(b []byte, f *HTTPFault, pass func([]byte) error, answer func(method, target, header string, closing bool) error) error {
	for len(b) > 0 {
		if !g.inBody {
			g.hold = append(g.hold, b...)
			b = nil
			end := headEnd(g.hold)
			if end < 0 {
				if len(g.hold) > maxHead || !couldBeRequest(g.hold) {
					// Not HTTP the wire knows: it flows as it came.
					h := g.hold
					*g = gate{}
					return pass(h)
				}
				return nil // wait for the rest of the head
			}
			start, rest := g.hold[:end], g.hold[end:]
			g.hold = nil
			g.r = reader{request: true, stopAtEnd: true}
			var h head
			g.r.feedN(start, func(x *head) bool {
				if !x.done {
					h = *x
				}
				return true
			})
			if h.method == "" {
				*g = gate{}
				return pass(append(start, rest...))
			}
			g.swallow = f != nil && f.Status != 0 && f.matches(h.method, h.target)
			var err error
			if g.swallow {
				err = answer(h.method, h.target, h.header, closesAfter(start))
			} else {
				err = pass(start)
			}
			if err != nil {
				return err
			}
			g.inBody = !g.r.ended
			b = rest
			if !g.inBody && f == nil {
				g.active = false
				return pass(b)
			}
			continue
		}
		k := g.r.feedN(b, func(*head) bool { return true })
		if !g.swallow {
			if err := pass(b[:k]); err != nil {
				return err
			}
		}
		b = b[k:]
		if g.r.ended {
			g.inBody = false
		} else if k == 0 {
			// The body is not framed in a way the reader follows: give up
			// gating and let it flow.
			*g = gate{}
			return pass(b)
		}
	}
	if !g.inBody && len(g.hold) == 0 && f == nil {
		g.active = false // the fault is gone: the next request flows ungated
	}
	return nil
}

// headEnd is the length of the head at the start of b (through its empty
// line), or -1 while it is incomplete.
func headEnd(b []byte) int {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		if j := bytes.Index(b, []byte("\n\n")); j >= 0 && j < i {
			return j + 2
		}
		return i + 4
	}
	if j := bytes.Index(b, []byte("\n\n")); j >= 0 {
		return j + 2
	}
	return -1
}

// couldBeRequest reports whether b is, or may grow into, the start of an
// HTTP/1.x request line.
func couldBeRequest(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, []byte(m)) || bytes.HasPrefix([]byte(m), b) {
			return true
		}
	}
	return mayBeRequestLine(b)
}

type atomicCounter struct {
	mu sync.Mutex
	n  int64
}

func (c *atomicCounter) add(k int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += k
	return c.n
}

// take counts up to n bytes against a limit of them, both ways at once
// (close_after): how many of the n may pass, and whether that reaches the
// limit. Checked and counted in one step, so that the two directions
// cannot both pass a chunk on the same bytes left.
func (c *atomicCounter) take(n, limit int64) (k int64, reached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k = n
	if left := limit - c.n; n >= left {
		k, reached = max(left, 0), true
	}
	c.n += k
	return k, reached
}

// closeWrite half-closes c (its peer reads the end; c still reads), or
// closes it when it cannot be half closed. Through a connection's wrapper
// too: one accepted while a fault answers (replayConn) must half close as
// any (closed whole, a caller still sending was reset, and could lose the
// answer it had not read yet).
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

func isReset(err error) bool {
	return err != nil && !errors.Is(err, net.ErrClosed) &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

func errText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

func size(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f kB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// Flush is called by the environment's flush before and after each test.
// The wire reports a decoded exchange before its last byte reaches the
// caller, so none is ever pending; but a connection in a protocol it does
// not decode (AMQP, Kafka, TLS, say) may stay open all run, opened at start-up and
// used by every test: Flush tells of the bytes each such connection
// carried since the last flush ("connection → active"), so the test that
// caused them shows them and coverage counts them.
func (p *Proxy) Flush(ctx context.Context) {
	p.Settle(ctx)
	p.mu.Lock()
	seen := map[*connState]bool{}
	var states []*connState
	for _, st := range p.conns {
		if !seen[st] {
			seen[st] = true
			states = append(states, st)
		}
	}
	p.mu.Unlock()
	for _, st := range states {
		d := st.dec.Load()
		if d == nil || d.understood() {
			continue
		}
		up, down := st.up.Load(), st.down.Load()
		p.mu.Lock()
		du, dd := up-st.toldUp, down-st.toldDown
		st.toldUp, st.toldDown = up, down
		p.mu.Unlock()
		if du == 0 && dd == 0 {
			continue
		}
		now := time.Now()
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: "active", Start: now, End: now,
			Note: fmt.Sprintf("%s sent, %s received since the last report (protocol not decoded)", size(du), size(dd))})
	}
}

// quiesce waits, until ctx is done, for the wire to have read and
// forwarded what the kernel holds for it: a caller that resets a call (its
// deadline) and at once answers its own caller (the test's step) sent the
// reset first; the call belongs to the test that caused it, not to the
// next, and a check right after that step must see it. Quiet is two looks
// finding no connection with bytes unread (its socket's receive queue), a
// caller's end the wire has not read yet (a caller that gave up on a call
// a fault holds the answer to: its call is told as it is read), or a
// chunk being forwarded; the second, a moment later, covers a chunk read
// but not yet counted as being forwarded.
func (p *Proxy) quiesce(ctx context.Context) {
	for quiet := 0; quiet < 2; {
		p.mu.Lock()
		busy := false
		for c, st := range p.conns {
			if st.busy.Load() > 0 || unread(c) > 0 || c == st.caller && !st.callerNoted() && peerEnded(c) {
				busy = true
				break
			}
		}
		p.mu.Unlock()
		wait := 100 * time.Microsecond
		if busy {
			quiet, wait = 0, time.Millisecond
		} else if quiet++; quiet == 2 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// callerNoted reports whether the wire knows how the caller's side of st
// ended, if it did: its forwarding ended, the caller's end was read
// ahead (callerEnded), or a fault cut the connection.
func (st *connState) callerNoted() bool {
	return st.ending.Load() || st.leftAt.Load() != 0 || st.cut.Load() != nil
}

// Settle waits until the wire has read and forwarded what the kernel
// holds for it (quiesce, at most maxQuiesce), then until the connections
// that are ending have reported what they carried, at most maxSettle: a
// caller meets a reset (a fault's, a toxic's, the callee's) before the
// proxy has seen both sides end and told of the call the reset left
// without an answer, and a check made right after must see that call.
// A PostgreSQL query a cancel request came for is waited for first, at
// most maxCancelWait: its answer comes just after its caller gave up.
func (p *Proxy) Settle(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, maxQuiesce)
	p.quiesce(qctx)
	cancel()
	p.mu.Lock()
	var decs []*decoder
	for _, st := range p.conns {
		if d := st.dec.Load(); d != nil {
			decs = append(decs, d)
		}
	}
	p.mu.Unlock()
	awaitPGCancels(ctx, decs)
	for _, d := range decs {
		d.tellAbandoned() // not under p.mu: it reports
	}
	p.mu.Lock()
	var ending []*connState
	for _, st := range p.conns {
		// One a fault cut is ending too, though its forwarding may not
		// have woken to the close yet.
		if st.ending.Load() || st.cut.Load() != nil {
			ending = append(ending, st)
		}
	}
	p.mu.Unlock()
	if len(ending) == 0 {
		return
	}
	t := time.NewTimer(maxSettle)
	defer t.Stop()
	for _, st := range ending {
		select {
		case <-st.reported:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// maxQuiesce bounds how long Settle waits for what the kernel holds for
// the wire to be read and forwarded (quiesce): a chunk whose writing
// waits for a slow reader is not waited for longer.
const maxQuiesce = 200 * time.Millisecond

// maxSettle bounds Settle: a connection one side of which lingers open
// is not waited for longer.
const maxSettle = 500 * time.Millisecond

// Close stops the proxy: no new connections, open ones closed. It returns
// once every goroutine has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c, st := range p.conns {
		st.doneOnce.Do(func() { close(st.done) }) // toxics asleep wake
		c.Close()
	}
	var err error
	if p.ln != nil {
		err = p.ln.Close()
	}
	h2 := p.h2
	p.mu.Unlock()
	p.wg.Wait()
	if h2 != nil {
		h2.tr.CloseIdleConnections()
	}
	return err
}
