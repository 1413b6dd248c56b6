package stub

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Response is what a mapping answers.
type Response struct {
	Status     int
	Headers    []Header
	Body       []byte
	BodyFile   string // relative to the server's files folder
	JSONBody   bool   // the body was written as JSON (jsonBody)
	Template   bool   // render body, headers and BodyFile as Handlebars
	FixedDelay time.Duration
	Delay      Delay // a random delay on top of FixedDelay
	Dribble    *Dribble
	Fault      string // EMPTY_RESPONSE, CONNECTION_RESET_BY_PEER, …
	ProxyBase  string // forward to this base URL instead of answering

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

// write answers w with the response for req; it returns the status sent
// (0 for a fault).
func (s *Server) write(w http.ResponseWriter, r *http.Request, req *Request, m *Mapping, params map[string]string) int {
	res := &m.Response
	d := res.FixedDelay
	if res.Delay != nil {
		d += res.Delay.sample(s.rnd)
	}
	if !sleep(r.Context(), d) {
		return 0
	}
	if res.Fault != "" {
		s.fault(w, res.Fault)
		return 0
	}
	if res.ProxyBase != "" {
		return s.proxy(w, r, req, res.ProxyBase)
	}
	var ctx map[string]any
	if res.Template {
		ctx = templateContext(req, params, "http://"+r.Host)
	}
	h := w.Header()
	for _, hd := range res.Headers {
		v := hd.Value
		if hd.t != nil {
			if out, err := hd.t.render(ctx, s.rnd); err == nil {
				v = out
			}
		}
		h.Add(hd.Name, v)
	}
	body := res.Body
	if res.Template && res.bodyT != nil {
		out, err := res.bodyT.render(ctx, s.rnd)
		if err != nil {
			return s.templateError(w, m, err)
		}
		body = []byte(out)
	}
	if res.BodyFile != "" {
		name := res.BodyFile
		if res.fileT != nil {
			out, err := res.fileT.render(ctx, s.rnd)
			if err != nil {
				return s.templateError(w, m, err)
			}
			name = out
		}
		b, err := s.readFile(name)
		if err != nil {
			http.Error(w, "seam stub: "+m.Label()+": bodyFileName: "+err.Error(), http.StatusInternalServerError)
			return http.StatusInternalServerError
		}
		body = b
		if res.Template {
			t, err := parseTemplate(string(b))
			if err == nil {
				if out, err := t.render(ctx, s.rnd); err == nil {
					body = []byte(out)
				}
			}
		}
	}
	status := res.Status
	if status == 0 {
		status = http.StatusOK
	}
	if _, set := h["Content-Type"]; !set {
		h["Content-Type"] = nil // as WireMock: no type guessed from the bytes
	}
	h.Set("Matched-Stub-Id", m.ID)
	if res.Dribble != nil && res.Dribble.Chunks > 1 && len(body) > 0 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		dribble(r.Context(), w, body, res.Dribble)
		return status
	}
	if h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	w.Write(body)
	return status
}

func (s *Server) templateError(w http.ResponseWriter, m *Mapping, err error) int {
	http.Error(w, "seam stub: "+m.Label()+": response template: "+err.Error(), http.StatusInternalServerError)
	return http.StatusInternalServerError
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
	return os.ReadFile(p)
}

func dribble(ctx context.Context, w http.ResponseWriter, body []byte, d *Dribble) {
	f, _ := w.(http.Flusher)
	n := d.Chunks
	size := (len(body) + n - 1) / n
	pause := d.Total / time.Duration(n)
	for i := 0; i < len(body); i += size {
		end := min(i+size, len(body))
		w.Write(body[i:end])
		if f != nil {
			f.Flush()
		}
		if end < len(body) && !sleep(ctx, pause) {
			return
		}
	}
}

// fault breaks the connection the way WireMock's faults do.
func (s *Server) fault(w http.ResponseWriter, fault string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "seam stub: this connection cannot carry the fault "+fault, http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	switch fault {
	case "EMPTY_RESPONSE":
	case "CONNECTION_RESET_BY_PEER":
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST
		}
	case "RANDOM_DATA_THEN_CLOSE":
		junk := make([]byte, 64)
		for i := range junk {
			junk[i] = byte(s.rnd.intN(256))
		}
		// Start with a byte no HTTP status line starts with.
		junk[0] = 0xff
		buf.Write(junk)
		buf.Flush()
	case "MALFORMED_RESPONSE_CHUNK":
		bw := bufio.NewWriter(conn)
		io.WriteString(bw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		io.WriteString(bw, "lskdu018973t09sylgasjkfg1][]'./.sdlv\r\n") // not a chunk size
		bw.Flush()
	}
}
