package wire

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func respCmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// A pipeline longer than the decoding keeps waiting (redis-py's, a mass
// insert) is not reported as unanswered, and decoding goes on after it:
// the commands beyond are counted, then told in one line once answered.
func TestRedisLongPipeline(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	n := maxRedisPending + 2000
	var cmds, replies strings.Builder
	for i := range n {
		cmds.WriteString(respCmd("SET", fmt.Sprintf("pipe:%d", i), "v"))
		replies.WriteString("+OK\r\n")
	}
	d.fromClient([]byte(cmds.String()))
	d.fromServer([]byte(replies.String()))
	d.fromClient([]byte(respCmd("GET", "after")))
	d.fromServer([]byte("$1\r\nx\r\n"))
	d.close("connection closed", false)
	var told, last string
	count := 0
	for _, in := range s.all() {
		switch {
		case in.Op == "connection":
			told = in.Result
		case strings.HasPrefix(in.Result, "no answer") || in.Suspicious:
			t.Errorf("a false blame: %s", in.Line())
		default:
			count++
			last = in.Op + " → " + in.Result
		}
	}
	if count != maxRedisPending+1 || last != "REDIS GET after → 1 bytes" {
		t.Errorf("%d commands told one by one, the last %q; want %d, then the GET after the pipeline", count, last, maxRedisPending+1)
	}
	if want := fmt.Sprintf("%d more commands answered", n-maxRedisPending); !strings.HasPrefix(told, want) {
		t.Errorf("the pipeline's rest: %q, want %q…", told, want)
	}
}

// RESP3 pushes (client tracking's invalidations) are no command's reply:
// the commands after them still pair with their replies.
func TestRedisRESP3PushesAreSkipped(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte(respCmd("GET", "tracked")))
	d.fromServer([]byte("$1\r\n1\r\n"))
	d.fromServer([]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ntracked\r\n"))
	d.fromClient([]byte(respCmd("INCR", "n1")))
	d.fromServer([]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nn1\r\n:1\r\n"))
	want := "REDIS GET tracked → 1 bytes\nREDIS INCR n1 → 1"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A long key is kept whole for interactions to match (up to
// maxRedisKey), though the line shows its start.
func TestRedisLongKeyIsKeptWhole(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	key := "tenant:acme-corporation:user:00000000-1111-2222-3333-444444444444:profile"
	d.fromClient([]byte(respCmd("GET", key)))
	d.fromServer([]byte("$-1\r\n"))
	got := s.all()
	if len(got) != 1 || got[0].Key != key || got[0].Command != "GET" {
		t.Fatalf("got %+v, want the key whole", got)
	}
}

// libpq's pipeline mode (psycopg's, pgx's batches): several extended
// queries each ending in its own Sync, sent before any answer. Each is
// told; a failed one's batch is skipped by the server up to its Sync, and
// the batches after it still pair with their results.
func TestPostgresPipelinedSyncs(t *testing.T) {
	var s sink
	d := pgReady(&s)
	query := func(sql, param string) []byte {
		var b []byte
		b = append(b, pgMsg('P', cstr(""), cstr(sql), []byte{0, 0})...)
		b = append(b, pgMsg('B', cstr(""), cstr(""), []byte{0, 0, 0, 1, 0, 0, 0, byte(len(param))}, []byte(param), []byte{0, 0})...)
		b = append(b, pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...)
		return append(b, pgMsg('S')...)
	}
	var batch []byte
	for i, p := range []string{"1", "2", "x", "4"} {
		sql := "select $1::int * 10 as v"
		if i == 1 {
			// a batch of two executes, one Sync: the first fails, the
			// second is skipped
			batch = append(batch, pgMsg('P', cstr(""), cstr("select 1/0"), []byte{0, 0})...)
			batch = append(batch, pgMsg('B', cstr(""), cstr(""), []byte{0, 0, 0, 0, 0, 0})...)
			batch = append(batch, pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...)
		}
		batch = append(batch, query(sql, p)...)
	}
	d.fromClient(batch)
	ok := append(append(append(pgMsg('1'), pgMsg('2')...), pgMsg('D')...), pgMsg('C', cstr("SELECT 1"))...)
	var answers []byte
	answers = append(answers, append(ok, pgMsg('Z', []byte("I"))...)...)
	answers = append(answers, append(append(pgMsg('1'), pgMsg('2')...), pgMsg('E', []byte("SERROR\x00C22012\x00Mdivision by zero\x00\x00"))...)...)
	answers = append(answers, pgMsg('Z', []byte("I"))...)
	answers = append(answers, append(ok, pgMsg('Z', []byte("I"))...)...)
	answers = append(answers, append(ok, pgMsg('Z', []byte("I"))...)...)
	d.fromServer(answers)
	want := []string{
		"SQL select $1::int * 10 as v → SELECT 1",
		"SQL select 1/0 → ERROR 22012: division by zero",
		"SQL select $1::int * 10 as v → SELECT 1",
		"SQL select $1::int * 10 as v → SELECT 1",
	}
	if got := s.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := s.all(); len(got) == 4 && (got[2].Note != `["x"]` || got[3].Note != `["4"]`) {
		t.Errorf("the batches after the failed one paired with the wrong parameters: %q, %q", got[2].Note, got[3].Note)
	}
}

// A Sync is no query: a connection cut while an extended query waits
// tells of that query alone.
func TestPostgresCutExtendedQuery(t *testing.T) {
	var s sink
	d := pgReady(&s)
	var b []byte
	b = append(b, pgMsg('P', cstr(""), cstr("select pg_sleep(10)"), []byte{0, 0})...)
	b = append(b, pgMsg('B', cstr(""), cstr(""), []byte{0, 0, 0, 0, 0, 0})...)
	b = append(b, pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...)
	d.fromClient(append(b, pgMsg('S')...))
	if n := d.close("reset by a fault", true); n != 1 {
		t.Errorf("%d calls in flight, want 1", n)
	}
	if got := s.lines(); len(got) != 1 || !strings.HasPrefix(got[0], "SQL select pg_sleep(10) → no response (reset by a fault)") {
		t.Errorf("got %q", got)
	}
}

// A statement longer than what is kept is masked whole before it is cut:
// a secret literal the cut falls inside stays masked.
func TestPostgresLongStatementMaskedBeforeItIsCut(t *testing.T) {
	var s sink
	d := pgReady(&s)
	var sql strings.Builder
	sql.WriteString("insert into users (name, api_token) values ")
	for i := 0; sql.Len() < maxSQLKept+1000; i++ {
		fmt.Fprintf(&sql, "('user%d', 'tok-%d-%s'), ", i, i, strings.Repeat("s", 50))
	}
	sql.WriteString("('last', 'tok-last')")
	d.fromClient(pgMsg('Q', cstr(sql.String())))
	d.fromServer(append(pgMsg('C', cstr("INSERT 0 300")), pgMsg('Z', []byte("I"))...))
	got := s.all()
	if len(got) != 1 || strings.Contains(got[0].Target, "tok-") || !strings.Contains(got[0].Target, "user1") {
		t.Errorf("kept %d interactions; a token shows: %v", len(got), len(got) == 1 && strings.Contains(got[0].Target, "tok-"))
	}
}

// pgReady is a decoder of a PostgreSQL connection past its start-up,
// telling s.
func pgReady(s *sink) *decoder {
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	startup := make([]byte, 4)
	binary.BigEndian.PutUint32(startup, pgProtocol3)
	d.fromClient(pgMsg(0, startup, cstr("user"), cstr("app"), []byte{0}))
	d.fromServer(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...))
	return d
}

// A command's key is its first key where Redis's command table puts it
// (COMMAND INFO's key_specs), not its first argument: EVAL's after its
// script and numkeys, XREAD's after STREAMS, OBJECT's after its
// subcommand; a command without keys has none, and what a line shows of
// it never holds an argument that may be a secret (CONFIG SET's value).
func TestRedisKeyIsTheFirstKey(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	long := "return redis.call('GET', KEYS[1]) -- " + strings.Repeat("x", 2*maxRedisKey)
	for _, tc := range []struct {
		args    []string
		op, key string
	}{
		{[]string{"EVAL", "return redis.call('INCRBY', KEYS[1], ARGV[1])", "1", "node:lua", "3"}, "EVAL node:lua", "node:lua"},
		{[]string{"evalsha", "8cd00688c05c46bde4a2e60658ef20a2e5c0b248", "2", "a:1", "b:2", "x"}, "EVALSHA a:1", "a:1"},
		{[]string{"EVAL_RO", long, "1", "ro:key"}, "EVAL_RO ro:key", "ro:key"},
		{[]string{"EVALSHA_RO", "8cd00688c05c46bde4a2e60658ef20a2e5c0b248", "1", "ro:sha"}, "EVALSHA_RO ro:sha", "ro:sha"},
		{[]string{"FCALL", "myfunc", "1", "f:key", "arg"}, "FCALL f:key", "f:key"},
		{[]string{"FCALL_RO", "myfunc", "1", "f:ro"}, "FCALL_RO f:ro", "f:ro"},
		{[]string{"EVAL", "return redis.error_reply('boom')", "0"}, "EVAL", ""},
		{[]string{"EVAL", "return 1", "nope", "k"}, "EVAL", ""},
		{[]string{"EVAL", "return 1", "1", jwt}, "EVAL ***", "***"},
		{[]string{"XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s:1", "s:2", "0", "0"}, "XREAD s:1", "s:1"},
		{[]string{"XREADGROUP", "GROUP", "streams", "STREAMS", "COUNT", "1", "NOACK", "streams", "s:g", ">"}, "XREADGROUP s:g", "s:g"},
		{[]string{"XREAD", "COUNT", "2"}, "XREAD", ""},
		{[]string{"OBJECT", "encoding", "o:1"}, "OBJECT ENCODING o:1", "o:1"},
		{[]string{"OBJECT", "HELP"}, "OBJECT HELP", ""},
		{[]string{"MEMORY", "USAGE", "m:1", "SAMPLES", "0"}, "MEMORY USAGE m:1", "m:1"},
		{[]string{"MEMORY", "STATS"}, "MEMORY STATS", ""},
		{[]string{"XINFO", "STREAM", "s:1"}, "XINFO STREAM s:1", "s:1"},
		{[]string{"XGROUP", "CREATE", "s:1", "g", "$"}, "XGROUP CREATE s:1", "s:1"},
		{[]string{"BITOP", "and", "dest", "a", "b"}, "BITOP AND dest", "dest"},
		{[]string{"CLIENT", "SETNAME", "orders"}, "CLIENT SETNAME", ""},
		{[]string{"CONFIG", "SET", "requirepass", "s3cret"}, "CONFIG SET", ""},
		{[]string{"SCRIPT", "LOAD", "return 1"}, "SCRIPT LOAD", ""},
		{[]string{"FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"}, "FUNCTION LOAD", ""},
		{[]string{"ACL", "SETUSER", "alice", "on", ">s3cret"}, "ACL SETUSER", ""},
		{[]string{"MIGRATE", "127.0.0.1", "6380", "mg:1", "0", "1000"}, "MIGRATE mg:1", "mg:1"},
		{[]string{"MIGRATE", "127.0.0.1", "6380", "", "0", "1000", "COPY", "AUTH", "KEYS", "KEYS", "mg:2", "mg:3"}, "MIGRATE mg:2", "mg:2"},
		{[]string{"MIGRATE", "127.0.0.1", "6380", "", "0", "1000", "AUTH2", "u", "KEYS", "REPLACE", "KEYS", "mg:4"}, "MIGRATE mg:4", "mg:4"},
		{[]string{"SORT_RO", "l:1", "BY", "nosort"}, "SORT_RO l:1", "l:1"},
		{[]string{"ZUNION", "2", "z:1", "z:2"}, "ZUNION z:1", "z:1"},
		{[]string{"ZINTERCARD", "2", "z:1", "z:2"}, "ZINTERCARD z:1", "z:1"},
		{[]string{"SINTERCARD", "1", "s:1"}, "SINTERCARD s:1", "s:1"},
		{[]string{"LMPOP", "2", "l:1", "l:2", "LEFT"}, "LMPOP l:1", "l:1"},
		{[]string{"BLMPOP", "0.5", "1", "l:3", "RIGHT"}, "BLMPOP l:3", "l:3"},
		{[]string{"BZMPOP", "0", "1", "z:3", "MIN"}, "BZMPOP z:3", "z:3"},
		{[]string{"ZUNIONSTORE", "dest", "2", "z:1", "z:2"}, "ZUNIONSTORE dest", "dest"},
		{[]string{"GET", "user:1"}, "GET user:1", "user:1"},
		{[]string{"JSON.GET", "doc:1", "$"}, "JSON.GET doc:1", "doc:1"},
		{[]string{"PUBLISH", "news", "hi"}, "PUBLISH news", "news"},
		{[]string{"KEYS", "user:*"}, "KEYS user:*", ""},
		{[]string{"SELECT", "2"}, "SELECT 2", ""},
		{[]string{"ECHO", "hello"}, "ECHO hello", ""},
		{[]string{"PING"}, "PING", ""},
		{[]string{"FLUSHALL", "ASYNC"}, "FLUSHALL", ""},
		{[]string{"WAIT", "1", "100"}, "WAIT", ""},
	} {
		for _, step := range []int{1, 5, 1 << 20} {
			var s sink
			d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
			b := []byte(respCmd(tc.args...))
			for len(b) > 0 {
				n := min(step, len(b))
				d.fromClient(b[:n])
				b = b[n:]
			}
			d.fromServer([]byte(":1\r\n"))
			got := s.all()
			if len(got) != 1 || got[0].Op != "REDIS "+tc.op || got[0].Key != tc.key || got[0].Command != strings.ToUpper(tc.args[0]) {
				t.Errorf("%q in steps of %d: got %+v; want op %q, key %q", tc.args[0]+" …", step, got, "REDIS "+tc.op, tc.key)
			}
			for _, in := range got {
				if strings.Contains(in.Line(), "s3cret") || strings.Contains(in.Line(), jwt[:12]) {
					t.Errorf("%q: a secret shows: %s", tc.args, in.Line())
				}
			}
		}
	}
}

// A key past the arguments kept to find it is not told (no argument is
// taken for it); an inline command's key is found as an array's is; a
// command cut while sent names the key it has so far.
func TestRedisKeyBeyondWhatIsKept(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	args := []string{"XREAD"}
	for range maxRedisArgs {
		args = append(args, "COUNT", "1")
	}
	d.fromClient([]byte(respCmd(append(args, "STREAMS", "far", "0")...)))
	d.fromServer([]byte("*-1\r\n"))
	d.fromClient([]byte("EVALSHA 8cd00688c05c46bde4a2e60658ef20a2e5c0b248 1 inline:key 3\r\n"))
	d.fromServer([]byte(":4\r\n"))
	d.fromClient([]byte(respCmd("EVAL", "return 1", "1", "cut:key", "arg")[:50]))
	d.close("closed by a fault after 40 bytes", true)
	got := s.all()
	want := []struct{ op, key string }{{"REDIS XREAD", ""}, {"REDIS EVALSHA inline:key", "inline:key"}, {"REDIS EVAL cut:key", "cut:key"}}
	if len(got) != len(want) {
		t.Fatalf("got %d interactions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Op != w.op || got[i].Key != w.key {
			t.Errorf("%d: got %q key %q; want %q key %q", i, got[i].Op, got[i].Key, w.op, w.key)
		}
	}
}

// A conversation recorded from node's ioredis (6.0) with Redis 7.0
// (testdata/redis/ioredis-keys.log): a command defined with
// defineCommand (EVAL, then EVALSHA), EVAL without keys and with two,
// streams read by a group and not, OBJECT, MEMORY, BITOP, ZUNION, LMPOP,
// SORT_RO, CLIENT and CONFIG: each has its first key as its key, or none.
func TestRedisRecordedKeys(t *testing.T) {
	log, err := os.ReadFile(filepath.Join("testdata", "redis", "ioredis-keys.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HELLO 3 ", "CLIENT SETINFO ", "CLIENT SETINFO ", "EVAL node:lua node:lua", "EVALSHA node:lua node:lua", "EVAL ", "EVAL e:1 e:1",
		"XADD s:1 s:1", "XGROUP CREATE s:1 s:1", "XREADGROUP s:1 s:1", "XREAD s:1 s:1", "OBJECT ENCODING node:lua node:lua",
		"MEMORY USAGE node:lua node:lua", "BITOP AND b:dest b:dest", "ZADD z:1 z:1", "ZUNION z:1 z:1", "LMPOP l:none l:none",
		"SORT_RO z:1 z:1", "CLIENT SETNAME ", "CONFIG GET ", "QUIT ",
	}
	var got []string
	for _, in := range replay(log, 1<<20, nil) {
		got = append(got, in.Target+" "+in.Key)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
