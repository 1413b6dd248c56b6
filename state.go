package seam

import (
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/seamtest/seam/internal/stub"
	"github.com/seamtest/seam/internal/wire"
)

// edgeFaults are the faults set through Env.Fault (or cleared through
// Env.ClearFaults) on one edge; gen tells one setting from another.
type edgeFaults struct {
	from, to string
	f        wire.Faults
	gen      int
}

// savedState is what a subtest sharing its ancestor's state gives back
// when it ends: the faults set through the Go API and every stub's
// mappings, as they were when it was attached.
type savedState struct {
	faults   map[string]edgeFaults
	mappings map[string][]*stub.Mapping // by stub service
}

// noteFault records that f now holds on from → to (zero: none).
func (e *Env) noteFault(from, to string, f wire.Faults) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	if e.state.faults == nil {
		e.state.faults = map[string]edgeFaults{}
	}
	e.state.gen++
	e.state.faults[from+"→"+to] = edgeFaults{from: from, to: to, f: f, gen: e.state.gen}
}

// forgetFaults records that no fault holds (the environment's ClearFaults
// or Reset took them all off).
func (e *Env) forgetFaults() {
	e.state.mu.Lock()
	e.state.faults = nil
	e.state.mu.Unlock()
}

// saveLocked saves the state a subtest gives back (e.state.mu held).
func (e *Env) saveLocked() *savedState {
	s := &savedState{faults: make(map[string]edgeFaults, len(e.state.faults)), mappings: map[string][]*stub.Mapping{}}
	for k, v := range e.state.faults {
		s.faults[k] = v
	}
	for _, svc := range e.sys.System.Services {
		if srv := e.stubServer(svc.Name); srv != nil {
			s.mappings[svc.Name] = srv.Mappings()
		}
	}
	return s
}

// restore gives back what s saved: the faults of edges whose faults
// changed since, and stub mappings added, removed or replaced since.
func (e *Env) restore(s *savedState) {
	e.state.mu.Lock()
	var put []edgeFaults
	for edge, cur := range e.state.faults {
		old, had := s.faults[edge]
		switch {
		case had && old.gen == cur.gen:
			continue
		case !had && cur.f.IsZero():
			continue // cleared, and none was set before either
		case !had:
			old = edgeFaults{from: cur.from, to: cur.to}
		}
		put = append(put, old)
	}
	e.state.faults = s.faults
	e.state.mu.Unlock()
	sort.Slice(put, func(i, j int) bool { return put[i].from+"→"+put[i].to < put[j].from+"→"+put[j].to })
	for _, f := range put {
		if err := e.env.SetFaults(f.from, f.to, f.f); err != nil {
			e.report("seam: giving the faults of "+f.from+"→"+f.to+" back: "+err.Error(), false)
		}
	}
	names := make([]string, 0, len(s.mappings))
	for name := range s.mappings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if srv := e.stubServer(name); srv != nil {
			restoreMappings(srv, s.mappings[name])
		}
	}
}

// restoreMappings makes srv's mappings was again. Mappings only added
// since are removed one by one, so the others never cease to answer.
func restoreMappings(srv *stub.Server, was []*stub.Mapping) {
	cur := srv.Mappings()
	if slices.Equal(cur, was) {
		return
	}
	if len(cur) > len(was) && slices.Equal(cur[:len(was)], was) {
		ids := map[string]bool{}
		for _, m := range was {
			ids[m.ID] = true
		}
		added := cur[len(was):]
		ok := true
		for _, m := range added {
			ok = ok && !ids[m.ID]
		}
		if ok {
			for _, m := range added {
				srv.Remove(m.ID)
			}
			return
		}
	}
	srv.ResetMappings()
	srv.Add(was...)
}

// goid is the calling goroutine's id, 0 when the calling goroutine runs
// no test (a test's own goroutines run in testing's tRunner).
func goid() uint64 {
	if !inTest() {
		return 0
	}
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf[:n]), "goroutine "), " ")
	v, _ := strconv.ParseUint(id, 10, 64)
	return v
}

// inTest reports whether the calling goroutine runs a test function (it
// was started by testing's tRunner), not a goroutine a test started.
func inTest() bool {
	pcs := make([]uintptr, 1024) // deeper stacks are cut: taken for no test's
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if f.Function == "testing.tRunner" {
			return true
		}
		if !more {
			return false
		}
	}
}

// panicking reports whether the calling goroutine is unwinding a panic
// (the caller runs deferred): testing runs a panicking test's cleanups
// before it marks the test failed, so t.Failed is false in them.
func panicking() bool {
	pcs := make([]uintptr, 1024)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return true
		}
		if !more {
			return false
		}
	}
}
