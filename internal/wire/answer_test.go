package wire

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowServer is an HTTP/1 callee: /slow answers after 200ms, the rest at
// once, each with its path.
func slowServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		io.WriteString(w, "path "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// An answer a fault gives to a pipelined request goes after the callee's
// answers to the requests before it: HTTP/1 answers in order.
func TestFaultAnswerKeepsPipelinedOrder(t *testing.T) {
	p := listened(t, "web→api", slowServer(t), (&sink{}).add)
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/search*", Status: 503}})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /search?q=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	var got []string
	for range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		b, _ := io.ReadAll(resp.Body)
		got = append(got, resp.Status+" "+strings.TrimSpace(string(b)))
	}
	want := "200 OK path /slow; 503 Service Unavailable Service Unavailable (injected by seam); 200 OK path /hello"
	if strings.Join(got, "; ") != want {
		t.Errorf("got %q\nwant %q", strings.Join(got, "; "), want)
	}
}

// A fault's answer is framed as HTTP frames it: no body to a HEAD, none
// and no length with a 204 or a 304; and the connection closes after it
// when the request asks (HTTP/1.0, Connection: close, Expect).
func TestFaultAnswerFraming(t *testing.T) {
	for _, c := range []struct {
		name, req string
		status    int
		wantBody  string
		closes    bool
	}{
		{"HEAD", "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n", 503, "", false},
		{"204", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 204, "", false},
		{"304", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 304, "", false},
		{"HTTP/1.0", "GET /x HTTP/1.0\r\n\r\n", 503, "Service Unavailable (injected by seam)\n", true},
		{"Connection: close", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 503, "Service Unavailable (injected by seam)\n", true},
		{"Expect", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n", 503, "Service Unavailable (injected by seam)\n", true},
		{"keep-alive", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 503, "Service Unavailable (injected by seam)\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := listened(t, "web→api", slowServer(t), (&sink{}).add)
			p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/x", Status: c.status}})
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(conn, c.req)
			br := bufio.NewReader(conn)
			method, _, _ := strings.Cut(c.req, " ")
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || string(b) != c.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, c.status, c.wantBody)
			}
			if (c.status == 204 || c.status == 304) && resp.Header.Get("Content-Length") != "" {
				t.Errorf("a %d with a Content-Length", c.status)
			}
			// Nothing more on the connection: then it ends (closes) or,
			// kept alive, stays open.
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := br.Read(make([]byte, 1))
			closed := err == io.EOF
			if n > 0 || closed != c.closes {
				t.Errorf("after the answer: %d more bytes, closed %v (%v); want closed %v", n, closed, err, c.closes)
			}
		})
	}
}

func TestFaultRefusesInterimStatus(t *testing.T) {
	if probs := (Faults{HTTP: &HTTPFault{Status: 100}}).Problems(); len(probs) != 1 || !strings.Contains(probs[0].What, "interim") {
		t.Errorf("a 100 fault: %v", probs)
	}
}

// An answer whose head reached the caller, cut in the middle of its body,
// keeps its status and says what cut it: a fault (injected), the callee,
// or the caller done with it (an event stream it closed: not suspicious).
func TestHTTPAnswerCutInItsBody(t *testing.T) {
	for _, c := range []struct {
		name, resp   string
		callerClosed bool
		how          string
		cut          bool
		want         string
		suspicious   bool
	}{
		{"a fault resets an event stream", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n", false, "reset by a fault", true,
			"200 OK, then reset by a fault (in the middle of its body)", true},
		{"the caller leaves an event stream", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n", true, "the callee closed the connection", false,
			"200 OK, then the caller closed after", false},
		{"the caller abandons a download", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nxxxx", true, "connection reset", false,
			"200 OK, then the caller closed after", false},
		{"the callee stops short", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nxxxx", false, "the callee closed the connection", false,
			"200 OK, then the callee closed the connection (in the middle of its body)", true},
		// A caller that only half-closed and read on: the close ends a
		// close-delimited answer, whole.
		{"a half-closed caller reads to the close", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", true, "the callee closed the connection", false,
			"200 OK", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s sink
			d := newDecoder(&Proxy{Edge: "web→api", report: s.add})
			d.fromClient([]byte("GET /sse HTTP/1.1\r\nHost: a\r\n\r\n"))
			d.fromServer([]byte(c.resp))
			if c.callerClosed {
				d.callerClosed(time.Now())
				// The proxy's next write to the caller tells whether it
				// left (it resets) or only half-closed.
				left := !strings.HasPrefix(c.name, "a half-closed")
				d.written(func() bool { return !left })
			}
			d.close(c.how, c.cut)
			got := s.all()
			if len(got) != 1 {
				t.Fatalf("got %v", s.lines())
			}
			in := got[0]
			if !strings.HasPrefix(in.Result, c.want) || in.Status != 200 || in.Injected != c.cut || in.Suspicious != c.suspicious {
				t.Errorf("got %s (status %d, injected %v, suspicious %v); want %q…, suspicious %v", in.Line(), in.Status, in.Injected, in.Suspicious, c.want, c.suspicious)
			}
		})
	}
}

// A method the wire does not list (WebDAV's PROPFIND, a cache's PURGE)
// first on a connection is decoded once its request line is whole, and
// an HTTP fault meets it; a line-based protocol that is not HTTP (Redis's
// inline PING) is not held by the fault's gate.
func TestUncommonMethodsAreHTTP(t *testing.T) {
	s := &sink{}
	p := listened(t, "web→api", slowServer(t), s.add)
	do := func(req string) string {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		// The method in two writes, as a byte-at-a-time client sends it.
		io.WriteString(c, req[:3])
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, req[3:])
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Status
	}
	if got := do("PURGE /hello HTTP/1.1\r\nHost: a\r\n\r\n"); got != "200 OK" {
		t.Fatalf("PURGE through the wire: %s", got)
	}
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/dav/*", Status: 503}})
	if got := do("PROPFIND /dav/x HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n\r\n"); got != "503 Service Unavailable" {
		t.Fatalf("PROPFIND under a fault: %s", got)
	}
	// Not HTTP: flows on at once, though it starts as a method might.
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "PING\r\n")
	b := make([]byte, 64)
	if n, err := c.Read(b); err != nil || !strings.HasPrefix(string(b[:n]), "HTTP/1.1 400") {
		t.Fatalf("a line that is no request, under the fault: %q %v (want the callee's own 400, not a hold)", b[:n], err)
	}
	p.ClearFaults()
	waitForN(t, s, 2)
	var ops []string
	for _, in := range s.all() {
		if in.Protocol == "http" {
			ops = append(ops, in.Op+" → "+in.Result)
		}
	}
	if got := strings.Join(ops, "; "); !strings.Contains(got, "PURGE /hello → 200 OK") || !strings.Contains(got, "PROPFIND /dav/x → 503 Service Unavailable") {
		t.Errorf("recorded: %s", got)
	}
}

// A long target is cut in the timeline's line, kept whole in Target.
func TestLongTargetLine(t *testing.T) {
	target := "/search?q=" + strings.Repeat("x", 8000)
	in := Interaction{Op: "GET " + target, Target: target, Result: "200 OK"}
	if line := in.Line(); len([]rune(line)) > maxOpLine+40 || !strings.Contains(line, "…") {
		t.Errorf("a line of %d runes: %.80s…", len([]rune(line)), line)
	}
}

// A gzip body (Content-Encoding) is kept inflated, so interactions can
// read it (and masking see its secrets).
func TestGzipBodiesAreKeptInflated(t *testing.T) {
	zip := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		io.WriteString(zw, s)
		zw.Close()
		return b.String()
	}
	req, resp := zip(`{"q":"shoes","password":"hunter2"}`), zip(`{"zipped":true}`)
	var s sink
	d := newDecoder(&Proxy{Edge: "web→api", report: s.add})
	d.fromClient([]byte(fmt.Sprintf("POST /search HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(req), req)))
	d.fromServer([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(resp), resp)))
	got := s.all()
	if len(got) != 1 {
		t.Fatalf("got %v", s.lines())
	}
	if string(got[0].ResponseBody) != `{"zipped":true}` || string(got[0].RequestBody) != `{"q":"shoes","password":"***"}` {
		t.Errorf("bodies kept: %q → %q", got[0].RequestBody, got[0].ResponseBody)
	}
}

// A request head over 64 KiB stops the connection's decoding, and says
// so: the requests after it do not vanish unexplained.
func TestHugeHeadIsSaid(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "web→api", report: s.add})
	d.fromClient([]byte("GET /cookie HTTP/1.1\r\nHost: a\r\nX-A: " + strings.Repeat("a", 40000) + "\r\nX-B: " + strings.Repeat("b", 40000) + "\r\n\r\n"))
	if got := strings.Join(s.lines(), "\n"); !strings.Contains(got, "connection → not decoded from here: a request head over 64 KiB; HTTP faults do not meet the requests after it") {
		t.Errorf("got %q", got)
	}
}

// A fault's answer to a request that asks the connection to end, whose
// body is still coming (a large POST), reaches the caller whole: the
// connection is half closed and the body read, not reset under it.
func TestFaultAnswerThenCloseIsNoReset(t *testing.T) {
	p := listened(t, "web→api", slowServer(t), (&sink{}).add)
	p.SetFaults(Faults{HTTP: &HTTPFault{Method: "POST", Path: "/upload", Status: 503}})
	body := bytes.Repeat([]byte("x"), 1<<20)
	for i := range 10 {
		req, _ := http.NewRequest("POST", "http://"+p.Addr()+"/upload", bytes.NewReader(body))
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		}
	}
}

// A request line of an uncommon method split after more than the first
// bytes looked at (a long target) is still told as HTTP.
func TestLongSplitRequestLine(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "web→api", report: s.add})
	d.fromClient([]byte("PURGE /cache/some/long/path/to/a/thing"))
	d.fromClient([]byte(" HTTP/1.1\r\nHost: a\r\n\r\n"))
	d.fromServer([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	if got := strings.Join(s.lines(), "\n"); !strings.HasPrefix(got, "PURGE /cache/some/long/path/to/a/thing → 200 OK") {
		t.Errorf("got %q", got)
	}
}

// A caller that half-closes after its request (nc -N, an HTTP/1.0 client)
// still gets the callee's answer while a fault that answers other
// requests holds: the connection, accepted through the fault's sniffing,
// half closes as any does.
func TestHalfCloseUnderAFault(t *testing.T) {
	p := listened(t, "web→api", slowServer(t), (&sink{}).add)
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/other", Status: 503}})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.0\r\n\r\n")
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || !strings.Contains(string(b), "path /slow") {
		t.Fatalf("got %q %v", b, err)
	}
}

// A connection a fault's answer closed because its request asked for that
// (Connection: close, as Python's urllib sends) ended as the caller
// wanted: it is recorded, as injected, but not suspicious.
func TestAskedCloseAfterAFaultIsNotSuspicious(t *testing.T) {
	for _, c := range []struct {
		name       string
		f          Faults
		suspicious bool
	}{
		{"answered, asked to close", Faults{HTTP: &HTTPFault{Path: "/x", Status: 503}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &sink{}
			p := listened(t, "web→api", slowServer(t), s.add)
			p.SetFaults(c.f)
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			io.Copy(io.Discard, conn)
			conn.Close()
			deadline := time.Now().Add(3 * time.Second)
			for {
				var ev *Interaction
				for _, i := range s.all() {
					if i.Op == "connection" {
						ev = &i
					}
				}
				if ev != nil {
					if ev.Suspicious != c.suspicious || !ev.Injected {
						t.Errorf("%s: suspicious %v injected %v; want suspicious %v, injected", ev.Line(), ev.Suspicious, ev.Injected, c.suspicious)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no connection event: %v", s.lines())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
