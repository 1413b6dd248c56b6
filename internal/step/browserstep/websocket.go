package browserstep

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/seamtest/seam/internal/wire"
)

// The page's WebSocket connections to the system's services are on its
// browser→SERVICE edges, as its fetch calls are. The Fetch domain never
// sees them, so a script that runs before the page's own (wsJS) wraps
// window.WebSocket: a URL with a wire proxy's address (one a service was
// given for its dependency, which the page may have been given too) goes to
// the callee's own address, and one to a service with a fault that stops
// connections (reset, refuse, an http status, blackhole) goes instead to
// seam's sink (wsSink), which resets it, or holds it (blackhole) until the
// fault is lifted. Faults meet a WebSocket as it opens: one already open
// goes on, and latency is not added to it. Each connection is recorded, from
// the Network domain's events, as the wire records an upgrade: GET PATH,
// 101, "(protocol switched; not decoded further)".

// wsJS installs the wrapper; __seamWS is its state (wsState).
const wsJS = `(() => {
  const W = globalThis.WebSocket;
  if (!W || W.__seam) return;
  const to = (u) => {
    const st = globalThis.__seamWS || {};
    let url;
    try { url = new URL(String(u), location.href); } catch (e) { return u; }
    const direct = (st.wired || {})[url.host];
    if (direct) url.host = direct;
    const kind = (st.faults || {})[url.host];
    if (kind && st.sink) {
      url.pathname = "/__seam/" + kind + "/" + url.host + url.pathname;
      url.host = st.sink;
      url.protocol = "ws:";
    }
    return url.href;
  };
  class WebSocket extends W {
    constructor(u, protocols) { protocols === undefined ? super(to(u)) : super(to(u), protocols); }
  }
  Object.defineProperty(WebSocket, "__seam", {value: true});
  Object.defineProperty(globalThis, "WebSocket", {value: WebSocket, writable: true, configurable: true});
})();`

// wsState is the wrapper's state as JavaScript: the wire proxies' addresses
// → the callees' own, the faulted services' addresses → reset or hold,
// and the sink's address.
func (p *Page) wsState(faults map[string]wire.Faults) string {
	st := struct {
		Wired  map[string]string `json:"wired"`
		Faults map[string]string `json:"faults"`
		Sink   string            `json:"sink"`
	}{Wired: p.b.host.Wired, Faults: map[string]string{}, Sink: p.b.sink.addr()}
	for addr, svc := range p.b.host.Services {
		f, ok := faults[svc]
		switch {
		case !ok:
		case f.Reset || f.Refuse || f.HTTP != nil && f.HTTP.Status != 0 && f.HTTP.Matches("GET", "/"):
			st.Faults[addr] = "reset"
		case f.Blackhole:
			st.Faults[addr] = "hold"
		}
	}
	b, _ := json.Marshal(st)
	return "globalThis.__seamWS=" + string(b) + ";"
}

// installWS puts the wrapper and its state in the page: in every document
// from now on, and in the one it shows. Called when the page opens and
// whenever the faults change (takeFaults). p.takeMu is held.
func (p *Page) installWS(ctx context.Context, faults map[string]wire.Faults) {
	src := p.wsState(faults) + wsJS
	if p.wsScript != "" {
		_, _ = call(ctx, p, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: p.wsScript})
	}
	if res, err := call(ctx, p, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err == nil {
		p.wsScript = res.Identifier
	}
	_, _ = call(ctx, p, runtime.Evaluate, runtime.EvaluateParams{Expression: src})
}

// webSocket handles the page's WebSocket events; false for any other
// event. p.mu is held.
func (p *Page) webSocket(ev any, now time.Time) bool {
	switch ev := ev.(type) {
	case *network.EventWebSocketCreated:
		raw, injected := p.b.sink.original(ev.URL)
		r := &request{id: ev.RequestID, method: "GET", url: raw, typ: network.ResourceTypeWebSocket, start: now, service: p.serviceOf(raw)}
		if r.service == "" {
			return true
		}
		if injected {
			p.injected[ev.RequestID] = true
		}
		p.lastNet = now
		p.inflight[ev.RequestID] = r
	case *network.EventWebSocketWillSendHandshakeRequest:
		if r := p.inflight[ev.RequestID]; r != nil && r.typ == network.ResourceTypeWebSocket {
			r.start, r.mono = wallTime(ev.WallTime, now), ev.Timestamp
			if ev.Request != nil {
				r.reqHeader = headerLines(ev.Request.Headers)
			}
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		if r := p.inflight[ev.RequestID]; r != nil && r.typ == network.ResourceTypeWebSocket && ev.Response != nil {
			delete(p.inflight, ev.RequestID)
			p.lastNet = now
			r.status, r.statusText, r.respHeader = int(ev.Response.Status), ev.Response.StatusText, headerLines(ev.Response.Headers)
			p.finish(r, r.at(ev.Timestamp), "", false)
		}
	case *network.EventWebSocketFrameError:
		if r := p.inflight[ev.RequestID]; r != nil && r.typ == network.ResourceTypeWebSocket {
			delete(p.inflight, ev.RequestID)
			p.lastNet = now
			p.finish(r, r.at(ev.Timestamp), ev.ErrorMessage, false)
		}
	case *network.EventWebSocketClosed:
		if r := p.inflight[ev.RequestID]; r != nil && r.typ == network.ResourceTypeWebSocket {
			// Closed before its handshake's answer: it never connected.
			delete(p.inflight, ev.RequestID)
			p.lastNet = now
			p.finish(r, r.at(ev.Timestamp), "the connection closed before an answer", false)
		}
	default:
		return false
	}
	return true
}

// wsSink is where a page's WebSocket to a faulted service goes instead:
// it resets the connection, or holds it until the fault is lifted.
type wsSink struct {
	ln   net.Listener
	mu   sync.Mutex
	held map[net.Conn]string // the connections a blackhole holds → the service's address
}

func (s *wsSink) addr() string {
	if s == nil || s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// original is the URL a WebSocket was opened with, and whether the sink
// got it in its place (a fault stopped it).
func (s *wsSink) original(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || s.addr() == "" || u.Host != s.addr() || !strings.HasPrefix(u.Path, "/__seam/") {
		return raw, false
	}
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/__seam/"), "/", 3)
	if len(parts) < 2 {
		return raw, false
	}
	u.Host, u.Path = parts[1], "/"
	if len(parts) == 3 {
		u.Path += parts[2]
	}
	u.RawPath = ""
	return u.String(), true
}

// serve accepts until the listener closes.
func (s *wsSink) serve(goFn func(func())) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		goFn(func() { s.handle(c) })
	}
}

func (s *wsSink) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	_ = c.SetReadDeadline(time.Time{})
	fields := strings.Fields(line)
	if err != nil || len(fields) < 2 {
		reset(c)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(fields[1], "/__seam/"), "/", 3)
	if len(parts) >= 2 && parts[0] == "hold" {
		s.mu.Lock()
		if s.held != nil {
			s.held[c] = parts[1]
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	reset(c)
}

// release resets the held connections whose address keep says no longer
// held (its blackhole lifted), as a lifted blackhole's connections close.
func (s *wsSink) release(keep func(addr string) bool) {
	s.mu.Lock()
	var out []net.Conn
	for c, addr := range s.held {
		if keep == nil || !keep(addr) {
			out = append(out, c)
			delete(s.held, c)
		}
	}
	s.mu.Unlock()
	for _, c := range out {
		reset(c)
	}
}

// close stops the sink and resets what it holds.
func (s *wsSink) close() {
	if s == nil || s.ln == nil {
		return
	}
	s.ln.Close()
	s.release(nil)
	s.mu.Lock()
	s.held = nil
	s.mu.Unlock()
}

// reset closes c with a TCP reset, as a reset fault does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

func newSink() (*wsSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the browser's WebSocket sink: %w", err)
	}
	return &wsSink{ln: ln, held: map[net.Conn]string{}}, nil
}
