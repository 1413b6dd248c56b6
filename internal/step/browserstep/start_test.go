package browserstep

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
)

const testPage = `<!doctype html><title>T</title><link rel="icon" href="data:,">
<button id="later" hidden>Later</button><p id="out"></p>
<script>
setTimeout(() => { document.getElementById("later").hidden = false; }, 300);
document.getElementById("later").onclick = async () => {
  const r = await fetch("/api");
  document.getElementById("out").textContent = "got " + r.status;
  console.error("shown to the log");
};
</script>`

// TestPage drives a real Chromium against a page of its own: an element
// that appears late is waited for, the page's request is an interaction on
// browser→web, its console error a log line; a selector that never comes
// fails at the deadline with what the page shows; each test's page is a
// fresh context (a cookie does not pass); Close leaves no process.
func TestPage(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Fatalf("%v (scripts/test.sh installs it)", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Write([]byte(testPage))
	}))
	defer srv.Close()
	var mu sync.Mutex
	var seen []wire.Interaction
	var logs []string
	host := step.HostEnv{TempDir: t.TempDir(), Services: map[string]string{strings.TrimPrefix(srv.URL, "http://"): "web"},
		Record: func(in wire.Interaction) { mu.Lock(); seen = append(seen, in); mu.Unlock() },
		Log:    func(c, s, l string) { mu.Lock(); logs = append(logs, c+" "+l); mu.Unlock() }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	test1 := time.Now()
	p, err := b.PageFor(ctx, test1)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.PageFor(ctx, test1); again != p {
		t.Error("a test's second step got another page")
	}
	if err := p.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	later, _ := ParseSelector("text=Later")
	if err := p.Click(ctx, later); err != nil {
		t.Fatalf("click on an element shown after 300ms: %v", err)
	}
	out, _ := ParseSelector("#out")
	if err := p.WaitFor(ctx, Wait{Text: "got 418"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetCookie(ctx, "session", "s1"); err != nil {
		t.Fatal(err)
	}
	st, err := p.State(ctx, out)
	if err != nil || st["text"] != "got 418" || st["count"] != 1.0 {
		t.Errorf("state of #out = %v, %v", st, err)
	}
	// The console event comes apart from the answer: wait up to 2s for it.
	errs := p.ConsoleErrors(time.Time{})
	for end := time.Now().Add(2 * time.Second); len(errs) == 0 && time.Now().Before(end); errs = p.ConsoleErrors(time.Time{}) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "shown to the log") {
		t.Errorf("console errors = %q", errs)
	}
	mu.Lock()
	var lines []string
	for _, in := range seen {
		lines = append(lines, in.Edge+" "+in.Op+" "+in.Result)
	}
	mu.Unlock()
	if got := strings.Join(lines, "; "); got != "browser→web GET / 200 OK; browser→web GET /api 418 I'm a teapot" {
		t.Errorf("interactions: %s", got)
	}

	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	missing, _ := ParseSelector(`role=button[name="Latr"]`)
	err = p.Click(short, missing)
	cancelShort()
	var we *WaitError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), `closest first: button "Later" (button#later)`) {
		t.Errorf("click on a missing button: %v", err)
	}

	p2, err := b.PageFor(ctx, test1.Add(time.Second))
	if err != nil || p2 == p {
		t.Fatalf("the next test's page: %v (same: %v)", err, p2 == p)
	}
	if err := p2.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if c, err := p2.Cookies(ctx); err != nil || len(c) != 0 {
		t.Errorf("the next test's cookies = %v, %v; want none", c, err)
	}
	b.Close()
	if alive(pid) {
		t.Errorf("browser %d still runs after Close", pid)
	}
}

func alive(pid int) bool {
	for i := 0; i < 40; i++ {
		if err := sysKill(pid); err != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
