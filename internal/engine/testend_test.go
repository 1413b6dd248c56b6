package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
)

// endingEnv is a wiredEnv whose helpers are told each test's end (a
// browser recording its requests still in flight).
type endingEnv struct{ wiredEnv }

func (e *endingEnv) EndTest(time.Time) {
	e.log("browser→api", report.WireStream, "GET /hang → no answer: still in flight when the test ended", nil)
}

// TestEndTestHook: the engine tells the environment each test's end
// (engine.TestEnder) while the test is still the one running, before its
// faults are lifted, with or without a test timeout.
func TestEndTestHook(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	env := &endingEnv{}
	s := loadSuite(t, `name: s
tests:
  - name: a
    steps:
      - http: ((base))/ok
  - name: b
    timeout: 30s
    steps:
      - http: ((base))/ok
`)
	rec, counts := run(t, s, engine.Options{Envs: endingFactory{env}}, srv.URL)
	if counts.Passed != 2 {
		t.Fatalf("counts %+v", counts)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	order := map[string][]string{}
	for _, e := range rec.events {
		if e.Type == report.Log && (strings.HasPrefix(e.Message, "GET /hang") || strings.HasPrefix(e.Message, "fault → cleared")) {
			order[e.Test] = append(order[e.Test], strings.Fields(e.Message)[0])
		}
	}
	for _, test := range []string{"a", "b"} {
		if got := strings.Join(order[test], ","); got != "GET,fault" {
			t.Errorf("test %s: lines %q; want the end's, then the faults cleared", test, got)
		}
	}
	if len(order[""]) != 0 {
		t.Errorf("lines outside a test: %v", order[""])
	}
}

type endingFactory struct{ env *endingEnv }

func (f endingFactory) Start(_ context.Context, _ int, log report.LogFunc) (engine.Env, error) {
	f.env.log = log
	return f.env, nil
}
