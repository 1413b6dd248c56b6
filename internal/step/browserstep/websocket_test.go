package browserstep

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/wire"
)

// wsAccept answers a WebSocket handshake and keeps the connection open
// (sending nothing) until the server closes.
func wsAccept(w http.ResponseWriter, r *http.Request) {
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
	rw.Flush()
	io.Copy(io.Discard, c)
}

// TestPageWebSocketsOnTheBrowserEdge: a WebSocket the page opens to a wire
// proxy's address goes to the callee's own, is recorded on browser→api,
// and meets the browser's faults as it opens.
func TestPageWebSocketsOnTheBrowserEdge(t *testing.T) {
	api := serve(t, wsAccept)
	var proxied atomic.Int64 // what reached the wire's proxy (ui→api)
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		wsAccept(w, r)
	})
	proxyAddr, apiAddr := strings.TrimPrefix(proxy.URL, "http://"), strings.TrimPrefix(api.URL, "http://")
	ui := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>UI</title><link rel="icon" href="data:,">
<script>window.live = () => new Promise(ok => {
  const ws = new WebSocket("`+strings.Replace(proxy.URL, "http", "ws", 1)+`/ws");
  ws.onopen = () => ok("open"); ws.onclose = e => ok("closed " + e.code);
});</script>`)
	})
	var rec recorder
	host := rec.host(t, ui, "ui")
	host.Services[apiAddr] = "api"
	host.Wired = map[string]string{proxyAddr: apiAddr}
	var mu sync.Mutex
	faults := map[string]wire.Faults{}
	host.Faults = func() map[string]wire.Faults {
		mu.Lock()
		defer mu.Unlock()
		return faults
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, host)
	p, err := b.PageFor(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Open(ctx, ui.URL); err != nil {
		t.Fatal(err)
	}
	if v, err := p.Eval(ctx, `live()`); err != nil || v != "open" {
		t.Fatalf("live() = %v, %v; want open", v, err)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("%d connection(s) went through the wire's proxy", n)
	}
	in := rec.await(t, "GET /ws", 1)[0]
	if in.Edge != "browser→api" || in.Status != 101 || in.Injected {
		t.Errorf("recorded %s %s %d injected=%v; want browser→api 101", in.Edge, in.Op, in.Status, in.Injected)
	}

	for i, f := range []wire.Faults{{Reset: true}, {Refuse: true}} {
		mu.Lock()
		faults = map[string]wire.Faults{"api": f}
		mu.Unlock()
		b.FaultsChanged()
		if v, err := p.Eval(ctx, `live()`); err != nil || v != "closed 1006" {
			t.Fatalf("%+v: live() = %v, %v; want closed 1006", f, v, err)
		}
		got := rec.await(t, "GET /ws", 2+i)[1+i]
		if got.Edge != "browser→api" || !got.Injected || !strings.HasPrefix(got.Result, "failed") {
			t.Errorf("%+v: recorded %s %s %q injected=%v; want browser→api failed, injected", f, got.Edge, got.Op, got.Result, got.Injected)
		}
	}
	// A blackhole holds the connection until it is lifted.
	mu.Lock()
	faults = map[string]wire.Faults{"api": {Blackhole: true}}
	mu.Unlock()
	b.FaultsChanged()
	if err := p.eval(ctx, `window.held = live(), 0`, nil); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = p.Eval(sctx, `held`)
	scancel()
	if err == nil {
		t.Errorf("a blackholed WebSocket did not stay connecting")
	}
	mu.Lock()
	faults = map[string]wire.Faults{}
	mu.Unlock()
	b.FaultsChanged()
	if v, err := p.Eval(ctx, `held`); err != nil || v != "closed 1006" {
		t.Errorf("lifted blackhole: held = %v, %v; want closed 1006", v, err)
	}
	if v, err := p.Eval(ctx, `live()`); err != nil || v != "open" {
		t.Errorf("no fault: live() = %v, %v; want open", v, err)
	}
}
