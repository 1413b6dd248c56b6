// Command report measures seam's HTML report on a big synthetic run: 1,000
// tests with 100,000 events (-quick: 100 tests, 10,000 events). It prints
// the render time and file size, then opens the page from file:// in
// headless Chromium (Debian's chromium) and prints the time to first
// paint, to an interactive test list, and to a failed test's timeline
// after its click. Targets (issue 16): file ≤ 15 MB, first paint ≤ 1 s,
// timeline ≤ 300 ms.
//
// The RESULT line's ratio is the smallest of target/measured over the
// three targets: 1 or more meets all of them.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seamtest/seam/internal/report"
	html "github.com/seamtest/seam/internal/report/html"
)

func main() {
	quick := flag.Bool("quick", false, "100 tests, 10,000 events")
	rounds := flag.Int("rounds", 3, "page loads to take the median of")
	flag.Parse()
	tests, perTest := 1000, 100
	if *quick {
		tests, *rounds = 100, 2
	}
	if err := run(tests, perTest, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

// synthetic is a run of n tests with per events each: steps, interactions
// on four edges with what they carried (a tenth of the tests fail of one of
// three causes) and log lines.
func synthetic(n, per int) []report.Event {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	edges := []string{"orders→inventory", "orders→pricing", "orders→db", "orders→payments"}
	ev := []report.Event{{Time: t0, Type: report.RunStart, Suite: "big", Seed: 1, Total: n,
		Services: []report.ServiceInfo{{Name: "orders", Kind: "process"}, {Name: "inventory", Kind: "process"}, {Name: "pricing", Kind: "process"},
			{Name: "db", Kind: "postgres"}, {Name: "payments", Kind: "stub"}},
		Edges: []report.EdgeInfo{{Edge: edges[0], Wired: true}, {Edge: edges[1], Wired: true}, {Edge: edges[2], Wired: true}, {Edge: edges[3], Wired: true}}}}
	ms := 1.0
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("test %04d places order %d and checks its stock", i, i)
		pos := fmt.Sprintf("tests/t%02d.yaml:%d:11", i%20, 1+i*5)
		ev = append(ev, report.Event{Time: at(ms), Type: report.TestStart, Test: name, Pos: pos, Tags: []string{"orders", "tag" + strconv.Itoa(i%7)}, Worker: 1})
		fail := i%10 == 3
		var suspect report.Suspect
		for k := 0; k < per-2; k++ {
			ms += 0.05
			switch {
			case k%10 == 0:
				ev = append(ev, report.Event{Time: at(ms), Type: report.StepEnd, Test: name, Step: fmt.Sprintf("POST orders /orders #%d", k), Phase: "steps", Pos: pos, Status: report.Passed, Duration: 0.4, Attempt: 1})
			case k%3 == 0:
				ev = append(ev, report.Event{Time: at(ms), Type: report.Log, Test: name, Service: "inventory", Stream: "stderr", Message: fmt.Sprintf("reserve sku-%d x%d: ok, %d left", k, i%9+1, 100-k)})
			default:
				edge := edges[k%4]
				msg := fmt.Sprintf("POST /reserve/%d → 200 OK (%d µs)", i*100+k, 100+k)
				if edge == "orders→db" {
					msg = fmt.Sprintf("SQL INSERT INTO orders (id, sku, qty) VALUES ($1, $2, $3) [%d, \"sku-%d\", 2] → INSERT 0 1 (%d µs)", i*100+k, k, 90+k)
				}
				if fail && k == per-3 {
					cause := i % 3
					msg = fmt.Sprintf("POST /reserve/%d → 500 Internal Server Error (121 µs) ⚠", cause)
					edge = edges[0]
					suspect = report.Suspect{Edge: edge, Line: fmt.Sprintf("POST /reserve/%d → 500 Internal Server Error (121 µs)", cause), Reason: "an HTTP 500 answer; 1 hop(s) from orders", Score: 9}
				}
				// What a Go client and server exchange on such a call.
				x := &report.Exchange{Request: fmt.Sprintf("POST /reserve/%d\nHost: 127.0.0.1:41235\nUser-Agent: Go-http-client/1.1\nContent-Length: 27\nContent-Type: application/json\nAccept-Encoding: gzip", i*100+k),
					RequestBody:  fmt.Sprintf(`{"sku":"sku-%d","qty":%d}`, k, i%9+1),
					Response:     "200 OK\nContent-Type: application/json\nDate: Tue, 01 Dec 2026 00:00:00 GMT\nContent-Length: 41",
					ResponseBody: fmt.Sprintf(`{"reserved":true,"sku":"sku-%d","left":%d}`, k, 100-k)}
				if edge == "orders→db" {
					x = &report.Exchange{Request: "INSERT INTO orders (id, sku, qty) VALUES ($1, $2, $3)\nparameters: [" + strconv.Itoa(i*100+k) + `, "sku-` + strconv.Itoa(k) + `", 2]`, Response: "INSERT 0 1"}
				}
				ev = append(ev, report.Event{Time: at(ms), Type: report.Log, Test: name, Service: edge, Stream: "wire", Duration: 0.1, Message: msg, Exchange: x})
			}
		}
		ms += 0.1
		end := report.Event{Time: at(ms), Type: report.TestEnd, Test: name, Pos: pos, Status: report.Passed, Duration: 5, Worker: 1}
		step := report.Event{Time: at(ms), Type: report.StepEnd, Test: name, Step: "check stock", Phase: "steps", Pos: pos, Status: report.Passed, Duration: 0.3, Attempt: 1}
		if fail {
			step.Status, step.Message = report.Failed, "status: got 502; want 201"
			end.Status = report.Failed
			end.Failure = &report.Failure{Kind: "assertion", Pos: pos, Step: "check stock", Message: "status: got 502; want 201",
				Diff: "- 201\n+ 502", Request: "POST http://127.0.0.1:1/orders\n\n{}", Response: "HTTP/1.1 502 Bad Gateway\n\n{}", Suspects: []report.Suspect{suspect}}
		}
		ev = append(ev, step, end)
	}
	return append(ev, report.Event{Time: at(ms), Type: report.RunEnd, Suite: "big", Duration: ms})
}

type load struct{ firstPaint, interactive, timeline float64 }

func run(tests, per, rounds int) error {
	events := synthetic(tests, per)
	nEvents := len(events)
	var buf bytes.Buffer
	start := time.Now()
	p := html.Build(events)
	build := time.Since(start)
	if err := html.Write(&buf, p); err != nil {
		return err
	}
	render := time.Since(start)
	fmt.Printf("(build %s, write %s)\n", build.Round(time.Millisecond), (render - build).Round(time.Millisecond))
	dir, err := os.MkdirTemp("", "seam-bench-report-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		return err
	}
	var loads []load
	for r := 0; r < rounds; r++ {
		l, err := measure(page, dir)
		if err != nil {
			return err
		}
		loads = append(loads, l)
	}
	med := func(f func(load) float64) float64 {
		v := make([]float64, len(loads))
		for i, l := range loads {
			v[i] = f(l)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	fp, inter, tl := med(func(l load) float64 { return l.firstPaint }), med(func(l load) float64 { return l.interactive }), med(func(l load) float64 { return l.timeline })
	sizeMB := float64(buf.Len()) / 1e6
	fmt.Printf("%-34s %12s %10s\n", "measure", "value", "target")
	fmt.Printf("%-34s %12d %10s\n", "tests", tests, "")
	fmt.Printf("%-34s %12d %10s\n", "events", nEvents, "")
	fmt.Printf("%-34s %10.0fms %10s\n", "render (Build + Write)", float64(render.Microseconds())/1000, "")
	fmt.Printf("%-34s %10.2fMB %10s\n", "file size", sizeMB, "15MB")
	fmt.Printf("%-34s %10.0fms %10s\n", "first paint (median of "+strconv.Itoa(rounds)+")", fp, "1000ms")
	fmt.Printf("%-34s %10.0fms %10s\n", "test list interactive", inter, "")
	fmt.Printf("%-34s %10.1fms %10s\n", "failed test's timeline after click", tl, "300ms")
	ratio := min(15/sizeMB, 1000/fp, 300/tl)
	verdict := "ok"
	if ratio < 1 {
		verdict = "short"
	}
	fmt.Println("ratio: the smallest of 15MB/size, 1000ms/first paint, 300ms/timeline (1 or more meets every target)")
	fmt.Printf("RESULT report tests=%d events=%d render_ms=%.0f size_mb=%.2f first_paint_ms=%.0f interactive_ms=%.0f timeline_ms=%.1f ratio=%.2f target=1 %s\n",
		tests, nEvents, float64(render.Microseconds())/1000, sizeMB, fp, inter, tl, ratio, verdict)
	return nil
}

// measure opens the page in a fresh headless Chromium (killed by its PID
// after) and reads the page's own clock.
func measure(page, dir string) (load, error) {
	bin := os.Getenv("SEAM_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		return load{}, fmt.Errorf("%v (install Debian's chromium: apt-get install chromium)", err)
	}
	profile, err := os.MkdirTemp(dir, "profile-")
	if err != nil {
		return load{}, err
	}
	var cmd *exec.Cmd
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			if c.SysProcAttr == nil {
				c.SysProcAttr = &syscall.SysProcAttr{}
			}
			c.SysProcAttr.Setpgid, c.SysProcAttr.Pdeathsig = true, syscall.SIGKILL
			cmd = c
		}))
	ctx, cancel := chromedp.NewContext(actx)
	defer func() {
		cancel()
		if cmd != nil && cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		acancel()
	}()
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	defer tcancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		return load{}, fmt.Errorf("opening the page: %w", err)
	}
	var l load
	var err2 error
	get := func(js string) float64 {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
		if err != nil && err2 == nil {
			err2 = fmt.Errorf("%s: %w", js, err)
		}
		return v
	}
	l.firstPaint = get(`(performance.getEntriesByName("first-contentful-paint")[0] || performance.getEntriesByName("first-paint")[0] || {startTime: -1}).startTime`)
	l.interactive = get(`+document.body.dataset.readyAt`)
	// The click, the timeline's construction and the layout it forces.
	l.timeline = get(`(() => { const li = document.querySelector("#list li.test.failed"); const t0 = performance.now(); li.click(); document.querySelector("#detail .ev.s1").getBoundingClientRect(); return performance.now() - t0; })()`)
	return l, err2
}
