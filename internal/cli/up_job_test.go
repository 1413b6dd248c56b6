package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seam up with a job: nothing says the job is starting once the address
// table (which says it is done) is out.
func TestUpSaysNothingOfAJobAfterTheTable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SEAM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("NO_COLOR", "1")
	suite := "name: jobs\nservices:\n  seed:\n    job:\n      run: [\"true\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"up", filepath.Join(dir, "seam.yaml")}, IO{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv})
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(stdout.String(), "stop with Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("seam up ended (exit %d):\n%s%s", code, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("seam up never printed its table:\n%s%s", stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The delay after which a start is said to be slow (1s) passes with
	// the environment up: what would be said, is.
	time.Sleep(1500 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("seam up went on after it was stopped")
	}
	out := stdout.String()
	_, after, _ := strings.Cut(out, "stop with Ctrl-C")
	if strings.Contains(after, "starting…") || strings.Contains(after, "running…") {
		t.Errorf("after the table, seam up said the job was starting:\n%s", out)
	}
	if !strings.Contains(out, "(job: done)") {
		t.Errorf("the table lacks the job:\n%s", out)
	}
}
