package browserstep

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPageCallsToAWireProxyGoStraight: a page given the address a service
// was given for its dependency (a UI passing its API's address on) calls
// the API's own address instead, as the browser's call on browser→api, not
// through the ui→api wire, where it would count as ui's call.
func TestPageCallsToAWireProxyGoStraight(t *testing.T) {
	api := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		io.WriteString(w, "from api")
	})
	var proxied atomic.Int64 // what reached the wire's proxy (ui→api)
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		io.WriteString(w, "through the wire")
	})
	proxyAddr, apiAddr := strings.TrimPrefix(proxy.URL, "http://"), strings.TrimPrefix(api.URL, "http://")
	ui := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>UI</title><link rel="icon" href="data:,">
<script>window.me = () => fetch("`+proxy.URL+`/me").then(r => r.text());</script>`)
	})
	var rec recorder
	host := rec.host(t, ui, "ui")
	host.Services[apiAddr] = "api"
	host.Wired = map[string]string{proxyAddr: apiAddr}
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
	v, err := p.Eval(ctx, `me()`)
	if err != nil || v != "from api" {
		t.Fatalf("me() = %v, %v; want the API's own answer", v, err)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("%d call(s) went through the wire's proxy", n)
	}
	if in := rec.await(t, "GET /me", 1)[0]; in.Edge != "browser→api" || in.Status != 200 {
		t.Errorf("recorded %s %s %d; want browser→api 200", in.Edge, in.Op, in.Status)
	}
}
