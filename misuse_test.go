package seam_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMisuseNeverKillsTheBinary runs testdata/misuse, a test package that
// misuses the Go API each way a user might (an Env kept past its test,
// used by another test or by a goroutine after its test returned, used in
// a cleanup after it stopped, an Env from Up used after Close or without
// Attach), each case in a binary of its own. Each binary must end
// normally (no panic), fail the right test with the right text, and leave
// no run record, folder or process behind.
func TestMisuseNeverKillsTheBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "misuse.test")
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := append(append([]string{"test", "-c", "-o", bin}, raceFlags...), "./testdata/misuse")
	if out, err := exec.Command(gotool, args...).CombinedOutput(); err != nil {
		t.Fatalf("building testdata/misuse: %v\n%s", err, out)
	}
	stopped := "seam: the environment is stopped (its test ended, or Close was called)"
	for _, tc := range []struct {
		name string
		exit int      // 0 or 1; 2 only where the test panics itself
		fail []string // tests that must fail
		pass []string // tests that must pass
		want []string // text the output must hold
		not  []string // text it must not hold
	}{
		{"kept", 1, []string{"TestKept"}, []string{"TestKept/inner"}, []string{
			"misuse_test.go:62: " + stopped, "(reported after TestKept/inner ended", "misuse_test.go:63: still running"}, nil},
		{"other", 1, nil, []string{"TestOtherOwner", "TestOtherUser"}, []string{
			"misuse_test.go:76: " + stopped, "(reported after TestOtherOwner ended", "other user went on"}, nil},
		{"goroutine", 1, nil, []string{"TestGoroutineOwner", "TestGoroutineLater"}, []string{
			"misuse_test.go:92: " + stopped, "misuse_test.go:93: " + stopped, "misuse_test.go:94: " + stopped}, nil},
		{"cleanup", 1, []string{"TestCleanupOrder"}, nil, []string{"misuse_test.go:112: " + stopped}, nil},
		{"upclosed", 1, []string{"TestUpClosed"}, nil, []string{"misuse_test.go:123: " + stopped, "misuse_test.go:126: " + stopped}, nil},
		{"unattached", 1, []string{"TestUnattached"}, nil, []string{
			`misuse_test.go:136: seam: no service "nope"; the services are: pay, srv`, "the test went on"}, nil},
		{"testmain", 0, nil, []string{"TestUnattachedClose"}, []string{`misuse_test.go:144: seam: service "srv" has no port named "admin"`}, nil},
		{"parallel", 0, nil, []string{"TestParallelSubtests/a", "TestParallelSubtests/b"}, nil, nil},
		{"attachedkept", 1, nil, []string{"TestAttachedKeptOwner"}, []string{
			"misuse_test.go:181: seam: this Env is attached to TestAttachedKeptOwner, which has ended", "the user went on"}, nil},
		{"parallelattach", 1, []string{"TestParallelAttach/group/b"}, []string{"TestParallelAttach/group/a"}, []string{
			"seam: Attach while TestParallelAttach/group/a is attached to this environment and still running (in parallel?)"}, nil},
		// The cases below share one environment of testdata/misuse/shared
		// between tests, as a TestMain would.
		{"noedge", 1, []string{"TestNoEdge/pay-srv", "TestNoEdge/srv-kv", "TestNoEdge/srv-seed", "TestNoEdge/srv-nope",
			"TestNoEdge/interactions", "TestNoEdge/fault"}, []string{"TestNoEdge/wired"}, []string{
			"seam: seam.Edge pay→srv: pay→srv is not an edge: pay does not depend on srv (pay depends on nothing; add depends_on: [srv] to pay",
			"seam: seam.Edge srv→kv: the edge srv→kv is wire: false, so seam's wire does not record its traffic",
			"seam: seam.Edge srv→seed: seed is a job, so the edge srv→seed has no wire",
			`seam: seam.Edge srv→nope: no service "nope"; the services are: kv, pay, seed, srv`,
			"seam: fault on pay→srv: pay→srv is not an edge: pay does not depend on srv"}, []string{"went on after the check"}},
		{"firstattach", 0, nil, []string{"TestBeforeAttach", "TestFirstAttach"}, nil, nil},
		{"nested", 0, nil, []string{"TestNested/child", "TestNested/cleared", "TestNested", "TestNestedNext"}, nil, nil},
		{"parentview", 1, []string{"TestParentView"}, []string{"TestParentView/child"}, []string{
			`shared_test.go:239: seam: no service "nope"`,
			"(this Env is attached to TestParentView, and was used from another test's goroutine: a subtest? " +
				"Attach the Env to the subtest that uses it: env := env.Attach(t))",
			"the child went on", "the parent went on"}, []string{"FailNow on a parent test"}},
		{"joblogs", 0, nil, []string{"TestJobLogs"}, nil, nil},
		{"panic", 2, []string{"TestPanics"}, nil, []string{"seam: suspicious interactions, likeliest cause first:",
			"1. srv→pay | POST /charges → 503 Service Unavailable", "seam: components' log lines during TestPanics:",
			"panic: assignment to entry in nil map"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tmp, state := filepath.Join(dir, "tmp"), filepath.Join(dir, "state")
			os.Mkdir(tmp, 0o755)
			mark := fmt.Sprintf("MISUSE_MARK=%d-%s", os.Getpid(), tc.name)
			cmd := exec.Command(bin, "-test.v", "-test.count=1", "-test.timeout=60s")
			cmd.Dir = "testdata/misuse"
			cmd.Env = append(os.Environ(), "MISUSE_CASE="+tc.name, "TMPDIR="+tmp, "SEAM_STATE_DIR="+state, mark)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if code != tc.exit || tc.exit != 2 && strings.Contains(text, "panic:") {
				t.Errorf("exit code %d, want %d (and no panic but the test's own):\n%s", code, tc.exit, text)
			}
			for _, name := range tc.fail {
				if !strings.Contains(text, "--- FAIL: "+name+" ") {
					t.Errorf("%s did not fail:\n%s", name, text)
				}
			}
			for _, name := range tc.pass {
				if !strings.Contains(text, "--- PASS: "+name+" ") {
					t.Errorf("%s did not pass:\n%s", name, text)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("output has %q:\n%s", w, text)
				}
			}
			left, _ := filepath.Glob(filepath.Join(tmp, "*"))
			runs, _ := filepath.Glob(filepath.Join(state, "runs", "*"))
			if len(left)+len(runs) > 0 {
				t.Errorf("left behind: temp %q, run records %q", left, runs)
			}
			if pids := marked(mark, 2*time.Second); len(pids) > 0 {
				t.Errorf("processes left running: %v", pids)
			}
		})
	}
}

// marked lists the processes whose environment holds mark, waiting up to
// wait for them to go (a stopped child may take a moment to be reaped).
func marked(mark string, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		var pids []string
		procs, _ := filepath.Glob("/proc/[0-9]*/environ")
		for _, p := range procs {
			data, err := os.ReadFile(p)
			if err == nil && bytes.Contains(data, []byte(mark+"\x00")) {
				pids = append(pids, filepath.Base(filepath.Dir(p)))
			}
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}
