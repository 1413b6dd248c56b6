// Package wire is seam's proxy on the edges between components: A is given
// the proxy's address for B, the proxy forwards every byte unchanged, and
// incremental decoders read each chunk as it passes (in the forwarding
// goroutine, keeping no copies) and turn it into interactions: HTTP
// exchanges, PostgreSQL queries, Redis commands; for protocols they do not
// know, a connection and its bytes. Decoding never changes the traffic:
// when it does not understand, it stops and the bytes still flow. Faults
// (faults.go) act on the same chunks, and a Toxiproxy-compatible API
// (toxiapi.go) sets them.
package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Interaction is one thing that happened on an edge.
type Interaction struct {
	Edge       string // "orders→inventory"
	Port       string // the callee's port it crossed, by name ("http", "grpc"); "" when unnamed
	Protocol   string // http, http2, grpc, postgres, redis, tcp, fault
	Op         string // "POST /reserve", "connection"
	Result     string // "200 OK", "closed", "reset"
	Start, End time.Time
	Suspicious bool // an error status, a reset, a malformed message
	Note       string
	// HTTP: the request's method and target, the response's status, and
	// the start of each body (up to 4 KiB).
	Method, Target            string
	Status                    int
	RequestBody, ResponseBody []byte
	h2Fields                  // HTTP/2 and gRPC (h2.go)
}

// Line renders an interaction for a timeline.
func (i Interaction) Line() string {
	s := fmt.Sprintf("%s → %s (%s)", i.Op, i.Result, fmtDuration(i.End.Sub(i.Start)))
	if i.Note != "" {
		s += " " + i.Note
	}
	if i.Suspicious {
		s += " " + SuspiciousMark
	}
	return s
}

// SuspiciousMark ends the line of an interaction that looks like a fault.
const SuspiciousMark = "⚠"

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

// Proxy forwards one edge's connections to a target and reports what it
// sees.
type Proxy struct {
	Edge   string
	Port   string // the callee's port, by name; "" for an unnamed one
	name   string // for Toxiproxy's API: Name
	target string
	ln     net.Listener
	report func(Interaction)

	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	faults faultState
	grpc   grpcTypes // to show gRPC messages as JSON (grpc.go)
}

// Listen starts a proxy on a free loopback port for edge, forwarding to
// target (host:port); report hears of every interaction.
func Listen(edge, target string, report func(Interaction)) (*Proxy, error) {
	return ListenAt("127.0.0.1:0", edge, target, report)
}

// ListenAt is Listen on a given address.
func ListenAt(addr, edge, target string, report func(Interaction)) (*Proxy, error) {
	return listen(addr, edge, "", edge, target, report)
}

func listen(addr, edge, port, name, target string, report func(Interaction)) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Edge: edge, Port: port, name: name, target: target, ln: ln, report: report, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			c.Close()
			return
		}
		if f := p.faults.get(); f.Reset || f.Refuse {
			p.track(c, false)
			resetConn(c)
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			p.serve(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

// serve forwards one connection both ways, decoding a copy.
func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	start := time.Now()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connect", Result: "refused: " + errText(err),
			Start: start, End: time.Now(), Suspicious: true})
		return
	}
	if !p.track(server, true) {
		server.Close()
		return
	}
	defer p.track(server, false)
	defer server.Close()
	d := newDecoder(p)
	var up, down int64
	var upErr, downErr error
	var wg sync.WaitGroup
	wg.Add(2)
	var sent atomicCounter // both ways, for close_after
	go func() {
		defer wg.Done()
		up, upErr = p.forward(server, client, d, false, &sent)
		closeWrite(server)
	}()
	go func() {
		defer wg.Done()
		down, downErr = p.forward(client, server, d, true, &sent)
		closeWrite(client)
	}()
	wg.Wait()
	how := "connection closed"
	if isReset(upErr) || isReset(downErr) {
		how = "connection reset"
	}
	d.close(how)
	if !d.understood() {
		res, bad := "closed", false
		if isReset(upErr) || isReset(downErr) {
			res, bad = "reset", true
		}
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: res, Start: start, End: time.Now(),
			Suspicious: bad, Note: fmt.Sprintf("%s sent, %s received", size(up), size(down))})
	} else if isReset(upErr) || isReset(downErr) {
		p.emit(Interaction{Edge: p.Edge, Protocol: "tcp", Op: "connection", Result: "reset", Start: start, End: time.Now(), Suspicious: true})
	}
}

func (p *Proxy) emit(i Interaction) {
	if p.report != nil {
		i.Port = p.Port
		mask(&i)
		p.report(i)
	}
}

// forward copies src to dst, handing each chunk to observe just before it
// is sent: the decoder must know of a request before its answer can come.
// Faults act here, on each chunk: back is the callee's answer direction.
func (p *Proxy) forward(dst, src net.Conn, d *decoder, back bool, sent *atomicCounter) (int64, error) {
	observe := d.fromClient
	if back {
		observe = d.fromServer
	}
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			f := p.faults.get()
			switch {
			case f.Blackhole:
				if f.CloseAfterTime > 0 {
					// As Toxiproxy's timeout toxic: nothing, then the close.
					time.AfterFunc(f.CloseAfterTime, func() { src.Close(); dst.Close() })
				}
				continue // swallowed: the caller waits for an answer that never comes
			case f.Reset:
				resetConn(src)
				resetConn(dst)
				return n, syscall.ECONNRESET
			}
			if back && f.Latency > 0 {
				time.Sleep(p.faults.delay(f))
			}
			if back && f.HTTP != nil && f.HTTP.Status == 0 && f.HTTP.Slow > 0 && d.answering(f.HTTP) {
				time.Sleep(f.HTTP.Slow)
			}
			if !back && f.HTTP != nil && f.HTTP.Status != 0 {
				if m, target, ok := wholeRequest(buf[:k]); ok && f.HTTP.matches(m, target) {
					// Answered in the callee's place; the callee never sees it.
					// Reported first, as every exchange is: before the caller
					// has its answer.
					now := time.Now()
					p.emit(Interaction{Edge: p.Edge, Protocol: "http", Op: m + " " + target,
						Result: fmt.Sprintf("%d %s", f.HTTP.Status, http.StatusText(f.HTTP.Status)), Start: now, End: now,
						Suspicious: f.HTTP.Status >= 500, Note: "(injected by a fault)", Method: m, Target: target, Status: f.HTTP.Status})
					if _, werr := src.Write(f.HTTP.response()); werr != nil {
						return n, werr
					}
					continue
				}
			}
			cut := false
			if f.CloseAfter > 0 {
				// Only what is left of the allowance goes through.
				if left := f.CloseAfter - sent.add(0); int64(k) >= left {
					k, cut = int(max(left, 0)), true
				}
				sent.add(int64(k))
			}
			observe(buf[:k]) // in this goroutine; keeps nothing of the bytes
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
			if f.Bandwidth > 0 {
				time.Sleep(time.Duration(int64(k) * int64(time.Second) / f.Bandwidth))
			}
			if cut {
				src.Close()
				dst.Close()
				return n, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}

// wholeRequest reports whether b is exactly one complete HTTP/1.x request
// (a head and a Content-Length body), and which.
func wholeRequest(b []byte) (method, target string, ok bool) {
	if !looksLikeHTTP(b) {
		return "", "", false
	}
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return "", "", false
	}
	h, good := parseHead(b[:i+4], true)
	if !good || h.chunked {
		return "", "", false
	}
	if int64(len(b)-(i+4)) != max(h.length, 0) {
		return "", "", false
	}
	return h.method, h.target, true
}

type atomicCounter struct {
	mu sync.Mutex
	n  int64
}

func (c *atomicCounter) add(k int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += k
	return c.n
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		return
	}
	c.Close()
}

func isReset(err error) bool {
	return err != nil && !errors.Is(err, net.ErrClosed) &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

func errText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

func size(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f kB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// Flush is there for the environment's flush before and after each test:
// the wire reports an exchange before its last byte reaches the caller,
// so nothing is ever pending.
func (p *Proxy) Flush(ctx context.Context) {}

// Close stops the proxy: no new connections, open ones closed. It returns
// once every goroutine has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}
