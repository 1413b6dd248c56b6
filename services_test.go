package seam_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/seamtest/seam"
)

// recorder is a test whose failures and log are recorded, not reported
// (FailNow ends the goroutine that called it), for tests of how seam fails
// a test. Cleanup, TempDir and Context are the real test's.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	log    []string
	failed bool
}

func (r *recorder) Log(args ...any)                 { r.add(fmt.Sprintln(args...)) }
func (r *recorder) Logf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Error(args ...any)               { r.Log(args...); r.Fail() }
func (r *recorder) Errorf(format string, args ...any) {
	r.Logf(format, args...)
	r.Fail()
}
func (r *recorder) Fatal(args ...any) { r.Log(args...); r.FailNow() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Logf(format, args...)
	r.FailNow()
}
func (r *recorder) FailNow() { r.Fail(); runtime.Goexit() }

func (r *recorder) Fail() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, strings.TrimSuffix(s, "\n"))
	r.mu.Unlock()
}

// text is what was logged, a line each.
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.log, "\n")
}

// fatal runs f with a recorder over t, in a goroutine of its own, and
// returns what it logged ("" if nothing).
func fatal(t *testing.T, f func(t testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.text()
}

// The problems of services declared in code are told by the Go that
// declared them, never by the suite file seam writes for them (which the
// user never wrote, and UpServices has removed).
func TestServicesInCodeProblemsNameTheGo(t *testing.T) {
	bad := func() []*seam.Service {
		return []*seam.Service{
			seam.StubService("catalog", "testdata/stubs/nosuch"),
			seam.Process("cart", "((bin))", "-listen", "((adr))").Build("go build -o ((bin)) ./cart").
				Env("CATALOG_URL", `((service("catalgo").url))`).DependsOn("catalgo"),
		}
	}
	want := []string{
		"seam: the services given to StartServices have 4 problem(s):",
		`seam.Process("cart").DependsOn("catalgo"): service "cart" depends on "catalgo", which is not a service of this suite`,
		`hint: did you mean "catalog"?`,
		`seam.Process("cart", …), argument "((adr))": undefined variable "adr"`,
		`seam.Process("cart").Env("CATALOG_URL", …): `,
		`seam.StubService("catalog", …), mappings "`,
	}
	msg := fatal(t, func(t testing.TB) { seam.StartServices(t, bad()...) })
	up, err := seam.UpServices(bad()...)
	if err == nil {
		up.Close()
		t.Fatal("UpServices: no error")
	}
	for name, msg := range map[string]string{"StartServices": msg, "UpServices": err.Error()} {
		for _, w := range want {
			if !strings.Contains(msg, strings.ReplaceAll(w, "StartServices", name)) {
				t.Errorf("%s: the message lacks %q:\n%s", name, w, msg)
			}
		}
		if strings.Contains(msg, "seam.yaml") || strings.Contains(msg, "((adr))\n") || strings.Contains(msg, " | ") {
			t.Errorf("%s: the message shows the suite file:\n%s", name, msg)
		}
	}

	// A process that cannot start: the failure names it.
	msg = fatal(t, func(t testing.TB) { seam.StartServices(t, seam.Process("quits", "false").ReadyLog("never")) })
	if !strings.Contains(msg, `seam: the environment could not start:`) || !strings.Contains(msg, `seam.Process("quits")`) ||
		strings.Contains(msg, "seam.yaml") {
		t.Errorf("a process that exits at once:\n%s", msg)
	}
	if msg := fatal(t, func(t testing.TB) { seam.StartServices(t, nil) }); msg != "seam: StartServices: service 1 of 1 is nil" {
		t.Errorf("a nil service: %q", msg)
	}
}

// Options that choose or schedule a suite's tests are Run's: Start and Up
// refuse them rather than ignore them.
func TestStartRefusesRunsOptions(t *testing.T) {
	msg := fatal(t, func(t testing.TB) { seam.Start(t, "examples/shop", seam.Parallel(), seam.Tags("orders")) })
	if !strings.Contains(msg, "seam: Start: the option(s) Tags, Parallel choose or schedule a suite's tests, and Start starts the services only") {
		t.Errorf("Start: %q", msg)
	}
	env, err := seam.Up(t.Context(), "examples/shop", seam.ExcludeTags("browser"))
	if err == nil {
		env.Close()
		t.Fatal("Up took ExcludeTags")
	}
	if !strings.Contains(err.Error(), "seam: Up: the option(s) ExcludeTags choose or schedule") {
		t.Errorf("Up: %v", err)
	}
}

// A negative count other than AtLeastOnce is a mistake, not a count that
// no number of requests can meet.
func TestVerifyRefusesNegativeCounts(t *testing.T) {
	var env *seam.Env
	msg := fatal(t, func(t testing.TB) {
		env = seam.StartServices(t, seam.StubService("pay", "testdata/stubs/pay"), seam.StubService("shop").DependsOn("pay"))
		env.VerifyInteractions(seam.Edge{From: "shop", To: "pay"}, -5)
		t.Log("went on")
	})
	if want := "seam: VerifyInteractions: count -5: want 0 or more (exactly that many), or seam.AtLeastOnce (one or more)"; msg != want {
		t.Errorf("VerifyInteractions:\n%s\nwant %s", msg, want)
	}
	msg = fatal(t, func(t testing.TB) {
		env := env.Attach(t)
		env.Stub("pay").Verify(seam.Match{Path: "/charges"}, -7)
		t.Log("went on")
	})
	if want := "seam: stub pay: Stub.Verify: count -7: want 0 or more (exactly that many), or seam.AtLeastOnce (one or more)"; msg != want {
		t.Errorf("Stub.Verify:\n%s\nwant %s", msg, want)
	}
	msg = fatal(t, func(t testing.TB) {
		env := env.Attach(t)
		env.VerifyInteractions(seam.Edge{From: "shop", To: "pay"}, 0)
		env.Stub("pay").Verify(seam.Match{Path: "/charges"}, 0)
		env.Stub("pay").Verify(seam.Match{Path: "/charges"}, seam.AtLeastOnce)
	})
	if !strings.HasPrefix(msg, "seam: stub pay: 0 request(s) matched ANY /charges; want at least 1") || strings.Contains(msg, "count") {
		t.Errorf("counts 0 and AtLeastOnce:\n%s", msg)
	}
}
