package wire

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A latency (fault or toxic) holds an answer the callee gave at once; the
// caller gives up long before the latency ends. The call is told as the
// caller leaves, as the fault's doing, and a Settle right after the
// caller's error sees it: not when the hold would have ended (in a later
// test, or after the run).
func TestLatencyHoldEndsWhenTheCallerLeaves(t *testing.T) {
	for _, c := range []struct {
		name, held string
		set        func(p *Proxy)
	}{
		{"fault", "a latency fault held the answer", func(p *Proxy) { p.SetFaults(Faults{Latency: 5 * time.Second}) }},
		{"toxic", "a latency toxic held the answer", func(p *Proxy) {
			p.SetToxics(&Toxics{List: []Toxic{{Name: "slow", Type: "latency", Stream: "downstream", Toxicity: 1,
				Attributes: map[string]int64{"latency": 5000}}}})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, s := proxied(t, "api→backend", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"price":12}`)
			})
			c.set(p)
			start := time.Now()
			client := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{}}
			if resp, err := client.Get("http://" + p.Addr() + "/price?sku=A1"); err == nil {
				resp.Body.Close()
				t.Fatalf("the call was answered (%s) through a 5 s latency", resp.Status)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			p.Settle(ctx)
			cancel()
			var got *Interaction
			for _, in := range s.all() {
				if strings.HasPrefix(in.Line(), "GET /price?sku=A1 → ") {
					got = &in
				}
			}
			if got == nil {
				t.Fatalf("after Settle, %s after the call began, the call is not told (the hold lasts 5 s): %q", time.Since(start), s.lines())
			}
			if !strings.HasPrefix(got.Result, "no answer: caller closed after ") || !strings.Contains(got.Result, c.held) ||
				!got.Injected || !got.Suspicious || !strings.Contains(got.Note, "the callee answered 200 OK after") {
				t.Errorf("got %s (injected %v); want no answer, caller closed, %s, injected", got.Line(), got.Injected, c.held)
			}
			if d := got.End.Sub(got.Start); d < 250*time.Millisecond || d > time.Second {
				t.Errorf("the call lasted %s; want the caller's 300 ms", d)
			}
		})
	}
}
