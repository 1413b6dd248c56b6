package browserstep

import (
	"context"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/seamtest/seam/internal/wire"
)

// The browser's edges (browser→orders) pass no proxy: its requests go
// straight to the services. Their faults are put in effect here, by
// pausing the page's requests to a faulted service (the DevTools Fetch
// domain, enabled only for those services' addresses while a fault is
// set) and answering, failing, holding or delaying them as the wire
// would: http: {status} answered in the service's place, reset as a
// connection reset, refuse as a refused connection, blackhole held
// unanswered until the fault is lifted, latency (with its jitter) and
// http: {slow} before the request goes on. Bandwidth and close_after
// act on a connection's bytes, which the browser does not show: the
// environment refuses them on a browser edge.

// FaultsChanged implements step.FaultTaker: the current page takes the
// faults now set (later pages take them as they open).
func (b *Browser) FaultsChanged() {
	b.mu.Lock()
	p := b.page
	b.mu.Unlock()
	if p != nil {
		p.takeFaults()
	}
}

// takeFaults enables interception for the faulted services' addresses,
// or disables it when no fault is set; requests held by a blackhole that
// was lifted fail as a lifted blackhole's connections close.
func (p *Page) takeFaults() {
	// One change at a time, read and put in effect in order.
	p.takeMu.Lock()
	defer p.takeMu.Unlock()
	var faults map[string]wire.Faults
	if p.b.host.Faults != nil {
		faults = p.b.host.Faults()
	}
	var patterns []*fetch.RequestPattern
	for addr, svc := range p.b.host.Services {
		if _, ok := faults[svc]; ok {
			patterns = append(patterns, &fetch.RequestPattern{URLPattern: "http://" + addr + "/*"})
		}
	}
	// Calls to a wire proxy's address are always paused: they go to the
	// callee's own (paused).
	for addr := range p.b.host.Wired {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "http://" + addr + "/*"})
	}
	p.mu.Lock()
	p.faults = faults
	// Jitter drawn from each fault's seed (the test's), so --seed
	// replays it, as on the wire.
	p.rnds = map[string]*rand.Rand{}
	for svc, f := range faults {
		p.rnds[svc] = rand.New(rand.NewPCG(f.Seed, 0xb0))
	}
	var release []fetch.RequestID
	for id, svc := range p.held {
		if f, ok := faults[svc]; !ok || !f.Blackhole {
			release = append(release, id)
			delete(p.held, id)
		}
	}
	was := p.intercepting
	p.intercepting = len(patterns) > 0
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.installWS(ctx, faults)
	p.b.sink.release(func(addr string) bool {
		f, ok := faults[p.b.host.Services[addr]]
		return ok && f.Blackhole
	})
	for _, id := range release {
		_, _ = call(ctx, p, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonConnectionClosed})
	}
	switch {
	case len(patterns) > 0:
		_, _ = call(ctx, p, fetch.Enable, fetch.EnableParams{Patterns: patterns})
	case was:
		_, _ = call(ctx, p, fetch.Disable, struct{}{})
	}
}

// paused decides a request the Fetch domain paused: it runs on a
// goroutine of its own (the event reader must not wait).
func (p *Page) paused(ev *fetch.EventRequestPaused) {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	var to string // the URL the request goes to instead ("": its own)
	if ev.Request != nil {
		if u, ok := p.rewired(ev.Request.URL); ok {
			to = u
		}
	}
	goOn := func() {
		_, _ = call(ctx, p, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID, URL: to})
	}
	if ev.Request == nil {
		goOn()
		return
	}
	target := ev.Request.URL
	if u, err := url.Parse(target); err == nil {
		target = u.RequestURI()
	}
	if ev.Request.Method == "OPTIONS" && ev.Request.Headers["Access-Control-Request-Method"] != nil {
		// A CORS preflight is the browser's, not the page's call: the
		// call it clears the way for meets the fault.
		goOn()
		return
	}
	svc := p.serviceOf(ev.Request.URL)
	p.mu.Lock()
	f, ok := p.faults[svc]
	var delay time.Duration
	if ok && f.Latency > 0 {
		delay = f.Latency
		if r := p.rnds[svc]; f.Jitter > 0 && r != nil {
			delay += time.Duration(r.Int64N(int64(2*f.Jitter+1))) - f.Jitter
		}
	}
	holds := ok && f.Blackhole && !(f.HTTP != nil && f.HTTP.Status != 0 && f.HTTP.Matches(ev.Request.Method, target)) && !f.Reset && !f.Refuse
	if holds {
		// Held in the same step as the fault is read: a lift that comes
		// between could not release it otherwise.
		p.held[ev.RequestID] = svc
		p.injected[ev.NetworkID] = true
	}
	p.mu.Unlock()
	if !ok {
		goOn()
		return
	}
	injected := func() {
		p.mu.Lock()
		p.injected[ev.NetworkID] = true
		p.mu.Unlock()
	}
	switch {
	case f.HTTP != nil && f.HTTP.Status != 0 && f.HTTP.Matches(ev.Request.Method, target):
		injected()
		body := f.HTTP.Body
		if body == "" {
			body = strconv.Itoa(f.HTTP.Status) + " " + statusText(f.HTTP.Status) + " (seam fault)\n"
		}
		headers := []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}
		if origin, ok := ev.Request.Headers["Origin"].(string); ok && origin != "" {
			// A page's call to another origin (its API) sees the fault's
			// status, as it would the service's own error answer, not a
			// CORS failure.
			headers = append(headers, &fetch.HeaderEntry{Name: "Access-Control-Allow-Origin", Value: origin},
				&fetch.HeaderEntry{Name: "Access-Control-Allow-Credentials", Value: "true"})
		}
		_, _ = call(ctx, p, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: int64(f.HTTP.Status),
			ResponseHeaders: headers, Body: []byte(body)})
	case f.Reset:
		injected()
		_, _ = call(ctx, p, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
	case f.Refuse:
		injected()
		_, _ = call(ctx, p, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionRefused})
	case holds:
		// held above, until the blackhole is lifted (takeFaults)
	default:
		if f.HTTP != nil && f.HTTP.Status == 0 && f.HTTP.Slow > 0 && f.HTTP.Matches(ev.Request.Method, target) {
			delay += f.HTTP.Slow
		}
		if delay > 0 {
			// Held by the test's own fault meanwhile: still in flight
			// when the step fails or the test ends, it is injected.
			p.mu.Lock()
			p.delayed[ev.NetworkID] = true
			p.mu.Unlock()
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
			p.mu.Lock()
			delete(p.delayed, ev.NetworkID)
			p.mu.Unlock()
		}
		goOn()
	}
}

// wasInjected reports (once) whether a fault answered or cut the request.
func (p *Page) wasInjected(id network.RequestID) bool {
	if p.injected[id] {
		delete(p.injected, id)
		return true
	}
	return false
}
