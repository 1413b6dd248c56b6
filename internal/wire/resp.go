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
// a number, a string's size, an array's length). A command's key is its
// first key where Redis's command table puts it (redisKeysOf: EVAL's
// after its script and numkeys, XREAD's after STREAMS), none for a
// command without keys. Pipelined commands pair with replies in order;
// AUTH's arguments are never shown, and a connection that subscribes
// (its replies no longer pair) stops being decoded.

// looksLikeRESP: a command as an array of bulk strings.
func looksLikeRESP(b []byte) bool {
	return len(b) >= 4 && b[0] == '*' && b[1] >= '0' && b[1] <= '9' && bytes.Contains(b, []byte("\r\n$"))
}

// respValue reads one value at a time, incrementally, keeping what a
// summary needs: the first strings of an array, or a reply's kind.
type respValue struct {
	line   []byte
	stack  []int    // items still to read in each open array
	bulk   int      // bytes (with CRLF) of a bulk string still to come; 0: none
	keep   []byte   // the bulk string being kept
	args   []string // a command's arguments kept, its name first; a reply's are not
	want   int      // how many args keeps of this command (redisArgsKept)
	top    string   // the top-level value's summary (server side)
	kind   byte     // the top-level value's type ('>': a push, RESP3)
	header bool     // the top-level value has begun
	// inline: a line that is no RESP value is an inline command (words
	// on a line, as redis-cli --pipe and telnet send them); set on the
	// caller's side only, which alone keeps arguments.
	inline bool
}

// maxRedisKey is how much of a command's key (and of each argument kept
// to find it) is kept.
const maxRedisKey = 512

// maxRedisArgs is how many arguments of a command whose first key is not
// its first argument are kept to find it (XREADGROUP's after its
// options and STREAMS, MIGRATE's after AUTH2 and KEYS); a key past them
// is not told.
const maxRedisArgs = 16

// maxRedisPending bounds the commands a connection's decoding keeps
// waiting for their replies; a longer pipeline's next commands are
// counted, not told one by one, until the replies catch up.
const maxRedisPending = 16384

// feed hands each complete top-level value to on; false stops decoding.
func (v *respValue) feed(b []byte, on func(*respValue) bool) bool {
	for len(b) > 0 {
		if v.bulk > 0 {
			n := min(v.bulk, len(b))
			// A command's name, its start; the arguments that may be
			// its key whole, up to maxRedisKey: interactions match it.
			keep := 0
			if v.keeps() {
				keep = maxRedisKey
				if len(v.args) == 0 {
					keep = 64
				}
			}
			if room := keep - len(v.keep); room > 0 {
				v.keep = append(v.keep, b[:min(n, room)]...)
			}
			b, v.bulk = b[n:], v.bulk-n
			if v.bulk == 0 {
				if v.keeps() {
					v.arg(strings.TrimSuffix(string(v.keep), "\r\n"))
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
				if !v.keeps() {
					break
				}
				v.arg(w[:min(len(w), maxRedisKey)])
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
	v.args, v.want, v.top, v.header, v.kind = v.args[:0], 0, "", false, 0
	return ok
}

// keeps reports whether the next string read is an argument kept: the
// caller's command's name, and as many arguments after it as it wants.
func (v *respValue) keeps() bool {
	return v.inline && (len(v.args) == 0 || len(v.args) < v.want)
}

// arg keeps a command's next argument; its name says how many are kept.
func (v *respValue) arg(s string) {
	v.args = append(v.args, s)
	if len(v.args) == 1 {
		v.want = redisArgsKept(strings.ToUpper(s))
	}
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
		cmd, op, key := redisCommand(v.args)
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

// redisCommand reads a command's arguments (those kept; partial when it
// was cut while being sent): the command (upper case), what a line shows
// of it (the command, its subcommand, its first key: "OBJECT ENCODING
// user:1") and its first key, masked; "" when it has none. AUTH's and
// HELLO's credentials are never shown.
func redisCommand(args []string) (cmd, op, key string) {
	cmd = strings.ToUpper(args[0])
	op = cmd
	switch cmd {
	case "AUTH":
		return cmd, op + " ***", ""
	case "HELLO":
		if len(args) > 1 {
			// The protocol asked for is no secret; what may follow
			// (AUTH) is.
			if n, err := strconv.Atoi(args[1]); err == nil {
				op += " " + strconv.Itoa(n)
			}
			if len(args) > 2 {
				op += " ***"
			}
		}
		return cmd, op, ""
	}
	spec := redisKeysOf(cmd, args)
	if spec.sub && len(args) > 1 {
		if w := redisWord(args[1]); w != "" {
			op += " " + w
		}
	}
	k, ok := spec.first(args)
	switch {
	case ok:
		key = maskShape(k)
		op += " " + oneLine(showKey(key), 60)
	case spec.show && len(args) > 1:
		op += " " + oneLine(showKey(maskShape(args[1])), 60)
	}
	return cmd, op, key
}

// redisKeys says where a command's first key is, as Redis's command
// table does: the key_specs of COMMAND INFO (Redis 7's, in its source's
// src/commands/*.json), whose begin_search is an index or a keyword to
// look for and whose find_keys a range or a count of keys (keynum).
type redisKeys struct {
	// at is begin_search's index: of the first key or, with numkeys, of
	// the count of keys that follow it; with keyword, where the search
	// for it starts. 0: the command has no key.
	at      int
	numkeys bool   // find_keys keynum: args[at] counts the keys after it
	keyword string // begin_search keyword: the keys follow it
	migrate bool   // MIGRATE's: at 3, or "" there and the keys after KEYS
	// sub: args[1] is a subcommand (CONFIG GET, OBJECT ENCODING) or a
	// mode (BITOP AND), shown in upper case; show: args[1] is shown as
	// it is though it is no key (ECHO's message, SELECT's database).
	sub, show bool
}

// redisKeysOf is where cmd's first key is (args: its arguments kept,
// for a subcommand's). Commands not named here have their first key
// first (GET key, SET key value, SORT_RO key, MSET key value …), as do
// commands Redis does not know (a module's: JSON.GET key). Pub/sub's
// channels (PUBLISH, SUBSCRIBE …) have no key_specs (SPUBLISH's and
// SSUBSCRIBE's are flagged NOT_KEY) but are recorded as the key: a step
// matches a channel with key:, as it matches a NATS subject.
func redisKeysOf(cmd string, args []string) redisKeys {
	switch cmd {
	case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO": // script|sha|function numkeys key … arg …
		return redisKeys{at: 2, numkeys: true}
	case "BLMPOP", "BZMPOP": // timeout numkeys key …
		return redisKeys{at: 2, numkeys: true}
	case "ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP": // numkeys key …
		return redisKeys{at: 1, numkeys: true}
	case "XREAD": // [COUNT n] [BLOCK ms] STREAMS key … id …
		return redisKeys{at: 1, keyword: "STREAMS"}
	case "XREADGROUP": // GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key … id …
		return redisKeys{at: 4, keyword: "STREAMS"}
	case "MIGRATE": // host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS key …]
		return redisKeys{at: 3, migrate: true}
	case "BITOP": // operation destkey key …
		return redisKeys{at: 2, sub: true}
	case "OBJECT", "MEMORY", "XINFO", "XGROUP", "PFDEBUG":
		// Containers whose subcommands (but HELP, MEMORY STATS …) name
		// a key after them: OBJECT ENCODING key, XGROUP CREATE key ….
		k := redisKeys{sub: true}
		if len(args) > 1 {
			switch cmd + " " + strings.ToUpper(args[1]) {
			case "OBJECT ENCODING", "OBJECT FREQ", "OBJECT IDLETIME", "OBJECT REFCOUNT", "MEMORY USAGE",
				"XINFO STREAM", "XINFO GROUPS", "XINFO CONSUMERS",
				"XGROUP CREATE", "XGROUP CREATECONSUMER", "XGROUP DELCONSUMER", "XGROUP DESTROY", "XGROUP SETID",
				"PFDEBUG GETREG", "PFDEBUG DECODE", "PFDEBUG ENCODING", "PFDEBUG TODENSE", "PFDEBUG SIMD":
				k.at = 2
			}
		}
		return k
	case "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "FUNCTION", "LATENCY", "MODULE", "PUBSUB",
		"SCRIPT", "SLOWLOG", "DEBUG", "SENTINEL":
		// Containers whose subcommands take no key (CLUSTER KEYSLOT's
		// and COMMAND GETKEYS's arguments are not keys to Redis).
		return redisKeys{sub: true}
	case "ECHO", "PING", "SELECT", "INFO", "KEYS":
		return redisKeys{show: true}
	case "MULTI", "EXEC", "DISCARD", "UNWATCH", "QUIT", "RESET", "DBSIZE", "FLUSHDB", "FLUSHALL", "SCAN",
		"RANDOMKEY", "SWAPDB", "TIME", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "SHUTDOWN", "ROLE",
		"REPLICAOF", "SLAVEOF", "FAILOVER", "MONITOR", "SYNC", "PSYNC", "REPLCONF", "WAIT", "WAITAOF",
		"READONLY", "READWRITE", "ASKING", "LOLWUT":
		return redisKeys{}
	}
	return redisKeys{at: 1}
}

// first is the command's first key among its arguments kept, if it
// names one there.
func (k redisKeys) first(args []string) (string, bool) {
	switch {
	case k.at == 0:
		return "", false
	case k.numkeys:
		if k.at+1 >= len(args) {
			return "", false
		}
		if n, err := strconv.Atoi(args[k.at]); err != nil || n < 1 {
			return "", false // no keys (EVAL script 0 …), or an error's
		}
		return args[k.at+1], true
	case k.keyword != "":
		for i := k.at; i+1 < len(args); i++ {
			if strings.EqualFold(args[i], k.keyword) {
				return args[i+1], true
			}
		}
		return "", false
	case k.migrate:
		if len(args) > 3 && args[3] != "" {
			return args[3], true
		}
		// Its options, then KEYS: AUTH's and AUTH2's values are
		// skipped, lest a password read as a key.
		for i := 6; i < len(args); {
			switch strings.ToUpper(args[i]) {
			case "COPY", "REPLACE":
				i++
			case "AUTH":
				i += 2
			case "AUTH2":
				i += 3
			case "KEYS":
				if i+1 < len(args) {
					return args[i+1], true
				}
				return "", false
			default:
				return "", false
			}
		}
		return "", false
	case k.at < len(args):
		return args[k.at], true
	}
	return "", false
}

// redisArgsKept is how many of cmd's arguments, its name first, a
// command's decoding keeps: up to its first key (and HELLO's third, to
// know that credentials follow), or maxRedisArgs when the key follows a
// keyword.
func redisArgsKept(cmd string) int {
	switch k := redisKeysOf(cmd, nil); {
	case cmd == "HELLO":
		return 3
	case k.numkeys:
		return k.at + 2
	case k.keyword != "" || k.migrate:
		return maxRedisArgs
	case k.sub:
		return 3 // the subcommand and a key after it
	default:
		return max(k.at+1, 2)
	}
}

// redisWord is a subcommand as a line shows it, in upper case: a word of
// letters, digits, - and _ up to 32 bytes; "" for anything else.
func redisWord(s string) string {
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('a' <= c && c <= 'z' || '0' <= s[i] && s[i] <= '9' || s[i] == '-' || s[i] == '_') {
			return ""
		}
	}
	return strings.ToUpper(s)
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
	cmd, op, key := redisCommand(v.args)
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
