// Package shard splits a suite's tests into N parts for CI machines that
// each run one (seam run --shard K/N). Without timings the parts are
// balanced by count; with the durations of an earlier run (JUnit XML, a
// JSON event log, or the event logs seam keeps) they are balanced by time.
// The split is deterministic: every machine computes the same parts from
// the same suite and timings, with no coordination.
package shard

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec is one part of N: K in 1..N.
type Spec struct{ K, N int }

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// maxShards bounds N: more parts than that is a typo, not a CI matrix.
const maxShards = 1000

// Parse reads "K/N". Its errors say what is wrong in words for a usage
// message: "0/4: K counts from 1", "5/4: K is more than N".
func Parse(s string) (Spec, error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return Spec{}, fmt.Errorf("%q: want K/N, like 2/4 (the 2nd of 4 parts)", s)
	}
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("%q: want two whole numbers K/N, like 2/4", s)
	case ni < 1:
		return Spec{}, fmt.Errorf("%q: N must be at least 1", s)
	case ni > maxShards:
		return Spec{}, fmt.Errorf("%q: N is over %d", s, maxShards)
	case ki < 1:
		return Spec{}, fmt.Errorf("%q: K counts from 1 (the first part is 1/%d)", s, ni)
	case ki > ni:
		return Spec{}, fmt.Errorf("%q: K is more than N (the last part is %d/%d)", s, ni, ni)
	}
	return Spec{K: ki, N: ni}, nil
}

// Test is what the split needs to know of a test.
type Test struct {
	Name string
	// Serial tests run alone: with P workers a serial test holds all of
	// them, so it weighs P times its duration.
	Serial bool
	// Fresh tests start an environment of their own: they weigh an
	// environment's start more.
	Fresh bool
}

// Options say how tests weigh.
type Options struct {
	// Timings are earlier durations by test name; nil splits by count.
	Timings map[string]time.Duration
	// EnvStart is what a fresh test's own environment costs; 0 means the
	// median test's duration (by count: one test).
	EnvStart time.Duration
	Parallel int // workers each part runs with (--parallel); < 1 means 1
}

// Plan is a split of tests into parts.
type Plan struct {
	Parts [][]string // each part's tests, in suite order
	// Load is each part's estimated wall time (by count: in tests).
	Load []time.Duration
	// Unknown are the tests the timings did not have, placed by count
	// (each on the part with the fewest tests).
	Unknown []string
	ByTime  bool
}

// Split places tests into n parts. Known tests go, heaviest first, onto
// the part with the least load (longest processing time first, ties to the
// lower part); tests the timings lack then go, in suite order, each onto
// the part with the fewest tests, weighing the median known duration.
func Split(tests []Test, n int, opts Options) Plan {
	p := Plan{Parts: make([][]string, n), Load: make([]time.Duration, n), ByTime: opts.Timings != nil}
	par := time.Duration(max(opts.Parallel, 1))
	unit := time.Second // by count every test weighs this
	if p.ByTime {
		unit = median(opts.Timings)
	}
	envStart := opts.EnvStart
	if envStart <= 0 {
		envStart = unit
	}
	// A part's wall time is its parallel tests' time spread over the
	// workers, plus its serial tests' whole; weights are in worker-time.
	weight := func(t Test, d time.Duration) time.Duration {
		if t.Fresh {
			d += envStart
		}
		if t.Serial {
			d *= par
		}
		return d
	}
	type item struct {
		idx int
		w   time.Duration
	}
	var known, unknown []item
	for i, t := range tests {
		d, ok := unit, true
		if p.ByTime {
			d, ok = opts.Timings[t.Name]
		}
		if ok {
			known = append(known, item{i, weight(t, d)})
		} else {
			unknown = append(unknown, item{i, weight(t, unit)})
			p.Unknown = append(p.Unknown, t.Name)
		}
	}
	sort.SliceStable(known, func(a, b int) bool { return known[a].w > known[b].w })
	assign := make([]int, len(tests))
	count := make([]int, n)
	place := func(it item, best func(a, b int) bool) {
		k := 0
		for j := 1; j < n; j++ {
			if best(j, k) {
				k = j
			}
		}
		assign[it.idx] = k
		p.Load[k] += it.w
		count[k]++
	}
	for _, it := range known {
		place(it, func(a, b int) bool { return p.Load[a] < p.Load[b] })
	}
	for _, it := range unknown {
		place(it, func(a, b int) bool {
			return count[a] < count[b] || count[a] == count[b] && p.Load[a] < p.Load[b]
		})
	}
	for i, t := range tests {
		p.Parts[assign[i]] = append(p.Parts[assign[i]], t.Name)
	}
	for k := range p.Load {
		p.Load[k] /= par
	}
	return p
}

func median(m map[string]time.Duration) time.Duration {
	if len(m) == 0 {
		return time.Second
	}
	ds := make([]time.Duration, 0, len(m))
	for _, d := range m {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if d := ds[len(ds)/2]; d > 0 {
		return d
	}
	return time.Millisecond
}
