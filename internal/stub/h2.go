package stub

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// A stub speaks HTTP/2 as well as HTTP/1 on its one port: gRPC callers
// and other clients with prior knowledge of HTTP/2 (h2c) open their
// connection with HTTP/2's preface (RFC 9113 §3.4), which no HTTP/1
// request starts with. Each accepted connection is sniffed: those that
// open with the preface are served by x/net/http2, the others go on to
// fasthttp with the bytes read so far put back. The HTTP/1 Upgrade to h2c
// is not offered: gRPC clients never use it, and an HTTP/1 client that
// asks gets an HTTP/1 answer.

// h2Preface is what an HTTP/2 connection starts with.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffer is a listener that hands on only the connections that speak
// HTTP/1, serving the others with h2 itself.
type sniffer struct {
	net.Listener
	h2    func(net.Conn)
	goFn  func(func()) // starts goroutines (a crash.Handler's Go)
	conns chan net.Conn
	errc  chan error
	done  chan struct{}
	once  sync.Once

	mu   sync.Mutex
	open map[net.Conn]struct{} // being sniffed or served over HTTP/2
	wg   sync.WaitGroup
}

func newSniffer(ln net.Listener, h2 func(net.Conn), goFn func(func())) *sniffer {
	l := &sniffer{Listener: ln, h2: h2, goFn: goFn, conns: make(chan net.Conn), errc: make(chan error, 1),
		done: make(chan struct{}), open: map[net.Conn]struct{}{}}
	goFn(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				l.errc <- err
				return
			}
			l.mu.Lock()
			select {
			case <-l.done:
				l.mu.Unlock()
				c.Close()
				continue
			default:
			}
			l.open[c] = struct{}{}
			l.wg.Add(1)
			l.mu.Unlock()
			goFn(func() { l.sniff(c) })
		}
	})
	return l
}

// sniff reads until the bytes either differ from the preface or are all
// of it.
func (l *sniffer) sniff(c net.Conn) {
	defer l.wg.Done()
	var got []byte
	buf := make([]byte, len(h2Preface))
	for len(got) < len(h2Preface) && bytes.HasPrefix([]byte(h2Preface), got) {
		n, err := c.Read(buf[:len(h2Preface)-len(got)])
		got = append(got, buf[:n]...)
		if err != nil {
			if !bytes.HasPrefix([]byte(h2Preface), got) {
				break // what arrived is HTTP/1's to answer, with the error after it
			}
			l.forget(c)
			c.Close()
			return
		}
	}
	pc := &prefixConn{Conn: c, pre: got}
	if string(got) == h2Preface {
		pc.pre = []byte(h2Preface) // x/net/http2 reads the preface itself
		l.h2(pc)
		l.forget(c)
		c.Close()
		return
	}
	l.forget(c)
	select {
	case l.conns <- pc:
	case <-l.done:
		c.Close()
	}
}

func (l *sniffer) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.open, c)
	l.mu.Unlock()
}

// Accept implements net.Listener: the next HTTP/1 connection.
func (l *sniffer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept fails too
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; it also ends the connections being
// sniffed and those served over HTTP/2, and waits for their goroutines.
func (l *sniffer) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		for c := range l.open {
			c.Close()
		}
		l.mu.Unlock()
	})
	return err
}

// wait waits until no connection is sniffed or served over HTTP/2, or
// ctx ends.
func (l *sniffer) wait(ctx context.Context) {
	ch := make(chan struct{})
	l.goFn(func() { l.wg.Wait(); close(ch) })
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// prefixConn is a connection whose first bytes were read already.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// NetConn is the connection underneath (as tls.Conn's).
func (c *prefixConn) NetConn() net.Conn { return c.Conn }

// tcpConn is the TCP connection under c, through wrappers that say
// what they wrap; nil when there is none.
func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

// abortKey is the request context's key for a flag a fault sets to reset
// the request's stream.
type abortKey struct{}

// connKey is the request context's key for the connection an HTTP/2
// request came on, for faults that break it.
type connKey struct{}

// serveH2 serves one HTTP/2 connection: gRPC calls as gRPC, other
// requests (and the admin API) as over HTTP/1.
func (s *Server) serveH2(c net.Conn) {
	srv := &http2.Server{}
	srv.ServeConn(c, &http2.ServeConnOpts{
		Context: context.WithValue(context.Background(), connKey{}, c),
		// http2 would log the stream resets faults ask for.
		BaseConfig: &http.Server{ErrorLog: log.New(io.Discard, "", 0)},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			abort := new(bool)
			r = r.WithContext(context.WithValue(r.Context(), abortKey{}, abort))
			func() {
				defer s.opts.Crash.Recover() // a panic of the stub's is seam's crash
				if isGRPC(r.Header.Get("Content-Type")) {
					s.serveGRPC(w, r)
					return
				}
				s.ServeHTTP(w, r)
			}()
			if *abort {
				panic(http.ErrAbortHandler) // a fault: http2 resets the stream
			}
		}),
	})
}
