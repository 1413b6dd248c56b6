// Command browser measures seam's browser driving against Playwright's:
// the same 20-action flow on the example shop's web page (served here,
// with its order call answered at once), on the same Debian Chromium,
// rounds interleaved (seam, Playwright, seam, …), each round starting its
// browser afresh; medians per action. Playwright is playwright-core from
// npm, installed by `bash bench/peers.sh` into the bench cache.
//
//	go run ./bench/browser [-quick]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/step/browserstep"
)

var names = []string{"open", "select", "fill", "check", "click", "wait", "text", "eval", "fill", "select",
	"click", "wait", "hover", "press", "set_storage", "storage", "uncheck", "count", "screenshot", "open"}

// serve serves the example's page and answers its POST /orders.
func serve(root string) string {
	html, err := os.ReadFile(filepath.Join(root, "examples/shop/orders/page.html"))
	measure.Check(err)
	html = bytes.ReplaceAll(html, []byte("{{QTY_FIELD}}"), []byte("qty"))
	var id atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(html)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o map[string]any
		json.NewDecoder(r.Body).Decode(&o)
		o["id"], o["status"] = id.Add(1), "confirmed"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(o)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	measure.Check(err)
	go http.Serve(ln, mux)
	return "http://" + ln.Addr().String() + "/"
}

// seamRound runs the flow with seam's browser package; it returns the
// start plus first page, and each action's time.
func seamRound(url, tmp string) (time.Duration, []time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sel := func(s string) browserstep.Selector {
		x, err := browserstep.ParseSelector(s)
		measure.Check(err)
		return x
	}
	t0 := time.Now()
	b, err := browserstep.Start(ctx, browserstep.Options{Host: step.HostEnv{TempDir: tmp}})
	if err != nil {
		return 0, nil, err
	}
	defer b.Close()
	p, err := b.NewPage(ctx)
	if err != nil {
		return 0, nil, err
	}
	if err := p.Open(ctx, url); err != nil {
		return 0, nil, err
	}
	start := time.Since(t0)
	confirmation, qty, sku := sel("#confirmation"), sel("#qty"), sel("#sku")
	steps := []func() error{
		func() error { return p.Open(ctx, url) },
		func() error { return p.Select(ctx, sku, "C3") },
		func() error { return p.Fill(ctx, qty, "2") },
		func() error { return p.Check(ctx, sel("#terms"), true) },
		func() error { return p.Click(ctx, sel(`role=button[name="Place order"]`)) },
		func() error { return p.WaitFor(ctx, browserstep.Wait{Selector: &confirmation}) },
		func() error { _, err := p.State(ctx, confirmation); return err },
		func() error { _, err := p.Eval(ctx, "document.title"); return err },
		func() error { return p.Fill(ctx, qty, "3") },
		func() error { return p.Select(ctx, sku, "A1") },
		func() error { return p.Click(ctx, sel("text=Place order")) },
		func() error { return p.WaitFor(ctx, browserstep.Wait{Text: "3 × A1"}) },
		func() error { return p.Hover(ctx, sel("h1")) },
		func() error { return p.Press(ctx, &qty, "Tab") },
		func() error { return p.SetStorage(ctx, "k", "v") },
		func() error { _, err := p.Storage(ctx); return err },
		func() error { return p.Check(ctx, sel("#terms"), false) },
		func() error { _, err := p.State(ctx, sel("option")); return err },
		func() error { _, err := p.Screenshot(ctx); return err },
		func() error { return p.Open(ctx, url) },
	}
	var ds []time.Duration
	for i, s := range steps {
		t := time.Now()
		if err := s(); err != nil {
			return 0, nil, fmt.Errorf("action %d (%s): %w", i+1, names[i], err)
		}
		ds = append(ds, time.Since(t))
	}
	return start, ds, nil
}

// playwrightRound runs flow.js once.
func playwrightRound(root, dir, chromium, url string) (time.Duration, []time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", filepath.Join(root, "bench/browser/flow.js"), dir, chromium, url).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return 0, nil, fmt.Errorf("node flow.js: %v\n%s", err, ee.Stderr)
		}
		return 0, nil, err
	}
	var r struct {
		Start float64
		MS    []float64
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, nil, fmt.Errorf("flow.js printed %q: %v", out, err)
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	var ds []time.Duration
	for _, f := range r.MS {
		ds = append(ds, ms(f))
	}
	return ms(r.Start), ds, nil
}

func main() {
	quick := flag.Bool("quick", false, "fewer rounds")
	flag.Parse()
	defer measure.Done()
	rounds := 7
	if *quick {
		rounds = 3
	}
	root := measure.RepoRoot()
	url := serve(root)
	chromium, err := browserstep.FindBinary("")
	measure.Check(err)
	cache := os.Getenv("SEAM_BENCH_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "seam-bench")
	}
	pwDir := filepath.Join(cache, "playwright")
	havePW := true
	if _, err := os.Stat(filepath.Join(pwDir, "node_modules/playwright-core/package.json")); err != nil {
		havePW = false
		fmt.Println("Playwright is not installed: run `bash bench/peers.sh`; measuring seam alone")
	}
	tmp, err := os.MkdirTemp("", "seam-bench-browser-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })

	// A first round of each warms the disk cache (Chromium's files, node's).
	var seamStarts, pwStarts []time.Duration
	seamActs := make([][]time.Duration, len(names))
	pwActs := make([][]time.Duration, len(names))
	for r := 0; r <= rounds; r++ {
		st, ds, err := seamRound(url, filepath.Join(tmp, fmt.Sprint("seam", r)))
		measure.Check(err)
		if r > 0 {
			seamStarts = append(seamStarts, st)
			for i, d := range ds {
				seamActs[i] = append(seamActs[i], d)
			}
		}
		if !havePW {
			continue
		}
		st, ds, err = playwrightRound(root, pwDir, chromium, url)
		measure.Check(err)
		if r > 0 {
			pwStarts = append(pwStarts, st)
			for i, d := range ds {
				pwActs[i] = append(pwActs[i], d)
			}
		}
	}
	fmt.Printf("browser: the example page's 20-action flow, %d rounds after a warm-up, medians (Chromium %s)\n\n", rounds, chromium)
	fmt.Printf("%-3s %-12s %12s %12s %12s\n", "#", "action", "seam", "Playwright", "seam − PW")
	var seamTotal, pwTotal time.Duration
	for i, n := range names {
		s := measure.Median(seamActs[i])
		seamTotal += s
		line := fmt.Sprintf("%-3d %-12s %12s", i+1, n, measure.Ms(s))
		if havePW {
			p := measure.Median(pwActs[i])
			pwTotal += p
			line += fmt.Sprintf(" %12s %+10.1f ms", measure.Ms(p), measure.Msf(s)-measure.Msf(p))
		}
		fmt.Println(line)
	}
	fmt.Printf("%-16s %12s", "total", measure.Ms(seamTotal))
	if havePW {
		fmt.Printf(" %12s %+10.1f ms", measure.Ms(pwTotal), measure.Msf(seamTotal)-measure.Msf(pwTotal))
	}
	fmt.Println()
	start := measure.Median(seamStarts)
	fmt.Printf("%-16s %12s", "start+1st page", measure.Ms(start))
	if havePW {
		fmt.Printf(" %12s", measure.Ms(measure.Median(pwStarts)))
	}
	fmt.Println("\n\nratio = Playwright's total / seam's total (seam faster: > 1); target: ≥ 1 and seam's start + first page ≤ 1 s")
	ratio := 0.0
	if havePW && seamTotal > 0 {
		ratio = float64(pwTotal) / float64(seamTotal)
	}
	ok := "short"
	if havePW && ratio >= 1 && start <= time.Second {
		ok = "ok"
	}
	fmt.Printf("RESULT browser seam_total_ms=%.1f playwright_total_ms=%.1f seam_start_ms=%.1f ratio=%.2f target=1 %s\n",
		measure.Msf(seamTotal), measure.Msf(pwTotal), measure.Msf(start), ratio, ok)
}
