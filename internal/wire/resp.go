package wire

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Redis's protocol (RESP), read incrementally: each command becomes an
// interaction "REDIS SET key" with the reply as its result (+OK, an error,
// a number, a string's size, an array's length). Pipelined commands pair
// with replies in order; AUTH's arguments are never shown, and a
// connection that subscribes (its replies no longer pair) stops being
// decoded.

// looksLikeRESP: a command as an array of bulk strings.
func looksLikeRESP(b []byte) bool {
	return len(b) >= 4 && b[0] == '*' && b[1] >= '0' && b[1] <= '9' && bytes.Contains(b, []byte("\r\n$"))
}

// respValue reads one value at a time, incrementally, keeping what a
// summary needs: the first strings of an array, or a reply's kind.
type respValue struct {
	line   []byte
	stack  []int  // items still to read in each open array
	bulk   int    // bytes (with CRLF) of a bulk string still to come; 0: none
	keep   []byte // the bulk string being kept
	args   []string
	top    string // the top-level value's summary (server side)
	kind   byte   // the top-level value's type ('>': a push, RESP3)
	header bool   // the top-level value has begun
	// inline: a line that is no RESP value is an inline command (words
	// on a line, as redis-cli --pipe and telnet send them); a caller's
	// side only.
	inline bool
}

// maxRedisKey is how much of a command's key is kept.
const maxRedisKey = 512

// maxRedisPending bounds the commands a connection's decoding keeps
// waiting for their replies; a longer pipeline's next commands are
// counted, not told one by one, until the replies catch up.
const maxRedisPending = 16384

// feed hands each complete top-level value to on; false stops decoding.
func (v *respValue) feed(b []byte, on func(*respValue) bool) bool {
	for len(b) > 0 {
		if v.bulk > 0 {
			n := min(v.bulk, len(b))
			// A command's key (its second string) whole, up to
			// maxRedisKey: interactions match it; the rest, its start.
			keep := 64
			if len(v.args) == 1 {
				keep = maxRedisKey
			}
			if room := keep - len(v.keep); room > 0 {
				v.keep = append(v.keep, b[:min(n, room)]...)
			}
			b, v.bulk = b[n:], v.bulk-n
			if v.bulk == 0 {
				s := strings.TrimSuffix(string(v.keep), "\r\n")
				if len(v.args) < 3 {
					v.args = append(v.args, s)
				}
				v.keep = v.keep[:0]
				if !v.item(on) {
					return false
				}
			}
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			v.line = append(v.line, b...)
			return len(v.line) < 64<<10
		}
		v.line = append(v.line, b[:i+1]...)
		b = b[i+1:]
		line := bytes.TrimRight(v.line, "\r\n")
		v.line = v.line[:0]
		if len(line) == 0 {
			if v.inline && !v.header {
				continue // Redis skips an empty inline command
			}
			return false
		}
		first := !v.header
		v.header = true
		kind, rest := line[0], string(line[1:])
		if first {
			v.kind = kind
		}
		switch kind {
		case '*', '>', '~', '%': // array, push, set, map
			n, err := strconv.Atoi(rest)
			if err != nil {
				return false
			}
			if first {
				v.top = fmt.Sprintf("%d items", max(n, 0))
				if kind == '%' {
					v.top = fmt.Sprintf("%d pairs", max(n, 0))
				}
				if n < 0 {
					v.top = "nil"
				}
			}
			if kind == '%' {
				n *= 2
			}
			if n <= 0 {
				if !v.item(on) {
					return false
				}
				continue
			}
			v.stack = append(v.stack, n)
		case '$', '=', '!': // bulk string, verbatim, bulk error
			n, err := strconv.Atoi(rest)
			if err != nil {
				return false
			}
			if first {
				v.top = fmt.Sprintf("%d bytes", max(n, 0))
				if n < 0 {
					v.top = "nil"
				}
				if kind == '!' {
					v.top = "error"
				}
			}
			if n < 0 {
				if !v.item(on) {
					return false
				}
				continue
			}
			v.bulk = n + 2
		case '+', '-', ':', ',', '#', '(', '_':
			if first {
				switch kind {
				case '+':
					v.top = "+" + oneLine(rest, 60)
				case '-':
					v.top = "-" + oneLine(rest, 120)
				case '_':
					v.top = "nil"
				default:
					v.top = rest
				}
			}
			if !v.item(on) {
				return false
			}
		default:
			if !v.inline || !first {
				return false // something else: not decoded
			}
			for _, w := range strings.Fields(string(line)) {
				if len(v.args) == 3 {
					break
				}
				v.args = append(v.args, w[:min(len(w), maxRedisKey)])
			}
			if !v.item(on) {
				return false
			}
		}
	}
	return true
}

// item ends one value, closing the arrays it completes.
func (v *respValue) item(on func(*respValue) bool) bool {
	for len(v.stack) > 0 {
		v.stack[len(v.stack)-1]--
		if v.stack[len(v.stack)-1] > 0 {
			return true
		}
		v.stack = v.stack[:len(v.stack)-1]
	}
	ok := on(v)
	v.args, v.top, v.header, v.kind = v.args[:0], "", false, 0
	return ok
}

// respConn is one Redis connection being decoded. untold counts the
// commands of a long pipeline beyond maxRedisPending still waiting (their
// replies come after those of pending); answered and errs count the
// replies to them so far, told in one line once all have come, or the
// connection ends.
type respConn struct {
	d                      *decoder
	cli, srv               respValue
	pending                []exchange
	untold, answered, errs int
	since                  time.Time
	// resp3: HELLO 3 made the connection RESP3, where a subscriber's
	// messages and its (un)subscriptions' confirmations are pushes and
	// its commands' replies still pair.
	resp3 bool
}

func newRespConn(d *decoder) *respConn {
	c := &respConn{d: d}
	c.cli.inline = true
	return c
}

func (c *respConn) fromClient(b []byte) bool {
	return c.told(c.cli.feed(b, func(v *respValue) bool {
		if len(v.args) == 0 {
			return false
		}
		cmd := strings.ToUpper(v.args[0])
		op, key := cmd, ""
		if cmd == "AUTH" || cmd == "HELLO" {
			if cmd == "HELLO" && len(v.args) > 1 {
				// The protocol asked for is no secret; what may follow
				// (AUTH) is.
				if n, err := strconv.Atoi(v.args[1]); err == nil {
					op += " " + strconv.Itoa(n)
				}
				if len(v.args) > 2 {
					op += " ***"
				}
			} else if cmd == "AUTH" || len(v.args) > 1 {
				op += " ***"
			}
		} else if len(v.args) > 1 {
			key = maskShape(v.args[1])
			op += " " + oneLine(showKey(key), 60)
		}
		switch cmd {
		case "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
			if !c.resp3 {
				break // not subscribed (a subscriber's decoding stopped): a reply of its own
			}
			fallthrough
		case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR":
			// Answered by no reply that pairs with it: told as sent.
			now := time.Now()
			in := Interaction{Edge: c.d.p.Edge, Protocol: "redis", Op: "REDIS " + op, Result: "sent", Start: now, End: now,
				Method: "REDIS", Target: op, Command: cmd, Key: key}
			if c.resp3 && cmd != "MONITOR" {
				in.Note = "(RESP3: its confirmation and the messages come as pushes)"
				c.d.p.emit(in)
				return true
			}
			c.d.p.emit(in)
			c.d.stopped("redis", "the connection carries messages ("+cmd+"), which do not pair with commands", false)
			return false
		}
		if len(c.pending) >= maxRedisPending || c.untold > 0 {
			// Its reply comes after those of the commands before it.
			if c.untold == 0 {
				c.since = time.Now()
			}
			c.untold++
			return true
		}
		c.pending = append(c.pending, exchange{method: cmd, target: op, key: key, start: time.Now()})
		return true
	}))
}

// showKey is a key as a line shows it: quoted with escapes when it is
// not printable text (binary keys are Redis's too; redis-cli --pipe ends
// with an ECHO of 20 random bytes).
func showKey(key string) string {
	for _, r := range key {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(key)
		}
	}
	return key
}

// told says why decoding stops (ok false), if nothing said it yet.
func (c *respConn) told(ok bool) bool {
	if !ok {
		c.d.stopped("redis", "a value the wire cannot read", true)
	}
	return ok
}

// cutWhileSent tells of a command the connection ended (how; cut: a
// fault of seam's) in the middle of, as the caller was sending it: the
// callee never had it whole. Whether there was one.
func (c *respConn) cutWhileSent(how string, cut bool) bool {
	v := &c.cli
	if !v.header && len(v.line) == 0 || len(v.args) == 0 {
		return false
	}
	cmd := strings.ToUpper(v.args[0])
	op, key := cmd, ""
	if len(v.args) > 1 && cmd != "AUTH" && cmd != "HELLO" {
		key = maskShape(v.args[1])
		op += " " + oneLine(showKey(key), 60)
	}
	now := time.Now()
	c.d.p.emit(Interaction{Edge: c.d.p.Edge, Protocol: "redis", Op: "REDIS " + op, Start: now, End: now, Suspicious: true, Injected: cut,
		Result: "cut while being sent (" + how + ")", Method: "REDIS", Target: op, Command: cmd, Key: key})
	return true
}

func (c *respConn) fromServer(b []byte) bool {
	return c.told(c.srv.feed(b, func(v *respValue) bool {
		if v.kind == '>' {
			return true // a push (RESP3: an invalidation, a message): no command's reply
		}
		if len(c.pending) == 0 {
			if c.untold == 0 {
				c.d.stopped("redis", "a reply to no command (the wire lost track of which reply is whose)", true)
				return false
			}
			c.answered++
			if strings.HasPrefix(v.top, "-") || v.top == "error" {
				c.errs++
			}
			if c.untold--; c.untold == 0 {
				c.closeUntold("")
			}
			return true
		}
		ex := c.pending[0]
		c.pending = c.pending[1:]
		if ex.method == "HELLO" && !strings.HasPrefix(v.top, "-") {
			c.resp3 = v.kind == '%' // HELLO 3 answers with a map
		}
		cmd, _ := redisParts(ex.target)
		c.d.p.emit(Interaction{Edge: c.d.p.Edge, Protocol: "redis", Op: "REDIS " + ex.target, Result: v.top,
			Start: ex.start, End: time.Now(), Suspicious: strings.HasPrefix(v.top, "-") || v.top == "error",
			Method: "REDIS", Target: ex.target, Command: cmd, Key: ex.key})
		return true
	}))
}

// closeUntold tells of the commands of a long pipeline not told one by
// one: those answered, and, as the connection ends (how), those left
// without an answer.
func (c *respConn) closeUntold(how string) {
	tell := func(n int, what, more string, bad bool) {
		if n > 0 {
			c.d.p.emit(Interaction{Edge: c.d.p.Edge, Protocol: "redis", Op: "connection", Start: c.since, End: time.Now(), Suspicious: bad,
				Result: fmt.Sprintf("%d more commands %s, not told one by one (a pipeline of more than %d waited at once)%s", n, what, maxRedisPending, more)})
		}
	}
	more := ""
	if c.errs > 0 {
		more = fmt.Sprintf("; %d error replies among them", c.errs)
	}
	tell(c.answered, "answered", more, c.errs > 0)
	tell(c.untold, "got no answer ("+how+")", "", true)
	c.untold, c.answered, c.errs = 0, 0, 0
}

// redisParts splits a recorded command ("GET user1", "AUTH ***") into the
// command and its key.
func redisParts(target string) (cmd, key string) {
	cmd, key, _ = strings.Cut(target, " ")
	if key == masked {
		key = ""
	}
	return cmd, key
}
