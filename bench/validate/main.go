// Command validate measures `seam validate` on a big valid suite (20 MiB,
// about 17,000 tests of realistic shape from internal/suite/bigsuite): its
// peak RSS and wall time, against a baseline measured in the same run,
// interleaved: a plain yaml Unmarshal of the same file into interface{}
// (go.yaml.in/yaml/v4, the parser seam uses, in a process of its own).
// The target, from issue 14: seam's peak at most 10 times the file and a
// few seconds (at most 10 s).
//
//	go run ./bench/validate [-quick]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/suite/bigsuite"
	"go.yaml.in/yaml/v4"
)

func main() {
	quick := flag.Bool("quick", false, "a smaller run: a 5 MiB suite, 2 rounds")
	unmarshal := flag.String("unmarshal", "", "internal: unmarshal this file into interface{} and exit (the baseline)")
	flag.Parse()
	if *unmarshal != "" {
		data, err := os.ReadFile(*unmarshal)
		measure.Check(err)
		var v any
		measure.Check(yaml.Unmarshal(data, &v))
		return
	}
	defer measure.Done()
	size, rounds := int64(20<<20), 3
	if *quick {
		size, rounds = 5<<20, 2
	}
	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-validate-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	seamBin := filepath.Join(tmp, "seam")
	measure.Run(root, "go", "build", "-o", seamBin, "./cmd/seam")
	file, tests, err := bigsuite.WriteFile(tmp, size)
	measure.Check(err)
	st, err := os.Stat(file)
	measure.Check(err)
	self, err := os.Executable()
	measure.Check(err)

	var seamPeak, seamTime, basePeak, baseTime []float64
	for range rounds {
		p, d := run(seamBin, "validate", file)
		seamPeak, seamTime = append(seamPeak, p), append(seamTime, d)
		p, d = run(self, "-unmarshal", file)
		basePeak, baseTime = append(basePeak, p), append(baseTime, d)
	}
	mib := float64(st.Size()) / (1 << 20)
	sp, st2, bp, bt := median(seamPeak), median(seamTime), median(basePeak), median(baseTime)
	fmt.Printf("suite: %.1f MiB, %d tests; median of %d interleaved rounds\n\n", mib, tests, rounds)
	fmt.Printf("%-34s %12s %10s %10s\n", "", "peak RSS", "× file", "wall")
	fmt.Printf("%-34s %8.0f MiB %10.1f %8.2f s\n", "seam validate", sp, sp/mib, st2)
	fmt.Printf("%-34s %8.0f MiB %10.1f %8.2f s\n", "yaml Unmarshal into interface{}", bp, bp/mib, bt)
	fmt.Printf("\nratio = the baseline's peak RSS / seam validate's (larger: seam lighter);\n")
	fmt.Printf("target: seam validate's peak at most 10× the file and at most 10 s.\n")
	verdict := "ok"
	if sp > 10*mib || st2 > 10 {
		verdict = "short"
	}
	fmt.Printf("RESULT validate file_mib=%.1f tests=%d seam_peak_mib=%.0f seam_x_file=%.1f seam_s=%.2f unmarshal_peak_mib=%.0f unmarshal_s=%.2f ratio=%.2f target=x_file<=10,s<=10 %s\n",
		mib, tests, sp, sp/mib, st2, bp, bt, bp/sp, verdict)
}

// run runs a command to its end and returns its peak RSS in MiB and its
// wall time in seconds.
func run(name string, args ...string) (float64, float64) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		measure.Check(fmt.Errorf("%s %v: %v\n%s", name, args, err, out))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(ru.Maxrss) / 1024, d.Seconds() // Maxrss is in KiB on Linux
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
