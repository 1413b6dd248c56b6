package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A panic on a background goroutine of seam's (planted by a binary built
// with -tags seamcrashtest, SEAM_TEST_PANIC_AFTER after the start) is
// seam's crash: exit 70 with the panic and its stack, and the run's
// service and step processes are stopped, not left running. A bare go
// statement's panic would end seam at once with exit 2.
func TestBackgroundPanicIsSeamsCrash(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "seam-crashtest")
	if out, err := exec.Command("go", "build", "-tags", "seamcrashtest", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building with -tags seamcrashtest: %v\n%s", err, out)
	}
	// Unique arguments mark the processes this run starts.
	svcMark, stepMark := "987.6541", "30.4321"
	suite := filepath.Join(dir, "seam.yaml")
	src := "name: crash\nservices:\n  app:\n    process:\n      run: [sleep, \"" + svcMark + "\"]\n" +
		"tests:\n  - name: t\n    steps: [{exec: {command: sleep, args: [\"" + stepMark + "\"]}}]\n"
	if err := os.WriteFile(suite, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", suite)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SEAM_TEST_PANIC_AFTER=2s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitBounded(cmd, 45*time.Second) {
		t.Fatalf("seam still running 45s after the start:\n%s", out.String())
	}
	t.Logf("seam ended %v after its start (the panic at 2s)", time.Since(start).Round(time.Millisecond))
	got := out.String()
	if code := cmd.ProcessState.ExitCode(); code != 70 {
		t.Errorf("exit %d, want 70 (seam's crash); output:\n%s", code, got)
	}
	for _, want := range []string{"seam: internal error: seamcrashtest: a planted panic", "goroutine ", "this is a bug in seam"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "internal/cli.testCrash") {
		t.Errorf("the stack is not the panicking goroutine's:\n%s", got)
	}
	// Stopped means gone, soon: allow the kernel a moment to reap.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := running(t, svcMark, stepMark)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left running after the crash: %v\n%s", left, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running lists the processes whose command line holds one of marks.
func running(t *testing.T, marks ...string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(b), "\x00", " ")
		for _, m := range marks {
			if strings.Contains(line, m) {
				found = append(found, filepath.Base(filepath.Dir(p))+": "+line)
			}
		}
	}
	return found
}
