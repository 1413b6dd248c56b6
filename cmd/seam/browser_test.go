package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBrowserSteps: a real Chromium drives testdata/webapp (two services
// reading a settings file): login with a cookie session, a list a script
// fills late (auto-wait), cookies, storage, eval, hover, upload, keys, a
// screenshot, a fresh context per test; its requests are interactions on
// browser→web and browser→api.
func TestBrowserSteps(t *testing.T) {
	env, _ := isolated(t)
	r := seamEnv(t, env, "run", "testdata/webapp", "--report", "json="+filepath.Join(t.TempDir(), "run.jsonl"))
	if r.code != 0 {
		t.Fatalf("exit %d; want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "7 passed") || !strings.Contains(r.stdout, "2 of 2 edges exercised") {
		t.Errorf("output:\n%s", r.stdout)
	}
}

// TestBrowserFailures: a selector that never appears fails at the step's
// timeout with what the page shows instead and a screenshot and the page's
// HTML; an uncaught exception fails a step with console_errors: fail and
// is the browser's log line.
func TestBrowserFailures(t *testing.T) {
	env, _ := isolated(t)
	out := t.TempDir()
	junit, page := filepath.Join(out, "junit.xml"), filepath.Join(out, "report.html")
	r := seamEnv(t, env, "run", "testdata/webapp-broken", "--report", "junit="+junit, "--report", "html="+page)
	if r.code != 1 {
		t.Fatalf("exit %d; want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`webapp-broken/seam.yaml:17:9: step "browser": step timed out after 2s: click text=Sign in: no element matches`,
		`shows, closest first: textbox "Your name" (input#name); button "Log in" (button)`,
		"uncaught TypeError: Cannot read properties of null (reading 'boom')",
		"browser | uncaught TypeError",
		"browser→web | GET /home → 200 OK",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	shots := regexp.MustCompile(`screenshot: (\S+)`).FindAllStringSubmatch(r.stdout, -1)
	if len(shots) != 2 {
		t.Fatalf("want 2 screenshots in:\n%s", r.stdout)
	}
	if st, err := os.Stat(shots[0][1]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("screenshot %s: %v; want mode 0600 (the user's alone, as the logs)", shots[0][1], err)
	}
	png, err := os.ReadFile(shots[0][1])
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: %v, %d bytes", shots[0][1], err, len(png))
	}
	// The reports point at them: JUnit in the failure's text and as the
	// attachments CI servers read; the HTML report shows the screenshot.
	validJUnit(t, junit)
	if x := mustRead(t, junit); !strings.Contains(x, "screenshot: "+shots[0][1]) || !strings.Contains(x, "[[ATTACHMENT|"+shots[0][1]+"]]") {
		t.Errorf("the JUnit report does not point at the screenshot %s:\n%s", shots[0][1], x)
	}
	if x := mustRead(t, page); strings.Count(x, `"data:image/png;base64,iVBORw0KGgo`) != 2 {
		t.Errorf("the HTML report does not carry both screenshots inline")
	}
	htmls := regexp.MustCompile(`page HTML: (\S+)`).FindStringSubmatch(r.stdout)
	if page, err := os.ReadFile(htmls[1]); err != nil || !strings.Contains(string(page), `<input id="name"`) {
		t.Errorf("page HTML %s: %v\n%s", htmls[1], err, page)
	}
}

// TestBrowserInvalid: mistakes in browser steps are validate errors at
// their positions.
func TestBrowserInvalid(t *testing.T) {
	r := seam(t, "validate", "testdata/webapp-invalid")
	if r.code != 2 {
		t.Fatalf("exit %d; want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:8:35: no service "shop" in this suite`,
		`seam.yaml:11:11: browser: unknown key "tap"`,
		`seam.yaml:12:18: selector "div[" is not valid CSS`,
		`seam.yaml:13:18: browser.press: unknown key "Entr"`,
		`seam.yaml:14:28: selector "role=": role= needs a role name`,
		`seam.yaml:15:43: no service "nowhere" in this suite`,
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, `no service "browser"`) {
		t.Errorf("browser is a component, not a missing service:\n%s", r.stderr)
	}
}

// TestBrowserDiesWithSeam: seam killed while a browser step waits leaves
// no Chromium behind (parent-death signal; seam down reaps the group).
func TestBrowserDiesWithSeam(t *testing.T) {
	env, _ := isolated(t)
	dir := t.TempDir()
	// seam's temp folders, the browser's profile among them, go here.
	tmp := t.TempDir()
	abs, _ := filepath.Abs("testdata/webapp")
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: hang
defaults: {step_timeout: 60s}
services:
  web:
    process:
      build: go build -o ((bin)) .
      dir: `+abs+`
      run: [((bin)), -mode, web, -config, '((files["app.json"]))']
      files: {app.json: '{"listen": "((addr))", "api": "", "greeting": "Hi"}'}
    ready: {http: /healthz}
tests:
  - name: waits
    steps:
      - browser: {open: {service: web, path: /}, wait: {text: never shown}}
`), 0o644)
	cmd := exec.Command(seamBin, "run", dir)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "TMPDIR="+tmp), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scratch := tmp
	var pids []int
	deadline := time.Now().Add(30 * time.Second)
	for len(pids) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		pids = browsers(scratch)
	}
	if len(pids) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("no browser started within 30s")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for len(browsers(scratch)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := browsers(scratch); len(left) > 0 {
		t.Errorf("browser processes %v outlived seam", left)
	}
}

// browsers lists the processes whose command line names a folder under dir
// (the browser's profile is in the run's temp folder).
func browsers(dir string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cl, []byte(dir)) && bytes.Contains(cl, []byte("user-data-dir")) {
			out = append(out, pid)
		}
	}
	return out
}
