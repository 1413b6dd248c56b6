package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// PostgreSQL's wire protocol (version 3), read incrementally like HTTP:
// each query (simple, or extended: Parse, Bind, Execute) becomes an
// interaction "SQL <statement> [params]" with the command tag ("INSERT 0
// 1") or the server's error as its result. Passwords and other
// authentication messages are skipped unread.

const (
	pgProtocol3 = 196608   // 3.0
	pgSSL       = 80877103 // SSLRequest
	pgGSSENC    = 80877104 // GSSENCRequest
	pgCancel    = 80877102
	maxPgKeep   = 64 << 10 // payload kept per message; longer ones are cut
)

// looksLikePG: a startup, SSL or GSS request, which have no type byte.
func looksLikePG(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	n, code := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	return n >= 8 && n < 10000 && (code == pgProtocol3 || code == pgSSL || code == pgGSSENC || code == pgCancel)
}

// pgFramer splits one direction into messages, incrementally.
type pgFramer struct {
	typed  bool // after startup: a type byte before each length
	hdr    []byte
	typ    byte
	left   int    // payload bytes still to come
	keep   bool   // keep this message's payload
	body   []byte // kept payload
	oneOff int    // single bytes to take as messages (the answer to an SSLRequest)
}

// feed hands each complete message to on; false stops decoding.
func (f *pgFramer) feed(b []byte, want func(typ byte) bool, on func(typ byte, body []byte) bool) bool {
	for len(b) > 0 {
		if f.oneOff > 0 {
			f.oneOff--
			c := b[0]
			b = b[1:]
			if !on(0, []byte{c}) {
				return false
			}
			continue
		}
		if f.left == 0 { // a header, or the rest of one
			hl := 4
			if f.typed {
				hl = 5
			}
			n := min(hl-len(f.hdr), len(b))
			f.hdr = append(f.hdr, b[:n]...)
			b = b[n:]
			if len(f.hdr) < hl {
				return true
			}
			if f.typed {
				f.typ = f.hdr[0]
			} else {
				f.typ = 0
			}
			size := int(binary.BigEndian.Uint32(f.hdr[hl-4:]))
			f.hdr = nil
			if size < 4 {
				return false
			}
			f.left = size - 4
			f.keep = want(f.typ)
			f.body = f.body[:0]
			if f.left == 0 {
				if !on(f.typ, f.body) {
					return false
				}
				continue
			}
		}
		n := min(f.left, len(b))
		if f.keep && len(f.body) < maxPgKeep {
			f.body = append(f.body, b[:min(n, maxPgKeep-len(f.body))]...)
		}
		b, f.left = b[n:], f.left-n
		if f.left == 0 {
			body := f.body
			f.body = f.body[:0]
			if !on(f.typ, body) {
				return false
			}
		}
	}
	return true
}

// pgConn is one PostgreSQL connection being decoded.
type pgConn struct {
	d        *decoder
	cli, srv pgFramer
	stmts    map[string]string // prepared statement name → SQL
	portals  map[string]pgExec // bound portal → what it runs
	pending  []pgExec          // executes and simple queries waiting for their result
	tags     []string          // command tags of the running simple query
	// pid and key are the backend's (BackendKeyData), by which a cancel
	// request names it; cancelAt is when one came for it.
	pid      uint32
	key      []byte
	cancelAt time.Time
}

type pgExec struct {
	sql    string
	params []string // rendered (pgParams)
	start  time.Time
	simple bool
	sync   bool // not a query: a Sync, which the server answers with ReadyForQuery
}

func newPgConn(d *decoder) *pgConn {
	return &pgConn{d: d, stmts: map[string]string{}, portals: map[string]pgExec{}}
}

func (c *pgConn) fromClient(b []byte) bool {
	return c.told(c.cli.feed(b, func(t byte) bool {
		return t == 0 || t == 'Q' || t == 'P' || t == 'B' || t == 'E' || t == 'C' || t == 'S'
	},
		c.clientMessage))
}

func (c *pgConn) fromServer(b []byte) bool {
	return c.told(c.srv.feed(b, func(t byte) bool { return t == 'C' || t == 'E' || t == 'K' }, c.serverMessage))
}

// told says why decoding stops (ok false) if nothing said it yet: the
// framing broke.
func (c *pgConn) told(ok bool) bool {
	if !ok {
		c.d.stopped("postgres", "a message the wire cannot read (a length below 4)", true)
	}
	return ok
}

func (c *pgConn) clientMessage(t byte, body []byte) bool {
	switch t {
	case 0: // startup, SSL request, GSS request, cancel
		if len(body) < 4 || c.cli.typed {
			c.d.stopped("postgres", "a message the wire cannot read (a startup message too short, or a message without a type)", true)
			return false
		}
		switch code := binary.BigEndian.Uint32(body); code {
		case pgProtocol3:
			c.cli.typed, c.srv.typed = true, true
		case pgSSL, pgGSSENC:
			c.srv.oneOff = 1 // the server answers with one byte: S, G or N
		case pgCancel:
			c.cancel(body[4:])
			c.d.stopTold = true // nothing follows: the server closes the connection
			return false
		default:
			c.d.stopped("postgres", fmt.Sprintf("a startup message of protocol %d.%d, which the wire does not read", code>>16, code&0xffff), true)
			return false
		}
	case 'Q':
		c.pending = append(c.pending, pgExec{sql: cstring(body), start: time.Now(), simple: true})
	case 'P': // Parse: name, query
		name, rest := cut0(body)
		c.stmts[name] = cstring(rest)
	case 'B': // Bind: portal, statement, formats, params
		portal, rest := cut0(body)
		stmt, rest := cut0(rest)
		c.portals[portal] = pgExec{sql: c.stmts[stmt], params: pgParams(rest)}
	case 'E': // Execute: portal
		portal, _ := cut0(body)
		ex := c.portals[portal]
		ex.start = time.Now()
		c.pending = append(c.pending, ex)
	case 'S': // Sync: ends an extended batch; pipelined batches each end in one
		c.pending = append(c.pending, pgExec{sync: true})
	case 'C': // Close a statement or portal
		if len(body) > 1 {
			name, _ := cut0(body[1:])
			if body[0] == 'S' {
				delete(c.stmts, name)
			} else {
				delete(c.portals, name)
			}
		}
	}
	return true
}

func (c *pgConn) serverMessage(t byte, body []byte) bool {
	switch t {
	case 0: // the one-byte answer to an SSL or GSS request
		if len(body) == 1 && body[0] != 'N' {
			// Encrypted from here on: said, or the edge's queries would
			// vanish unexplained.
			c.d.stopped("postgres", "the server accepted encryption (SSLRequest or GSSENCRequest): its queries are not seen (connect with sslmode=disable for seam to record them)", false)
			return false
		}
	case 'K': // BackendKeyData: a cancel request names the backend by it
		if len(body) >= 8 {
			c.pid, c.key = binary.BigEndian.Uint32(body), bytes.Clone(body[4:])
			c.d.p.pgBackends.Store(c.pid, c)
		}
	case 'C': // CommandComplete
		tag := cstring(body)
		if len(c.pending) > 0 && c.pending[0].simple {
			c.tags = append(c.tags, tag) // a simple query may run several statements
			return true
		}
		c.done(tag, false)
	case 'E': // ErrorResponse
		c.done(pgError(body), true)
		// The server skips the rest of an extended batch until Sync.
	case 'Z': // ReadyForQuery: a simple query is over, or a batch up to its Sync
		if len(c.pending) > 0 && c.pending[0].simple {
			c.done(strings.Join(c.tags, ", "), false)
			return true
		}
		c.tags = nil
		// What is left of the batch the server skipped (after an error);
		// the batches pipelined after it are still to come.
		for i, ex := range c.pending {
			if ex.sync {
				c.pending = c.pending[i+1:]
				return true
			}
		}
		c.pending = nil
	}
	return true
}

// done reports the oldest pending query with its result.
func (c *pgConn) done(result string, failed bool) {
	if len(c.pending) == 0 || c.pending[0].sync {
		return // an error of the Sync's own (a deferred constraint at commit): no query's
	}
	ex := c.pending[0]
	c.pending = c.pending[1:]
	c.tags = nil
	if result == "" {
		result = "ok"
	}
	// The statement goes whole: masking (maskProtocol) masks it whole,
	// then cuts it (a cut statement could end inside a secret's literal,
	// which would no longer be one) and makes its operation.
	in := Interaction{Edge: c.d.p.Edge, Protocol: "postgres", Op: "SQL", Result: result,
		Start: ex.start, End: time.Now(), Suspicious: failed, Method: "SQL", Target: ex.sql}
	if len(ex.params) > 0 {
		in.Note, in.params = paramsNote(ex.params), ex.params
	}
	// A cancel request is for the query running as it came: this one,
	// whatever became of it (it may have ended first).
	if at := c.cancelAt; !at.IsZero() {
		c.cancelAt = time.Time{}
		if failed && strings.Contains(result, " 57014:") && !at.Before(ex.start) { // query_canceled
			in.Result += " (the caller sent a cancel request after " + secs(at.Sub(ex.start)) + ")"
		}
	}
	c.d.p.emit(in)
}

// cancel records a cancel request (b: the backend's process ID and secret
// key), with the query it cancels when the backend is one of the edge's.
// The server answers none: it closes the connection.
func (c *pgConn) cancel(b []byte) {
	now := time.Now()
	in := Interaction{Edge: c.d.p.Edge, Protocol: "postgres", Op: "connection", Start: now, End: now}
	if len(b) < 4 {
		in.Result, in.Suspicious = "cancel request without a backend", true
		c.d.p.emit(in)
		return
	}
	pid := binary.BigEndian.Uint32(b)
	in.Result = fmt.Sprintf("cancel request for backend %d", pid)
	v, ok := c.d.p.pgBackends.Load(pid)
	switch t, _ := v.(*pgConn); {
	case !ok || t == c:
		in.Note = "(a backend not seen on this edge)"
	case !bytes.Equal(t.key, b[4:]):
		in.Note, in.Suspicious = "(its secret key is not the backend's: the server ignores it)", true
	default:
		if sql, start := t.cancelled(now); sql == "" {
			in.Note = "(no query of it was running)"
		} else {
			masked, _, _ := maskSQL(maskShape(sql))
			in.Result += ": " + oneLine(masked, 80)
			in.Note = "(after the query had run " + secs(now.Sub(start)) + ")"
		}
	}
	c.d.p.emit(in)
}

// cancelled notes a cancel request for c, made at; it is the query it
// cancels, if one is running, and when that began.
func (c *pgConn) cancelled(at time.Time) (sql string, start time.Time) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for _, ex := range c.pending {
		if !ex.sync {
			c.cancelAt = at
			return ex.sql, ex.start
		}
	}
	return "", time.Time{}
}

// pgParams renders Bind's parameters briefly: text values quoted, binary
// ones by size.
func pgParams(b []byte) []string {
	if len(b) < 2 {
		return nil
	}
	nf := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < 2*nf+2 {
		return nil
	}
	formats := make([]uint16, nf)
	for i := range formats {
		formats[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	b = b[2*nf:]
	np := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var parts []string
	for i := 0; i < np && len(b) >= 4; i++ {
		n := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		format := uint16(0)
		if nf == 1 {
			format = formats[0]
		} else if i < nf {
			format = formats[i]
		}
		switch {
		case n < 0:
			parts = append(parts, "NULL")
		case n > len(b):
			return append(parts, "…")
		case format == 0:
			// Secrets are masked before the value is cut short, so that
			// their shape is still whole.
			parts = append(parts, fmt.Sprintf("%q", oneLine(maskShape(string(b[:n])), 40)))
			b = b[n:]
		default:
			parts = append(parts, pgBinary(b[:n]))
			b = b[n:]
		}
		if len(parts) == 8 && i+1 < np {
			parts = append(parts, "…")
			break
		}
	}
	return parts
}

// paramsNote renders parameters as an interaction's note: ["hi", 42].
func paramsNote(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pgBinary shows a binary parameter: integers as numbers, the rest by size.
func pgBinary(b []byte) string {
	switch len(b) {
	case 2:
		return fmt.Sprint(int16(binary.BigEndian.Uint16(b)))
	case 4:
		return fmt.Sprint(int32(binary.BigEndian.Uint32(b)))
	case 8:
		return fmt.Sprint(int64(binary.BigEndian.Uint64(b)))
	}
	return fmt.Sprintf("<%d bytes>", len(b))
}

// pgError renders an ErrorResponse: "ERROR 23505: duplicate key …".
func pgError(b []byte) string {
	var sev, code, msg string
	for len(b) > 1 {
		k := b[0]
		var v string
		v, b = cut0(b[1:])
		switch k {
		case 'S':
			sev = v
		case 'C':
			code = v
		case 'M':
			msg = v
		}
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s: %s", sev, code, msg))
}

func cut0(b []byte) (string, []byte) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), nil
	}
	return string(b[:i]), b[i+1:]
}

func cstring(b []byte) string {
	s, _ := cut0(b)
	return s
}

// oneLine collapses whitespace and cuts s to n runes.
// maxOpSQL is how much of a statement a timeline's line shows;
// maxSQLKept how much of it an interaction keeps (in runes).
const (
	maxOpSQL   = 160
	maxSQLKept = 16 << 10
)

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s // no more runes than bytes
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
