package wire

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// counted is a callee that counts what reached it, by path or gRPC method.
type counted struct {
	mu  sync.Mutex
	got map[string]int
}

func (c *counted) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]int{}
	}
	c.got[k]++
}

func (c *counted) count(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got[k]
}

// grpcHealth serves grpc-go's health service (Check, Watch), counting
// the calls that reach it.
func (c *counted) grpcHealth(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			c.add(info.FullMethod)
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			c.add(info.FullMethod)
			return h(srv, ss)
		}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// http1 serves HTTP/1.1, answering "real" to every request and counting
// them by path, until the test ends.
func (c *counted) http1(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.add(r.URL.Path)
		io.WriteString(w, "real")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

const (
	healthCheck = "/grpc.health.v1.Health/Check"
	healthWatch = "/grpc.health.v1.Health/Watch"
)

// A blackhole beside a fault that answers: the calls the fault is for are
// answered, the rest swallowed (no answer, the callee never sees them),
// over HTTP/1 (the gate decides first) and gRPC (the proxy's own HTTP/2
// server, which serves connections made while the fault holds), as on the
// browser's edges. Before, HTTP/1 requests the fault was for hung too, and
// gRPC calls it was not for reached the callee through the blackhole.
func TestBlackholeBesideAnAnsweringFault(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		var callee counted
		s := &sink{}
		p := listened(t, "web→api", callee.http1(t), s.add)
		p.SetFaults(Faults{Blackhole: true, HTTP: &HTTPFault{Path: "/health", Status: 200, Body: "fine"}})
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 300 * time.Millisecond}
		resp, err := client.Get("http://" + p.Addr() + "/health")
		if err != nil {
			t.Fatalf("the request the fault answers: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "fine" {
			t.Errorf("the fault's answer: %s %q", resp.Status, body)
		}
		// On the same connection (keep-alive), then on its own.
		for range 2 {
			if resp, err := client.Get("http://" + p.Addr() + "/orders"); err == nil {
				resp.Body.Close()
				t.Fatalf("a request the blackhole swallows was answered: %s", resp.Status)
			}
			tr.CloseIdleConnections()
		}
		if n, m := callee.count("/health"), callee.count("/orders"); n+m != 0 {
			t.Errorf("the callee got /health %d and /orders %d times", n, m)
		}
		in := waitFor(t, s, "GET /orders → no answer")
		if !in.Injected || !strings.Contains(in.Result, "blackhole") {
			t.Errorf("the swallowed request: %+v", in)
		}
		if in := waitFor(t, s, "GET /health → 200"); !in.Injected {
			t.Errorf("the answered request: %+v", in)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		var callee counted
		s := &sink{}
		p := listened(t, "sales→auth", callee.grpcHealth(t), s.add)
		p.SetFaults(Faults{Blackhole: true, GRPC: &GRPCFault{Method: healthCheck, Code: int(codes.Unavailable)}})
		cc := grpcClient(t, p.Addr())
		hc := healthpb.NewHealthClient(cc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
			t.Errorf("the call the fault answers: %v", err)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer wcancel()
		w, err := hc.Watch(wctx, &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("the call the blackhole swallows: %v, want DeadlineExceeded", err)
		}
		if n, m := callee.count(healthCheck), callee.count(healthWatch); n+m != 0 {
			t.Errorf("the callee got Check %d and Watch %d times", n, m)
		}
		in := waitFor(t, s, "GRPC "+healthWatch+" → no answer")
		if !in.Injected || !strings.Contains(in.Result, "blackhole") {
			t.Errorf("the swallowed call: %+v", in)
		}
		// Lifted, the fault alone: the connection the blackhole held is
		// closed (what it swallowed is lost), and once the client saw it
		// closed its next call reaches the callee.
		p.SetFaults(Faults{GRPC: &GRPCFault{Method: healthCheck, Code: int(codes.Unavailable)}})
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		for cc.GetState() == connectivity.Ready && cc.WaitForStateChange(ctx2, connectivity.Ready) {
		}
		w, err = hc.Watch(ctx2, &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		if err != nil || callee.count(healthWatch) != 1 {
			t.Errorf("after the lift: %v, the callee got Watch %d times", err, callee.count(healthWatch))
		}
	})
}

// A latency beside a gRPC fault delays the answers of the calls the
// fault is not for, on the connections the proxy's own HTTP/2 server
// serves, as it does on forwarded ones.
func TestLatencyBesideAGRPCFault(t *testing.T) {
	var callee counted
	p := listened(t, "sales→auth", callee.grpcHealth(t), func(Interaction) {})
	const latency = 300 * time.Millisecond
	p.SetFaults(Faults{Latency: latency, GRPC: &GRPCFault{Method: healthWatch, Code: int(codes.Unavailable)}})
	hc := healthpb.NewHealthClient(grpcClient(t, p.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", resp, err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("Check took %s under a %s latency", took, latency)
	}
	if callee.count(healthCheck) != 1 {
		t.Errorf("the callee got Check %d times", callee.count(healthCheck))
	}
}

// Pipelined HTTP/1 requests under a blackhole beside an HTTP fault: once
// one is swallowed, the fault does not answer those behind it (its answer
// would reach the caller as the swallowed request's).
func TestBlackholeSwallowsWhatIsPipelinedBehind(t *testing.T) {
	var callee counted
	s := &sink{}
	p := listened(t, "web→api", callee.http1(t), s.add)
	p.SetFaults(Faults{Blackhole: true, HTTP: &HTTPFault{Path: "/health", Status: 200, Body: "fine"}})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /orders HTTP/1.1\r\nHost: api\r\n\r\nGET /health HTTP/1.1\r\nHost: api\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, _ := io.ReadAll(c); len(b) > 0 {
		t.Errorf("the caller got %q for a swallowed request", b)
	}
	if in := waitFor(t, s, "GET /health → no answer"); !in.Injected {
		t.Errorf("the request behind: %+v", in)
	}
	// A head split across writes behind a swallowed request, the gate
	// holding its start: it is swallowed and reported whole, and so is
	// the one the fault would answer behind it.
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "GET /orders2 HTTP/1.1\r\nHost: api\r\n\r\nGET /pay HTTP/1.1\r\nHo")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c2, "st: api\r\n\r\nGET /health HTTP/1.1\r\nHost: api\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, _ := io.ReadAll(c2); len(b) > 0 {
		t.Errorf("the caller got %q for swallowed requests", b)
	}
	c2.Close()
	waitFor(t, s, "GET /orders2 → no answer")
	waitFor(t, s, "GET /pay → no answer")
	n := 0
	for _, l := range s.lines() {
		if strings.HasPrefix(l, "GET /health → no answer") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d unanswered /health, want 2: %q", n, s.lines())
	}
	if n := callee.count("/orders") + callee.count("/health") + callee.count("/orders2") + callee.count("/pay"); n != 0 {
		t.Errorf("the callee got %d requests", n)
	}
}

// Calls the blackhole holds on the proxy's own HTTP/2 server are
// reported before Close returns: nothing of an edge reaches its report
// after.
func TestSwallowedCallsAreReportedBeforeClose(t *testing.T) {
	var callee counted
	target := callee.grpcHealth(t)
	for range 10 {
		s := &sink{}
		p, err := Listen("sales→auth", target, s.add)
		if err != nil {
			t.Fatal(err)
		}
		p.SetFaults(Faults{Blackhole: true, GRPC: &GRPCFault{Method: healthCheck, Code: int(codes.Unavailable)}})
		cc := grpcClient(t, p.Addr())
		hc := healthpb.NewHealthClient(cc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for range 5 {
			go hc.Watch(ctx, &healthpb.HealthCheckRequest{})
		}
		time.Sleep(50 * time.Millisecond) // held by then
		p.Close()
		n := len(s.lines())
		time.Sleep(50 * time.Millisecond)
		if m := len(s.lines()); m != n {
			t.Fatalf("%d interactions reported after Close returned: %q", m-n, s.lines()[n:])
		}
		cancel()
		cc.Close()
	}
}

// A latency on the proxy's own HTTP/2 server delays each chunk of an
// answer from when it arrived, as the wire does: a large answer is not
// held once per chunk (32 chunks of 200 ms were 6.7 s), and a body the
// callee sends after its headers is delayed too.
func TestLatencyOnTheOwnServerDelaysEachChunkOnce(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	target := serveH2C(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/later" {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			time.Sleep(500 * time.Millisecond)
			io.WriteString(w, "late body")
			return
		}
		io.WriteString(w, big)
	})
	p := listened(t, "web→api", target, func(Interaction) {})
	const latency = 200 * time.Millisecond
	// The HTTP fault is for another path: the calls here are passed on.
	p.SetFaults(Faults{Latency: latency, HTTP: &HTTPFault{Path: "/other", Status: 503}})
	client := h2cClient(t)
	get := func(path string) (string, time.Duration) {
		start := time.Now()
		resp, err := client.Get("http://" + p.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b), time.Since(start)
	}
	body, took := get("/big")
	if len(body) != len(big) {
		t.Fatalf("the big answer: %d bytes", len(body))
	}
	if took < latency || took > 10*latency {
		t.Errorf("a 1 MiB answer took %s under a %s latency: want the latency once, not once per chunk", took, latency)
	}
	body, took = get("/later")
	if body != "late body" || took < 500*time.Millisecond+latency {
		t.Errorf("a body sent 500 ms after the headers: %q after %s, want it delayed by the latency from its arrival", body, took)
	}
}

// serveH2C serves h with h2c (prior knowledge and the upgrade) on
// loopback until the test ends.
func serveH2C(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// h2cClient is an HTTP/2 client over plaintext (prior knowledge) with
// connections of its own, closed when the test ends.
func h2cClient(t *testing.T) *http.Client {
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// h2cGet fetches url over h2c on a client of its own.
func h2cGet(t *testing.T, url string) (body []byte, took time.Duration, err error) {
	start := time.Now()
	resp, err := h2cClient(t).Get(url)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return body, time.Since(start), err
}

// bandwidth and close_after beside an answering fault shape the
// connections the proxy's own HTTP/2 server serves, as they shape
// forwarded ones.
func TestStreamFaultsBesideAnAnsweringFault(t *testing.T) {
	const size = 256 << 10
	big := strings.Repeat("x", size)
	target := serveH2C(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	t.Run("bandwidth", func(t *testing.T) {
		p := listened(t, "web→api", target, func(Interaction) {})
		p.SetFaults(Faults{Bandwidth: 512 << 10, HTTP: &HTTPFault{Path: "/other", Status: 503}})
		body, took, err := h2cGet(t, "http://"+p.Addr()+"/big")
		if err != nil || len(body) != size {
			t.Fatalf("%d bytes, %v", len(body), err)
		}
		if took < 400*time.Millisecond {
			t.Errorf("256 KiB at 512 KiB/s took %s", took)
		}
	})
	t.Run("close_after", func(t *testing.T) {
		s := &sink{}
		p := listened(t, "web→api", target, s.add)
		p.SetFaults(Faults{CloseAfter: 8 << 10, HTTP: &HTTPFault{Path: "/other", Status: 503}})
		body, _, err := h2cGet(t, "http://"+p.Addr()+"/big")
		if err == nil && len(body) == size {
			t.Fatalf("the whole answer passed a close_after of 8 KiB")
		}
		if len(body) > 8<<10 {
			t.Errorf("%d bytes of body passed a close_after of 8 KiB", len(body))
		}
	})
}

// A long answer streamed in many small chunks under a latency on the
// proxy's own HTTP/2 server: each chunk is delayed by the latency from
// when it came, however many are waiting (the read-ahead holds them all,
// as the wire's does), not by the latency plus the time it waited for
// room.
func TestLatencyOnTheOwnServerTimesEachStreamedChunk(t *testing.T) {
	const chunks, every, latency = 150, 2 * time.Millisecond, 200 * time.Millisecond
	target := serveH2C(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for range chunks {
			fmt.Fprintf(w, "%d\n", time.Now().UnixNano())
			w.(http.Flusher).Flush()
			time.Sleep(every)
		}
	})
	p := listened(t, "web→api", target, func(Interaction) {})
	p.SetFaults(Faults{Latency: latency, HTTP: &HTTPFault{Path: "/other", Status: 503}})
	resp, err := h2cClient(t).Get("http://" + p.Addr() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var worst time.Duration
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		sent, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(time.Unix(0, sent)))
		seen++
	}
	if seen != chunks {
		t.Fatalf("%d chunks, want %d", seen, chunks)
	}
	// Latency plus generous room for a loaded machine; before, the chunks
	// past the 16th waited for room first and came up to 160 ms late.
	if worst < latency || worst > latency+100*time.Millisecond {
		t.Errorf("the latest chunk came %s after it was sent, under a %s latency", worst, latency)
	}
}

// close_after's allowance is shared by both directions: taken in one step,
// the two never pass more than it between them, and reach it exactly.
func TestCloseAfterAllowanceIsTakenOnce(t *testing.T) {
	for range 50 {
		var c atomicCounter
		var passed [2]int64
		var wg sync.WaitGroup
		for i := range passed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k, reached := c.take(70, 1000)
					passed[i] += k
					if reached {
						return
					}
				}
			}()
		}
		wg.Wait()
		if total := passed[0] + passed[1]; total != 1000 {
			t.Fatalf("%d bytes passed an allowance of 1000 (%v)", total, passed)
		}
	}
}
