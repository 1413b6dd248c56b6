// Command stub measures seam's HTTP stub under load: 100 WireMock mappings,
// request journal on, a bounded keep-alive load from a loopback client.
// Against WireMock itself (its standalone jar from the npm package, run
// with the machine's Java; `bash bench/peers.sh` installs it) and against a
// plain Go net/http server answering the same requests from a map, each
// server its own process, same run, rounds interleaved; while one server
// is measured the others are stopped, so no one's background work (a JVM's
// compiler and collector) falls on another's round.
//
//	go run ./bench/stub [-quick]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
)

// call is one request of the load and what its answer must be.
type call struct {
	method, path, header, body string
	status                     int
	want                       []byte
}

// mappings writes 100 WireMock mappings into dir/mappings and returns the
// requests that exercise them, each with its expected answer: mostly exact
// paths, some path patterns, some query and header matchers, some JSON
// bodies on POST.
func mappings(dir string) []call {
	measure.Check(os.MkdirAll(filepath.Join(dir, "mappings"), 0o755))
	var calls []call
	write := func(i int, m map[string]any) {
		b, _ := json.MarshalIndent(m, "", "  ")
		measure.Check(os.WriteFile(filepath.Join(dir, "mappings", fmt.Sprintf("m%03d.json", i)), b, 0o644))
	}
	body := func(i int) string {
		item := map[string]any{"id": i, "name": fmt.Sprintf("item %d", i), "price": 100 + i,
			"tags": []string{"a", "b", "c"}, "description": strings.Repeat("lorem ipsum ", 16)}
		b, _ := json.Marshal(item)
		return string(b)
	}
	headers := map[string]any{"Content-Type": "application/json"}
	for i := 0; i < 100; i++ {
		b := body(i)
		switch {
		case i < 60:
			p := fmt.Sprintf("/api/items/%d", i)
			write(i, map[string]any{"request": map[string]any{"method": "GET", "urlPath": p},
				"response": map[string]any{"status": 200, "headers": headers, "body": b}})
			calls = append(calls, call{method: "GET", path: p, status: 200, want: []byte(b)})
		case i < 75:
			write(i, map[string]any{"request": map[string]any{"method": "GET", "urlPathPattern": fmt.Sprintf("/api/users/%d/[a-z]+", i)},
				"response": map[string]any{"status": 200, "headers": headers, "body": b}})
			calls = append(calls, call{method: "GET", path: fmt.Sprintf("/api/users/%d/orders", i), status: 200, want: []byte(b)})
		case i < 90:
			p := fmt.Sprintf("/api/search/%d", i)
			write(i, map[string]any{"request": map[string]any{"method": "GET", "urlPath": p,
				"queryParameters": map[string]any{"q": map[string]any{"matches": "[a-z]+"}},
				"headers":         map[string]any{"X-Api-Key": map[string]any{"equalTo": "k"}}},
				"response": map[string]any{"status": 200, "headers": headers, "body": b}})
			calls = append(calls, call{method: "GET", path: p + "?q=shoes", header: "k", status: 200, want: []byte(b)})
		default:
			p := fmt.Sprintf("/api/orders/%d", i)
			req := fmt.Sprintf(`{"sku":"S%d","qty":2,"note":"bench"}`, i)
			write(i, map[string]any{"request": map[string]any{"method": "POST", "urlPath": p,
				"bodyPatterns": []any{map[string]any{"equalToJson": map[string]any{"sku": fmt.Sprintf("S%d", i), "qty": 2}, "ignoreExtraElements": true}}},
				"response": map[string]any{"status": 201, "headers": headers, "body": b}})
			calls = append(calls, call{method: "POST", path: p, body: req, status: 201, want: []byte(b)})
		}
	}
	return calls
}

// plain serves the calls from a map: what a hand-written fake would be.
func plain(port string, calls []call) {
	byKey := map[string]call{}
	for _, c := range calls {
		p, _, _ := strings.Cut(c.path, "?")
		byKey[c.method+" "+p] = c
	}
	err := http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c, ok := byKey[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		w.Write(c.want)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	measure.Check(err)
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// server is one server under test, as a process of its own.
type server struct {
	name string
	base string
	cmd  *exec.Cmd
}

func start(name string, argv []string, health string) *server {
	port := freePort()
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "PORT", port)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	measure.Check(cmd.Start())
	measure.OnExit(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	s := &server{name: name, base: "http://127.0.0.1:" + port, cmd: cmd}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.base + health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return s
			}
		}
		if time.Now().After(deadline) {
			measure.Check(fmt.Errorf("%s did not start:\n%s", name, out.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	n        int
}

// The load client speaks HTTP/1.1 over raw keep-alive connections, one
// request in flight on each, like wrk: Go's http.Client costs as much CPU as
// a fast server, and on a 2-core machine that would measure the client.
// Every answer is still parsed (status, headers, Content-Length or chunked
// body) and checked against what it must be.

// wire is a call as bytes on the wire.
func wire(host string, c call) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", c.method, c.path, host)
	if c.header != "" {
		fmt.Fprintf(&b, "X-Api-Key: %s\r\n", c.header)
	}
	if c.body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(c.body))
	}
	b.WriteString("\r\n")
	b.WriteString(c.body)
	return b.Bytes()
}

// readAnswer reads one HTTP/1.1 response: its status and body.
func readAnswer(r *bufio.Reader, body *bytes.Buffer) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length, chunked := -1, false
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		k, v, _ := bytes.Cut(bytes.TrimRight(h, "\r\n"), []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")) && bytes.EqualFold(v, []byte("chunked")):
			chunked = true
		}
	}
	body.Reset()
	if !chunked {
		if length < 0 {
			return 0, fmt.Errorf("an answer with neither Content-Length nor chunks")
		}
		_, err := io.CopyN(body, r, int64(length))
		return status, err
	}
	for {
		sz, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(string(bytes.TrimRight(sz, "\r\n")), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("bad chunk size %q", sz)
		}
		if n == 0 {
			_, err := r.Discard(2)
			return status, err
		}
		if _, err := io.CopyN(body, r, n); err != nil {
			return 0, err
		}
		if _, err := r.Discard(2); err != nil {
			return 0, err
		}
	}
}

// load sends up to n requests (or for at most limit) over conns keep-alive
// connections, checking every answer.
func load(base string, calls []call, conns, n int, limit time.Duration, seed uint64) result {
	host := strings.TrimPrefix(base, "http://")
	reqs := make([][]byte, len(calls))
	for i, c := range calls {
		reqs[i] = wire(host, c)
	}
	var next atomic.Int64
	var failed atomic.Value
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(limit)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", host)
			if err != nil {
				failed.Store(err)
				return
			}
			defer conn.Close()
			// One deadline for the whole round: setting one per request
			// costs the client a timer update each time.
			conn.SetDeadline(deadline.Add(10 * time.Second))
			br := bufio.NewReaderSize(conn, 64<<10)
			var body bytes.Buffer
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			lat[w] = make([]time.Duration, 0, n/conns+1)
			for {
				if next.Add(1) > int64(n) || time.Now().After(deadline) || failed.Load() != nil {
					return
				}
				i := rnd.IntN(len(calls))
				c := calls[i]
				t0 := time.Now()
				if _, err := conn.Write(reqs[i]); err != nil {
					failed.Store(err)
					return
				}
				status, err := readAnswer(br, &body)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					failed.Store(fmt.Errorf("%s %s: %v", c.method, c.path, err))
					return
				}
				if status != c.status || !bytes.Equal(body.Bytes(), c.want) {
					failed.Store(fmt.Errorf("%s %s: status %d (want %d), body %.80q", c.method, c.path, status, c.status, body.Bytes()))
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		measure.Check(fmt.Errorf("%s: a wrong answer: %v", base, err))
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return result{rps: float64(len(all)) / elapsed.Seconds(), p50: all[len(all)/2], p99: all[len(all)*99/100], n: len(all)}
}

func medianF(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-serve-plain" {
		plain(os.Args[2], mappings(os.Args[3]))
		return
	}
	quick := flag.Bool("quick", false, "a smaller run (under 40 s)")
	write := flag.String("write", "", "only write the benchmark's mappings into this folder (to try them by hand)")
	flag.Parse()
	if *write != "" {
		mappings(*write)
		return
	}
	defer measure.Done()
	rounds, perRound, limit, warm := 5, 20000, 5*time.Second, 20000
	if *quick {
		rounds, perRound, limit, warm = 3, 5000, 2*time.Second, 5000
	}
	const conns = 16

	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-stub-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	dir := filepath.Join(tmp, "stubs")
	calls := mappings(dir)
	seamBin := filepath.Join(tmp, "seam")
	measure.Run(root, "go", "build", "-o", seamBin, "./cmd/seam")
	self, err := os.Executable()
	measure.Check(err)

	servers := []*server{
		start("seam stub", []string{seamBin, "stub", "--port", "PORT", dir}, "/__admin/health"),
		start("plain Go net/http", []string{self, "-serve-plain", "PORT", dir}, "/api/items/0"),
	}
	jar := os.Getenv("SEAM_WIREMOCK_JAR")
	if jar == "" {
		home, _ := os.UserHomeDir()
		jar = filepath.Join(home, ".cache", "seam-peers", "wiremock", "node_modules", "wiremock", "build", "wiremock-standalone-3.13.2.jar")
	}
	_, jerr := os.Stat(jar)
	_, xerr := exec.LookPath("java")
	haveWM := jerr == nil && xerr == nil
	if haveWM {
		servers = append(servers, start("WireMock 3.13.2", []string{"java", "-jar", jar, "--port", "PORT",
			"--bind-address", "127.0.0.1", "--root-dir", dir, "--disable-banner", "--disable-request-logging"}, "/__admin/health"))
	} else {
		fmt.Println("WireMock is missing (jar or java); install it with: bash bench/peers.sh")
	}
	// Warm-up, not timed: the JVM compiles its hot paths; every server
	// gets the same.
	for _, s := range servers {
		load(s.base, calls, conns, warm, 4*limit, 99)
	}
	// Interleaved, each round starting with the next server. While one
	// server is measured the others are stopped (SIGSTOP): a JVM goes on
	// compiling and collecting long after its own load, and that CPU must
	// not be taken from whoever is measured next.
	pause := func(except int) {
		for i, s := range servers {
			sig := syscall.SIGSTOP
			if i == except {
				sig = syscall.SIGCONT
			}
			syscall.Kill(-s.cmd.Process.Pid, sig)
		}
	}
	measure.OnExit(func() {
		pause(-1)
		for _, s := range servers {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
		}
	})
	res := make([][]result, len(servers))
	for r := range rounds {
		for k := range servers {
			i := (r + k) % len(servers)
			pause(i)
			time.Sleep(200 * time.Millisecond)
			res[i] = append(res[i], load(servers[i].base, calls, conns, perRound, limit, uint64(r+1)))
		}
	}
	for _, s := range servers { // (a stopped process still dies of SIGKILL at exit)
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
	}
	fmt.Printf("100 mappings, journal on, %d keep-alive connections, %d requests or %s per round, median of %d interleaved rounds\n",
		conns, perRound, limit, rounds)
	fmt.Printf("(each server warmed up with %d requests first; every answer checked)\n\n", warm)
	fmt.Printf("%-22s %12s %10s %10s\n", "server", "req/s", "p50 ms", "p99 ms")
	rps := make([]float64, len(servers))
	for i, s := range servers {
		var xs []float64
		var p50s, p99s []time.Duration
		for _, x := range res[i] {
			xs = append(xs, x.rps)
			p50s = append(p50s, x.p50)
			p99s = append(p99s, x.p99)
		}
		rps[i] = medianF(xs)
		fmt.Printf("%-22s %12.0f %10.3f %10.3f\n", s.name, rps[i], measure.Msf(measure.Median(p50s)), measure.Msf(measure.Median(p99s)))
	}
	plainRatio := rps[0] / rps[1]
	fmt.Printf("\nseam / plain Go throughput = %.2f   target ≥ 0.7\n", plainRatio)
	ok := plainRatio >= 0.7
	if !haveWM {
		verdict := map[bool]string{true: "ok", false: "short"}[ok]
		fmt.Printf("RESULT stub seam_rps=%.0f plain_rps=%.0f wiremock=missing plain_ratio=%.2f ratio=%.2f target=0.7 %s\n",
			rps[0], rps[1], plainRatio, plainRatio, verdict)
		return
	}
	ratio := rps[0] / rps[2]
	fmt.Printf("seam / WireMock throughput = %.2f   target ≥ 10\n", ratio)
	ok = ok && ratio >= 10
	verdict := map[bool]string{true: "ok", false: "short"}[ok]
	fmt.Printf("RESULT stub seam_rps=%.0f wiremock_rps=%.0f plain_rps=%.0f plain_ratio=%.2f plain_target=0.7 ratio=%.2f target=10 %s\n",
		rps[0], rps[2], rps[1], plainRatio, ratio, verdict)
}
