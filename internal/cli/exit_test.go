package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("write exploded") }

// A panic anywhere under Run is seam's bug: ExitCrash, with the panic and
// what to do, never 2 (a wrong suite).
func TestPanicIsACrash(t *testing.T) {
	var errb bytes.Buffer
	code := Run(context.Background(), []string{"version"}, IO{Stdout: panicWriter{}, Stderr: &errb})
	if code != ExitCrash || !strings.Contains(errb.String(), "write exploded") || !strings.Contains(errb.String(), "this is a bug in seam") {
		t.Fatalf("code %d, stderr:\n%s", code, errb.String())
	}
}

// A command whose context ended (a signal) is interrupted, whatever it
// would have returned; seam stub's normal end is a signal.
func TestInterruptedCode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"version"}, IO{Stdout: &out, Stderr: &errb}); code != ExitInterrupted {
		t.Fatalf("version with a cancelled context: %d, want %d", code, ExitInterrupted)
	}
	if ExitCrash == ExitUsage || ExitInterrupted == ExitFail {
		t.Fatal("exit codes must each mean one thing")
	}
}
