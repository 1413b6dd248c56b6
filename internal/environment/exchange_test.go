package environment

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/wire"
)

// TestExchangesBoundedPerEnvironment: what interactions carry goes to the
// event log until the environment's bound, then their lines only, and
// the environment says so once.
func TestExchangesBoundedPerEnvironment(t *testing.T) {
	var mu sync.Mutex
	var notices []string
	e := &Environment{opts: Options{Log: func(service, stream, line string, _ *report.Span) {
		mu.Lock()
		defer mu.Unlock()
		notices = append(notices, service+" | "+stream+" | "+line)
	}}}
	body := []byte(strings.Repeat("x", 4096))
	in := wire.Interaction{Edge: "a→b", Protocol: "http", Method: "POST", Target: "/x", Result: "200 OK", Status: 200,
		RequestBody: body, ResponseBody: body, Start: time.Now(), End: time.Now()}
	kept := 0
	for i := 0; i < 2*maxExchangeBytes/(2*len(body)); i++ {
		s := e.wireSpan(in)
		if s.Start != in.Start || s.End != in.End {
			t.Fatalf("the span lost its times")
		}
		if s.Exchange != nil {
			if kept != i {
				t.Fatalf("interaction %d carries its exchange after %d did not", i, i-kept)
			}
			kept++
		}
	}
	// Each carries its two bodies and a few bytes of request and status
	// line: the bound is reached within one interaction of where the
	// bodies alone would reach it.
	if per := 2 * len(body); kept*per > maxExchangeBytes || (kept+2)*per < maxExchangeBytes*99/100 {
		t.Errorf("%d exchanges of %d body bytes kept under a bound of %d", kept, per, maxExchangeBytes)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "a→b | seam | the event log keeps no more") {
		t.Errorf("notices: %q", notices)
	}
}
