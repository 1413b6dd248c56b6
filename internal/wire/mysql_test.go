package wire

import (
	"encoding/binary"
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
	if got := strings.Join(s.lines(), "\n"); !strings.HasPrefix(got, "connection → not decoded from here: the client asked for TLS") {
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
