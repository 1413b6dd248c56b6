package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/wire"
)

// wiredEnv is an environment whose "wire" is a list the test's handler
// fills, and whose faults are cleared with a log line.
type wiredEnv struct {
	mu   sync.Mutex
	list []wire.Interaction
	log  report.LogFunc
}

func (e *wiredEnv) URL(string) (string, error) { return "", nil }
func (e *wiredEnv) ServiceFunc() any           { return func(string) (map[string]any, error) { return nil, nil } }
func (e *wiredEnv) Stop(context.Context) error { return nil }
func (e *wiredEnv) ClearFaults() {
	e.log("api→db", report.WireStream, "fault → cleared (0 µs)", nil)
}
func (e *wiredEnv) add(i ...wire.Interaction) {
	e.mu.Lock()
	e.list = append(e.list, i...)
	e.mu.Unlock()
}
func (e *wiredEnv) Interactions(since time.Time) []wire.Interaction {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []wire.Interaction
	for _, i := range e.list {
		if !i.Start.Before(since) {
			out = append(out, i)
		}
	}
	return out
}

type wiredFactory struct{ env *wiredEnv }

func (f wiredFactory) Start(_ context.Context, _ int, log report.LogFunc) (engine.Env, error) {
	f.env.log = log
	return f.env, nil
}

// TestSuspicionFindsTheCause: a Redis reset that recurs in every test
// (nothing in flight) against an SQL unique violation in the failing
// test: the SQL one ranks first, the reset is named as noise; the fault's
// "cleared" line belongs to the test that set it.
func TestSuspicionFindsTheCause(t *testing.T) {
	env := &wiredEnv{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		env.add(wire.Interaction{Edge: "api→cache", Protocol: "tcp", Op: "connection", Result: "reset", Note: "(nothing in flight)",
			Suspicious: true, Start: now, End: now})
		if r.URL.Path == "/fail" {
			env.add(wire.Interaction{Edge: "api→db", Protocol: "postgres", Op: "SQL insert into users (email) values ($1)", Method: "SQL",
				Target: "insert into users (email) values ($1)", Result: "ERROR 23505: duplicate key value violates unique constraint",
				Suspicious: true, Start: now.Add(time.Millisecond), End: now.Add(2 * time.Millisecond)})
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	s := loadSuite(t, `name: s
tests:
  - name: a passes
    steps:
      - http: ((base))/ok
        expect: {status: 200}
  - name: b passes
    steps:
      - http: ((base))/ok
        expect: {status: 200}
  - name: c fails
    steps:
      - http: ((base))/fail
        expect: {status: 200}
`)
	rec, counts := run(t, s, engine.Options{Envs: wiredFactory{env}}, srv.URL)
	if counts.Failed != 1 || counts.Passed != 2 {
		t.Fatalf("counts %+v", counts)
	}
	f := rec.ends()["c fails"].Failure
	if f == nil || len(f.Suspects) != 2 {
		t.Fatalf("suspects: %+v", f)
	}
	if first := f.Suspects[0]; first.Edge != "api→db" || !strings.Contains(first.Line, "23505") || !strings.Contains(first.Reason, "an SQL error") {
		t.Errorf("first suspect: %+v", first)
	}
	if second := f.Suspects[1]; second.Edge != "api→cache" || !strings.Contains(second.Reason, "also in 2 passing test(s)") {
		t.Errorf("second suspect: %+v", second)
	}
	text := report.FailureText(f, nil)
	if !strings.Contains(text, "1. api→db | SQL insert into users") || !strings.Contains(text, "why: an SQL error") {
		t.Errorf("failure text:\n%s", text)
	}
	// Each test's "cleared" line is its own.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	cleared := map[string]int{}
	for _, e := range rec.events {
		if e.Type == report.Log && strings.HasPrefix(e.Message, "fault → cleared") {
			cleared[e.Test]++
		}
	}
	if cleared["a passes"] != 1 || cleared["b passes"] != 1 || cleared["c fails"] != 1 || cleared[""] != 0 {
		t.Errorf("cleared lines by test: %v", cleared)
	}
}

// TestSuspectsFollowThePath: on the path from the step's target, a deeper
// error ranks above the one it caused; an error off the path, or after
// the answer, ranks lower; a stub's scripted 4xx counts little.
func TestSuspectsFollowThePath(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	all := []wire.Interaction{
		{Edge: "web→api", Protocol: "http", Method: "POST", Target: "/signup", Status: 500, Result: "500 Internal Server Error", Suspicious: true, Start: at(10), End: at(30)},
		{Edge: "api→users", Protocol: "http", Method: "POST", Target: "/users", Status: 409, Result: "409 Conflict", Suspicious: true, Start: at(12), End: at(20)},
		{Edge: "users→db", Protocol: "postgres", Method: "SQL", Target: "insert into users", Result: "ERROR 23505: dup", Suspicious: true, Start: at(14), End: at(15)},
		{Edge: "batch→db", Protocol: "postgres", Method: "SQL", Target: "select 1", Result: "ERROR 57014: canceled", Suspicious: true, Start: at(14), End: at(15)},
		{Edge: "api→pay", Protocol: "http", Method: "POST", Target: "/charges", Status: 402, Result: "402 Payment Required", Suspicious: true, Start: at(11), End: at(12)},
		{Edge: "web→api", Protocol: "http", Method: "DELETE", Target: "/x", Status: 500, Result: "500", Suspicious: true, Start: at(50), End: at(51)},
	}
	deps := map[string][]string{"web": {"api"}, "api": {"users", "pay"}, "users": {"db"}, "batch": {"db"}}
	got := engine.Suspects(engine.SuspectInput{All: all, Targets: []string{"web"}, DependsOn: deps, Stubs: map[string]bool{"pay": true},
		StepStart: at(5), StepEnd: at(35)}, 3)
	var edges []string
	for _, s := range got {
		edges = append(edges, s.Edge)
	}
	if strings.Join(edges, " ") != "users→db api→users web→api" || !strings.Contains(got[2].Reason, "passed on from api→users") {
		t.Errorf("ranking: %v\n%+v", edges, got)
	}
}

// exitedEnv is a wiredEnv one of whose services has exited.
type exitedEnv struct{ *wiredEnv }

func (exitedEnv) Exited() map[string]string { return map[string]string{"web": "exit status 7"} }

type exitedFactory struct{ env exitedEnv }

func (f exitedFactory) Start(_ context.Context, _ int, log report.LogFunc) (engine.Env, error) {
	f.env.log = log
	return f.env, nil
}

// TestExitedServiceIsTheLikeliestCause: a service that stopped after it
// was ready heads a failure's suspects, named, with how it exited: the
// failure itself says only "connection refused".
func TestExitedServiceIsTheLikeliestCause(t *testing.T) {
	env := exitedEnv{&wiredEnv{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		env.add(wire.Interaction{Edge: "web→api", Protocol: "http", Op: "GET /x", Result: "500 Internal Server Error", Suspicious: true, Start: now, End: now})
		w.WriteHeader(502)
	}))
	defer srv.Close()
	s := loadSuite(t, `name: s
tests:
  - name: passes
    steps:
      - http: ((base))/x
        expect: {status: 502}
  - name: fails
    steps:
      - http: ((base))/x
        expect: {status: 200}
`)
	rec, counts := run(t, s, engine.Options{Envs: exitedFactory{env}}, srv.URL)
	if counts.Failed != 1 || counts.Passed != 1 {
		t.Fatalf("counts %+v", counts)
	}
	// The exit is told once, in the timeline of the test it happened in.
	rec.mu.Lock()
	told := map[string]int{}
	for _, e := range rec.events {
		if e.Type == report.Log && e.Service == "web" && e.Message == "service → exited (exit status 7)" {
			told[e.Test]++
		}
	}
	rec.mu.Unlock()
	if len(told) != 1 || told["passes"] != 1 {
		t.Errorf("the exit told in: %v", told)
	}
	f := rec.ends()["fails"].Failure
	if f == nil || len(f.Suspects) != 2 {
		t.Fatalf("suspects: %+v", f)
	}
	if first := f.Suspects[0]; first.Edge != "web" || first.Line != "service → exited (exit status 7)" || !strings.Contains(first.Reason, "stopped after it was ready") {
		t.Errorf("first suspect: %+v", first)
	}
	if got := report.Cause(f); got != "web service → exited (exit status 7)" {
		t.Errorf("cause: %q", got)
	}
}

// A fault's doing is not noise, though a passing test that set the same
// fault had it too: this test set it.
func TestInjectedIsNotNoise(t *testing.T) {
	now := time.Now()
	reset := wire.Interaction{Edge: "api→db", Protocol: "tcp", Op: "connection", Result: "reset by a fault", Suspicious: true, Injected: true, Start: now, End: now}
	got := engine.Suspects(engine.SuspectInput{All: []wire.Interaction{reset}, Noise: map[string]int{engine.Signature(reset): 1}}, 3)
	if len(got) != 1 || strings.Contains(got[0].Reason, "noise") {
		t.Errorf("suspects: %+v", got)
	}
}
