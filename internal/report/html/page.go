// Package html renders a run as one self-contained HTML page: the run's
// summary, the system map coloured by coverage and failures, every test's
// timeline (one lane per component, the wire's interactions as arrows
// between them), failures grouped by cause, with filters and search. It is
// built from the same events as the JSON lines and JUnit reports, so a
// saved event log renders again (seam report --html). The page needs no
// network: its CSS, script and data are inline, and its content security
// policy forbids any fetch.
package html

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// Page is the data a report page is built from; the page's script reads
// it as JSON. Times are milliseconds.
type Page struct {
	Suite string `json:"suite"`
	Seed  uint64 `json:"seed"`
	// Seeds are each part's seed, for a merged run whose parts ran with
	// different seeds (Seed is then 0).
	Seeds    []report.PartSeed `json:"seeds,omitempty"`
	Profile  string            `json:"profile,omitempty"`
	Start    string            `json:"start"` // RFC 3339, UTC
	Duration float64           `json:"duration_ms"`
	Counts   report.Counts     `json:"counts"`
	Message  string            `json:"message,omitempty"` // why the run ended early
	Services []Service         `json:"services"`
	Edges    []Edge            `json:"edges"`
	Coverage string            `json:"coverage,omitempty"` // "integration coverage: 2 of 5 edges exercised (40%)"
	Tests    []Test            `json:"tests"`
	Groups   []Group           `json:"groups"`
	Lanes    []string          `json:"lanes"` // every lane name; events refer to them by index
}

// Service is one of the suite's services.
type Service struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	StandsIn string    `json:"stands_in_for,omitempty"`
	Ready    []float64 `json:"ready_ms,omitempty"` // how long it took to be ready, in each environment started
}

// Edge is a depends_on edge with what was seen on it.
type Edge struct {
	Edge  string `json:"edge"` // "orders→inventory"
	From  string `json:"from"`
	To    string `json:"to"`
	Wired bool   `json:"wired"`
	// State colours the edge: "seen" (operations in tests), "injected"
	// (only answers seam's faults gave), "none", or "unwired".
	State string `json:"state"`
	// Failing counts the failed tests whose likeliest cause is on the edge.
	Failing int  `json:"failing"`
	Ops     []Op `json:"ops,omitempty"`
}

// Op is one operation shape on an edge and the tests that made it.
type Op struct {
	Op       string `json:"op"` // "POST /reserve", "SQL INSERT orders"
	Count    int    `json:"count"`
	Injected bool   `json:"injected,omitempty"`
	Tests    []int  `json:"tests"` // indexes into Page.Tests
}

// Test is one test with its timeline.
type Test struct {
	Name     string          `json:"name"`
	Pos      string          `json:"pos,omitempty"`
	Status   report.Status   `json:"status"`
	Tags     []string        `json:"tags,omitempty"`
	Priority string          `json:"priority,omitempty"`
	Start    float64         `json:"start_ms"` // since the run started
	Duration float64         `json:"duration_ms"`
	Worker   int             `json:"worker,omitempty"`
	Skip     string          `json:"skip,omitempty"`
	Failure  *report.Failure `json:"failure,omitempty"`
	Group    int             `json:"group"`           // index into Page.Groups; -1 when it did not fail
	Lanes    []int           `json:"lanes,omitempty"` // the lanes its events use, runner first
	Edges    []string        `json:"edges,omitempty"` // the edges it used
	Events   []Ev            `json:"events,omitempty"`
	// Exchanges are what its interactions carried (an interaction's Ev
	// names its index in Extra); ExchangesLeftOut says the page left them
	// out to stay small (the event log keeps them).
	Exchanges        []report.Exchange `json:"exchanges,omitempty"`
	ExchangesLeftOut bool              `json:"exchanges_left_out,omitempty"`
	// Shots are its failure's screenshots as data: URLs, one for each of
	// Failure.Artifacts ("" for an artifact not shown in the page).
	Shots []string `json:"shots,omitempty"`
}

// MaxExchangeBytes bounds what exchanges add to a page: failed tests'
// are kept first, then passed tests', while they fit, so a run of
// 100,000 interactions stays a page a browser opens at once (the event log
// keeps them all).
const MaxExchangeBytes = 4 << 20

// Ev is one row of a timeline, as a JSON array to keep big pages small:
// [t, d, kind, lane, from, text, flags, extra]. t is milliseconds since
// the test started, d how long it took; kind is "s" (a step), "w" (an
// interaction; from is the caller's lane, lane the callee's), "l" (a log
// line); flags: "s1".."s3" a suspect of that rank, "w" suspicious, "i"
// injected by a fault, "f" a failed step, "p" a passed one; extra is the
// step's position, or an interaction's index in its test's exchanges.
type Ev struct {
	T     float64
	D     float64
	Kind  string
	Lane  int
	From  int
	Text  string
	Flags string
	Extra string
}

// MarshalJSON implements json.Marshaler: the array form.
func (e Ev) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(num(e.T))
	b.WriteByte(',')
	b.WriteString(num(e.D))
	b.WriteByte(',')
	b.WriteString(quote(e.Kind))
	b.WriteByte(',')
	b.WriteString(itoa(e.Lane))
	b.WriteByte(',')
	b.WriteString(itoa(e.From))
	b.WriteByte(',')
	b.WriteString(quote(e.Text))
	b.WriteByte(',')
	b.WriteString(quote(e.Flags))
	if e.Extra != "" {
		b.WriteByte(',')
		b.WriteString(quote(e.Extra))
	}
	b.WriteByte(']')
	return []byte(b.String()), nil
}

// Group is the failed tests that share a cause (report.Cause).
type Group struct {
	Cause string `json:"cause"`
	Tests []int  `json:"tests"`
}

// runner is the lane of the test's own steps.
const runner = "runner"

// Build makes the page's data from a run's events, in the order seam
// wrote them.
func Build(events []report.Event) *Page {
	p := &Page{Lanes: []string{runner}}
	lane := map[string]int{runner: 0}
	laneOf := func(name string) int {
		if i, ok := lane[name]; ok {
			return i
		}
		lane[name] = len(p.Lanes)
		p.Lanes = append(p.Lanes, name)
		return lane[name]
	}
	var start time.Time
	byName := map[string]int{}
	svcIdx := map[string]int{}
	cov := report.NewCoverageBuilder()
	edgeTests := map[string]map[string]map[int]bool{} // edge → op shape → tests
	testOf := func(e report.Event) *Test {
		i, ok := byName[e.Test]
		if !ok {
			return nil
		}
		return &p.Tests[i]
	}
	rel := func(t *Test, at time.Time) float64 {
		return round(float64(at.Sub(start))/float64(time.Millisecond) - t.Start)
	}
	for _, e := range events {
		cov.Event(e)
		switch e.Type {
		case report.RunStart:
			start = e.Time
			p.Suite, p.Seed, p.Seeds, p.Profile, p.Start = e.Suite, e.Seed, e.Seeds, e.Profile, e.Time.UTC().Format(time.RFC3339Nano)
			for _, s := range e.Services {
				svcIdx[s.Name] = len(p.Services)
				p.Services = append(p.Services, Service{Name: s.Name, Kind: s.Kind, StandsIn: s.StandsIn})
				laneOf(s.Name)
			}
			for _, ed := range e.Edges {
				from, to, _ := strings.Cut(ed.Edge, "→")
				p.Edges = append(p.Edges, Edge{Edge: ed.Edge, From: from, To: to, Wired: ed.Wired})
			}
		case report.TestStart, report.TestEnd:
			t := testOf(e)
			if t == nil {
				byName[e.Test] = len(p.Tests)
				p.Tests = append(p.Tests, Test{Name: e.Test, Pos: e.Pos, Tags: e.Tags, Priority: e.Priority, Worker: e.Worker,
					Start: round(float64(e.Time.Sub(start)) / float64(time.Millisecond)), Group: -1})
				t = &p.Tests[len(p.Tests)-1]
			}
			if e.Type == report.TestEnd {
				t.Status, t.Duration, t.Failure = e.Status, e.Duration, e.Failure
				if e.Status == report.Skipped {
					t.Skip = e.Message
				}
			}
		case report.StepEnd:
			if t := testOf(e); t != nil {
				flags := "p"
				if e.Status == report.Failed {
					flags = "f"
				}
				text := e.Step
				if e.Phase != "" && e.Phase != "steps" {
					text = e.Phase + ": " + text
				}
				if e.Attempt > 1 {
					text += " (" + itoa(e.Attempt) + " attempts)"
				}
				if e.Message != "" {
					text += ": " + e.Message
				}
				at := e.Time.Add(-time.Duration(e.Duration * float64(time.Millisecond)))
				t.Events = append(t.Events, Ev{T: rel(t, at), D: e.Duration, Kind: "s", Text: text, Flags: flags, Extra: e.Pos})
			}
		case report.Log:
			if e.Stream == "env" && e.Test == "" {
				if i, ok := svcIdx[e.Service]; ok {
					p.Services[i].Ready = append(p.Services[i].Ready, e.Duration)
				}
				continue
			}
			t := testOf(e)
			if t == nil {
				continue
			}
			if e.Stream == report.WireStream {
				from, to, ok := strings.Cut(e.Service, "→")
				if !ok {
					from, to = runner, e.Service
				}
				text := e.Message
				var flags string
				if strings.HasSuffix(text, " "+suspiciousMark) {
					text = strings.TrimSuffix(text, " "+suspiciousMark)
					flags += "w"
				}
				if strings.Contains(text, injectedNote) {
					flags += "i"
				}
				ev := Ev{T: rel(t, e.Time), D: e.Duration, Kind: "w", Lane: laneOf(to), From: laneOf(from), Text: text, Flags: flags}
				if e.Exchange != nil {
					ev.Extra = itoa(len(t.Exchanges))
					t.Exchanges = append(t.Exchanges, *e.Exchange)
				}
				t.Events = append(t.Events, ev)
				if !contains(t.Edges, e.Service) {
					t.Edges = append(t.Edges, e.Service)
				}
				op, _, _ := strings.Cut(text, " → ")
				shape := report.OpShape(op)
				if edgeTests[e.Service] == nil {
					edgeTests[e.Service] = map[string]map[int]bool{}
				}
				if edgeTests[e.Service][shape] == nil {
					edgeTests[e.Service][shape] = map[int]bool{}
				}
				edgeTests[e.Service][shape][byName[e.Test]] = true
				continue
			}
			l := 0
			if e.Service != "" {
				l = laneOf(e.Service)
			}
			t.Events = append(t.Events, Ev{T: rel(t, e.Time), Kind: "l", Lane: l, From: l, Text: e.Message, Flags: e.Stream})
		case report.RunEnd:
			p.Duration, p.Message = e.Duration, e.Message
			if e.Counts != nil {
				p.Counts = *e.Counts
			}
		}
	}
	if p.Counts == (report.Counts{}) {
		for _, t := range p.Tests {
			switch t.Status {
			case report.Passed:
				p.Counts.Passed++
			case report.Failed:
				p.Counts.Failed++
			case report.Skipped:
				p.Counts.Skipped++
			}
		}
	}
	c := cov.Coverage()
	if c.Total > 0 {
		p.Coverage = c.Summary()
	}
	covOf := map[string]report.EdgeCoverage{}
	for _, ec := range c.Edges {
		covOf[ec.Edge] = ec
	}
	groupOf := map[string]int{}
	failingEdge := map[string]int{}
	rank := laneRanks(p)
	for i := range p.Tests {
		t := &p.Tests[i]
		finishTest(t, lane, rank)
		if t.Status != report.Failed {
			continue
		}
		cause := report.Cause(t.Failure)
		if cause == "" {
			cause = "the test failed without saying why"
		}
		g, ok := groupOf[cause]
		if !ok {
			g = len(p.Groups)
			groupOf[cause] = g
			p.Groups = append(p.Groups, Group{Cause: cause})
		}
		p.Groups[g].Tests = append(p.Groups[g].Tests, i)
		t.Group = g
		if s := report.CauseSuspect(t.Failure); s != nil {
			failingEdge[s.Edge]++
		}
	}
	boundExchanges(p.Tests, MaxExchangeBytes)
	// The biggest group first: one cause behind many failures is where to start.
	order := make([]int, len(p.Groups))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(p.Groups[order[a]].Tests) > len(p.Groups[order[b]].Tests) })
	newIdx := make([]int, len(order))
	groups := make([]Group, len(order))
	for n, o := range order {
		groups[n], newIdx[o] = p.Groups[o], n
	}
	p.Groups = groups
	for i := range p.Tests {
		if g := p.Tests[i].Group; g >= 0 {
			p.Tests[i].Group = newIdx[g]
		}
	}
	for i := range p.Edges {
		ed := &p.Edges[i]
		ec := covOf[ed.Edge]
		ed.Failing = failingEdge[ed.Edge]
		switch {
		case !ed.Wired:
			ed.State = "unwired"
		case len(ec.Operations) > 0 || ec.Connections > 0:
			ed.State = "seen"
		case len(ec.Injected) > 0:
			ed.State = "injected"
		default:
			ed.State = "none"
		}
		for _, o := range ec.Operations {
			ed.Ops = append(ed.Ops, Op{Op: o.Op, Count: o.Count, Tests: sortedKeys(edgeTests[ed.Edge][o.Op])})
		}
		if ec.Connections > 0 {
			ed.Ops = append(ed.Ops, Op{Op: "connection (protocol not decoded)", Count: ec.Connections, Tests: sortedKeys(edgeTests[ed.Edge]["connection"])})
		}
		for _, o := range ec.Injected {
			ed.Ops = append(ed.Ops, Op{Op: o.Op, Count: o.Count, Injected: true, Tests: sortedKeys(edgeTests[ed.Edge][o.Op])})
		}
	}
	if p.Tests == nil {
		p.Tests = []Test{}
	}
	if p.Groups == nil {
		p.Groups = []Group{}
	}
	return p
}

// boundExchanges keeps what the page shows of exchanges within max
// bytes: failed tests' first (in the run's order), then passed tests',
// each test's interactions in time order while they fit. A test whose
// exchanges were not all kept says so (ExchangesLeftOut).
func boundExchanges(tests []Test, max int) {
	used := 0
	keep := func(t *Test) {
		if len(t.Exchanges) == 0 {
			return
		}
		var kept []report.Exchange
		for k := range t.Events {
			e := &t.Events[k]
			if e.Kind != "w" || e.Extra == "" {
				continue
			}
			n, err := strconv.Atoi(e.Extra)
			if err != nil || n < 0 || n >= len(t.Exchanges) {
				e.Extra = ""
				continue
			}
			x := t.Exchanges[n]
			size := len(x.Request) + len(x.RequestBody) + len(x.Response) + len(x.ResponseBody)
			if used+size > max {
				e.Extra, t.ExchangesLeftOut = "", true
				continue
			}
			used += size
			e.Extra = itoa(len(kept))
			kept = append(kept, x)
		}
		t.Exchanges = kept
	}
	for i := range tests {
		if tests[i].Status == report.Failed {
			keep(&tests[i])
		}
	}
	for i := range tests {
		if tests[i].Status != report.Failed {
			keep(&tests[i])
		}
	}
}

// finishTest marks the failure's suspects on the timeline, puts it in time
// order and lists its lanes: the runner first, then in the suite's order.
func finishTest(t *Test, lane map[string]int, rank []int) {
	if t.Failure != nil {
		for rank, s := range t.Failure.Suspects {
			line := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s.Line), suspiciousMark))
			from, to, _ := strings.Cut(s.Edge, "→")
			for i := range t.Events {
				e := &t.Events[i]
				if e.Kind == "w" && e.Text == line && e.From == lane[from] && e.Lane == lane[to] && !strings.Contains(e.Flags, "s") {
					e.Flags += "s" + itoa(rank+1)
					break
				}
			}
		}
	}
	sort.SliceStable(t.Events, func(i, j int) bool { return t.Events[i].T < t.Events[j].T })
	used := map[int]bool{0: true}
	for _, e := range t.Events {
		used[e.Lane], used[e.From] = true, true
	}
	for l := range used {
		t.Lanes = append(t.Lanes, l)
	}
	sort.Slice(t.Lanes, func(i, j int) bool { return rank[t.Lanes[i]] < rank[t.Lanes[j]] })
}

// laneRanks orders the lanes as a timeline shows them, left to right: the
// runner, then callers before their callees (by depth in the depends_on
// graph), in the suite's order within a depth.
func laneRanks(p *Page) []int {
	depth := make([]int, len(p.Lanes))
	index := map[string]int{}
	for i, l := range p.Lanes {
		index[l] = i
	}
	for range p.Lanes { // longest path from a caller; bounded, for cycles
		changed := false
		for _, e := range p.Edges {
			f, okf := index[e.From]
			c, okc := index[e.To]
			if okf && okc && depth[c] < depth[f]+1 && depth[f]+1 < len(p.Lanes) {
				depth[c], changed = depth[f]+1, true
			}
		}
		if !changed {
			break
		}
	}
	order := make([]int, len(p.Lanes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order[1:], func(i, j int) bool { return depth[order[1+i]] < depth[order[1+j]] })
	rank := make([]int, len(p.Lanes))
	for r, l := range order {
		rank[l] = r
	}
	return rank
}

// suspiciousMark and injectedNote are how the wire marks an interaction's
// line (wire.SuspiciousMark, wire.InjectedNote).
const (
	suspiciousMark = "⚠"
	injectedNote   = "(injected by a fault)"
)

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func round(f float64) float64 { return float64(int64(f*1000+0.5*sign(f))) / 1000 }

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
