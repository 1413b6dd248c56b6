package main_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// upProc is a seam up running in the background.
type upProc struct {
	cmd    *exec.Cmd
	stdout *os.File // the reading end of its output pipe
	mu     sync.Mutex
	out    strings.Builder
	stderr strings.Builder
	done   chan struct{}
}

// startUp starts seam up with args, its output on a pipe, and waits until
// it prints its address table.
func startUp(t *testing.T, env []string, dir string, args ...string) *upProc {
	t.Helper()
	cmd := exec.Command(seamBin, append([]string{"up"}, args...)...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.Dir = dir
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	u := &upProc{cmd: cmd, stdout: pr, done: make(chan struct{})}
	cmd.Stdout = pw
	cmd.Stderr = &syncWriter{mu: &u.mu, b: &u.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() { cmd.Wait(); close(u.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
		pr.Close()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			u.mu.Lock()
			u.out.WriteString(sc.Text() + "\n")
			u.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "stop with Ctrl-C") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-u.done:
		t.Fatalf("seam up ended: %v\n%s%s", cmd.ProcessState, u.output(), u.errors())
	case <-time.After(60 * time.Second):
		t.Fatalf("seam up never got ready:\n%s%s", u.output(), u.errors())
	}
	return u
}

type syncWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (u *upProc) output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

func (u *upProc) errors() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stderr.String()
}

func (u *upProc) running() bool {
	select {
	case <-u.done:
		return false
	default:
		return true
	}
}

// waitEnd waits for seam up to end and returns its exit code.
func (u *upProc) waitEnd(t *testing.T) int {
	t.Helper()
	select {
	case <-u.done:
		return u.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("seam up did not stop:\n%s%s", u.output(), u.errors())
		return -1
	}
}

// suiteCopy copies the services fixture into a folder of its own, under
// another suite name.
func suiteCopy(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	suite := strings.Replace(mustRead(t, "testdata/services/seam.yaml"), "name: e2e-services", "name: "+name, 1)
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUpIsReadableAndAttachRunsAgainstIt: seam up prints its progress and
// the address table, with no server banner before it; the output goes to
// the run's log; seam run --attach and seam reset work against it.
func TestUpIsReadableAndAttachRunsAgainstIt(t *testing.T) {
	env, state := isolated(t)
	svc := testService(t)
	u := startUp(t, env, "", "testdata/services", "--var", "svc="+svc)
	out := u.output()
	for _, re := range []string{
		`(?m)^seam up: e2e-services \(testdata/services/seam.yaml\)$`,
		`(?m)^  backend +ready in \d+\.\d\ds$`,
		`(?m)^  front +ready in \d+\.\d\ds$`,
		`(?m)^seam up: 2 services ready in \d+\.\d\ds \(builds \d+\.\d\ds, start \d+\.\d\ds\)$`,
		`(?m)^  backend +http://127\.0\.0\.1:\d+$`,
		`(?m)^log: .*/up\.log$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("seam up's output does not match %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "svc starting") {
		t.Errorf("a server banner came before the address table:\n%s", out)
	}
	logFile := regexp.MustCompile(`(?m)^log: (.*)$`).FindStringSubmatch(out)[1]
	if x := mustRead(t, logFile); !strings.Contains(x, "backend | svc starting on 127.0.0.1:") {
		t.Errorf("the run's log lacks the services' output:\n%s", x)
	}

	// One seam up per suite: a second says where the first is.
	if r := seamEnv(t, env, "up", "testdata/services", "--var", "svc="+svc); r.code != 3 ||
		!strings.Contains(r.stderr, "e2e-services is already up (pid") {
		t.Errorf("a second seam up of the suite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The suite's tests run in seam up's process, against its services.
	r := seamEnv(t, env, "run", "--attach", "testdata/services", "--report", "junit="+filepath.Join(t.TempDir(), "j.xml"))
	if r.code != 0 || !strings.Contains(r.stdout, "PASS both up") || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Fatalf("run --attach: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Same exit codes: a filter that matches nothing is a usage error.
	if r := seamEnv(t, env, "run", "--attach", "testdata/services", "--filter", "nothing-like-this"); r.code != 2 ||
		!strings.Contains(r.stderr, "no test matches the filters") {
		t.Errorf("run --attach --filter nothing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Flags that shape the environment belong to seam up.
	if r := seamEnv(t, env, "run", "--attach", "testdata/services", "--var", "svc=x"); r.code != 2 ||
		!strings.Contains(r.stderr, "--var does not go with it (give it to seam up)") {
		t.Errorf("run --attach --var: exit %d\n%s", r.code, r.stderr)
	}
	r = seamEnv(t, env, "reset", "testdata/services")
	if r.code != 0 || !regexp.MustCompile(`seam reset: the data of e2e-services \(pid \d+\) is back at its baseline \(\d+\.\d ms\)`).MatchString(r.stdout) {
		t.Errorf("seam reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !u.running() {
		t.Fatal("seam up ended")
	}
	r = seamEnv(t, env, "down", "testdata/services")
	if r.code != 0 || !strings.Contains(r.stdout, "stopped the environment of e2e-services") {
		t.Errorf("seam down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if code := u.waitEnd(t); code != 0 {
		t.Errorf("seam up exit %d\n%s", code, u.errors())
	}
	if out := u.output(); !strings.Contains(out, "seam run --attach: 1 passed, 0 failed") || !strings.Contains(out, "seam up: stopped; nothing left running") {
		t.Errorf("seam up's output:\n%s", out)
	}
	assertClean(t, state)
}

// TestAttachAndResetWithoutUp: with no seam up holding the suite, both say
// to start one, exit 3.
func TestAttachAndResetWithoutUp(t *testing.T) {
	env, _ := isolated(t)
	for _, args := range [][]string{{"run", "--attach", "testdata/services"}, {"reset", "testdata/services"}} {
		r := seamEnv(t, env, args...)
		if r.code != 3 || !strings.Contains(r.stderr, "no seam up holds") || !strings.Contains(r.stderr, "start one first: seam up testdata/services") {
			t.Errorf("seam %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// TestTwoUpsAndDownInOneFolder: two seam up of different suites at once;
// seam down in one suite's folder stops that one and says the other is up;
// seam down --all stops the other.
func TestTwoUpsAndDownInOneFolder(t *testing.T) {
	env, state := isolated(t)
	svc := testService(t)
	a, b := suiteCopy(t, "alpha"), suiteCopy(t, "beta")
	ua := startUp(t, env, a, "--var", "svc="+svc)
	ub := startUp(t, env, b, "--var", "svc="+svc)

	cmd := exec.Command(seamBin, "down")
	cmd.Dir = a
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seam down in %s: %v\n%s", a, err, out)
	}
	if code := ua.waitEnd(t); code != 0 {
		t.Errorf("alpha's seam up: exit %d", code)
	}
	want := regexp.MustCompile(`(?s)stopped the environment of alpha \(pid \d+\).*1 other environment is up: beta \(pid \d+\); seam down --all stops them`)
	if !want.Match(out) {
		t.Errorf("seam down in alpha's folder:\n%s", out)
	}
	time.Sleep(100 * time.Millisecond)
	if !ub.running() {
		t.Fatalf("seam down in alpha's folder stopped beta:\n%s", ub.output())
	}
	// A run of its own (which reaps crashed runs first) leaves the live
	// seam up alone.
	if r := seamEnv(t, env, "run", b, "--var", "svc="+svc); r.code != 0 || !ub.running() {
		t.Errorf("seam run beta beside its seam up: exit %d, up running %v\n%s%s", r.code, ub.running(), r.stdout, r.stderr)
	}
	if r := seamEnv(t, env, "run", "--attach", b); r.code != 0 {
		t.Errorf("run --attach beta after alpha went down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Only alpha's is gone: attach to it says so.
	if r := seamEnv(t, env, "run", "--attach", a); r.code != 3 {
		t.Errorf("run --attach alpha after down: exit %d", r.code)
	}
	r := seamEnv(t, env, "down", "--all")
	if r.code != 0 || !strings.Contains(r.stdout, "stopped the environment of beta") {
		t.Errorf("seam down --all: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ub.waitEnd(t)
	assertClean(t, state)
}

// TestUpStopsCleanlyOnSIGPIPEAndSIGHUP: seam up | head, and a closed
// terminal, stop seam up the way Ctrl-C does: nothing is left.
func TestUpStopsCleanlyOnSIGPIPEAndSIGHUP(t *testing.T) {
	svc := testService(t)
	t.Run("pipe closed", func(t *testing.T) {
		env, state := isolated(t)
		u := startUp(t, env, "", "testdata/services", "--var", "svc="+svc, "-v")
		u.stdout.Close() // head has read its lines and exited
		if code := u.waitEnd(t); code != 0 {
			t.Errorf("exit %d\n%s", code, u.errors())
		}
		if strings.Contains(u.cmd.ProcessState.String(), "broken pipe") {
			t.Errorf("seam up died of SIGPIPE: %v", u.cmd.ProcessState)
		}
		assertClean(t, state)
	})
	t.Run("hangup", func(t *testing.T) {
		env, state := isolated(t)
		u := startUp(t, env, "", "testdata/services", "--var", "svc="+svc)
		u.cmd.Process.Signal(syscall.SIGHUP)
		if code := u.waitEnd(t); code != 0 {
			t.Errorf("exit %d: %v\n%s", code, u.cmd.ProcessState, u.errors())
		}
		assertClean(t, state)
	})
}

// TestPostgresResetAndAttach: data written from outside (a client of the
// URL seam up prints) is gone after seam reset; seam run --attach runs the
// suite on the held server, each test from the baseline, twice in a row.
func TestPostgresResetAndAttach(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	u := startUp(t, env, "", "testdata/postgres")
	m := regexp.MustCompile(`(?m)^  db +(postgres://\S+)$`).FindStringSubmatch(u.output())
	if m == nil {
		t.Fatalf("no db URL in seam up's table:\n%s", u.output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "select count(*) from customers").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := conn.Exec(ctx, "insert into customers (name) values ('by hand'), ('again')"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Fatalf("customers before reset: %d, want 4", n)
	}
	if r := seamEnv(t, env, "reset", "testdata/postgres"); r.code != 0 {
		t.Fatalf("seam reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := count(); n != 2 {
		t.Errorf("customers after seam reset: %d, want the baseline's 2", n)
	}
	for i := range 2 {
		if _, err := conn.Exec(ctx, "insert into customers (name) values ('left over')"); err != nil {
			t.Fatal(err)
		}
		r := seamEnv(t, env, "run", "--attach", "testdata/postgres")
		if r.code != 0 || !strings.Contains(r.stdout, "5 passed, 0 failed") {
			t.Fatalf("run --attach #%d: exit %d\n%s%s", i+1, r.code, r.stdout, r.stderr)
		}
	}
	conn.Close(ctx)
	// The table shows the password (the user asked for the URL) and the
	// control token; the run's logs show neither, and are the user's alone.
	pw := conn.Config().Password
	if len(pw) != 32 || pw == "seam" {
		t.Errorf("the environment's password is %q, want a random one", pw)
	}
	tok := regexp.MustCompile(`SEAM_CONTROL_TOKEN=([0-9a-f]{32})`).FindStringSubmatch(u.output())
	if tok == nil {
		t.Errorf("seam up's table lacks the control token:\n%s", u.output())
	}
	logs, _ := filepath.Glob(filepath.Join(state, "logs", "*", "up.log"))
	if len(logs) == 0 {
		t.Fatalf("no up.log under %s", state)
	}
	for _, f := range logs {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), pw) || tok != nil && strings.Contains(string(data), tok[1]) {
			t.Errorf("%s holds a secret:\n%s", f, data)
		}
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode())
		}
		if st, err := os.Stat(filepath.Dir(f)); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want the user's alone", filepath.Dir(f), st.Mode())
		}
	}
	if r := seamEnv(t, env, "down", "testdata/postgres"); r.code != 0 {
		t.Errorf("seam down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	u.waitEnd(t)
	assertClean(t, state)
}

// TestRunStopsWhenItsOutputPipeCloses: seam run | head stops the run and
// leaves nothing, even while a test is quiet.
func TestRunStopsWhenItsOutputPipeCloses(t *testing.T) {
	env, state := isolated(t)
	cmd := exec.Command(seamBin, "run", "testdata/services", "--var", "svc="+testService(t), "--var", "hang=true")
	cmd.Env = append(os.Environ(), env...)
	pr, pw, _ := os.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ids := runIDs(t, state); len(ids) == 1 && len(marked(ids[0])) >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	pr.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("seam run went on after its output pipe closed")
	}
	if st := cmd.ProcessState; st.ExitCode() != 1 {
		t.Errorf("seam run: %v, want exit 1 (interrupted)", st)
	}
	assertClean(t, state)
}
