package environment

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/service"
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

// TestComponentFaults: faults on the browser's edges are kept for its
// helper (which puts them in effect) until cleared; those that act on a
// connection's bytes, or on gRPC, are refused there with why.
func TestComponentFaults(t *testing.T) {
	e := &Environment{sys: &service.System{}}
	for _, f := range []wire.Faults{{Bandwidth: 1000}, {CloseAfter: 10}, {GRPC: &wire.GRPCFault{Code: 14}}} {
		if err := e.SetFaults("browser", "api", f); err == nil || !strings.Contains(err.Error(), "browser→api") {
			t.Errorf("%+v on a browser edge: %v; want an error naming the edge", f, err)
		}
	}
	if err := e.SetFaults("browser", "api", wire.Faults{Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	faults := e.hostEnv("browser").Faults()
	if len(faults) != 1 || faults["api"].Latency != time.Second {
		t.Errorf("the browser's faults: %+v", faults)
	}
	if other := e.hostEnv("robot").Faults(); other != nil {
		t.Errorf("another component sees the browser's faults: %+v", other)
	}
	e.ClearFaults()
	if faults := e.hostEnv("browser").Faults(); faults != nil {
		t.Errorf("after ClearFaults: %+v", faults)
	}
}
