package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/suite"
)

// recorder is a Sink keeping every event.
type recorder struct {
	mu     sync.Mutex
	events []report.Event
}

func (r *recorder) Event(e report.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) ends() map[string]report.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]report.Event{}
	for _, e := range r.events {
		if e.Type == report.TestEnd {
			out[e.Test] = e
		}
	}
	return out
}

func (r *recorder) order(typ report.EventType) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == typ {
			out = append(out, e.Test)
		}
	}
	return out
}

func loadSuite(t *testing.T, yaml string) *suite.Suite {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "seam.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	t.Cleanup(reg.Close)
	s, err := suite.Load(file, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, Vars: map[string]string{"base": ""}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func run(t *testing.T, s *suite.Suite, opts engine.Options, base string) (*recorder, report.Counts) {
	t.Helper()
	rec := &recorder{}
	if opts.Vars == nil {
		opts.Vars = map[string]string{}
	}
	opts.Vars["base"] = base
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	counts, err := engine.Run(context.Background(), s, s.Tests, opts, rec)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rec, counts
}

func TestCapturesKeepTypes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/orders":
			fmt.Fprint(w, `{"id": 1167860, "price": 12.5}`)
		default:
			fmt.Fprintf(w, `{"path": %q, "q": %q}`, r.URL.Path, r.URL.RawQuery)
		}
	}))
	defer srv.Close()
	s := loadSuite(t, `
name: captures
tests:
  - name: chain
    steps:
      - http: POST ((base))/orders
        expect: {status: 200}
        capture: {id: .body.id, price: .body.price}
      - http: {url: ((base))/orders/((id)), query: {p: ((price))}}
        expect:
          body: {.path: /orders/1167860, .q: p=12.5}
          that: ["id == 1167860", "status == 200"]
`)
	rec, counts := run(t, s, engine.Options{}, srv.URL)
	if counts.Passed != 1 {
		t.Fatalf("counts = %+v; events: %+v", counts, rec.ends())
	}
}

func TestEventuallyRetriesUntilExpectationsHold(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 4 {
			w.WriteHeader(503)
			return
		}
		fmt.Fprint(w, "ready")
	}))
	defer srv.Close()
	s := loadSuite(t, `
tests:
  - name: waits
    steps:
      - http: GET ((base))/
        eventually: {timeout: 5s, interval: 10ms}
        expect: {status: 200, text: ready}
  - name: gives up
    steps:
      - http: GET ((base))/never
        eventually: {timeout: 100ms, interval: 20ms}
        expect: {status: 418}
`)
	rec, _ := run(t, s, engine.Options{}, srv.URL)
	ends := rec.ends()
	if ends["waits"].Status != report.Passed {
		t.Errorf("waits: %+v", ends["waits"])
	}
	var attempts int
	for _, e := range rec.events {
		if e.Type == report.StepEnd && e.Test == "waits" {
			attempts = e.Attempt
		}
	}
	if attempts != 4 {
		t.Errorf("attempts = %d, want 4", attempts)
	}
	f := ends["gives up"].Failure
	if f == nil || !strings.Contains(f.Message, "status: got 200; want 418") || !strings.Contains(f.Message, "still failing after") {
		t.Errorf("gives up: failure = %+v", f)
	}
}

func TestTimeoutsAndTeardown(t *testing.T) {
	var teardowns atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/teardown":
			teardowns.Add(1)
		}
	}))
	defer srv.Close()
	defer close(release)
	s := loadSuite(t, `
tests:
  - name: step timeout
    steps:
      - http: GET ((base))/hang
        timeout: 150ms
    teardown:
      - http: GET ((base))/teardown
  - name: test timeout
    timeout: 200ms
    steps:
      - http: GET ((base))/hang
    teardown:
      - http: GET ((base))/teardown
  - name: assertion failure
    steps:
      - http: GET ((base))/
        expect: {status: 201}
      - http: GET ((base))/not-reached
    teardown:
      - http: GET ((base))/teardown
      - http: GET ((base))/teardown
`)
	start := time.Now()
	rec, counts := run(t, s, engine.Options{}, srv.URL)
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("run took %s; timeouts not honoured", elapsed)
	}
	if counts.Failed != 3 {
		t.Fatalf("counts = %+v", counts)
	}
	if n := teardowns.Load(); n != 4 {
		t.Errorf("teardown requests = %d, want 4 (teardown must run after every failure)", n)
	}
	ends := rec.ends()
	if f := ends["step timeout"].Failure; f == nil || f.Kind != "timeout" || !strings.Contains(f.Message, "step timed out after 150ms") {
		t.Errorf("step timeout: %+v", f)
	}
	if f := ends["test timeout"].Failure; f == nil || f.Kind != "timeout" || !strings.Contains(f.Message, "the test timed out after 200ms") {
		t.Errorf("test timeout: %+v", f)
	}
	if f := ends["assertion failure"].Failure; f == nil || f.Kind != "assertion" || f.Message != "status: got 200; want 201" {
		t.Errorf("assertion failure: %+v", f)
	}
	for _, e := range rec.events {
		if e.Type == report.StepStart && e.Index == 1 && e.Test == "assertion failure" && e.Phase == "steps" {
			t.Errorf("a step after the failing one ran: %+v", e)
		}
	}
}

func TestParallelSerialAndPriority(t *testing.T) {
	var inFlight, maxSeen atomic.Int32
	var serialSaw atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxSeen.Load()
			if n <= m || maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		if r.URL.Path == "/serial" {
			serialSaw.Store(n)
		}
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()
	var b strings.Builder
	b.WriteString("tests:\n")
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&b, "  - name: p%d\n    steps:\n      - http: GET ((base))/p\n", i)
	}
	b.WriteString("  - name: alone\n    serial: true\n    steps:\n      - http: GET ((base))/serial\n")
	b.WriteString("  - name: urgent\n    priority: critical\n    steps:\n      - http: GET ((base))/p\n")
	s := loadSuite(t, b.String())
	rec, counts := run(t, s, engine.Options{Parallel: 4}, srv.URL)
	if counts.Passed != 6 {
		t.Fatalf("counts = %+v", counts)
	}
	if maxSeen.Load() < 2 {
		t.Errorf("max concurrent requests = %d with --parallel 4", maxSeen.Load())
	}
	if serialSaw.Load() != 1 {
		t.Errorf("the serial test ran beside %d other requests", serialSaw.Load()-1)
	}
	// One worker: the start order is the schedule, riskiest first.
	rec, _ = run(t, s, engine.Options{Parallel: 1}, srv.URL)
	if order := rec.order(report.TestStart); order[0] != "urgent" || order[len(order)-1] != "alone" {
		t.Errorf("start order = %v, want the critical test first and the serial one after the rest", order)
	}
}

func TestFailFastSkipsTheRest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	s := loadSuite(t, `
tests:
  - name: first
    steps:
      - http: GET ((base))/
        expect: {status: 500}
  - name: second
    steps:
      - http: GET ((base))/
  - name: third
    skip: not ready yet
    steps:
      - http: GET ((base))/
`)
	rec, counts := run(t, s, engine.Options{FailFast: true}, srv.URL)
	if counts != (report.Counts{Failed: 1, Skipped: 2}) {
		t.Fatalf("counts = %+v", counts)
	}
	ends := rec.ends()
	if !strings.Contains(ends["second"].Message, "--fail-fast") {
		t.Errorf("second: %+v", ends["second"])
	}
	if ends["third"].Message != "not ready yet" {
		t.Errorf("third: %+v", ends["third"])
	}
}

func TestInterruptStopsTheRunAndRunsTeardown(t *testing.T) {
	var teardowns atomic.Int32
	started := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case started <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		case "/teardown":
			teardowns.Add(1)
		}
	}))
	defer srv.Close()
	s := loadSuite(t, `
tests:
  - name: hangs
    steps:
      - http: GET ((base))/hang
    teardown:
      - http: GET ((base))/teardown
  - name: later
    steps:
      - http: GET ((base))/
`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
		}
		cancel()
	}()
	rec := &recorder{}
	counts, err := engine.Run(ctx, s, s.Tests, engine.Options{Seed: 1, Vars: map[string]string{"base": srv.URL}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	// The interrupted test neither passed nor failed (it used to be a
	// failure of kind timeout): skipped, saying where it stopped.
	if counts.Failed != 0 || counts.Skipped != 2 {
		t.Errorf("counts = %+v", counts)
	}
	if e := rec.ends()["hangs"]; e.Status != report.Skipped || e.Failure != nil || !strings.HasPrefix(e.Message, `interrupted during step "GET`) {
		t.Errorf("hangs: %s %q %+v", e.Status, e.Message, e.Failure)
	}
	if teardowns.Load() != 1 {
		t.Errorf("teardown ran %d times, want 1", teardowns.Load())
	}
	if m := rec.ends()["later"].Message; m != "not run: interrupted" {
		t.Errorf("later: %q", m)
	}
}

func TestSeedMakesRandomDataRepeatable(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	s := loadSuite(t, `
tests:
  - name: random
    steps:
      - http: GET ((base))/((randString(8)))/((randInt(1, 1000000)))/((uuid()))
`)
	run(t, s, engine.Options{Seed: 7}, srv.URL)
	run(t, s, engine.Options{Seed: 7}, srv.URL)
	run(t, s, engine.Options{Seed: 8}, srv.URL)
	if len(seen) != 3 || seen[0] != seen[1] || seen[0] == seen[2] {
		t.Errorf("paths = %q: the same seed must give the same data, another seed other data", seen)
	}
}

func TestSuiteVarsAndOverrides(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Path)
	}))
	defer srv.Close()
	s := loadSuite(t, `
vars:
  n: 5
  path: /n/((n + 1))
tests:
  - name: vars
    vars: {local: ((path))/x}
    steps:
      - http: GET ((base))((local))
        expect: {text: /n/11/x}
`)
	_, counts := run(t, s, engine.Options{Vars: map[string]string{"n": "10"}}, srv.URL)
	if counts.Passed != 1 {
		t.Errorf("--var n=10 must override n and stay a number: %+v", counts)
	}
}
