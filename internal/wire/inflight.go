package wire

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// InFlight returns the calls on the edge that are still in flight at now,
// oldest first within a connection, each marked InFlight with End = now:
// an HTTP/1 request or HTTP/2 stream (gRPC call) waiting for its answer,
// or whose answer is still coming (a server-sent event stream, a long
// download: Status is the answer's); the PostgreSQL query a connection is
// running; the Redis command a connection waits on. What the wire tells
// only as it ends would otherwise be of no test while a test runs: a
// call hung on its callee, at the end of the test that timed out on it,
// is exactly what that test's report must show.
//
// Left out, as they are waits rather than calls: Redis's blocking
// commands (BLPOP, XREAD, SUBSCRIBE, …) and calls whose caller has closed
// its side (Settle tells those as abandoned). MySQL and NATS connections
// are not read for calls in flight.
//
// A call without its answer's head for at least InFlightSuspicious is
// suspicious ("no answer yet"); one whose answer came is as its status
// says. They are not in the journal: the call is told again, whole, when
// it ends.
func (p *Proxy) InFlight(now time.Time) []Interaction {
	p.mu.Lock()
	decs := make([]*decoder, 0, len(p.conns))
	for _, st := range p.conns {
		// A connection's state is there by each of its two ends.
		if d := st.dec.Load(); d != nil && !slices.Contains(decs, d) {
			decs = append(decs, d)
		}
	}
	p.mu.Unlock()
	var out []Interaction
	for _, d := range decs {
		d.mu.Lock()
		n := len(out)
		out = d.inFlightLocked(out, now)
		d.mu.Unlock()
		for k := n; k < len(out); k++ {
			in := &out[k]
			in.Edge, in.Port, in.InFlight, in.End = p.Edge, p.Port, true, now
			maskMemoized(p.masker.Load(), in, nil)
		}
	}
	return out
}

// InFlightSuspicious is how long a call in flight waits for its answer's
// head before InFlight marks it suspicious.
const InFlightSuspicious = time.Second

// inFlightLocked appends d's calls in flight. d.mu is held.
func (d *decoder) inFlightLocked(out []Interaction, now time.Time) []Interaction {
	if !d.callerAt.IsZero() {
		return out // the caller closed: what waits is told as abandoned
	}
	waiting := func(in Interaction) Interaction {
		in.Result = "no answer yet"
		in.Note = strings.TrimSpace(in.Note + " (still in flight)")
		in.Suspicious = now.Sub(in.Start) >= InFlightSuspicious
		return in
	}
	switch d.mode {
	case decodingHTTP:
		for k, ex := range d.queue {
			in := Interaction{Protocol: "http", Op: ex.method + " " + ex.target, Method: ex.method, Target: ex.target,
				Start: ex.start, RequestBody: ex.body, reqHeader: ex.header, reqCut: ex.cut}
			if k == 0 && ex.head != headNotYet && d.resp.state != inHead {
				h := &d.resp.h
				in.Status = h.status
				in.Result = fmt.Sprintf("%d %s", h.status, h.reason)
				in.Note = "(the answer still coming: in flight)"
				in.Suspicious = h.status >= 400
				in.respHeader = h.header
				out = append(out, in)
				continue
			}
			out = append(out, waiting(in))
		}
	case decodingH2:
		c := d.h2
		if c == nil {
			return out
		}
		first := len(out)
		for _, s := range c.streams {
			in := Interaction{Protocol: "http2", Op: s.method + " " + s.path, Method: s.method, Target: s.path, Start: s.start}
			in.GRPCStatus = -1 // no code yet
			if s.grpc {
				in.Protocol, in.Op = "grpc", "GRPC "+s.path
				in.RequestMessages, in.ResponseMessages = s.req.msgs.count, s.resp.msgs.count
			}
			in.RequestSize, in.ResponseSize = s.req.size, s.resp.size
			if s.headAt.IsZero() {
				out = append(out, waiting(in))
				continue
			}
			in.Status = s.status
			switch {
			case s.grpc:
				in.Result = fmt.Sprintf("answer still coming (%d message(s) so far)", s.resp.msgs.count)
				in.Suspicious = s.status != 0 && s.status != http.StatusOK
			default:
				in.Result = fmt.Sprintf("%d %s", s.status, httpStatusText(s.status))
				in.Suspicious = s.status >= 400
			}
			in.Note = "(the answer still coming: in flight)"
			out = append(out, in)
		}
		// A map's order is random: oldest first, as the other protocols.
		streams := out[first:]
		for a := 1; a < len(streams); a++ {
			for b := a; b > 0 && streams[b].Start.Before(streams[b-1].Start); b-- {
				streams[b], streams[b-1] = streams[b-1], streams[b]
			}
		}
	case decodingPG:
		if d.pg == nil {
			return out
		}
		// The server runs one statement at a time: the first is running,
		// the rest wait behind it and are told when they end.
		if left := d.pg.unanswered(); len(left) > 0 {
			ex := left[0]
			in := Interaction{Protocol: "postgres", Op: "SQL", Method: "SQL", Target: ex.sql, Start: ex.start}
			if len(ex.params) > 0 {
				in.Note, in.params = paramsNote(ex.params), ex.params
			}
			out = append(out, waiting(in))
		}
	case decodingRESP:
		if c := d.resp3; c != nil && len(c.pending) > 0 {
			ex := c.pending[0]
			cmd, _ := redisParts(ex.target)
			if !redisBlocking(cmd) {
				out = append(out, waiting(Interaction{Protocol: "redis", Op: "REDIS " + ex.target, Method: "REDIS", Target: ex.target,
					Command: cmd, Key: ex.key, Start: ex.start}))
			}
		}
	}
	return out
}

// redisBlocking reports whether a Redis command (upper case) waits by
// design: for data (BLPOP, XREAD … BLOCK), replicas (WAIT) or messages
// (SUBSCRIBE, MONITOR).
func redisBlocking(cmd string) bool {
	switch cmd {
	case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
		"XREAD", "XREADGROUP", "WAIT", "WAITAOF", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR":
		return true
	}
	return false
}
