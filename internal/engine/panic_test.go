package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/step"
)

type panicAction struct{}

func (panicAction) Run(context.Context, *step.Env) (*step.Result, error) { panic("boom in a step") }

// A panic on a worker's goroutine comes back on the caller's, after the
// workers stopped, so the command above can report it as seam's bug
// instead of the process dying with Go's exit code 2.
func TestWorkerPanicReachesTheCaller(t *testing.T) {
	s := loadSuite(t, `name: p
tests:
  - name: a
    steps: [{exec: {command: "true"}}]
  - name: b
    steps: [{exec: {command: "true"}}]
`)
	s.Tests[1].Steps[0].Action = panicAction{}
	var got any
	func() {
		defer func() { got = recover() }()
		engine.Run(context.Background(), s, s.Tests, engine.Options{Parallel: 2, Seed: 1, Vars: map[string]string{"base": ""}}, &recorder{})
	}()
	p, ok := got.(*engine.WorkerPanic)
	if !ok || p.Value != "boom in a step" || !strings.Contains(p.String(), "panicAction") {
		t.Fatalf("recovered %v (%T), want the worker's panic with its stack", got, got)
	}
}
