// Command goapi compares the Go API with the CLI on the example shop: the
// shop's checks written in Go (examples/shop/shop_test.go, a prebuilt test
// binary) against `seam run examples/shop` running the same checks from the
// suite. Both start the same services (one shared environment and one
// fresh one for the test that needs a clean inventory).
//
//	go run ./bench/goapi [-quick]
package main

import (
	"flag"
	"fmt"
	"github.com/seamtest/seam/bench/internal/measure"
	"os"
	"path/filepath"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	rounds := 11
	if *quick {
		rounds = 5
	}
	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-goapi-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	defer measure.Done()
	shop := filepath.Join(root, "examples", "shop")

	fmt.Println("building seam and the shop's test binary …")
	seam := filepath.Join(tmp, "seam")
	measure.Run(root, "go", "build", "-o", seam, "./cmd/seam")
	testBin := filepath.Join(tmp, "shop.test")
	measure.Run(root, "go", "test", "-c", "-o", testBin, "./examples/shop")
	env := append(os.Environ(), "SEAM_STATE_DIR="+filepath.Join(tmp, "state"), "SEAM_CACHE_DIR="+filepath.Join(tmp, "cache"), "NO_COLOR=1")

	goArgs := []string{"-test.run", "^(TestOrderReservesStock|TestOutOfStockIsRefused|TestBadOrderNeverReachesInventory)$", "-test.count=1"}
	cliArgs := []string{"run", "."}
	// Warm-up: the first run of each builds the services into the cache.
	measure.Time(shop, env, testBin, goArgs...)
	measure.Time(shop, env, seam, cliArgs...)
	var goTimes, cliTimes []time.Duration
	for i := 0; i < rounds; i++ {
		goTimes = append(goTimes, measure.Time(shop, env, testBin, goArgs...))
		cliTimes = append(cliTimes, measure.Time(shop, env, seam, cliArgs...))
	}
	g, c := measure.Median(goTimes), measure.Median(cliTimes)
	ratio := float64(c) / float64(g)
	fmt.Println()
	fmt.Printf("%-56s %10s\n", fmt.Sprintf("median of %d interleaved rounds", rounds), "wall time")
	fmt.Printf("%-56s %10s\n", "go test: shop checks in Go (prebuilt test binary)", measure.Ms(g))
	fmt.Printf("%-56s %10s\n", "seam run examples/shop (the suite)", measure.Ms(c))
	fmt.Printf("%-56s %10.2f\n", "ratio = cli / go (Go within 1.2× of CLI ⇔ ratio ≥ 0.83)", ratio)
	verdict := "ok"
	if ratio < 1/1.2 {
		verdict = "short"
	}
	fmt.Printf("RESULT goapi go_ms=%.1f cli_ms=%.1f ratio=%.2f target=0.83 %s\n", measure.Msf(g), measure.Msf(c), ratio, verdict)
}
