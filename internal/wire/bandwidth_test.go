package wire

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/freeport"
)

// big answers 20 KB at once.
func big(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "20000")
	io.WriteString(w, strings.Repeat("x", 20000))
}

// The bandwidth fault streams what it holds, as a slow link does: the
// answer's first bytes come after a slice's share of time, not after the
// whole chunk's (20 KB at 20 KB/s: 1 s), and the rest follows at the rate.
func TestBandwidthFaultStreamsInSlices(t *testing.T) {
	p, _ := proxied(t, "api→backend", big)
	p.SetFaults(Faults{Bandwidth: 20000})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: backend\r\n\r\n")
	br := bufio.NewReader(c)
	if _, err := br.ReadByte(); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader("H"), br)), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	all := time.Since(start)
	if err != nil || n != 20000 {
		t.Fatalf("read %d bytes of the body: %v", n, err)
	}
	if first > 400*time.Millisecond {
		t.Errorf("the first byte came after %s; want it after a slice (about 50 ms), well before 20 KB's 1 s", first)
	}
	if all < 800*time.Millisecond {
		t.Errorf("20 KB at 20 KB/s came in %s; want about 1 s", all)
	}
}

// A caller that gives up on an answer a bandwidth fault (or toxic) is
// still sending is told at once, as the fault's doing, within the
// test: a Settle right after the caller's error sees it.
func TestBandwidthHeldAnswerToldWhenTheCallerLeaves(t *testing.T) {
	for _, c := range []struct {
		name, held string
		set        func(p *Proxy)
	}{
		{"fault", "a bandwidth fault held the rest", func(p *Proxy) { p.SetFaults(Faults{Bandwidth: 2000}) }},
		{"toxic", "a bandwidth toxic held the rest", func(p *Proxy) {
			p.SetToxics(&Toxics{List: []Toxic{{Name: "thin", Type: "bandwidth", Stream: "downstream", Toxicity: 1,
				Attributes: map[string]int64{"rate": 2}}}})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, s := proxied(t, "api→backend", big)
			c.set(p)
			start := time.Now()
			client := &http.Client{Timeout: 600 * time.Millisecond, Transport: &http.Transport{}}
			resp, err := client.Get("http://" + p.Addr() + "/big")
			if err != nil {
				t.Fatalf("no answer's head within 600 ms through a 2 KB/s link: %v", err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err == nil {
				t.Fatal("20 KB at 2 KB/s came whole within 600 ms")
			}
			resp.Body.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			p.Settle(ctx)
			cancel()
			var got *Interaction
			for _, in := range s.all() {
				if strings.HasPrefix(in.Line(), "GET /big → ") {
					got = &in
				}
			}
			if got == nil {
				t.Fatalf("after Settle, %s after the call began, the call is not told (the link takes 10 s): %q", time.Since(start), s.lines())
			}
			if !strings.HasPrefix(got.Result, "200 OK, then the caller closed after ") || !strings.Contains(got.Result, c.held) || !got.Injected {
				t.Errorf("got %s (injected %v); want 200 OK, then the caller closed, %s, injected", got.Line(), got.Injected, c.held)
			}
		})
	}
}

// startRedis starts the machine's redis-server on a free loopback port
// and returns its address; it stops when the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is missing; the test command installs it (Debian package redis-server)")
		}
		t.Skip("redis-server not installed (apt-get install redis-server); CI installs it")
	}
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no", "--loglevel", "warning")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	release() // the server binds it next
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-done:
			t.Fatalf("redis-server exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server is not answering on %s\n%s", addr, out.String())
		}
	}
}

// A fault or toxic that holds the caller's bytes (a bandwidth fault, an
// upstream latency or slicer toxic) holds them decoded: a
// Redis command whose caller gives up while it is held is told at once,
// as the fault's doing, not lost.
func TestHeldRequestToldWhenTheCallerLeaves(t *testing.T) {
	redis := startRedis(t)
	upstream := func(typ string, attrs map[string]int64) func(p *Proxy) {
		return func(p *Proxy) {
			p.SetToxics(&Toxics{List: []Toxic{{Name: typ, Type: typ, Stream: "upstream", Toxicity: 1, Attributes: attrs}}})
		}
	}
	for _, c := range []struct {
		name, held string
		set        func(p *Proxy)
	}{
		{"bandwidth fault", "a bandwidth fault held the request", func(p *Proxy) { p.SetFaults(Faults{Bandwidth: 10}) }},
		{"latency toxic", "a latency toxic held the request", upstream("latency", map[string]int64{"latency": 5000})},
		{"slicer toxic", "a slicer toxic held the request", upstream("slicer", map[string]int64{"average_size": 1, "delay": 500000})},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s sink
			p, err := Listen("api→cache", redis, s.add)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			c.set(p)
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(conn, "*2\r\n$3\r\nGET\r\n$5\r\nprice\r\n")
			time.Sleep(300 * time.Millisecond) // the client's timeout
			conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			p.Settle(ctx)
			cancel()
			var got *Interaction
			for _, in := range s.all() {
				if strings.HasPrefix(in.Line(), "REDIS GET price → ") {
					got = &in
				}
			}
			if got == nil {
				t.Fatalf("after Settle the command is not told: %q", s.lines())
			}
			if !strings.HasPrefix(got.Result, "no answer: caller closed after ") || !strings.Contains(got.Result, c.held) || !got.Injected {
				t.Errorf("got %s (injected %v); want no answer, caller closed, %s, injected", got.Line(), got.Injected, c.held)
			}
		})
	}
}
