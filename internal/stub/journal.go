package stub

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Entry is one request in the journal, with the mapping it got (nil when
// none matched).
type Entry struct {
	Request *Request
	Mapping *Mapping
}

// journal keeps the last requests within a count (cap) and a byte budget
// (maxBytes); older ones are dropped and counted. A body over keepBody
// bytes is kept truncated, its size noted in Request.BodySize, so a stream
// of large requests holds at most maxBytes however long it runs.
type journal struct {
	mu       sync.Mutex
	cap      int
	maxBytes int64
	keepBody int
	q        []*Entry // oldest first, from head on
	head     int
	bytes    int64
	dropped  int64
}

func newJournal(cap int, maxBytes int64, keepBody int) *journal {
	return &journal{cap: cap, maxBytes: maxBytes, keepBody: keepBody}
}

// entrySize is what an entry holds, roughly: its bodies and text plus a
// fixed cost for the structures around them.
func entrySize(r *Request) int64 {
	return int64(len(r.Body)+len(r.URL)+len(r.rawHeader)) + 512
}

func (j *journal) add(r *Request, m *Mapping) *Entry {
	if j.cap < 0 {
		return &Entry{Request: r, Mapping: m}
	}
	if j.keepBody >= 0 && len(r.Body) > j.keepBody {
		r = r.truncated(j.keepBody)
	}
	e := &Entry{Request: r, Mapping: m}
	size := entrySize(r)
	j.mu.Lock()
	defer j.mu.Unlock()
	// Stamped under the lock, so the journal is in time order and since()
	// can search it.
	r.Time = time.Now()
	j.q = append(j.q, e)
	j.bytes += size
	for n := len(j.q) - j.head; n > 1 && (n > j.cap || (j.maxBytes > 0 && j.bytes > j.maxBytes)); n-- {
		j.bytes -= entrySize(j.q[j.head].Request)
		j.q[j.head] = nil
		j.head++
		j.dropped++
	}
	if j.head > 64 && j.head > len(j.q)/2 {
		j.q = append(j.q[:0:0], j.q[j.head:]...)
		j.head = 0
	}
	return e
}

// all returns the entries oldest first.
func (j *journal) all() []*Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*Entry(nil), j.q[j.head:]...)
}

func (j *journal) since(t time.Time) []*Entry {
	all := j.all()
	i := sort.Search(len(all), func(i int) bool { return !all[i].Request.Time.Before(t) })
	return all[i:]
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.q, j.head, j.bytes, j.dropped = nil, 0, 0, 0
}

// remove drops the entries that match p.
func (j *journal) remove(p *Pattern) {
	all := j.all()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.q, j.head, j.bytes = nil, 0, 0
	for _, e := range all {
		if !p.Match(e.Request) {
			j.q = append(j.q, e)
			j.bytes += entrySize(e.Request)
		}
	}
}

// Journal is the read side of a server's request journal.
type Journal struct{ j *journal }

// Entries returns every request kept, oldest first.
func (j *Journal) Entries() []*Entry { return j.j.all() }

// Since returns the requests received at or after t, oldest first.
func (j *Journal) Since(t time.Time) []*Entry { return j.j.since(t) }

// Dropped says how many requests were dropped because the journal was full;
// counts and verifications cannot see them.
func (j *Journal) Dropped() int64 {
	j.j.mu.Lock()
	defer j.j.mu.Unlock()
	return j.j.dropped
}

// Cap is how many requests the journal keeps (negative: none).
func (j *Journal) Cap() int { return j.j.cap }

// MaxBytes is how many bytes of requests the journal keeps (0: no limit).
func (j *Journal) MaxBytes() int64 { return j.j.maxBytes }

// Reset empties the journal.
func (j *Journal) Reset() { j.j.reset() }

// Find returns the requests since t that match p.
func (j *Journal) Find(p *Pattern, since time.Time) []*Entry {
	var out []*Entry
	for _, e := range j.j.since(since) {
		if p.Match(e.Request) {
			out = append(out, e)
		}
	}
	return out
}

// Unmatched returns the requests since t that no mapping matched.
func (j *Journal) Unmatched(since time.Time) []*Entry {
	var out []*Entry
	for _, e := range j.j.since(since) {
		if e.Mapping == nil {
			out = append(out, e)
		}
	}
	return out
}

// RequestMiss is a request close to a pattern, with what did not match.
type RequestMiss struct {
	Entry *Entry
	Diff  []string
}

// Closest returns up to n requests since t that come closest to matching p
// without matching it, closest first (ranked as near misses are: see
// distance).
func (j *Journal) Closest(p *Pattern, since time.Time, n int) []RequestMiss {
	var out []RequestMiss
	var dist []float64
	for _, e := range j.j.since(since) {
		if d := p.Diff(e.Request); len(d) > 0 {
			out = append(out, RequestMiss{Entry: e, Diff: d})
			dist = append(dist, distance(p, e.Request))
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return dist[idx[a]] < dist[idx[b]]
	})
	sorted := make([]RequestMiss, 0, min(len(out), n))
	for _, i := range idx[:min(len(idx), n)] {
		sorted = append(sorted, out[i])
	}
	return sorted
}

// sortNear orders near misses by distance (nearness), closest first; among
// equals, the most recently added mapping first, as WireMock lists them.
func sortNear(ms []NearMiss, req *Request) {
	dist := make(map[*Mapping]float64, len(ms))
	for _, m := range ms {
		dist[m.Mapping] = distance(&m.Mapping.Request, req)
	}
	sort.SliceStable(ms, func(a, b int) bool {
		if da, db := dist[ms[a].Mapping], dist[ms[b].Mapping]; da != db {
			return da < db
		}
		return ms[a].Mapping.seq > ms[b].Mapping.seq
	})
}

// WireMock's weights of a request pattern's parts in a near miss's
// distance: the URL, the method, and each other part (path parameters,
// query, headers, cookies, body, multipart), plus the parts seam does not
// have (scheme, host, port, …), which always match. When the URL or the
// method does not match WireMock weighs only the parts up to the method,
// so such a near miss is (10·u + 3·m) / 39, and one with both right is
// (the other parts) / 46, as measured on WireMock 3.13.2.
const (
	urlWeight    = 10
	methodWeight = 3
	// urlFailTotal and fullTotal are the sums of the weights WireMock
	// divides by.
	urlFailTotal = 39
	fullTotal    = 46
)

// distance is how far req is from matching p, from 0 (a match) to 1, as
// WireMock computes it: the URL weighs 10 (scaled by its edit distance for
// url and urlPath; a pattern's miss is whole), the method 3, and each other
// part 1, as the mean of its items' distances (an equalTo by edit
// distance, any other matcher whole), those counting only when the URL and
// the method match. A scenario in the wrong state, as in WireMock, adds
// nothing: a mapping that differs only there is the closest.
func distance(p *Pattern, req *Request) float64 {
	method := 0.0
	if p.Method != "" && p.Method != "ANY" && p.Method != req.Method {
		method = 1
	}
	urlOK, params := p.URL.Match(req)
	if !urlOK || method > 0 {
		u := 0.0
		switch {
		case urlOK:
		case p.URL.Kind == "url":
			u = urlDistance(p.URL.Value, req.URL)
		case p.URL.Kind == "urlPath":
			u = urlDistance(p.URL.Value, req.Path)
		default:
			u = 1
		}
		return (urlWeight*u + methodWeight*method) / urlFailTotal
	}
	sum := 0.0
	mean := func(n int, d func(i int) float64) float64 {
		if n == 0 {
			return 0
		}
		t := 0.0
		for i := 0; i < n; i++ {
			t += d(i)
		}
		return t / float64(n)
	}
	sum += mean(len(p.PathParams), func(i int) float64 {
		v, has := params[p.PathParams[i].Name]
		return valueDistance(p.PathParams[i].M, []string{v}, has)
	})
	sum += mean(len(p.Query), func(i int) float64 {
		vs, has := req.Query()[p.Query[i].Name]
		return valueDistance(p.Query[i].M, vs, has)
	})
	sum += mean(len(p.Headers), func(i int) float64 {
		vs, has := req.Header()[http.CanonicalHeaderKey(p.Headers[i].Name)]
		return valueDistance(p.Headers[i].M, vs, has)
	})
	sum += mean(len(p.Cookies), func(i int) float64 {
		vs, has := req.Cookies[p.Cookies[i].Name]
		return valueDistance(p.Cookies[i].M, vs, has)
	})
	sum += mean(len(p.Body), func(i int) float64 {
		return valueDistance(p.Body[i], []string{string(req.Body)}, true)
	})
	if len(p.Multipart) > 0 {
		parts, isMultipart := multipartParts(req)
		sum += mean(len(p.Multipart), func(i int) float64 {
			if isMultipart && p.Multipart[i].Match(parts) {
				return 0
			}
			return 1
		})
	}
	return sum / fullTotal
}

// valueDistance is how far a value (any of vs) is from matching m: 0 when
// it matches, an equalTo's edit distance, else 1.
func valueDistance(m Matcher, vs []string, has bool) float64 {
	if matchAny(m, vs, has) {
		return 0
	}
	eq, ok := m.(equalTo)
	if !ok || eq.fold || !has {
		return 1
	}
	best := 1.0
	for _, v := range vs {
		best = min(best, urlDistance(eq.want, v))
	}
	return best
}

// urlDistance is the Levenshtein distance of two strings over the longer
// one's length: 0 the same, 1 nothing alike. Past 512 bytes only the
// first 512 are compared.
func urlDistance(a, b string) float64 {
	if len(a) > 512 || len(b) > 512 {
		a, b = a[:min(len(a), 512)], b[:min(len(b), 512)]
	}
	n := max(len(a), len(b))
	if n == 0 {
		return 0
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(n)
}

// Unmatched describes the requests since t that no mapping matched, each
// with its closest mapping and what differed; nil when there were none.
// It counts every one, however many the journal dropped: the first few are
// shown in full, the rest counted.
func (s *Server) Unmatched(since time.Time) error {
	shown, more := s.unmatched.since(since)
	before := s.unmatched.checked(since)
	if len(shown) == 0 && more == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d request(s) matched no stub mapping", int64(len(shown))+more)
	for _, e := range shown {
		fmt.Fprintf(&b, "\n  %s %s", e.Request.Method, e.Request.URL)
		if d := e.Request.Time.Sub(since); mayBeBefores(before, since, e.Request.Time) {
			// A call the test before set off (a background job, a retry)
			// may land here: say when it came, so the innocent test is
			// not blamed blindly.
			fmt.Fprintf(&b, " (came %s after this test began: a call the test before set off, still on its way?)", d.Round(time.Millisecond))
		}
		for _, nm := range s.NearMisses(e.Request, 1) {
			fmt.Fprintf(&b, "\n    closest mapping: %s", nm.Mapping.Label())
			if !nm.Mapping.Pos.IsZero() {
				fmt.Fprintf(&b, " (%s)", nm.Mapping.Pos)
			}
			for _, d := range nm.Diff {
				fmt.Fprintf(&b, "\n      - %s", d)
			}
		}
	}
	if more > 0 {
		fmt.Fprintf(&b, "\n  … and %d more not shown", more)
	}
	return errors.New(b.String())
}

// earlyUnmatched is how soon after a test began, and after the test
// before it ended, an unmatched request is said to have come, as it may
// belong to the test before.
const earlyUnmatched = 500 * time.Millisecond

// mayBeBefores reports whether a request that came at at, in a test that
// began at since, may be one the test before set off: there was a test
// before on this stub (it ended at before, when it was checked, before
// since), it ended within earlyUnmatched of since, and the request came
// within earlyUnmatched of both since and that end.
func mayBeBefores(before, since, at time.Time) bool {
	if before.IsZero() || since.IsZero() || before.After(since) {
		return false
	}
	return since.Sub(before) < earlyUnmatched && at.Sub(since) >= 0 && at.Sub(since) < earlyUnmatched &&
		at.Sub(before) < earlyUnmatched
}

// unmatchedLog counts the requests no mapping matched since the last
// reset, apart from the journal (which is bounded and drops the oldest):
// every one fails the test. It keeps the first few whole for the message.
type unmatchedLog struct {
	mu       sync.Mutex
	kept     []*Entry // the first unmatchedKept, oldest first
	more     int64    // how many came after those
	moreLast time.Time
	// checks are when the last two tests' checks (Unmatched) were made,
	// the latest last: a test's check ends it. A reset keeps them: it
	// begins the next test.
	checks [2]time.Time
}

// checked notes a check now, of a test that began at since, and returns
// when the test before it ended (its own check, made before since); zero
// when no test was checked before it on this stub.
func (u *unmatchedLog) checked(since time.Time) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	var before time.Time
	for _, c := range u.checks {
		if !c.IsZero() && !c.After(since) && c.After(before) {
			before = c
		}
	}
	u.checks = [2]time.Time{u.checks[1], time.Now()}
	return before
}

// unmatchedKept is how many unmatched requests are kept whole for the
// message that fails the test.
const unmatchedKept = 5

func (u *unmatchedLog) add(e *Entry) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := e.Request.Time
	if t.IsZero() {
		// Not journaled (journal: none), so never stamped.
		t = time.Now()
		e.Request.Time = t
	}
	if len(u.kept) < unmatchedKept {
		u.kept = append(u.kept, e)
		return
	}
	u.more++
	u.moreLast = t
}

func (u *unmatchedLog) reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.kept, u.more, u.moreLast = nil, 0, time.Time{}
}

// since returns the kept requests received at or after t, and how many
// more there were. Those beyond the kept ones are all counted when the
// last of them came at or after t: a request that may be in the window
// fails the test rather than being forgiven.
func (u *unmatchedLog) since(t time.Time) ([]*Entry, int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*Entry
	for _, e := range u.kept {
		if !e.Request.Time.Before(t) {
			out = append(out, e)
		}
	}
	var more int64
	if u.more > 0 && !u.moreLast.Before(t) {
		more = u.more
	}
	return out, more
}

// Explain says why a verification of p failed: how many requests matched
// and what was wanted, the closest requests and what differed, and whether
// the journal overflowed. name names the stub.
func (s *Server) Explain(name string, p *Pattern, since time.Time, found []*Entry, want string) string {
	j := s.Journal()
	var b strings.Builder
	fmt.Fprintf(&b, "stub %s: %d request(s) matched %s; want %s", name, len(found), p.String(), want)
	fmt.Fprintf(&b, "\n  the stub received %d request(s) in this test", len(j.Since(since)))
	if len(found) == 0 {
		for _, m := range j.Closest(p, since, 3) {
			fmt.Fprintf(&b, "\n  closest: %s %s", m.Entry.Request.Method, m.Entry.Request.URL)
			for _, d := range m.Diff {
				fmt.Fprintf(&b, "\n    - %s", d)
			}
		}
	} else {
		for _, e := range found {
			fmt.Fprintf(&b, "\n  matched: %s %s", e.Request.Method, e.Request.URL)
		}
	}
	if n := j.Dropped(); n > 0 {
		fmt.Fprintf(&b, "\n  note: the stub's journal overflowed (%d oldest requests dropped; raise journal: on the stub)", n)
	}
	return b.String()
}
