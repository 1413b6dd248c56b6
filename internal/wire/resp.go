package wire

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	header bool   // the top-level value has begun
}

// feed hands each complete top-level value to on; false stops decoding.
func (v *respValue) feed(b []byte, on func(*respValue) bool) bool {
	for len(b) > 0 {
		if v.bulk > 0 {
			n := min(v.bulk, len(b))
			if room := 64 - len(v.keep); room > 0 {
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
			return false
		}
		first := !v.header
		v.header = true
		kind, rest := line[0], string(line[1:])
		switch kind {
		case '*', '>', '~', '%': // array, push, set, map
			n, err := strconv.Atoi(rest)
			if err != nil {
				return false
			}
			if kind == '%' {
				n *= 2
			}
			if first {
				v.top = fmt.Sprintf("%d items", max(n, 0))
				if n < 0 {
					v.top = "nil"
				}
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
			return false // an inline command or something else: not decoded
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
	v.args, v.top, v.header = v.args[:0], "", false
	return ok
}

// respConn is one Redis connection being decoded.
type respConn struct {
	d        *decoder
	cli, srv respValue
	pending  []exchange
}

func (c *respConn) fromClient(b []byte) bool {
	return c.cli.feed(b, func(v *respValue) bool {
		if len(v.args) == 0 {
			return false
		}
		cmd := strings.ToUpper(v.args[0])
		switch cmd {
		case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR":
			return false // replies stop pairing with commands
		}
		op := cmd
		if cmd == "AUTH" || cmd == "HELLO" {
			op += " ***"
		} else if len(v.args) > 1 {
			op += " " + oneLine(maskShape(v.args[1]), 60)
		}
		if len(c.pending) >= 1024 {
			return false
		}
		c.pending = append(c.pending, exchange{method: cmd, target: op, start: time.Now()})
		return true
	})
}

func (c *respConn) fromServer(b []byte) bool {
	return c.srv.feed(b, func(v *respValue) bool {
		if len(c.pending) == 0 {
			return false // a reply to nothing: a push, or we lost track
		}
		ex := c.pending[0]
		c.pending = c.pending[1:]
		cmd, key := redisParts(ex.target)
		c.d.p.emit(Interaction{Edge: c.d.p.Edge, Protocol: "redis", Op: "REDIS " + ex.target, Result: v.top,
			Start: ex.start, End: time.Now(), Suspicious: strings.HasPrefix(v.top, "-") || v.top == "error",
			Method: "REDIS", Target: ex.target, Command: cmd, Key: key})
		return true
	})
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
