// Package rawload is the load client and process handling that seam's
// throughput benchmarks share: HTTP/1.1 over raw keep-alive connections,
// one request in flight on each, like wrk. Go's http.Client costs as much
// CPU as a fast server, and on a 2-core machine that would measure the
// client. Every answer is still parsed (status, headers, Content-Length or
// chunked body) and checked.
package rawload

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/freeport"
)

// Call is one request of a load and the answer it must get.
type Call struct {
	Method, Path, Header, Body string // Header: an X-Api-Key value, if any
	Status                     int
	Want                       []byte // nil: any body
}

// FreePort is a free loopback port, claimed until the bench exits: the
// peers (Java, Toxiproxy) take a while to bind it.
func FreePort() string {
	port, _, err := freeport.One()
	measure.Check(err)
	return fmt.Sprint(port)
}

// Server is a server under test, as a process of its own.
type Server struct {
	Name string
	Base string
	Cmd  *exec.Cmd
}

// Start runs argv (PORT in it becomes a free port) and waits until GET
// health answers below 500; the process group is killed at exit.
func Start(name string, argv []string, health string) *Server {
	port := FreePort()
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "PORT", port)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	measure.Check(cmd.Start())
	measure.OnExit(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	s := &Server{Name: name, Base: "http://127.0.0.1:" + port, Cmd: cmd}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.Base + health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return s
			}
		}
		if time.Now().After(deadline) {
			measure.Check(fmt.Errorf("%s did not start:\n%s", name, out.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Result is one round of load.
type Result struct {
	RPS      float64
	P50, P99 time.Duration
	N        int
}

// wire is a call as bytes on the wire.
func onWire(host string, c Call) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", c.Method, c.Path, host)
	if c.Header != "" {
		fmt.Fprintf(&b, "X-Api-Key: %s\r\n", c.Header)
	}
	if c.Body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(c.Body))
	}
	b.WriteString("\r\n")
	b.WriteString(c.Body)
	return b.Bytes()
}

// parseAnswer parses one HTTP/1.1 response at the start of b into its
// status and body; used is 0 while b does not hold all of it.
func parseAnswer(b []byte, body *bytes.Buffer) (status, used int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, 0, nil
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, err
	}
	length, chunked := -1, false
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, 0, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")) && bytes.EqualFold(v, []byte("chunked")):
			chunked = true
		}
	}
	p := end + 4
	body.Reset()
	if !chunked {
		if length < 0 {
			return 0, 0, errors.New("an answer with neither Content-Length nor chunks")
		}
		if len(b)-p < length {
			return 0, 0, nil
		}
		body.Write(b[p : p+length])
		return status, p + length, nil
	}
	for {
		i := bytes.Index(b[p:], []byte("\r\n"))
		if i < 0 {
			return 0, 0, nil
		}
		size, err := strconv.ParseInt(string(b[p:p+i]), 16, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad chunk size %q", b[p:p+i])
		}
		p += i + 2
		if int64(len(b)-p) < size+2 {
			return 0, 0, nil
		}
		body.Write(b[p : p+int(size)])
		p += int(size) + 2
		if size == 0 {
			return status, p, nil
		}
	}
}

// readAnswer reads from conn into buf until it holds one whole answer, and
// returns its status (the body is in body) and buf emptied for the next.
func readAnswer(conn net.Conn, buf []byte, body *bytes.Buffer) (int, []byte, error) {
	buf = buf[:0]
	for {
		status, used, err := parseAnswer(buf, body)
		if err != nil {
			return 0, buf, err
		}
		if used > 0 {
			if used != len(buf) {
				return 0, buf, errors.New("more bytes than one answer: one request was sent")
			}
			return status, buf[:0], nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return 0, buf, err
		}
	}
}

// Load sends up to n requests (or for at most limit) over conns keep-alive
// connections to base (http://host:port), picking calls at random from a
// seeded source and checking every answer. Each connection sends its next
// request as soon as it has an answer: this finds the greatest throughput,
// and its latencies are mostly time spent queueing. On Linux one thread
// drives all connections through epoll, as wrk does (loadLoop).
func Load(base string, calls []Call, conns, n int, limit time.Duration, seed uint64) Result {
	return loadLoop(base, calls, conns, n, limit, seed)
}

func hostOf(base string) string { return strings.TrimPrefix(base, "http://") }

// Paced is Load at a fixed rate (requests per second, over all
// connections), each connection on its own schedule: the latency a
// request sees when the path is busy but not saturated.
func Paced(base string, calls []Call, conns, n int, limit time.Duration, seed uint64, rate float64) Result {
	return load(base, calls, conns, n, limit, seed, time.Duration(float64(conns)*float64(time.Second)/rate))
}

// load is Load, with each connection sending at most one request per every
// (0: no pause).
func load(base string, calls []Call, conns, n int, limit time.Duration, seed uint64, every time.Duration) Result {
	host := hostOf(base)
	reqs := make([][]byte, len(calls))
	for i, c := range calls {
		reqs[i] = onWire(host, c)
	}
	var next atomic.Int64
	var failed atomic.Value
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(limit)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", host)
			if err != nil {
				failed.Store(err)
				return
			}
			defer conn.Close()
			// One deadline for the whole round: setting one per request
			// costs the client a timer update each time.
			conn.SetDeadline(deadline.Add(10 * time.Second))
			buf := make([]byte, 0, 64<<10)
			var body bytes.Buffer
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			lat[w] = make([]time.Duration, 0, n/conns+1)
			// Connections start spread over one period, not all at once.
			due := start.Add(every * time.Duration(w) / time.Duration(conns))
			for {
				if next.Add(1) > int64(n) || time.Now().After(deadline) || failed.Load() != nil {
					return
				}
				if every > 0 {
					time.Sleep(time.Until(due))
					due = due.Add(every)
				}
				i := rnd.IntN(len(calls))
				c := calls[i]
				t0 := time.Now()
				if _, err := conn.Write(reqs[i]); err != nil {
					failed.Store(err)
					return
				}
				var status int
				status, buf, err = readAnswer(conn, buf, &body)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					failed.Store(fmt.Errorf("%s %s: %v", c.Method, c.Path, err))
					return
				}
				if status != c.Status || (c.Want != nil && !bytes.Equal(body.Bytes(), c.Want)) {
					failed.Store(fmt.Errorf("%s %s: status %d (want %d), body %.80q", c.Method, c.Path, status, c.Status, body.Bytes()))
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		measure.Check(fmt.Errorf("%s: a wrong answer: %v", base, err))
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return Result{RPS: float64(len(all)) / elapsed.Seconds(), P50: all[len(all)/2], P99: all[len(all)*99/100], N: len(all)}
}

// MedianF is the median of xs.
func MedianF(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// PairedRatio is the median over rounds of a's throughput over b's in
// the same round (Interleaved measures them one after the other): the
// machine's speed drifts over a run by more than the difference between
// two proxies, and a ratio of two figures taken seconds apart cancels it,
// where a ratio of the two medians does not.
func PairedRatio(a, b []Result) float64 {
	var xs []float64
	for i := range min(len(a), len(b)) {
		if b[i].RPS > 0 {
			xs = append(xs, a[i].RPS/b[i].RPS)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return MedianF(xs)
}

// Only lets one server run: the others are stopped (SIGSTOP), so no one's
// background work (a JVM's compiler and collector) falls on another's
// measurement. Only(nil) lets all run again.
func Only(servers []*Server, run *Server) {
	for _, s := range servers {
		sig := syscall.SIGSTOP
		if run == nil || s == run {
			sig = syscall.SIGCONT
		}
		syscall.Kill(-s.Cmd.Process.Pid, sig)
	}
}

// Interleaved measures each server once per round, each round starting
// with the next server, so drift over the run falls on all alike. While
// one is measured, the others of stoppable are stopped (Only): a JVM goes
// on compiling and collecting long after its own load, and that CPU must
// not be taken from whoever is measured next. pause comes before each
// measurement; all of stoppable run again at the end.
func Interleaved(servers, stoppable []*Server, rounds int, pause time.Duration, measure func(s *Server, round int) Result) [][]Result {
	res := make([][]Result, len(servers))
	for r := range rounds {
		for k := range servers {
			i := (r + k) % len(servers)
			Only(stoppable, servers[i])
			time.Sleep(pause)
			res[i] = append(res[i], measure(servers[i], r))
		}
	}
	Only(stoppable, nil)
	return res
}
