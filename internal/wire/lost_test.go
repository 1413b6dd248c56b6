package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// waitFor polls s until one of its interactions' lines holds want, for at
// most two seconds.
func waitFor(t *testing.T, s *sink, want string) Interaction {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, i := range s.got {
			if strings.Contains(i.Line(), want) {
				s.mu.Unlock()
				return i
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no interaction reads %q; got:\n%s", want, strings.Join(s.lines(), "\n"))
	return Interaction{}
}

// TestHTTPFaultRegardlessOfSegmentation: the fault decides on the whole
// head whether it came in one write, head and body apart with a pause, or
// byte by byte; the callee never sees a request the fault answered, and
// the request after it on the same connection flows.
func TestHTTPFaultRegardlessOfSegmentation(t *testing.T) {
	var reached atomic.Int32
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/charge" {
			reached.Add(1)
		}
		fmt.Fprintf(w, "real %s %d", r.URL.Path, len(b))
	})
	p.SetFaults(Faults{HTTP: &HTTPFault{Method: "POST", Path: "/charge", Status: 402}})
	body := `{"amount": 12}`
	head := fmt.Sprintf("POST /charge HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	next := "GET /other HTTP/1.1\r\nHost: b\r\n\r\n"
	for _, tc := range []struct {
		name  string
		write func(c net.Conn, br *bufio.Reader)
	}{
		{"one write", func(c net.Conn, _ *bufio.Reader) { io.WriteString(c, head+body) }},
		{"head and body apart, with a pause", func(c net.Conn, _ *bufio.Reader) {
			io.WriteString(c, head)
			time.Sleep(30 * time.Millisecond) // a pause, as a slow caller makes; nothing waits on it
			io.WriteString(c, body)
		}},
		{"byte by byte", func(c net.Conn, _ *bufio.Reader) {
			all := head + body
			for i := range len(all) {
				c.Write([]byte{all[i]})
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			tc.write(c, br)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(resp.Body)
			if resp.StatusCode != 402 || resp.Header.Get("X-Seam-Fault") != "injected" {
				t.Errorf("status %d, fault header %q: the fault did not answer", resp.StatusCode, resp.Header.Get("X-Seam-Fault"))
			}
			io.WriteString(c, next)
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			if string(got) != "real /other 0" {
				t.Errorf("the next request on the connection: %q", got)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the callee saw %d request(s) the fault answered", n)
	}
	in := waitFor(t, s, "POST /charge → 402")
	if !in.Injected || !in.Suspicious {
		t.Errorf("an answer the fault gave is injected and suspicious: %+v", in)
	}
}

// TestCutConnectionsAreInteractions: a request in flight when a fault
// resets the connection is recorded, marked injected.
func TestCutConnectionsAreInteractions(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte(strings.Repeat("z", 2000)))
	})
	defer close(release)
	errc := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Addr() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	p.SetFaults(Faults{Reset: true})
	if err := <-errc; err == nil {
		t.Error("the reset call succeeded")
	}
	in := waitFor(t, s, "GET /slow → no response (reset by a fault)")
	if !in.Injected || !in.Suspicious {
		t.Errorf("%+v", in)
	}
	p.SetFaults(Faults{CloseAfter: 300})
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + p.Addr() + "/big")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("close_after: the answer came whole")
	}
	waitFor(t, s, "closed by a fault after 300 bytes")
}

// TestAbandonedCallIsRecorded: a caller that gives up before the answer
// leaves "no answer: caller closed after …".
func TestAbandonedCallIsRecorded(t *testing.T) {
	release := make(chan struct{})
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	client := &http.Client{Timeout: 150 * time.Millisecond}
	if _, err := client.Get("http://" + p.Addr() + "/wait"); err == nil {
		t.Fatal("the call did not time out")
	}
	in := waitFor(t, s, "GET /wait → no answer: caller closed after")
	if d := in.End.Sub(in.Start); d < 100*time.Millisecond || d > 2*time.Second || !in.Suspicious || in.Injected {
		t.Errorf("%s (%s)", in.Line(), d)
	}
	// A blackhole swallows the call: it ends unanswered, as a fault's doing.
	p.SetFaults(Faults{Blackhole: true})
	if _, err := client.Get("http://" + p.Addr() + "/held"); err == nil {
		t.Fatal("the blackholed call was answered")
	}
	if in := waitFor(t, s, "GET /held → no answer: caller closed after"); !in.Injected {
		t.Errorf("a blackholed call is injected: %s", in.Line())
	}
}

// TestRefuseClosesThePort: while a refuse fault holds, connecting fails
// with "connection refused" (the port is closed), and after it the port
// is the same and serves again.
func TestRefuseClosesThePort(t *testing.T) {
	p, s := proxied(t, "a→b", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	addr := p.Addr()
	p.SetFaults(Faults{Refuse: true})
	_, err := net.DialTimeout("tcp", addr, time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connecting during a partition: %v; want connection refused", err)
	}
	_, err = http.Get("http://" + addr + "/")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("an HTTP call during a partition: %v", err)
	}
	p.ClearFaults()
	if p.Addr() != addr {
		t.Errorf("the port moved: %s → %s", addr, p.Addr())
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("after the partition: %v", err)
	}
	resp.Body.Close()
	waitFor(t, s, "fault → refuse new connections")
	waitFor(t, s, "fault → cleared")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p.Flush(ctx)
}

// TestFlushTellsOfLongLivedRawConnections: a connection in a protocol the
// wire does not decode, open across tests, shows its traffic at each
// flush (so a test's share of it is the test's).
func TestFlushTellsOfLongLivedRawConnections(t *testing.T) {
	bus := acceptOne(t, func(c net.Conn) {
		c.Write([]byte("INFO {}\r\n")) // the callee speaks first; no NATS server_id: not decoded
		io.Copy(c, c)
	})
	var s sink
	p, _ := Listen("a→bus", bus, s.add)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	br.ReadString('\n')
	p.Flush(context.Background())
	fmt.Fprint(c, "PUB x 2\r\nhi\r\n")
	br.ReadString('\n')
	br.ReadString('\n')
	p.Flush(context.Background())
	p.Flush(context.Background()) // nothing new: nothing told
	var active []string
	for _, i := range s.all() {
		if i.Result == "active" {
			active = append(active, i.Note)
		}
	}
	if len(active) != 2 || !strings.HasPrefix(active[0], "0 B sent, 9 B received") || !strings.HasPrefix(active[1], "13 B sent, 13 B received") {
		t.Errorf("active lines: %q", active)
	}
}

// TestCalleeClosingIsNotTheCallersDoing: a callee that closes without
// answering leaves "no response (the callee closed the connection)", not
// "caller closed".
func TestCalleeClosingIsNotTheCallersDoing(t *testing.T) {
	callee := acceptOne(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		c.Close() // without answering
	})
	var s sink
	p, _ := Listen("a→b", callee, s.add)
	defer p.Close()
	_, err := http.Get("http://" + p.Addr() + "/x")
	if err == nil {
		t.Fatal("an answer came")
	}
	in := waitFor(t, &s, "GET /x → no response (the callee closed the connection)")
	if in.Injected || !in.Suspicious {
		t.Errorf("%+v", in)
	}
}

// TestSettleWaitsForTheCutCall: a call cut by a fault is told when both
// sides of its connection have ended, which may be after the caller has
// met the reset; Settle waits for it, so a check made right after the
// caller's error sees it (here the report itself is slow, as a loaded
// machine makes it).
func TestSettleWaitsForTheCutCall(t *testing.T) {
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	defer close(release)
	s := &sink{}
	p := listened(t, "web→api", ln.Addr().String(), func(in Interaction) {
		if strings.Contains(in.Result, "reset by a fault") {
			time.Sleep(200 * time.Millisecond)
		}
		s.add(in)
	})
	client := &http.Client{Timeout: 10 * time.Second}
	errs := make(chan error, 1)
	go func() {
		_, err := client.Get("http://" + p.Addr() + "/slow")
		errs <- err
	}()
	waitUntilTracked := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		n := len(p.conns)
		p.mu.Unlock()
		if n >= 2 || time.Now().After(waitUntilTracked) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the request reaches the callee
	p.SetFaults(Faults{Reset: true})
	if err := <-errs; err == nil {
		t.Fatal("the call was not cut")
	}
	p.Settle(context.Background())
	var cut []string
	for _, in := range s.all() {
		if strings.Contains(in.Result, "reset by a fault") {
			cut = append(cut, in.Line())
		}
	}
	if len(cut) != 1 || !strings.Contains(cut[0], "GET /slow") {
		t.Errorf("after Settle, the cut call: %q", cut)
	}
}

// TestBlackholeHeldConnectionWithNoCall: an HTTP/2 client that waits for
// the callee's SETTINGS before its first call (grpc-go, grpcio) sends no
// call into a blackhole; its connection's end is told, as what the
// caller met, not left at "held".
func TestBlackholeHeldConnectionWithNoCall(t *testing.T) {
	s := &sink{}
	p := listened(t, "sales→auth", grpcServer(t), s.add)
	p.SetFaults(Faults{Blackhole: true})
	conn := grpcClient(t, p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a call into a blackhole: %v, want DEADLINE_EXCEEDED", err)
	}
	waitFor(t, s, "connection → held by a blackhole fault")
	conn.Close()
	in := waitFor(t, s, "connection → ended while a blackhole fault held it (the caller closed it after ")
	if !in.Injected || !in.Suspicious || !strings.Contains(in.Result, "no call was waiting on it") {
		t.Errorf("%s", in.Line())
	}
}
