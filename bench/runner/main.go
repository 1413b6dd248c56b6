// Command runner measures what seam costs per HTTP step: a suite of 1,000
// HTTP steps (10 tests × 100 steps, each checking the status and a field
// of the JSON body) against a loopback Go server that this program starts
// itself, timed in interleaved rounds:
//
//   - the baseline: a plain Go loop with one net/http client (keep-alive)
//     doing the same GETs and reading each body, both in this process and
//     as a process of its own (this program again, with -client), run with
//     1 GET and with N;
//   - `seam run` of the suite, the whole process, and of a one-step suite,
//     which is seam's process start, load and exit; `seam validate` of both,
//     which splits seam's cost per step into loading and running;
//   - `venom run` of the same suite in venom v1.3.0 (installed by
//     bench/peers.sh into ${SEAM_BENCH_CACHE:-$HOME/.cache/seam-bench}).
//
// Per step, each side is (time of N steps - time of 1) / (N-1), so process
// start is left out; seam's overhead per step is seam's figure less the
// baseline loop's as a process of its own (like seam, it then crosses a
// process boundary on every request; the in-process loop does not, and is
// shown too). The headline ratio is venom's wall time over seam's on the
// N-step suite. The table prints the arithmetic.
//
//	go run ./bench/runner [-quick] [-steps N] [-rounds R] [-cpuprofile FILE]
//
// -cpuprofile FILE builds seam once more with a main that profiles itself
// (through a build overlay: the repository is not touched), runs the N-step
// suite with it a few times and writes their merged CPU profile, for
// `go tool pprof`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Targets from the issue.
const (
	targetOverheadMs = 0.3 // seam's overhead per step, at most
	targetRatio      = 5.0 // venom's time over seam's, at least
)

const venomVersion = "v1.3.0"

type config struct {
	quick      bool
	steps      int           // HTTP steps in the big suite
	perTest    int           // steps per test
	rounds     int           // interleaved rounds, at most
	budget     time.Duration // wall time for the rounds, at most
	runLimit   time.Duration // one child process, at most
	cpuprofile string
}

func main() { os.Exit(run()) }

func run() int {
	quick := flag.Bool("quick", false, "3 rounds, finishing in under 40 s on 2 cores")
	steps := flag.Int("steps", 1000, "HTTP steps in the suite (a multiple of the steps per test, 100)")
	rounds := flag.Int("rounds", 0, "interleaved rounds (default 11, or 3 with -quick)")
	cpuprofile := flag.String("cpuprofile", "", "also write a CPU profile of seam processes running the suite to this file")
	client := flag.String("client", "", "(internal) run the baseline loop against this base URL as a process of its own")
	clientN := flag.Int("n", 1, "(internal) GETs of the -client loop")
	flag.Parse()
	if *client != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := clientLoop(ctx, *client, min(max(*clientN, 1), 1_000_000)); err != nil {
			fmt.Fprintln(os.Stderr, "runner -client:", err)
			return 1
		}
		return 0
	}
	cfg := config{steps: *steps, perTest: 100, rounds: 11, budget: 8 * time.Minute, runLimit: 2 * time.Minute, cpuprofile: *cpuprofile}
	if *quick {
		cfg.quick, cfg.rounds, cfg.budget, cfg.runLimit = true, 3, 20*time.Second, 30*time.Second
	}
	if *rounds > 0 {
		cfg.rounds = *rounds
	}
	if cfg.steps < cfg.perTest {
		cfg.perTest = cfg.steps
	}
	if cfg.steps < 2 || cfg.steps%cfg.perTest != 0 || cfg.steps > 100_000 {
		fmt.Fprintf(os.Stderr, "runner: -steps %d: want 2..100000, a multiple of %d\n", cfg.steps, cfg.perTest)
		return 2
	}
	cfg.rounds = min(cfg.rounds, 50)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		return 1
	}
	return 0
}

// server is the system under test: GET /item/N answers {"id":N,"ok":true}.
type server struct {
	srv    *http.Server
	url    string
	served atomic.Int64 // requests answered 200
}

func startServer() (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusNotFound)
			return
		}
		s.served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":` + strconv.Itoa(id) + `,"ok":true}`))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// sample is one side's wall times over the rounds.
type sample struct {
	name  string
	times []time.Duration
}

func (s *sample) median() time.Duration {
	t := append([]time.Duration(nil), s.times...)
	sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
	return t[len(t)/2]
}

func (s *sample) spread() string {
	lo, hi := s.times[0], s.times[0]
	for _, t := range s.times {
		lo, hi = min(lo, t), max(hi, t)
	}
	return fmt.Sprintf("%s–%s", ms(lo), ms(hi))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", msf(d)) }
func msf(d time.Duration) float64 {
	return float64(d.Nanoseconds()) / 1e6
}

func bench(ctx context.Context, cfg config) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "seam-bench-runner-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	venom, venomMissing := findVenom()

	fmt.Println("building seam …")
	seam := filepath.Join(tmp, "seam")
	build := exec.CommandContext(ctx, "go", "build", "-o", seam, "./cmd/seam")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/seam: %v\n%s", err, out)
	}

	srv, err := startServer()
	if err != nil {
		return err
	}
	defer srv.stop()

	n, tests := cfg.steps, cfg.steps/cfg.perTest
	dirs := map[string]string{}
	for _, s := range []struct {
		name        string
		tests, each int
	}{{"seam-1", 1, 1}, {"seam-n", tests, cfg.perTest}, {"venom-1", 1, 1}, {"venom-n", tests, cfg.perTest}} {
		d := filepath.Join(tmp, s.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		file, text := "seam.yaml", seamSuite(s.tests, s.each)
		if strings.HasPrefix(s.name, "venom") {
			file, text = "suite.yml", venomSuite(s.tests, s.each)
		}
		if err := os.WriteFile(filepath.Join(d, file), []byte(text), 0o644); err != nil {
			return err
		}
		dirs[s.name] = d
	}
	env := append(os.Environ(), "NO_COLOR=1",
		"SEAM_STATE_DIR="+filepath.Join(tmp, "state"), "SEAM_CACHE_DIR="+filepath.Join(tmp, "cache"))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := func(want int, name string, args ...string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			return srv.timeChild(ctx, cfg.runLimit, tmp, env, want, name, args...)
		}
	}
	seamRun := func(dir string, want int) func() (time.Duration, error) {
		return child(want, seam, "run", "--var", "base="+srv.url, dir)
	}
	// seam validate loads the suite (parse, decode, compile every template
	// and expectation) and runs nothing: the load part of seam's cost.
	seamValidate := func(dir string) func() (time.Duration, error) {
		return child(0, seam, "validate", "--var", "base="+srv.url, dir)
	}
	// venom with its defaults, like seam: no report file (it writes only
	// venom.log into its working folder, the runner's temp folder).
	venomRun := func(dir string, want int) func() (time.Duration, error) {
		return child(want, venom, "run", "--var", "base="+srv.url, filepath.Join(dir, "suite.yml"))
	}
	loopRun := func(want int) func() (time.Duration, error) {
		return child(want, self, "-client", srv.url, "-n", strconv.Itoa(want))
	}
	var (
		inproc = sample{name: fmt.Sprintf("Go client loop in this process, %d GETs", n)}
		loop1  = sample{name: "Go client loop as its own process, 1 GET"}
		loopN  = sample{name: fmt.Sprintf("Go client loop as its own process, %d GETs", n)}
		seam1  = sample{name: "seam run, 1 step (process start, load, exit)"}
		seamN  = sample{name: fmt.Sprintf("seam run, %d steps", n)}
		load1  = sample{name: "seam validate, 1 step (process start, load, exit)"}
		loadN  = sample{name: fmt.Sprintf("seam validate, %d steps (load only)", n)}
		venom1 = sample{name: "venom run, 1 step (" + venomVersion + ")"}
		venomN = sample{name: fmt.Sprintf("venom run, %d steps (%s)", n, venomVersion)}
	)
	type side struct {
		s   *sample
		run func() (time.Duration, error)
	}
	sides := []side{
		{&inproc, func() (time.Duration, error) { return srv.timeLoop(ctx, n) }},
		{&loop1, loopRun(1)},
		{&loopN, loopRun(n)},
		{&seam1, seamRun(dirs["seam-1"], 1)},
		{&seamN, seamRun(dirs["seam-n"], n)},
		{&load1, seamValidate(dirs["seam-1"])},
		{&loadN, seamValidate(dirs["seam-n"])},
	}
	if venom != "" {
		sides = append(sides, side{&venom1, venomRun(dirs["venom-1"], 1)}, side{&venomN, venomRun(dirs["venom-n"], n)})
	}

	// Warm-up round (not counted): page cache, first connections.
	fmt.Printf("warm-up, then up to %d interleaved rounds (at most %s) …\n", cfg.rounds, cfg.budget)
	for _, sd := range sides {
		if _, err := sd.run(); err != nil {
			return fmt.Errorf("%s: %w", sd.s.name, err)
		}
	}
	deadline := time.Now().Add(cfg.budget)
	done := 0
	for done < cfg.rounds && (done == 0 || time.Now().Before(deadline)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, sd := range sides {
			d, err := sd.run()
			if err != nil {
				return fmt.Errorf("%s: %w", sd.s.name, err)
			}
			sd.s.times = append(sd.s.times, d)
		}
		done++
	}

	// The arithmetic: per step = (N steps - 1 step) / (N-1).
	perStep := func(one, many *sample) float64 { return (msf(many.median()) - msf(one.median())) / float64(n-1) }
	inprocPer := msf(inproc.median()) / float64(n)
	loopPer := perStep(&loop1, &loopN)
	seamPer := perStep(&seam1, &seamN)
	loadPer := perStep(&load1, &loadN)
	overhead := seamPer - loopPer
	overheadInproc := seamPer - inprocPer
	ratio, venomPer := 0.0, 0.0
	if venom != "" {
		ratio = msf(venomN.median()) / msf(seamN.median())
		venomPer = perStep(&venom1, &venomN)
	}

	fmt.Println()
	fmt.Printf("seam runner benchmark: %d HTTP steps (%d tests × %d steps; each a GET checking status 200 and .id of a JSON body)\n", n, tests, cfg.perTest)
	fmt.Printf("against a loopback Go server in the benchmark's process; %s; median of %d interleaved rounds after a warm-up\n", modeText(cfg, done), done)
	fmt.Println()
	row := func(key, what string, s *sample, per string) {
		wall, spread := "n/a", ""
		if len(s.times) > 0 {
			wall, spread = ms(s.median()), s.spread()
		}
		fmt.Printf("%-2s %-52s %10s %17s %10s\n", key, what, wall, spread, per)
	}
	fmt.Printf("%-2s %-52s %10s %17s %10s\n", "", "wall time of the whole run", "median ms", "min–max ms", "ms/step")
	row("A", inproc.name, &inproc, fmt.Sprintf("%.4f", inprocPer))
	row("B", loop1.name, &loop1, "")
	row("C", loopN.name, &loopN, fmt.Sprintf("%.4f", loopPer))
	row("D", seam1.name, &seam1, "")
	row("E", seamN.name, &seamN, fmt.Sprintf("%.4f", seamPer))
	row("F", load1.name, &load1, "")
	row("G", loadN.name, &loadN, fmt.Sprintf("%.4f", loadPer))
	if venom != "" {
		row("H", venom1.name, &venom1, "")
		row("I", venomN.name, &venomN, fmt.Sprintf("%.4f", venomPer))
	} else {
		row("H", "venom run, 1 step: not installed", &venom1, "")
		row("I", fmt.Sprintf("venom run, %d steps: not installed", n), &venomN, "")
	}
	fmt.Println()
	fmt.Printf("per step, N = %d (process start left out by taking the 1-step run off):\n", n)
	fmt.Printf("  baseline, in-process          A / N             = %.4f ms\n", inprocPer)
	fmt.Printf("  baseline, its own process     (C - B) / (N-1)   = %.4f ms\n", loopPer)
	fmt.Printf("  seam                          (E - D) / (N-1)   = %.4f ms\n", seamPer)
	fmt.Printf("    of which loading the suite  (G - F) / (N-1)   = %.4f ms\n", loadPer)
	fmt.Printf("    and running it              the rest          = %.4f ms\n", seamPer-loadPer)
	if venom != "" {
		fmt.Printf("  venom                         (I - H) / (N-1)   = %.4f ms\n", venomPer)
	}
	fmt.Printf("seam overhead per step = seam - baseline in its own process = %.4f ms   target ≤ %.1f ms\n", overhead, targetOverheadMs)
	fmt.Printf("  (seam - the in-process baseline A/N = %.4f ms; that loop never crosses a process boundary,\n", overheadInproc)
	fmt.Printf("   which seam, venom and any real client of a service do on every request)\n")
	if venom != "" {
		fmt.Printf("ratio = I / E = venom's wall time over seam's on the %d-step suite (seam better = larger) = %.2f   target ≥ %.0f\n", n, ratio, targetRatio)
	} else {
		fmt.Printf("ratio = I / E: n/a, venom is not installed (judged on the overhead alone); install it with:\n    %s\n", venomMissing)
	}

	if cfg.cpuprofile != "" {
		if err := profile(ctx, cfg, root, tmp, dirs["seam-n"], srv, env); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
	}

	verdict := "ok"
	if overhead > targetOverheadMs || (venom != "" && ratio < targetRatio) {
		verdict = "short"
	}
	ratioText := "n/a"
	if venom != "" {
		ratioText = fmt.Sprintf("%.2f", ratio)
	}
	fmt.Printf("RESULT runner overhead_ms=%.3f overhead_inproc_ms=%.3f venom_ratio=%s ratio=%s target=%.0f %s\n",
		overhead, overheadInproc, ratioText, ratioText, targetRatio, verdict)
	return nil
}

func modeText(cfg config, done int) string {
	s := "full run"
	if cfg.quick {
		s = "quick run"
	}
	if done < cfg.rounds {
		s += fmt.Sprintf(" (time budget %s hit: %d of %d rounds)", cfg.budget, done, cfg.rounds)
	}
	return s
}

// timeLoop is the in-process baseline: clientLoop, checked against the
// requests the server answered.
func (s *server) timeLoop(ctx context.Context, n int) (time.Duration, error) {
	before := s.served.Load()
	start := time.Now()
	if err := clientLoop(ctx, s.url, n); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if got := s.served.Load() - before; got != int64(n) {
		return 0, fmt.Errorf("the server answered %d requests, want %d", got, n)
	}
	return d, nil
}

// clientLoop is the baseline: n GETs with one keep-alive client, each body
// read to its end and the status checked.
func clientLoop(ctx context.Context, base string, n int) error {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 1; i <= n; i++ {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/item/"+strconv.Itoa(i), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || len(body) == 0 {
			return fmt.Errorf("GET /item/%d: %s", i, resp.Status)
		}
	}
	return nil
}

// timeChild runs a command to its end (at most limit) and returns its wall
// time; it must exit 0 and make exactly want requests.
func (s *server) timeChild(ctx context.Context, limit time.Duration, dir string, env []string, want int, name string, args ...string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	before := s.served.Load()
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return 0, fmt.Errorf("%s did not finish in %s; stopped it\n%s", filepath.Base(name), limit, out.String())
	}
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	if got := s.served.Load() - before; got != int64(want) {
		return 0, fmt.Errorf("%s: the server answered %d requests, want %d\n%s", filepath.Base(name), got, want, out.String())
	}
	return d, nil
}

// tail keeps the last 16 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 16<<10; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }

func seamSuite(tests, each int) string {
	var b strings.Builder
	b.WriteString("name: bench\nvars:\n  base: http://127.0.0.1:1\ntests:\n")
	id := 0
	for t := 1; t <= tests; t++ {
		fmt.Fprintf(&b, "  - name: t%03d\n    steps:\n", t)
		for i := 0; i < each; i++ {
			id++
			fmt.Fprintf(&b, "      - http: GET ((base))/item/%d\n        expect: {status: 200, body: {.id: %d}}\n", id, id)
		}
	}
	return b.String()
}

func venomSuite(tests, each int) string {
	var b strings.Builder
	b.WriteString("name: bench\nvars:\n  base: http://127.0.0.1:1\ntestcases:\n")
	id := 0
	for t := 1; t <= tests; t++ {
		fmt.Fprintf(&b, "- name: t%03d\n  steps:\n", t)
		for i := 0; i < each; i++ {
			id++
			fmt.Fprintf(&b, "  - type: http\n    method: GET\n    url: \"{{.base}}/item/%d\"\n    assertions:\n"+
				"    - result.statuscode ShouldEqual 200\n    - result.bodyjson.id ShouldEqual %d\n", id, id)
		}
	}
	return b.String()
}

// findVenom returns venom's path in the peers' cache, or "" and the command
// that installs it.
func findVenom() (path, install string) {
	cache := os.Getenv("SEAM_BENCH_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "seam-bench")
	}
	p := filepath.Join(cache, "bin", "venom")
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		// A go-installed venom says "snapshot" to `venom version`; its
		// module version is in the build information.
		out, _ := exec.Command("go", "version", "-m", p).Output()
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/ovh/venom" {
				if f[2] == venomVersion {
					return p, ""
				}
				return "", fmt.Sprintf("bash bench/peers.sh   (%s is venom %s, want %s)", p, f[2], venomVersion)
			}
		}
		return "", fmt.Sprintf("bash bench/peers.sh   (%s: not a venom %s build)", p, venomVersion)
	}
	return "", "bash bench/peers.sh   (venom " + venomVersion + " into " + filepath.Join(cache, "bin") + ")"
}

// profileMain replaces cmd/seam/main.go, through a build overlay (nothing
// in the repository changes), in the seam binary built for -cpuprofile: it
// writes a CPU profile of the whole process to $SEAM_BENCH_CPUPROFILE.
const profileMain = `package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/seamtest/seam/internal/cli"
)

func main() {
	if p := os.Getenv("SEAM_BENCH_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	pprof.StopCPUProfile()
	os.Exit(code)
}
`

// profile builds seam with profileMain, runs the N-step suite with it a
// bounded number of times and merges the runs' CPU profiles into one file.
func profile(ctx context.Context, cfg config, root, tmp, dir string, srv *server, env []string) error {
	dst, err := filepath.Abs(cfg.cpuprofile)
	if err != nil {
		return err
	}
	pdir := filepath.Join(tmp, "profile")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	mainGo, overlay := filepath.Join(pdir, "main.go"), filepath.Join(pdir, "overlay.json")
	if err := os.WriteFile(mainGo, []byte(profileMain), 0o644); err != nil {
		return err
	}
	o, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, "cmd", "seam", "main.go"): mainGo}})
	if err := os.WriteFile(overlay, o, 0o644); err != nil {
		return err
	}
	seam := filepath.Join(pdir, "seam")
	build := exec.CommandContext(ctx, "go", "build", "-overlay", overlay, "-o", seam, "./cmd/seam")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -overlay: %v\n%s", err, out)
	}
	var files []string
	s := sample{}
	limit := time.Now().Add(30 * time.Second)
	for i := 0; i < 20 && time.Now().Before(limit); i++ {
		f := filepath.Join(pdir, fmt.Sprintf("cpu-%02d.pprof", i))
		d, err := srv.timeChild(ctx, cfg.runLimit, tmp, append(env, "SEAM_BENCH_CPUPROFILE="+f), cfg.steps, seam, "run", "--var", "base="+srv.url, dir)
		if err != nil {
			return err
		}
		files = append(files, f)
		s.times = append(s.times, d)
	}
	merge := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-proto", "-output", dst}, files...)...)
	if out, err := merge.CombinedOutput(); err != nil {
		return fmt.Errorf("go tool pprof -proto: %v\n%s", err, out)
	}
	fmt.Printf("\n-cpuprofile: %d runs of seam run, %d steps, median %s ms, one CPU profile of them all: %s\n", len(files), cfg.steps, ms(s.median()), dst)
	fmt.Printf("  go tool pprof -top -cum %s\n", dst)
	return nil
}

// repoRoot is the folder holding go.mod, from the working folder up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("run it inside the seam repository")
}
