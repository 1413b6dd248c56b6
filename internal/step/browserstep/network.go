package browserstep

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/seamtest/seam/internal/wire"
)

// The page's requests to the system's services are interactions on
// browser→SERVICE edges, recorded as the wire records an HTTP call: method,
// target, status, the header lines each way and the start of each body
// (text-like ones, maxBodyKept bytes), masked through wire.Mask, timed by
// the browser's own clock (when it sent the request, when the answer
// finished loading), not by when seam read the events. A request belongs
// to the test whose page sent it: one still in flight when its step fails
// or its test ends is recorded then, pending, and what the browser tells
// of it later is dropped.

// maxBodyKept is how much of each body an interaction keeps, as the wire
// keeps (wire.maxBodyKept).
const maxBodyKept = 4 << 10

// maxBodyRead bounds the answers whose body is read at all: a larger one
// is recorded without it (the browser hands a body over whole).
const maxBodyRead = 1 << 20

// request is a page's request in flight.
type request struct {
	id                   network.RequestID
	method, url, service string
	typ                  network.ResourceType
	// start is when the browser sent it (its wallTime); mono is the
	// browser's monotonic clock then, to place later events by theirs.
	start      time.Time
	mono       cdp.MonotonicTime
	status     int
	statusText string
	mime       string
	reqHeader  string // "Name: value" lines, sorted
	respHeader string
	reqBody    []byte
	postLater  bool // the browser has a body it did not put in the event
}

// at is the time of a browser event timestamped ts, on the wall clock of
// the request's start.
func (r *request) at(ts cdp.MonotonicTime) time.Time {
	d := time.Duration((float64(ts) - float64(r.mono)) * float64(time.Second))
	if d < 0 || ts == 0 {
		d = 0
	}
	return r.start.Add(d)
}

// network handles the page's network events; false for any other event.
// It runs on chromedp's reading goroutine: what calls the browser (a body
// to read) runs on a goroutine of its own.
func (p *Page) network(ev any) bool {
	switch ev.(type) {
	case *network.EventRequestWillBeSent, *network.EventResponseReceived, *network.EventLoadingFinished, *network.EventLoadingFailed,
		*network.EventWebSocketCreated, *network.EventWebSocketWillSendHandshakeRequest, *network.EventWebSocketHandshakeResponseReceived,
		*network.EventWebSocketFrameError, *network.EventWebSocketClosed:
	default:
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return true // its test is over
	}
	now := time.Now()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.lastNet = now
		start := wallTime(ev.WallTime, now)
		if ev.RedirectResponse != nil {
			r := p.inflight[ev.RequestID]
			if r == nil {
				return true // its chain was recorded pending: the test is over
			}
			delete(p.inflight, ev.RequestID)
			r.status, r.statusText = int(ev.RedirectResponse.Status), ev.RedirectResponse.StatusText
			r.respHeader = headerLines(ev.RedirectResponse.Headers)
			p.finish(r, r.at(ev.Timestamp), "", false)
		}
		if ev.Request == nil {
			return true
		}
		r := &request{id: ev.RequestID, method: ev.Request.Method, url: ev.Request.URL, typ: ev.Type, start: start, mono: ev.Timestamp,
			service: p.serviceOf(ev.Request.URL), reqHeader: headerLines(ev.Request.Headers)}
		if ev.Request.HasPostData {
			for _, e := range ev.Request.PostDataEntries {
				r.reqBody = append(r.reqBody, e.Bytes...)
			}
			r.postLater = len(r.reqBody) == 0
			r.reqBody = keep(r.reqBody)
		}
		p.inflight[ev.RequestID] = r
	case *network.EventResponseReceived:
		if r := p.inflight[ev.RequestID]; r != nil && ev.Response != nil {
			r.status, r.statusText = int(ev.Response.Status), ev.Response.StatusText
			r.respHeader, r.mime = headerLines(ev.Response.Headers), ev.Response.MimeType
		}
	case *network.EventLoadingFinished:
		p.lastNet = now
		if r := p.inflight[ev.RequestID]; r != nil {
			delete(p.inflight, ev.RequestID)
			p.finish(r, r.at(ev.Timestamp), "", textLike(r) && ev.EncodedDataLength <= maxBodyRead)
		}
	case *network.EventLoadingFailed:
		p.lastNet = now
		if r := p.inflight[ev.RequestID]; r != nil {
			delete(p.inflight, ev.RequestID)
			reason := ev.ErrorText
			switch {
			case ev.Canceled && r.status != 0:
				// The server answered; the page did not read the whole
				// body (a fetch that looked at the status only).
				reason = ""
			case ev.Canceled:
				reason = "cancelled by the page"
			}
			p.finish(r, r.at(ev.Timestamp), reason, false)
		}
	default:
		p.webSocket(ev, now)
	}
	return true
}

// finish records r, ended at end, once what is left to read of it (its
// request body, its answer's body) is read, on a goroutine of its own.
// p.mu is held.
func (p *Page) finish(r *request, end time.Time, failed string, readBody bool) {
	if r.service == "" || p.b.host.Record == nil {
		return
	}
	in := p.interaction(r, end)
	if failed != "" {
		in.Result, in.Suspicious = "failed: "+failed, true
	}
	if !readBody && !r.postLater {
		p.b.host.Record(in)
		return
	}
	if p.finishing == 0 {
		p.idle = make(chan struct{})
	}
	p.finishing++
	p.b.crash.Go(func() {
		defer p.finished()
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		defer cancel()
		if r.postLater {
			if res, err := call(ctx, p, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: r.id}); err == nil {
				in.RequestBody = keep(res.PostData)
			}
		}
		if readBody {
			if res, err := call(ctx, p, network.GetResponseBody, network.GetResponseBodyParams{RequestID: r.id}); err == nil {
				in.ResponseBody = keep(res.Body)
			}
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if !closed { // else its test is over: not the next one's
			p.b.host.Record(in)
		}
	})
}

func (p *Page) finished() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishing--
	if p.finishing == 0 {
		close(p.idle)
	}
}

// settle waits until the requests that ended are recorded (their bodies
// read), or ctx ends.
func (p *Page) settle(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// interaction is r as the browser→SERVICE edge records it, answered or
// not. p.mu is held.
func (p *Page) interaction(r *request, end time.Time) wire.Interaction {
	target := r.url
	if u, err := url.Parse(r.url); err == nil {
		target = u.RequestURI()
	}
	in := wire.Interaction{Edge: Component + "→" + r.service, Protocol: "http", Op: r.method + " " + target,
		Method: r.method, Target: target, Status: r.status, Start: r.start, End: end, RequestBody: r.reqBody}
	if end.Before(r.start) {
		in.End = r.start
	}
	in.SetHeaders(r.reqHeader, r.respHeader)
	if p.wasInjected(r.id) {
		in.Injected, in.Note = true, wire.InjectedNote
	}
	text := r.statusText
	if text == "" {
		text = statusText(r.status)
	}
	in.Result = strings.TrimSpace(fmt.Sprintf("%d %s", r.status, text))
	in.Suspicious = r.status >= 400
	if r.typ == network.ResourceTypeWebSocket && r.status == 101 && in.Note == "" {
		in.Note = "(protocol switched; not decoded further)" // as the wire notes an upgrade
	}
	return in
}

// TestEnded implements the end of a test for the environment's helpers:
// the current page's requests still in flight are recorded as its test's
// (Page.EndTest).
func (b *Browser) TestEnded() {
	b.mu.Lock()
	p := b.page
	b.mu.Unlock()
	if p != nil {
		p.EndTest()
	}
}

// watchTest ends the page's test (EndTest) when ctx, the test's, ends: its
// timeout or an interrupt.
func (p *Page) watchTest(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopWatch != nil || p.closed {
		return
	}
	p.stopWatch = context.AfterFunc(ctx, func() { p.pending(endedWhen(ctx), time.Now()) })
}

// endedWhen says how ctx, a test's, ended: "the test ended" (its steps
// done: the engine's cause says so with a TestEnded method; or its
// timeout), or "the run was interrupted" (cancelled with no such cause).
func endedWhen(ctx context.Context) string {
	var ended interface{ TestEnded() bool }
	if errors.As(context.Cause(ctx), &ended) && ended.TestEnded() || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the test ended"
	}
	return "the run was interrupted"
}

// Settle implements step.Settler: it waits, until ctx ends, for the
// current page's requests to the system's services that are in flight to
// end and be recorded. The page may show an answer before the browser has
// told seam of it (its events come on their own connection).
func (b *Browser) Settle(ctx context.Context) {
	b.mu.Lock()
	p := b.page
	b.mu.Unlock()
	if p != nil {
		p.Settle(ctx)
	}
}

// Settle waits, until ctx ends, for the page's requests to the system's
// services that are in flight to end and be recorded.
func (p *Page) Settle(ctx context.Context) {
	for {
		p.mu.Lock()
		busy := false
		for _, r := range p.inflight {
			if r.service != "" {
				busy = true
				break
			}
		}
		closed := p.closed
		p.mu.Unlock()
		if !busy || closed {
			break
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	p.settle(ctx)
}

// EndTest records the page's requests still in flight as its test's, with
// no answer ("still in flight when the test ended"); what the browser
// tells of them later is dropped. The environment calls it (through the
// browser, TestEnded) when the test ends; Close does before the page goes.
func (p *Page) EndTest() { p.pending("the test ended", time.Now()) }

// pending records the requests in flight at now as having no answer yet,
// "still in flight when " + when.
func (p *Page) pending(when string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	ids := make([]network.RequestID, 0, len(p.inflight))
	for id := range p.inflight {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return p.inflight[ids[i]].start.Before(p.inflight[ids[j]].start) })
	for _, id := range ids {
		r := p.inflight[id]
		delete(p.inflight, id)
		if r.service == "" || p.b.host.Record == nil {
			continue
		}
		held, delayed := p.injected[r.id], p.delayed[r.id]
		delete(p.delayed, r.id)
		in := p.interaction(r, now)
		if r.status != 0 {
			// Answered, its body still coming (an event stream): as the
			// wire tells an answer its caller stopped reading.
			in.Result += ", then still in flight when " + when + " (in the middle of its body)"
		} else {
			// Its time is the line's own ("(4.2s)"), not the result's.
			in.Result = "no answer: still in flight when " + when
			switch {
			case held:
				in.Result += " (a blackhole fault holds the call)"
			case delayed:
				// The test's own fault holds it: what it meant to happen.
				in.Result += " (a latency fault holds the call)"
				in.Injected, in.Note = true, wire.InjectedNote
			}
			in.Suspicious = true
		}
		p.b.host.Record(in)
	}
}

// InFlight describes the first few requests in flight (method and URL).
func (p *Page) InFlight(max int) (n int, first []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := make([]*request, 0, len(p.inflight))
	for _, r := range p.inflight {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].start.Before(list[j].start) })
	for i, r := range list {
		if i == max {
			break
		}
		first = append(first, r.method+" "+r.url)
	}
	return len(list), first
}

// wallTime is the browser's wall time of an event, or now when it gave none.
func wallTime(t cdp.TimeSinceEpoch, now time.Time) time.Time {
	if t <= 0 {
		return now
	}
	sec := float64(t)
	return time.Unix(0, int64(sec*1e9))
}

// headerLines renders headers as the wire keeps them: "Name: value" a
// line, sorted by name.
func headerLines(h network.Headers) string {
	if len(h) == 0 {
		return ""
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range strings.Split(fmt.Sprint(h[k]), "\n") { // the browser joins repeated headers with \n
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(k + ": " + v)
		}
	}
	return b.String()
}

// textLike says whether r's answer is text whose body is worth keeping:
// not an image, a font, a script or a style sheet.
func textLike(r *request) bool {
	switch r.typ {
	case network.ResourceTypeScript, network.ResourceTypeStylesheet, network.ResourceTypeImage, network.ResourceTypeFont,
		network.ResourceTypeMedia, network.ResourceTypeEventSource, network.ResourceTypeWebSocket:
		return false
	}
	m := strings.ToLower(r.mime)
	return strings.HasPrefix(m, "text/") || strings.Contains(m, "json") || strings.Contains(m, "xml") ||
		strings.Contains(m, "x-www-form-urlencoded") || strings.Contains(m, "graphql")
}

// keep is the start of a body an interaction keeps.
func keep(b []byte) []byte {
	if len(b) > maxBodyKept {
		return b[:maxBodyKept:maxBodyKept]
	}
	return b
}
