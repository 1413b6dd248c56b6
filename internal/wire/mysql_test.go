package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// myPacket frames a MySQL payload with its sequence number.
func myPacket(seq byte, payload ...[]byte) []byte {
	var body []byte
	for _, p := range payload {
		body = append(body, p...)
	}
	n := len(body)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, body...)
}

// myHandshake is a server's Handshake v10 with capabilities caps.
func myHandshake(caps uint32) []byte {
	p := []byte{10}
	p = append(p, "11.8.3-MariaDB"...)
	p = append(p, 0, 1, 0, 0, 0) // thread id
	p = append(p, "abcdefgh"...)
	p = append(p, 0)
	p = binary.LittleEndian.AppendUint16(p, uint16(caps))
	p = append(p, 45, 2, 0)
	p = binary.LittleEndian.AppendUint16(p, uint16(caps>>16))
	p = append(p, 21)
	p = append(p, make([]byte, 10)...)
	p = append(p, "ijklmnopqrst"...)
	p = append(p, 0)
	p = append(p, "mysql_native_password"...)
	return myPacket(0, append(p, 0))
}

// myLogin is a client's HandshakeResponse41 with capabilities caps.
func myLogin(caps uint32) []byte {
	p := binary.LittleEndian.AppendUint32(nil, caps)
	p = append(p, 0, 0, 0, 1, 45)
	p = append(p, make([]byte, 23)...)
	p = append(p, "app"...)
	return myPacket(1, append(p, 0, 0))
}

func myOK(seq byte, affected byte, status uint16) []byte {
	return myPacket(seq, []byte{0, affected, 0}, binary.LittleEndian.AppendUint16(nil, status), []byte{0, 0})
}

func myEOF(seq byte, status uint16) []byte {
	return myPacket(seq, []byte{0xfe, 0, 0}, binary.LittleEndian.AppendUint16(nil, status))
}

// A MySQL/MariaDB connection's queries and prepared statements' executions
// are interactions with their results and errors, in both EOF styles,
// whatever the writes the bytes came in.
func TestMySQLQueriesAreDecoded(t *testing.T) {
	const base = mysqlClientProtocol41 | 1<<15 // CLIENT_SECURE_CONNECTION
	for _, deprecateEOF := range []bool{false, true} {
		for _, step := range []int{1, 7, 1 << 20} {
			caps := uint32(base)
			if deprecateEOF {
				caps |= mysqlClientDeprecateEOF
			}
			var s sink
			d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
			feed := func(f func([]byte), b []byte) {
				for len(b) > 0 {
					n := min(step, len(b))
					f(b[:n])
					b = b[n:]
				}
			}
			feed(d.fromServer, myHandshake(caps))
			feed(d.fromClient, myLogin(caps))
			feed(d.fromServer, myOK(2, 0, 2))
			// A query with a result set of two rows.
			feed(d.fromClient, myPacket(0, []byte{0x03}, []byte("select id, name from users where password = 'hunter2'")))
			rs := append(myPacket(1, []byte{2}), myPacket(2, []byte("col-id"))...)
			rs = append(rs, myPacket(3, []byte("col-name"))...)
			seq := byte(4)
			if !deprecateEOF {
				rs = append(rs, myEOF(seq, 2)...)
				seq++
			}
			rs = append(rs, myPacket(seq, []byte("\x011\x03ann"))...)
			rs = append(rs, myPacket(seq+1, []byte("\x012\x03bob"))...)
			if deprecateEOF {
				rs = append(rs, myPacket(seq+2, []byte{0xfe, 0, 0, 2, 0, 0, 0})...)
			} else {
				rs = append(rs, myEOF(seq+2, 2)...)
			}
			feed(d.fromServer, rs)
			// An insert, then a duplicate.
			feed(d.fromClient, myPacket(0, []byte{0x03}, []byte("insert into users values (1)")))
			feed(d.fromServer, myOK(1, 1, 2))
			feed(d.fromClient, myPacket(0, []byte{0x03}, []byte("insert into users values (1)")))
			feed(d.fromServer, myPacket(1, []byte{0xff, 0x26, 0x04}, []byte("#23000Duplicate entry '1' for key 'PRIMARY'")))
			// A prepared statement (one parameter, no columns), executed.
			feed(d.fromClient, myPacket(0, []byte{0x16}, []byte("update users set name = ? where id = ?")))
			prep := myPacket(1, []byte{0, 7, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0})
			prep = append(prep, myPacket(2, []byte("param1"))...)
			prep = append(prep, myPacket(3, []byte("param2"))...)
			if !deprecateEOF {
				prep = append(prep, myEOF(4, 2)...)
			}
			feed(d.fromServer, prep)
			feed(d.fromClient, myPacket(0, []byte{0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0}))
			feed(d.fromServer, myOK(1, 1, 2))
			// A ping, and a multi-result CALL.
			feed(d.fromClient, myPacket(0, []byte{0x0e}))
			feed(d.fromServer, myOK(1, 0, 2))
			feed(d.fromClient, myPacket(0, []byte{0x03}, []byte("call refresh()")))
			feed(d.fromServer, append(myOK(1, 3, 2|mysqlMoreResults), myOK(2, 0, 2)...))
			got := strings.Join(s.lines(), "\n")
			want := strings.Join([]string{
				"SQL select id, name from users where password = '***' → 2 rows",
				"SQL insert into users values (1) → OK, 1 row affected",
				"SQL insert into users values (1) → ERROR 1062 (23000): Duplicate entry '1' for key 'PRIMARY'",
				"SQL update users set name = ? where id = ? → OK, 1 row affected",
				"COM_PING → OK",
				"SQL call refresh() → OK, 3 rows affected, OK",
			}, "\n")
			if got != want {
				t.Errorf("deprecate EOF %v, step %d: got\n%s\nwant\n%s", deprecateEOF, step, got, want)
			}
			if all := s.all(); len(all) == 6 && (!all[2].Suspicious || all[1].Suspicious || all[0].Method != "SQL" || all[0].Protocol != "mysql") {
				t.Errorf("deprecate EOF %v, step %d: %+v", deprecateEOF, step, all)
			}
		}
	}
}

// A query the connection ended in the middle of is told unanswered; a
// client that asks for TLS is not decoded further, and it is said.
func TestMySQLUnansweredAndTLS(t *testing.T) {
	caps := uint32(mysqlClientProtocol41 | mysqlClientSSL)
	var s sink
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromServer(myHandshake(caps))
	d.fromClient(myPacket(1, binary.LittleEndian.AppendUint32(nil, caps), make([]byte, 28)))
	d.close("connection closed", false)
	// The way out is said in the options of the clients a user has: the
	// MariaDB CLI knows no --ssl-mode.
	if got := strings.Join(s.lines(), "\n"); !strings.HasPrefix(got, "connection → not decoded from here: the client asked for TLS") || !strings.Contains(got, "--skip-ssl") {
		t.Errorf("TLS: %q", got)
	}
	s = sink{}
	caps = mysqlClientProtocol41
	d = newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromServer(myHandshake(caps))
	d.fromClient(myLogin(caps))
	d.fromServer(myOK(2, 0, 2))
	d.fromClient(myPacket(0, []byte{0x03}, []byte("select sleep(10)")))
	if n := d.close("closed by a fault after 40 bytes", true); n != 1 {
		t.Errorf("%d in flight", n)
	}
	if got := strings.Join(s.lines(), "\n"); got != "SQL select sleep(10) → no response (closed by a fault after 40 bytes)" {
		t.Errorf("unanswered: %q", got)
	}
}

// An authentication the server refuses is recorded.
func TestMySQLAccessDenied(t *testing.T) {
	caps := uint32(mysqlClientProtocol41)
	var s sink
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromServer(myHandshake(caps))
	d.fromClient(myLogin(caps))
	d.fromServer(myPacket(2, []byte{0xff, 0x15, 0x04}, []byte("#28000Access denied for user 'app'@'localhost'")))
	if got := strings.Join(s.lines(), "\n"); got != "connect → ERROR 1045 (28000): Access denied for user 'app'@'localhost'" {
		t.Errorf("%q", got)
	}
}

// myConn is a decoder past a MySQL login with capabilities caps, and what
// it reports.
func myConn(caps uint32) (*decoder, *sink) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromServer(myHandshake(caps))
	d.fromClient(myLogin(caps))
	d.fromServer(myOK(2, 0, 2))
	return d, &s
}

// A LOAD DATA LOCAL INFILE is answered by the OK after the file, not by
// the progress reports MariaDB sends while it loads (error 0xffff, to a
// client that asked for them, as its CLI does): bytes of the real
// exchange, a file of 3 rows.
func TestMySQLProgressReportIsNoAnswer(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41)
	d.fromClient(myPacket(0, []byte{0x03}, []byte("load data local infile 'data.tsv' into table items (id, name)")))
	d.fromServer(myPacket(1, []byte("\xfbdata.tsv")))
	d.fromClient(append(myPacket(2, []byte("1\tone\n2\ttwo\n3\tthree\n")), myPacket(3)...))
	d.fromServer(myPacket(4, []byte("\xff\xff\xff\x01\x02\x02\x00\x00\x00\x0fEnd bulk insert")))
	d.fromServer(myPacket(5, []byte("\x00\x03\x00\x02\x00\x00\x00/Records: 3  Deleted: 0  Skipped: 0  Warnings: 0")))
	d.fromClient(myPacket(0, []byte{0x03}, []byte("select count(*) from items")))
	d.fromServer(cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")), myEOF(3, 2), myPacket(4, []byte("\x013")), myEOF(5, 2)))
	want := "SQL load data local infile 'data.tsv' into table items (id, name) → OK, 3 rows affected\n" +
		"SQL select count(*) from items → 1 row"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A LOCAL INFILE's file of more than 255 packets (a megabyte, in the
// CLI's 4 KiB packets) is data to its end, though its sequence numbers
// wrap to 0, where a command would start.
func TestMySQLLocalInfileLongerThan255Packets(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	d.fromClient(myPacket(0, []byte{0x03}, []byte("load data local infile 'big.tsv' into table items")))
	d.fromServer(myPacket(1, []byte("\xfbbig.tsv")))
	seq := byte(2)
	for i := range 600 {
		d.fromClient(myPacket(seq, []byte(fmt.Sprintf("%d\tname\n", i))))
		seq++
	}
	d.fromClient(myPacket(seq))
	d.fromServer(myOK(seq+1, 200, 2))
	d.fromClient(myPacket(0, []byte{0x0e}))
	d.fromServer(myOK(1, 0, 2))
	want := "SQL load data local infile 'big.tsv' into table items → OK, 200 rows affected\nCOM_PING → OK"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// COM_STATISTICS (the CLI's status) is answered by a bare string and
// COM_FIELD_LIST (the interactive CLI's completion) by column definitions:
// neither is a result set, and the queries after them keep their answers.
func TestMySQLStatisticsAndFieldList(t *testing.T) {
	for _, deprecateEOF := range []bool{false, true} {
		caps := uint32(mysqlClientProtocol41)
		if deprecateEOF {
			caps |= mysqlClientDeprecateEOF
		}
		d, s := myConn(caps)
		d.fromClient(myPacket(0, []byte{0x09}))
		d.fromServer(myPacket(1, []byte("Uptime: 34  Threads: 3  Questions: 42")))
		d.fromClient(myPacket(0, []byte{0x04}, []byte("items\x00")))
		end := myEOF(3, 2)
		if deprecateEOF {
			end = myPacket(3, []byte{0xfe, 0, 0, 2, 0, 0, 0})
		}
		d.fromServer(cat(myPacket(1, []byte("\x03def\x04shop\x05items\x05items\x02id\x02id\x00\x0c?\x00\x0b\x00\x00\x00\x03\x03B\x00\x00\x00\x010")),
			myPacket(2, []byte("\x03def\x04shop\x05items\x05items\x04name\x04name\x00\x0c!\x00\xfd\xff\x02\x00\xfc\x10\x00\x00\x00\x00\xfb")), end))
		d.fromClient(myPacket(0, []byte{0x04}, []byte("nosuch\x00")))
		d.fromServer(myPacket(1, []byte{0xff, 0x7a, 0x04}, []byte("#42S02Table 'shop.nosuch' doesn't exist")))
		d.fromClient(myPacket(0, []byte{0x03}, []byte("select 1")))
		rs := cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")))
		if !deprecateEOF {
			rs = cat(rs, myEOF(3, 2), myPacket(4, []byte("\x011")), myEOF(5, 2))
		} else {
			rs = cat(rs, myPacket(3, []byte("\x011")), myPacket(4, []byte{0xfe, 0, 0, 2, 0, 0, 0}))
		}
		d.fromServer(rs)
		want := strings.Join([]string{
			"COM_STATISTICS → Uptime: 34 Threads: 3 Questions: 42",
			"COM_FIELD_LIST items → 2 columns",
			"COM_FIELD_LIST nosuch → ERROR 1146 (42S02): Table 'shop.nosuch' doesn't exist",
			"SQL select 1 → 1 row",
		}, "\n")
		if got := strings.Join(s.lines(), "\n"); got != want {
			t.Errorf("deprecate EOF %v: got\n%s\nwant\n%s", deprecateEOF, got, want)
		}
	}
}

// A COM_CHANGE_USER the server accepts at once (no auth switch: its OK is
// packet 1) ends the authentication, and the connection's commands go on
// being decoded; its prepared statements are gone.
func TestMySQLChangeUserAcceptedAtOnce(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	d.fromClient(myPacket(0, []byte{0x16}, []byte("select ?")))
	d.fromServer(myPacket(1, []byte{0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, []byte{}))
	d.fromServer(myPacket(2, []byte("param")))
	d.fromClient(myPacket(0, []byte{0x11}, []byte("app\x00\x14abcdefghijklmnopqrst")))
	d.fromServer(myOK(1, 0, 2))
	d.fromClient(myPacket(0, []byte{0x03}, []byte("insert into t values (1)")))
	d.fromServer(myOK(1, 1, 2))
	d.fromClient(myPacket(0, []byte{0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0}))
	d.fromServer(myPacket(1, []byte{0xff, 0xdb, 0x04}, []byte("#HY000Unknown prepared statement handler (7) given to mysqld_stmt_execute")))
	want := strings.Join([]string{
		"COM_CHANGE_USER → OK",
		"SQL insert into t values (1) → OK, 1 row affected",
		"SQL (prepared statement 7, prepared before the wire saw it) → ERROR 1243 (HY000): Unknown prepared statement handler (7) given to mysqld_stmt_execute",
	}, "\n")
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// MariaDB's statement 0xffffffff is the one the client prepared last: the
// npm mariadb connector sends a prepare and its execution at once, and the
// execution is of the prepare's SQL, however the prepare ends. Its batch
// (COM_STMT_BULK_EXECUTE) is an execution too.
func TestMySQLExecuteOfTheStatementJustPrepared(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	exec := myPacket(0, []byte{0x17, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0, 0, 0, 1, 3, 0}, []byte{2, 0, 0, 0, 0, 0, 0, 0})
	d.fromClient(cat(myPacket(0, []byte{0x16}, []byte("select id from items where id > ?")), exec))
	d.fromServer(cat(myPacket(1, []byte{0, 9, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}), myPacket(2, []byte("param")), myPacket(3, []byte("col"))))
	d.fromServer(cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")), myPacket(3, []byte{0, 0, 3, 0, 0, 0, 0, 0, 0, 0}),
		myPacket(4, []byte{0xfe, 0, 0, 2, 0, 0, 0})))
	d.fromClient(myPacket(0, []byte{0xfa, 9, 0, 0, 0, 0x80, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}))
	d.fromServer(myOK(1, 3, 2))
	d.fromClient(cat(myPacket(0, []byte{0x16}, []byte("select * from nosuch where id = ?")), exec))
	d.fromServer(myPacket(1, []byte{0xff, 0x7a, 0x04}, []byte("#42S02Table 'shop.nosuch' doesn't exist")))
	d.fromServer(myPacket(1, []byte{0xff, 0xdb, 0x04}, []byte("#HY000Unknown prepared statement handler (4294967295) given to mysqld_stmt_execute")))
	want := strings.Join([]string{
		"SQL select id from items where id > ? → 1 row",
		"SQL select id from items where id > ? → OK, 3 rows affected",
		"SQL select * from nosuch where id = ? → ERROR 1146 (42S02): Table 'shop.nosuch' doesn't exist",
		"SQL select * from nosuch where id = ? → ERROR 1243 (HY000): Unknown prepared statement handler (4294967295) given to mysqld_stmt_execute",
	}, "\n")
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// MySQL statements are masked as MySQL reads them: double-quoted strings,
// backslash escapes, backtick names, IDENTIFIED BY.
func TestMySQLStatementsMaskedAsMySQL(t *testing.T) {
	caps := uint32(mysqlClientProtocol41)
	var s sink
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromServer(myHandshake(caps))
	d.fromClient(myLogin(caps))
	d.fromServer(myOK(2, 0, 2))
	for _, q := range []string{
		`update users set password = "dq-secret" where id = 1`,
		`update users set api_key = 'it\'s-secret' where id = 2`,
		"update users set `password` = 'bt-secret' where id = 3",
		`create user app identified by 'id-secret'`,
	} {
		d.fromClient(myPacket(0, []byte{0x03}, []byte(q)))
		d.fromServer(myOK(1, 1, 2))
	}
	got := strings.Join(s.lines(), "\n")
	for _, leak := range []string{"dq-secret", "s-secret", "bt-secret", "id-secret"} {
		if strings.Contains(got, leak) {
			t.Errorf("%s leaked:\n%s", leak, got)
		}
	}
	if len(s.got) != 4 {
		t.Errorf("%d interactions:\n%s", len(s.got), got)
	}
}

// myExecute is a COM_STMT_EXECUTE payload: statement id, no cursor, one
// iteration, then (when nulls is not nil) the NULL bitmap, the
// new-params-bound flag with the types when given, and the values.
func myExecute(id uint32, nulls []byte, types []byte, values ...[]byte) []byte {
	p := binary.LittleEndian.AppendUint32([]byte{0x17}, id)
	p = append(p, 0, 1, 0, 0, 0)
	if nulls == nil {
		return p
	}
	p = append(p, nulls...)
	if types != nil {
		p = append(append(p, 1), types...)
	} else {
		p = append(p, 0)
	}
	for _, v := range values {
		p = append(p, v...)
	}
	return p
}

// myPrepared is a COM_STMT_PREPARE of sql and its answer: statement id,
// no columns, params parameters (their definitions and, without
// CLIENT_DEPRECATE_EOF, an EOF).
func myPrepared(d *decoder, id uint32, sql string, params int, deprecateEOF bool) {
	d.fromClient(myPacket(0, []byte{0x16}, []byte(sql)))
	ok := []byte{0}
	ok = binary.LittleEndian.AppendUint32(ok, id)
	ok = append(ok, 0, 0)
	ok = binary.LittleEndian.AppendUint16(ok, uint16(params))
	ok = append(ok, 0, 0, 0)
	answer := myPacket(1, ok)
	for i := range params {
		answer = append(answer, myPacket(byte(2+i), []byte("param"))...)
	}
	if !deprecateEOF && params > 0 {
		answer = append(answer, myEOF(byte(2+params), 2)...)
	}
	d.fromServer(answer)
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func lstr(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// A prepared statement's executions tell their parameters, as
// PostgreSQL's do: each binary type as its value (integers of each size,
// signed or not, floats, decimals, strings, dates and times), NULL by the
// bitmap, a BLOB that is no text by its size; the types bound by the
// first execution serve those that do not send them again; more than
// eight are cut with "…"; whatever the writes the bytes came in.
func TestMySQLExecuteParameters(t *testing.T) {
	for _, deprecateEOF := range []bool{false, true} {
		for _, step := range []int{1, 3, 1 << 20} {
			caps := uint32(mysqlClientProtocol41)
			if deprecateEOF {
				caps |= mysqlClientDeprecateEOF
			}
			var s sink
			d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
			feed := func(f func([]byte), b []byte) {
				for len(b) > 0 {
					n := min(step, len(b))
					f(b[:n])
					b = b[n:]
				}
			}
			feed(d.fromServer, myHandshake(caps))
			feed(d.fromClient, myLogin(caps))
			feed(d.fromServer, myOK(2, 0, 2))
			myPrepared(d, 1, "select ?, ?, ?, ?, ?, ?, ?, ?", 8, deprecateEOF)
			types := []byte{0x01, 0, 0x01, 0x80, 0x02, 0, 0x03, 0x80, 0x08, 0, 0x08, 0x80, 0x04, 0, 0x05, 0}
			feed(d.fromClient, myPacket(0, myExecute(1, []byte{0}, types,
				[]byte{0xff}, []byte{0xff}, le16(0xfffe), le32(0xffffffff), le64(^uint64(4)), le64(^uint64(0)),
				le32(math.Float32bits(1.5)), le64(math.Float64bits(-2.25)))))
			feed(d.fromServer, myOK(1, 0, 2))
			// Again, the types not sent: those bound before; the third
			// and the last NULL.
			feed(d.fromClient, myPacket(0, myExecute(1, []byte{0x84}, nil,
				[]byte{7}, []byte{8}, le32(9), le64(10), le64(11), le32(math.Float32bits(0.25)))))
			feed(d.fromServer, myOK(1, 0, 2))
			myPrepared(d, 2, "insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 10, deprecateEOF)
			types = []byte{0xfd, 0, 0xf6, 0, 0x0a, 0, 0x0c, 0, 0x07, 0, 0x0b, 0, 0xfc, 0, 0xf5, 0, 0x06, 0, 0xfd, 0}
			date := []byte{4, 0xe8, 0x07, 5, 1}
			datetime := []byte{11, 0xe8, 0x07, 5, 1, 12, 30, 0, 0x90, 0xd0, 0x03, 0} // .250000
			timestamp := []byte{0}
			tm := []byte{8, 1, 1, 0, 0, 0, 12, 0, 5} // -(1 day 12 h) 0 min 5 s
			feed(d.fromClient, myPacket(0, myExecute(2, []byte{0, 0}, types,
				lstr("tëxt \"quoted\""), lstr("-12.50"), date, datetime, timestamp, tm, lstr("\xff\x00\xfe"), lstr(`{"a":1}`), lstr("not shown"))))
			feed(d.fromServer, myOK(1, 1, 2))
			want := []string{
				`[-1, 255, -2, 4294967295, -5, 18446744073709551615, 1.5, -2.25]`,
				`[7, 8, NULL, 9, 10, 11, 0.25, NULL]`,
				`["tëxt \"quoted\"", -12.50, "2024-05-01", "2024-05-01 12:30:00.250000", "0000-00-00 00:00:00", "-36:00:05", <3 bytes>, "{\"a\":1}", …]`,
			}
			got := s.all()
			if len(got) != len(want) {
				t.Fatalf("deprecate EOF %v, step %d: %d interactions: %q", deprecateEOF, step, len(got), s.lines())
			}
			for i, w := range want {
				if got[i].Note != w || !strings.HasSuffix(got[i].Line(), " "+w) {
					t.Errorf("deprecate EOF %v, step %d: execution %d: note %s\nwant %s", deprecateEOF, step, i+1, got[i].Note, w)
				}
			}
		}
	}
}

// Parameters given to a secret column are masked as PostgreSQL's are, by
// their place (api_token = ?), all of them when the statement sets a
// password, and secrets known by their shape anywhere.
func TestMySQLExecuteParametersMasked(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	str3 := []byte{0xfd, 0, 0xfd, 0, 0xfd, 0}
	myPrepared(d, 1, "update users set api_token = ?, note = ? where name = ?", 3, true)
	d.fromClient(myPacket(0, myExecute(1, []byte{0}, str3, lstr("tok-s3cret"), lstr("bearer "+jwt), lstr("ann"))))
	d.fromServer(myOK(1, 1, 2))
	myPrepared(d, 2, "set password for ? = ?", 2, true)
	d.fromClient(myPacket(0, myExecute(2, []byte{0}, str3[:4], lstr("app"), lstr("pw-s3cret"))))
	d.fromServer(myOK(1, 0, 2))
	got := s.all()
	if len(got) != 2 {
		t.Fatalf("%d interactions: %q", len(got), s.lines())
	}
	if want := `["***", "bearer ***", "ann"]`; got[0].Note != want {
		t.Errorf("note %s, want %s", got[0].Note, want)
	}
	if want := "[parameters masked: the statement sets a password]"; got[1].Note != want {
		t.Errorf("note %s, want %s", got[1].Note, want)
	}
	for _, in := range got {
		if strings.Contains(in.Line(), "s3cret") || strings.Contains(in.Line(), jwt[:12]) {
			t.Errorf("a secret shows: %s", in.Line())
		}
	}
}

// A parameter sent with COM_STMT_SEND_LONG_DATA is not in the execution
// that uses it: it is told as long data, and the values after it are
// read past it; the next execution carries its value again.
func TestMySQLExecuteLongData(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	myPrepared(d, 5, "insert into docs (body, n) values (?, ?)", 2, true)
	types := []byte{0xfc, 0, 0x03, 0}
	d.fromClient(myPacket(0, []byte{0x18}, le32(5), le16(0), []byte(strings.Repeat("x", 1000))))
	d.fromClient(myPacket(0, []byte{0x18}, le32(5), le16(0), []byte(strings.Repeat("y", 1000))))
	d.fromClient(myPacket(0, myExecute(5, []byte{0}, types, le32(42))))
	d.fromServer(myOK(1, 1, 2))
	d.fromClient(myPacket(0, myExecute(5, []byte{0}, nil, lstr("short"), le32(43))))
	d.fromServer(myOK(1, 1, 2))
	// A reset forgets the long data sent: the value is in the execution.
	d.fromClient(myPacket(0, []byte{0x18}, le32(5), le16(0), []byte("z")))
	d.fromClient(myPacket(0, []byte{0x1a}, le32(5)))
	d.fromServer(myOK(1, 0, 2))
	d.fromClient(myPacket(0, myExecute(5, []byte{0}, nil, lstr("after"), le32(44))))
	d.fromServer(myOK(1, 1, 2))
	var notes []string
	for _, in := range s.all() {
		notes = append(notes, in.Op+" "+in.Note)
	}
	want := []string{
		"SQL insert into docs (body, n) values (?, ?) [<long data>, 42]",
		`SQL insert into docs (body, n) values (?, ?) ["short", 43]`,
		"COM_STMT_RESET ",
		`SQL insert into docs (body, n) values (?, ?) ["after", 44]`,
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
}

// An execution that cannot be read whole is told as far as it can be,
// never stops the connection's decoding, and the commands after it keep
// their answers: values cut short, a type the wire does not know, types
// never seen, a packet longer than what is kept, nothing after the
// statement id.
func TestMySQLExecuteParametersMalformed(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	myPrepared(d, 1, "select ?, ?", 2, true)
	for _, exec := range [][]byte{
		myExecute(1, []byte{0}, []byte{0x03, 0, 0x08, 0}, le32(1), []byte{1, 2, 3}), // the second cut short
		myExecute(1, []byte{0}, []byte{0x03, 0, 0x63, 0}, le32(2), []byte{1, 2, 3}), // a type 0x63
		myExecute(1, []byte{0}, []byte{0xfd, 0, 0x03, 0}, []byte{0xfc, 0xff, 0xff}), // a length past the end
		myExecute(1, []byte{0}, []byte{0x03}),                                       // the types cut short
		myExecute(1, nil, nil),                                                      // nothing after the iteration count
		myExecute(1, []byte{0}, []byte{0xfd, 0, 0x03, 0}, []byte{0xfd, 0x80, 0x38, 0x01}, []byte(strings.Repeat("a", 80000)), le32(5)),
	} {
		d.fromClient(myPacket(0, exec))
		d.fromServer(myOK(1, 0, 2))
	}
	// Types never seen: the statement was prepared on the connection,
	// but the execution that bound them was not read.
	myPrepared(d, 2, "select ?", 1, true)
	d.fromClient(myPacket(0, myExecute(2, []byte{0}, nil, le32(1))))
	d.fromServer(myOK(1, 0, 2))
	d.fromClient(myPacket(0, []byte{0x03}, []byte("select 1")))
	d.fromServer(cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")), myPacket(3, []byte("\x011")), myPacket(4, []byte{0xfe, 0, 0, 2, 0, 0, 0})))
	var got []string
	for _, in := range s.all() {
		got = append(got, in.Note+" → "+in.Result)
	}
	want := []string{
		"[1, …] → OK",
		"[2, …] → OK",
		"[…] → OK",
		"(parameters not decoded: the packet ends in their types) → OK",
		"(parameters not decoded: the packet ends before them) → OK",
		"[…] → OK",
		"(parameters not decoded: their types were bound by an execution the wire did not read) → OK",
		" → 1 row",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// MariaDB's statement 0xffffffff sent with its prepare, before the
// answer (the npm mariadb connector's execute): its parameters are read
// once the prepare's answer gives their count; when the prepare fails,
// so does it, with none. A batch (COM_STMT_BULK_EXECUTE) tells its first
// row and how many there are.
func TestMySQLExecuteParametersOfTheStatementJustPrepared(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	exec := myPacket(0, myExecute(0xffffffff, []byte{0}, []byte{0x08, 0, 0xfd, 0}, le64(2), lstr("two")))
	d.fromClient(cat(myPacket(0, []byte{0x16}, []byte("select id from items where id > ? and name <> ?")), exec))
	d.fromServer(cat(myPacket(1, []byte{0, 9, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0}), myPacket(2, []byte("param")), myPacket(3, []byte("param")), myPacket(4, []byte("col"))))
	d.fromServer(cat(myPacket(1, []byte{1}), myPacket(2, []byte("col")), myPacket(3, []byte{0, 0, 3, 0, 0, 0, 0, 0, 0, 0}),
		myPacket(4, []byte{0xfe, 0, 0, 2, 0, 0, 0})))
	// A batch of three rows: the types sent, a value, NULL, DEFAULT.
	bulk := cat([]byte{0xfa}, le32(9), le16(0x80), []byte{0x03, 0, 0xfd, 0},
		[]byte{0}, le32(1), []byte{0}, lstr("a"),
		[]byte{0}, le32(2), []byte{1},
		[]byte{2}, []byte{0}, lstr("c"))
	d.fromClient(myPacket(0, bulk))
	d.fromServer(myOK(1, 3, 2))
	d.fromClient(cat(myPacket(0, []byte{0x16}, []byte("select * from nosuch where id = ?")), myPacket(0, myExecute(0xffffffff, []byte{0}, []byte{0x03, 0}, le32(7)))))
	d.fromServer(myPacket(1, []byte{0xff, 0x7a, 0x04}, []byte("#42S02Table 'shop.nosuch' doesn't exist")))
	d.fromServer(myPacket(1, []byte{0xff, 0xdb, 0x04}, []byte("#HY000Unknown prepared statement handler (4294967295) given to mysqld_stmt_execute")))
	var got []string
	for _, in := range s.all() {
		got = append(got, in.Target+" "+in.Note)
	}
	want := []string{
		`select id from items where id > ? and name <> ? [2, "two"]`,
		`select id from items where id > ? and name <> ? [1, "a"] (the first of 3 rows)`,
		"select * from nosuch where id = ? ",
		"select * from nosuch where id = ? ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With MySQL's CLIENT_QUERY_ATTRIBUTES an execution gives its parameters'
// count and each one's name after its type; the attributes past the
// statement's parameters are not told.
func TestMySQLExecuteParametersWithQueryAttributes(t *testing.T) {
	caps := uint32(mysqlClientProtocol41 | mysqlClientDeprecateEOF | mysqlClientQueryAttrs)
	d, s := myConn(caps)
	myPrepared(d, 3, "select ?", 1, true)
	p := binary.LittleEndian.AppendUint32([]byte{0x17}, 3)
	p = append(p, 0x08, 1, 0, 0, 0) // PARAMETER_COUNT_AVAILABLE
	p = append(p, 2, 0, 1)          // two (one an attribute), no NULLs, bound
	p = append(p, 0x03, 0, 0)       // LONG, no name
	p = append(p, 0xfd, 0)          // VAR_STRING named trace
	p = append(p, lstr("trace")...)
	p = append(p, le32(77)...)
	p = append(p, lstr("attr-value")...)
	d.fromClient(myPacket(0, p))
	d.fromServer(myOK(1, 0, 2))
	if got := s.all(); len(got) != 1 || got[0].Note != "[77]" {
		t.Errorf("got %+v; want the note [77]", got)
	}
}

// A conversation recorded from node's mysql2 (3.24) execute() with
// MariaDB 10.11 (testdata/mysql/mysql2-execute.log): a JavaScript number
// is a DOUBLE, a Date a DATETIME, a Buffer a BLOB, true a TINY, a BigInt
// a string; the api_token is masked by its column. The script:
//
//	execute('insert into users (name, api_token, born, seen, ratio, n, doc) values (?, ?, ?, ?, ?, ?, ?)',
//	  ['ann', 'tok-s3cret', new Date(Date.UTC(1990, 4, 17)), new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 250)), 1.5, 12345678901234, Buffer.from([0, 1, 255])])
//	execute('select id, name from users where name = ? and ratio >= ? and n <> ?', ['ann', -0.5, null])
//	execute('select id, name from users where name = ? and ratio >= ? and n <> ?', ['bob', 2, 7])
//	execute('select ? as b, ? as big', [true, 9007199254740993n])
func TestMySQLRecordedExecuteParameters(t *testing.T) {
	log, err := os.ReadFile(filepath.Join("testdata", "mysql", "mysql2-execute.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`SQL insert into users (name, api_token, born, seen, ratio, n, doc) values (?, ?, ?, ?, ?, ?, ?) → OK, 1 row affected ` +
			`["ann", "***", "1990-05-17 00:00:00", "2024-01-02 03:04:05.250000", 1.5, 12345678901234, <3 bytes>]`,
		`SQL select id, name from users where name = ? and ratio >= ? and n <> ? → 0 rows ["ann", -0.5, NULL]`,
		`SQL select id, name from users where name = ? and ratio >= ? and n <> ? → 0 rows ["bob", 2, 7]`,
		`SQL select ? as b, ? as big → 1 row [1, "9007199254740993"]`,
	}
	for _, step := range []int{1, 9, 1 << 20} {
		var got []string
		for _, in := range replay(log, step, nil) {
			got = append(got, in.Op+" → "+in.Result+" "+in.Note)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("in steps of %d: got\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// A batch of more than eight parameters a row tells eight of its first
// row, and counts its rows; one whose rows cannot all be read says so.
func TestMySQLBulkExecuteManyParameters(t *testing.T) {
	d, s := myConn(mysqlClientProtocol41 | mysqlClientDeprecateEOF)
	myPrepared(d, 4, "insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?)", 9, true)
	bulk := cat([]byte{0xfa}, le32(4), le16(0x80))
	for range 9 {
		bulk = append(bulk, 0x03, 0)
	}
	for row := range 2 {
		for i := range 9 {
			bulk = append(append(bulk, 0), le32(uint32(10*row+i+1))...)
		}
	}
	d.fromClient(myPacket(0, bulk))
	d.fromServer(myOK(1, 2, 2))
	// Types kept; the second row cut short.
	bulk = cat([]byte{0xfa}, le32(4), le16(0))
	for i := range 9 {
		bulk = append(append(bulk, 0), le32(uint32(i+1))...)
	}
	d.fromClient(myPacket(0, append(bulk, 0, 1, 2)))
	d.fromServer(myOK(1, 1, 2))
	var got []string
	for _, in := range s.all() {
		got = append(got, in.Note)
	}
	want := []string{"[1, 2, 3, 4, 5, 6, 7, 8, …] (the first of 2 rows)", "[1, 2, 3, 4, 5, 6, 7, 8, …] (a batch: its first row)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
