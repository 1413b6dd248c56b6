package wire

import (
	"encoding/binary"
	"fmt"
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
