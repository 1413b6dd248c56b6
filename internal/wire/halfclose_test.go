package wire

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// callee serves one connection on loopback: it reads the request's head,
// then, once the caller's end of its side has come through the proxy
// (its read ends: the proxy noted the caller's end before passing it on),
// writes answer; the listener closes when the test ends.
func calleeAfterCallerEnd(t *testing.T, answer string) string {
	t.Helper()
	return acceptOne(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c) // to the caller's end
		io.WriteString(c, answer)
	})
}

// callerSends writes req to addr and ends its side: half (it reads on)
// or whole (it is gone). It returns what it read before the connection
// ended (nothing when it closed whole).
func callerSends(t *testing.T, addr, req string, half bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	if !half {
		c.Close()
		return ""
	}
	c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(c)
	return string(b)
}

// A caller that half-closes after its request (nc -N, a raw socket, an
// HTTP/1.0 client) and reads its whole answer got that answer: it is
// told as answered, with how long it took, not as abandoned. One that
// closed whole (its own timeout) is gone: the answer that came after
// reached no one.
func TestHalfClosingCallerGetsItsAnswer(t *testing.T) {
	for _, c := range []struct {
		name, req, answer string
		half              bool
		want              string
		suspicious        bool
	}{
		{"HTTP/1.1, Content-Length", "GET /item HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"item\":\"widget\"}", true, "200 OK", false},
		{"HTTP/1.0, to the close", "GET /greet HTTP/1.0\r\nHost: l\r\n\r\n",
			"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"greeting\": \"hello from 1999\"}", true, "200 OK", false},
		{"closed whole", "GET /item HTTP/1.1\r\nHost: b\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"item\":\"widget\"}", false, "no answer: caller closed after", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s sink
			p, err := Listen("gw→api", calleeAfterCallerEnd(t, c.answer), s.add)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got := callerSends(t, p.Addr(), c.req, c.half)
			if c.half && got != c.answer {
				t.Fatalf("the caller read %q; want the whole answer", got)
			}
			in := waitFor(t, &s, " → ")
			if in.Result != c.want && !strings.HasPrefix(in.Result, c.want) || in.Suspicious != c.suspicious || in.Injected {
				t.Errorf("got %s (suspicious %v); want %q…, suspicious %v", in.Line(), in.Suspicious, c.want, c.suspicious)
			}
			if c.half && (!strings.Contains(in.Note, "half-closed") || in.Status != 200) {
				t.Errorf("got %s; want a note that the caller half-closed", in.Line())
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			p.Settle(ctx)
			cancel()
			if lines := s.lines(); len(lines) != 1 {
				t.Errorf("want the call alone; got %q", lines)
			}
		})
	}
}

// A caller that leaves an event stream after its head and some of its
// body (Node's req.destroy(), a timeout in the middle of the body) had
// the answer begin: the status is kept and the caller's leaving is said,
// not suspicious. The callee's writes after it fail: that is the caller's
// leaving, not a reset (with a slow fault holding each chunk too).
func TestCallerLeavingAStreamInItsBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow time.Duration
		ends bool // the callee ends the stream as the caller leaves, rather than go on
	}{{"the callee ends the stream", 0, true}, {"the stream goes on", 0, false}, {"the stream goes on, slowed", 5 * time.Millisecond, false}} {
		slow := tc.slow
		t.Run(tc.name, func(t *testing.T) {
			ended := make(chan struct{})
			callee := acceptOne(t, func(c net.Conn) {
				defer close(ended)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				http.ReadRequest(br)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
				io.WriteString(c, "9\r\ndata: 0\n\n\r\n")
				io.Copy(io.Discard, br) // to the caller's end, passed on
				if tc.ends {
					io.WriteString(c, "9\r\ndata: 9\n\n\r\n0\r\n\r\n")
					return
				}
				// Events go on, as an event stream's do, until a write
				// fails: the proxy closed the connection once the caller
				// was found gone. At most 2 s of them.
				for i := 1; i < 400; i++ {
					if _, err := fmt.Fprintf(c, "9\r\ndata: %d\n\n\r\n", i%10); err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond) // the stream's pace
				}
			})
			var s sink
			p, err := Listen("gw→api", callee, s.add)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if slow > 0 {
				p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/sse", Slow: slow}})
			}
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /sse HTTP/1.1\r\nHost: api\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if line != "data: 0\n" {
				t.Fatalf("the first event: %q %v", line, err)
			}
			c.Close() // whole, with the stream unread: gone
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the callee's stream never met the caller's leaving")
			}
			in := waitFor(t, &s, "GET /sse → ")
			if !strings.HasPrefix(in.Result, "200 OK, then the caller closed after ") || !strings.HasSuffix(in.Result, "(in the middle of its body)") ||
				in.Suspicious || in.Injected || in.Status != 200 {
				t.Errorf("got %s (suspicious %v, injected %v); want 200 OK, then the caller closed after … (in the middle of its body)", in.Line(), in.Suspicious, in.Injected)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			p.Settle(ctx)
			cancel()
			for _, i := range s.all() {
				if strings.Contains(i.Result, "reset") {
					t.Errorf("a write to a caller that left is no reset: %s", i.Line())
				}
			}
		})
	}
}

// A latency fault holds an answer the callee gave at once until after its
// caller gave up: the call is told unanswered by the fault's doing
// (injected), with when the callee really answered.
func TestLatencyHeldAnswerOutlastsTheCaller(t *testing.T) {
	answered := make(chan struct{})
	p, s := proxied(t, "gw→api", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"item":"widget"}`)
		w.(http.Flusher).Flush()
		close(answered)
	})
	p.SetFaults(Faults{Latency: 300 * time.Millisecond})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /item HTTP/1.1\r\nHost: api\r\n\r\n")
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the callee never answered")
	}
	// The answer is in the proxy's hands once it read it from its socket
	// to the callee (the one that goes to the callee's port).
	read := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for conn := range p.conns {
			if conn.RemoteAddr().String() == p.Target() && unread(conn) > 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(2 * time.Second); !read() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	c.Close() // the caller's timeout, while the fault holds the answer
	in := waitFor(t, s, "GET /item → ")
	if !strings.HasPrefix(in.Result, "no answer: caller closed after ") || !strings.Contains(in.Result, "a latency fault held the answer") ||
		!in.Injected || !strings.Contains(in.Note, "the callee answered 200 OK after") {
		t.Fatalf("got %s (injected %v); want no answer, the fault holding it, injected", in.Line(), in.Injected)
	}
	// When the callee did answer: at once, not after the fault's 300 ms.
	when := in.Note[strings.LastIndex(in.Note, "after ")+len("after "):]
	var ms float64
	if _, err := fmt.Sscanf(when, "%f ms)", &ms); !strings.HasSuffix(when, "µs)") && (err != nil || ms >= 300) {
		t.Errorf("the callee's answer is timed with the fault's hold: %s", in.Note)
	}
}

// After a 101 answer switches a connection to WebSocket, a fault that
// resets it says what the connection was doing: messages flowed, it was
// not idle.
func TestFaultResetsAWebSocket(t *testing.T) {
	callee := acceptOne(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		io.Copy(c, br) // frames echoed
	})
	var s sink
	p, err := Listen("web→ws", callee, s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	msg := []byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'} // a text frame (unmasked: the callee only echoes)
	c.Write(msg)
	if _, err := io.ReadFull(br, make([]byte, len(msg))); err != nil {
		t.Fatalf("the echo: %v", err)
	}
	p.SetFaults(Faults{Reset: true})
	c.Write(msg)
	io.ReadAll(br) // to the reset
	in := waitFor(t, &s, "connection → reset by a fault")
	if strings.Contains(in.Note, "nothing in flight") || !strings.Contains(in.Note, "WebSocket after 101 Switching Protocols") ||
		!strings.Contains(in.Note, "14 B passed") || !in.Injected {
		t.Errorf("got %s; want it said that WebSocket messages flowed", in.Line())
	}
}

// A chunked HTTP/1.1 answer's trailers are kept with its headers, as
// HTTP/2's are.
func TestChunkedTrailersAreKept(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Checksum", "abc123")
	}))
	defer target.Close()
	var s sink
	p, err := Listen("gw→api", strings.TrimPrefix(target.URL, "http://"), s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := http.Get("http://" + p.Addr() + "/trailers")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Trailer.Get("X-Checksum") != "abc123" {
		t.Fatalf("the trailer did not pass: %v", resp.Trailer)
	}
	in := waitFor(t, &s, "GET /trailers → 200 OK")
	_, h := in.Headers()
	if !strings.Contains(h, "\nX-Checksum: abc123") || !strings.HasPrefix(in.Result, "200 OK") {
		t.Errorf("response headers %q; want the trailer X-Checksum: abc123 after them", h)
	}
	// Within what is kept of the headers: a trailer that does not fit is
	// its name and size.
	full := strings.Repeat("a", maxHeaderKept-10)
	if got := withTrailer(full, []byte("X-Big: "+strings.Repeat("b", 100))); got != full {
		t.Errorf("a trailer past the room: %q", got[len(full):])
	}
	if got := withTrailer("A: b", []byte("X-Big: "+strings.Repeat("b", maxHeaderKept))); got != "A: b\nX-Big: (4096 bytes, not kept)" {
		t.Errorf("a trailer too big to keep: %q", got)
	}
}
