package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/freeport"
)

type sink struct {
	mu  sync.Mutex
	got []Interaction
}

func (s *sink) add(i Interaction) {
	s.mu.Lock()
	s.got = append(s.got, i)
	s.mu.Unlock()
}

// all is a copy of what the sink holds, safe while proxies still report.
func (s *sink) all() []Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Interaction(nil), s.got...)
}

func (s *sink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, i := range s.got {
		out = append(out, i.Op+" → "+i.Result)
	}
	return out
}

// acceptOne listens on loopback and hands the first connection it takes
// to serve, closing it after; the listener closes when the test ends. It
// returns the listener's address.
func acceptOne(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return ln.Addr().String()
}

// proxied serves h over HTTP behind a recording proxy on edge; both are
// closed when the test ends.
func proxied(t *testing.T, edge string, h http.HandlerFunc) (*Proxy, *sink) {
	t.Helper()
	target := httptest.NewServer(h)
	t.Cleanup(target.Close)
	s := &sink{}
	p, err := Listen(edge, strings.TrimPrefix(target.URL, "http://"), s.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, s
}

func TestHTTPExchangesAreRecordedInOrder(t *testing.T) {
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "broken", 500)
		case "/chunked":
			w.Write([]byte(strings.Repeat("x", 100)))
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("y", 100)))
		default:
			fmt.Fprintf(w, "got %d bytes", len(b))
		}
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	base := "http://" + p.Addr()
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/a?x=1", ""}, {"POST", "/orders", `{"sku":"A1"}`}, {"GET", "/fail", ""}, {"GET", "/chunked", ""}, {"HEAD", "/a", ""},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.path == "/orders" && string(body) != "got 12 bytes" {
			t.Errorf("the proxy changed the exchange: %q", body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.Flush(ctx)
	want := []string{"GET /a?x=1 → 200 OK", "POST /orders → 200 OK", "GET /fail → 500 Internal Server Error", "GET /chunked → 200 OK", "HEAD /a → 200 OK"}
	if got := s.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("interactions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.mu.Lock()
	if len(s.got) > 2 && (!s.got[2].Suspicious || s.got[0].Suspicious) {
		t.Errorf("a 500 is suspicious, a 200 is not: %+v", s.got)
	}
	if len(s.got) > 3 && (string(s.got[1].RequestBody) != `{"sku":"A1"}` || string(s.got[1].ResponseBody) != "got 12 bytes" ||
		len(s.got[3].ResponseBody) != 200) {
		t.Errorf("bodies: %q → %q; chunked %d bytes", s.got[1].RequestBody, s.got[1].ResponseBody, len(s.got[3].ResponseBody))
	}
	s.mu.Unlock()
}

func TestUnknownProtocolPassesThroughUntouched(t *testing.T) {
	echo := acceptOne(t, func(c net.Conn) { io.Copy(c, c) })
	var s sink
	p, err := Listen("a→echo", echo, s.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	msg := "\x00\x01binary, not HTTP\r\n"
	fmt.Fprint(c, msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(bufio.NewReader(c), got); err != nil || string(got) != msg {
		t.Fatalf("echo through the proxy: %q %v", got, err)
	}
	c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for len(s.lines()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l := s.lines(); len(l) != 2 || l[0] != "connection → open" || l[1] != "connection → closed" ||
		!strings.Contains(s.got[1].Note, fmt.Sprintf("%d B sent, %d B received", len(msg), len(msg))) {
		t.Errorf("raw connection: %v %+v", l, s.got)
	}
}

func TestMalformedHTTPStillFlows(t *testing.T) {
	callee := acceptOne(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		fmt.Fprint(c, "NOT-HTTP garbage back\n")
	})
	var s sink
	p, _ := Listen("a→b", callee, s.add)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "NOT-HTTP garbage back\n" {
		t.Fatalf("the answer did not come through: %q %v", line, err)
	}
}

func TestRefusedTargetIsReported(t *testing.T) {
	// A claimed port no one listens on: other seams skip it, and the kernel
	// hands it to no :0 listener (it lies below the ephemeral range).
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var s sink
	p, _ := Listen("a→gone", addr, s.add)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err == nil {
		c.Read(make([]byte, 1))
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(s.lines()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l := s.lines(); len(l) != 1 || !strings.HasPrefix(l[0], "connect → refused") || !s.got[0].Suspicious {
		t.Errorf("got %v", l)
	}
}

func TestFaults(t *testing.T) {
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("z", 2000)))
	})
	get := func(timeout time.Duration) (time.Duration, error) {
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		resp, err := client.Get("http://" + p.Addr() + "/")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return time.Since(start), err
	}
	p.SetFaults(Faults{Latency: 400 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1})
	if d, err := get(5 * time.Second); err != nil || d < 380*time.Millisecond {
		t.Errorf("latency: %v after %s", err, d)
	}
	p.SetFaults(Faults{Reset: true})
	if _, err := get(5 * time.Second); err == nil {
		t.Error("reset: the request went through")
	}
	p.SetFaults(Faults{Refuse: true})
	if _, err := get(5 * time.Second); err == nil {
		t.Error("refuse: a new connection went through")
	}
	p.SetFaults(Faults{Blackhole: true})
	if _, err := get(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("blackhole: %v", err)
	}
	p.SetFaults(Faults{CloseAfter: 500})
	if _, err := get(5 * time.Second); err == nil {
		t.Error("close_after 500 bytes: a 2000-byte answer came through whole")
	}
	p.SetFaults(Faults{HTTP: &HTTPFault{Method: "GET", Path: "/*", Status: 503}})
	resp, err := http.Get("http://" + p.Addr() + "/x")
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("X-Seam-Fault") != "injected" {
		t.Errorf("http fault: %v %v", err, resp)
	}
	if err == nil {
		resp.Body.Close()
	}
	p.SetFaults(Faults{HTTP: &HTTPFault{Path: "/", Slow: 120 * time.Millisecond}})
	if d, err := get(5 * time.Second); err != nil || d < 110*time.Millisecond {
		t.Errorf("slow answers: %v after %s", err, d)
	}
	p.ClearFaults()
	if d, err := get(5 * time.Second); err != nil || d > 300*time.Millisecond {
		t.Errorf("after clearing: %v after %s", err, d)
	}
	joined := strings.Join(s.lines(), "\n")
	for _, want := range []string{"fault → latency 400ms ±20ms", "fault → reset connections", "GET /x → 503 Service Unavailable", "fault → cleared"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, joined)
		}
	}
}

// pgMsg builds a PostgreSQL message: type byte (0: none), length, payload.
func pgMsg(t byte, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	var b []byte
	if t != 0 {
		b = append(b, t)
	}
	n := make([]byte, 4)
	binary.BigEndian.PutUint32(n, uint32(len(body)+4))
	return append(append(b, n...), body...)
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func TestPostgresQueriesAreDecoded(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add}
	d := newDecoder(p)
	startup := make([]byte, 4)
	binary.BigEndian.PutUint32(startup, pgProtocol3)
	ssl := make([]byte, 4)
	binary.BigEndian.PutUint32(ssl, pgSSL)
	// Byte by byte on the client side, to check the framing carries over.
	feedSlow := func(f func([]byte), b []byte) {
		for i := range b {
			f(b[i : i+1])
		}
	}
	d.fromClient(pgMsg(0, ssl))
	d.fromServer([]byte("N"))
	feedSlow(d.fromClient, pgMsg(0, startup, cstr("user"), cstr("app"), []byte{0}))
	d.fromServer(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...))
	d.fromClient(pgMsg('p', cstr("secret-password")))
	// A simple query with two statements.
	d.fromClient(pgMsg('Q', cstr("begin; insert into t values (1)")))
	d.fromServer(append(append(pgMsg('C', cstr("BEGIN")), pgMsg('C', cstr("INSERT 0 1"))...), pgMsg('Z', []byte("T"))...))
	// Extended: parse, bind a text and a binary parameter, execute.
	d.fromClient(pgMsg('P', cstr("s1"), cstr("select * from t where a = $1 and b = $2"), []byte{0, 0}))
	params := []byte{0, 2, 0, 0, 0, 1, 0, 2, 0, 0, 0, 2}
	params = append(params, 'h', 'i', 0, 0, 0, 4, 0, 0, 0, 42, 0, 0)
	feedSlow(d.fromClient, append(append(pgMsg('B', cstr(""), cstr("s1"), params), pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...), pgMsg('S')...))
	d.fromServer(append(append(pgMsg('2'), pgMsg('C', cstr("SELECT 3"))...), pgMsg('Z', []byte("T"))...))
	// An error.
	d.fromClient(pgMsg('Q', cstr("insert into t values (1)")))
	d.fromServer(append(pgMsg('E', []byte("SERROR\x00C23505\x00Mduplicate key value\x00\x00")), pgMsg('Z', []byte("I"))...))
	got := s.lines()
	want := []string{
		"SQL begin; insert into t values (1) → BEGIN, INSERT 0 1",
		"SQL select * from t where a = $1 and b = $2 → SELECT 3",
		"SQL insert into t values (1) → ERROR 23505: duplicate key value",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(s.got) == 3 && (s.got[1].Note != `["hi", 42]` || !s.got[2].Suspicious) {
		t.Errorf("params %q, error suspicious %v", s.got[1].Note, s.got[2].Suspicious)
	}
	for _, i := range s.got {
		if strings.Contains(i.Line(), "secret") {
			t.Errorf("a password reached the timeline: %s", i.Line())
		}
	}
	// A long statement: the line shows its start, the target (which
	// interactions: steps match) and the content keep it whole.
	long := "select id, sku, qty, price, customer_id, created_at, updated_at, status, note, warehouse, carrier, tracking from orders\n" +
		"  where customer_id = $1 and status = 'open' order by created_at desc limit 50"
	d.fromClient(pgMsg('P', cstr(""), cstr(long), []byte{0, 0}))
	d.fromClient(append(append(pgMsg('B', cstr(""), cstr(""), []byte{0, 0, 0, 1, 0, 0, 0, 2, '4', '2', 0, 0}), pgMsg('E', cstr(""), []byte{0, 0, 0, 0})...), pgMsg('S')...))
	d.fromServer(append(append(pgMsg('2'), pgMsg('C', cstr("SELECT 0"))...), pgMsg('Z', []byte("I"))...))
	if n := len(s.got); n != 4 {
		t.Fatalf("the long statement: %d interactions", n)
	}
	in := s.got[3]
	whole := strings.Join(strings.Fields(long), " ")
	if in.Target != whole || !strings.HasSuffix(in.Op, "…") || len([]rune(in.Op)) != len("SQL ")+maxOpSQL+1 {
		t.Errorf("long statement: op %q, target %q", in.Op, in.Target)
	}
	if req, _, resp, _ := in.Content(); req != whole+"\nparameters: [\"42\"]" || resp != "SELECT 0" {
		t.Errorf("long statement's content: %q → %q", req, resp)
	}
}

func TestRedisCommandsAreDecoded(t *testing.T) {
	var s sink
	d := newDecoder(&Proxy{Edge: "app→cache", report: s.add})
	d.fromClient([]byte("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"))
	d.fromServer([]byte("+OK\r\n"))
	// Pipelined, split at awkward places.
	cmds := "*3\r\n$3\r\nSET\r\n$5\r\nuser1\r\n$3\r\nada\r\n*2\r\n$3\r\nGET\r\n$5\r\nuser1\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n*1\r\n$4\r\nNOPE\r\n"
	for i := 0; i < len(cmds); i += 7 {
		d.fromClient([]byte(cmds[i:min(i+7, len(cmds))]))
	}
	d.fromServer([]byte("+OK\r\n$3\r\nada\r\n:0\r\n-ERR unknown command 'NOPE'\r\n"))
	want := []string{"REDIS AUTH *** → +OK", "REDIS SET user1 → +OK", "REDIS GET user1 → 3 bytes", "REDIS LLEN q → 0", "REDIS NOPE → -ERR unknown command 'NOPE'"}
	if got := s.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(s.got) == 5 && !s.got[4].Suspicious {
		t.Error("an error reply is suspicious")
	}
}

// TestProtocolsToldFromSplitFirstBytes: a caller that writes its first
// bytes one at a time (a client flushing each byte, or a proxy before
// seam's cutting them) is decoded as when it writes them at once.
func TestProtocolsToldFromSplitFirstBytes(t *testing.T) {
	startup := make([]byte, 4)
	binary.BigEndian.PutUint32(startup, pgProtocol3)
	for _, c := range []struct {
		name           string
		client, server [][]byte // in turn: client[0], server[0], client[1], …
		want           string
	}{
		{"http", [][]byte{[]byte("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")}, [][]byte{[]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")}, "GET /x → 200 OK"},
		{"redis", [][]byte{[]byte("*1\r\n$4\r\nPING\r\n")}, [][]byte{[]byte("+PONG\r\n")}, "REDIS PING → +PONG"},
		{"postgres", [][]byte{pgMsg(0, startup, cstr("user"), cstr("app"), []byte{0}), pgMsg('Q', cstr("select 1"))},
			[][]byte{append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...), append(pgMsg('C', cstr("SELECT 1")), pgMsg('Z', []byte("I"))...)},
			"SQL select 1 → SELECT 1"},
	} {
		var s sink
		d := newDecoder(&Proxy{Edge: "a→b", report: s.add})
		for i := range c.client {
			for k := range c.client[i] {
				d.fromClient(c.client[i][k : k+1])
			}
			for k := range c.server[i] {
				d.fromServer(c.server[i][k : k+1])
			}
		}
		if got := strings.Join(s.lines(), "\n"); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s byte by byte: %q; want %q", c.name, got, c.want)
		}
	}
}

// TestContentSaysWhenABodyWasCut: a body longer than what is kept says
// so; one of exactly that size does not.
func TestContentSaysWhenABodyWasCut(t *testing.T) {
	for _, n := range []int{maxBodyKept, maxBodyKept + 1} {
		var s sink
		d := newDecoder(&Proxy{Edge: "a→b", report: s.add})
		body := strings.Repeat("x", n)
		d.fromClient([]byte("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n" + body))
		d.fromServer([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
		got := s.all()
		if len(got) != 1 {
			t.Fatalf("%d bytes: %d interactions", n, len(got))
		}
		_, reqBody, _, _ := got[0].Content()
		if cut := strings.HasSuffix(reqBody, "(the first 4 KiB)"); cut != (n > maxBodyKept) {
			t.Errorf("a body of %d bytes: said cut %v", n, cut)
		}
	}
}
