// Package misuse misuses seam's Go API on purpose, each way a user might.
// seam's TestMisuseNeverKillsTheBinary builds it with go test -c and runs
// each case (MISUSE_CASE) in a binary of its own, checking that the binary
// ends normally, the right test fails with the right text, and nothing is
// left behind. Run alone, every test skips.
package misuse

import (
	"os"
	"strings"
	"testing"

	"github.com/seamtest/seam"
)

// TestMain doubles as the service the tests start: with MISUSE_SERVE set,
// the binary serves HTTP on $SEAM_ADDR until it is stopped; with
// MISUSE_JOB set, it is a job (serve, in shared_test.go). Otherwise it runs
// the tests, and then closes the environment of shared/ if they started it.
func TestMain(m *testing.M) {
	if os.Getenv("MISUSE_SERVE") != "" || os.Getenv("MISUSE_JOB") != "" {
		serve()
		return
	}
	self, _ := os.Executable()
	os.Setenv("MISUSE_BIN", self) // the suite of shared/ starts this binary by this name
	code := m.Run()
	code = closeShared(code)
	os.Exit(code)
}

func only(t *testing.T, name string) {
	if os.Getenv("MISUSE_CASE") != name {
		t.Skip("run by seam's TestMisuseNeverKillsTheBinary")
	}
}

// start starts a process (this binary, serving) and a stub.
func start(t testing.TB) *seam.Env {
	self, _ := os.Executable()
	return seam.StartServices(t,
		seam.Process("srv", self).Env("MISUSE_SERVE", "1").ReadyHTTP("/"),
		seam.StubService("pay", "../stubs/pay"),
	)
}

func up(t *testing.T) *seam.Env {
	self, _ := os.Executable()
	env, err := seam.UpServices(seam.Process("srv", self).Env("MISUSE_SERVE", "1").ReadyHTTP("/"),
		seam.StubService("pay", "../stubs/pay"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// kept: a subtest's Env used by its parent after the subtest ended.
func TestKept(t *testing.T) {
	only(t, "kept")
	var env *seam.Env
	t.Run("inner", func(t *testing.T) { env = start(t) })
	t.Log("after inner:", env.URL("srv"))
	t.Log("still running")
}

var shared *seam.Env

// other: one top-level test's Env used by the next.
func TestOtherOwner(t *testing.T) {
	only(t, "other")
	shared = start(t)
}

func TestOtherUser(t *testing.T) {
	only(t, "other")
	shared.Stub("pay").Verify(seam.Match{Path: "/charges"}, 1)
	t.Log("other user went on")
}

var (
	release = make(chan struct{})
	done    = make(chan string)
)

// goroutine: a goroutine of one test uses its Env after the test returned.
func TestGoroutineOwner(t *testing.T) {
	only(t, "goroutine")
	env := start(t)
	pay := env.Stub("pay")
	go func() {
		<-release
		u := env.URL("srv")
		pay.Add(`{"request": {"urlPath": "/x"}, "response": {"status": 200}}`)
		env.VerifyInteractions(seam.Edge{From: "srv", To: "pay"}, 1)
		done <- u
	}()
}

func TestGoroutineLater(t *testing.T) {
	only(t, "goroutine")
	close(release)
	if u := <-done; u != "" {
		t.Errorf("a stopped environment's URL: %q, want empty", u)
	}
}

// cleanup: a cleanup registered before Start runs after the environment
// stopped, while the test can still report.
func TestCleanupOrder(t *testing.T) {
	only(t, "cleanup")
	var env *seam.Env
	t.Cleanup(func() { env.URL("srv") })
	env = start(t)
}

// upclosed: an Env from Up used after Close, in a test that never attached it.
func TestUpClosed(t *testing.T) {
	only(t, "upclosed")
	env := up(t)
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if u := env.URL("srv"); u != "" {
		t.Errorf("URL after Close: %q, want empty", u)
	}
	env.Attach(t).URL("srv")
}

// unattached: an Env from Up misused without Attach while an attached test
// runs: that test fails.
func TestUnattached(t *testing.T) {
	only(t, "unattached")
	env := up(t)
	defer env.Close()
	env.Attach(t)
	env.URL("nope")
	t.Log("the test went on")
}

// testmain: an Env from Up misused with no test attached: Close says so.
func TestUnattachedClose(t *testing.T) {
	only(t, "testmain")
	env := up(t)
	env.Port("srv", "admin")
	err := env.Close()
	if err == nil || !strings.Contains(err.Error(), `service "srv" has no port named "admin"`) {
		t.Errorf("Close: %v; want the misuse", err)
	}
}

// parallel: an Env started by a parent used by its parallel subtests after
// the parent's function returned (allowed: it lives until they end), and
// after Close by one of them.
func TestParallelSubtests(t *testing.T) {
	only(t, "parallel")
	env := start(t)
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if env.URL("srv") == "" {
				t.Error("no URL")
			}
		})
	}
}

var kept *seam.Env // an attached view, kept past its test

// attachedkept: a view attached to one test, of an Env from Up, used by
// the next test, which has attached its own.
func TestAttachedKeptOwner(t *testing.T) {
	only(t, "attachedkept")
	shared = up(t)
	kept = shared.Attach(t)
}

func TestAttachedKeptUser(t *testing.T) {
	only(t, "attachedkept")
	defer shared.Close()
	shared.Attach(t)
	if u := kept.URL("srv"); u != "" {
		t.Errorf("a view of an ended test gave URL %q, want empty", u)
	}
	t.Log("the user went on")
}

// parallelattach: parallel subtests each attach the one shared Env: the
// second to attach fails, naming the first, instead of resetting the data
// under it.
func TestParallelAttach(t *testing.T) {
	only(t, "parallelattach")
	env := up(t)
	defer env.Close()
	started, tried := make(chan struct{}), make(chan struct{})
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if name == "b" {
					<-started
					defer close(tried)
				}
				env.Attach(t)
				if name == "a" {
					close(started)
					<-tried // still attached while b attaches
				}
			})
		}
	})
}
