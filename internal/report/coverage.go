package report

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Integration coverage: for a run, every declared edge with the operations
// the wire saw on it during tests (HTTP method and route; connections for
// protocols it does not decode), the edges no test exercised, and a
// percentage. Traffic outside tests (start-up, readiness probes, between
// tests) does not count, and neither do answers a fault gave in the
// callee's place: they are listed apart, as injected. It is derived from
// the events alone, so a saved event log gives it again.

// EdgeInfo is a declared depends_on edge (run_start).
type EdgeInfo struct {
	Edge  string `json:"edge"` // "orders→inventory"
	Wired bool   `json:"wired"`
}

// Coverage is a run's integration coverage.
type Coverage struct {
	Edges     []EdgeCoverage `json:"edges"`
	Exercised int            `json:"exercised"`
	Total     int            `json:"total"` // wired edges
	Percent   float64        `json:"percent"`
}

// EdgeCoverage is what was seen on one edge.
type EdgeCoverage struct {
	Edge        string    `json:"edge"`
	Wired       bool      `json:"wired"`
	Operations  []OpCount `json:"operations,omitempty"`
	Connections int       `json:"connections,omitempty"` // undecoded (raw TCP) connections
	// Injected are what faults of seam's made on the edge (answers in the
	// callee's place, cuts): they do not make it exercised.
	Injected []OpCount `json:"injected,omitempty"`
}

// OpCount is an operation and how often it was seen.
type OpCount struct {
	Op    string `json:"op"` // "POST /orders/{id}"
	Count int    `json:"count"`
}

// CoverageBuilder collects coverage from events (a Sink).
type CoverageBuilder struct {
	edges    []EdgeInfo
	ops      map[string]map[string]int
	injected map[string]map[string]int
	conns    map[string]int
}

// NewCoverageBuilder returns an empty builder.
func NewCoverageBuilder() *CoverageBuilder {
	return &CoverageBuilder{ops: map[string]map[string]int{}, injected: map[string]map[string]int{}, conns: map[string]int{}}
}

// injectedNote marks the line of an interaction a fault made
// (wire.InjectedNote; the report package does not import wire).
const injectedNote = "(injected by a fault)"

// WireStream is the stream of log events that carry the wire's
// interactions; their service is the edge.
const WireStream = "wire"

// Event implements Sink.
func (b *CoverageBuilder) Event(e Event) {
	switch {
	case e.Type == RunStart:
		b.edges = e.Edges
	case e.Type == Log && e.Stream == WireStream && e.Test != "":
		op, result, _ := strings.Cut(e.Message, " → ")
		injected := strings.Contains(result, injectedNote) && !calleeAnswered(result)
		switch {
		case op == "fault":
		case injected:
			if b.injected[e.Service] == nil {
				b.injected[e.Service] = map[string]int{}
			}
			b.injected[e.Service][OpShape(op)]++
		case op == "connection":
			if strings.HasPrefix(result, "open") || strings.HasPrefix(result, "active") { // not again when it closes
				b.conns[e.Service]++
			}
		case op == "connect": // refused: tried, so exercised
			b.conns[e.Service]++
		default:
			if !strings.Contains(op, " ") {
				return
			}
			if b.ops[e.Service] == nil {
				b.ops[e.Service] = map[string]int{}
			}
			b.ops[e.Service][OpShape(op)]++
		}
	}
}

// calleeAnswered reports whether the result of an interaction a fault
// marked as injected still tells of the callee's own answer, so the edge
// was exercised: the answer began and a fault cut it ("200 OK, then
// closed by a fault after 250 bytes (in the middle of its body)"; gRPC's
// "OK, then …"), or it came and a fault held it until the caller had gone
// ("(the callee answered 200 OK after 1.5s)"). What a fault gave in the
// callee's place (an HTTP or gRPC fault's answer, a reset or refusal at
// connect, a call swallowed or cut before any answer: "no response (…)")
// tells of nothing the callee did. The wire marks both alike
// (wire.InjectedNote); its lines' words tell them apart, from a saved
// event log too.
func calleeAnswered(result string) bool {
	if strings.Contains(result, "(the callee answered ") {
		return true
	}
	// The result itself ends where its duration begins: " (12 ms)".
	if loc := took.FindStringIndex(result); loc != nil {
		result = result[:loc[0]]
	}
	answer, _, then := strings.Cut(result, ", then ")
	return then && calleeAnswer.MatchString(answer)
}

// calleeAnswer is how a cut answer's result begins: an HTTP status line
// ("200 OK") or a gRPC code alone ("OK"; a fault's gRPC answer has its
// message after the code, and a message may say anything).
var calleeAnswer = regexp.MustCompile(`^(?:[1-5][0-9][0-9](?: .*)?|[A-Z_]+)$`)

// OpShape is an operation as coverage counts it: "POST /orders/{id}",
// "SQL INSERT orders", "REDIS GET".
func OpShape(op string) string {
	m, target, ok := strings.Cut(op, " ")
	if !ok {
		return op
	}
	shape := Route(target)
	switch m {
	case "SQL":
		shape = SQLShape(target)
	case "REDIS":
		shape, _, _ = strings.Cut(target, " ") // the command
	case "NATS":
		cmd, subject, _ := strings.Cut(target, " ")
		shape = strings.TrimSpace(cmd + " " + SubjectShape(subject))
	}
	return m + " " + shape
}

// natsID is a subject token that names one thing (a number, a UUID, a
// long hex id, a NUID as NATS makes for inboxes).
var natsID = regexp.MustCompile(`^(?:[0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,}|[0-9A-Za-z]{22})$`)

// SubjectShape is a NATS subject's shape: a reply inbox is _INBOX.>, and
// tokens that are ids are *.
func SubjectShape(subject string) string {
	if strings.HasPrefix(subject, "_INBOX.") {
		return "_INBOX.>"
	}
	toks := strings.Split(subject, ".")
	for i, t := range toks {
		if natsID.MatchString(t) {
			toks[i] = "*"
		}
	}
	return strings.Join(toks, ".")
}

var idSegment = regexp.MustCompile(`^(?:[0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,})$`)

// Route is a request target's shape: no query, and segments that are
// numbers, UUIDs or long hex ids as {id}.
func Route(target string) string {
	p, _, _ := strings.Cut(target, "?")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if idSegment.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// sqlSpacer separates parentheses, commas and semicolons from words. A
// Replacer is safe for concurrent use and never changes once built.
var sqlSpacer = strings.NewReplacer("(", " ( ", ")", " ) ", ",", " , ", ";", " ; ")

// sqlTableAfter is the word after which each statement kind names its
// table.
var sqlTableAfter = map[string]string{"select": "from", "delete": "from", "insert": "into", "update": "update",
	"copy": "copy", "merge": "into", "truncate": "truncate"}

// SQLShape is a statement's kind and table: "INSERT orders", "SELECT
// customers", for counting what a service does with its database. A
// statement after WITH's common table expressions is shaped as its main
// statement ("WITH … UPDATE stock" is "UPDATE stock"); a COPY of a query
// as "COPY (SELECT orders)"; the table is the first named at the
// statement's own level, else in a subquery.
func SQLShape(sql string) string {
	f := strings.Fields(strings.ToLower(sqlSpacer.Replace(sql)))
	if len(f) == 0 {
		return sql
	}
	return sqlShape(f)
}

func sqlShape(f []string) string {
	verb := f[0]
	if verb == "with" {
		// The main statement is the first kind word at depth 0 after
		// the common table expressions.
		depth := 0
		for i, w := range f[1:] {
			switch {
			case w == "(":
				depth++
			case w == ")":
				depth--
			case depth == 0 && sqlTableAfter[w] != "" && w != "copy" && w != "truncate":
				return sqlShape(f[i+1:])
			}
		}
		return "WITH"
	}
	after := sqlTableAfter[verb]
	if after == "" {
		return strings.ToUpper(verb)
	}
	if verb == "update" || verb == "truncate" {
		f = append([]string{verb}, dropWords(f[1:], "only", "table")...)
	}
	if verb == "copy" && len(f) > 2 && f[1] == "(" {
		return "COPY (" + sqlShape(f[2:]) + ")"
	}
	depth, nested := 0, ""
scan:
	for i, w := range f {
		switch w {
		case "(":
			depth++
			continue
		case ")":
			depth--
			continue
		case ";":
			if depth == 0 {
				break scan // the statement ends
			}
		}
		if i >= len(f)-1 || w != after {
			continue
		}
		table := strings.Trim(f[i+1], "\"`[]")
		if table == "(" || table == "" || table == ";" {
			continue
		}
		if depth == 0 {
			return strings.ToUpper(verb) + " " + table
		}
		if nested == "" {
			nested = table
		}
	}
	if nested != "" {
		return strings.ToUpper(verb) + " " + nested
	}
	return strings.ToUpper(verb)
}

// dropWords drops the leading words of f that are any of words.
func dropWords(f []string, words ...string) []string {
	for len(f) > 0 && slices.Contains(words, f[0]) {
		f = f[1:]
	}
	return f
}

// Coverage returns what the events showed.
func (b *CoverageBuilder) Coverage() *Coverage {
	c := &Coverage{}
	for _, e := range b.edges {
		ec := EdgeCoverage{Edge: e.Edge, Wired: e.Wired, Connections: b.conns[e.Edge]}
		for op, n := range b.ops[e.Edge] {
			ec.Operations = append(ec.Operations, OpCount{Op: op, Count: n})
		}
		sort.Slice(ec.Operations, func(i, j int) bool { return ec.Operations[i].Op < ec.Operations[j].Op })
		for op, n := range b.injected[e.Edge] {
			ec.Injected = append(ec.Injected, OpCount{Op: op, Count: n})
		}
		sort.Slice(ec.Injected, func(i, j int) bool { return ec.Injected[i].Op < ec.Injected[j].Op })
		if e.Wired {
			c.Total++
			if len(ec.Operations) > 0 || ec.Connections > 0 {
				c.Exercised++
			}
		}
		c.Edges = append(c.Edges, ec)
	}
	if c.Total > 0 {
		c.Percent = float64(c.Exercised) * 100 / float64(c.Total)
	}
	return c
}

// Summary is one line: "integration coverage: 3 of 4 edges exercised (75%)".
func (c *Coverage) Summary() string {
	return fmt.Sprintf("integration coverage: %d of %d edges exercised (%.0f%%)", c.Exercised, c.Total, c.Percent)
}

// Text renders the coverage for people, edge by edge.
func (c *Coverage) Text() string {
	var b strings.Builder
	b.WriteString(c.Summary() + "\n")
	width := 0
	for _, e := range c.Edges {
		width = max(width, len([]rune(e.Edge)))
	}
	for _, e := range c.Edges {
		pad := strings.Repeat(" ", width-len([]rune(e.Edge)))
		switch {
		case !e.Wired:
			fmt.Fprintf(&b, "  %s%s  not recorded (wire: false)\n", e.Edge, pad)
		case len(e.Operations) == 0 && e.Connections == 0:
			fmt.Fprintf(&b, "  %s%s  NOT EXERCISED%s\n", e.Edge, pad, injectedText(e.Injected, "; "))
		default:
			var parts []string
			for _, o := range e.Operations {
				parts = append(parts, fmt.Sprintf("%s ×%d", o.Op, o.Count))
			}
			if e.Connections > 0 {
				parts = append(parts, fmt.Sprintf("%d connection(s), protocol not decoded", e.Connections))
			}
			fmt.Fprintf(&b, "  %s%s  %s%s\n", e.Edge, pad, strings.Join(parts, ", "), injectedText(e.Injected, "; "))
		}
	}
	// Operations are what the system sent: shown, never obeyed, by a terminal.
	return TermSafe(b.String())
}

// injectedText lists what faults made on an edge: "injected by faults:
// POST /charges ×2".
func injectedText(ops []OpCount, sep string) string {
	if len(ops) == 0 {
		return ""
	}
	parts := make([]string, len(ops))
	for i, o := range ops {
		parts[i] = fmt.Sprintf("%s ×%d", o.Op, o.Count)
	}
	return sep + "injected by faults (not exercised): " + strings.Join(parts, ", ")
}
