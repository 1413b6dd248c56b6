package misuse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seamtest/seam"
)

// The cases below share one environment of shared/ between tests, as a
// TestMain would (seam.Up, then Attach in each test).

var (
	sharedOnce sync.Once
	sharedEnv  *seam.Env
	sharedErr  error
)

// sharedUp is the environment of shared/, started by the first test to ask
// (not attached to it); TestMain closes it.
func sharedUp(t *testing.T) *seam.Env {
	t.Helper()
	sharedOnce.Do(func() { sharedEnv, sharedErr = seam.Up(context.Background(), "shared") })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedEnv
}

// closeShared closes the shared environment if a test started it, and
// returns the binary's exit code: code, or 1 when Close fails (misuse no
// test reported).
func closeShared(code int) int {
	if sharedEnv == nil {
		return code
	}
	if err := sharedEnv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "closing the shared environment:", err)
		return 1
	}
	return code
}

// serve is the binary as a service of the suites: with MISUSE_JOB, a job
// that prints a line; otherwise a server on $SEAM_ADDR that answers "ok",
// and on /charge charges through the pay service it depends on (when it
// does), answering pay's status.
func serve() {
	if os.Getenv("MISUSE_JOB") != "" {
		fmt.Println("seeded the shop")
		return
	}
	l, err := net.Listen("tcp", os.Getenv("SEAM_ADDR"))
	if err != nil {
		os.Exit(1)
	}
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/charge" {
			w.Write([]byte("ok"))
			return
		}
		resp, err := http.Post(os.Getenv("SEAM_PAY_URL")+"/charges", "application/json", strings.NewReader(`{"amount": 5}`))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
}

func kv(t *testing.T, env *seam.Env) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(env.URL("kv"))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func kvGet(t *testing.T, env *seam.Env, key string) string {
	t.Helper()
	v, err := kv(t, env).Get(t.Context(), key).Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return v
}

func kvSet(t *testing.T, env *seam.Env, key, value string) {
	t.Helper()
	if err := kv(t, env).Set(t.Context(), key, value, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// charge has srv charge through pay, and checks the status srv answers
// (pay's, or a fault's in its place).
func charge(t *testing.T, env *seam.Env, want int) {
	t.Helper()
	if got := send(t, "GET", env.URL("srv")+"/charge"); got != want {
		t.Errorf("charge: %d; want %d", got, want)
	}
}

func send(t *testing.T, method, url string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(`{"amount": 5}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// noedge: checks of edges the wire does not record fail, rather than pass
// with nothing seen; so does a fault on one.
func TestNoEdge(t *testing.T) {
	only(t, "noedge")
	env := sharedUp(t).Attach(t)
	charge(t, env, 201)
	for _, e := range []seam.Edge{{From: "pay", To: "srv"}, {From: "srv", To: "kv"}, {From: "srv", To: "seed"}, {From: "srv", To: "nope"}} {
		t.Run(e.From+"-"+e.To, func(t *testing.T) {
			env := env.Attach(t)
			env.VerifyInteractions(e, 0)
			t.Error("went on after the check")
		})
	}
	t.Run("interactions", func(t *testing.T) {
		if got := env.Attach(t).Interactions(seam.Edge{From: "pay", To: "srv"}); got != nil {
			t.Errorf("interactions of no edge: %v", got)
		}
	})
	t.Run("fault", func(t *testing.T) { env.Attach(t).Fault("pay", "srv", seam.Fault{Latency: time.Millisecond}) })
	t.Run("wired", func(t *testing.T) {
		env := env.Attach(t)
		env.VerifyInteractions(seam.Edge{From: "srv", To: "pay"}, 0)
		charge(t, env, 201)
		env.VerifyInteractions(seam.Edge{From: "srv", To: "pay", Path: "/charges"}, 1)
	})
}

// firstattach: what a test changed on the shared environment without
// attaching it (a fault, a stub mapping, data) is gone for the first test
// that attaches it.
func TestBeforeAttach(t *testing.T) {
	only(t, "firstattach")
	env := sharedUp(t)
	env.Fault("srv", "pay", seam.Fault{HTTP: &seam.HTTPFault{Status: 503}})
	env.Stub("pay").Add(`{"priority": 1, "request": {"urlPath": "/charges"}, "response": {"status": 500}}`)
	kvSet(t, env, "left", "by a test that did not attach")
	charge(t, env, 503)
}

func TestFirstAttach(t *testing.T) {
	only(t, "firstattach")
	env := sharedUp(t).Attach(t)
	charge(t, env, 201)
	if v := kvGet(t, env, "left"); v != "" {
		t.Errorf("data written before the first Attach: %q", v)
	}
	env.VerifyInteractions(seam.Edge{From: "srv", To: "pay", Status: 201}, 1)
}

// nested: subtests attached under an attached test share its data,
// faults and mappings; what they add ends with them.
func TestNested(t *testing.T) {
	only(t, "nested")
	env := sharedUp(t).Attach(t)
	kvSet(t, env, "cart", "the parent's")
	env.Fault("srv", "pay", seam.Fault{HTTP: &seam.HTTPFault{Path: "/charges", Status: 503}})
	pay := env.Stub("pay")
	pay.Add(`{"request": {"urlPath": "/refunds"}, "response": {"status": 202}}`)
	charge(t, env, 503)
	t.Run("child", func(t *testing.T) {
		env := env.Attach(t)
		if v := kvGet(t, env, "cart"); v != "the parent's" {
			t.Errorf("the parent's data: %q", v)
		}
		charge(t, env, 503)
		env.VerifyInteractions(seam.Edge{From: "srv", To: "pay"}, 1) // its own span
		if code := send(t, "POST", env.URL("pay")+"/refunds"); code != 202 {
			t.Errorf("the parent's mapping: %d", code)
		}
		env.Fault("srv", "pay", seam.Fault{HTTP: &seam.HTTPFault{Status: 504}})
		charge(t, env, 504)
		env.Stub("pay").Add(`{"priority": 1, "request": {"urlPath": "/refunds"}, "response": {"status": 418}}`)
		if code := send(t, "POST", env.URL("pay")+"/refunds"); code != 418 {
			t.Errorf("the child's mapping: %d", code)
		}
		env.Stub("pay").Verify(seam.Match{Path: "/refunds"}, 2)
		kvSet(t, env, "child", "written")
	})
	t.Run("cleared", func(t *testing.T) {
		env := env.Attach(t)
		env.ClearFaults("srv", "pay")
		charge(t, env, 201)
	})
	// The parent's faults and mappings again; the children's data stays.
	charge(t, env, 503)
	if code := send(t, "POST", env.URL("pay")+"/refunds"); code != 202 {
		t.Errorf("the parent's mapping after the subtests: %d", code)
	}
	if v := kvGet(t, env, "child"); v != "written" {
		t.Errorf("the child's data: %q", v)
	}
	env.VerifyInteractions(seam.Edge{From: "srv", To: "pay"}, 5)
	pay.Verify(seam.Match{Path: "/refunds"}, 3)
}

// nestednext: the test after one whose subtests attached starts from the
// baseline, with no fault or mapping of theirs.
func TestNestedNext(t *testing.T) {
	only(t, "nested")
	env := sharedUp(t).Attach(t)
	charge(t, env, 201)
	if v := kvGet(t, env, "child"); v != "" {
		t.Errorf("data of the test before: %q", v)
	}
}

// parentview: a subtest uses its parent's view without attaching it.
func TestParentView(t *testing.T) {
	only(t, "parentview")
	env := sharedUp(t).Attach(t)
	t.Run("child", func(t *testing.T) {
		env.URL("nope")
		t.Log("the child went on")
	})
	t.Log("the parent went on")
}

// joblogs: a job's output is its logs.
func TestJobLogs(t *testing.T) {
	only(t, "joblogs")
	env := sharedUp(t).Attach(t)
	if logs := env.Logs("seed"); !slices.Contains(logs, "seeded the shop") {
		t.Errorf("the job's logs: %q", logs)
	}
	if logs := env.Logs("srv"); len(logs) != 0 {
		t.Errorf("srv's logs: %q", logs)
	}
	fmt.Fprintln(os.Stderr, "joblogs done")
}

// panic: a test that panics shows, as one that fails, the interactions
// most likely to blame and the components' lines during it.
func TestPanics(t *testing.T) {
	only(t, "panic")
	env := seam.Start(t, "shared")
	env.Fault("srv", "pay", seam.Fault{HTTP: &seam.HTTPFault{Status: 503}})
	charge(t, env, 503)
	var m map[string]int
	m["x"]++
}
