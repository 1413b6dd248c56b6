package stub

import (
	"errors"
	"fmt"
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
// without matching it, closest first.
func (j *Journal) Closest(p *Pattern, since time.Time, n int) []RequestMiss {
	var out []RequestMiss
	for _, e := range j.j.since(since) {
		if d := p.Diff(e.Request); len(d) > 0 {
			out = append(out, RequestMiss{Entry: e, Diff: d})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		return distance(p, out[a].Entry.Request, len(out[a].Diff)) < distance(p, out[b].Entry.Request, len(out[b].Diff))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// sortNear orders near misses by distance (nearness), closest first: each
// failed part counts one, except the URL, which counts by how unlike the
// request's URL it is (so /a/itemz is nearest /a/items, as in WireMock);
// among equals, the most recently added mapping first.
func sortNear(ms []NearMiss, req *Request) {
	dist := make(map[*Mapping]float64, len(ms))
	for _, m := range ms {
		dist[m.Mapping] = distance(&m.Mapping.Request, req, len(m.Diff))
	}
	sort.SliceStable(ms, func(a, b int) bool {
		if da, db := dist[ms[a].Mapping], dist[ms[b].Mapping]; da != db {
			return da < db
		}
		return ms[a].Mapping.seq > ms[b].Mapping.seq
	})
}

// distance is how far req is from matching p, given how many parts
// failed: the URL part weighs its edit distance, from 0 to 1.
func distance(p *Pattern, req *Request, failed int) float64 {
	ok, _ := p.URL.Match(req)
	if ok || failed == 0 {
		return float64(failed)
	}
	want, got := p.URL.Value, req.Path
	if p.URL.Kind == "url" || p.URL.Kind == "urlPattern" {
		got = req.URL
	}
	return float64(failed-1) + urlDistance(want, got)
}

// urlDistance is the Levenshtein distance of two URLs over the longer
// one's length: 0 the same, 1 nothing alike.
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
func (s *Server) Unmatched(since time.Time) error {
	un := s.Journal().Unmatched(since)
	if len(un) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d request(s) matched no stub mapping", len(un))
	for _, e := range un {
		fmt.Fprintf(&b, "\n  %s %s", e.Request.Method, e.Request.URL)
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
	return errors.New(b.String())
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
