package wire

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// pgBindValues is a Bind of statement stmt's values, each in the format
// given (0 text, 1 binary); nil is NULL.
func pgBindValues(stmt string, formats []uint16, values [][]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(formats)))
	for _, f := range formats {
		b = binary.BigEndian.AppendUint16(b, f)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(values)))
	for _, v := range values {
		if v == nil {
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return pgMsg('B', cstr(""), cstr(stmt), b, []byte{0, 0})
}

// A statement's parameters are all there for checks (Params), each the
// exact JSON text of its value: a binary one as its type reads it (the
// types the statement's Describe told, as pgx asks for them), a text one
// as the string it is, NULL as null, an integer past 2^53 to its last
// digit, a long text whole. The line shows
// the first eight, text cut short.
func TestPostgresParamsWholeAndExact(t *testing.T) {
	var s sink
	d := pgReady(&s)
	sql := "insert into t values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
	d.fromClient(pgxPrepare("stmtcache_9", sql))
	// int8, text, float8, bool, uuid, int4, timestamptz, text, numeric (text), jsonb, int2
	oids := []uint32{20, 25, 701, 16, 2950, 23, 1184, 25, 1700, 3802, 21}
	desc := binary.BigEndian.AppendUint16(nil, uint16(len(oids)))
	for _, o := range oids {
		desc = binary.BigEndian.AppendUint32(desc, o)
	}
	d.fromServer(cat(pgMsg('1'), pgMsg('t', desc), pgMsg('n'), pgMsg('Z', []byte("I"))))
	long := strings.Repeat("long text ", 30)
	values := [][]byte{
		binary.BigEndian.AppendUint64(nil, 1<<53+1),
		[]byte(`say "hi"`),
		binary.BigEndian.AppendUint64(nil, math.Float64bits(2.5)),
		{1},
		{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
		nil,
		binary.BigEndian.AppendUint64(nil, uint64(86400*1000000+1)), // 2000-01-02 00:00:00.000001
		[]byte(long),
		[]byte("12345678901234567890.5"),
		append([]byte{1}, `{"a": [1, 2]}`...),
		binary.BigEndian.AppendUint16(nil, uint16(0xffff)), // -1
	}
	formats := []uint16{1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1}
	b := pgBindValues("stmtcache_9", formats, values)
	b = append(b, pgMsg('D', []byte{'P'}, cstr(""))...)
	b = append(b, pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...)
	d.fromClient(append(b, pgMsg('S')...))
	d.fromServer(cat(pgMsg('2'), pgMsg('n'), pgMsg('C', cstr("INSERT 0 1")), pgMsg('Z', []byte("I"))))
	got := s.all()
	if len(got) != 1 {
		t.Fatalf("got %q", s.lines())
	}
	want := []string{"9007199254740993", `"say \"hi\""`, "2.5", "true", `"12345678-9abc-def0-1234-56789abcdef0"`, "null",
		`"2000-01-02T00:00:00.000001Z"`, `"` + long + `"`, `"12345678901234567890.5"`, `"{\"a\": [1, 2]}"`, "-1"}
	if ps := got[0].Params(); strings.Join(ps, "\n") != strings.Join(want, "\n") {
		t.Errorf("params:\n%s\nwant:\n%s", strings.Join(ps, "\n"), strings.Join(want, "\n"))
	}
	note := `[9007199254740993, "say \"hi\"", 2.5, true, "12345678-9abc-def0-1234-56789abcdef0", NULL, "2000-01-02T00:00:00.000001Z", "long text long text long text long text …", …]`
	if got[0].Note != note {
		t.Errorf("note:\n%s\nwant:\n%s", got[0].Note, note)
	}
}

// A parameter given to a secret column is masked in the whole list too,
// and past what a line shows.
func TestPostgresParamsMaskedPastTheEighth(t *testing.T) {
	var s sink
	d := pgReady(&s)
	sql := "update users set a=$1, b=$2, c=$3, d=$4, e=$5, f=$6, g=$7, h=$8, api_token = $9 where id = $10"
	d.fromClient(pgMsg('P', cstr(""), cstr(sql), []byte{0, 0}))
	values := [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("tok-123"), []byte("10")}
	b := pgBindValues("", []uint16{0}, values)
	d.fromClient(cat(b, pgMsg('E', cstr(""), []byte{0, 0, 0, 0}), pgMsg('S')))
	d.fromServer(cat(pgMsg('1'), pgMsg('2'), pgMsg('C', cstr("UPDATE 1")), pgMsg('Z', []byte("I"))))
	got := s.all()
	if len(got) != 1 {
		t.Fatalf("got %q", s.lines())
	}
	ps := got[0].Params()
	if len(ps) != 10 || strings.Contains(strings.Join(ps, " "), "tok-123") || ps[9] != `"10"` {
		t.Errorf("params %q: want 10, the ninth masked", ps)
	}
}

// MySQL's executions give checks every parameter too, NULL as null,
// strings whole.
func TestMySQLParamsWhole(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	myPrepared(d, 2, "insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 10, true)
	long := strings.Repeat("x", 100)
	types := []byte{0xfd, 0, 0x08, 0, 0x08, 0x80, 0xfd, 0, 0xfd, 0, 0xfd, 0, 0xfd, 0, 0xfd, 0, 0x06, 0, 0xfd, 0}
	d.fromClient(myPacket(0, myExecute(2, []byte{0, 0}, types,
		lstr(long), le64(1<<53+1), le64(^uint64(0)), lstr("4"), lstr("5"), lstr("6"), lstr("7"), lstr("8"), lstr("the tenth"))))
	d.fromServer(myOK(1, 1, 2))
	got := s.all()
	if len(got) != 1 {
		t.Fatalf("got %q", s.lines())
	}
	want := []string{`"` + long + `"`, "9007199254740993", "18446744073709551615", `"4"`, `"5"`, `"6"`, `"7"`, `"8"`, "null", `"the tenth"`}
	if ps := got[0].Params(); strings.Join(ps, "\n") != strings.Join(want, "\n") {
		t.Errorf("params:\n%s\nwant:\n%s", strings.Join(ps, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasSuffix(got[0].Note, `"8", …]`) {
		t.Errorf("note %s: want the first eight", got[0].Note)
	}
}

// A Bind of many parameters (an ORM's "id in (…)" of thousands) is
// kept whole up to maxPgBindKeep: checks count them all.
func TestPostgresManyParams(t *testing.T) {
	var s sink
	d := pgReady(&s)
	d.fromClient(pgMsg('P', cstr(""), cstr("select count(*) from items where id in (…)"), []byte{0, 0}))
	values := make([][]byte, 5000)
	for i := range values {
		values[i] = binary.BigEndian.AppendUint64(nil, uint64(1000+i))
	}
	b := cat(pgBindValues("", []uint16{1}, values), pgMsg('E', cstr(""), []byte{0, 0, 0, 0}), pgMsg('S'))
	for len(b) > 0 { // in chunks, as the proxy reads it
		n := min(len(b), 32<<10)
		d.fromClient(b[:n])
		b = b[n:]
	}
	d.fromServer(cat(pgMsg('1'), pgMsg('2'), pgMsg('C', cstr("SELECT 1")), pgMsg('Z', []byte("I"))))
	got := s.all()
	if len(got) != 1 {
		t.Fatalf("got %q", s.lines())
	}
	if ps := got[0].Params(); len(ps) != 5000 || ps[0] != "1000" || ps[4999] != "5999" {
		t.Errorf("%d params, from %q to %q; want 5000, 1000 to 5999", len(ps), ps[0], ps[len(ps)-1])
	}
}
