package wire

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The decoder sees a copy of each chunk after it was forwarded. It decides
// from the first bytes from the client whether the connection speaks
// HTTP/1.x; if so two goroutines parse requests and responses from the
// copies and pair them in order. If it falls behind, meets something it
// does not understand, or sees a protocol switch, it stops: the
// connection goes on untouched.

const (
	undecided int32 = iota
	decodingHTTP
	raw
)

// chunk is a piece of the stream and when it was forwarded.
type chunk struct {
	b []byte
	t time.Time
}

type decoder struct {
	p        *Proxy
	mode     atomic.Int32
	wasHTTP  atomic.Bool
	cli, srv *chanReader
	queue    chan exchange // requests waiting for their response
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// exchange is a request seen, waiting for its response.
type exchange struct {
	method, target string
	start          time.Time
}

func newDecoder(p *Proxy) *decoder {
	return &decoder{p: p}
}

// understood reports whether the connection was decoded as HTTP.
func (d *decoder) understood() bool { return d.wasHTTP.Load() }

func (d *decoder) fromClient(b []byte) {
	switch d.mode.Load() {
	case raw:
		return
	case undecided:
		if !looksLikeHTTP(b) {
			d.undecodable()
			return
		}
		d.start()
	}
	d.cli.feed(b)
}

func (d *decoder) fromServer(b []byte) {
	switch d.mode.Load() {
	case undecided:
		// The callee speaks first (NATS, MySQL, …): not HTTP.
		d.undecodable()
		return
	case raw:
		return
	}
	d.srv.feed(b)
}

// undecodable notes a connection in a protocol the wire does not decode,
// once, when its first bytes flow: it shows in the timeline and counts
// for coverage even when it stays open all run.
func (d *decoder) undecodable() {
	if d.mode.CompareAndSwap(undecided, raw) {
		now := time.Now()
		d.p.emit(Interaction{Edge: d.p.Edge, Protocol: "tcp", Op: "connection", Result: "open", Start: now, End: now,
			Note: "(protocol not decoded)"})
	}
}

// start begins decoding HTTP.
func (d *decoder) start() {
	d.cli = newChanReader(d, &d.p.pending)
	d.srv = newChanReader(d, &d.p.pending)
	d.queue = make(chan exchange, 64)
	d.wasHTTP.Store(true)
	d.mode.Store(decodingHTTP) // after the readers exist: fromServer reads them
	d.wg.Add(2)
	go d.requests()
	go d.responses()
}

// stop gives up decoding; the traffic is not affected.
func (d *decoder) stop() {
	d.stopOnce.Do(func() {
		d.mode.Store(raw)
		if d.cli != nil {
			d.cli.close()
			d.srv.close()
		}
	})
}

// close ends decoding once the connection is over, reporting requests
// that got no response.
func (d *decoder) close() {
	if d.cli == nil {
		return
	}
	d.cli.close()
	d.srv.close()
	d.wg.Wait()
}

func (d *decoder) requests() {
	defer d.wg.Done()
	defer d.cli.drain()
	defer close(d.queue)
	br := bufio.NewReaderSize(d.cli, 16<<10)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if err != io.EOF && d.mode.Load() == decodingHTTP {
				d.stop()
			}
			return
		}
		ex := exchange{method: req.Method, target: req.RequestURI, start: d.cli.when()}
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
		select {
		case d.queue <- ex:
		default:
			d.stop() // more requests in flight than anyone pipelines
			return
		}
	}
}

func (d *decoder) responses() {
	defer d.wg.Done()
	defer d.srv.drain()
	br := bufio.NewReaderSize(d.srv, 16<<10)
	for ex := range d.queue {
		if d.mode.Load() != decodingHTTP {
			continue
		}
		var resp *http.Response
		var err error
		for {
			resp, err = http.ReadResponse(br, &http.Request{Method: ex.method})
			if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
				break
			}
			resp.Body.Close() // 100 Continue and other interim answers
		}
		if err != nil {
			d.p.emit(Interaction{Edge: d.p.Edge, Protocol: "http", Op: ex.method + " " + ex.target,
				Result: "no response (" + closedHow(err) + ")", Start: ex.start, End: time.Now(), Suspicious: true,
				Method: ex.method, Target: ex.target})
			d.stop()
			continue
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			d.p.emit(Interaction{Edge: d.p.Edge, Protocol: "http", Op: ex.method + " " + ex.target,
				Result: resp.Status, Start: ex.start, End: d.srv.when(), Note: "(protocol switched; not decoded further)"})
			d.stop()
			continue
		}
		_, berr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		in := Interaction{Edge: d.p.Edge, Protocol: "http", Op: ex.method + " " + ex.target, Result: resp.Status,
			Start: ex.start, End: d.srv.when(), Suspicious: resp.StatusCode >= 500,
			Method: ex.method, Target: ex.target, Status: resp.StatusCode}
		if berr != nil {
			in.Result += ", body cut short (" + closedHow(berr) + ")"
			in.Suspicious = true
		}
		d.p.emit(in)
		if br.Buffered() == 0 {
			d.srv.release() // caught up: nothing of this connection is left to report
		}
	}
}

func closedHow(err error) string {
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return "connection closed"
	case isReset(err):
		return "connection reset"
	}
	return err.Error()
}

// looksLikeHTTP: the start of an HTTP/1.x request line.
func looksLikeHTTP(b []byte) bool {
	for _, m := range []string{"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// chanReader is an io.Reader over the chunks fed to it. Each chunk counts
// in pending until the reader has moved past it, so Flush knows when the
// parser has caught up.
type chanReader struct {
	d       *decoder
	ch      chan chunk
	cur     chunk
	active  bool
	last    atomic.Int64 // forwarding time of the chunk being read, unix ns
	pending *sync.WaitGroup
	mu      sync.Mutex
	closed  bool
}

func newChanReader(d *decoder, pending *sync.WaitGroup) *chanReader {
	return &chanReader{d: d, ch: make(chan chunk, 256), pending: pending}
}

// feed queues a copy of b; when the parser is too far behind it gives up
// decoding rather than slow the connection.
func (r *chanReader) feed(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	c := chunk{b: append([]byte(nil), b...), t: time.Now()}
	r.pending.Add(1)
	select {
	case r.ch <- c:
	default:
		r.pending.Done()
		go r.d.stop() // stop takes this lock
	}
}

func (r *chanReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.ch)
	}
}

func (r *chanReader) Read(p []byte) (int, error) {
	for len(r.cur.b) == 0 {
		if r.active {
			r.active = false
			r.pending.Done()
		}
		c, ok := <-r.ch
		if !ok {
			return 0, io.EOF
		}
		r.cur, r.active = c, true
		r.last.Store(c.t.UnixNano())
	}
	n := copy(p, r.cur.b)
	r.cur.b = r.cur.b[n:]
	return n, nil
}

// release marks the chunk being read as done once it is used up, for a
// parser that has caught up and will not read again until more comes.
func (r *chanReader) release() {
	if r.active && len(r.cur.b) == 0 {
		r.active = false
		r.pending.Done()
	}
}

// when is the forwarding time of the bytes being read.
func (r *chanReader) when() time.Time { return time.Unix(0, r.last.Load()) }

// drain releases what is left once the parser has stopped.
func (r *chanReader) drain() {
	if r.active {
		r.active = false
		r.pending.Done()
	}
	for range r.ch {
		r.pending.Done()
	}
}
