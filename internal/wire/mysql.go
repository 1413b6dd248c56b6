package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The MySQL client/server protocol (MySQL and MariaDB), read
// incrementally: each query (COM_QUERY) and each execution of a prepared
// statement (COM_STMT_EXECUTE, by the SQL its COM_STMT_PREPARE named) is
// an interaction "SQL …" with its result: "OK, 1 row affected", "3 rows",
// or the server's error ("ERROR 1062 (23000): Duplicate entry …"); an
// execution's parameters are its note, as PostgreSQL's are (["A1", 0],
// mysqlParams). The source is MySQL's documentation of its client/server
// protocol (connection phase: Protocol::Handshake v10,
// HandshakeResponse41, SSLRequest; command phase: COM_QUERY,
// COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA; OK_Packet,
// ERR_Packet, EOF_Packet, the text and binary result sets and the Binary
// Protocol Value), which MariaDB's follows for all of these. MariaDB adds
// what its own documentation says: progress reports (an ERR of code
// 0xffff that answers nothing), COM_STMT_BULK_EXECUTE and statement id
// 0xffffffff (the one just prepared). Commands whose answers have their
// own forms: COM_STATISTICS (a string), COM_FIELD_LIST (column
// definitions), and a LOCAL INFILE's file (the client's packets up to an
// empty one, whatever their sequence numbers).
//
// Every packet is a 3-byte little-endian payload length, a sequence
// number and the payload; a payload of 0xffffff bytes goes on in the next
// packet. The server speaks first; a client that asks for TLS or for
// compression is not decoded further (said once).

const (
	mysqlClientProtocol41   = 1 << 9
	mysqlClientSSL          = 1 << 11
	mysqlClientCompress     = 1 << 5
	mysqlClientDeprecateEOF = 1 << 24
	mysqlClientQueryAttrs   = 1 << 27
	mysqlMoreResults        = 0x0008 // SERVER_MORE_RESULTS_EXISTS, in an OK or EOF's status
	mysqlCursorExists       = 0x0040 // SERVER_STATUS_CURSOR_EXISTS
	maxMySQLResults         = 8      // results of a multi-result answer told one by one
	maxMySQLKeep            = 64 << 10
	maxMySQLPending         = 64
	maxMySQLStmts           = 4096
	// maxMySQLTypes is how many parameters' types a statement keeps for
	// the executions that do not send them again (those of a MariaDB
	// batch's rows after its first, further): an execution that sends
	// them has all of its parameters read, as far as its packet is kept.
	maxMySQLTypes = 256
	// maxMySQLDeferred is how much of an execution of MariaDB's
	// statement 0xffffffff is kept until the prepare before it is
	// answered with the statement's parameter count.
	maxMySQLDeferred = 16 << 10
)

// looksLikeMySQLHandshake: a server's first packet, Handshake v10 (a
// MySQL or MariaDB server's greeting): sequence 0, protocol version 10,
// a printable server version ended by a NUL.
func looksLikeMySQLHandshake(b []byte) bool {
	if len(b) < 6 {
		return false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if b[3] != 0 || b[4] != 10 || n < 30 || n > 1024 {
		return false
	}
	end := bytes.IndexByte(b[5:min(len(b), 4+n)], 0)
	if end <= 0 {
		return false
	}
	for _, c := range b[5 : 5+end] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// mysqlNeedsMore: b, a server's first bytes, may be the start of a
// Handshake v10 that looksLikeMySQLHandshake cannot tell yet (a server
// that writes its greeting in parts); at most 5 + 64 bytes are waited for.
func mysqlNeedsMore(b []byte) bool {
	if len(b) >= 5+64 {
		return false
	}
	if len(b) >= 3 {
		if n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16; n < 30 || n > 1024 {
			return false
		}
	}
	if len(b) >= 4 && b[3] != 0 || len(b) >= 5 && b[4] != 10 {
		return false
	}
	if len(b) < 6 {
		return true
	}
	for _, c := range b[5:] {
		if c == 0 {
			return false // whole: looksLikeMySQLHandshake tells
		}
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// mysqlFramer splits one direction into packets, incrementally, keeping
// at most maxMySQLKeep of each payload.
type mysqlFramer struct {
	hdr  []byte
	seq  byte
	left int    // payload bytes of the packet still to come
	more bool   // the packet is 0xffffff long: the next goes on with it
	body []byte // the payload kept
	long bool   // part of a payload that went on in more packets
	size int    // the whole payload's size
}

// feed hands each complete payload to on (seq: the first packet's); false
// stops decoding.
func (f *mysqlFramer) feed(b []byte, on func(seq byte, body []byte, size int) bool) bool {
	for len(b) > 0 {
		if f.left == 0 && len(f.hdr) < 4 {
			n := min(4-len(f.hdr), len(b))
			f.hdr = append(f.hdr, b[:n]...)
			b = b[n:]
			if len(f.hdr) < 4 {
				return true
			}
			size := int(f.hdr[0]) | int(f.hdr[1])<<8 | int(f.hdr[2])<<16
			if !f.long {
				f.seq, f.body, f.size = f.hdr[3], f.body[:0], 0
			}
			f.left, f.more, f.size = size, size == 0xffffff, f.size+size
			if size == 0 {
				if !f.done(on) {
					return false
				}
			}
			continue
		}
		n := min(f.left, len(b))
		if room := maxMySQLKeep - len(f.body); room > 0 {
			f.body = append(f.body, b[:min(n, room)]...)
		}
		b, f.left = b[n:], f.left-n
		if f.left == 0 && !f.done(on) {
			return false
		}
	}
	return true
}

// done ends a packet; a payload ends with a packet shorter than 0xffffff.
func (f *mysqlFramer) done(on func(seq byte, body []byte, size int) bool) bool {
	f.hdr = f.hdr[:0]
	if f.more {
		f.long = true
		return true
	}
	f.long = false
	return on(f.seq, f.body, f.size)
}

// mysqlExec is a command waiting for its answer.
type mysqlExec struct {
	sql     string // "" for a command that runs none (COM_PING, …)
	op      string // what the command is, when it runs no SQL: "COM_PING"
	start   time.Time
	prepare bool // COM_STMT_PREPARE: its answer names a statement
	// answer is how the command's answer reads when it is not the usual
	// OK, ERR or result set.
	answer mysqlAnswer
	// An execution's parameters, rendered (mysqlParams), and what its
	// note says besides ("(the first of 3 rows)", or why they are not
	// told).
	params []string
	note   string
	// deferred: an execution of statement 0xffffffff sent before the
	// prepare's answer, which gives its parameter count: the packet (up
	// to maxMySQLDeferred after its command byte; cut: it was longer),
	// read when that answer comes.
	deferred []byte
	cut      bool
}

// mysqlStmt is a statement prepared on the connection.
type mysqlStmt struct {
	sql    string
	params int // its parameters (COM_STMT_PREPARE_OK's num_params)
	// types are its first parameters' types (two bytes each: the type
	// and a flag byte, 0x80 unsigned), as the last execution that bound
	// them sent them (up to maxMySQLTypes); nil until one did.
	types []byte
	// long: its parameters (the first 64) whose values came with
	// COM_STMT_SEND_LONG_DATA since its last execution; the execution
	// does not carry them.
	long uint64
}

// mysqlAnswer is the form of a command's answer.
type mysqlAnswer int

const (
	answerUsual  mysqlAnswer = iota // OK, ERR or result sets
	answerText                      // COM_STATISTICS: a bare string
	answerFields                    // COM_FIELD_LIST: column definitions up to an EOF
	answerRows                      // COM_STMT_FETCH: a cursor's rows up to an EOF
)

// mysqlConn is one MySQL connection being decoded.
type mysqlConn struct {
	d        *decoder
	cli, srv mysqlFramer
	server   uint32 // the server's capabilities
	client   uint32 // the client's
	authed   bool   // the connection phase is over
	pending  []mysqlExec
	stmts    map[uint32]*mysqlStmt // by id
	overflow bool                  // more were prepared than stmts keeps
	// prepared is the SQL of the client's last COM_STMT_PREPARE: MariaDB
	// runs it as statement 0xffffffff, a client that sends its execution
	// with it, before the answer (the npm mariadb connector's execute).
	prepared string
	// last is the statement the last prepare answered made, which
	// statement 0xffffffff names; nil when that prepare failed.
	last *mysqlStmt
	// The answer being read, to the oldest pending command.
	state   mysqlState
	cols    int      // column definitions still to come
	params  int      // parameter definitions still to come (a prepare's)
	rows    int      // rows of the result set so far
	results []string // the results of a multi-result answer so far
	// moreResults counts those past maxMySQLResults.
	moreResults int
	// infile: the server asked for a LOCAL INFILE's file; the client's
	// packets are its data, whatever their sequence numbers (they wrap
	// past 255), up to an empty one.
	infile bool
}

type mysqlState int

const (
	myFirst    mysqlState = iota // the answer's first packet
	myColumns                    // column definitions
	myColEOF                     // the EOF after them (without CLIENT_DEPRECATE_EOF)
	myRows                       // rows, up to their EOF or OK
	myPrepDefs                   // a prepare's parameter and column definitions
	myFields                     // COM_FIELD_LIST's column definitions, up to their EOF
)

func newMySQLConn(d *decoder) *mysqlConn {
	return &mysqlConn{d: d, stmts: map[uint32]*mysqlStmt{}}
}

func (c *mysqlConn) deprecateEOF() bool {
	return c.client&c.server&mysqlClientDeprecateEOF != 0
}

func (c *mysqlConn) fromClient(b []byte) bool {
	return c.told(c.cli.feed(b, c.clientPacket))
}

func (c *mysqlConn) fromServer(b []byte) bool {
	return c.told(c.srv.feed(b, c.serverPacket))
}

// told says why decoding stops (ok false), if nothing said it yet.
func (c *mysqlConn) told(ok bool) bool {
	if !ok {
		c.d.stopped("mysql", "a packet the wire cannot read", true)
	}
	return ok
}

func (c *mysqlConn) clientPacket(seq byte, p []byte, size int) bool {
	if !c.authed {
		if seq == 1 && len(p) >= 4 && c.client == 0 {
			// HandshakeResponse41 or, 32 bytes long, an SSLRequest.
			c.client = binary.LittleEndian.Uint32(p)
			switch {
			case c.client&mysqlClientSSL != 0 && c.server&mysqlClientSSL != 0:
				c.d.stopped("mysql", "the client asked for TLS: its queries are not seen (connect with TLS off for seam to record them: the mariadb CLI's --skip-ssl, MySQL's --ssl-mode=DISABLED, Go's tls=false)", false)
				return false
			case c.client&mysqlClientCompress != 0 && c.server&mysqlClientCompress != 0:
				c.d.stopped("mysql", "the client asked for the compressed protocol, which the wire does not read", false)
				return false
			case c.client&mysqlClientProtocol41 == 0:
				c.d.stopped("mysql", "a client of the protocol before 4.1, which the wire does not read", false)
				return false
			}
		}
		return true // the rest of the authentication exchange
	}
	if c.infile {
		// A LOCAL INFILE's data: an empty packet ends it, and the
		// server's OK or ERR answers the query that asked for it.
		c.infile = size != 0
		return true
	}
	if seq != 0 || len(p) == 0 {
		return true // a command's own later packets
	}
	if len(c.pending) >= maxMySQLPending {
		c.d.stopped("mysql", fmt.Sprintf("more than %d commands waiting for their answers", maxMySQLPending), true)
		return false
	}
	now := time.Now()
	switch cmd, rest := p[0], p[1:]; cmd {
	case 0x03: // COM_QUERY
		if c.client&c.server&mysqlClientQueryAttrs != 0 {
			// Query attributes: a count of parameters and of sets
			// (length-encoded), then, when any, their types and values.
			n, k := lenenc(rest)
			_, k2 := lenenc(rest[k:])
			if n != 0 || k == 0 || k2 == 0 {
				c.pending = append(c.pending, mysqlExec{op: "COM_QUERY with attributes", start: now})
				return true
			}
			rest = rest[k+k2:]
		}
		sql := string(rest)
		if size > len(p) {
			sql += " …"
		}
		c.pending = append(c.pending, mysqlExec{sql: sql, start: now})
	case 0x16: // COM_STMT_PREPARE: answered with the statement's id
		// Kept as an interaction keeps it (masking cuts it so after): a
		// connection may keep thousands.
		c.prepared = oneLine(string(rest), maxSQLKept)
		c.pending = append(c.pending, mysqlExec{sql: c.prepared, start: now, prepare: true})
	case 0x17, 0xfa: // COM_STMT_EXECUTE (MariaDB's COM_STMT_BULK_EXECUTE): statement id, …
		if len(rest) < 4 {
			return false
		}
		id := binary.LittleEndian.Uint32(rest)
		st := c.stmts[id]
		sql, ok := "", st != nil
		if ok {
			sql = st.sql
		}
		if id == 0xffffffff && c.prepared != "" {
			sql, ok, st = c.prepared, true, c.last
		}
		switch {
		case !ok && c.overflow:
			sql = fmt.Sprintf("(prepared statement %d: more statements were prepared on the connection than the wire keeps, %d)", id, maxMySQLStmts)
		case !ok:
			sql = fmt.Sprintf("(prepared statement %d, prepared before the wire saw it)", id)
		}
		ex := mysqlExec{sql: sql, start: now}
		switch {
		case id == 0xffffffff && c.preparing():
			// Its parameter count comes with the prepare's answer.
			ex.deferred = append([]byte{cmd}, rest[:min(len(rest), maxMySQLDeferred)]...)
			ex.cut = size > len(p) || len(rest) > maxMySQLDeferred
		case st != nil:
			ex.params, ex.note = c.execParams(st, cmd, rest, size > len(p))
		}
		c.pending = append(c.pending, ex)
	case 0x19: // COM_STMT_CLOSE: no answer
		if len(rest) >= 4 {
			id := binary.LittleEndian.Uint32(rest)
			if c.stmts[id] == c.last {
				c.last = nil
			}
			delete(c.stmts, id)
		}
	case 0x01: // COM_QUIT: no answer
	case 0x18: // COM_STMT_SEND_LONG_DATA: statement id, parameter, data; no answer
		if len(rest) >= 6 {
			id, n := binary.LittleEndian.Uint32(rest), binary.LittleEndian.Uint16(rest[4:])
			st := c.stmts[id]
			if id == 0xffffffff {
				st = c.last
			}
			if st != nil && n < 64 {
				st.long |= 1 << n
			}
		}
	case 0x1a: // COM_STMT_RESET: the long data sent goes
		if len(rest) >= 4 {
			if st := c.stmts[binary.LittleEndian.Uint32(rest)]; st != nil {
				st.long = 0
			}
		}
		c.pending = append(c.pending, mysqlExec{op: "COM_STMT_RESET", start: now})
	case 0x11: // COM_CHANGE_USER: authentication again
		c.pending = append(c.pending, mysqlExec{op: "COM_CHANGE_USER", start: now})
		c.authed = false
		clear(c.stmts) // the server closes the connection's statements
		c.last = nil
	case 0x1f: // COM_RESET_CONNECTION: the statements go too
		c.pending = append(c.pending, mysqlExec{op: "COM_RESET_CONNECTION", start: now})
		clear(c.stmts)
		c.last = nil
	case 0x09: // COM_STATISTICS: answered with a bare string
		c.pending = append(c.pending, mysqlExec{op: "COM_STATISTICS", start: now, answer: answerText})
	case 0x04: // COM_FIELD_LIST: answered with column definitions
		table, _, _ := bytes.Cut(rest, []byte{0})
		c.pending = append(c.pending, mysqlExec{op: "COM_FIELD_LIST " + oneLine(string(table), 64), start: now, answer: answerFields})
	default:
		ex := mysqlExec{op: mysqlCommandName(cmd), start: now}
		if cmd == 0x1c { // COM_STMT_FETCH: rows of a cursor, up to an EOF
			ex.answer = answerRows
		}
		c.pending = append(c.pending, ex)
	}
	return true
}

// mysqlCommandName names a command that runs no SQL.
func mysqlCommandName(cmd byte) string {
	switch cmd {
	case 0x02:
		return "COM_INIT_DB"
	case 0x0e:
		return "COM_PING"
	case 0x1f:
		return "COM_RESET_CONNECTION"
	case 0x1a:
		return "COM_STMT_RESET"
	case 0x1b:
		return "COM_SET_OPTION"
	case 0x1c:
		return "COM_STMT_FETCH"
	case 0x09:
		return "COM_STATISTICS"
	case 0x0c:
		return "COM_PROCESS_KILL"
	}
	return fmt.Sprintf("command 0x%02x", cmd)
}

func (c *mysqlConn) serverPacket(seq byte, p []byte, size int) bool {
	if len(p) == 0 {
		return true
	}
	if !c.authed {
		return c.authPacket(seq, p)
	}
	if len(p) >= 3 && p[0] == 0xff && p[1] == 0xff && p[2] == 0xff {
		// Error 0xffff is MariaDB's progress report (LOAD DATA, ALTER
		// TABLE, … to a client with MARIADB_CLIENT_PROGRESS), sent while
		// the command runs: not its answer.
		return true
	}
	answer := answerUsual
	if len(c.pending) > 0 {
		answer = c.pending[0].answer
	}
	switch c.state {
	case myFirst:
		switch {
		case answer == answerText && p[0] != 0xff:
			c.end(oneLine(string(p), 200), false, 0)
		case answer == answerFields && p[0] != 0xff:
			c.cols, c.state = 0, myFields
			return c.serverPacket(seq, p, size)
		case answer == answerRows && p[0] != 0xff:
			c.rows, c.state = 0, myRows
			return c.serverPacket(seq, p, size)
		case p[0] == 0x00 && len(c.pending) > 0 && c.pending[0].prepare:
			// COM_STMT_PREPARE_OK: id, columns, parameters.
			if len(p) < 9 {
				return false
			}
			id := binary.LittleEndian.Uint32(p[1:])
			cols, params := int(binary.LittleEndian.Uint16(p[5:])), int(binary.LittleEndian.Uint16(p[7:]))
			st := &mysqlStmt{sql: c.pending[0].sql, params: params}
			if len(c.stmts) < maxMySQLStmts {
				c.stmts[id] = st
			} else {
				c.overflow = true
			}
			c.last = st
			c.pending = c.pending[1:] // the prepare itself is no interaction: its executions are
			c.undefer(st)
			c.params, c.cols = 0, 0
			if params > 0 {
				c.params = params + c.eofs()
			}
			if cols > 0 {
				c.params += cols + c.eofs()
			}
			if c.params > 0 {
				c.state = myPrepDefs
			}
		case p[0] == 0x00:
			c.end(c.okResult(p), false, c.okStatus(p))
		case p[0] == 0xff:
			prepare := len(c.pending) > 0 && c.pending[0].prepare
			if prepare {
				c.last = nil // MariaDB's statement 0xffffffff names none now
			}
			c.end(mysqlError(p, c.client&mysqlClientProtocol41 != 0), true, 0)
			if prepare {
				c.undefer(nil)
			}
		case p[0] == 0xfe:
			c.end("EOF", false, 0) // a cursor's fetch past its rows
		case p[0] == 0xfb:
			// LOCAL INFILE: the client sends a file, then the server's
			// OK or ERR answers it.
			c.infile = true
		default:
			n, k := lenenc(p)
			if k == 0 || n == 0 {
				return false
			}
			c.cols, c.rows, c.state = int(n), 0, myColumns
			if len(p) == k+1 && p[k] == 0 {
				// A byte after the count says no column definitions
				// follow: the client has them from the prepare
				// (MariaDB's MARIADB_CLIENT_CACHE_METADATA, MySQL's
				// CLIENT_OPTIONAL_RESULTSET_METADATA); their EOF still
				// does, without CLIENT_DEPRECATE_EOF.
				c.state = myRows
				if !c.deprecateEOF() {
					c.state = myColEOF
				}
			}
		}
	case myColumns:
		if c.cols--; c.cols == 0 {
			c.state = myRows
			if !c.deprecateEOF() {
				c.state = myColEOF
			}
		}
	case myColEOF:
		c.state = myRows
		if len(p) >= 5 && p[0] == 0xfe && binary.LittleEndian.Uint16(p[3:])&mysqlCursorExists != 0 {
			// An execute that opened a cursor: its rows come with the
			// COM_STMT_FETCH commands that follow.
			c.end("cursor opened", false, 0)
		}
	case myRows:
		switch {
		case p[0] == 0xfe && size < 0xffffff && (len(p) < 9 || c.deprecateEOF()):
			// EOF, or the OK that ends the rows (CLIENT_DEPRECATE_EOF).
			status := uint16(0)
			if len(p) >= 5 && !c.deprecateEOF() {
				status = binary.LittleEndian.Uint16(p[3:])
			} else if c.deprecateEOF() {
				status = c.okStatus(p)
			}
			c.end(rowsResult(c.rows), false, status)
		case p[0] == 0xff:
			c.end(mysqlError(p, c.client&mysqlClientProtocol41 != 0), true, 0)
		default:
			c.rows++
		}
	case myPrepDefs:
		if c.params--; c.params == 0 {
			c.state = myFirst
		}
	case myFields:
		switch {
		case p[0] == 0xfe: // a definition starts with its catalog, "def"
			// The EOF (or, with CLIENT_DEPRECATE_EOF, the OK) after them.
			c.end(columnsResult(c.cols), false, 0)
		case p[0] == 0xff:
			c.end(mysqlError(p, c.client&mysqlClientProtocol41 != 0), true, 0)
		default:
			c.cols++
		}
	}
	return true
}

// preparing reports whether a prepare waits for its answer.
func (c *mysqlConn) preparing() bool {
	for _, ex := range c.pending {
		if ex.prepare {
			return true
		}
	}
	return false
}

// undefer reads the parameters of the executions of statement 0xffffffff
// sent before the prepare just answered (st: the statement it made; nil:
// it failed, and so do they), up to the next prepare.
func (c *mysqlConn) undefer(st *mysqlStmt) {
	for i := range c.pending {
		ex := &c.pending[i]
		if ex.prepare {
			return
		}
		if ex.deferred != nil {
			if st != nil && len(ex.deferred) > 0 {
				ex.params, ex.note = c.execParams(st, ex.deferred[0], ex.deferred[1:], ex.cut)
			}
			ex.deferred = nil
		}
	}
}

// execParams renders an execution's parameters (cmd: COM_STMT_EXECUTE or
// MariaDB's COM_STMT_BULK_EXECUTE; b: the packet after its command byte;
// cut: the packet was longer than b, as a batch's note says) and what
// its note says besides. It
// keeps the types the execution binds, and forgets the long data it
// used. What cannot be read is told "…" (from there on) or, when none
// of it can, by the note: the bytes still pass untouched.
//
// COM_STMT_EXECUTE (MySQL's documentation): statement id (4), flags (1),
// iteration count (4); when the statement has parameters (or the flags
// say 0x08, PARAMETER_COUNT_AVAILABLE), their count (length-encoded,
// with CLIENT_QUERY_ATTRIBUTES only), a NULL bitmap, new_params_bind_flag
// (1), then when it is 1 each parameter's type (2; with
// CLIENT_QUERY_ATTRIBUTES its name, a length-encoded string, after it),
// then the values of those not NULL nor sent as long data (Binary
// Protocol Value). Parameters past the statement's (query attributes) are
// not told.
//
// COM_STMT_BULK_EXECUTE (MariaDB's documentation): statement id (4),
// flags (2; 128: SEND_TYPES_TO_SERVER), the types (2 each) when sent,
// then rows to the packet's end: for each parameter an indicator (0: a
// value follows, 1: NULL, 2: DEFAULT, 3: IGNORE) and the value. Its first
// row is told, and how many there are.
func (c *mysqlConn) execParams(st *mysqlStmt, cmd byte, b []byte, cut bool) (params []string, note string) {
	long := st.long
	st.long = 0 // the server forgets it once the statement runs
	if cmd == 0xfa {
		return bulkParams(st, b, cut)
	}
	if len(b) < 9 {
		return nil, "(parameters not decoded: the packet ends before them)"
	}
	flags, b := b[4], b[9:]
	n := st.params
	attrs := c.client&c.server&mysqlClientQueryAttrs != 0
	if n == 0 && !(attrs && flags&0x08 != 0) {
		return nil, ""
	}
	total := n
	if attrs {
		count, k := lenenc(b)
		if k == 0 || count > uint64(len(b))*8 {
			return nil, "(parameters not decoded: their count cannot be read)"
		}
		total, b = int(count), b[k:]
	}
	n = min(n, total)
	if n == 0 {
		return nil, ""
	}
	nulls := (total + 7) / 8
	if len(b) < nulls+1 {
		return nil, "(parameters not decoded: the packet ends before them)"
	}
	bitmap, bound := b[:nulls], b[nulls]
	b = b[nulls+1:]
	types := st.types
	if bound != 0 {
		types = make([]byte, 0, 2*min(total, len(b)/2))
		for i := 0; i < total; i++ {
			if len(b) < 2 {
				return nil, "(parameters not decoded: the packet ends in their types)"
			}
			types = append(types, b[0], b[1])
			b = b[2:]
			if attrs {
				name, k := lenenc(b)
				if k == 0 || name > uint64(len(b)-k) {
					return nil, "(parameters not decoded: the packet ends in their types)"
				}
				b = b[k+int(name):]
			}
		}
		st.types = slices.Clone(types[:min(len(types), 2*maxMySQLTypes)])
	} else if st.types == nil {
		return nil, "(parameters not decoded: their types were bound by an execution the wire did not read)"
	}
	for i := 0; i < n; i++ {
		switch {
		case bitmap[i/8]&(1<<(i%8)) != 0:
			params = append(params, "null")
			continue
		case i < 64 && long&(1<<i) != 0:
			params = append(params, "<long data>")
			continue
		case 2*i+1 >= len(types):
			return append(params, "…"), ""
		}
		v, k, ok := mysqlValue(types[2*i], types[2*i+1], b)
		if !ok {
			return append(params, "…"), ""
		}
		params, b = append(params, v), b[k:]
	}
	return params, ""
}

// bulkParams is execParams for MariaDB's COM_STMT_BULK_EXECUTE.
func bulkParams(st *mysqlStmt, b []byte, cut bool) (params []string, note string) {
	if len(b) < 6 {
		return nil, "(parameters not decoded: the packet ends before them)"
	}
	flags, b := binary.LittleEndian.Uint16(b[4:]), b[6:]
	n := st.params
	if n == 0 {
		return nil, ""
	}
	types := st.types
	if flags&128 != 0 {
		if len(b) < 2*n {
			return nil, "(parameters not decoded: the packet ends in their types)"
		}
		types = b[:2*n]
		st.types = bytes.Clone(b[:2*min(n, maxMySQLTypes)])
		b = b[2*n:]
	} else if st.types == nil {
		return nil, "(parameters not decoded: their types were bound by an execution the wire did not read)"
	}
	rows := 0
	for len(b) > 0 {
		var row []string
		for i := 0; i < n; i++ {
			if 2*i+1 >= len(types) || len(b) == 0 {
				row = append(row, "…")
				break
			}
			ind := b[0]
			b = b[1:]
			v, k, ok := "", 0, ind <= 3
			switch ind {
			case 0:
				v, k, ok = mysqlValue(types[2*i], types[2*i+1], b)
			case 1:
				v = "null"
			case 2:
				v = "DEFAULT"
			case 3:
				v = "IGNORE"
			}
			if !ok {
				row = append(row, "…")
				break
			}
			row, b = append(row, v), b[k:]
		}
		if rows++; rows == 1 {
			params = row
		}
		if row[len(row)-1] == "…" {
			// The rest cannot be read: a row cut short, or a value
			// the wire cannot size.
			return params, "(a batch: its first row)"
		}
	}
	switch {
	case cut:
		return params, "(a batch: its first row)"
	case rows > 1:
		return params, fmt.Sprintf("(the first of %d rows)", rows)
	}
	return params, ""
}

// mysqlValue renders a parameter's value (the Binary Protocol Value of
// MySQL's documentation) of type t (flag: its flag byte, 0x80 unsigned)
// at the start of b, and how many bytes it took; not ok when it cannot be
// read (b ends first, or the type is one the wire does not know).
func mysqlValue(t, flag byte, b []byte) (v string, n int, ok bool) {
	unsigned := flag&0x80 != 0
	if mysqlFixedSize(t) > len(b) {
		return "", 0, false
	}
	switch t {
	case 0x06: // MYSQL_TYPE_NULL: no value
		return "null", 0, true
	case 0x01: // TINY
		if unsigned {
			return strconv.FormatUint(uint64(b[0]), 10), 1, true
		}
		return strconv.FormatInt(int64(int8(b[0])), 10), 1, true
	case 0x02, 0x0d: // SHORT, YEAR
		u := binary.LittleEndian.Uint16(b)
		if unsigned || t == 0x0d {
			return strconv.FormatUint(uint64(u), 10), 2, true
		}
		return strconv.FormatInt(int64(int16(u)), 10), 2, true
	case 0x03, 0x09: // LONG, INT24
		u := binary.LittleEndian.Uint32(b)
		if unsigned {
			return strconv.FormatUint(uint64(u), 10), 4, true
		}
		return strconv.FormatInt(int64(int32(u)), 10), 4, true
	case 0x08: // LONGLONG
		u := binary.LittleEndian.Uint64(b)
		if unsigned {
			return strconv.FormatUint(u, 10), 8, true
		}
		return strconv.FormatInt(int64(u), 10), 8, true
	case 0x04: // FLOAT
		return mysqlFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32), 4, true
	case 0x05: // DOUBLE
		return mysqlFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 64), 8, true
	case 0x07, 0x0a, 0x0c, 0x0e, 0x11, 0x12: // TIMESTAMP, DATE, DATETIME, NEWDATE, TIMESTAMP2, DATETIME2
		return mysqlDate(t, b)
	case 0x0b, 0x13: // TIME, TIME2
		return mysqlTime(b)
	case 0x00, 0xf6: // DECIMAL, NEWDECIMAL: its digits, as a string
		s, k, ok := mysqlString(b)
		if ok && s != "" && strings.Trim(s, "0123456789.-+eE") == "" {
			return s, k, true
		}
		if ok && utf8.ValidString(s) {
			return paramString(s), k, true
		}
	case 0x0f, 0x10, 0xf3, 0xf5, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff:
		// VARCHAR, BIT, VECTOR, JSON, ENUM, SET, the BLOBs, VAR_STRING,
		// STRING, GEOMETRY: a length-encoded string.
		s, k, ok := mysqlString(b)
		switch {
		case !ok:
		case !utf8.ValidString(s):
			return fmt.Sprintf("<%d bytes>", len(s)), k, true
		default:
			// Whole, its secrets masked by their shape (paramString): a
			// line cuts it short (paramsNote), a check reads it all.
			return paramString(s), k, true
		}
	}
	return "", 0, false
}

// mysqlFloat renders a FLOAT (bits 32) or DOUBLE as JSON writes numbers
// (a JavaScript client's every number is a DOUBLE): 12345678901234, 0.25,
// 1e-7; NaN and the infinities, which no JSON number is, as words.
func mysqlFloat(f float64, bits int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.Quote(strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.FormatFloat(f, format, -1, bits)
}

// mysqlFixedSize is the size of a value of a fixed-size type t (0 for
// the others).
func mysqlFixedSize(t byte) int {
	switch t {
	case 0x01:
		return 1
	case 0x02, 0x0d:
		return 2
	case 0x03, 0x09, 0x04:
		return 4
	case 0x08, 0x05:
		return 8
	}
	return 0
}

// mysqlString reads a length-encoded string at the start of b.
func mysqlString(b []byte) (s string, n int, ok bool) {
	size, k := lenenc(b)
	if k == 0 || size > uint64(len(b)-k) {
		return "", 0, false
	}
	return string(b[k : k+int(size)]), k + int(size), true
}

// mysqlDate renders a DATE, DATETIME or TIMESTAMP value: its length (0,
// 4, 7 or 11), year (2), month, day, hour, minute, second, microseconds
// (4); "2024-05-01", "2024-05-01 12:30:00.250000".
func mysqlDate(t byte, b []byte) (string, int, bool) {
	if len(b) == 0 || int(b[0]) >= len(b) {
		return "", 0, false
	}
	n := int(b[0])
	d := b[1 : 1+n]
	var year, month, day, hour, minute, sec, micro int
	switch n {
	case 11:
		micro = int(binary.LittleEndian.Uint32(d[7:]))
		fallthrough
	case 7:
		hour, minute, sec = int(d[4]), int(d[5]), int(d[6])
		fallthrough
	case 4:
		year, month, day = int(binary.LittleEndian.Uint16(d)), int(d[2]), int(d[3])
	case 0:
	default:
		return "", 0, false
	}
	s := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
	if t != 0x0a || n > 4 { // a DATE's time is none
		s += fmt.Sprintf(" %02d:%02d:%02d", hour, minute, sec)
	}
	if micro != 0 {
		s += fmt.Sprintf(".%06d", micro)
	}
	return `"` + s + `"`, 1 + n, true
}

// mysqlTime renders a TIME value: its length (0, 8 or 12), negative (1),
// days (4), hour, minute, second, microseconds (4); "-36:00:05".
func mysqlTime(b []byte) (string, int, bool) {
	if len(b) == 0 || int(b[0]) >= len(b) {
		return "", 0, false
	}
	n := int(b[0])
	d := b[1 : 1+n]
	var neg bool
	var hours uint64
	var minute, sec, micro int
	switch n {
	case 12:
		micro = int(binary.LittleEndian.Uint32(d[8:]))
		fallthrough
	case 8:
		neg = d[0] == 1
		hours = uint64(binary.LittleEndian.Uint32(d[1:]))*24 + uint64(d[5])
		minute, sec = int(d[6]), int(d[7])
	case 0:
	default:
		return "", 0, false
	}
	s := fmt.Sprintf("%02d:%02d:%02d", hours, minute, sec)
	if micro != 0 {
		s += fmt.Sprintf(".%06d", micro)
	}
	if neg {
		s = "-" + s
	}
	return `"` + s + `"`, 1 + n, true
}

// columnsResult is a COM_FIELD_LIST's: "1 column", "3 columns".
func columnsResult(n int) string {
	if n == 1 {
		return "1 column"
	}
	return fmt.Sprintf("%d columns", n)
}

// rowsResult is a result set's: "1 row", "3 rows".
func rowsResult(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// eofs is how many EOF packets end a list of definitions: one, or none
// with CLIENT_DEPRECATE_EOF.
func (c *mysqlConn) eofs() int {
	if c.deprecateEOF() {
		return 0
	}
	return 1
}

// authPacket reads the connection phase's server side: its greeting, then
// up to the OK or ERR that ends the authentication (an auth switch and
// the caching_sha2 exchange come between).
func (c *mysqlConn) authPacket(seq byte, p []byte) bool {
	changing := len(c.pending) > 0 && c.pending[0].op == "COM_CHANGE_USER"
	switch {
	case seq == 0 && p[0] == 10 && c.server == 0:
		// Handshake v10: version, NUL, thread id (4), auth data (8),
		// filler, capabilities' low 2 bytes, charset, status, high 2.
		i := bytes.IndexByte(p, 0)
		if i < 0 || len(p) < i+1+4+8+1+2 {
			return false
		}
		at := i + 1 + 4 + 8 + 1
		c.server = uint32(binary.LittleEndian.Uint16(p[at:]))
		if len(p) >= at+2+1+2+2 {
			c.server |= uint32(binary.LittleEndian.Uint16(p[at+5:])) << 16
		}
	case p[0] == 0x00 && (seq > 1 || changing):
		// The OK that ends it: after the client's response (2), an auth
		// switch (4), …; a COM_CHANGE_USER's may come first (1).
		c.authed = true
		if changing {
			c.end("OK", false, 0)
		}
	case p[0] == 0xff:
		res := mysqlError(p, true)
		if changing {
			c.end(res, true, 0)
			c.authed = true // the connection goes on as the user it was
			return true
		}
		now := time.Now()
		c.d.p.emit(Interaction{Edge: c.d.p.Edge, Protocol: "mysql", Op: "connect", Result: res, Start: now, End: now, Suspicious: true})
		c.d.stopTold = true // the server closes the connection
		return false
	}
	return true
}

// okResult renders an OK packet: "OK", "OK, 2 rows affected".
func (c *mysqlConn) okResult(p []byte) string {
	n, k := lenenc(p[1:])
	if k == 0 || n == 0 {
		return "OK"
	}
	if n == 1 {
		return "OK, 1 row affected"
	}
	return fmt.Sprintf("OK, %d rows affected", n)
}

// okStatus is an OK packet's status flags (after its header, the affected
// rows and the last insert id, both length-encoded).
func (c *mysqlConn) okStatus(p []byte) uint16 {
	_, k1 := lenenc(p[1:])
	if k1 == 0 {
		return 0
	}
	_, k2 := lenenc(p[1+k1:])
	if k2 == 0 || len(p) < 1+k1+k2+2 {
		return 0
	}
	return binary.LittleEndian.Uint16(p[1+k1+k2:])
}

// end ends the answer to the oldest pending command with a result; a
// result set or OK whose status says more results follow (a CALL, a
// multi-statement query) waits for them.
func (c *mysqlConn) end(result string, failed bool, status uint16) {
	c.state = myFirst
	if !failed && status&mysqlMoreResults != 0 {
		if len(c.results) < maxMySQLResults {
			c.results = append(c.results, result)
		} else {
			c.moreResults++
		}
		return
	}
	result = strings.Join(append(c.results, result), ", ")
	if c.moreResults > 0 {
		result += fmt.Sprintf(" (and %d more results)", c.moreResults)
	}
	c.results, c.moreResults = nil, 0
	if len(c.pending) == 0 {
		return
	}
	ex := c.pending[0]
	c.pending = c.pending[1:]
	in := Interaction{Edge: c.d.p.Edge, Protocol: "mysql", Result: result, Start: ex.start, End: time.Now(), Suspicious: failed}
	if ex.op != "" {
		in.Op = ex.op
	} else {
		// The statement goes whole: masking (maskProtocol) masks it,
		// then cuts it and makes its operation, as PostgreSQL's, and
		// masks the parameters given to its secret columns.
		in.Op, in.Method, in.Target = "SQL", "SQL", ex.sql
		if len(ex.params) > 0 {
			in.Note, in.params = paramsNote(ex.params), ex.params
		}
		if ex.note != "" {
			in.Note = strings.TrimSpace(in.Note + " " + ex.note)
		}
	}
	c.d.p.emit(in)
}

// mysqlError renders an ERR packet: "ERROR 1062 (23000): Duplicate entry
// 'a' for key 'PRIMARY'".
func mysqlError(p []byte, protocol41 bool) string {
	if len(p) < 3 {
		return "ERROR"
	}
	code := binary.LittleEndian.Uint16(p[1:])
	msg := p[3:]
	state := ""
	if protocol41 && len(msg) >= 6 && msg[0] == '#' {
		state, msg = " ("+string(msg[1:6])+")", msg[6:]
	}
	return fmt.Sprintf("ERROR %d%s: %s", code, state, oneLine(string(msg), 200))
}

// lenenc reads a length-encoded integer; k is how many bytes it took (0:
// none could be read).
func lenenc(b []byte) (n uint64, k int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch b[0] {
	case 0xfc:
		if len(b) >= 3 {
			return uint64(binary.LittleEndian.Uint16(b[1:])), 3
		}
	case 0xfd:
		if len(b) >= 4 {
			return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
		}
	case 0xfe:
		if len(b) >= 9 {
			return binary.LittleEndian.Uint64(b[1:]), 9
		}
	case 0xfb, 0xff:
		return 0, 0
	default:
		return uint64(b[0]), 1
	}
	return 0, 0
}
