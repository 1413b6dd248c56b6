// Command shards measures seam's CI-at-scale features:
//
//   - Parts: a synthetic suite of 200 HTTP tests (each waits on a loopback
//     server of this program's for its duration) with skewed durations (a
//     few long ones, many short) is run as 4 parts (seam run --shard K/4),
//     all 4 at once as CI machines would (the tests are sleeps),
//     first split by count, then by the timings of the first round's
//     merged event log (--timings). Each part's wall time is its run_end
//     duration; the imbalance is the slowest part over the mean part.
//   - Impact selection: a fixture repository with a scripted git history
//     (6 services, 40 tests whose recorded interactions touch 1 to 3 of
//     them) gets a one-service change, committed; selection
//     (what seam run --changed REF runs) is checked against the tests the
//     change breaks in the fixture's model.
//
// The headline ratio is the imbalance by count over the imbalance by
// timings (larger: timings balance better); the target is an imbalance
// by timings within 1.15 of the mean, with every broken test selected and
// under half the suite for the one-service change.
//
//	go run ./bench/shards [-quick]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/impact"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/suite"
)

func main() {
	quick := flag.Bool("quick", false, "shorter tests (a run under 40 s)")
	flag.Parse()
	if err := run(*quick); err != nil {
		fmt.Fprintln(os.Stderr, "bench/shards:", err)
		os.Exit(1)
	}
}

const (
	nTests  = 200
	nShards = 4
)

func run(quick bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "seam-bench-shards-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "seam")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/seam").CombinedOutput(); err != nil {
		return fmt.Errorf("building seam: %v\n%s", err, out)
	}
	scale := 1.0
	if quick {
		scale = 0.3
	}
	// The tests wait on this loopback server (GET /sleep?ms=N): their
	// time is the wait, not process starts, which on a loaded machine
	// vary more than the tests' own durations.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		t := time.NewTimer(time.Duration(min(ms, 10_000)) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	suiteDir := filepath.Join(work, "suite")
	total, err := writeSyntheticSuite(suiteDir, scale)
	if err != nil {
		return err
	}
	fmt.Printf("parts: %d tests (%.1f s of sleeps, skewed: 8 long, 192 short), %d parts run at once\n\n", nTests, total.Seconds(), nShards)
	runPart := func(round string, k int, timings string) (float64, string, error) {
		log := filepath.Join(work, fmt.Sprintf("%s-%d.jsonl", round, k))
		args := []string{"run", suiteDir, "--shard", fmt.Sprintf("%d/%d", k, nShards), "--report", "json=" + log, "--var", "base=" + srv.URL}
		if timings != "" {
			args = append(args, "--timings", timings)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "SEAM_STATE_DIR="+filepath.Join(work, "state"), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, "", fmt.Errorf("seam %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if os.Getenv("BENCH_VERBOSE") != "" {
			fmt.Print(strings.SplitAfterN(string(out), "\n", 2)[0])
		}
		wall, err := runWall(log)
		return wall, log, err
	}
	// All parts of a split run at once, as CI machines would (the tests
	// are sleeps, so 2 cores carry 4 parts): noise in time falls on every
	// part alike.
	runSplit := func(round, timings string) ([]float64, []string, error) {
		walls, logs, errs := make([]float64, nShards), make([]string, nShards), make([]error, nShards)
		var wg sync.WaitGroup
		for k := 1; k <= nShards; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				walls[k-1], logs[k-1], errs[k-1] = runPart(round, k, timings)
			}()
		}
		wg.Wait()
		return walls, logs, errors.Join(errs...)
	}
	// A first round by count gives the timings, as an earlier CI run would.
	_, logs, err := runSplit("first", "")
	if err != nil {
		return err
	}
	merged := filepath.Join(work, "merged.jsonl")
	if out, err := exec.CommandContext(ctx, bin, append([]string{"report", "merge", "--json", merged}, logs...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("seam report merge: %v\n%s", err, out)
	}
	// Then rounds of both splits, interleaved; each part's median wall
	// time over the rounds.
	rounds := 3
	if quick {
		rounds = 1
	}
	walls := map[string][][]float64{"count": make([][]float64, nShards), "timings": make([][]float64, nShards)}
	for range rounds {
		for _, split := range []string{"count", "timings"} {
			tm := ""
			if split == "timings" {
				tm = merged
			}
			w, _, err := runSplit(split, tm)
			if err != nil {
				return err
			}
			for k := range w {
				walls[split][k] = append(walls[split][k], w[k])
			}
		}
	}
	fmt.Printf("%-8s %-10s %10s %10s %10s %10s %10s\n", "split", "imbalance", "part 1", "part 2", "part 3", "part 4", "mean")
	imb := map[string]float64{}
	for _, split := range []string{"count", "timings"} {
		med := make([]float64, nShards)
		mean, mx := 0.0, 0.0
		for k := range med {
			med[k] = median(walls[split][k])
			mean += med[k]
			mx = max(mx, med[k])
		}
		mean /= nShards
		imb[split] = mx / mean
		fmt.Printf("%-8s %-10.3f %9.2fs %9.2fs %9.2fs %9.2fs %9.2fs\n", split, imb[split], med[0], med[1], med[2], med[3], mean)
	}
	fmt.Printf("\nimbalance = slowest part's wall time / mean part's (each part's median of %d round(s)); timings from a first by-count round's merged event log\n", rounds)

	sel, err := impactBench(ctx, work)
	if err != nil {
		return err
	}
	ok := imb["timings"] <= 1.15 && sel.missed == 0 && float64(sel.selected) < float64(sel.total)/2
	verdict := "short"
	if ok {
		verdict = "ok"
	}
	fmt.Printf("RESULT shards imbalance_count=%.3f imbalance_timings=%.3f impact_selected=%d/%d impact_missed=%d ratio=%.2f target=1.15 %s\n",
		imb["count"], imb["timings"], sel.selected, sel.total, sel.missed, imb["count"]/imb["timings"], verdict)
	return nil
}

// writeSyntheticSuite writes 200 HTTP tests: 8 long (0.8–1.6 s) at places
// drawn with a fixed seed, the rest 10–60 ms; durations times scale.
func writeSyntheticSuite(dir string, scale float64) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(18, 4))
	var b strings.Builder
	b.WriteString("name: synthetic\nvars: {base: \"\"}\ntests:\n")
	var total time.Duration
	long := map[int]bool{} // 8 long tests at seeded places, as a suite's slow ones fall where they fall
	for len(long) < 8 {
		long[rng.IntN(nTests)] = true
	}
	for i := range nTests {
		ms := 10 + rng.IntN(50)
		if long[i] {
			ms = 800 + rng.IntN(800)
		}
		d := time.Duration(float64(ms)*scale) * time.Millisecond
		total += d
		fmt.Fprintf(&b, "  - name: test %03d\n    steps:\n      - http: GET ((base))/sleep?ms=%d\n        expect: {status: 200}\n", i+1, d.Milliseconds())
	}
	return total, os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(b.String()), 0o644)
}

// runWall is a part's wall time from its event log's run_end, in seconds.
func runWall(path string) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		var e report.Event
		if json.Unmarshal([]byte(l), &e) == nil && e.Type == report.RunEnd {
			return e.Duration / 1000, nil
		}
	}
	return 0, fmt.Errorf("%s: no run_end", path)
}

type selection struct{ selected, total, missed int }

var services = []string{"api", "users", "orders", "billing", "search", "mail"}

// impactBench scripts a repository: a commit with six services and 40
// tests, a recorded run of them, then a commit that changes orders' code.
// In the fixture's model a test breaks when it touches the changed
// service.
func impactBench(ctx context.Context, work string) (selection, error) {
	repo := filepath.Join(work, "repo")
	rng := rand.New(rand.NewPCG(7, 11))
	var y strings.Builder
	y.WriteString("name: shop\nservices:\n")
	for _, s := range services {
		if err := os.MkdirAll(filepath.Join(repo, s), 0o755); err != nil {
			return selection{}, err
		}
		if err := os.WriteFile(filepath.Join(repo, s, "main.sh"), []byte("#!/bin/sh\necho "+s+"\n"), 0o755); err != nil {
			return selection{}, err
		}
		fmt.Fprintf(&y, "  %s:\n    process:\n      dir: %s\n      run: [sh, main.sh]\n", s, s)
	}
	y.WriteString("include: [tests/*.yaml]\n")
	touches := map[string][]string{} // test → downstream services (api is called by every test)
	var tests strings.Builder
	tests.WriteString("tests:\n")
	names := []string{}
	for i := range 40 {
		name := fmt.Sprintf("flow %02d", i+1)
		names = append(names, name)
		n := 1 + rng.IntN(2)
		for range n {
			touches[name] = append(touches[name], services[2+rng.IntN(len(services)-2)])
		}
		if i%5 == 0 {
			touches[name] = append(touches[name], "users")
		}
		fmt.Fprintf(&tests, "  - name: %s\n    steps:\n      - exec: [\"true\"]\n", name)
	}
	os.MkdirAll(filepath.Join(repo, "tests"), 0o755)
	files := map[string]string{"seam.yaml": y.String(), "tests/flows.yaml": tests.String()}
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(repo, f), []byte(data), 0o644); err != nil {
			return selection{}, err
		}
	}
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return nil
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-qm", "the shop"}} {
		if err := git(args...); err != nil {
			return selection{}, err
		}
	}
	// The recorded run: every test's interactions api→X.
	t0 := time.Now()
	events := []report.Event{{Time: t0, Type: report.RunStart, Suite: "shop"}}
	for _, n := range names {
		events = append(events, report.Event{Time: t0, Type: report.TestStart, Test: n})
		for _, s := range touches[n] {
			events = append(events, report.Event{Time: t0, Type: report.Log, Stream: report.WireStream, Test: n, Service: "api→" + s, Message: "POST /x → 200 OK"})
		}
		events = append(events, report.Event{Time: t0, Type: report.TestEnd, Test: n, Status: report.Passed, Duration: 5})
	}
	// The change: orders' code, committed.
	if err := os.WriteFile(filepath.Join(repo, "orders", "main.sh"), []byte("#!/bin/sh\necho orders v2\n"), 0o755); err != nil {
		return selection{}, err
	}
	if err := git("commit", "-qam", "orders: v2"); err != nil {
		return selection{}, err
	}
	reg := builtin.New()
	defer reg.Close()
	s, err := suite.Load(repo, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	if err != nil {
		return selection{}, err
	}
	changed, err := impact.Changed(ctx, repo, "HEAD~1")
	if err != nil {
		return selection{}, err
	}
	vars, err := engine.SuiteVars(s, 0, nil)
	if err != nil {
		return selection{}, err
	}
	res, err := impact.Select(ctx, impact.Input{Suite: s, Tests: s.Tests, Changed: changed, Runs: [][]report.Event{events}, Vars: vars})
	if err != nil {
		return selection{}, err
	}
	picked := map[string]bool{}
	for _, c := range res.Selected {
		picked[c.Test.Name] = true
	}
	sel := selection{selected: len(res.Selected), total: len(s.Tests)}
	broken := 0
	for _, n := range names {
		for _, svc := range touches[n] {
			if svc == "orders" {
				broken++
				if !picked[n] {
					sel.missed++
				}
				break
			}
		}
	}
	fmt.Printf("\nimpact: a one-service change (orders/main.sh, committed after HEAD~1): %d of %d tests selected; %d break in the model, %d of them missed\n",
		sel.selected, sel.total, broken, sel.missed)
	for i, c := range res.Selected {
		if i == 3 {
			fmt.Printf("  … (%d more)\n", len(res.Selected)-3)
			break
		}
		fmt.Printf("  %s: %s\n", c.Test.Name, c.Why)
	}
	return sel, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
