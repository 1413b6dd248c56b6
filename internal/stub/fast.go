package stub

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
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
	srv  *fasthttp.Server
	done chan error
}

// Serve serves s on ln (stubs with fasthttp, the admin API with net/http)
// until Close.
func Serve(ln net.Listener, s *Server) *Listener {
	admin := fasthttpadaptor.NewFastHTTPHandlerFunc(s.serveAdmin)
	fs := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if strings.HasPrefix(string(ctx.Path()), adminPrefix) {
				admin(ctx)
				return
			}
			s.serveFast(ctx)
		},
		Name:                  "",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    maxBody,
		CloseOnShutdown:       true,
	}
	l := &Listener{srv: fs, done: make(chan error, 1)}
	go func() { l.done <- fs.Serve(ln) }()
	return l
}

// Done receives the serving error once the server has stopped.
func (l *Listener) Done() <-chan error { return l.done }

// Close stops accepting, closes the connections and waits for the
// handlers to return, until ctx ends.
func (l *Listener) Close(ctx context.Context) error {
	return l.srv.ShutdownWithContext(ctx)
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
	if b := rq.Body(); len(b) > 0 {
		body = append([]byte(nil), b...) // fasthttp reuses its buffers; the journal keeps this
	}
	uri := rq.URI()
	req := &Request{
		Method: methodString(rq.Header.Method()), URL: string(uri.RequestURI()), Body: body,
		// The header block is copied as it is and parsed only if a
		// matcher, a template or a verification reads it.
		rawHeader: append([]byte(nil), rq.Header.RawHeaders()...),
	}
	// Path and query are parts of the URL as sent: slices of it, not
	// copies, unless fasthttp normalised the path (/a/../b, //a, %7E).
	req.Path, req.RawQuery, _ = strings.Cut(req.URL, "?")
	if req.RawQuery != string(uri.QueryString()) {
		req.RawQuery = string(uri.QueryString())
	}
	if req.Path != string(uri.PathOriginal()) {
		req.Path = string(uri.Path())
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
		if tc, ok := ctx.Conn().(*net.TCPConn); ok && rp.fault == "CONNECTION_RESET_BY_PEER" {
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
