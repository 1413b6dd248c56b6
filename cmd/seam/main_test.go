package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seamBin is the seam binary built once for these end-to-end tests.
var seamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seam-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	seamBin = filepath.Join(dir, "seam")
	if out, err := exec.Command("go", "build", "-o", seamBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building seam: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// system is a small HTTP service the suites under testdata/e2e test.
type system struct {
	*httptest.Server
	requests atomic.Int32
	release  chan struct{}
}

func startSystem(t *testing.T) *system {
	t.Helper()
	s := &system{release: make(chan struct{})}
	var mu sync.Mutex
	orders := map[string]map[string]any{}
	next := 1166000
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"ok": true}`)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		next += 1860
		in["id"] = next
		orders[fmt.Sprint(next)] = in
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(in)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		o, ok := orders[r.PathValue("id")]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"query": r.URL.RawQuery, "body": body.String(),
			"headers": map[string]string{"X-Trace": r.Header.Get("X-Trace")}})
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is down", 500)
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

type result struct {
	code           int
	stdout, stderr string
}

func seam(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(seamBin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("seam %s hung; output:\n%s%s", strings.Join(args, " "), out.String(), errb.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

func TestRunPassingSuiteWritesReports(t *testing.T) {
	sys := startSystem(t)
	dir := t.TempDir()
	junit, events := filepath.Join(dir, "r", "junit.xml"), filepath.Join(dir, "events.jsonl")
	r := seam(t, "run", "../../testdata/e2e/pass", "--var", "base="+sys.URL,
		"--report", "junit="+junit, "--report", "json="+events, "--parallel", "2", "--seed", "99")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"(seed 99)", "PASS health", "PASS create and read an order", "PASS form and query", "PASS exec and json stdout", "4 passed, 0 failed, 0 skipped"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	x, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(x), `tests="4" failures="0" errors="0" skipped="0"`) {
		t.Errorf("junit report: %v\n%s", err, x)
	}
	data, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var first, last map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first["type"] != "run_start" || last["type"] != "run_end" || first["seed"] != float64(99) {
		t.Errorf("event log from %v to %v", first, last)
	}
}

func TestRunFailingSuiteShowsTheFailure(t *testing.T) {
	sys := startSystem(t)
	junit := filepath.Join(t.TempDir(), "junit.xml")
	events := filepath.Join(t.TempDir(), "events.jsonl")
	r := seam(t, "run", "../../testdata/e2e/fail/seam.yaml", "--var", "base="+sys.URL, "--report", "junit="+junit, "--report", "json="+events)
	// The saved event log renders the same failure again.
	again := filepath.Join(t.TempDir(), "again.xml")
	rr := seam(t, "report", events, "--junit", again)
	if rr.code != 1 || !strings.Contains(rr.stdout, "status: got 500; want 200") || !strings.Contains(rr.stdout, "1 passed, 2 failed") {
		t.Errorf("seam report: exit %d\n%s%s", rr.code, rr.stdout, rr.stderr)
	}
	if x, _ := os.ReadFile(again); !strings.Contains(string(x), `failures="2"`) {
		t.Errorf("re-rendered junit:\n%s", x)
	}
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`../../testdata/e2e/fail/seam.yaml:9:11: step "GET ((base))/broken": status: got 500; want 200`,
		"database is down", // the response excerpt
		"GET " + sys.URL + "/broken",
		`body: got {"ok":true}; want {"ok":false}`,
		"PASS fine",
		"1 passed, 2 failed, 0 skipped",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	x, _ := os.ReadFile(junit)
	if !strings.Contains(string(x), `failures="2"`) || !strings.Contains(string(x), "seam.yaml:9:11") {
		t.Errorf("junit:\n%s", x)
	}
}

func TestRunFailFastStopsEarly(t *testing.T) {
	sys := startSystem(t)
	r := seam(t, "run", "../../testdata/e2e/fail", "--var", "base="+sys.URL, "--fail-fast")
	if r.code != 1 || !strings.Contains(r.stdout, "0 passed, 1 failed, 2 skipped") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	sys := startSystem(t)
	start := time.Now()
	r := seam(t, "run", "../../testdata/e2e/hang", "--var", "base="+sys.URL)
	if r.code != 1 || !strings.Contains(r.stdout, "step timed out after 300ms") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestSelection(t *testing.T) {
	sys := startSystem(t)
	r := seam(t, "run", "../../testdata/e2e/pass", "--var", "base="+sys.URL, "--tags", "orders", "--exclude-tags", "slow")
	if r.code != 0 || !strings.Contains(r.stdout, "1 passed, 0 failed") || !strings.Contains(r.stdout, "create and read") {
		t.Errorf("--tags/--exclude-tags: exit %d\n%s", r.code, r.stdout)
	}
	r = seam(t, "run", "../../testdata/e2e/pass", "--var", "base="+sys.URL, "--filter", "^health$")
	if r.code != 0 || !strings.Contains(r.stdout, "1 passed") || !strings.Contains(r.stdout, "PASS health") {
		t.Errorf("--filter: exit %d\n%s", r.code, r.stdout)
	}
	r = seam(t, "run", "../../testdata/e2e/pass", "--filter", "nothing-matches")
	if r.code != 2 || !strings.Contains(r.stderr, "no test matches") {
		t.Errorf("empty selection: exit %d\n%s", r.code, r.stderr)
	}
}

func TestList(t *testing.T) {
	r := seam(t, "list", "../../testdata/e2e/pass")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"TEST", "health", "critical", "smoke", "form and query", "low", "orders,slow", "tests/orders.yaml:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInvalidSuiteRunsNothing(t *testing.T) {
	sys := startSystem(t)
	for _, cmd := range []string{"run", "validate"} {
		r := seam(t, cmd, "../../testdata/invalid/unknown-kind.yaml", "--var", "base="+sys.URL)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", cmd, r.code)
		}
		for _, want := range []string{
			`unknown-kind.yaml:6:9: steps[0]: unknown step kind "htp"`,
			"      - htp: GET",   // the excerpt
			"       |         ^", // the caret under column 9
			`hint: did you mean "http"?`,
			"nothing was run",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, r.stderr)
			}
		}
	}
	if n := sys.requests.Load(); n != 0 {
		t.Errorf("the system got %d requests from an invalid suite", n)
	}
	r := seam(t, "validate", "../../testdata/e2e/pass")
	if r.code != 0 || !strings.Contains(r.stdout, "ok, 4 tests") {
		t.Errorf("validate valid suite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "usage:"},
		{[]string{"rnu"}, `did you mean "seam run"?`},
		{[]string{"run", "--report", "xml=out.xml", "../../testdata/e2e/pass"}, `unknown report format "xml"`},
		{[]string{"run", "--parallel", "0", "../../testdata/e2e/pass"}, "--parallel must be at least 1"},
		{[]string{"run", "--nope", "../../testdata/e2e/pass"}, "flag provided but not defined: -nope"},
		{[]string{"run", "--filter", "a(", "../../testdata/e2e/pass"}, `--filter "a(": missing closing )`},
		{[]string{"run", "--var", "novalue", "../../testdata/e2e/pass"}, `--var "novalue": want NAME=VALUE`},
		{[]string{"run", "does/not/exist"}, "does/not/exist: no such file or folder"},
		{[]string{"run", "../../testdata"}, "no seam.yaml in this folder"},
		{[]string{"run", "a", "b"}, "want one DIR or FILE, got 2"},
	} {
		r := seam(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("seam %v: exit %d, stderr lacks %q:\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
}

func TestHelpSteps(t *testing.T) {
	r := seam(t, "help", "steps")
	if r.code != 0 || !strings.Contains(r.stdout, "## http") || !strings.Contains(r.stdout, "## exec") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
}

// Reusable steps run where they are used, with their parameters and
// defaults; what they capture is the test's.
func TestReusableSteps(t *testing.T) {
	r := seam(t, "run", "-v", "testdata/use")
	if r.code != 0 || !strings.Contains(r.stdout, "2 passed, 0 failed") || !strings.Contains(r.stdout, `step "greet ada › say › echo"`) {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
