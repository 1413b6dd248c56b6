package html_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seamtest/seam/internal/report"
	html "github.com/seamtest/seam/internal/report/html"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// payload is what a hostile body, header or log line could hold: shown as
// text, it runs nothing.
const payload = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`

// fixture is a run of a small shop: orders calls inventory (which answers
// 500 twice), a payments stub (answered only by a fault) and a database
// no test used; one test passes, two fail of the same cause, one skips.
func fixture() []report.Event {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	ev := []report.Event{
		{Time: at(0), Type: report.RunStart, Suite: "shop", Seed: 7, Total: 4, Profile: "ci",
			Services: []report.ServiceInfo{{Name: "inventory", Kind: "process"}, {Name: "payments", Kind: "stub", StandsIn: "process"},
				{Name: "db", Kind: "postgres"}, {Name: "orders", Kind: "process"}},
			Edges: []report.EdgeInfo{{Edge: "orders→inventory", Wired: true}, {Edge: "orders→payments", Wired: true}, {Edge: "orders→db", Wired: true}}},
		{Time: at(1), Type: report.Log, Service: "db", Stream: "env", Duration: 310, Message: "ready"},
		{Time: at(2), Type: report.Log, Service: "inventory", Stream: "env", Duration: 42, Message: "ready"},
		{Time: at(3), Type: report.Log, Service: "inventory", Stream: "stderr", Message: "listening (outside any test)"},
		{Time: at(0), Type: report.TestEnd, Test: "later", Pos: "tests/b.yaml:3:11", Status: report.Skipped, Message: "not ready yet"},
	}
	pass := "stock is listed"
	ev = append(ev,
		report.Event{Time: at(400), Type: report.TestStart, Test: pass, Pos: "tests/a.yaml:2:11", Tags: []string{"stock"}, Worker: 1},
		report.Event{Time: at(401), Type: report.StepStart, Test: pass, Step: "GET /stock", Phase: "steps", Pos: "tests/a.yaml:4:9"},
		report.Event{Time: at(401.2), Type: report.Log, Test: pass, Service: "orders→inventory", Stream: "wire", Duration: 0.2, Message: "GET /stock/17 → 200 OK (200 µs)"},
		report.Event{Time: at(401.3), Type: report.Log, Test: pass, Service: "inventory", Stream: "stderr", Message: "stock 17: " + payload},
		report.Event{Time: at(402), Type: report.StepEnd, Test: pass, Step: "GET /stock", Phase: "steps", Pos: "tests/a.yaml:4:9", Status: report.Passed, Duration: 1, Attempt: 1},
		report.Event{Time: at(402), Type: report.TestEnd, Test: pass, Pos: "tests/a.yaml:2:11", Tags: []string{"stock"}, Status: report.Passed, Duration: 2, Worker: 1},
	)
	for i, name := range []string{"an order reserves stock", "an order is charged <once>"} {
		base := 410 + float64(i)*20
		suspect := report.Suspect{Edge: "orders→inventory", Line: "POST /reserve → 500 Internal Server Error (121 µs)",
			Reason: "an HTTP 500 answer; 1 hop(s) from orders, which the failing step called; during the failing step", Score: 9}
		ev = append(ev,
			report.Event{Time: at(base), Type: report.TestStart, Test: name, Pos: "tests/orders.yaml:" + string(rune('1'+i)) + "0:11", Tags: []string{"orders", "critical"}, Worker: 1},
			report.Event{Time: at(base + 1), Type: report.StepStart, Test: name, Step: "POST orders /orders", Phase: "steps", Pos: "tests/orders.yaml:12:9"},
			report.Event{Time: at(base + 1.1), Type: report.Log, Test: name, Service: "orders→payments", Stream: "wire", Duration: 0.05, Message: "POST /charges → 503 Service Unavailable (50 µs) (injected by a fault) ⚠"},
			report.Event{Time: at(base + 1.2), Type: report.Log, Test: name, Service: "orders→inventory", Stream: "wire", Duration: 0.121, Message: "POST /reserve → 500 Internal Server Error (121 µs) ⚠",
				Exchange: &report.Exchange{Request: "POST /reserve\nAuthorization: ***\nContent-Type: application/json", RequestBody: `{"sku":"C3","qty":2}`,
					Response: "500 Internal Server Error\nContent-Type: text/html", ResponseBody: "storage unavailable " + payload}},
			report.Event{Time: at(base + 1.3), Type: report.Log, Test: name, Service: "inventory", Stream: "stderr", Message: "reserve C3: failed: storage unavailable"},
			report.Event{Time: at(base + 2), Type: report.StepEnd, Test: name, Step: "POST orders /orders", Phase: "steps", Pos: "tests/orders.yaml:12:9", Status: report.Failed, Duration: 1, Attempt: 1, Message: "status: got 502; want 201"},
			report.Event{Time: at(base + 2), Type: report.TestEnd, Test: name, Pos: "tests/orders.yaml:" + string(rune('1'+i)) + "0:11", Tags: []string{"orders", "critical"}, Status: report.Failed, Duration: 2, Worker: 1,
				Failure: &report.Failure{Kind: "assertion", Pos: "tests/orders.yaml:13:18", Step: "POST orders /orders", Message: "status: got 502; want 201",
					Diff:     "--- want\n+++ got\n- 201\n+ 502",
					Request:  "POST http://127.0.0.1:4100/orders\nX-Note: " + payload + "\n\n{\"sku\":\"C3\"}",
					Response: "HTTP/1.1 502 Bad Gateway\nContent-Type: text/html\n\n" + payload,
					Suspects: []report.Suspect{suspect}}},
		)
	}
	ev = append(ev, report.Event{Time: at(460), Type: report.RunEnd, Suite: "shop", Seed: 7, Duration: 460, Counts: &report.Counts{Passed: 1, Failed: 2, Skipped: 1}})
	return ev
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s", name, got)
	}
}

// TestPageData checks the data the page is built from against a golden
// file: edges' states and failures, groups, lanes, timelines, suspects.
func TestPageData(t *testing.T) {
	p := html.Build(fixture())
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "page.golden.json", append(got, '\n'))
	states := map[string]string{}
	for _, e := range p.Edges {
		states[e.Edge] = e.State
	}
	if states["orders→inventory"] != "seen" || states["orders→payments"] != "injected" || states["orders→db"] != "none" {
		t.Errorf("edge states = %v; want inventory seen, payments injected, db none", states)
	}
	if len(p.Groups) != 1 || len(p.Groups[0].Tests) != 2 || p.Groups[0].Cause != "orders→inventory POST /reserve → 500 Internal Server Error" {
		t.Errorf("groups = %+v; want both failures in one group at orders→inventory POST /reserve → 500", p.Groups)
	}
	if p.Services[2].Ready == nil || p.Services[2].Ready[0] != 310 {
		t.Errorf("db ready = %v; want [310]", p.Services[2].Ready)
	}
}

func writePage(t *testing.T, events []report.Event) string {
	t.Helper()
	var buf bytes.Buffer
	if err := html.Write(&buf, html.Build(events)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPageEscapesEverything: the payload appears only escaped in the file.
func TestPageEscapesEverything(t *testing.T) {
	b, err := os.ReadFile(writePage(t, fixture()))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "window.pwned") && strings.Contains(s, "<script>window.pwned") {
		t.Errorf("the page holds the payload unescaped")
	}
	if n := strings.Count(s, "<script"); n != 2 {
		t.Errorf("the page has %d script elements; want 2 (its data and its code)", n)
	}
	if !strings.Contains(s, "Content-Security-Policy") || !strings.Contains(s, "default-src &#39;none&#39;") {
		t.Errorf("the page has no content security policy forbidding fetches")
	}
	if !strings.Contains(s, "2 tests failed at <code>orders→inventory POST /reserve → 500 Internal Server Error</code>") {
		t.Errorf("the page's summary (readable without script) does not group the failures")
	}
}

// TestPageInChromium opens the page in headless Chromium from file://:
// no console errors, no network requests (its inline data: images are
// none), the map's edges coloured right,
// a failed test's timeline with its suspect highlighted, payloads shown
// as text and never run.
func TestPageInChromium(t *testing.T) {
	// The failures saved a screenshot (as a browser step does) and a
	// file that is not an image.
	shotFile := filepath.Join(t.TempDir(), "shot.png")
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shotFile, pngBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	events := fixture()
	for i := range events {
		if f := events[i].Failure; f != nil {
			f.Artifacts = []report.Artifact{{Name: "screenshot", Path: shotFile}, {Name: "page HTML", Path: "/nowhere/page.html"}}
		}
	}
	page := writePage(t, events)
	ctx := startChromium(t)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()

	var mu sync.Mutex
	var problems, requests []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok && r.Request.URL != fileURL(page) && !strings.HasPrefix(r.Request.URL, "data:") {
			mu.Lock()
			requests = append(requests, r.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	run := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	run("open the page", chromedp.Navigate(fileURL(page)))
	run("wait until it is ready", chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	var edges []map[string]string
	if err := json.Unmarshal([]byte(eval(`JSON.stringify(Array.from(document.querySelectorAll("#mapview .edge")).map(g => ({edge: g.dataset.edge, cls: g.getAttribute("class"), stroke: getComputedStyle(g.querySelector(".line")).stroke})))`)), &edges); err != nil {
		t.Fatal(err)
	}
	run("click the failed test", chromedp.Click(chromedp.CSS(`#list li.test.failed`)))
	run("wait for its timeline", chromedp.WaitVisible(chromedp.CSS(`#detail .ev.s1`)))
	suspect := eval(`(() => { const e = document.querySelector("#detail .ev.s1"); return e.textContent + " | " + getComputedStyle(e).outlineColor })()`)
	detail := eval(`document.getElementById("detail").textContent`)
	if img := eval(`(() => { const i = document.querySelector("#detail .artifacts img.shot"); return i ? i.naturalWidth + "x" + i.naturalHeight : "none" })()`); img != "40x30" {
		t.Errorf("the failure's screenshot shows as %s; want 40x30", img)
	}

	run("click the suspect", chromedp.Click(chromedp.CSS(`#detail .ev.s1`)))
	run("wait for its exchange", chromedp.WaitVisible(chromedp.CSS(`#detail .evinfo .exchange`)))
	exchange := eval(`document.querySelector("#detail .evinfo").textContent`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	pwned := eval(`String(window.pwned)`)
	run("click an edge", chromedp.Click(chromedp.CSS(`#mapview .edge[data-edge="orders→inventory"] .line`)))
	edgeInfo := eval(`document.getElementById("edgeinfo").textContent`)
	run("search", chromedp.SetValue(chromedp.CSS(`#q`), "stock 17"))
	eval(`document.getElementById("q").dispatchEvent(new Event("input")), ""`)
	run("wait for the search", chromedp.Sleep(400*time.Millisecond))
	shown := eval(`document.getElementById("shown").textContent`)
	mu.Lock()
	defer mu.Unlock()
	dir := artifactDir(t)
	shotPath := filepath.Join(dir, "failed-test-timeline.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shotPath)
	if len(problems) > 0 {
		t.Errorf("console errors: %v", problems)
	}
	if len(requests) > 0 {
		t.Errorf("the page made network requests: %v", requests)
	}
	want := map[string]string{
		"orders→inventory": "rgb(198, 40, 40)",   // failing
		"orders→payments":  "rgb(217, 119, 6)",   // injected only
		"orders→db":        "rgb(156, 163, 175)", // not exercised
	}
	if len(edges) != len(want) {
		t.Errorf("map edges = %v; want %d", edges, len(want))
	}
	for _, e := range edges {
		if w := want[e["edge"]]; e["stroke"] != w {
			t.Errorf("edge %s (%s) is drawn %s; want %s", e["edge"], e["cls"], e["stroke"], w)
		}
	}
	if !strings.Contains(suspect, "POST /reserve → 500") || !strings.Contains(suspect, "rgb(198, 40, 40)") {
		t.Errorf("highlighted suspect = %q; want POST /reserve → 500 outlined red", suspect)
	}
	if pwned != "undefined" {
		t.Errorf("window.pwned = %s: a payload ran", pwned)
	}
	if !strings.Contains(detail, payload) {
		t.Errorf("the failed test's detail does not show the payload as text:\n%s", detail)
	}
	for _, want := range []string{"request", "POST /reserve", "Authorization: ***", `{"sku":"C3","qty":2}`, "response body", "storage unavailable " + payload} {
		if !strings.Contains(exchange, want) {
			t.Errorf("clicking the suspect shows no %q in its exchange:\n%s", want, exchange)
		}
	}
	if !strings.Contains(detail, "page HTML: /nowhere/page.html") {
		t.Errorf("the failure's artifacts are not listed:\n%s", detail)
	}
	if !strings.Contains(detail, "- 201") || !strings.Contains(detail, "+ 502") {
		t.Errorf("the failed step's diff is not shown:\n%s", detail)
	}
	if !strings.Contains(edgeInfo, "POST /reserve") || !strings.Contains(edgeInfo, "an order reserves stock") {
		t.Errorf("clicking orders→inventory shows %q; want its operations and tests", edgeInfo)
	}
	if shown != "1 of 4 tests" {
		t.Errorf("searching a log line shows %q; want 1 of 4 tests", shown)
	}
}
