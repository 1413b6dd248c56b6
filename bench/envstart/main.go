// Command envstart measures how fast seam brings the example environment
// (examples/shop: inventory, then orders) up and down, against a plain
// shell script that starts the same binaries and probes the same /healthz
// endpoints.
//
//	go run ./bench/envstart [-quick]
//
// Each round runs the script, then `seam run` of a suite declaring the
// shop's two services as examples/shop does, with one test that checks both
// answer; rounds are interleaved and the median is reported. seam's build step is cached after the first
// (warm-up) run, so both sides start prebuilt binaries.
package main

import (
	"flag"
	"fmt"
	"github.com/seamtest/seam/bench/internal/measure"
	"os"
	"path/filepath"
	"time"
)

const script = `#!/usr/bin/env bash
# Start inventory, wait for /healthz, start orders, wait, stop both.
set -u
inv_port=$1 ord_port=$2 bin=$3
probe() { # GET /healthz until it answers 200
	for _ in $(seq 1 2000); do
		if exec 3<>/dev/tcp/127.0.0.1/$1 2>/dev/null; then
			printf 'GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n' >&3
			IFS= read -r line <&3 || true
			exec 3>&-
			case $line in *" 200 "*) return 0 ;; esac
		fi
		sleep 0.005
	done
	return 1
}
"$bin/inventory" -listen 127.0.0.1:$inv_port >/dev/null 2>&1 &
inv=$!
probe $inv_port || { kill $inv; exit 1; }
"$bin/orders" -listen 127.0.0.1:$ord_port -inventory http://127.0.0.1:$inv_port >/dev/null 2>&1 &
ord=$!
probe $ord_port || { kill $inv $ord; exit 1; }
kill $ord $inv
wait $ord $inv 2>/dev/null
exit 0
`

const suite = `name: envstart
services:
  inventory:
    process:
      dir: %s
      build: go build -o ((bin)) ./inventory
      run: [((bin)), -listen, ((addr))]
    ready: {http: /healthz}
  orders:
    process:
      dir: %s
      build: go build -o ((bin)) ./orders
      run: [((bin)), -listen, ((addr)), -inventory, ((service("inventory").url))]
    depends_on: [inventory]
    ready: {http: /healthz}
tests:
  - name: both services answer
    steps:
      - http: {service: orders, path: /healthz}
      - http: {service: inventory, path: /healthz}
`

func shopDir(root string) string { return filepath.Join(root, "examples", "shop") }

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	rounds := 15
	if *quick {
		rounds = 5
	}
	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-envstart-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	defer measure.Done()

	fmt.Println("building seam and the example services …")
	seam := filepath.Join(tmp, "seam")
	measure.Run(root, "go", "build", "-o", seam, "./cmd/seam")
	bin := filepath.Join(tmp, "bin")
	measure.Run(filepath.Join(root, "examples", "shop"), "go", "build", "-o", filepath.Join(bin, "inventory"), "./inventory")
	measure.Run(filepath.Join(root, "examples", "shop"), "go", "build", "-o", filepath.Join(bin, "orders"), "./orders")
	sh := filepath.Join(tmp, "start.sh")
	measure.Check(os.WriteFile(sh, []byte(script), 0o755))

	env := append(os.Environ(), "SEAM_STATE_DIR="+filepath.Join(tmp, "state"), "SEAM_CACHE_DIR="+filepath.Join(tmp, "cache"), "NO_COLOR=1")
	// The shop's two Go services as examples/shop declares them (built by
	// seam, cached), without its database and broker, which the script
	// does not start either.
	suiteDir := filepath.Join(tmp, "suite")
	measure.Check(os.MkdirAll(suiteDir, 0o755))
	measure.Check(os.WriteFile(filepath.Join(suiteDir, "seam.yaml"), []byte(fmt.Sprintf(suite, shopDir(root), shopDir(root))), 0o644))
	seamArgs := []string{"run", suiteDir}
	// Warm-up: seam's first run builds the services into its cache.
	measure.Time(root, env, seam, seamArgs...)
	measure.Time(root, env, "bash", sh, "18431", "18432", bin)

	var scriptTimes, seamTimes []time.Duration
	for i := 0; i < rounds; i++ {
		scriptTimes = append(scriptTimes, measure.Time(root, env, "bash", sh, "18431", "18432", bin))
		seamTimes = append(seamTimes, measure.Time(root, env, seam, seamArgs...))
	}
	// seam's own process start (no services) for the overhead table.
	empty := filepath.Join(tmp, "empty")
	measure.Check(os.MkdirAll(empty, 0o755))
	measure.Check(os.WriteFile(filepath.Join(empty, "seam.yaml"), []byte("name: empty\ntests:\n  - name: t\n    steps:\n      - exec: [true]\n"), 0o644))
	var bare []time.Duration
	for i := 0; i < rounds; i++ {
		bare = append(bare, measure.Time(root, env, seam, "run", empty))
	}
	s, q, b := measure.Median(scriptTimes), measure.Median(seamTimes), measure.Median(bare)
	ratio := float64(s) / float64(q)
	perService := (q - s) / 2
	fmt.Println()
	fmt.Printf("%-58s %10s\n", "median of "+fmt.Sprint(rounds)+" interleaved rounds", "wall time")
	fmt.Printf("%-58s %10s\n", "shell script: start, probe /healthz, stop (2 services)", measure.Ms(s))
	fmt.Printf("%-58s %10s\n", "seam run: the same 2 services, 1 test (build cached)", measure.Ms(q))
	fmt.Printf("%-58s %10s\n", "seam run of a suite with no services (process floor)", measure.Ms(b))
	fmt.Printf("%-58s %10s\n", "seam overhead per service: (seam - script) / 2", measure.Ms(perService))
	fmt.Printf("%-58s %10.2f\n", "ratio = script / seam (seam ≤ 1.3× script ⇔ ratio ≥ 0.77)", ratio)
	verdict := "ok"
	if ratio < 1/1.3 || perService > 10*time.Millisecond {
		verdict = "short"
	}
	fmt.Printf("RESULT envstart script_ms=%.1f seam_ms=%.1f overhead_per_service_ms=%.1f ratio=%.2f target=0.77 %s\n",
		measure.Msf(s), measure.Msf(q), measure.Msf(perService), ratio, verdict)
}
