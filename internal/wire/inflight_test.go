package wire

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitInFlight polls p.InFlight until cond holds of it (bounded: 5 s).
func waitInFlight(t *testing.T, p *Proxy, cond func([]Interaction) bool) []Interaction {
	t.Helper()
	var got []Interaction
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		p.Settle(context.Background())
		if got = p.InFlight(time.Now()); cond(got) {
			return got
		}
	}
	t.Fatalf("in flight: %+v", got)
	return nil
}

// A call hung on its callee is in flight, without an answer: after
// InFlightSuspicious it is suspicious; a stream whose answer's head came
// (server-sent events) is in flight with its status. Neither is in the
// journal until it ends.
func TestInFlightHTTP1(t *testing.T) {
	release := make(chan struct{})
	p, s := proxied(t, "web→api", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			<-release
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			fmt.Fprint(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			<-release
		}
	})
	defer close(release)
	start := time.Now()
	for _, path := range []string{"/hang", "/events"} {
		go func() {
			resp, err := http.Get("http://" + p.Addr() + path)
			if err == nil {
				if path == "/events" {
					bufio.NewReader(resp.Body).ReadString('\n')
					<-release // the caller reads on
				}
				resp.Body.Close()
			}
		}()
	}
	got := waitInFlight(t, p, func(l []Interaction) bool {
		return len(l) == 2 && (l[0].Status == 200 || l[1].Status == 200)
	})
	for _, in := range got {
		if !in.InFlight || in.Edge != "web→api" || in.Start.Before(start) || in.End.Before(in.Start) {
			t.Errorf("%+v: want in flight on web→api, begun in the test", in)
		}
		switch in.Op {
		case "GET /hang":
			if in.Result != "no answer yet" || in.Status != 0 || !strings.Contains(in.Line(), "still in flight") {
				t.Errorf("the hung call: %s", in.Line())
			}
		case "GET /events":
			if in.Result != "200 OK" || in.Suspicious || !strings.Contains(in.Line(), "the answer still coming") {
				t.Errorf("the stream: %s", in.Line())
			}
		default:
			t.Errorf("unexpected: %s", in.Line())
		}
	}
	if n := len(s.all()); n != 0 {
		t.Errorf("told before they ended: %q", s.lines())
	}
	// Waiting long enough without an answer is suspicious.
	for _, in := range got {
		if in.Op == "GET /hang" {
			time.Sleep(time.Until(in.Start.Add(InFlightSuspicious)))
		}
	}
	for _, in := range p.InFlight(time.Now()) {
		if in.Op == "GET /hang" && !in.Suspicious {
			t.Errorf("no answer after %v is not suspicious: %s", time.Since(in.Start), in.Line())
		}
	}
}

// A gRPC call in flight over HTTP/2 (prior knowledge).
func TestInFlightGRPC(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := serveH2C(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	s := &sink{}
	p, err := Listen("web→api", addr, s.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := h2cClient(t)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+p.Addr()+"/pkg.Svc/Get", strings.NewReader("\x00\x00\x00\x00\x00"))
		req.Header.Set("Content-Type", "application/grpc")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	got := waitInFlight(t, p, func(l []Interaction) bool { return len(l) == 1 })
	if in := got[0]; in.Protocol != "grpc" || in.Op != "GRPC /pkg.Svc/Get" || in.Result != "no answer yet" || !in.InFlight {
		t.Errorf("the gRPC call in flight: %s (%s)", in.Line(), in.Protocol)
	}
}

// The query a PostgreSQL connection runs is in flight, masked as told
// queries are; those queued behind it are not (they have not begun).
func TestInFlightPostgres(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "app→db", report: s.add, conns: map[net.Conn]*connState{}}
	q := newDecoder(p)
	st := &connState{}
	st.dec.Store(q)
	p.conns[nil] = st
	q.fromClient(pgStartup())
	q.fromServer(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('Z', []byte("I"))...))
	q.fromClient(pgMsg('Q', cstr("select pg_sleep(10) where password = 'hunter2'")))
	got := p.InFlight(time.Now())
	if len(got) != 1 || got[0].Method != "SQL" || !strings.Contains(got[0].Target, "pg_sleep") || got[0].Result != "no answer yet" {
		t.Fatalf("in flight: %+v", got)
	}
	if strings.Contains(got[0].Line(), "hunter2") {
		t.Errorf("a secret in flight is not masked: %s", got[0].Line())
	}
	q.fromServer(append(pgMsg('C', cstr("SELECT 1")), pgMsg('Z', []byte("I"))...))
	if got := p.InFlight(time.Now()); len(got) != 0 {
		t.Errorf("still in flight once answered: %+v", got)
	}
}

// Redis's blocking commands wait by design: not calls in flight.
func TestInFlightLeavesBlockingRedisCommands(t *testing.T) {
	var s sink
	p := &Proxy{Edge: "worker→cache", report: s.add, conns: map[net.Conn]*connState{}}
	d := newDecoder(p)
	st := &connState{}
	st.dec.Store(d)
	p.conns[nil] = st
	d.fromClient([]byte("*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n"))
	if got := p.InFlight(time.Now()); len(got) != 0 {
		t.Errorf("a BLPOP waiting is in flight: %+v", got)
	}
	d2 := newDecoder(p)
	st2 := &connState{}
	st2.dec.Store(d2)
	p.conns[&net.TCPConn{}] = st2
	d2.fromClient([]byte("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"))
	if got := p.InFlight(time.Now()); len(got) != 1 || got[0].Command != "GET" || got[0].Key != "key" {
		t.Errorf("a GET waiting: %+v", got)
	}
}
