// Command stub measures seam's HTTP stub under load: 100 WireMock mappings
// (exact paths, path patterns with templated answers, query `includes` and
// header matchers, JSON bodies by equalToJson and by a JSONPath filter),
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
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/bench/internal/rawload"
)

// mappings writes 100 WireMock mappings into dir/mappings and returns the
// requests that exercise them, each with its expected answer: mostly exact
// paths, some path patterns, some query and header matchers, some JSON
// bodies on POST.
func mappings(dir string) []rawload.Call {
	measure.Check(os.MkdirAll(filepath.Join(dir, "mappings"), 0o755))
	var calls []rawload.Call
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
			calls = append(calls, rawload.Call{Method: "GET", Path: p, Status: 200, Want: []byte(b)})
		case i < 75:
			// Templated: a sub-expression helper that renders the body as is.
			write(i, map[string]any{"request": map[string]any{"method": "GET", "urlPathPattern": fmt.Sprintf("/api/users/%d/[a-z]+", i)},
				"response": map[string]any{"status": 200, "headers": headers, "transformers": []string{"response-template"},
					"body": `{{#if (gt (size request.url) 0)}}` + b + `{{/if}}`}})
			calls = append(calls, rawload.Call{Method: "GET", Path: fmt.Sprintf("/api/users/%d/orders", i), Status: 200, Want: []byte(b)})
		case i < 90:
			p := fmt.Sprintf("/api/search/%d", i)
			write(i, map[string]any{"request": map[string]any{"method": "GET", "urlPath": p,
				"queryParameters": map[string]any{"q": map[string]any{"includes": []any{map[string]any{"matches": "[a-z]+"}}}},
				"headers":         map[string]any{"X-Api-Key": map[string]any{"equalTo": "k"}}},
				"response": map[string]any{"status": 200, "headers": headers, "body": b}})
			calls = append(calls, rawload.Call{Method: "GET", Path: p + "?q=shoes", Header: "k", Status: 200, Want: []byte(b)})
		default:
			p := fmt.Sprintf("/api/orders/%d", i)
			req := fmt.Sprintf(`{"sku":"S%d","qty":2,"note":"bench"}`, i)
			pattern := map[string]any{"equalToJson": map[string]any{"sku": fmt.Sprintf("S%d", i), "qty": 2}, "ignoreExtraElements": true}
			if i%2 == 1 {
				pattern = map[string]any{"matchesJsonPath": map[string]any{"expression": "$[?(@.qty == 2)].sku", "equalTo": fmt.Sprintf("S%d", i)}}
			}
			write(i, map[string]any{"request": map[string]any{"method": "POST", "urlPath": p, "bodyPatterns": []any{pattern}},
				"response": map[string]any{"status": 201, "headers": headers, "body": b}})
			calls = append(calls, rawload.Call{Method: "POST", Path: p, Body: req, Status: 201, Want: []byte(b)})
		}
	}
	return calls
}

// plain serves the calls from a map: what a hand-written fake would be.
func plain(port string, calls []rawload.Call) {
	byKey := map[string]rawload.Call{}
	for _, c := range calls {
		p, _, _ := strings.Cut(c.Path, "?")
		byKey[c.Method+" "+p] = c
	}
	err := http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c, ok := byKey[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.Status)
		w.Write(c.Want)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
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

	servers := []*rawload.Server{
		rawload.Start("seam stub", []string{seamBin, "stub", "--port", "PORT", dir}, "/__admin/health"),
		rawload.Start("plain Go net/http", []string{self, "-serve-plain", "PORT", dir}, "/api/items/0"),
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
		servers = append(servers, rawload.Start("WireMock 3.13.2", []string{"java", "-jar", jar, "--port", "PORT",
			"--bind-address", "127.0.0.1", "--root-dir", dir, "--disable-banner", "--disable-request-logging"}, "/__admin/health"))
	} else {
		fmt.Println("WireMock is missing (jar or java); install it with: bash bench/peers.sh")
	}
	// Warm-up, not timed: the JVM compiles its hot paths; every server
	// gets the same.
	for _, s := range servers {
		rawload.Load(s.Base, calls, conns, warm, 4*limit, 99)
	}
	res := rawload.Interleaved(servers, servers, rounds, 200*time.Millisecond, func(s *rawload.Server, r int) rawload.Result {
		return rawload.Load(s.Base, calls, conns, perRound, limit, uint64(r+1))
	})
	fmt.Printf("100 mappings, journal on, %d keep-alive connections, %d requests or %s per round, median of %d interleaved rounds\n",
		conns, perRound, limit, rounds)
	fmt.Printf("(each server warmed up with %d requests first; every answer checked)\n\n", warm)
	fmt.Printf("%-22s %12s %10s %10s\n", "server", "req/s", "p50 ms", "p99 ms")
	rps := make([]float64, len(servers))
	for i, s := range servers {
		var xs []float64
		var p50s, p99s []time.Duration
		for _, x := range res[i] {
			xs = append(xs, x.RPS)
			p50s = append(p50s, x.P50)
			p99s = append(p99s, x.P99)
		}
		rps[i] = rawload.MedianF(xs)
		fmt.Printf("%-22s %12.0f %10.3f %10.3f\n", s.Name, rps[i], measure.Msf(measure.Median(p50s)), measure.Msf(measure.Median(p99s)))
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
