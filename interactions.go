package seam

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/step/browserstep"

	"github.com/seamtest/seam/internal/wire"
)

// Edge selects interactions on an edge between two services (a
// depends_on, which seam's wire records). Empty fields match anything but
// From and To. Method and Path hold what the wire decoded, by protocol:
//
//   - HTTP: Method is the request method ("POST"), Path the request target
//     (path and query: "/orders?id=1").
//   - PostgreSQL, MySQL and MariaDB: Method is "SQL", Path the statement
//     as sent ("insert into orders (sku) values ($1)"; secrets masked as
//     ***); a prepared statement's execution is its statement's.
//   - Redis: Method is "REDIS", Path the command and the first key it names
//     ("GET user1"; AUTH's arguments masked).
//   - NATS: Method is "NATS", Path the subject; Command is PUB (a
//     publish), SUB or MSG (a message delivered to the caller), Key the
//     subject.
//   - Anything else: connections only (Method and Path empty).
//
// Path is matched with path.Match against the whole of what the wire
// decoded (for HTTP the target, path and query: "/orders" does not match
// a request to /orders?id=1; "/orders*" matches both, and also
// /orders-old), * matching any run of characters but /, ? any one but /,
// [...] one of a class; or, failing that, exactly, so "/orders?id=1"
// matches that target (a \? or \* in a glob is a literal ? or *). Unlike
// Match.Path (a stub's requests), which leaves the query out unless it
// has one. Status is the HTTP status (0 for other protocols).
//
// An edge seam's wire does not record fails the test that names it: a
// pair of services of which the first does not depend on the second, an
// edge with wire: false, an edge to a job.
type Edge struct {
	// From is the calling service, or "browser" for the requests of
	// Env.Browser pages and browser steps.
	From, To string
	Method   string // HTTP
	Path     string // the HTTP request target, path and query, or its glob (see above)
	Status   int
	GRPC     string // a gRPC method, "/pkg.Service/Method"; * matches within a segment
	Code     string // a gRPC status: "UNAUTHENTICATED", "16"; "" matches any
	// SQL is a regular expression (case-insensitive) a PostgreSQL or
	// MySQL statement must match: `^insert into orders`.
	SQL string
	// Command and Key select Redis commands: "GET" (any case) and its key,
	// where * matches within a /-separated segment ("stock:*"); or NATS
	// operations: "PUB", "SUB", "MSG" and the subject, as NATS matches it
	// (* one token, > the rest: "orders.>").
	Command, Key string
	// Result is text the result must contain: "INSERT 0 1", "23505"
	// (an SQL error code), "-ERR", "no answer". With a Result, what
	// happened to a connection ("reset") counts too, which is not a call
	// otherwise; a fault being set or cleared never counts.
	Result string
}

func (m Edge) String() string {
	s := m.From + "→" + m.To
	if m.Method != "" || m.Path != "" {
		s += " " + strings.TrimSpace(m.Method+" "+m.Path)
	}
	if m.SQL != "" {
		s += " SQL ~ " + m.SQL
	}
	if m.Command != "" || m.Key != "" {
		s += " REDIS " + strings.TrimSpace(strings.ToUpper(m.Command)+" "+m.Key)
	}
	if m.GRPC != "" {
		s += " gRPC " + m.GRPC
	}
	if m.Status != 0 {
		s += fmt.Sprintf(" → %d", m.Status)
	}
	if m.Result != "" {
		s += " → " + m.Result
	}
	if m.Code != "" {
		s += " → " + m.Code
	}
	return s
}

// Interaction is one exchange the wire saw on an edge. Method and Path
// hold, by protocol, what Edge describes: an HTTP method and target, "SQL"
// and the statement, or "REDIS" and the command.
type Interaction struct {
	Edge     string // "orders→inventory"
	Port     string // the callee's port it crossed, by name ("http", "grpc")
	Protocol string // http, http2, grpc, postgres, mysql, redis, nats, tcp, fault
	Method   string // HTTP method; SQL; REDIS; NATS
	Path     string // HTTP: the request target; SQL: the statement; Redis: "GET key"; NATS: the subject
	Status   int
	Result   string // "200 OK", "INSERT 0 1", "ERROR 23505: …", "no answer: caller closed after 5.0s", …
	Command  string // Redis; NATS: PUB, SUB, MSG
	Key      string // Redis; NATS: the subject
	// Injected: a fault of seam's made it (an answer in the callee's
	// place, a connection it cut).
	Injected bool
	// InFlight: the call had not ended when it was read (a stream still
	// answering, a call hung on its callee); End is then when it was read.
	InFlight bool
	// GRPCCode is a gRPC call's status by name ("OK", "NOT_FOUND"); "" when
	// it ended without one or is not gRPC. GRPCMessage is its message.
	GRPCCode, GRPCMessage string
	Start, End            time.Time
	// RequestBody and ResponseBody are the start of each body (4 KiB;
	// gRPC: the messages as JSON when their types are known), secrets
	// masked as *** as in every report.
	RequestBody, ResponseBody []byte
	// RequestHeader and ResponseHeader are the headers each way (HTTP,
	// HTTP/2; gRPC metadata, and its trailers in ResponseHeader), with the
	// values of secret ones (Authorization, Cookie, …) masked as ***.
	RequestHeader, ResponseHeader http.Header
}

// header makes header lines ("Name: value" a line) an http.Header.
func header(lines string) http.Header {
	m := wire.HeaderMap(lines)
	if m == nil {
		return nil
	}
	h := make(http.Header, len(m))
	for k, v := range m {
		h[textproto.CanonicalMIMEHeaderKey(k)] = []string{v}
	}
	return h
}

// Interactions returns what crossed the edge m names since the test began
// (Attach, Start), in the order the interactions ended. An edge the wire
// does not record (see Edge) fails the test, and Interactions returns nil.
func (e *Env) Interactions(m Edge) []Interaction {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() || !e.edgeKnown("seam.Edge "+m.From+"→"+m.To, m.From, m.To) {
		return nil
	}
	var sql *regexp.Regexp
	if m.SQL != "" {
		var err error
		if sql, err = regexp.Compile("(?i)" + m.SQL); err != nil {
			e.fail("seam.Edge.SQL: %q is not a regular expression: %v", m.SQL, err)
			return nil
		}
	}
	if _, ok := wire.GRPCCode(m.Code); m.Code != "" && !ok {
		e.fail("Edge.Code %q is not a gRPC status: give a name (%s) or a number", m.Code, strings.Join(wire.GRPCCodeNames(), ", "))
		return nil
	}
	e.settlePages()
	var out []Interaction
	for _, i := range e.env.Interactions(e.start) {
		// Fault markers are no calls; connection events count when a
		// result is asked for (a reset).
		if i.Protocol == "fault" || i.Event() && m.Result == "" {
			continue
		}
		if i.Edge != m.From+"→"+m.To || (m.Method != "" && !strings.EqualFold(m.Method, i.Method)) ||
			(m.Status != 0 && m.Status != i.Status) || (m.Result != "" && !strings.Contains(i.Result, m.Result)) {
			continue
		}
		if m.Path != "" {
			if ok, _ := path.Match(m.Path, i.Target); !ok && m.Path != i.Target {
				continue
			}
		}
		var code string
		if i.Protocol == "grpc" && i.GRPCStatus >= 0 {
			code = wire.GRPCCodeName(i.GRPCStatus)
		}
		if m.GRPC != "" || m.Code != "" {
			if i.Protocol != "grpc" {
				continue
			}
			if ok, _ := path.Match(m.GRPC, i.Target); m.GRPC != "" && !ok && m.GRPC != i.Target {
				continue
			}
			if n, known := wire.GRPCCode(m.Code); m.Code != "" && (!known || code != wire.GRPCCodeName(n)) {
				continue
			}
		}
		if sql != nil && (i.Method != "SQL" || !sql.MatchString(i.Target)) {
			continue
		}
		if m.Command != "" && (i.Method != "REDIS" && i.Method != "NATS" || !strings.EqualFold(m.Command, i.Command)) {
			continue
		}
		if m.Key != "" {
			ok, _ := path.Match(m.Key, i.Key)
			switch {
			case i.Method == "NATS":
				ok = wire.SubjectMatches(m.Key, i.Key)
			case i.Method != "REDIS":
				continue
			}
			if !ok && m.Key != i.Key {
				continue
			}
		}
		reqBody, respBody := i.Bodies()
		reqHeader, respHeader := i.Headers()
		out = append(out, Interaction{Edge: i.Edge, Port: i.Port, Protocol: i.Protocol, Method: i.Method, Path: i.Target, Status: i.Status,
			Result: i.Result, Command: i.Command, Key: i.Key, Injected: i.Injected, InFlight: i.InFlight, GRPCCode: code, GRPCMessage: i.GRPCMessage,
			Start: i.Start, End: i.End, RequestBody: reqBody, ResponseBody: respBody,
			RequestHeader: header(reqHeader), ResponseHeader: header(respHeader)})
	}
	return out
}

// VerifyInteractions fails the test unless exactly count interactions on
// the edge match m since the test began (AtLeastOnce: one or more). The
// failure shows every edge's interactions during the test. A count below
// 0 other than AtLeastOnce, or an edge the wire does not record (see
// Edge: a check of 0 there would pass whatever the system does), fails the
// test and stops it.
func (e *Env) VerifyInteractions(m Edge, count int) {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() {
		return
	}
	if msg := badCount("VerifyInteractions", count); msg != "" {
		e.fail("%s", msg)
		return
	}
	found := e.Interactions(m)
	ok, want := len(found) == count, fmt.Sprintf("exactly %d", count)
	if count == AtLeastOnce {
		ok, want = len(found) > 0, "at least 1"
	}
	if ok {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seam: %d interaction(s) matched %s; want %s\n  the edges during this test:", len(found), m, want)
	all := e.env.Interactions(e.start)
	for _, i := range all {
		fmt.Fprintf(&b, "\n    %s | %s", i.Edge, i.Line())
	}
	if len(all) == 0 {
		b.WriteString("\n    (none; is the edge declared with depends_on, and not wire: false?)")
	}
	e.report(b.String(), false)
}

// ToxiproxyURL is the address of a Toxiproxy-compatible API over the
// environment's edges (each a proxy named like "orders→inventory"), for
// Toxiproxy's own clients.
func (e *Env) ToxiproxyURL() string {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() {
		return ""
	}
	u, err := e.env.ToxiproxyURL()
	if err != nil {
		e.fail("the Toxiproxy API: %v", err)
	}
	return u
}

// settlePages waits (a second at most) for the test's pages' requests in
// flight to be recorded: the page may show an answer before the browser
// has told seam of the call.
func (e *Env) settlePages() {
	if e.pages == nil {
		return
	}
	e.pages.mu.Lock()
	ps := append([]*browserstep.Page(nil), e.pages.ps...)
	e.pages.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, p := range ps {
		p.Settle(ctx)
	}
}
