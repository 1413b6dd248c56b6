package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/bench/internal/rawload"
)

// figures are an edge's medians (the HTTP or the gRPC section's).
type figures struct {
	seam, toxiproxy, direct float64 // requests or calls a second at full load (medians); toxiproxy 0: missing
	ratio                   float64 // seam's / Toxiproxy's, round by round (PairedRatio)
	added                   float64 // seam's added p50 at the paced rate, ms
}

// printThroughput says seam's throughput against Toxiproxy's on an edge
// (proto: HTTP, gRPC): the median of the rounds' ratios, the medians'
// ratio, and each round's (seam's results, Toxiproxy's).
func printThroughput(proto string, f figures, seam, toxi []rawload.Result) {
	fmt.Printf("seam / Toxiproxy %s throughput = %.2f (median of the rounds' ratios; of the medians: %.2f)   target ≥ 1.0\n",
		proto, f.ratio, f.seam/f.toxiproxy)
	fmt.Printf("the rounds' ratios:")
	for r := range min(len(seam), len(toxi)) {
		fmt.Printf(" %.2f", seam[r].RPS/toxi[r].RPS)
	}
	fmt.Println()
}

// benchHTTP measures the HTTP edge: GET /items/1 over keep-alive
// connections direct, through seam's wire (recording) and through
// Toxiproxy when api (its API) is running, rounds interleaved.
func benchHTTP(self string, quick bool, api *rawload.Server) figures {
	// Many short rounds, as for gRPC: the machine's speed drifts within
	// seconds, and the ratio is taken round by round (PairedRatio).
	rounds, perRound, limit, warm := 9, 10000, 3*time.Second, 5000
	if quick {
		rounds, perRound, limit, warm = 3, 5000, 2*time.Second, 2000
	}
	// The paced rate: well under what any path here sustains on 2 cores
	// (the proxies ~15,000 req/s at full load), well over a test's traffic.
	rate, pacedFor := 4000.0, 2*time.Second
	if quick {
		pacedFor = time.Second
	}
	const conns = 8
	target := rawload.Start("service", []string{self, "-serve", "PORT"}, "/")
	addr := strings.TrimPrefix(target.Base, "http://")
	paths := []*rawload.Server{
		{Name: "direct", Base: target.Base},
		rawload.Start("seam wire (recording)", []string{self, "-proxy", "PORT", addr}, "/"),
	}
	proxies := []*rawload.Server{paths[1]}
	if api != nil {
		tp := &rawload.Server{Name: "Toxiproxy v2.12.0 (no toxics)", Base: "http://" + toxiproxyAdd(api.Base, "bench", addr), Cmd: api.Cmd}
		paths = append(paths, tp)
		proxies = append(proxies, tp)
	}
	calls := []rawload.Call{{Method: "GET", Path: "/items/1", Status: 200, Want: body}}
	for _, p := range paths {
		rawload.Only(proxies, p)
		rawload.Load(p.Base, calls, conns, warm, 4*limit, 9)
	}
	// What each proxy's process spends per request (user + system CPU,
	// from /proc), as for gRPC.
	cpu := map[*rawload.Server][]float64{}
	res := rawload.Interleaved(paths, proxies, rounds, 100*time.Millisecond, func(p *rawload.Server, r int) rawload.Result {
		var t0 time.Duration
		if p.Cmd != nil {
			t0 = cpuTime(p.Cmd.Process.Pid)
		}
		x := rawload.Load(p.Base, calls, conns, perRound, limit, uint64(r+1)) // direct: both proxies stopped
		if p.Cmd != nil && x.N > 0 {
			cpu[p] = append(cpu[p], float64((cpuTime(p.Cmd.Process.Pid)-t0).Microseconds())/float64(x.N))
		}
		return x
	})
	// Latency at a fixed rate every path sustains: at full load a p50 is
	// mostly queueing (connections / throughput), a second reading of the
	// throughput rather than what one hop costs.
	paced := rawload.Interleaved(paths, proxies, rounds, 100*time.Millisecond, func(p *rawload.Server, r int) rawload.Result {
		return rawload.Paced(p.Base, calls, conns, int(rate*pacedFor.Seconds()), 2*pacedFor, uint64(r+1), rate)
	})

	fmt.Printf("one HTTP edge, %d keep-alive connections, median of %d interleaved rounds\n", conns, rounds)
	fmt.Printf("full load: %d requests or %s per round; paced: %.0f req/s for %s per round\n\n", perRound, limit, rate, pacedFor)
	fmt.Printf("%-32s %10s %10s %10s %12s %12s %14s\n", "path", "req/s", "p50 ms", "p99 ms", "paced p50", "paced p99", "proxy CPU µs")
	rps := make([]float64, len(paths))
	p50 := make([]time.Duration, len(paths))
	pacedP50 := make([]time.Duration, len(paths))
	for i, p := range paths {
		var xs []float64
		var a, b, c, d []time.Duration
		for _, x := range res[i] {
			xs, a, b = append(xs, x.RPS), append(a, x.P50), append(b, x.P99)
		}
		for _, x := range paced[i] {
			c, d = append(c, x.P50), append(d, x.P99)
		}
		rps[i], p50[i], pacedP50[i] = rawload.MedianF(xs), measure.Median(a), measure.Median(c)
		perCall := "-"
		if len(cpu[p]) > 0 {
			perCall = fmt.Sprintf("%.1f /req", rawload.MedianF(cpu[p]))
		}
		fmt.Printf("%-32s %10.0f %10.3f %10.3f %12.3f %12.3f %14s\n", p.Name, rps[i], measure.Msf(p50[i]), measure.Msf(measure.Median(b)),
			measure.Msf(pacedP50[i]), measure.Msf(measure.Median(d)), perCall)
	}
	h := figures{seam: rps[1], direct: rps[0], added: measure.Msf(pacedP50[1] - pacedP50[0])}
	fmt.Printf("\nseam's added p50 latency over direct at %.0f req/s = %.3f ms   target ≤ 0.2 ms\n", rate, h.added)
	fmt.Printf("(at full load: %.3f ms, the difference of two queueing times)\n", measure.Msf(p50[1]-p50[0]))
	if len(paths) > 2 {
		h.toxiproxy, h.ratio = rps[2], rawload.PairedRatio(res[1], res[2])
		printThroughput("HTTP", h, res[1], res[2])
	}
	return h
}
