package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/suite"
	"go.yaml.in/yaml/v4"
)

// errSignal is the cause a signal gives the run's context, as
// signal.NotifyContext does: errors that carry it are not
// context.Canceled.
var errSignal = errors.New("interrupt signal received")

// stopEnv is an environment the test's interrupt lands in: its Reset
// (after resets tests that reset fine) stops the run and fails as a
// driver does when its context ends, with the cause's text, not
// context.Canceled.
type stopEnv struct {
	stop   func() // interrupts the run
	resets atomic.Int32
	fineTo int32 // resets before the one that is interrupted
}

func (e *stopEnv) URL(string) (string, error) { return "", nil }
func (e *stopEnv) ServiceFunc() any           { return func(string) (map[string]any, error) { return nil, nil } }
func (e *stopEnv) Stop(context.Context) error { return nil }

func (e *stopEnv) Reset(ctx context.Context) error {
	if e.resets.Add(1) <= e.fineTo {
		return nil
	}
	e.stop()
	<-ctx.Done()
	return errors.Join(fmt.Errorf("resetting db: %v", context.Cause(ctx)), fmt.Errorf("resetting cache: %v", context.Cause(ctx)))
}

// stopFactory starts env; its start number stopAt (from 1; 0: none)
// stops the run and fails as a service's start does then.
type stopFactory struct {
	env    engine.Env
	stop   func()
	stopAt int32
	starts *atomic.Int32
}

func (f stopFactory) Start(ctx context.Context, _ int, _ report.LogFunc) (engine.Env, error) {
	if f.starts.Add(1) == f.stopAt {
		f.stop()
		<-ctx.Done()
		return nil, fmt.Errorf(`seam.yaml:9:3: service "db": connecting as seam's own role: failed to connect: %v`, context.Cause(ctx))
	}
	return f.env, nil
}

// interruptRun runs s's tests on one worker, in a run context that the
// stop given to envs (and to the interrupt step kind, through the
// context) cancels with errSignal's cause.
func interruptRun(t *testing.T, s *suite.Suite, envs func(stop func()) engine.EnvFactory) (*recorder, report.Counts, error) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := func() { cancel(errSignal) }
	opts := engine.Options{Seed: 1, Vars: map[string]string{"base": ""}}
	if envs != nil {
		opts.Envs = envs(stop)
	}
	rec := &recorder{}
	counts, err := engine.Run(context.WithValue(ctx, stopKey{}, stop), s, s.Tests, opts, rec)
	return rec, counts, err
}

// stopKey carries the run's stop to the interrupt step kind.
type stopKey struct{}

// interruptedRun checks what every run here must show: nothing failed,
// the test named is skipped as interrupted, with no failure, and the run
// ended as interrupted, not as an environment that could not start.
func interruptedRun(t *testing.T, rec *recorder, counts report.Counts, err error, test string) report.Event {
	t.Helper()
	var envErr *engine.EnvError
	if errors.As(err, &envErr) {
		t.Errorf("run error %v: an interrupt is not an environment that could not start", err)
	}
	if counts.Failed != 0 {
		t.Errorf("counts %+v: an interrupted test is not failed", counts)
	}
	end, ok := rec.ends()[test]
	if !ok || end.Status != report.Skipped || end.Failure != nil || !strings.Contains(end.Message, "interrupted") {
		t.Errorf("test %q ended %s (%q), failure %+v; want skipped as interrupted", test, end.Status, end.Message, end.Failure)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := rec.events[len(rec.events)-1]
	if last.Type != report.RunEnd || !strings.HasPrefix(last.Message, "interrupted") {
		t.Errorf("run_end %q, want it interrupted", last.Message)
	}
	return end
}

const twoTests = `name: s
tests:
  - name: first
    steps:
      - exec: ["true"]
  - name: second
    steps:
      - exec: ["true"]
  - name: third
    steps:
      - exec: ["true"]
`

// An interrupt that lands while the data is reset between two tests
// (seam run | head closing, Ctrl-C): the next test is not run, as the
// tests after it, not failed with "resetting db: context canceled".
func TestInterruptDuringResetIsNotAFailure(t *testing.T) {
	s := loadSuite(t, twoTests)
	env := &stopEnv{}
	var starts atomic.Int32
	rec, counts, err := interruptRun(t, s, func(stop func()) engine.EnvFactory {
		env.stop = stop
		return stopFactory{env: env, starts: &starts}
	})
	end := interruptedRun(t, rec, counts, err, "second")
	if counts.Passed != 1 || counts.Skipped != 2 {
		t.Errorf("counts %+v, want first passed, second and third skipped", counts)
	}
	if end.Message != "not run: interrupted" {
		t.Errorf("second: message %q, want it not run as the tests after it", end.Message)
	}
	if got := rec.order(report.TestStart); strings.Join(got, ",") != "first" {
		t.Errorf("tests started: %q; the one whose reset was stopped had not started", got)
	}
}

// A reset that fails while the run goes on is still the test's failure.
func TestResetFailureStillFails(t *testing.T) {
	s := loadSuite(t, twoTests)
	var starts atomic.Int32
	env := &failingReset{}
	rec, counts, err := interruptRun(t, s, func(func()) engine.EnvFactory {
		return stopFactory{env: env, starts: &starts}
	})
	if err != nil || counts.Failed != 2 {
		t.Fatalf("counts %+v, err %v; want the two reset tests failed", counts, err)
	}
	if f := rec.ends()["second"].Failure; f == nil || f.Step != "reset to the baseline" || f.Kind != "error" {
		t.Errorf("second: failure %+v", f)
	}
}

type failingReset struct{ stopEnv }

func (e *failingReset) Reset(context.Context) error {
	return errors.New("resetting db: connection refused")
}

// An interrupt while an environment starts (a worker's, or a fresh
// test's own) is not an environment that could not start, whatever the
// start's error says: no EnvError, the test not run.
func TestInterruptDuringEnvStartIsNotAnEnvError(t *testing.T) {
	t.Run("worker", func(t *testing.T) {
		s := loadSuite(t, twoTests)
		var starts atomic.Int32
		rec, counts, err := interruptRun(t, s, func(stop func()) engine.EnvFactory {
			return stopFactory{env: &stopEnv{fineTo: 99}, stop: stop, stopAt: 1, starts: &starts}
		})
		interruptedRun(t, rec, counts, err, "first")
		if counts.Skipped != 3 {
			t.Errorf("counts %+v", counts)
		}
	})
	t.Run("fresh test", func(t *testing.T) {
		s := loadSuite(t, `name: s
tests:
  - name: first
    steps:
      - exec: ["true"]
  - name: fresh one
    fresh: true
    steps:
      - exec: ["true"]
`)
		var starts atomic.Int32
		rec, counts, err := interruptRun(t, s, func(stop func()) engine.EnvFactory {
			return stopFactory{env: &stopEnv{fineTo: 99}, stop: stop, stopAt: 2, starts: &starts}
		})
		interruptedRun(t, rec, counts, err, "fresh one")
		if counts.Passed != 1 || starts.Load() != 2 {
			t.Errorf("counts %+v after %d starts", counts, starts.Load())
		}
	})
	t.Run("fails while the run goes on", func(t *testing.T) {
		s := loadSuite(t, twoTests)
		_, _, err := interruptRun(t, s, func(func()) engine.EnvFactory { return brokenFactory{} })
		var envErr *engine.EnvError
		if !errors.As(err, &envErr) {
			t.Errorf("run error %v, want an EnvError", err)
		}
	})
}

type brokenFactory struct{}

func (brokenFactory) Start(context.Context, int, report.LogFunc) (engine.Env, error) {
	return nil, errors.New(`service "db": not ready`)
}

// interruptKind is a step that stops the run where its mode says: in
// Prepare (a browser starting), in the n-th read of an expectation
// waited for (eventually, or a page read again), failing as it is
// stopped.
type interruptKind struct{ reads *atomic.Int32 }

func (k interruptKind) Usage() step.Usage {
	return step.Usage{Name: "interrupt", Fields: []expect.Field{{Name: "n", Doc: "reads so far"}}}
}

func (k interruptKind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	switch n.Value {
	case "prepare":
		return &prepareAction{}
	case "reread":
		return &rereadStop{k}
	}
	return &readStop{k}
}

// stopRun stops the run the step runs in.
func stopRun(ctx context.Context) { ctx.Value(stopKey{}).(func())() }

type prepareAction struct{}

func (a *prepareAction) Prepare(ctx context.Context, env *step.Env) error {
	stopRun(ctx)
	<-ctx.Done()
	return fmt.Errorf("starting the browser: %v", context.Cause(ctx))
}

func (a *prepareAction) Run(context.Context, *step.Env) (*step.Result, error) {
	return &step.Result{}, nil
}

// readStop is read again by eventually: its third read stops the run.
type readStop struct{ k interruptKind }

func (a *readStop) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	if a.k.reads.Add(1) == 3 {
		stopRun(ctx)
	}
	return &step.Result{Fields: map[string]any{"n": int(a.k.reads.Load())}}, nil
}

// rereadStop is a page read again until its expectations hold: its
// third read stops the run.
type rereadStop struct{ k interruptKind }

func (a *rereadStop) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	return a.Recheck(ctx, env)
}

func (a *rereadStop) Recheck(ctx context.Context, env *step.Env) (*step.Result, error) {
	if a.k.reads.Add(1) == 3 {
		stopRun(ctx)
	}
	return &step.Result{Fields: map[string]any{"n": int(a.k.reads.Load())}}, nil
}

func interruptSuite(t *testing.T, reads *atomic.Int32, yaml string) *suite.Suite {
	t.Helper()
	file := filepath.Join(t.TempDir(), "seam.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	t.Cleanup(func() { reg.Close() })
	reg.Steps["interrupt"] = interruptKind{reads}
	s, err := suite.Load(file, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, Vars: map[string]string{"base": ""}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A step the interrupt cut short did not fail, in setup or steps: a
// helper starting (Prepare), an expectation still waited for (eventually,
// a page read again). Each is skipped as interrupted during its step, and
// teardown still runs.
func TestInterruptedStepIsNotAFailure(t *testing.T) {
	for name, yaml := range map[string]string{
		"helper start in setup": `
    setup:
      - interrupt: prepare
    steps:
      - exec: ["true"]`,
		"helper start": `
    steps:
      - interrupt: prepare`,
		"eventually": `
    steps:
      - interrupt: read
        eventually: {timeout: 1m, interval: 5ms}
        expect: {n: 0}`,
		"read again": `
    steps:
      - interrupt: reread
        expect: {n: 0}`,
	} {
		t.Run(name, func(t *testing.T) {
			var reads atomic.Int32
			s := interruptSuite(t, &reads, `name: s
defaults: {step_timeout: 1m, expect_timeout: 1m}
tests:
  - name: cut short`+yaml+`
    teardown:
      - exec: ["true"]
`)
			rec, counts, err := interruptRun(t, s, nil)
			end := interruptedRun(t, rec, counts, err, "cut short")
			if !strings.HasPrefix(end.Message, `interrupted during step "interrupt`) {
				t.Errorf("message %q, want it interrupted during its step", end.Message)
			}
			var teardown bool
			rec.mu.Lock()
			for _, e := range rec.events {
				teardown = teardown || e.Type == report.StepEnd && e.Phase == "teardown" && e.Status == report.Passed
			}
			rec.mu.Unlock()
			if !teardown {
				t.Error("teardown did not run")
			}
		})
	}
}
