package environment

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"

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
	return step.HostEnv{
		Log: func(component, stream, line string) {
			if e.opts.Log != nil {
				e.opts.Log(component, stream, line, nil)
			}
		},
		Record: func(in wire.Interaction) {
			e.seen.Add(in)
			if e.opts.Log != nil {
				e.opts.Log(in.Edge, "wire", in.Line(), e.wireSpan(in))
			}
		},
		Started:     e.opts.Started,
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

// maxExchangeBytes bounds the content of interactions an environment
// sends to the event log (each body is cut at 4 KiB already): a long run
// of big bodies keeps its timeline, not gigabytes of bodies. Past it,
// interactions carry their line only, and the environment says so once.
const maxExchangeBytes = 64 << 20

// wireSpan places an interaction on the timeline with what it carried.
func (e *Environment) wireSpan(in wire.Interaction) *report.Span {
	s := &report.Span{Start: in.Start, End: in.End}
	if e.exchanged.Load() > maxExchangeBytes {
		return s
	}
	req, reqBody, resp, respBody := in.Content()
	if req == "" && resp == "" {
		return s
	}
	n := int64(len(req) + len(reqBody) + len(resp) + len(respBody))
	if e.exchanged.Add(n) > maxExchangeBytes {
		if e.exchangeFull.CompareAndSwap(false, true) && e.opts.Log != nil {
			e.opts.Log(in.Edge, "seam", fmt.Sprintf("the event log keeps no more of what interactions carry in this environment (%d MiB kept); their lines go on", maxExchangeBytes>>20), nil)
		}
		return s
	}
	s.Exchange = &report.Exchange{Request: req, RequestBody: reqBody, Response: resp, ResponseBody: respBody}
	return s
}
