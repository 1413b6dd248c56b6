package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
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
	// maxPgBindKeep is what is kept of a Bind, whose parameters checks
	// read all of (Params): 65535 int8 parameters, PostgreSQL's most,
	// take 768 KiB.
	maxPgBindKeep = 1 << 20
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
		limit := maxPgKeep
		if f.typed && f.typ == 'B' {
			limit = maxPgBindKeep
		}
		if f.keep && len(f.body) < limit {
			f.body = append(f.body, b[:min(n, limit-len(f.body))]...)
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
	// types: prepared statement name → its parameters' types (OIDs),
	// as its Parse or its Describe's ParameterDescription gave them.
	types   map[string][]uint32
	portals map[string]pgExec // bound portal → what it runs
	pending []pgExec          // executes and simple queries waiting for their result
	tags    []string          // command tags of the running simple query
	// pid and key are the backend's (BackendKeyData), by which a cancel
	// request names it; cancelAt is when one came for it.
	pid      uint32
	key      []byte
	cancelAt time.Time
	// endedAt is when the connection ended (unix nanoseconds; 0 while
	// open), and lastSQL the statement it left unanswered then, if any:
	// a cancel request may come after (a blackhole held it, or the
	// caller closed first), and still names the backend.
	endedAt atomic.Int64
	lastSQL string
	// cancelOver closes when the query a cancel request came for is
	// answered, or its connection ends (nil: no cancel waits).
	cancelOver chan struct{}
}

type pgExec struct {
	sql    string
	params []string // rendered (pgParams)
	start  time.Time
	simple bool
	sync   bool // not a query: a Sync, which the server answers with ReadyForQuery
	// step is the extended-protocol message this waits for the answer
	// to: 'P' Parse (ParseComplete), 'B' Bind (BindComplete), 'D'
	// Describe (RowDescription or NoData), 'C' Close (CloseComplete), 'E'
	// Execute (its command tag); 0 for a simple query or a Sync. The
	// server answers them in order, and an error answers the first one
	// still waiting (the rest of its batch is skipped up to the Sync): a
	// statement that fails as it is prepared (pgx's Parse, Describe, Sync
	// round trip), or as its parameters are bound, is told with it.
	step byte
	stmt string // a Describe's statement ('D', describing a statement)
}

// query reports whether ex is a statement's: what an error answering it,
// or its connection ending before its answer, is told with.
func (ex pgExec) query() bool {
	return ex.simple || ex.step == 'P' || ex.step == 'B' || ex.step == 'D' || ex.step == 'E'
}

func newPgConn(d *decoder) *pgConn {
	return &pgConn{d: d, stmts: map[string]string{}, types: map[string][]uint32{}, portals: map[string]pgExec{}}
}

func (c *pgConn) fromClient(b []byte) bool {
	return c.told(c.cli.feed(b, func(t byte) bool {
		return t == 0 || t == 'Q' || t == 'P' || t == 'B' || t == 'D' || t == 'E' || t == 'C' || t == 'S'
	},
		c.clientMessage))
}

func (c *pgConn) fromServer(b []byte) bool {
	return c.told(c.srv.feed(b, func(t byte) bool { return t == 'C' || t == 'E' || t == 'K' || t == 't' }, c.serverMessage))
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
		sql, rest := cut0(rest)
		c.stmts[name] = sql
		delete(c.types, name)
		if types := pgTypes(rest); slices.ContainsFunc(types, func(t uint32) bool { return t != 0 }) {
			c.types[name] = types
		}
		c.pending = append(c.pending, pgExec{sql: sql, start: time.Now(), step: 'P'})
	case 'B': // Bind: portal, statement, formats, params
		portal, rest := cut0(body)
		stmt, rest := cut0(rest)
		ex := pgExec{sql: c.stmts[stmt], params: pgParams(rest, c.types[stmt])}
		c.portals[portal] = ex
		ex.start, ex.step = time.Now(), 'B'
		c.pending = append(c.pending, ex)
	case 'D': // Describe a statement ('S') or a portal ('P')
		ex := pgExec{start: time.Now(), step: 'D'}
		if len(body) > 1 {
			name, _ := cut0(body[1:])
			if body[0] == 'S' {
				ex.sql, ex.stmt = c.stmts[name], name
			} else {
				ex.sql, ex.params = c.portals[name].sql, c.portals[name].params
			}
		}
		c.pending = append(c.pending, ex)
	case 'E': // Execute: portal
		portal, _ := cut0(body)
		ex := c.portals[portal]
		ex.start, ex.step = time.Now(), 'E'
		c.pending = append(c.pending, ex)
	case 'S': // Sync: ends an extended batch; pipelined batches each end in one
		c.pending = append(c.pending, pgExec{sync: true})
	case 'C': // Close a statement or portal
		if len(body) > 1 {
			name, _ := cut0(body[1:])
			if body[0] == 'S' {
				delete(c.stmts, name)
				delete(c.types, name)
			} else {
				delete(c.portals, name)
			}
		}
		c.pending = append(c.pending, pgExec{start: time.Now(), step: 'C'})
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
			c.d.p.forgetEndedBackends(time.Now())
			c.d.p.pgBackends.Store(c.pid, c)
		}
	case '1': // ParseComplete
		c.answered('P')
	case '2': // BindComplete
		c.answered('B')
	case '3': // CloseComplete
		c.answered('C')
	case 't': // ParameterDescription: a statement's Describe tells its parameters' types
		// (A portal's Describe has no ParameterDescription.)
		if len(c.pending) > 0 && c.pending[0].step == 'D' {
			c.types[c.pending[0].stmt] = pgTypes(body)
		}
	case 'T', 'n': // RowDescription, NoData: a Describe's answer (a simple query's rows too)
		c.answered('D')
	case 'C', 'I', 's': // CommandComplete, EmptyQueryResponse, PortalSuspended
		tag := cstring(body)
		switch t {
		case 'I':
			tag = "empty query"
		case 's':
			tag = "portal suspended (the rest of its rows are fetched by another Execute)"
		}
		if len(c.pending) > 0 && c.pending[0].simple {
			if t != 'I' {
				c.tags = append(c.tags, tag) // a simple query may run several statements
			}
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

// answered takes the oldest pending message off when it is a step (Parse,
// Bind, Describe, Close) the server just answered without error.
func (c *pgConn) answered(step byte) {
	if len(c.pending) > 0 && c.pending[0].step == step {
		c.pending = c.pending[1:]
	}
}

// done reports the oldest pending query with its result: an Execute's or
// a simple query's, or (failed) the error of whatever step of a statement
// the server was at (its Parse, Bind or Describe).
func (c *pgConn) done(result string, failed bool) {
	if !failed {
		// Steps whose answers were not seen (decoding began after them)
		// are no query's result.
		for len(c.pending) > 0 && !c.pending[0].sync && !c.pending[0].simple && c.pending[0].step != 'E' {
			c.pending = c.pending[1:]
		}
	}
	if len(c.pending) == 0 || c.pending[0].sync {
		return // an error of the Sync's own (a deferred constraint at commit): no query's
	}
	if !c.pending[0].query() {
		c.pending = c.pending[1:] // a Close that failed: no statement's
		return
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
		c.cancelAnswered()
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
		switch sql, start, ended := t.cancelled(now); {
		case !ended.IsZero() && sql == "":
			in.Note = "(its connection had ended " + secs(now.Sub(ended)) + " before, no query of it waiting)"
		case !ended.IsZero():
			masked, _, _ := maskSQL(maskShape(sql))
			in.Result += ": " + oneLine(masked, 80)
			in.Note = "(its connection had ended " + secs(now.Sub(ended)) + " before, the query unanswered)"
		case sql == "":
			in.Note = "(no query of it was running)"
		default:
			masked, _, _ := maskSQL(maskShape(sql))
			in.Result += ": " + oneLine(masked, 80)
			in.Note = "(after the query had run " + secs(now.Sub(start)) + ")"
		}
	}
	c.d.p.emit(in)
}

// cancelled notes a cancel request for c, made at; it is the query it
// cancels, if one is running, and when that began; or, when c's
// connection had ended (ended), the query it left unanswered.
func (c *pgConn) cancelled(at time.Time) (sql string, start, ended time.Time) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if e := c.endedAt.Load(); e != 0 {
		return c.lastSQL, time.Time{}, time.Unix(0, e)
	}
	for _, ex := range c.pending {
		if ex.query() {
			c.cancelAt = at
			if c.cancelOver == nil {
				c.cancelOver = make(chan struct{})
			}
			return ex.sql, ex.start, time.Time{}
		}
	}
	return "", time.Time{}, time.Time{}
}

// pgParams reads Bind's parameters (b: from its formats on; types: the
// statement's parameter types, by OID, where known) as the exact JSON
// text of each value: text values as strings, NULL as null, binary ones
// as their type reads them (integers, floats, booleans, uuids, times,
// text; integers by size when the type is not known), and those of a
// binary type the wire does not read by size ("<16 bytes>", no JSON).
// All of them, as far as the wire keeps the message (maxPgBindKeep): a
// list cut there ends in "…".
func pgParams(b []byte, types []uint32) []string {
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
	for i := 0; i < np; i++ {
		if len(b) < 4 {
			return append(parts, "…")
		}
		n := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		format := uint16(0)
		if nf == 1 {
			format = formats[0]
		} else if i < nf {
			format = formats[i]
		}
		var oid uint32
		if i < len(types) {
			oid = types[i]
		}
		switch {
		case n < 0:
			parts = append(parts, "null")
		case n > len(b):
			return append(parts, "…")
		case format == 0:
			parts = append(parts, pgText(b[:n]))
			b = b[n:]
		default:
			parts = append(parts, pgBinary(b[:n], oid))
			b = b[n:]
		}
	}
	return parts
}

// maxParamsShown is how many of a statement's parameters its line shows
// (then "…"), and maxParamShown how much of a text one (runes); checks
// (Params) have them whole.
const (
	maxParamsShown = 8
	maxParamShown  = 40
)

// paramsNote renders parameters (Params' form) as an interaction's
// note: ["hi", 42, NULL], the first maxParamsShown of them, text cut to
// maxParamShown runes.
func paramsNote(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	shown := make([]string, 0, min(len(parts), maxParamsShown+1))
	for i, p := range parts {
		if i == maxParamsShown {
			shown = append(shown, "…")
			break
		}
		shown = append(shown, paramShown(p))
	}
	return "[" + strings.Join(shown, ", ") + "]"
}

// paramShown is a parameter as a line shows it: NULL for null, a string
// cut short.
func paramShown(p string) string {
	switch {
	case p == "null":
		return "NULL"
	case strings.HasPrefix(p, `"`):
		var s string
		if json.Unmarshal([]byte(p), &s) == nil {
			return fmt.Sprintf("%q", oneLine(s, maxParamShown))
		}
	}
	return p
}

// paramString is s as a JSON string, exactly (s is valid UTF-8). Secrets
// in it are masked by its shape first (maskShape).
func paramString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(maskShape(s))
	return strings.TrimSuffix(b.String(), "\n")
}

// pgText is a text-format parameter's JSON text: a string, whatever
// the type it is given to (the wire shows what the caller sent: "42"
// is the text the server parses as the column's type).
func pgText(b []byte) string {
	if !utf8.Valid(b) {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	return paramString(string(b))
}

// pgEpoch is where PostgreSQL's binary dates and times count from, and
// pgEpochMicros the same in microseconds since 1970.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochMicros = 946684800_000000

// pgBinary is a binary parameter's JSON text, as its type (oid; 0:
// unknown, then integers by size) reads it; a type the wire does not
// read is told by size ("<16 bytes>").
func pgBinary(b []byte, oid uint32) string {
	switch {
	case oid == 0 || oid == 20 || oid == 21 || oid == 23: // int8, int2, int4
		switch len(b) {
		case 2:
			return fmt.Sprint(int16(binary.BigEndian.Uint16(b)))
		case 4:
			return fmt.Sprint(int32(binary.BigEndian.Uint32(b)))
		case 8:
			return fmt.Sprint(int64(binary.BigEndian.Uint64(b)))
		}
	case oid == 26 && len(b) == 4: // oid
		return fmt.Sprint(binary.BigEndian.Uint32(b))
	case oid == 16 && len(b) == 1: // bool
		return fmt.Sprint(b[0] != 0)
	case oid == 700 && len(b) == 4: // float4
		return mysqlFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), 32)
	case oid == 701 && len(b) == 8: // float8
		return mysqlFloat(math.Float64frombits(binary.BigEndian.Uint64(b)), 64)
	case oid == 25 || oid == 1043 || oid == 1042 || oid == 19 || oid == 18 || oid == 114: // text, varchar, bpchar, name, char, json
		if utf8.Valid(b) {
			return paramString(string(b))
		}
	case oid == 3802 && len(b) > 0 && b[0] == 1 && utf8.Valid(b[1:]): // jsonb: version 1, then its text
		return paramString(string(b[1:]))
	case oid == 2950 && len(b) == 16: // uuid
		return fmt.Sprintf(`"%x-%x-%x-%x-%x"`, b[:4], b[4:6], b[6:8], b[8:10], b[10:])
	case (oid == 1114 || oid == 1184) && len(b) == 8: // timestamp, timestamptz: µs since 2000
		switch us := int64(binary.BigEndian.Uint64(b)); {
		case us == math.MaxInt64:
			return `"infinity"`
		case us == math.MinInt64:
			return `"-infinity"`
		case us > -pgEpochMicros<<10 && us < pgEpochMicros<<10: // within a few hundred thousand years
			return `"` + time.UnixMicro(pgEpochMicros+us).UTC().Format("2006-01-02T15:04:05.999999Z") + `"`
		}
	case oid == 1082 && len(b) == 4: // date: days since 2000
		return `"` + pgEpoch.AddDate(0, 0, int(int32(binary.BigEndian.Uint32(b)))).Format("2006-01-02") + `"`
	}
	return fmt.Sprintf("<%d bytes>", len(b))
}

// pgTypes reads parameter types (a count, then OIDs) from b: a Parse's
// after its query, or a ParameterDescription.
func pgTypes(b []byte) []uint32 {
	if len(b) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < 4*n {
		return nil
	}
	types := make([]uint32, n)
	for i := range types {
		types[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return types
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

// unanswered are the statements of c's pending messages, once each: a
// batch's Executes, or when it has none (a Parse, Describe, Sync round
// trip that prepares a statement), its first step; and simple queries.
// What a connection that ends leaves without an answer is told by them.
func (c *pgConn) unanswered() []pgExec {
	var out []pgExec
	batch := -1 // where in out the batch being read began
	executes := false
	for _, ex := range c.pending {
		switch {
		case ex.sync:
			batch, executes = -1, false
		case ex.simple:
			out = append(out, ex)
		case ex.step == 'E':
			if !executes && batch >= 0 {
				out = out[:batch] // its Parse stood for it
			}
			if batch < 0 {
				batch = len(out)
			}
			executes = true
			out = append(out, ex)
		case ex.query() && batch < 0:
			batch = len(out)
			out = append(out, ex)
		}
	}
	return out
}

// closed notes that c's connection ended. Its backend stays known for
// pgBackendLinger: a cancel request for it may still come (one a
// blackhole fault swallowed is read as the fault ends, and a client that
// closes first may send it after). d.mu is held.
func (c *pgConn) closed() {
	if c.pid == 0 || c.endedAt.Load() != 0 {
		return
	}
	if left := c.unanswered(); len(left) > 0 {
		c.lastSQL = left[0].sql
	}
	c.endedAt.Store(time.Now().UnixNano())
	c.cancelAnswered()
}

// cancelAnswered says that no cancel waits any more (awaitPGCancels).
// d.mu is held.
func (c *pgConn) cancelAnswered() {
	if c.cancelOver != nil {
		close(c.cancelOver)
		c.cancelOver = nil
	}
}

// maxCancelWait bounds how long Settle waits for the queries cancel
// requests came for to be answered.
const maxCancelWait = 500 * time.Millisecond

// awaitPGCancels waits, at most maxCancelWait and until ctx is done, for
// the queries of decs that a cancel request came for to be answered (the
// server's "canceling statement due to user request") or their
// connections to end. A client's timeout sends the cancel and returns at
// once; the server's answer follows a moment later, and belongs to the
// test whose timeout it was, not to the next one.
func awaitPGCancels(ctx context.Context, decs []*decoder) {
	var waits []chan struct{}
	for _, d := range decs {
		d.mu.Lock()
		if d.mode == decodingPG && d.pg != nil && d.pg.cancelOver != nil {
			waits = append(waits, d.pg.cancelOver)
		}
		d.mu.Unlock()
	}
	if len(waits) == 0 {
		return
	}
	t := time.NewTimer(maxCancelWait)
	defer t.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// pgBackendLinger is how long a backend whose connection ended stays
// known to cancel requests.
const pgBackendLinger = 10 * time.Second

// forgetEndedBackends drops the backends whose connections ended more
// than pgBackendLinger before now.
func (p *Proxy) forgetEndedBackends(now time.Time) {
	p.pgBackends.Range(func(k, v any) bool {
		if c := v.(*pgConn); c.endedAt.Load() != 0 && now.Sub(time.Unix(0, c.endedAt.Load())) > pgBackendLinger {
			p.pgBackends.CompareAndDelete(k, c)
		}
		return true
	})
}
