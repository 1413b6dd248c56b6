package browserstep

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
)

// recorder keeps what a browser records and logs, as an environment would.
type recorder struct {
	mu   sync.Mutex
	seen []wire.Interaction
	logs []string
	// onLog, when set, runs for each log line (on the event reader).
	onLog func(line string)
}

func (r *recorder) host(t *testing.T, srv *httptest.Server, name string) step.HostEnv {
	return step.HostEnv{TempDir: t.TempDir(), ArtifactDir: t.TempDir(),
		Services: map[string]string{strings.TrimPrefix(srv.URL, "http://"): name},
		Record: func(in wire.Interaction) {
			wire.Mask(nil, &in) // as the environment's Record does
			r.mu.Lock()
			r.seen = append(r.seen, in)
			r.mu.Unlock()
		},
		Log: func(c, s, l string) {
			r.mu.Lock()
			r.logs = append(r.logs, c+" "+l)
			f := r.onLog
			r.mu.Unlock()
			if f != nil {
				f(l)
			}
		}}
}

// find returns the interactions whose Op is op.
func (r *recorder) find(op string) []wire.Interaction {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wire.Interaction
	for _, in := range r.seen {
		if in.Op == op {
			out = append(out, in)
		}
	}
	return out
}

// await waits (up to 10s) until op was recorded n times.
func (r *recorder) await(t *testing.T, op string, n int) []wire.Interaction {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for {
		got := r.find(op)
		if len(got) >= n || time.Now().After(end) {
			if len(got) < n {
				t.Fatalf("%s recorded %d time(s); want %d", op, len(got), n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startBrowser starts a browser for the test and closes it, checking
// that no process is left, when the test ends.
func startBrowser(t *testing.T, ctx context.Context, host step.HostEnv) *Browser {
	t.Helper()
	if _, err := FindBinary(""); err != nil {
		t.Fatalf("%v (scripts/test.sh installs it)", err)
	}
	b, err := Start(ctx, Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pid := b.PID()
		b.Close()
		if alive(pid) {
			t.Errorf("browser %d still runs after Close", pid)
		}
	})
	return b
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

const shiftPage = `<!doctype html><title>Shift</title><link rel="icon" href="data:,">
<h2 id="head">Report</h2><button id="load" style="font-size:20px">Load report</button><p id="out"></p>
<div id="cover" style="position:fixed;left:0;top:0;width:100%;height:100%;display:none">Saving…</div>
<button id="moving" style="position:relative">Moving</button>
<script>
// It moves every animation frame.
const m = document.getElementById("moving");
let x = 0;
(function step() { x = (x + 3) % 200; m.style.left = x + "px"; requestAnimationFrame(step); })();
window.clicks = [];
document.addEventListener("click", e => clicks.push(e.target.id || e.target.tagName), true);
document.getElementById("load").onclick = () => { document.getElementById("out").textContent = "clicked"; };
// The layout moves as the mouse arrives: a banner pushes the button down,
// between the check of what is at the button's centre and the press.
let shifted = false;
document.addEventListener("mousemove", () => {
  if (shifted || !window.shiftOnMove) return;
  shifted = true;
  const h = document.createElement("h2");
  h.id = "banner"; h.textContent = "Report (new)"; h.style.cssText = "margin:0;height:80px";
  document.getElementById("load").before(h);
}, true);
</script>`

// TestClickLayoutShift: a click whose element moves as the mouse arrives
// does not land on what took its place (the guard stops the press, the
// click is tried again where the element now is); an element covered for
// good fails naming what would get the click; one that never stops
// moving fails saying so.
func TestClickLayoutShift(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, shiftPage) })
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	p, err := b.PageFor(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(ctx, "window.shiftOnMove = true"); err != nil {
		t.Fatal(err)
	}
	load, _ := ParseSelector("#load")
	if err := p.Click(ctx, load); err != nil {
		t.Fatalf("click on a button that moves as the mouse arrives: %v", err)
	}
	clicks, err := p.Eval(ctx, "window.clicks")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := clicks.([]any); !ok || len(got) != 1 || got[0] != "load" {
		t.Errorf("clicks reached %v; want [load] only", clicks)
	}
	if st, _ := p.State(ctx, Selector{Kind: "css", Value: "#out", Raw: "#out"}); st["text"] != "clicked" {
		t.Errorf("#out = %v; want clicked", st["text"])
	}

	if _, err := p.Eval(ctx, `document.getElementById("cover").style.display = "block"`); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 700*time.Millisecond)
	err = p.Click(short, load)
	cancelShort()
	var we *WaitError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), `click on #load would land on div#cover "Saving…" (it covers the point) (waited until the step's timeout)`) {
		t.Errorf("click on a covered button: %v", err)
	}
	if _, err := p.Eval(ctx, `document.getElementById("cover").style.display = "none"`); err != nil {
		t.Fatal(err)
	}

	// A loaded machine may stall the page's animation for two frames, in
	// which the button is still: a hover then lands, rightly. A wait that
	// did not look for movement would land every time.
	moving, _ := ParseSelector("#moving")
	for try := 1; ; try++ {
		short, cancelShort = context.WithTimeout(ctx, 700*time.Millisecond)
		err = p.Hover(short, moving)
		cancelShort()
		if err != nil || try == 3 {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "is moving (its box changed between two animation frames)") {
		t.Errorf("hover on a moving button: %v", err)
	}
}

// TestPendingRequests: a request still in flight when its step fails is
// recorded then, pending, in the failure's evidence; one in flight when
// its test ends (the page closes for the next test's) is recorded as the
// test's; nothing the browser tells of either later is recorded.
// seen waits (up to 10s) until seam has read the browser's events of the
// page's request to path: sent, and answered (its headers) when answered.
// The server seeing a request says nothing of when seam reads the events.
func seen(t *testing.T, p *Page, path string, answered bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		p.mu.Lock()
		for _, r := range p.inflight {
			if strings.HasSuffix(r.url, path) && (!answered || r.status != 0) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("seam never read the browser's events of %s", path)
}

func TestPendingRequests(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 4)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang", "/hang2":
			arrived <- r.URL.Path
			select {
			case <-release:
			case <-r.Context().Done():
			}
			io.WriteString(w, "late")
		case "/ping":
			io.WriteString(w, "pong")
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, `<!doctype html><title>P</title><link rel="icon" href="data:,">`)
		}
	})
	defer close(release) // before srv.Close (Cleanup) waits for its handlers
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	test1 := time.Now()
	p, err := b.PageFor(ctx, test1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(ctx, "fetch('/hang'); 1"); err != nil {
		t.Fatal(err)
	}
	<-arrived
	seen(t, p, "/hang", false)
	a := &action{last: p}
	a.Artifacts(ctx, &step.Env{Test: "t1", Start: test1})
	got := rec.find("GET /hang")
	if len(got) != 1 || got[0].Result != "no answer: still in flight when the step failed" || !got[0].Suspicious {
		t.Fatalf("GET /hang after its step failed: %+v", got)
	}

	if _, err := p.Eval(ctx, "fetch('/hang2'); 1"); err != nil {
		t.Fatal(err)
	}
	<-arrived
	seen(t, p, "/hang2", false)
	p2, err := b.PageFor(ctx, test1.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got = rec.find("GET /hang2")
	if len(got) != 1 || got[0].Result != "no answer: still in flight when the test ended" || got[0].Start.Before(test1) {
		t.Fatalf("GET /hang2 when its test ended: %+v", got)
	}
	// The next test's request, recorded, is a point after which the first
	// test's would have been told.
	if err := p2.Open(ctx, srv.URL+"/ping"); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "GET /ping", 1)
	if n, m := len(rec.find("GET /hang")), len(rec.find("GET /hang2")); n != 1 || m != 1 {
		t.Errorf("GET /hang recorded %d times, /hang2 %d; want once each", n, m)
	}

	// The test's context ending (an interrupt) records what is in flight.
	if _, err := p2.Eval(ctx, "fetch('/hang'); 1"); err != nil {
		t.Fatal(err)
	}
	<-arrived
	seen(t, p2, "/hang", false)
	tctx, stop := context.WithCancel(ctx)
	p2.watchTest(tctx)
	stop()
	got = rec.await(t, "GET /hang", 2)
	if got[1].Result != "no answer: still in flight when the run was interrupted" {
		t.Errorf("GET /hang at an interrupt: %s", got[1].Result)
	}

	// The test's context ended by the engine when its steps are done
	// (its cause says so) is the test's end, not an interrupt.
	if _, err := p2.Eval(ctx, "fetch('/hang'); 1"); err != nil {
		t.Fatal(err)
	}
	<-arrived
	seen(t, p2, "/hang", false)
	p2.mu.Lock()
	p2.stopWatch = nil
	p2.mu.Unlock()
	ectx, end := context.WithCancelCause(ctx)
	p2.watchTest(ectx)
	end(endCause{})
	got = rec.await(t, "GET /hang", 3)
	if got[2].Result != "no answer: still in flight when the test ended" {
		t.Errorf("GET /hang at the test's end: %s", got[2].Result)
	}

	// An answer whose body still comes (a stream) when the test ends
	// (the environment tells the browser) is not a call without answer.
	if v, err := p2.Eval(ctx, "fetch('/stream').then(r => r.status)"); err != nil || v != 200.0 {
		t.Fatalf("fetch /stream: %v, %v", v, err)
	}
	seen(t, p2, "/stream", true)
	b.TestEnded()
	got = rec.find("GET /stream")
	if len(got) != 1 || got[0].Result != "200 OK, then still in flight when the test ended (in the middle of its body)" || got[0].Suspicious {
		t.Errorf("GET /stream when its test ended: %+v", got)
	}
}

// TestWaitNetworkIdleNamesRequests: waiting for the network to be idle
// names what is in flight when it ends, and which timeout ended it.
func TestWaitNetworkIdleNamesRequests(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, `<!doctype html><title>P</title><link rel="icon" href="data:,">`)
	})
	defer close(release)
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	p, err := b.PageFor(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(ctx, "fetch('/hang'); 1"); err != nil {
		t.Fatal(err)
	}
	seen(t, p, "/hang", false)
	// The test's context ends first: the message says it was the test's
	// timeout, not the step's.
	tctx, tcancel := context.WithTimeout(ctx, 800*time.Millisecond)
	defer tcancel()
	p.setTestContext(tctx)
	sctx, scancel := context.WithTimeout(tctx, 5*time.Second)
	defer scancel()
	err = p.WaitFor(sctx, Wait{NetworkIdle: true})
	want := "wait for the network to be idle: 1 request(s) in flight: GET " + srv.URL + "/hang (waited until the test's timeout)"
	if err == nil || err.Error() != want {
		t.Errorf("wait for network idle:\n got %v\nwant %s", err, want)
	}
	// An interrupt: the element is there; the wait does not say it is not.
	p.setTestContext(ctx)
	ictx, icancel := context.WithCancel(ctx)
	icancel()
	title, _ := ParseSelector("title")
	err = p.WaitFor(ictx, Wait{Selector: &title})
	if err == nil || !strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), "no element") {
		t.Errorf("wait interrupted: %v", err)
	}
}

const bodiesPage = `<!doctype html><title>B</title><link rel="icon" href="data:,">
<script>
async function add() {
  window.t0 = Date.now();
  const r = await fetch("/items", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer abcdefgh12345678"},
    body: JSON.stringify({name: "gear", qty: "4", password: "s3cret"})});
  return (await r.json()).name;
}
</script>`

// TestBrowserEdgeBodies: a browser request is recorded with its request
// and response bodies (masked as the wire masks them) and its header
// lines, timed by the browser's clock: its start is when the page sent it
// even when seam reads the browser's events late.
func TestBrowserEdgeBodies(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/items":
			time.Sleep(50 * time.Millisecond) // the server's work: the interaction's duration holds it
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Auth", r.Header.Get("Authorization")[:6])
			io.WriteString(w, `{"name":"gear","token":"t0k3n-value"}`)
		default:
			io.WriteString(w, bodiesPage)
		}
	})
	var rec recorder
	// seam reads the browser's events late (a slow consumer of its log
	// lines): the times recorded must be the browser's, not seam's.
	rec.onLog = func(line string) {
		if strings.Contains(line, "stall") {
			time.Sleep(400 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	p, err := b.PageFor(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Open(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	v, err := p.Eval(ctx, `console.log("stall"); add()`)
	if err != nil || v != "gear" {
		t.Fatalf("add() = %v, %v", v, err)
	}
	t0, err := p.Eval(ctx, "window.t0")
	if err != nil {
		t.Fatal(err)
	}
	sent := time.UnixMilli(int64(t0.(float64)))
	in := rec.await(t, "POST /items", 1)[0]
	if got, want := string(in.RequestBody), `{"name":"gear","qty":"4","password":"***"}`; got != want {
		t.Errorf("request body = %s; want %s", got, want)
	}
	if got, want := string(in.ResponseBody), `{"name":"gear","token":"***"}`; got != want {
		t.Errorf("response body = %s; want %s", got, want)
	}
	// Within 300ms: the bound is for a start taken from a much later
	// clock (the answer's), not a measure; under -race on a loaded CI
	// machine the browser's own events come 100ms+ apart.
	if d := in.Start.Sub(sent); d < -50*time.Millisecond || d > 300*time.Millisecond {
		t.Errorf("the request started %s after the page sent it; want the browser's time (within 300ms)", d)
	}
	if d := in.End.Sub(in.Start); d < 50*time.Millisecond {
		t.Errorf("the request took %s; the server alone took 50ms", d)
	}
	if req, resp := in.Headers(); !strings.Contains(req, "Authorization: ***") || !strings.Contains(resp, "X-Request-Auth: ") {
		t.Errorf("headers: request %q, response %q", req, resp)
	}
}

func decodeAction(t *testing.T, src string) *action {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	a := New().Decode(decode.New("t.yaml", &errs), n.Content[0])
	if errs.Len() > 0 || a == nil {
		t.Fatalf("decode %q: %v", src, errs.Err())
	}
	return a.(*action)
}

// TestDescribeWait: the request listing names what each wait waits for.
func TestDescribeWait(t *testing.T) {
	for src, want := range map[string]string{
		`wait: "#done"`:                        "wait #done",
		`wait: {text: Welcome}`:                "wait text=Welcome",
		`wait: {gone: "#spinner"}`:             "wait gone=#spinner",
		`wait: {url: "*/done"}`:                "wait url=*/done",
		`wait: {network_idle: true}`:           "wait network_idle",
		`wait: {selector: "#a", text: "Done"}`: "wait #a text=Done",
	} {
		a := decodeAction(t, src)
		if got := a.ops[0].describe(); got != want {
			t.Errorf("%s: describe = %q; want %q", src, got, want)
		}
	}
}

type host struct{ b *Browser }

func (h host) URL(string) (string, error) { return "", errors.New("no services") }
func (h host) Keep(string, func(step.HostEnv) (io.Closer, error)) (io.Closer, error) {
	return h.b, nil
}

// TestConsoleErrorsSummary: the failure's first line, the summary's, names
// the first error and does not end in a colon.
func TestConsoleErrorsSummary(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>C</title><link rel="icon" href="data:,"><script>console.error("one"); console.error("two")</script>`)
	})
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	a := decodeAction(t, "open: "+srv.URL+"\nconsole_errors: fail")
	env := &step.Env{Services: host{b}, Start: time.Now(), Test: "c"}
	if err := a.Prepare(ctx, env); err != nil {
		t.Fatal(err)
	}
	var err error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		// the console events come apart from the load: run again until
		// both are in
		_, err = a.Run(ctx, env)
		if err != nil && strings.Contains(err.Error(), "2 console") {
			break
		}
	}
	want := "the page logged 2 console error(s) (console_errors: fail): console.error: one\n  console.error: two"
	if err == nil || err.Error() != want {
		t.Errorf("console_errors: fail:\n got %v\nwant %s", err, want)
	}
}

// endCause is as the engine ends a test's context (engine.testEnded).
type endCause struct{}

func (endCause) Error() string   { return "the test ended" }
func (endCause) TestEnded() bool { return true }

// TestCloseLeavesNothingInTMPDIR: Chromium's singleton folder
// (org.chromium.Chromium.*) goes with the browser, not into the user's
// TMPDIR, where every CI run used to leave one.
func TestCloseLeavesNothingInTMPDIR(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := FindBinary(""); err != nil {
		t.Fatalf("%v (scripts/test.sh installs it)", err)
	}
	// A run's folder is deep (/tmp/seam-<run>/env1/browser): Chromium's
	// socket path under it would not fit a Unix socket address.
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), "env1", "browser")
	// The folder it makes outside the run's is recorded, so that a seam
	// killed (SIGKILL: no Close) has the next seam remove it.
	var recorded []string
	b, err := Start(ctx, Options{Host: step.HostEnv{TempDir: deep, AddTemp: func(d string) { recorded = append(recorded, d) }}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PageFor(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// (In TMPDIR, or in /tmp when TMPDIR is too deep for the socket.)
	if len(recorded) != 1 || !strings.HasPrefix(filepath.Base(recorded[0]), "seam-chromium-") {
		t.Fatalf("recorded for removal after a crash: %q, want one seam-chromium-* folder", recorded)
	}
	if _, err := os.Stat(recorded[0]); err != nil {
		t.Errorf("the recorded folder is not there while the browser runs: %v", err)
	}
	b.Close()
	if _, err := os.Stat(recorded[0]); !os.IsNotExist(err) {
		t.Errorf("the recorded folder is left after Close: %v", err)
	}
	es, _ := os.ReadDir(tmp)
	for _, e := range es {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}
