package environment

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
)

// helpers are what step kinds keep for an environment (a browser), by key.
type helpers struct {
	mu     sync.Mutex
	m      map[string]io.Closer
	order  []string
	closed bool
}

// Keep implements step.Host: the helper under key, started the first
// time. Starting holds the lock, so two steps never start two browsers.
func (e *Environment) Keep(key string, start func(step.HostEnv) (io.Closer, error)) (io.Closer, error) {
	h := &e.helpers
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%s: the environment is stopping", key)
	}
	if c, ok := h.m[key]; ok {
		return c, nil
	}
	c, err := start(e.hostEnv(key))
	if err != nil {
		return nil, err
	}
	if h.m == nil {
		h.m = map[string]io.Closer{}
	}
	h.m[key] = c
	h.order = append(h.order, key)
	return c, nil
}

func (e *Environment) hostEnv(key string) step.HostEnv {
	addrs := map[string]string{}
	for name, r := range e.running {
		for _, port := range r.ports {
			addrs["127.0.0.1:"+strconv.Itoa(port)] = name
			addrs["localhost:"+strconv.Itoa(port)] = name
		}
	}
	wired := map[string]string{}
	for _, p := range e.proxyList() {
		_, port, _ := strings.Cut(p.Addr(), ":")
		wired["127.0.0.1:"+port], wired["localhost:"+port] = p.Target(), p.Target()
	}
	return step.HostEnv{
		Wired: wired,
		Log: func(component, stream, line string) {
			if e.opts.Log != nil {
				e.opts.Log(component, stream, line, nil)
			}
		},
		Record: func(in wire.Interaction) {
			wire.Mask(e.opts.Mask, &in) // as a proxy masks what it records
			e.seen.Add(in)
			if e.opts.Log != nil {
				e.opts.Log(in.Edge, "wire", in.Line(), e.wireSpan(in))
			}
		},
		Faults: func() map[string]wire.Faults {
			e.mu.Lock()
			defer e.mu.Unlock()
			var out map[string]wire.Faults
			for edge, f := range e.componentFaults {
				if from, to, _ := strings.Cut(edge, "→"); from == key {
					if out == nil {
						out = map[string]wire.Faults{}
					}
					out[to] = f
				}
			}
			return out
		},
		Started:     e.opts.Started,
		AddTemp:     e.opts.AddTemp,
		Mark:        e.opts.Mark,
		TempDir:     filepath.Join(e.opts.TempDir, key),
		ArtifactDir: filepath.Join(e.opts.LogDir, "artifacts"),
		Services:    addrs,
	}
}

// closeHelpers closes the helpers, the last started first.
func (e *Environment) closeHelpers() error {
	h := &e.helpers
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	var first error
	for i := len(h.order) - 1; i >= 0; i-- {
		if err := h.m[h.order[i]].Close(); err != nil && first == nil {
			first = fmt.Errorf("stopping %s: %w", h.order[i], err)
		}
	}
	h.m, h.order = nil, nil
	return first
}

// maxExchangeBytes bounds the content of interactions a run sends to the
// event log (each body is cut at 4 KiB already), whatever its
// environments: a long run of big bodies keeps its timeline, not
// gigabytes of bodies in the log and in the reports that collect events.
// Past it, interactions carry their line only, and the run says so once.
const maxExchangeBytes = 64 << 20

// ExchangeBudget counts what interactions carried to the event log
// against maxExchangeBytes; a run's environments share one.
type ExchangeBudget struct {
	used atomic.Int64
	full atomic.Bool // passed (and said)
}

// wireSpan places an interaction on the timeline with what it carried.
func (e *Environment) wireSpan(in wire.Interaction) *report.Span {
	s := &report.Span{Start: in.Start, End: in.End}
	budget := e.opts.Exchanges
	if budget == nil {
		budget = &e.own
	}
	if budget.used.Load() > maxExchangeBytes {
		return s
	}
	req, reqBody, resp, respBody := in.Content()
	if req == "" && resp == "" {
		return s
	}
	n := int64(len(req) + len(reqBody) + len(resp) + len(respBody))
	if budget.used.Add(n) > maxExchangeBytes {
		if budget.full.CompareAndSwap(false, true) && e.opts.Log != nil {
			e.opts.Log(in.Edge, "seam", fmt.Sprintf("the event log keeps no more of what interactions carry in this run (%d MiB kept); their lines go on", maxExchangeBytes>>20), nil)
		}
		return s
	}
	s.Exchange = &report.Exchange{Request: req, RequestBody: reqBody, Response: resp, ResponseBody: respBody}
	return s
}

// setComponentFaults puts faults on an edge from one of seam's own
// components (browser→orders), whose helper puts them in effect: its
// requests pass no proxy. They hold from now on, for a helper started
// later too, until ClearFaults.
func (e *Environment) setComponentFaults(from, to string, f wire.Faults) error {
	switch {
	case f.Bandwidth > 0 || f.CloseAfter > 0:
		return fmt.Errorf("%s→%s: bandwidth and close_after act on a connection's bytes, which seam does not carry for the %s (it talks to the services itself); use latency, reset, refuse, blackhole or http", from, to, from)
	case f.GRPC != nil:
		return fmt.Errorf("%s→%s: a grpc fault is for gRPC edges; the %s's calls are HTTP (use http: {path, status})", from, to, from)
	}
	e.mu.Lock()
	if e.componentFaults == nil {
		e.componentFaults = map[string]wire.Faults{}
	}
	what := f.String()
	if f.IsZero() { // clear: true
		delete(e.componentFaults, from+"→"+to)
		what = "cleared"
	} else {
		e.componentFaults[from+"→"+to] = f
	}
	e.mu.Unlock()
	e.faultNoted(from+"→"+to, what)
	e.componentFaultsChanged()
	return nil
}

// faultNoted puts a component edge's fault (or its end) on the timeline,
// as a proxy does its own.
func (e *Environment) faultNoted(edge, what string) {
	now := time.Now()
	e.wireReport(edge, true)(wire.Interaction{Edge: edge, Protocol: "fault", Op: "fault", Result: what, Start: now, End: now})
}

// helpersAs returns the helpers that are T, in the order they started
// (read under the lock, called after it).
func helpersAs[T any](e *Environment) []T {
	h := &e.helpers
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []T
	for _, k := range h.order {
		if t, ok := h.m[k].(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// componentFaultsChanged tells the helpers that take faults.
func (e *Environment) componentFaultsChanged() {
	for _, t := range helpersAs[step.FaultTaker](e) {
		t.FaultsChanged()
	}
}

// EndTest tells the helpers that keep a test's state (the browser's
// requests still in flight) that the test has ended (engine.TestEnder):
// what they record of it lands in its timeline, not the next test's.
//
// The wire's calls still in flight go on the timeline too (once the
// wire has read what came), each as it stands: a call hung on its callee
// would otherwise show nowhere in the test that timed out waiting on it
// (the wire tells a call as it ends). Calls begun before the test (a
// worker's long poll) are left to the test they end in.
func (e *Environment) EndTest(since time.Time) {
	for _, t := range helpersAs[step.TestEnder](e) {
		t.TestEnded()
	}
	if e.opts.Log == nil {
		return
	}
	e.settle()
	for _, in := range e.inFlight(since) {
		e.opts.Log(in.Edge, "wire", in.Line(), e.wireSpan(in))
	}
}
