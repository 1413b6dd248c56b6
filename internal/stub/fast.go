package stub

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// A stub answers on fasthttp: a stub's own work per request is small, so
// net/http's cost per request set its limit (about 25k req/s on the 2-core
// machine bench/stub ran on, against about 40k on fasthttp). The admin API
// stays on net/http, through fasthttp's adaptor.

// Listener serves a Server on a listener until Close.
type Listener struct {
	srv    *fasthttp.Server
	ln     *sniffer
	closed atomic.Bool
	done   chan error
}

// Serve serves s on ln (stubs with fasthttp, the admin API with net/http)
// until Close.
func Serve(ln net.Listener, s *Server) *Listener {
	admin := fasthttpadaptor.NewFastHTTPHandlerFunc(s.serveAdmin)
	fs := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			// fasthttp does not recover a handler's panic: seam's crash.
			defer s.opts.Crash.Recover()
			if strings.HasPrefix(string(ctx.Path()), adminPrefix) {
				admin(ctx)
				return
			}
			s.serveFast(ctx)
		},
		Name:                  "",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    int(s.opts.MaxBody),
		// A body over the limit reaches the handler as a stream, which it
		// drains to answer 413: refusing it unread would close the
		// connection on unread bytes, a reset the client sees instead.
		StreamRequestBody: true,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				ctx.Error(tooLarge(s.opts.MaxBody), http.StatusRequestEntityTooLarge)
				return
			}
			ctx.Error("seam stub: "+err.Error(), http.StatusBadRequest)
		},
		Logger:          quietLogger{},
		CloseOnShutdown: true,
	}
	sn := newSniffer(ln, s.serveH2, s.opts.Crash.Go)
	l := &Listener{srv: fs, ln: sn, done: make(chan error, 1)}
	s.opts.Crash.Go(func() {
		err := fs.Serve(sn)
		if l.closed.Load() {
			err = nil // stopped by Close, maybe before Serve began
		}
		l.done <- err
	})
	return l
}

// Done receives the serving error once the server has stopped.
func (l *Listener) Done() <-chan error { return l.done }

// Close stops accepting, closes the connections and waits for the
// handlers to return, until ctx ends.
func (l *Listener) Close(ctx context.Context) error {
	l.closed.Store(true)
	err := l.srv.ShutdownWithContext(ctx)
	// fasthttp shuts down only the listeners Serve has taken: closed right
	// after Serve was called, before its goroutine ran, it would serve on.
	// Closing the listener ends that Serve at once.
	l.ln.Close()
	l.ln.wait(ctx) // the HTTP/2 connections' handlers
	return err
}

// methodString is the method as a string, without a copy for the common
// ones.
func methodString(m []byte) string {
	for _, k := range [...]string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		if string(m) == k {
			return k
		}
	}
	return string(m)
}

// serveFast is ServeHTTP on fasthttp.
func (s *Server) serveFast(ctx *fasthttp.RequestCtx) {
	rq := &ctx.Request
	var body []byte
	if rq.IsBodyStream() {
		b, err := readLimited(rq.BodyStream(), s.opts.MaxBody)
		if errors.Is(err, errTooLarge) {
			// Drain what is left, within reason, so the client reads the
			// answer instead of a reset.
			io.Copy(io.Discard, io.LimitReader(rq.BodyStream(), maxDrain))
			ctx.SetConnectionClose()
			ctx.Error(tooLarge(s.opts.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			ctx.Error("seam stub: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		rq.SetBodyRaw(b)
	}
	if b := rq.Body(); len(b) > 0 {
		// fasthttp reuses its buffers, so the journal needs its own copy;
		// a body the journal cuts gets its cut copy there, and this one
		// serves the request without a copy of its own.
		body = b
		if k := s.journal.keepBody; k < 0 || len(b) <= k || s.journal.cap < 0 {
			body = append([]byte(nil), b...)
		}
		if enc := rq.Header.Peek("Content-Encoding"); len(enc) > 0 {
			var err error
			if body, err = decodeBody(string(enc), body, s.opts.MaxBody); err != nil {
				ctx.Error(tooLarge(s.opts.MaxBody), http.StatusRequestEntityTooLarge)
				return
			}
		}
	}
	uri := rq.URI()
	req := &Request{
		// The URL as sent: WireMock matches url and urlPath on the raw
		// path, so /a%2Fb is not /a/b.
		Method: methodString(rq.Header.Method()), URL: string(rq.Header.RequestURI()), Body: body,
		// The header block is copied as it is and parsed only if a
		// matcher, a template or a verification reads it.
		rawHeader: append([]byte(nil), rq.Header.RawHeaders()...),
	}
	// Path and query are parts of the URL as sent: slices of it, not
	// copies, unless fasthttp normalised the path (/a/../b, //a, %7E).
	req.Path, req.RawQuery, _ = strings.Cut(req.URL, "?")
	if i := strings.IndexByte(req.RawQuery, '#'); i >= 0 {
		req.RawQuery = req.RawQuery[:i]
	}
	if strings.HasPrefix(req.Path, "http://") || strings.HasPrefix(req.Path, "https://") {
		// An absolute-form request line (through a proxy): the path is
		// what follows the host.
		req.Path = string(uri.PathOriginal())
		req.URL = string(uri.RequestURI())
	}
	if c := rq.Header.Peek("Cookie"); len(c) > 0 {
		hr := http.Request{Header: http.Header{"Cookie": {string(c)}}}
		for _, c := range hr.Cookies() {
			if req.Cookies == nil {
				req.Cookies = map[string][]string{}
			}
			req.Cookies[c.Name] = append(req.Cookies[c.Name], c.Value)
		}
	}
	m, params := s.handle(req)
	if m == nil {
		ctx.SetStatusCode(http.StatusNotFound)
		ctx.Response.Header.Set("Content-Type", "text/plain; charset=utf-8")
		ctx.SetBody(s.notFoundText(req))
		return
	}
	rp := s.reply(req, m, params, string(rq.Host()))
	if rp.delay > 0 {
		time.Sleep(rp.delay)
	}
	if rp.fault != "" {
		if tc := tcpConn(ctx.Conn()); tc != nil && rp.fault == "CONNECTION_RESET_BY_PEER" {
			tc.SetLinger(0) // the hijacked connection is wrapped; set it on the real one
		}
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) { s.breakConn(c, rp.fault) })
		return
	}
	h := &ctx.Response.Header
	for _, x := range rp.header {
		if strings.EqualFold(x.Name, "Content-Length") {
			continue // fasthttp sets it from the body
		}
		h.Add(x.Name, x.Value)
	}
	ctx.SetStatusCode(rp.status)
	if rp.reason != "" {
		h.SetStatusMessage([]byte(rp.reason))
	}
	if rp.dribble != nil && rp.dribble.Chunks > 1 && len(rp.body) > 0 {
		body, d := rp.body, rp.dribble
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			dribble(context.Background(), body, d, func(b []byte) {
				w.Write(b)
				w.Flush()
			})
		})
		return
	}
	ctx.SetBody(rp.body)
}

// maxDrain bounds what the stub reads and discards of a body over the
// limit before answering 413.
const maxDrain = 1 << 30

// quietLogger drops fasthttp's log of connection errors: each is answered
// to its client (a 413, a 400), and a stub's stderr is for the user's
// mappings, not for a client's broken requests.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
