package process

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/reap"
)

// stubborn launches a shell that ignores SIGTERM (and so do the sleeps it
// starts) and waits until it has said so.
func stubborn(t *testing.T, grace time.Duration, stops *Stops) (*instance, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var logged []string
	ready := make(chan struct{})
	var once sync.Once
	inst, err := Launch(Child{
		Name: "stubborn", Path: "/bin/sh",
		Argv:  []string{"sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`},
		Grace: grace, Stops: stops,
		Log: func(stream, line string) {
			mu.Lock()
			logged = append(logged, stream+" | "+line)
			mu.Unlock()
			if line == "ready" {
				once.Do(func() { close(ready) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	i := inst.(*instance)
	t.Cleanup(func() { _ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL) })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the shell never said ready")
	}
	return i, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), logged...)
	}
}

// gone reports whether no process of the group runs any more.
func gone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) || !reap.GroupRunning(pgid)
}

// A stop that waits longer than a second says so, with the service's
// name and its stop timeout; an interrupt then kills the group at once,
// and the service's log says why.
func TestSlowStopSaysSoAndAnInterruptHurriesIt(t *testing.T) {
	stops := NewStops()
	lines := make(chan string, 4)
	stops.Notify(func(l string) { lines <- l })
	i, logged := stubborn(t, 30*time.Second, stops)
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- i.Stop(context.Background()) }()
	select {
	case l := <-lines:
		want := "stopping stubborn: waiting up to 30s after SIGTERM (Ctrl-C to stop at once)"
		if l != want {
			t.Errorf("notice %q; want %q", l, want)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("notice after %v; want it after about a second", d)
		}
	case err := <-stopped:
		t.Fatalf("stop returned (%v) before any notice", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no notice after 10s")
	}
	// Told it waits, the user's first Ctrl-C stops it at once.
	if !stops.Interrupt() {
		t.Error("an interrupt while a stop waits did not hurry")
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stop still waiting 10s after the interrupt")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v; want it to end at the interrupt", d)
	}
	if !gone(i.cmd.Process.Pid) {
		t.Error("the group still runs after Stop")
	}
	if l := strings.Join(logged(), "\n"); !strings.Contains(l, "seam | still running 1.") ||
		!strings.Contains(l, "after SIGTERM; killed: seam was asked to stop at once") {
		t.Errorf("log:\n%s\nwant it to say the service was killed when asked to stop at once", l)
	}
}

// A process that outlives its stop timeout is killed, and its log says
// so; a short timeout waits without a notice.
func TestStopTimeoutKillsAndLogs(t *testing.T) {
	stops := NewStops()
	stops.Notify(func(l string) { t.Errorf("notice %q for a stop timeout under a second", l) })
	i, logged := stubborn(t, 300*time.Millisecond, stops)
	start := time.Now()
	if err := i.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("stop took %v; want about its stop timeout, 300ms", d)
	}
	if !gone(i.cmd.Process.Pid) {
		t.Error("the group still runs after Stop")
	}
	want := "seam | did not stop within stop_timeout 300ms after SIGTERM; killed"
	if l := logged(); l[len(l)-1] != want {
		t.Errorf("log %q; want it to end with %q", l, want)
	}
}

// Once hurried, a stop does not wait at all.
func TestHurriedStopKillsAtOnce(t *testing.T) {
	stops := NewStops()
	i, logged := stubborn(t, 30*time.Second, stops)
	stops.Hurry()
	start := time.Now()
	if err := i.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v; want it at once", d)
	}
	want := "seam | killed at once: seam was asked to stop at once"
	if l := logged(); l[len(l)-1] != want {
		t.Errorf("log %q; want it to end with %q", l, want)
	}
}

// A process that exits on SIGTERM logs nothing of seam's.
func TestQuickStopSaysNothing(t *testing.T) {
	stops := NewStops()
	stops.Notify(func(l string) { t.Errorf("notice %q for a quick stop", l) })
	var mu sync.Mutex
	var logged []string
	inst, err := Launch(Child{Path: "/bin/sleep", Argv: []string{"sleep", "60"}, Grace: 30 * time.Second, Stops: stops,
		Log: func(stream, line string) { mu.Lock(); logged = append(logged, line); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) > 0 {
		t.Errorf("log %q; want nothing", logged)
	}
}

// The first interrupt leaves stops their grace; the second hurries.
func TestSecondInterruptHurries(t *testing.T) {
	s := NewStops()
	if s.Interrupt() || s.Hurried() {
		t.Fatal("the first interrupt hurried, with no stop waiting")
	}
	if !s.Interrupt() || !s.Hurried() {
		t.Fatal("the second interrupt did not hurry")
	}
}
