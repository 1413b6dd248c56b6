package engine_test

import (
	"context"
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

// rereadKind acts once per run and counts reads: its result's n is the
// number of reads so far, as a page that renders a little later.
type rereadKind struct{ runs, reads *atomic.Int32 }

func (k rereadKind) Usage() step.Usage {
	return step.Usage{Name: "reread", Fields: []expect.Field{{Name: "n", Doc: "reads so far"}}}
}
func (k rereadKind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	return &rereadAction{k}
}

type rereadAction struct{ k rereadKind }

func (a *rereadAction) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	a.k.runs.Add(1)
	return a.Recheck(ctx, env)
}

func (a *rereadAction) Recheck(ctx context.Context, env *step.Env) (*step.Result, error) {
	return &step.Result{Fields: map[string]any{"n": int(a.k.reads.Add(1))}}, nil
}

func (a *rereadAction) Artifacts(ctx context.Context, env *step.Env) []step.Artifact {
	return []step.Artifact{{Name: "screenshot", Path: "/x/" + env.Test + ".png"}}
}

// TestRecheckWaitsWithoutActingAgain: a Rechecker's result is read again
// until its expectations hold, within the step's timeout, and its action
// runs once; when they never hold, the failure says how long it waited
// and carries the step's artifacts.
func TestRecheckWaitsWithoutActingAgain(t *testing.T) {
	var runs, reads atomic.Int32
	s := rereadSuite(t, &runs, &reads, `name: r
defaults: {step_timeout: 1s}
tests:
  - name: holds on the third read
    steps:
      - reread: {}
        expect: {n: 3}
  - name: never holds
    steps:
      - reread: {}
        expect: {n: 0}
`)
	rec := &recorder{}
	counts, err := engine.Run(context.Background(), s, s.Tests[:1], engine.Options{}, rec)
	if err != nil || counts.Passed != 1 || runs.Load() != 1 || reads.Load() != 3 {
		t.Fatalf("counts %+v, err %v, runs %d, reads %d; want 1 passed after 1 run and 3 reads", counts, err, runs.Load(), reads.Load())
	}
	counts, _ = engine.Run(context.Background(), s, s.Tests[1:], engine.Options{}, rec)
	end := rec.ends()["never holds"]
	if counts.Failed != 1 || end.Failure == nil {
		t.Fatalf("counts %+v", counts)
	}
	if want := "(still so after waiting 1s, the step's timeout)"; !contains(end.Failure.Message, want) {
		t.Errorf("message %q lacks %q", end.Failure.Message, want)
	}
	if a := end.Failure.Artifacts; len(a) != 1 || a[0] != (report.Artifact{Name: "screenshot", Path: "/x/never holds.png"}) {
		t.Errorf("artifacts = %+v", a)
	}
}

// rereadSuite loads a suite (its YAML) whose reread steps count into
// runs and reads.
func rereadSuite(t *testing.T, runs, reads *atomic.Int32, yaml string) *suite.Suite {
	t.Helper()
	file := filepath.Join(t.TempDir(), "seam.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	t.Cleanup(func() { reg.Close() })
	reg.Steps["reread"] = rereadKind{runs, reads}
	s, err := suite.Load(file, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestExpectTimeoutBoundsRechecks: expectations that never hold fail once
// expect_timeout is up (the suite's default, or the step's own), well
// within the step's timeout, and the failure says which limit it was.
func TestExpectTimeoutBoundsRechecks(t *testing.T) {
	var runs, reads atomic.Int32
	s := rereadSuite(t, &runs, &reads, `name: r
defaults: {step_timeout: 1m, expect_timeout: 200ms}
tests:
  - name: the suite's
    steps:
      - reread: {}
        expect: {n: 0}
  - name: the step's own
    steps:
      - reread: {}
        expect_timeout: 300ms
        expect: {n: 0}
`)
	rec := &recorder{}
	counts, _ := engine.Run(context.Background(), s, s.Tests, engine.Options{}, rec)
	if counts.Failed != 2 {
		t.Fatalf("counts %+v", counts)
	}
	for test, want := range map[string]string{
		"the suite's":    "(still so after waiting 200ms, the step's expect_timeout)",
		"the step's own": "(still so after waiting 300ms, the step's expect_timeout)",
	} {
		if end := rec.ends()[test]; end.Failure == nil || !contains(end.Failure.Message, want) {
			t.Errorf("%s: failure %+v, want a message with %q", test, end.Failure, want)
		}
	}
	if reads.Load() < 4 {
		t.Errorf("%d reads: the expectations were not read again", reads.Load())
	}
}
