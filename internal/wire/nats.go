package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// NATS's client protocol, read incrementally: each publish (PUB, HPUB) is
// an interaction "NATS PUB subject", each subscription (SUB) one "NATS SUB
// subject", each message the server delivers to the caller (MSG, HMSG)
// one "NATS MSG subject", and each -ERR is suspicious. A payload is kept
// as an HTTP body is (its start, up to maxBodyKept, masked); a longer one
// is counted. Of CONNECT only its verbose flag and the client's name,
// language and version are read: its credentials (user, pass,
// auth_token, jwt, nkey, sig) are never kept. PING, PONG and +OK are no
// interactions.
//
// The source is NATS's client protocol documentation (docs.nats.io,
// reference/protocols/client): a control line ends with CRLF, operation
// names are case-insensitive and arguments are separated by spaces or
// tabs; PUB subject [reply] #bytes, HPUB subject [reply] #header-bytes
// #total-bytes, MSG subject sid [reply] #bytes and HMSG subject sid
// [reply] #header-bytes #total-bytes are followed by their payload (the
// headers first, "NATS/1.0" and a status, 503 for a request nobody
// answers) and CRLF; SUB subject [queue] sid; UNSUB sid [max-msgs].
//
// NATS acknowledges a publish only to a verbose client (CONNECT's
// "verbose": true): then +OK or -ERR answers each CONNECT, PUB, SUB and
// UNSUB, in order, and each waits for its answer, which is its result.
// Otherwise nothing answers a publish: it is told "published" as soon as
// it has passed whole, so that it lands in the test that made it (the
// wire reports a call before its caller can go on), and a -ERR the server
// sends about it later (a permissions violation) is an interaction of
// its own.
//
// The server speaks first (INFO, told by looksLikeNATSInfo); one that
// requires TLS, or a client that starts it, is not decoded further, and
// that is said once, as is anything the wire cannot read.

const (
	// maxNATSWaits bounds the operations of a verbose client waiting
	// for their +OK (each may keep a payload's start).
	maxNATSWaits = 1024
	// maxNATSSubs bounds the subscriptions remembered (by sid), which
	// name a message's subscription; those beyond are not remembered.
	maxNATSSubs = 4096
	// maxNATSAsks bounds the requests (a publish with a reply subject)
	// remembered until their reply comes; the oldest are forgotten.
	maxNATSAsks = 64
)

// looksLikeNATSInfo: a NATS server's greeting, whole: INFO and a JSON
// object that names the server (server_id, which every server sends), on
// one line.
func looksLikeNATSInfo(b []byte) bool {
	line, _, whole := bytes.Cut(b, []byte("\n"))
	if !whole || !bytes.HasPrefix(line, []byte("INFO ")) {
		return false
	}
	var info natsInfo
	return json.Unmarshal(bytes.TrimSpace(line[len("INFO "):]), &info) == nil && info.ServerID != ""
}

// natsNeedsMore: b, a server's first bytes, may be the start of an INFO
// line that looksLikeNATSInfo cannot tell yet (a server that writes its
// greeting in parts); at most maxHead bytes are waited for.
func natsNeedsMore(b []byte) bool {
	if len(b) < len("INFO ") {
		return string(b) == "INFO "[:len(b)]
	}
	return bytes.HasPrefix(b, []byte("INFO ")) && len(b) < maxHead && bytes.IndexByte(b, '\n') < 0
}

// natsInfo is what the wire reads of a server's INFO.
type natsInfo struct {
	ServerID    string `json:"server_id"`
	TLSRequired bool   `json:"tls_required"`
}

// natsConnect is what the wire reads of a client's CONNECT: nothing
// secret (the credentials are not fields here, so they are never kept).
type natsConnect struct {
	Verbose bool   `json:"verbose"`
	Name    string `json:"name"`
	Lang    string `json:"lang"`
	Version string `json:"version"`
}

// natsReader reads one direction: control lines, and the payloads of
// the messages they announce.
type natsReader struct {
	line []byte   // a control line cut across chunks, so far
	msg  *natsMsg // the message whose payload is coming
	left int64    // its bytes (headers and payload) still to come
	end  int      // how many bytes of the CRLF after them came
}

// natsMsg is a message being read (PUB, HPUB, MSG, HMSG).
type natsMsg struct {
	subject, reply, sid string
	hdr, size           int64 // header bytes, and all bytes (headers too)
	hdrLeft             int64 // header bytes still to come
	header              []byte
	start               time.Time
	bodyStart           // the payload after the headers: its start
}

// take keeps what a message's next bytes hold: its headers, up to
// maxHeaderKept, then its payload's start.
func (m *natsMsg) take(b []byte) {
	if m.hdrLeft > 0 {
		n := min(int64(len(b)), m.hdrLeft)
		if room := maxHeaderKept - len(m.header); room > 0 {
			m.header = append(m.header, b[:min(int(n), room)]...)
		}
		b, m.hdrLeft = b[n:], m.hdrLeft-n
	}
	if len(b) > 0 {
		m.keep(b)
	}
}

// natsSub is a subscription, remembered by its sid.
type natsSub struct {
	subject, queue string
	max, got       int64 // UNSUB's max-msgs (0: none), and the messages delivered
}

// natsAsk is a request: a publish with a reply subject, waiting for its
// reply.
type natsAsk struct {
	subject, reply string
	start          time.Time
}

// natsWait is a verbose client's operation waiting for its +OK or -ERR.
type natsWait struct {
	in Interaction
	ok string // its result on +OK ("published"); "": told on -ERR only (CONNECT, UNSUB)
}

// natsConn is one NATS connection being decoded.
type natsConn struct {
	d        *decoder
	cli, srv natsReader
	info     bool               // the server's INFO was read
	connect  time.Time          // when CONNECT came (zero: not yet)
	client   string             // the client as CONNECT names it, for a refusal's note
	verbose  bool               // CONNECT asked for +OK after each operation
	ready    bool               // the server answered something after CONNECT: it took it
	waits    []natsWait         // a verbose client's, oldest first (maxNATSWaits)
	subs     map[string]natsSub // by sid (maxNATSSubs)
	asks     []natsAsk          // oldest first (maxNATSAsks)
	done     bool               // decoding stopped
}

func newNATSConn(d *decoder) *natsConn {
	return &natsConn{d: d, subs: map[string]natsSub{}}
}

// stop says why decoding stops, once; what follows is not read.
func (c *natsConn) stop(why string, suspicious bool) bool {
	c.d.stopped("nats", why, suspicious)
	// What waited is counted as unread by the decoder (quit), not told
	// unanswered: it may be answered after, unseen.
	c.done, c.asks, c.cli.msg, c.srv.msg = true, nil, nil, nil
	return false
}

func (c *natsConn) fromClient(b []byte) bool {
	if c.connect.IsZero() && len(c.cli.line) == 0 && len(b) > 0 && b[0] == 0x16 {
		// A TLS record (its handshake) where CONNECT should be: the
		// server offered TLS (tls_available) and the client took it.
		return c.stop("the client started TLS: its messages are not seen (connect with nats:// and TLS off for seam to record them)", false)
	}
	return c.feed(&c.cli, b, c.clientLine, c.published)
}

func (c *natsConn) fromServer(b []byte) bool {
	return c.feed(&c.srv, b, c.serverLine, c.delivered)
}

// feed reads one direction's next bytes: each control line goes to line
// (which may announce a message: r.msg), a message's bytes are kept, and
// once it has ended (with its CRLF) it goes to done. False: decoding
// stops (and why was said).
func (c *natsConn) feed(r *natsReader, b []byte, line func([]byte) bool, done func(*natsMsg) bool) bool {
	for len(b) > 0 {
		if m := r.msg; m != nil {
			if r.left > 0 {
				n := min(int64(len(b)), r.left)
				m.take(b[:n])
				b, r.left = b[n:], r.left-n
				continue
			}
			for r.end < 2 && len(b) > 0 {
				if b[0] != "\r\n"[r.end] {
					return c.stop("a payload not followed by CRLF (it was not the size its line said)", true)
				}
				b, r.end = b[1:], r.end+1
			}
			if r.end < 2 {
				return true
			}
			r.msg, r.end = nil, 0
			if !done(m) {
				return false
			}
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			r.line = append(r.line, b...)
			if len(r.line) > maxHead {
				return c.stop("a control line over 64 KiB", true)
			}
			return true
		}
		l := b[:i]
		if len(r.line) > 0 {
			r.line = append(r.line, l...)
			l = r.line
		}
		b = b[i+1:]
		if len(l) > maxHead {
			return c.stop("a control line over 64 KiB", true)
		}
		ok := line(bytes.TrimSuffix(l, []byte("\r")))
		clear(r.line) // it may have held a CONNECT's credentials
		r.line = r.line[:0]
		if !ok {
			return false
		}
	}
	return true
}

// natsOp splits a control line into its operation (upper case) and
// what follows it.
func natsOp(line []byte) (op string, rest []byte) {
	line = bytes.TrimLeft(line, " \t")
	i := bytes.IndexAny(line, " \t")
	if i < 0 {
		i = len(line)
	}
	if i > len("CONNECT") {
		return string(line[:min(i, 16)]), nil // no operation of NATS's
	}
	return strings.ToUpper(string(line[:i])), bytes.TrimLeft(line[i:], " \t")
}

// natsArgs splits a control line's arguments.
func natsArgs(rest []byte) []string {
	var out []string
	for f := range bytes.FieldsFuncSeq(rest, func(r rune) bool { return r == ' ' || r == '\t' }) {
		if len(out) == 6 {
			return nil // more than any operation has
		}
		out = append(out, string(f))
	}
	return out
}

// natsSize reads a byte count.
func natsSize(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// natsSizes reads an HPUB's or HMSG's header and total byte counts.
func natsSizes(args []string) (hdr, total int64, ok bool) {
	hdr, ok1 := natsSize(args[0])
	total, ok2 := natsSize(args[1])
	return hdr, total, ok1 && ok2 && hdr <= total
}

// unreadable stops decoding at a line the wire cannot read.
func (c *natsConn) unreadable(side, op string) bool {
	return c.stop(fmt.Sprintf("a %s line the wire cannot read (%s)", side, strconv.Quote(oneLine(op, 16))), true)
}

func (c *natsConn) clientLine(line []byte) bool {
	op, rest := natsOp(line)
	now := time.Now()
	switch op {
	case "":
		return true
	case "CONNECT":
		var o natsConnect
		if json.Unmarshal(rest, &o) != nil {
			return c.unreadable("client", op)
		}
		c.connect, c.verbose, c.ready = now, o.Verbose, false
		c.client = strings.Join(strings.Fields(o.Name+" "+o.Lang+" "+o.Version), " ")
		if c.verbose {
			return c.wait(natsWait{in: c.connectInteraction()})
		}
		return true
	case "PUB", "HPUB":
		args := natsArgs(rest)
		m := &natsMsg{start: now}
		var ok bool
		switch {
		case op == "PUB" && (len(args) == 2 || len(args) == 3):
			m.size, ok = natsSize(args[len(args)-1])
		case op == "HPUB" && (len(args) == 3 || len(args) == 4):
			m.hdr, m.size, ok = natsSizes(args[len(args)-2:])
		}
		if !ok {
			return c.unreadable("client", op)
		}
		m.subject = args[0]
		if len(args) == 3 && op == "PUB" || len(args) == 4 {
			m.reply = args[1]
		}
		c.cli.msg, c.cli.left, m.hdrLeft = m, m.size, m.hdr
		return true
	case "SUB":
		args := natsArgs(rest)
		if len(args) != 2 && len(args) != 3 {
			return c.unreadable("client", op)
		}
		sub := natsSub{subject: args[0]}
		if len(args) == 3 {
			sub.queue = args[1]
		}
		if sid := args[len(args)-1]; len(c.subs) < maxNATSSubs {
			c.subs[sid] = sub
		} else if _, ok := c.subs[sid]; ok {
			c.subs[sid] = sub
		}
		in := c.interaction("SUB", sub.subject, now)
		if sub.queue != "" {
			in.Note = "(queue " + sub.queue + ")"
		}
		if c.verbose {
			return c.wait(natsWait{in: in, ok: "subscribed"})
		}
		in.Result = "subscribed"
		c.d.p.emit(in)
		return true
	case "UNSUB":
		args := natsArgs(rest)
		if len(args) != 1 && len(args) != 2 {
			return c.unreadable("client", op)
		}
		sub, known := c.subs[args[0]]
		if len(args) == 2 {
			max, ok := natsSize(args[1])
			if !ok {
				return c.unreadable("client", op)
			}
			sub.max = max
		}
		if known && (sub.max == 0 || sub.got >= sub.max) {
			delete(c.subs, args[0])
		} else if known {
			c.subs[args[0]] = sub
		}
		if c.verbose {
			subject := sub.subject
			if !known {
				subject = "sid " + args[0]
			}
			return c.wait(natsWait{in: c.interaction("UNSUB", subject, now)})
		}
		return true
	case "PING", "PONG":
		return true
	}
	return c.unreadable("client", op)
}

func (c *natsConn) serverLine(line []byte) bool {
	op, rest := natsOp(line)
	switch op {
	case "":
		return true
	case "INFO":
		if c.info {
			return true // an update (the cluster's servers, lame duck mode)
		}
		c.info = true
		var info natsInfo
		if json.Unmarshal(rest, &info) != nil {
			return c.unreadable("server", op)
		}
		if info.TLSRequired {
			return c.stop("the server requires TLS (its INFO says tls_required): its messages are not seen (run it without TLS for seam to record them)", false)
		}
		return true
	case "MSG", "HMSG":
		args := natsArgs(rest)
		m := &natsMsg{start: time.Now()}
		var ok bool
		switch {
		case op == "MSG" && (len(args) == 3 || len(args) == 4):
			m.size, ok = natsSize(args[len(args)-1])
		case op == "HMSG" && (len(args) == 4 || len(args) == 5):
			m.hdr, m.size, ok = natsSizes(args[len(args)-2:])
		}
		if !ok {
			return c.unreadable("server", op)
		}
		m.subject, m.sid = args[0], args[1]
		if len(args) == 4 && op == "MSG" || len(args) == 5 {
			m.reply = args[2]
		}
		c.srv.msg, c.srv.left, m.hdrLeft = m, m.size, m.hdr
		c.ready = true
		return true
	case "PING":
		return true
	case "PONG":
		c.ready = true
		return true
	case "+OK":
		c.ready = true
		if len(c.waits) > 0 {
			w := c.waits[0]
			c.waits = c.waits[1:]
			if w.ok != "" {
				w.in.Result, w.in.End = w.ok, time.Now()
				c.d.p.emit(w.in)
			}
		}
		return true
	case "-ERR":
		c.refused("-ERR " + oneLine(string(rest), 200))
		return true
	}
	return c.unreadable("server", op)
}

// refused tells of a -ERR: a verbose client's oldest operation waiting
// is its cause; else a CONNECT not yet taken, or nothing the wire can
// pair with it (without verbose, a publish's refusal comes after it was
// told published).
func (c *natsConn) refused(res string) {
	now := time.Now()
	if len(c.waits) > 0 {
		w := c.waits[0]
		c.waits = c.waits[1:]
		w.in.Result, w.in.End, w.in.Suspicious = res, now, true
		c.d.p.emit(w.in)
		return
	}
	var in Interaction
	switch {
	case !c.connect.IsZero() && !c.ready:
		in = c.connectInteraction()
	default:
		in = c.interaction("-ERR", "", now)
		if subject, ok := natsErrSubject(res, "Publish to "); ok {
			in.Note = "(refuses a publish to " + subject + ", told published: NATS confirms a publish only to a verbose client)"
		}
	}
	in.Result, in.End, in.Suspicious = res, now, true
	c.d.p.emit(in)
}

// natsErrSubject is the subject a -ERR names after what ("Permissions
// Violation for Publish to \"orders.x\"").
func natsErrSubject(res, what string) (string, bool) {
	_, after, ok := strings.Cut(res, what+`"`)
	if !ok {
		return "", false
	}
	subject, _, ok := strings.Cut(after, `"`)
	return subject, ok && subject != ""
}

// interaction is an interaction of the connection's: "NATS PUB subject".
func (c *natsConn) interaction(cmd, subject string, start time.Time) Interaction {
	in := Interaction{Edge: c.d.p.Edge, Protocol: "nats", Op: "NATS " + cmd, Start: start, End: start,
		Method: "NATS", Target: subject, Command: cmd, Key: subject}
	if subject != "" {
		in.Op += " " + showKey(subject)
	}
	return in
}

// connectInteraction is the interaction of the connection's CONNECT
// (told when refused), naming the client as it named itself.
func (c *natsConn) connectInteraction() Interaction {
	in := c.interaction("CONNECT", "", c.connect)
	if c.client != "" {
		in.Note = "(" + c.client + ")"
	}
	return in
}

// wait holds a verbose client's operation until its +OK or -ERR.
func (c *natsConn) wait(w natsWait) bool {
	if len(c.waits) >= maxNATSWaits {
		return c.stop(fmt.Sprintf("more than %d operations waiting for their +OK", maxNATSWaits), true)
	}
	c.waits = append(c.waits, w)
	return true
}

// message is the interaction of a message read whole: its subject, its
// payload's start (masked), its header lines and sizes.
func (c *natsConn) message(cmd string, m *natsMsg) (in Interaction, status string) {
	in = c.interaction(cmd, m.subject, m.start)
	in.End = time.Now()
	body, lines := maskBody(m.body), ""
	if m.hdr > 0 {
		status, lines = natsHeader(m.header)
	}
	if cmd == "PUB" {
		in.RequestBody, in.reqCut, in.reqHeader = body, m.cut, lines
	} else {
		in.ResponseBody, in.respCut, in.respHeader = body, m.cut, lines
	}
	parts := []string{size(m.size - m.hdr)}
	if m.hdr > 0 {
		parts[0] += " + " + size(m.hdr) + " of headers"
	}
	if m.reply != "" {
		parts = append(parts, "reply to "+m.reply)
	}
	in.Note = "(" + strings.Join(parts, ", ") + ")"
	return in, status
}

// published tells of a publish read whole: at once, or, for a verbose
// client, once its +OK or -ERR comes.
func (c *natsConn) published(m *natsMsg) bool {
	in, _ := c.message("PUB", m)
	if m.reply != "" {
		if len(c.asks) == maxNATSAsks {
			c.asks = append(c.asks[:0], c.asks[1:]...)
		}
		c.asks = append(c.asks, natsAsk{subject: m.subject, reply: m.reply, start: m.start})
	}
	if c.verbose {
		return c.wait(natsWait{in: in, ok: "published"})
	}
	in.Result = "published"
	c.d.p.emit(in)
	return true
}

// delivered tells of a message the server delivered to the caller: the
// subscription it came by, when not its subject alone, and the request
// it answers.
func (c *natsConn) delivered(m *natsMsg) bool {
	in, status := c.message("MSG", m)
	var more []string
	if sub, ok := c.subs[m.sid]; ok {
		if sub.subject != m.subject {
			more = append(more, "by SUB "+sub.subject)
		}
		if sub.queue != "" {
			more = append(more, "queue "+sub.queue)
		}
		if sub.got++; sub.max > 0 && sub.got >= sub.max {
			delete(c.subs, m.sid) // auto-unsubscribed
		} else {
			c.subs[m.sid] = sub
		}
	}
	asked := ""
	for k := len(c.asks) - 1; k >= 0; k-- {
		if a := c.asks[k]; a.reply == m.subject {
			asked = a.subject
			more = append(more, fmt.Sprintf("the reply to a request on %s, after %s", a.subject, secs(in.End.Sub(a.start))))
			c.asks = append(c.asks[:k], c.asks[k+1:]...)
			break
		}
	}
	in.Result = "received"
	switch code, _, _ := strings.Cut(status, " "); {
	case code == "503":
		in.Result, in.Suspicious = "503 no responders", true
		if asked != "" {
			more[len(more)-1] = "nobody answers a request on " + asked
		}
	case status != "":
		in.Result = "received (status " + status + ")"
	}
	if len(more) > 0 {
		in.Note = strings.TrimSuffix(in.Note, ")") + "; " + strings.Join(more, "; ") + ")"
	}
	c.d.p.emit(in)
	return true
}

// natsHeader splits a message's headers ("NATS/1.0 503\r\nName:
// value\r\n\r\n") into the status its first line gives ("503", "404 No
// Messages"; "" for none) and its header lines, as HTTP's are kept.
func natsHeader(h []byte) (status, lines string) {
	first, rest, _ := bytes.Cut(h, []byte("\n"))
	if v, ok := bytes.CutPrefix(bytes.TrimSpace(first), []byte("NATS/1.0")); ok {
		status = oneLine(string(v), 60)
	}
	return status, keptHeader(rest)
}

// close tells, as the connection ends (how; cut: a fault of seam's ended
// it), of a verbose client's operations still waiting for their answer
// and of a message the connection ended in the middle of. It returns how
// many it told.
func (c *natsConn) close(how string, cut bool) int {
	if c.done {
		return 0
	}
	n := 0
	now := time.Now()
	for _, w := range c.waits {
		if w.in.Command == "UNSUB" {
			continue // no call of the caller's
		}
		w.in.Suspicious = true
		w.in.Result, w.in.Injected, w.in.End = c.d.unanswered(how, cut, w.in.Start, now)
		c.d.p.emit(w.in)
		n++
	}
	for _, side := range []struct {
		r       *natsReader
		cmd, as string
	}{{&c.cli, "PUB", "sent"}, {&c.srv, "MSG", "delivered"}} {
		if m := side.r.msg; m != nil {
			in := c.interaction(side.cmd, m.subject, m.start)
			in.Result, in.End, in.Suspicious, in.Injected = "cut while being "+side.as+" ("+how+")", now, true, cut
			in.Note = fmt.Sprintf("(%s of %s came)", size(m.size-side.r.left), size(m.size))
			c.d.p.emit(in)
			n++
		}
	}
	c.done, c.waits, c.cli.msg, c.srv.msg = true, nil, nil, nil
	return n
}

// SubjectMatches reports whether a NATS subject matches pattern as NATS
// matches subscriptions: token by token ('.' between), * one token, > as
// the last token the rest (one or more); any other token a path.Match
// glob (so a \-quoted character is itself).
func SubjectMatches(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range pt {
		if tok == ">" && i == len(pt)-1 {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		if ok, _ := path.Match(tok, st[i]); !ok {
			return false
		}
	}
	return len(pt) == len(st)
}
