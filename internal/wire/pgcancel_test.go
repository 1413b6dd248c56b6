package wire

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// readPGStartup reads a message without a type byte (a startup, or a
// cancel request) from c.
func readPGStartup(c net.Conn) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:])-4)
	_, err := io.ReadFull(c, b)
	return b, err
}

// readPGMessage reads a typed message from c.
func readPGMessage(c net.Conn) (byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return 0, err
	}
	_, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(h[1:])-4))
	return h[0], err
}

// A client's timeout sends a cancel request (on a connection of its own)
// and returns at once; the server's answer to the cancelled query comes
// a moment later. Settle, which a test's checks and its end run, waits
// for that answer: the query is told in the test whose timeout it was.
func TestSettleWaitsForTheCancelledQuery(t *testing.T) {
	const serverDelay = 150 * time.Millisecond // how long the server takes to cancel
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cancelled := make(chan struct{})
	running := make(chan struct{}) // the server has the query
	key := []byte{1, 2, 3, 4}
	go func() {
		q, err := ln.Accept()
		if err != nil {
			return
		}
		defer q.Close()
		if _, err := readPGStartup(q); err != nil {
			return
		}
		q.Write(append(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('K', []byte{0, 0, 0x30, 0x39}, key)...), pgMsg('Z', []byte("I"))...))
		if typ, err := readPGMessage(q); err != nil || typ != 'Q' {
			return
		}
		close(running)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		readPGStartup(c)
		c.Close()
		close(cancelled)
		time.Sleep(serverDelay)
		q.Write(append(pgMsg('E', []byte("SERROR\x00C57014\x00Mcanceling statement due to user request\x00\x00")), pgMsg('Z', []byte("I"))...))
		io.Copy(io.Discard, q)
	}()
	s := &sink{}
	p, err := Listen("app→db", ln.Addr().String(), s.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	q, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Write(pgStartup())
	for typ := byte(0); typ != 'Z'; {
		if typ, err = readPGMessage(q); err != nil {
			t.Fatal(err)
		}
	}
	q.Write(pgMsg('Q', cstr("select pg_sleep(5)")))
	// As a client's timeout does, the cancel comes once the query runs:
	// sent at once, it could reach the wire before the query did (two
	// connections, read apart), and cancel nothing.
	<-running
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(pgCancelRequest(12345, key))
	io.Copy(io.Discard, c) // as pgx does: until the server closes it
	c.Close()
	<-cancelled

	begin := time.Now()
	p.Settle(context.Background())
	waited := time.Since(begin)
	var found bool
	for _, in := range s.all() {
		found = found || in.Method == "SQL" && strings.Contains(in.Result, "57014")
	}
	if !found {
		t.Errorf("the cancelled query was not told when Settle returned (after %v):\n%s", waited, strings.Join(s.lines(), "\n"))
	}
	if waited > maxCancelWait+maxQuiesce+maxSettle {
		t.Errorf("Settle waited %v", waited)
	}
}
