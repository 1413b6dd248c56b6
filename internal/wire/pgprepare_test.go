package wire

import (
	"strings"
	"testing"
)

// pgErr is an ErrorResponse's payload.
func pgErr(code, msg string) []byte {
	return []byte("SERROR\x00C" + code + "\x00M" + msg + "\x00\x00")
}

// pgxPrepare is what pgx (its default mode) sends for a statement new to
// the connection: Parse, Describe of the statement, Sync, on their own.
func pgxPrepare(name, sql string) []byte {
	b := pgMsg('P', cstr(name), cstr(sql), []byte{0, 0})
	b = append(b, pgMsg('D', []byte{'S'}, cstr(name))...)
	return append(b, pgMsg('S')...)
}

// pgxExecute is what pgx sends to run a prepared statement with one text
// parameter: Bind, Describe of the portal, Execute, Sync.
func pgxExecute(name, param string) []byte {
	b := pgMsg('B', cstr(""), cstr(name), []byte{0, 0, 0, 1, 0, 0, 0, byte(len(param))}, []byte(param), []byte{0, 0})
	b = append(b, pgMsg('D', []byte{'P'}, cstr(""))...)
	b = append(b, pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...)
	return append(b, pgMsg('S')...)
}

// An error that answers a statement as it is prepared (pgx's Parse,
// Describe, Sync round trip), or as its parameters are bound, is the
// statement's: an interaction, suspicious, with the error as its result.
// A prepare answered without error is no interaction of its own: its
// execution is.
func TestPostgresErrorWhilePreparing(t *testing.T) {
	var s sink
	d := pgReady(&s)
	ready := pgMsg('Z', []byte("I"))

	d.fromClient(pgxPrepare("stmtcache_1", "select count(*) from missing_table where id = $1"))
	d.fromServer(append(pgMsg('E', pgErr("42P01", `relation "missing_table" does not exist`)), ready...))

	d.fromClient(pgxPrepare("stmtcache_2", "selec $1"))
	d.fromServer(append(pgMsg('E', pgErr("42601", `syntax error at or near "selec"`)), ready...))

	// Prepared, then run twice: the second Bind fails (a value its type
	// cannot take).
	d.fromClient(pgxPrepare("stmtcache_3", "select name from items where id = $1"))
	var ok []byte
	ok = append(ok, pgMsg('1')...)
	ok = append(ok, pgMsg('t', []byte{0, 1, 0, 0, 0, 23})...)
	ok = append(ok, pgMsg('T', []byte{0, 0})...)
	d.fromServer(append(ok, ready...))
	d.fromClient(pgxExecute("stmtcache_3", "7"))
	d.fromServer(append(append(append(pgMsg('2'), pgMsg('T', []byte{0, 0})...), pgMsg('C', cstr("SELECT 1"))...), ready...))
	d.fromClient(pgxExecute("stmtcache_3", "x"))
	d.fromServer(append(pgMsg('E', pgErr("22P02", `invalid input syntax for type integer: "x"`)), ready...))

	// An Execute's answer that is not a command tag still pairs with it.
	d.fromClient(append(pgMsg('P', cstr(""), cstr(""), []byte{0, 0}), pgxExecute("", "")...))
	d.fromServer(append(append(append(append(pgMsg('1'), pgMsg('2')...), pgMsg('n')...), pgMsg('I')...), ready...))

	want := []string{
		`SQL select count(*) from missing_table where id = $1 → ERROR 42P01: relation "missing_table" does not exist`,
		`SQL selec $1 → ERROR 42601: syntax error at or near "selec"`,
		"SQL select name from items where id = $1 → SELECT 1",
		`SQL select name from items where id = $1 → ERROR 22P02: invalid input syntax for type integer: "x"`,
		"SQL  → empty query",
	}
	if got := s.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got := s.all()
	for _, i := range []int{0, 1, 3} {
		if !got[i].Suspicious || got[i].Method != "SQL" {
			t.Errorf("%s: not a suspicious SQL interaction", got[i].Line())
		}
	}
	if got[3].Note != `["x"]` {
		t.Errorf("the failed Bind's parameters: %q, want [\"x\"]", got[3].Note)
	}
}

// A connection that ends while a statement is being prepared (a
// blackhole swallowed the Parse, Describe, Sync) tells of that statement
// once, unanswered; one whose batch also executes tells of the execution
// alone.
func TestPostgresPrepareLeftUnanswered(t *testing.T) {
	var s sink
	d := pgReady(&s)
	d.fromClient(pgxPrepare("stmtcache_1", "select pg_sleep($1)"))
	if n := d.close("connection closed", false); n != 1 {
		t.Errorf("%d calls in flight, want 1", n)
	}
	if got := s.lines(); len(got) != 1 || !strings.HasPrefix(got[0], "SQL select pg_sleep($1) → no response (connection closed)") {
		t.Errorf("got %q", got)
	}
}

// A cancel request that comes after its backend's connection ended (one
// a blackhole swallowed is read when the fault is lifted, after the
// connection it held was cut) names that backend and the query it left
// unanswered.
func TestPostgresCancelAfterTheConnectionEnded(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add}
	q := newDecoder(p)
	q.fromClient(pgStartup())
	key := []byte{1, 2, 3, 4}
	q.fromServer(append(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('K', []byte{0, 0, 0x30, 0x39}, key)...), pgMsg('Z', []byte("I"))...))
	q.fromClient(pgxPrepare("stmtcache_1", "select pg_sleep($1)"))
	q.close("closed by a fault", true)

	c := newDecoder(p)
	c.fromClient(pgCancelRequest(12345, key))
	c.close("connection closed", false)
	got := s.all()
	if len(got) != 2 {
		t.Fatalf("%d interactions:\n%s", len(got), strings.Join(s.lines(), "\n"))
	}
	if in := got[1]; in.Result != "cancel request for backend 12345: select pg_sleep($1)" ||
		!strings.Contains(in.Note, "its connection had ended") || strings.Contains(in.Note, "not seen") {
		t.Errorf("the cancel: %s", in.Line())
	}
}
