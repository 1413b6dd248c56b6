package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Each exit code means one thing, through the built binary: 0 passed, 1 a
// test failed, 2 the suite is wrong, 3 the environment did not start, 130
// interrupted by SIGINT or SIGTERM. (70, seam's own crash, is proven in
// crash_test.go with a panic planted by a test-only build tag, and in
// internal/cli and internal/engine: no suite can make seam panic on purpose.)
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("pass.yaml", "name: pass\ntests:\n  - name: t\n    steps: [{exec: {command: \"true\"}}]\n")
	fail := write("fail.yaml", "name: fail\ntests:\n  - name: t\n    steps: [{exec: {command: \"false\"}, expect: {exit_code: 0}}]\n")
	bad := write("bad.yaml", "name: bad\ntests:\n  - name: t\n    steps: [{exec: {command: \"true\"}, expect: {stdout: {matchs: hi}}}]\n")
	env := write("env.yaml", "name: env\nservices:\n  app:\n    process:\n      run: [\"false\"]\ntests:\n  - name: t\n    steps: [{exec: {command: \"true\"}}]\n")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"run", pass}, 0, "1 passed"},
		{[]string{"run", fail}, 1, "exit_code"},
		{[]string{"run", bad}, 2, `unknown operator "matchs"`},
		{[]string{"validate", bad}, 2, `did you mean "match"`},
		{[]string{"run", "--no-such-flag", pass}, 2, "no-such-flag"},
		{[]string{"run", env}, 3, "app"},
	} {
		r := seam(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.says) {
			t.Errorf("seam %s: exit %d, want %d saying %q; output:\n%s%s", strings.Join(tc.args, " "), r.code, tc.code, tc.says, r.stdout, r.stderr)
		}
	}
	slow := write("slow.yaml", "name: slow\ntests:\n  - name: t\n    steps: [{exec: {command: sleep, args: [\"30\"]}}]\n")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(seamBin, "run", slow)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // into the step
		start := time.Now()
		cmd.Process.Signal(sig)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: seam still running after 15s:\n%s", sig, out.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("%v: exit %d, want 130 (interrupted); output:\n%s", sig, code, out.String())
		}
		t.Logf("%v: stopped in %v", sig, time.Since(start).Round(time.Millisecond))
	}
}

// What run would trip on, validate reports, through the binary, and an
// error on a 90 KB line shows a window of it around the column.
func TestValidateCatchesWhatRunWould(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 90_000)
	src := "name: v\ntests:\n  - name: t\n    steps:\n      - exec: {command: echo, args: [\"" + long + "\"]}\n        expect: {stdout: {matchs: hi}, exit_code: {eq: 0}, nope: 1}\n"
	file := filepath.Join(dir, "seam.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := seam(t, "validate", file)
	if r.code != 2 || !strings.Contains(r.stderr, `seam.yaml:6:27: stdout: unknown operator "matchs"`) || !strings.Contains(r.stderr, `did you mean "match"`) {
		t.Errorf("validate: exit %d\n%s", r.code, r.stderr)
	}
	bad := "name: v\ntests:\n  - name: t\n    steps: [{exec: {command: \"true\"}, expect: {stdout: {eq: \"" + long + "\", contians: x}}}]\n"
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r = seam(t, "validate", file)
	if r.code != 2 || len(r.stderr) > 2000 || !strings.Contains(r.stderr, "contians") {
		t.Errorf("validate of a 90 KB line: exit %d, %d bytes of output:\n%.3000s", r.code, len(r.stderr), r.stderr)
	}
}
