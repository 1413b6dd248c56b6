package browserstep

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/wire"
)

// TestLatencyHeldCallIsInjected: a call the test's own latency fault still
// holds when the test ends is recorded as injected, not as a call the
// service left unanswered.
func TestLatencyHeldCallIsInjected(t *testing.T) {
	api := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		io.WriteString(w, "pong")
	})
	ui := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>UI</title><link rel="icon" href="data:,">`)
	})
	var rec recorder
	host := rec.host(t, ui, "ui")
	host.Services[strings.TrimPrefix(api.URL, "http://")] = "api"
	host.Faults = func() map[string]wire.Faults { return map[string]wire.Faults{"api": {Latency: time.Minute}} }
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
	if _, err := p.Eval(ctx, `fetch("`+api.URL+`/ping").catch(() => 0); 1`); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.delayed)
		p.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the call was never held")
		}
	}
	p.EndTest()
	got := rec.find("GET /ping")
	if len(got) != 1 || !got[0].Injected || got[0].Result != "no answer: still in flight when the test ended (a latency fault holds the call)" {
		t.Errorf("recorded %+v; want one, injected, held by the latency fault", got)
	}
}
