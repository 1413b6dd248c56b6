package wire

import (
	"encoding/binary"
	"fmt"
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
