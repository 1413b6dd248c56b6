package stub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
)

// Response is what a mapping answers.
type Response struct {
	Status        int
	StatusMessage string // the reason phrase; "" for the standard one
	Headers       []Header
	Body          []byte
	BodyFile      string // relative to the server's files folder
	JSONBody      bool   // the body was written as JSON (jsonBody)
	Template      bool   // render body, headers and BodyFile as Handlebars
	FixedDelay    time.Duration
	Delay         Delay // a random delay on top of FixedDelay
	Dribble       *Dribble
	Fault         string // EMPTY_RESPONSE, CONNECTION_RESET_BY_PEER, …
	ProxyBase     string // forward to this base URL instead of answering

	bodyT *template
	fileT *template
}

// Header is one response header; a name may repeat.
type Header struct {
	Name  string
	Value string
	t     *template
}

// Delay is a random delay distribution.
type Delay interface {
	sample(r *lockedRand) time.Duration
}

type uniformDelay struct{ lower, upper time.Duration }

func (d uniformDelay) sample(r *lockedRand) time.Duration {
	return d.lower + time.Duration(r.float()*float64(d.upper-d.lower))
}

type lognormalDelay struct {
	median time.Duration
	sigma  float64
	max    time.Duration // 0: no cap
}

func (d lognormalDelay) sample(r *lockedRand) time.Duration {
	v := time.Duration(float64(d.median) * math.Exp(r.norm()*d.sigma))
	if d.max > 0 && v > d.max {
		v = d.max
	}
	return v
}

type fixedDelay struct{ d time.Duration }

func (d fixedDelay) sample(*lockedRand) time.Duration { return d.d }

// Dribble sends the body in chunks spread over a duration.
type Dribble struct {
	Chunks int
	Total  time.Duration
}

// Faults lists the faults a response can have, as WireMock names them.
var Faults = []string{"EMPTY_RESPONSE", "CONNECTION_RESET_BY_PEER", "RANDOM_DATA_THEN_CLOSE", "MALFORMED_RESPONSE_CHUNK"}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reply is a mapping's answer to one request, worked out before anything
// is sent, so each transport (net/http, fasthttp) only writes it.
type reply struct {
	status  int
	reason  string
	header  []Header
	body    []byte
	delay   time.Duration
	dribble *Dribble
	fault   string
}

// reply works out m's answer to req: delay, fault, templates, body file,
// or the proxied service's answer. host is the Host the request was sent to.
func (s *Server) reply(req *Request, m *Mapping, params map[string]string, host string) *reply {
	res := &m.Response
	rp := &reply{delay: res.FixedDelay, fault: res.Fault, dribble: res.Dribble}
	if res.Delay != nil {
		rp.delay += res.Delay.sample(s.rnd)
	}
	if rp.fault != "" {
		return rp
	}
	if res.ProxyBase != "" {
		s.proxy(rp, req, res.ProxyBase)
		return rp
	}
	var ctx map[string]any
	if res.Template {
		ctx = templateContext(req, params, "http://"+host)
	}
	fail := func(what string, err error) *reply {
		return &reply{status: http.StatusInternalServerError, body: []byte("seam stub: " + m.Label() + ": " + what + ": " + err.Error()),
			header: []Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}}
	}
	rp.header = make([]Header, 0, len(res.Headers)+1)
	for _, hd := range res.Headers {
		v := hd.Value
		if hd.t != nil {
			out, err := hd.t.render(ctx, s.rnd)
			if err != nil {
				return fail("response header template", err)
			}
			v = out
		}
		rp.header = append(rp.header, Header{Name: hd.Name, Value: v})
	}
	rp.header = append(rp.header, Header{Name: "Matched-Stub-Id", Value: m.ID})
	rp.body = res.Body
	if res.Template && res.bodyT != nil {
		out, err := res.bodyT.render(ctx, s.rnd)
		if err != nil {
			return fail("response template", err)
		}
		rp.body = []byte(out)
	}
	if res.BodyFile != "" {
		name := res.BodyFile
		if res.fileT != nil {
			out, err := res.fileT.render(ctx, s.rnd)
			if err != nil {
				return fail("bodyFileName template", err)
			}
			name = out
		}
		b, err := s.readFile(name)
		if err != nil {
			return fail("bodyFileName", err)
		}
		rp.body = b
		if res.Template {
			t, err := parseTemplate(string(b))
			if err != nil {
				return fail("body file template", err)
			}
			out, err := t.render(ctx, s.rnd)
			if err != nil {
				return fail("body file template", err)
			}
			rp.body = []byte(out)
		}
	}
	rp.status, rp.reason = res.Status, res.StatusMessage
	if rp.status == 0 {
		rp.status = http.StatusOK
	}
	return rp
}

// writeHTTP sends a reply through net/http.
func (s *Server) writeHTTP(w http.ResponseWriter, r *http.Request, rp *reply) {
	if !sleep(r.Context(), rp.delay) {
		return
	}
	if rp.fault != "" {
		s.fault(w, r, rp.fault)
		return
	}
	h := w.Header()
	for _, x := range rp.header {
		h.Add(x.Name, x.Value)
	}
	if _, set := h["Content-Type"]; !set {
		h["Content-Type"] = nil // as WireMock: no type guessed from the bytes
	}
	if h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(rp.body)))
	}
	w.WriteHeader(rp.status)
	if rp.dribble != nil && rp.dribble.Chunks > 1 && len(rp.body) > 0 {
		f, _ := w.(http.Flusher)
		dribble(r.Context(), rp.body, rp.dribble, func(b []byte) {
			w.Write(b)
			if f != nil {
				f.Flush()
			}
		})
		return
	}
	w.Write(rp.body)
}

// readFile reads a body file from the files folder, never from outside it.
func (s *Server) readFile(name string) ([]byte, error) {
	if s.opts.FilesDir == "" {
		return nil, fmt.Errorf("no files folder (give the stub a folder with __files/)")
	}
	p := filepath.Join(s.opts.FilesDir, filepath.FromSlash(name))
	rel, err := filepath.Rel(s.opts.FilesDir, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%s is outside the files folder", name)
	}
	data, err := decode.ReadRegular(p, MaxFileBytes, "a body file")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("body file %s: %w", name, err)
	}
	return data, err
}

// dribble sends body in d.Chunks pieces spread over d.Total.
func dribble(ctx context.Context, body []byte, d *Dribble, send func([]byte)) {
	n := d.Chunks
	size := (len(body) + n - 1) / n
	pause := d.Total / time.Duration(n)
	for i := 0; i < len(body); i += size {
		end := min(i+size, len(body))
		send(body[i:end])
		if end < len(body) && !sleep(ctx, pause) {
			return
		}
	}
}

// fault breaks the connection the way WireMock's faults do.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, fault string) {
	hj, ok := w.(http.Hijacker)
	if !ok && s.h2Fault(r, fault) {
		return
	}
	if !ok {
		http.Error(w, "seam stub: this connection cannot carry the fault "+fault, http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	s.breakConn(conn, fault)
}

// breakConn breaks a connection the way fault says, and closes it.
func (s *Server) breakConn(conn net.Conn, fault string) {
	defer conn.Close()
	switch fault {
	case "EMPTY_RESPONSE":
	case "CONNECTION_RESET_BY_PEER":
		if tc := tcpConn(conn); tc != nil {
			tc.SetLinger(0) // close sends RST
		}
	case "RANDOM_DATA_THEN_CLOSE":
		junk := make([]byte, 64)
		for i := range junk {
			junk[i] = byte(s.rnd.intN(256))
		}
		// Start with a byte no HTTP status line starts with.
		junk[0] = 0xff
		conn.Write(junk)
	case "MALFORMED_RESPONSE_CHUNK":
		bw := bufio.NewWriter(conn)
		io.WriteString(bw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		io.WriteString(bw, "lskdu018973t09sylgasjkfg1][]'./.sdlv\r\n") // not a chunk size
		bw.Flush()
	}
}
