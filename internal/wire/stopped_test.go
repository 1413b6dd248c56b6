package wire

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// pgStartup is a startup message for protocol 3.0.
func pgStartup() []byte {
	startup := make([]byte, 4)
	binary.BigEndian.PutUint32(startup, pgProtocol3)
	return pgMsg(0, startup, cstr("user"), cstr("app"), []byte{0})
}

// pgCancelRequest is a cancel request for backend pid with key.
func pgCancelRequest(pid uint32, key []byte) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, pgCancel)
	binary.BigEndian.PutUint32(b[4:], pid)
	return pgMsg(0, b, key)
}

// A cancel request, made on a connection of its own, is recorded with
// the query it cancels (by the backend's process ID and key, which the
// server gave the query's connection), and the query's error says the
// caller cancelled it. One with a key not the backend's is suspicious
// (the server ignores it).
func TestPostgresCancelRequestIsRecorded(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add}
	q := newDecoder(p)
	q.fromClient(pgStartup())
	key := []byte{1, 2, 3, 4}
	q.fromServer(append(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('K', []byte{0, 0, 0x30, 0x39}, key)...), pgMsg('Z', []byte("I"))...))
	q.fromClient(pgMsg('Q', cstr("select pg_sleep(10) where password = 'hunter2'")))

	c := newDecoder(p)
	c.fromClient(pgCancelRequest(12345, key))
	c.close("connection closed", false)
	other := newDecoder(p)
	other.fromClient(pgCancelRequest(12345, []byte{9, 9, 9, 9}))
	other.close("connection closed", false)

	q.fromServer(append(pgMsg('E', []byte("SERROR\x00C57014\x00Mcanceling statement due to user request\x00\x00")), pgMsg('Z', []byte("I"))...))
	got := s.all()
	if len(got) != 3 {
		t.Fatalf("%d interactions:\n%s", len(got), strings.Join(s.lines(), "\n"))
	}
	if in := got[0]; in.Op != "connection" || in.Suspicious ||
		in.Result != "cancel request for backend 12345: select pg_sleep(10) where password = '***'" ||
		!strings.HasPrefix(in.Note, "(after the query had run ") {
		t.Errorf("the cancel: %s", in.Line())
	}
	if in := got[1]; !in.Suspicious || !strings.Contains(in.Note, "secret key is not the backend's") {
		t.Errorf("a cancel with the wrong key: %s", in.Line())
	}
	if in := got[2]; in.Method != "SQL" || !strings.Contains(in.Result, "57014") || !strings.Contains(in.Result, "(the caller sent a cancel request after") {
		t.Errorf("the cancelled query: %s", in.Line())
	}
	for _, line := range s.lines() {
		if strings.Contains(line, "hunter2") || strings.Contains(line, "not decoded") {
			t.Errorf("%s", line)
		}
	}
	// The backend is forgotten a while after its connection ends (a
	// cancel request may come after: pgBackendLinger).
	q.close("connection closed", false)
	p.forgetEndedBackends(time.Now())
	if _, ok := p.pgBackends.Load(uint32(12345)); !ok {
		t.Error("the backend was forgotten as its connection ended")
	}
	p.forgetEndedBackends(time.Now().Add(pgBackendLinger + time.Second))
	if _, ok := p.pgBackends.Load(uint32(12345)); ok {
		t.Error("the backend outlived its connection by more than pgBackendLinger")
	}
}

// A decoder that stops says so once, with why: encryption accepted, a
// subscriber's messages, framing it cannot read.
func TestStoppedDecodingIsSaid(t *testing.T) {
	ssl := make([]byte, 4)
	binary.BigEndian.PutUint32(ssl, pgSSL)
	for _, c := range []struct {
		name       string
		feed       func(d *decoder)
		want       string
		suspicious bool
	}{
		{"TLS accepted", func(d *decoder) {
			d.fromClient(pgMsg(0, ssl))
			d.fromServer([]byte("S"))
			d.fromClient([]byte("\x16\x03\x01 a TLS hello"))
		}, "postgres: connection → not decoded from here: the server accepted encryption", false},
		{"PG framing", func(d *decoder) {
			d.fromClient(pgStartup())
			d.fromClient([]byte("Q\x00\x00\x00\x02"))
			d.fromClient(pgMsg('Q', cstr("select 1")))
		}, "postgres: connection → not decoded from here: a message the wire cannot read", true},
		{"RESP2 subscriber", func(d *decoder) {
			d.fromClient([]byte(respCmd("SUBSCRIBE", "news")))
			d.fromServer([]byte("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"))
			d.fromServer([]byte("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"))
		}, "redis: connection → not decoded from here: the connection carries messages (SUBSCRIBE)", false},
		{"RESP reply to nothing", func(d *decoder) {
			d.fromClient([]byte(respCmd("GET", "k")))
			d.fromServer([]byte("$1\r\nx\r\n+OK\r\n"))
		}, "redis: connection → not decoded from here: a reply to no command", true},
	} {
		var s sink
		d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
		c.feed(d)
		d.close("connection closed", false)
		var told []Interaction
		for _, in := range s.all() {
			if strings.Contains(in.Result, "not decoded from here") {
				told = append(told, in)
			}
		}
		if len(told) != 1 || !strings.HasPrefix(told[0].Protocol+": "+told[0].Op+" → "+told[0].Result, c.want) || told[0].Suspicious != c.suspicious {
			t.Errorf("%s: told %+v\nall:\n%s", c.name, told, strings.Join(s.lines(), "\n"))
		}
	}
}

// A subscriber's SUBSCRIBE is recorded; over RESP3 its confirmations and
// messages are pushes, and the commands after it still pair with their
// replies.
func TestRedisSubscribeRESP3KeepsPairing(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte(respCmd("HELLO", "3")))
	d.fromServer([]byte("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n"))
	d.fromClient([]byte(respCmd("SUBSCRIBE", "news")))
	d.fromServer([]byte(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"))
	d.fromClient([]byte(respCmd("PING")))
	d.fromServer([]byte(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n+PONG\r\n"))
	want := "REDIS HELLO 3 → 1 pairs\nREDIS SUBSCRIBE news → sent\nREDIS PING → +PONG"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// Inline commands (redis-cli --pipe, telnet) are decoded as RESP arrays
// are, after a RESP start: words on a line.
func TestRedisInlineCommands(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte(respCmd("AUTH", "s3cret")))
	d.fromServer([]byte("+OK\r\n"))
	d.fromClient([]byte("SET greeting hello\r\n\r\nGET greeting\n"))
	d.fromServer([]byte("+OK\r\n$5\r\nhello\r\n"))
	d.fromClient([]byte(respCmd("ECHO", "\x8fi\x00\nA")))
	d.fromServer([]byte("$5\r\n\x8fi\x00\nA\r\n"))
	want := "REDIS AUTH *** → +OK\nREDIS SET greeting → +OK\nREDIS GET greeting → 5 bytes\nREDIS ECHO \"\\x8fi\\x00\\nA\" → 5 bytes"
	if got := strings.Join(s.lines(), "\n"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A command the connection ended in the middle of (a close_after fault)
// is told, not "nothing in flight".
func TestRedisCommandCutWhileSent(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	cmd := respCmd("SET", "big", strings.Repeat("v", 100))
	d.fromClient([]byte(cmd[:30]))
	if n := d.close("closed by a fault after 30 bytes", true); n != 1 {
		t.Errorf("in flight: %d, want 1", n)
	}
	if got := strings.Join(s.lines(), "\n"); got != "REDIS SET big → cut while being sent (closed by a fault after 30 bytes)" {
		t.Errorf("got %q", got)
	}
	if in := s.all(); len(in) != 1 || !in[0].Injected || !in[0].Suspicious || in[0].Key != "big" {
		t.Errorf("%+v", in)
	}
}

// A query whose caller closed its connection (its own timeout) is told
// at the next Settle, not once the server, still running it, ends too;
// the server's late answer reaches no one and is not decoded.
func TestAbandonedQueryIsToldAtOnce(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add}
	d := newDecoder(p)
	d.fromClient(pgStartup())
	d.fromServer(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...))
	d.fromClient(pgMsg('Q', cstr("select pg_sleep(10)")))
	d.tellAbandoned()
	if len(s.got) != 0 {
		t.Fatalf("told before the caller closed: %s", s.lines())
	}
	d.callerClosed(time.Now())
	d.tellAbandoned()
	d.tellAbandoned()
	if got := strings.Join(s.lines(), "\n"); !strings.HasPrefix(got, "SQL select pg_sleep(10) → no answer: caller closed after") || len(s.got) != 1 {
		t.Fatalf("got %q", got)
	}
	d.fromServer(append(pgMsg('C', cstr("SELECT 1")), pgMsg('Z', []byte("I"))...))
	if n := d.close("the callee closed the connection", false); n != 1 || len(s.got) != 1 {
		t.Errorf("after: %d in flight, %s", n, s.lines())
	}
}

// Calls waiting when a decoder stops may be answered after, unseen: they
// are counted as unread, not told as unanswered when the connection ends.
func TestStoppedDecoderDoesNotBlameWhatItCouldNotSee(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte(respCmd("GET", "a") + respCmd("GET", "b")))
	d.fromServer([]byte("$1\r\nx\r\n!!!\r\n")) // an answer, then bytes it cannot read
	d.fromServer([]byte("$1\r\ny\r\n"))
	if n := d.close("connection closed", false); n != 0 {
		t.Errorf("%d told unanswered", n)
	}
	if n := d.unreadInFlight(); n != 1 {
		t.Errorf("%d unread, want 1", n)
	}
	for _, in := range s.all() {
		if strings.Contains(in.Result, "no response") || strings.Contains(in.Result, "no answer") {
			t.Errorf("blamed: %s", in.Line())
		}
	}
}

// A query told abandoned counts as in flight when the connection ends:
// no "nothing in flight", no second line for it.
func TestAbandonedCountsWhenTheConnectionEnds(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→db", report: s.add})
	d.fromClient(pgStartup())
	d.fromServer(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...))
	d.fromClient(pgMsg('Q', cstr("select pg_sleep(10)")))
	d.callerClosed(time.Now())
	d.tellAbandoned()
	if n := d.close("the callee closed the connection", false); n != 1 || len(s.got) != 1 {
		t.Errorf("%d in flight at the end, lines %s", n, s.lines())
	}
}

// A cancel request for a query that ended first says nothing of the next
// query's own error, though it is a 57014 too (a statement timeout).
func TestStaleCancelIsForgotten(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add}
	q := newDecoder(p)
	q.fromClient(pgStartup())
	key := []byte{1, 2, 3, 4}
	q.fromServer(append(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('K', []byte{0, 0, 0, 7}, key)...), pgMsg('Z', []byte("I"))...))
	q.fromClient(pgMsg('Q', cstr("select 1")))
	c := newDecoder(p)
	c.fromClient(pgCancelRequest(7, key))
	q.fromServer(append(pgMsg('C', cstr("SELECT 1")), pgMsg('Z', []byte("I"))...))
	q.fromClient(pgMsg('Q', cstr("select pg_sleep(5)")))
	q.fromServer(append(pgMsg('E', []byte("SERROR\x00C57014\x00Mcanceling statement due to statement timeout\x00\x00")), pgMsg('Z', []byte("I"))...))
	for _, in := range s.all() {
		if strings.Contains(in.Result, "the caller sent a cancel request") {
			t.Errorf("a stale cancel: %s", in.Line())
		}
	}
}

// An HTTP/1 stream that stops being HTTP says why, once, and the
// requests before it that still waited are not told unanswered.
func TestHTTPStopsSayWhy(t *testing.T) {
	for _, c := range []struct {
		name, client, server, want string
	}{
		{"request line", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHELLO THERE\r\n\r\n", "", "a request that is not HTTP/1.x: \"HELLO THERE\""},
		{"chunk size", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a bad chunk size \"zz\""},
		{"answer to nothing", "", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ""},
	} {
		var s sink
		d := newDecoder(&Proxy{Edge: "a→b", report: s.add})
		if c.client != "" {
			d.fromClient([]byte(c.client))
		} else {
			d.fromClient([]byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
			d.fromServer([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
		}
		if c.server != "" {
			d.fromServer([]byte(c.server))
		}
		d.close("connection closed", false)
		got := strings.Join(s.lines(), "\n")
		if c.want != "" && !strings.Contains(got, "connection → not decoded from here: "+c.want) {
			t.Errorf("%s: %s", c.name, got)
		}
		if c.want == "" && !strings.Contains(got, "not decoded from here: an answer to no request") {
			t.Errorf("%s: %s", c.name, got)
		}
		if strings.Contains(got, "no response") || strings.Count(got, "not decoded from here") != 1 {
			t.Errorf("%s: blamed or said twice:\n%s", c.name, got)
		}
	}
}
