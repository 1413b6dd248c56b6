package engine_test

import (
	"context"
	"fmt"
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
				Suspicious: true, Start: now, End: now}) // not later: what starts after the step's answer is no cause
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

// exitedEnv is a wiredEnv whose services exit when a test's handler
// says so.
type exitedEnv struct {
	*wiredEnv
	mu     sync.Mutex
	exited map[string]string
	reaped map[string]time.Time // from when Exited tells each
}

// exit makes name exit with how, told by Exited after reap.
func (e *exitedEnv) exit(name, how string, reap time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exited == nil {
		e.exited, e.reaped = map[string]string{}, map[string]time.Time{}
	}
	e.exited[name], e.reaped[name] = how, time.Now().Add(reap)
}

func (e *exitedEnv) Exited() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for name, how := range e.exited {
		if !time.Now().Before(e.reaped[name]) {
			out[name] = how
		}
	}
	return out
}

type exitedFactory struct{ env *exitedEnv }

func (f exitedFactory) Start(_ context.Context, _ int, log report.LogFunc) (engine.Env, error) {
	f.env.log = log
	return f.env, nil
}

// TestExitIsRankedByEvidence: a service that stopped after it was ready
// heads the suspects of the failing test it stopped in, named, with how
// it exited (the failure itself says only "connection refused"), and its
// timeline says once that later tests run without it. A later test that
// fails for its own reasons is not blamed on it: the exit comes last
// there, and the failure's cause is its own; a later test whose calls to
// it failed has it first again.
func TestExitIsRankedByEvidence(t *testing.T) {
	env := &exitedEnv{wiredEnv: &wiredEnv{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		switch r.URL.Path {
		case "/kill":
			env.exit("web", "exit status 7", 0)
			w.WriteHeader(502)
		case "/own":
			env.add(wire.Interaction{Edge: "api→db", Protocol: "postgres", Method: "SQL", Op: "SQL insert into users",
				Target: "insert into users", Result: "ERROR 23505: duplicate key", Suspicious: true, Start: now, End: now})
			w.WriteHeader(500)
		case "/refused":
			env.add(wire.Interaction{Edge: "api→web", Protocol: "tcp", Op: "connect", Result: "refused: connection refused (the callee is not listening)",
				Suspicious: true, Start: now, End: now})
			w.WriteHeader(502)
		}
	}))
	defer srv.Close()
	s := loadSuite(t, `name: s
tests:
  - name: passes
    steps:
      - http: ((base))/ok
        expect: {status: 200}
  - name: kills web
    steps:
      - http: ((base))/kill
        expect: {status: 200}
  - name: fails on its own
    steps:
      - http: ((base))/own
        expect: {status: 200}
  - name: calls web
    steps:
      - http: ((base))/refused
        expect: {status: 200}
  - name: passes later
    steps:
      - http: ((base))/ok
        expect: {status: 200}
`)
	rec, counts := run(t, s, engine.Options{Envs: exitedFactory{env}}, srv.URL)
	if counts.Failed != 3 || counts.Passed != 2 {
		t.Fatalf("counts %+v", counts)
	}
	// The exit is told once, in the timeline of the test it happened in,
	// with what it means for the tests after it.
	rec.mu.Lock()
	told := map[string]int{}
	for _, e := range rec.events {
		if e.Type == report.Log && e.Service == "web" && strings.HasPrefix(e.Message, "service → exited (exit status 7)") {
			told[e.Test]++
			if !strings.Contains(e.Message, "the tests after this one on this environment run without it") {
				t.Errorf("the exit's line: %q", e.Message)
			}
		}
	}
	rec.mu.Unlock()
	if len(told) != 1 || told["kills web"] != 1 {
		t.Errorf("the exit told in: %v", told)
	}
	ends := rec.ends()

	f := ends["kills web"].Failure
	if f == nil || len(f.Suspects) == 0 {
		t.Fatalf("kills web: %+v", f)
	}
	if first := f.Suspects[0]; first.Edge != "web" || first.Line != "service → exited (exit status 7)" || first.Score != 1000 ||
		!strings.Contains(first.Reason, "stopped after it was ready, during this test") {
		t.Errorf("kills web: first suspect: %+v", first)
	}
	if got := report.Cause(f); got != "web service → exited (exit status 7)" {
		t.Errorf("kills web: cause: %q", got)
	}

	f = ends["fails on its own"].Failure
	if f == nil || len(f.Suspects) != 2 {
		t.Fatalf("fails on its own: %+v", f)
	}
	if got := report.Cause(f); !strings.HasPrefix(got, "api→db ") {
		t.Errorf("fails on its own: cause %q; want its own SQL error, not the exit of an earlier test", got)
	}
	if last := f.Suspects[1]; last.Edge != "web" || last.Score >= f.Suspects[0].Score ||
		!strings.Contains(last.Reason, `in an earlier test ("kills web"), and is still down`) || !strings.Contains(last.Reason, "ranks below this test's own evidence") {
		t.Errorf("fails on its own: the exit: %+v", last)
	}

	f = ends["calls web"].Failure
	if f == nil || len(f.Suspects) != 2 {
		t.Fatalf("calls web: %+v", f)
	}
	if first := f.Suspects[0]; first.Edge != "web" || first.Score != 900 ||
		!strings.Contains(first.Reason, "1 call(s) of this test to it failed, the first api→web | connect → refused") {
		t.Errorf("calls web: first suspect: %+v", first)
	}
	if second := f.Suspects[1]; second.Edge != "api→web" {
		t.Errorf("calls web: second suspect: %+v", second)
	}
	if end := ends["passes later"]; end.Status != report.Passed {
		t.Errorf("passes later: %+v", end)
	}
}

// TestExitWaitAfterAnEarlierExit: a failing step that met a closed port
// waits for the service that just died to be reaped though another one
// exited in an earlier test, and names it first.
func TestExitWaitAfterAnEarlierExit(t *testing.T) {
	env := &exitedEnv{wiredEnv: &wiredEnv{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/kill-web":
			env.exit("web", "exit status 7", 0)
		case "/kill-api":
			env.exit("api", "signal: killed", 150*time.Millisecond) // reaped after the failure
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s := loadSuite(t, fmt.Sprintf(`name: s
tests:
  - name: web goes
    steps:
      - http: ((base))/kill-web
  - name: api goes
    steps:
      - http: ((base))/kill-api
      - http: %s/x
`, closed.URL))
	rec, counts := run(t, s, engine.Options{Envs: exitedFactory{env}}, srv.URL)
	if counts.Failed != 1 || counts.Passed != 1 {
		t.Fatalf("counts %+v", counts)
	}
	f := rec.ends()["api goes"].Failure
	if f == nil || !strings.Contains(f.Message, "connection refused") || len(f.Suspects) != 2 {
		t.Fatalf("api goes: %+v", f)
	}
	if first := f.Suspects[0]; first.Edge != "api" || first.Score != 1000 {
		t.Errorf("first suspect: %+v", first)
	}
	if second := f.Suspects[1]; second.Edge != "web" || second.Score >= 1 {
		t.Errorf("second suspect: %+v", second)
	}
}

// TestExitOnThePath: a service down since an earlier test ranks among a
// later failure's interactions when the failing step's path reaches it,
// first when the failing step names it or the failure its address, and
// last when nothing reached it.
func TestExitOnThePath(t *testing.T) {
	t0 := time.Now()
	ranked := []report.Suspect{{Edge: "web→api", Line: "GET /x → 500", Score: 6}, {Edge: "api→cache", Line: "GET k → -ERR", Score: 2}}
	deps := map[string][]string{"web": {"api"}, "api": {"db", "cache"}}
	exits := []engine.Exit{{Service: "db", How: "exit status 1", Told: "t0"}, {Service: "mail", How: "exit status 2", Told: "t0"}}
	in := engine.SuspectInput{Targets: []string{"web"}, DependsOn: deps, StepStart: t0, StepEnd: t0, Test: "t1", Exits: exits}
	var edges []string
	got := engine.WithExits(ranked, in)
	for _, s := range got {
		edges = append(edges, s.Edge)
	}
	if strings.Join(edges, " ") != "web→api db api→cache mail" || !strings.Contains(got[1].Reason, "2 hop(s) from web") {
		t.Errorf("ranking: %v\n%+v", edges, got)
	}
	in.Targets = []string{"db"}
	in.Exits = []engine.Exit{{Service: "db", How: "exit status 1", Told: "t1"}}
	got = engine.WithExits(ranked, in)
	if got[0].Edge != "db" || !strings.Contains(got[0].Reason, "in an earlier attempt of this test") || !strings.Contains(got[0].Reason, "the failing step names it") {
		t.Errorf("called: %+v", got)
	}
	// A failure that names its address met it; a longer port is another.
	in.Targets, in.Message = nil, "GET http://127.0.0.1:5432/x: dial tcp 127.0.0.1:5432: connect: connection refused"
	in.Exits = []engine.Exit{{Service: "db", How: "exit status 1", Addr: "127.0.0.1:5432", Told: "t0"}, {Service: "mail", How: "exit status 2", Addr: "127.0.0.1:543", Told: "t0"}}
	got = engine.WithExits(ranked, in)
	if got[0].Edge != "db" || got[0].Score != 900 || !strings.Contains(got[0].Reason, "the failure names its address, 127.0.0.1:5432") || got[len(got)-1].Edge != "mail" {
		t.Errorf("address: %+v", got)
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

// A MySQL error is an SQL error as PostgreSQL's is, and its signature is
// the statement's shape and the error's code, as PostgreSQL's.
func TestMySQLErrorIsAnSQLError(t *testing.T) {
	now := time.Now()
	dup := func(id string) wire.Interaction {
		return wire.Interaction{Edge: "api→db", Protocol: "mysql", Op: "SQL insert into items values (" + id + ")", Method: "SQL",
			Target: "insert into items values (" + id + ")", Result: "ERROR 1062 (23000): Duplicate entry '" + id + "' for key 'PRIMARY'",
			Suspicious: true, Start: now, End: now}
	}
	reset := wire.Interaction{Edge: "api→cache", Protocol: "tcp", Op: "connection", Result: "reset", Suspicious: true, Start: now, End: now}
	got := engine.Suspects(engine.SuspectInput{All: []wire.Interaction{reset, dup("1")}}, 3)
	if len(got) != 2 || got[0].Edge != "api→db" || !strings.Contains(got[0].Reason, "an SQL error") {
		t.Errorf("suspects: %+v", got)
	}
	if a, b := engine.Signature(dup("1")), engine.Signature(dup("2")); a != b || a != "api→db SQL INSERT items → ERROR # (#)" {
		t.Errorf("signatures %q and %q", a, b)
	}
}

// A failure is not grouped under what the test's own fault made, and a
// fault's effect an earlier step met ranks below an error of the system's.
func TestInjectedIsListedButNotTheCause(t *testing.T) {
	now := time.Now()
	earlier := wire.Interaction{Edge: "checkout→tax", Protocol: "http", Op: "POST /v1/rates", Status: 503, Result: "503 Service Unavailable",
		Suspicious: true, Injected: true, Start: now, End: now.Add(time.Millisecond)}
	sqlErr := wire.Interaction{Edge: "checkout→db", Protocol: "postgres", Op: "insert into t values ($1)", Result: "ERROR 23505 duplicate key",
		Suspicious: true, Start: now.Add(2 * time.Millisecond), End: now.Add(3 * time.Millisecond)}
	in := engine.SuspectInput{All: []wire.Interaction{earlier, sqlErr}, StepStart: now.Add(10 * time.Millisecond), StepEnd: now.Add(20 * time.Millisecond)}
	got := engine.Suspects(in, 3)
	if len(got) != 2 || got[0].Edge != "checkout→db" || !got[1].Injected || !strings.Contains(got[1].Reason, "an earlier step met it") {
		t.Fatalf("suspects: %+v", got)
	}
	f := &report.Failure{Pos: "t.yaml:9:7", Message: "exited with code 3", Suspects: got[1:]}
	if c := report.Cause(f); c != "t.yaml:9:7: exited with code 3" {
		t.Errorf("grouped under an injected interaction: %q", c)
	}
	f.Suspects = got
	if c := report.Cause(f); !strings.HasPrefix(c, "checkout→db ") {
		t.Errorf("cause: %q", c)
	}
}

// redisHandshake is what go-redis v9 does on a new connection to a Redis
// that lacks CLIENT SETINFO (Debian's 7.0), then its work, as the wire
// records it: the errors are ignored by design.
func redisHandshake(edge string, at func(ms int) time.Time) []wire.Interaction {
	cmd := func(ms int, command, op, result string, bad bool) wire.Interaction {
		return wire.Interaction{Edge: edge, Protocol: "redis", Op: "REDIS " + op, Method: "REDIS", Command: command, Target: op,
			Result: result, Suspicious: bad, Start: at(ms), End: at(ms)}
	}
	return []wire.Interaction{
		cmd(1, "HELLO", "HELLO 3 ***", "7 pairs", false),
		cmd(1, "CLIENT", "CLIENT SETINFO", "-ERR unknown subcommand 'setinfo'. Try CLIENT HELP.", true),
		cmd(1, "CLIENT", "CLIENT SETINFO", "-ERR unknown subcommand 'setinfo'. Try CLIENT HELP.", true),
		cmd(1, "CLIENT", "CLIENT MAINT_NOTIFICATIONS", "-ERR unknown subcommand 'maint_notifications'. Try CLIENT HELP.", true),
		cmd(2, "MULTI", "MULTI", "+OK", false),
		cmd(2, "EXEC", "EXEC", "2 items", false),
	}
}

// An error of a connection's setup that the client went past (its later
// calls on the edge succeeded) is no cause, though it is on the failing
// step's path and during it: listed last, and the failure is grouped
// under its own message. Without a later success, it stays a cause.
func TestSetupErrorsTheClientWentPastAreNoCause(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	deps := map[string][]string{"worker": {"cache", "db", "maria"}}
	sql := func(edge, proto, stmt, result string, bad bool, ms int) wire.Interaction {
		return wire.Interaction{Edge: edge, Protocol: proto, Op: "SQL " + stmt, Method: "SQL", Target: stmt, Result: result,
			Suspicious: bad, Start: at(ms), End: at(ms)}
	}
	all := append(redisHandshake("worker→cache", at),
		// A MariaDB driver sets a variable MariaDB names otherwise, and goes on.
		sql("worker→maria", "mysql", "SET SESSION transaction_isolation = 'READ-COMMITTED'",
			"ERROR 1193 (HY000): Unknown system variable 'transaction_isolation'", true, 1),
		sql("worker→maria", "mysql", "select @@tx_isolation", "1 row", false, 1),
		sql("worker→maria", "mysql", "select name from items", "3 rows", false, 2),
		// A PostgreSQL client's harmless SET at connect.
		sql("worker→db", "postgres", "set jit = off", "ERROR 42704: unrecognized configuration parameter \"jit\"", true, 1),
		sql("worker→db", "postgres", "select 1", "SELECT 1", false, 2),
	)
	in := engine.SuspectInput{All: all, Targets: []string{"worker"}, DependsOn: deps, StepStart: at(0), StepEnd: at(10)}
	got := engine.Suspects(in, 10)
	if len(got) != 5 {
		t.Fatalf("suspects: %+v", got)
	}
	for _, s := range got {
		if !s.Unlinked || !strings.Contains(s.Reason, "the client went past") {
			t.Errorf("a setup error the client went past is not set apart: %+v", s)
		}
	}
	f := &report.Failure{Pos: "t.yaml:9:7", Message: "status: got 500; want 200", Suspects: got[:3]}
	if c := report.Cause(f); c != "t.yaml:9:7: status: got 500; want 200" {
		t.Errorf("grouped under a setup error: %q", c)
	}
	text := report.SuspectsText(got[:1], func(s string) string { return s }, func(s string) string { return s })
	if !strings.HasPrefix(text, "    also suspicious, but unlikely to have caused this failure:\n      1. worker→") ||
		strings.Contains(text, "likeliest cause first") {
		t.Errorf("suspects text:\n%s", text)
	}

	// A real error of the work on the path ranks first, above them all.
	dup := sql("worker→db", "postgres", "insert into jobs values ($1)", "ERROR 23505: duplicate key", true, 3)
	in.All = append(all, dup)
	got = engine.Suspects(in, 3)
	if got[0].Edge != "worker→db" || got[0].Unlinked || !strings.Contains(got[0].Line, "23505") {
		t.Errorf("the real error is not first: %+v", got)
	}
	if c := report.Cause(&report.Failure{Suspects: got}); !strings.HasPrefix(c, "worker→db SQL INSERT jobs → ERROR 23505") {
		t.Errorf("cause: %q", c)
	}

	// A setup the client did not go past (nothing succeeded after it on
	// the edge: it gave up) may be the cause.
	in.All = redisHandshake("worker→cache", at)[:4]
	got = engine.Suspects(in, 3)
	if len(got) != 3 || got[0].Unlinked || strings.Contains(got[0].Reason, "went past") {
		t.Errorf("a setup error the client did not go past: %+v", got)
	}
}

// An error off the path from the failing step's target and before it
// (another component's own business) ranks below the failure's own
// message: the failure is not grouped under it. The same error during the
// failing step, or on its path, may be the cause.
func TestOffThePathBeforeTheStepIsNoCause(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	deps := map[string][]string{"worker": {"cache"}, "api": {"db"}}
	oom := wire.Interaction{Edge: "worker→cache", Protocol: "redis", Op: "REDIS SET a", Method: "REDIS", Command: "SET", Key: "a",
		Result: "-OOM command not allowed", Suspicious: true, Start: at(1), End: at(2)}
	dup := wire.Interaction{Edge: "api→db", Protocol: "postgres", Op: "SQL insert into items values ($1)", Method: "SQL",
		Target: "insert into items values ($1)", Result: "ERROR 23505: duplicate key", Suspicious: true, Start: at(1), End: at(2)}
	in := engine.SuspectInput{All: []wire.Interaction{oom, dup}, Targets: []string{"cache"}, DependsOn: deps, StepStart: at(5), StepEnd: at(9)}
	got := engine.Suspects(in, 3)
	if len(got) != 2 || !got[0].Unlinked || !got[1].Unlinked || !strings.Contains(got[0].Reason, "nothing links it to the failing step") {
		t.Fatalf("suspects: %+v", got)
	}
	if c := report.Cause(&report.Failure{Pos: "t.yaml:3:5", Message: "reply: got \"hello\"; want \"bonjour\"", Suspects: got}); c != "t.yaml:3:5: reply: got \"hello\"; want \"bonjour\"" {
		t.Errorf("cause: %q", c)
	}
	// During the failing step: linked, and ranked above what is not.
	oom.Start, oom.End = at(6), at(7)
	in.All = []wire.Interaction{dup, oom}
	got = engine.Suspects(in, 3)
	if got[0].Edge != "worker→cache" || got[0].Unlinked || !got[1].Unlinked {
		t.Errorf("during the step: %+v", got)
	}
	// On the path (the step called worker): linked.
	in.All, in.Targets = []wire.Interaction{dup, {Edge: "worker→cache", Protocol: "redis", Op: "REDIS SET a", Method: "REDIS", Command: "SET",
		Result: "-OOM command not allowed", Suspicious: true, Start: at(1), End: at(2)}}, []string{"worker"}
	got = engine.Suspects(in, 3)
	if got[0].Edge != "worker→cache" || got[0].Unlinked || got[0].Score < got[1].Score {
		t.Errorf("on the path: %+v", got)
	}
}

// When the failing step checks the wire itself (interactions:), its own
// message is the cause: what the wire saw is listed, not grouped under.
func TestWireCheckIsItsOwnCause(t *testing.T) {
	now := time.Now()
	dup := wire.Interaction{Edge: "api→db", Protocol: "postgres", Op: "SQL insert into items values ($1)", Method: "SQL",
		Target: "insert into items values ($1)", Result: "ERROR 23505: duplicate key", Suspicious: true, Start: now, End: now}
	got := engine.Suspects(engine.SuspectInput{All: []wire.Interaction{dup}, Targets: []string{"api", "db"},
		DependsOn: map[string][]string{"api": {"db"}}, StepStart: now, StepEnd: now.Add(time.Millisecond), WireCheck: true}, 3)
	if len(got) != 1 || !got[0].Unlinked || !strings.Contains(got[0].Reason, "checks the wire itself") {
		t.Fatalf("suspects: %+v", got)
	}
	if c := report.Cause(&report.Failure{Pos: "t.yaml:8:7", Message: "0 interaction(s) matched api→db; want 1\n  the edges…", Suspects: got}); c != "t.yaml:8:7: 0 interaction(s) matched api→db; want 1" {
		t.Errorf("cause: %q", c)
	}
}

// TestWireCheckFailureIsGroupedUnderItsMessage: a test provokes a
// conflict on purpose, then fails on an unrelated interactions: check; the
// engine knows the step checks the wire, so the failure is grouped under
// the check's message, not under the conflict.
func TestWireCheckFailureIsGroupedUnderItsMessage(t *testing.T) {
	env := &wiredEnv{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		env.add(wire.Interaction{Edge: "api→db", Protocol: "http", Op: "POST /items", Method: "POST", Target: "/items", Status: 409,
			Result: "409 Conflict", Suspicious: true, Start: now, End: now})
		w.WriteHeader(409)
	}))
	defer srv.Close()
	s := loadSuite(t, `name: s
services:
  db: {stub: {}}
  api: {stub: {}, depends_on: [db]}
tests:
  - name: a duplicate, then an unrelated check
    steps:
      - http: ((base))/items
        expect: {status: 409}
      - interactions: {from: api, to: db, method: GET, path: /health, count: 1}
`)
	rec, counts := run(t, s, engine.Options{Envs: wiredFactory{env}}, srv.URL)
	if counts.Failed != 1 {
		t.Fatalf("counts %+v", counts)
	}
	f := rec.ends()["a duplicate, then an unrelated check"].Failure
	if f == nil || len(f.Suspects) != 1 || !f.Suspects[0].Unlinked {
		t.Fatalf("failure: %+v", f)
	}
	if c := report.Cause(f); !strings.Contains(c, "0 interaction(s) matched api→db GET /health") {
		t.Errorf("grouped under %q", c)
	}
}

// A call the browser was still waiting for when the step failed is listed,
// but below the rest and never as the cause: the failure made it so.
func TestCallsStillInFlightAreConsequences(t *testing.T) {
	now := time.Now()
	fav := wire.Interaction{Edge: "browser→web", Protocol: "http", Op: "GET /favicon.ico", Method: "GET", Target: "/favicon.ico",
		Result: "no answer: still in flight when the step failed", Suspicious: true, Start: now, End: now.Add(time.Millisecond)}
	bad := wire.Interaction{Edge: "web→api", Protocol: "http", Op: "GET /items", Method: "GET", Target: "/items", Status: 500,
		Result: "500 Internal Server Error", Suspicious: true, Start: now, End: now.Add(time.Millisecond)}
	in := engine.SuspectInput{All: []wire.Interaction{fav, bad}, Targets: []string{"web"},
		DependsOn: map[string][]string{"web": {"api"}}, StepStart: now, StepEnd: now.Add(2 * time.Millisecond)}
	got := engine.Suspects(in, 3)
	if len(got) != 2 || got[0].Edge != "web→api" || !got[1].Unlinked || !strings.Contains(got[1].Reason, "consequence") {
		t.Fatalf("suspects: %+v", got)
	}
	in.All = []wire.Interaction{fav}
	got = engine.Suspects(in, 3)
	if len(got) != 1 || !got[0].Unlinked {
		t.Fatalf("alone: %+v", got)
	}
	if c := report.Cause(&report.Failure{Pos: "t.yaml:3:5", Message: "select #c: no option", Suspects: got}); c != "t.yaml:3:5: select #c: no option" {
		t.Errorf("cause: %q", c)
	}
}
