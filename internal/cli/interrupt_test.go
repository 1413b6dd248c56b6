package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// An interrupt while the environment is set up, as a signal gives it
// (its cause is "interrupt signal received", so the errors it makes are
// not context.Canceled): while a service builds (before any environment)
// and while one starts (in the engine). Neither is an environment that
// could not start: stderr says the run was interrupted, the event log's
// run_end says interrupted and has no env_error, and JUnit has no
// environment error.
func TestInterruptWhileSettingUpIsNotAnEnvFailure(t *testing.T) {
	for name, service := range map[string]string{
		"building": `
    process:
      build: "touch $MARK; sleep 60"
      run: [sleep, "60"]`,
		"starting": `
    process:
      run: [sleep, "60"]
    ready: {exec: [sh, -c, "touch $MARK; exit 1"], timeout: 60s}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("SEAM_STATE_DIR", filepath.Join(dir, "state"))
			t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
			mark := filepath.Join(dir, "underway")
			t.Setenv("MARK", mark)
			suite := "name: stopped\nservices:\n  api:" + service + `
tests:
  - name: one
    steps:
      - exec: ["true"]
`
			if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
				t.Fatal(err)
			}
			junit, events := filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.jsonl")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, []string{"run", dir, "--report", "junit=" + junit, "--report", "json=" + events},
					IO{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv})
			}()
			// Interrupt once the set-up is under way (the command has
			// touched its mark), or at once should the run end first.
			deadline := time.After(60 * time.Second)
		wait:
			for {
				if _, err := os.Stat(mark); err == nil {
					break
				}
				select {
				case code := <-done:
					t.Fatalf("the run ended (exit %d) before its set-up was under way:\n%s%s", code, stdout.String(), stderr.String())
				case <-deadline:
					break wait
				case <-time.After(10 * time.Millisecond):
				}
			}
			cancel(errors.New("interrupt signal received"))
			var code int
			select {
			case code = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the run went on after the interrupt")
			}
			if code != ExitInterrupted {
				t.Errorf("exit %d, want %d", code, ExitInterrupted)
			}
			if e := stderr.String(); strings.Contains(e, "could not start") || !strings.Contains(e, "seam: interrupted while the environment was being set up; nothing was tested") {
				t.Errorf("stderr does not say the set-up was interrupted (only):\n%s", e)
			}
			if strings.Contains(stdout.String(), "could not start") {
				t.Errorf("stdout says the environment could not start:\n%s", stdout.String())
			}
			f, err := os.Open(events)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			evs, err := report.ReadJSONL(f)
			if err != nil {
				t.Fatalf("event log: %v", err)
			}
			last := evs[len(evs)-1]
			if last.Type != report.RunEnd || !strings.HasPrefix(last.Message, "interrupted") || last.EnvError != "" {
				t.Errorf("run_end %q, env_error %q: want it interrupted", last.Message, last.EnvError)
			}
			x, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(x, []byte(`type="environment"`)) || !bytes.Contains(x, []byte(`skipped="1"`)) {
				t.Errorf("JUnit: want the test skipped and no environment error:\n%s", x)
			}
		})
	}
}
