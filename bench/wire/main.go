// Command wire measures seam's edge proxy (internal/wire) recording an
// HTTP edge with keep-alive connections and a gRPC edge (HTTP/2 and gRPC
// decoded, messages rendered as JSON) under a bounded loopback load:
// direct to the service, through seam's proxy, and through Toxiproxy v2
// with no toxics (`bash bench/peers.sh` installs it), same run, rounds
// interleaved with the proxies not being measured stopped. Throughput is
// measured at full load; the added latency at a fixed rate that every path
// sustains (at full load a p50 is queueing time). It also prints
// the overhead on a PostgreSQL edge: simple queries direct and through the
// proxy.
//
//	go run ./bench/wire [-quick] [-http-only|-grpc-only]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/bench/internal/rawload"
	"github.com/seamtest/seam/internal/wire"
)

var body = []byte(strings.Repeat(`{"id":1,"name":"item","price":100}`, 8))

// serve is the service on the edge: a plain net/http handler.
func serve(port string) {
	err := http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// proxy runs seam's wire proxy for one edge, counting what it records.
func proxy(port, target string) {
	var n atomic.Int64
	_, err := wire.ListenAt("127.0.0.1:"+port, "bench→target", target, func(wire.Interaction) { n.Add(1) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}

func toxiproxyBin() string {
	cache := os.Getenv("SEAM_BENCH_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "seam-bench")
	}
	return filepath.Join(cache, "bin", "toxiproxy-server")
}

func main() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "-serve":
		serve(os.Args[2])
		return
	case len(os.Args) == 4 && os.Args[1] == "-proxy":
		proxy(os.Args[2], os.Args[3])
		return
	case len(os.Args) == 3 && os.Args[1] == "-grpc-serve":
		serveGRPC(os.Args[2])
		return
	case len(os.Args) == 4 && os.Args[1] == "-grpc-proxy":
		proxyGRPC(os.Args[2], os.Args[3])
		return
	}
	quick := flag.Bool("quick", false, "a smaller run (under 40 s)")
	grpcOnly := flag.Bool("grpc-only", false, "only the gRPC edge (while working on it; its own RESULT line)")
	httpOnly := flag.Bool("http-only", false, "only the HTTP edge (its own RESULT line)")
	flag.Parse()
	if *grpcOnly && *httpOnly {
		fmt.Fprintln(os.Stderr, "give -grpc-only or -http-only, not both (neither: both edges)")
		os.Exit(2)
	}
	defer measure.Done()
	self, err := os.Executable()
	measure.Check(err)
	var api *rawload.Server // Toxiproxy's API, nil when it is missing
	if bin := toxiproxyBin(); fileExists(bin) {
		api = rawload.Start("toxiproxy API", []string{bin, "-host", "127.0.0.1", "-port", "PORT"}, "/version")
	} else {
		fmt.Printf("Toxiproxy is missing (%s); install it with: bash bench/peers.sh\n", toxiproxyBin())
	}
	if *grpcOnly {
		g := benchGRPC(self, *quick, api)
		r := g.ratio
		fmt.Printf("RESULT wire-grpc grpc_seam_rps=%.0f grpc_toxiproxy_rps=%.0f grpc_direct_rps=%.0f grpc_added_p50_ms=%.3f ratio=%.2f target=1 %s\n",
			g.seam, g.toxiproxy, g.direct, g.added, r, map[bool]string{true: "ok", false: "short"}[r >= 1 && g.added <= 0.2])
		return
	}
	h := benchHTTP(self, *quick, api)
	if *httpOnly {
		fmt.Printf("RESULT wire-http seam_rps=%.0f toxiproxy_rps=%.0f direct_rps=%.0f added_p50_ms=%.3f ratio=%.2f target=1 %s\n",
			h.seam, h.toxiproxy, h.direct, h.added, h.ratio, map[bool]string{true: "ok", false: "short"}[h.ratio >= 1 && h.added <= 0.2])
		return
	}
	pgDirect, pgWire := postgres(*quick)
	fmt.Printf("PostgreSQL edge, simple query (SELECT 1) p50: direct %.3f ms, through seam's wire %.3f ms, added %.3f ms\n",
		measure.Msf(pgDirect), measure.Msf(pgWire), measure.Msf(pgWire-pgDirect))
	g := benchGRPC(self, *quick, api)
	// The headline: the issue sets the same two targets on both edges
	// (throughput ≥ 1.0× Toxiproxy's, added p50 ≤ 0.2 ms), and a run
	// meets it only if every one of the four holds: ok is their
	// conjunction, and ratio is the smaller of the two throughput ratios,
	// so a short protocol cannot hide behind the other (larger is still
	// better; ratio ≥ 1 exactly when both are).
	ok := h.added <= 0.2 && g.added <= 0.2
	if api == nil {
		fmt.Printf("RESULT wire seam_rps=%.0f direct_rps=%.0f toxiproxy=missing added_p50_ms=%.3f grpc_seam_rps=%.0f grpc_direct_rps=%.0f grpc_added_p50_ms=%.3f ratio=0 target=1 short\n",
			h.seam, h.direct, h.added, g.seam, g.direct, g.added)
		return
	}
	httpRatio, grpcRatio := h.ratio, g.ratio
	ratio := min(httpRatio, grpcRatio)
	fmt.Printf("\nheadline: ratio = min(HTTP %.2f, gRPC %.2f) = %.2f (seam's throughput / Toxiproxy's); ok only if both ≥ 1.0 and both added p50 ≤ 0.2 ms\n",
		httpRatio, grpcRatio, ratio)
	ok = ok && ratio >= 1
	verdict := map[bool]string{true: "ok", false: "short"}[ok]
	fmt.Printf("RESULT wire seam_rps=%.0f toxiproxy_rps=%.0f direct_rps=%.0f added_p50_ms=%.3f added_p50_target=0.2 http_ratio=%.2f "+
		"grpc_seam_rps=%.0f grpc_toxiproxy_rps=%.0f grpc_direct_rps=%.0f grpc_added_p50_ms=%.3f grpc_ratio=%.2f ratio=%.2f target=1 %s\n",
		h.seam, h.toxiproxy, h.direct, h.added, httpRatio, g.seam, g.toxiproxy, g.direct, g.added, grpcRatio, ratio, verdict)
}

// toxiproxyAdd creates a Toxiproxy proxy (no toxics) to upstream through
// its API at base, and returns the address it listens on.
func toxiproxyAdd(base, name, upstream string) string {
	listen := "127.0.0.1:" + rawload.FreePort()
	b, _ := json.Marshal(map[string]any{"name": name, "listen": listen, "upstream": upstream, "enabled": true})
	resp, err := http.Post(base+"/proxies", "application/json", bytes.NewReader(b))
	measure.Check(err)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		measure.Check(fmt.Errorf("toxiproxy: creating the proxy %s: %s", name, resp.Status))
	}
	return listen
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// postgres starts a PostgreSQL server with seam and times simple queries
// on one connection, direct and through a wire proxy, interleaved.
func postgres(quick bool) (direct, wired time.Duration) {
	dir, err := os.MkdirTemp("", "seam-bench-wire-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(dir) })
	measure.Check(os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("name: pgwire\nservices:\n  db:\n    postgres: {}\n"), 0o644))
	ctx := context.Background()
	env, err := seam.Up(ctx, dir)
	measure.Check(err)
	measure.OnExit(func() { env.Close() })
	url := env.URL("db")
	dbAddr := env.Addr("db")
	p, err := wire.Listen("bench→db", dbAddr, func(wire.Interaction) {})
	measure.Check(err)
	defer p.Close()
	viaWire := strings.Replace(url, dbAddr, p.Addr(), 1)
	n := 3000
	if quick {
		n = 1000
	}
	time1 := func(u string) time.Duration {
		c, err := pgx.Connect(ctx, u)
		measure.Check(err)
		defer c.Close(ctx)
		ds := make([]time.Duration, 0, n)
		for range n {
			t := time.Now()
			var one int
			measure.Check(c.QueryRow(ctx, "select 1").Scan(&one))
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	var ds, ws []time.Duration
	for range 3 {
		ds = append(ds, time1(url))
		ws = append(ws, time1(viaWire))
	}
	return measure.Median(ds), measure.Median(ws)
}
