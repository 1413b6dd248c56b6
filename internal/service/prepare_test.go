package service

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted preparing command's whole group gets SIGTERM (a child
// that traps it is let finish its cleanup), the error says interrupted and
// unwraps to context.Canceled, and the command saw env.Env.
func TestRunInterruptedStopsTheGroupGracefully(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "cleaned")
	pidFile := filepath.Join(dir, "child")
	var started int
	env := &PrepareEnv{Env: []string{"SEAM_RUN_ID=test-mark"}, Started: func(pid int) { started = pid }}
	ctx, cancel := context.WithCancel(context.Background())
	// The child in the leader's group cleans up on SIGTERM, as a
	// PostgreSQL backend removes its shared memory.
	script := `sh -c 'trap "echo $SEAM_RUN_ID > ` + done + `; exit 0" TERM; echo $$ > ` + pidFile + `; while :; do sleep 0.01; done' & wait`
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	errc := make(chan error, 1)
	go func() { _, err := env.Run(ctx, "initdb", cmd); errc <- err }()
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		data, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if child == 0 {
		t.Fatal("the child never started")
	}
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(StopGrace + 5*time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	var stopped *Interrupted
	if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) || err.Error() != "initdb interrupted" {
		t.Fatalf("got %v; want initdb interrupted, unwrapping to context.Canceled", err)
	}
	data, _ := os.ReadFile(done)
	if strings.TrimSpace(string(data)) != "test-mark" {
		t.Errorf("the child did not clean up on SIGTERM with the run's mark: %q", data)
	}
	// The group was sent SIGKILL as Run returned; the kernel takes a
	// moment to end a process (more on a loaded machine): give it 2s.
	alive := func() bool {
		if syscall.Kill(child, 0) != nil {
			return false
		}
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		return !strings.Contains(string(st), ") Z")
	}
	for deadline := time.Now().Add(2 * time.Second); alive() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive() {
		t.Errorf("the group's child %d still runs", child)
	}
	if started == 0 {
		t.Error("the command was not recorded")
	}
}

// A folder is recorded before it exists: seam killed between the two
// leaves nothing the reaping does not know of.
func TestMkdirTempRecordsFirst(t *testing.T) {
	parent := t.TempDir()
	var recorded string
	dir, err := MkdirTemp(parent, "tmp-", func(d string) {
		recorded = d
		if _, err := os.Stat(d); err == nil {
			t.Error("the folder existed when it was recorded")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if recorded != dir || !strings.HasPrefix(filepath.Base(dir), "tmp-") {
		t.Errorf("recorded %q, made %q", recorded, dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("folder %s: %v %v", dir, st, err)
	}
}
