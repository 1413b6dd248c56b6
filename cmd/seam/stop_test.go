package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stubbornRun is a seam run of a suite whose one service ignores SIGTERM,
// with its standard error read line by line.
type stubbornRun struct {
	cmd     *exec.Cmd
	dir     string
	state   string
	mu      sync.Mutex
	out     bytes.Buffer
	errs    strings.Builder
	lines   chan string // stderr, line by line
	done    chan struct{}
	started time.Time
}

// writeStubborn writes a suite into dir whose service "stubborn" ignores
// SIGTERM (stop_timeout: stop; it writes its pid into dir/pid) and whose
// test runs step.
func writeStubborn(t *testing.T, dir, stop, step string) {
	t.Helper()
	suite := fmt.Sprintf(`name: stubborn
services:
  stubborn:
    process:
      run: 'trap "" TERM; echo $$ > %s/pid; echo ready; while :; do sleep 0.1; done'
      stop_timeout: %s
    ready: {log: ready}
tests:
  - name: t
    steps:
      - exec: [sh, -c, '%s']
`, dir, stop, step)
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startStubborn runs the suite of writeStubborn.
func startStubborn(t *testing.T, stop, step string) *stubbornRun {
	t.Helper()
	env, state := isolated(t)
	dir := t.TempDir()
	writeStubborn(t, dir, stop, step)
	r := &stubbornRun{dir: dir, state: state, lines: make(chan string, 100), done: make(chan struct{})}
	r.cmd = exec.Command(seamBin, "run", dir)
	r.cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	r.cmd.Stdout = &syncWriter{mu: &r.mu, b: &strings.Builder{}}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r.started = time.Now()
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.errs.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

func (r *stubbornRun) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs.String()
}

// awaitLine waits (at most d) for a line of stderr that starts with want.
func (r *stubbornRun) awaitLine(t *testing.T, want string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l := <-r.lines:
			if strings.HasPrefix(l, want) {
				return
			}
		case <-r.done:
			t.Fatalf("seam ended (%v) before saying %q:\n%s", r.cmd.ProcessState, want, r.stderr())
		case <-timeout:
			t.Fatalf("seam did not say %q within %v:\n%s", want, d, r.stderr())
		}
	}
}

// await waits (at most d) for seam to exit, and returns its exit code.
func (r *stubbornRun) await(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("seam still running %v later:\n%s", d, r.stderr())
		return -1
	}
}

// serviceGone checks that the service's shell no longer runs.
func (r *stubbornRun) serviceGone(t *testing.T) { t.Helper(); stubbornGone(t, r.dir) }

// stubbornGone checks that the shell of writeStubborn's service, whose
// pid is in dir, no longer runs.
func stubbornGone(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// A zombie waiting for init to reap it is not running.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !bytes.Contains(st, []byte(") Z ")) {
		t.Errorf("the service (pid %d) still runs after seam exited: %s", pid, st)
	}
}

// log returns the service's log in the run's log folder. (The event log
// ends at run_end, before the services stop: their last lines are only
// in their logs.)
func (r *stubbornRun) log(t *testing.T) string {
	t.Helper()
	svc, _ := filepath.Glob(filepath.Join(r.state, "logs", "*", "env1", "stubborn.log"))
	if len(svc) != 1 {
		t.Fatalf("service logs: %v; want one", svc)
	}
	return mustRead(t, svc[0])
}

// Ctrl-C stops the run and the service; as the service ignores SIGTERM,
// seam says what it waits for after a second; a second Ctrl-C kills it
// at once, seam exits 130, and the service's log says why it was killed.
func TestSecondInterruptKillsAStubbornService(t *testing.T) {
	r := startStubborn(t, "30s", "touch "+"MARK; sleep 30")
	mark := filepath.Join(r.dir, "MARK")
	for i := 0; ; i++ {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if i == 600 {
			t.Fatalf("the test never began:\n%s", r.stderr())
		}
		select {
		case <-r.done:
			t.Fatalf("seam ended before the test began:\n%s", r.stderr())
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.cmd.Process.Signal(syscall.SIGINT)
	r.awaitLine(t, "seam: stopping stubborn: waiting up to 30s after SIGTERM (Ctrl-C again to stop at once)", 15*time.Second)
	second := time.Now()
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.await(t, 10*time.Second); code != 130 {
		t.Errorf("exit %d; want 130\n%s", code, r.stderr())
	}
	t.Logf("seam exited %v after the second Ctrl-C", time.Since(second).Round(time.Millisecond))
	r.serviceGone(t)
	assertClean(t, r.state)
	log := r.log(t)
	if !strings.Contains(log, "seam | still running ") || !strings.Contains(log, "after SIGTERM; killed: seam was asked to stop at once") {
		t.Errorf("the service's log does not say it was killed:\n%s", log)
	}
}

// At the end of a run, a service that outlives its stop_timeout is
// killed; seam says what it waits for meanwhile, and the logs say why.
func TestStubbornServiceAtTheEndOfARun(t *testing.T) {
	r := startStubborn(t, "2s", "true")
	r.awaitLine(t, "seam: stopping stubborn: waiting up to 2s after SIGTERM (Ctrl-C to stop at once)", 60*time.Second)
	if code := r.await(t, 20*time.Second); code != 0 {
		t.Errorf("exit %d; want 0 (the test passed)\n%s", code, r.stderr())
	}
	r.serviceGone(t)
	want := "seam | did not stop within stop_timeout 2s after SIGTERM; killed"
	if log := r.log(t); !strings.Contains(log, want) {
		t.Errorf("the service's log does not say %q:\n%s", want, log)
	}
}

// Told that a stop waits at the end of a run, one Ctrl-C kills what is
// left at once, and seam exits 130.
func TestInterruptWhileAStopWaits(t *testing.T) {
	r := startStubborn(t, "30s", "true")
	r.awaitLine(t, "seam: stopping stubborn: waiting up to 30s after SIGTERM (Ctrl-C to stop at once)", 60*time.Second)
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.await(t, 10*time.Second); code != 130 {
		t.Errorf("exit %d; want 130\n%s", code, r.stderr())
	}
	r.serviceGone(t)
	assertClean(t, r.state)
}

// seam down waits for seam up to stop its services, says so when that
// takes long, and on Ctrl-C has seam up kill them at once.
func TestSeamDownOfAStubbornService(t *testing.T) {
	env, state := isolated(t)
	dir := t.TempDir()
	writeStubborn(t, dir, "30s", "true")
	u := startUp(t, env, dir, ".")
	down := exec.Command(seamBin, "down", ".")
	down.Dir = dir
	down.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out bytes.Buffer
	down.Stdout = &out
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	down.Stderr = pw
	if err := down.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	said := make(chan string, 1)
	var errs strings.Builder
	go func() {
		defer close(said)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			errs.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "seam down: waiting for seam up") {
				said <- sc.Text()
			}
		}
	}()
	select {
	case l, ok := <-said:
		if !ok {
			down.Wait()
			t.Fatalf("seam down ended without saying it waits:\n%s%s", out.String(), errs.String())
		}
		if !strings.HasSuffix(l, "to stop its services (Ctrl-C to stop them at once)") {
			t.Errorf("seam down said %q", l)
		}
	case <-time.After(15 * time.Second):
		down.Process.Kill()
		down.Wait()
		t.Fatal("seam down did not say it waits within 15s")
	}
	down.Process.Signal(syscall.SIGINT)
	if !waitBounded(down, 10*time.Second) {
		t.Fatalf("seam down still running 10s after Ctrl-C:\n%s", out.String())
	}
	// Interrupted, seam down exits 130 as any seam command, having
	// stopped the environment all the same.
	if code := down.ProcessState.ExitCode(); code != 130 || !strings.Contains(out.String(), "stopped the environment of stubborn") {
		t.Errorf("seam down: exit %d\n%s", code, out.String())
	}
	if code := u.waitEnd(t); code != 130 {
		t.Errorf("seam up: exit %d; want 130\n%s", code, u.errors())
	}
	if e := u.errors(); !strings.Contains(e, "seam: stopping stubborn: waiting up to 30s after SIGTERM (Ctrl-C again to stop at once)") {
		t.Errorf("seam up did not say what it waits for:\n%s", e)
	}
	stubbornGone(t, dir)
	assertClean(t, state)
}
