// Command killmatrix kills seam at many moments of a cold and a warm run
// (during builds, initdb, the server that makes PostgreSQL's cache, service
// start, tests and teardown), with SIGKILL and with SIGINT, then runs seam
// down, and counts what is left: processes, ports, folders, shared memory
// and run records. The target is zero everywhere. There is no peer: the
// RESULT's ratio is the share of cases that left nothing (1 is the target),
// and down_ms is the median time seam down took to clean a cold run killed
// with SIGKILL.
//
//	go run ./bench/killmatrix [-quick]
//
// It needs PostgreSQL (Debian package postgresql) and Go; run it from the
// module's root.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "a smaller matrix: a held build, initdb and a test, each with SIGKILL and SIGINT")
	verbose := flag.Bool("v", false, "print what each case left and seam's output")
	bin := flag.String("seam", "", "kill this seam binary instead of one built from ./cmd/seam (an older one, to see what it leaves)")
	flag.Parse()
	if err := run(*quick, *verbose, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "killmatrix:", err)
		os.Exit(1)
	}
}

func run(quick, verbose bool, bin string) error {
	suite, err := filepath.Abs("testdata/killmatrix")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(suite, "seam.yaml")); err != nil {
		return fmt.Errorf("run it from the module's root (testdata/killmatrix: %v)", err)
	}
	work, err := os.MkdirTemp("", "killmatrix-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	seam := filepath.Join(work, "seam")
	if bin != "" {
		seam = bin
	} else if out, err := exec.Command("go", "build", "-o", seam, "./cmd/seam").CombinedOutput(); err != nil {
		return fmt.Errorf("building seam: %v\n%s", err, out)
	}
	ms := moments()
	if quick {
		var q []moment
		for _, m := range ms {
			if !m.warm && (m.name == "build (held)" || m.name == "initdb") || m.warm && m.name == "test" {
				q = append(q, m)
			}
		}
		ms = q
	}
	rows, err := matrix(seam, suite, ms, []syscall.Signal{syscall.SIGKILL, syscall.SIGINT}, func(r row) {
		if verbose {
			fmt.Fprintf(os.Stderr, "%s %s %s: %+v\n", r.run, r.moment, r.sig, r.res)
		}
	})
	if err != nil {
		return err
	}
	print(rows)
	return nil
}

// row is one case's outcome.
type row struct {
	run, moment string
	sig         syscall.Signal
	res         result
}

// matrix runs every moment with every signal; warm moments share a cache
// filled by one run first.
func matrix(seam, suite string, ms []moment, sigs []syscall.Signal, each func(row)) ([]row, error) {
	base := "/dev/shm"
	if _, err := os.Stat(base); err != nil {
		base = os.TempDir()
	}
	var warmCache string
	var rows []row
	for _, m := range ms {
		if m.warm && warmCache == "" {
			w, err := newCase(seam, suite, base, "")
			if err != nil {
				return nil, err
			}
			defer w.remove()
			if out, err := w.run("run", suite); err != nil {
				return nil, fmt.Errorf("filling the cache: %v\n%s", err, out)
			}
			warmCache = w.cache
		}
		for _, sig := range sigs {
			cache := ""
			if m.warm {
				cache = warmCache
			}
			c, err := newCase(seam, suite, base, cache)
			if err != nil {
				return nil, err
			}
			res, err := c.kill(m, sig)
			c.remove()
			if err != nil {
				return nil, err
			}
			r := row{run: map[bool]string{false: "cold", true: "warm"}[m.warm], moment: m.name, sig: sig, res: res}
			rows = append(rows, r)
			if each != nil {
				each(r)
			}
		}
	}
	return rows, nil
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "SIGKILL"
	}
	return "SIGINT"
}

func print(rows []row) {
	fmt.Printf("%-5s %-20s %-8s %-8s %5s %5s %7s %4s %5s %9s %9s\n", "run", "moment", "signal", "reached", "procs", "ports", "folders", "shm", "files", "exit_ms", "down_ms")
	clean := 0
	var downs []time.Duration
	total := 0
	for _, r := range rows {
		res := r.res
		fmt.Printf("%-5s %-20s %-8s %-8v %5d %5d %7d %4d %5d %9d %9d\n", r.run, r.moment, sigName(r.sig), res.reached,
			len(res.procs), res.ports, len(res.folders), len(res.shm), len(res.files), res.exitedIn.Milliseconds(), res.down.Milliseconds())
		if res.leftovers() == 0 && res.reached {
			clean++
		}
		total += res.leftovers()
		if r.run == "cold" && r.sig == syscall.SIGKILL {
			downs = append(downs, res.down)
		}
		for _, l := range append(append(append(res.procs, res.folders...), res.shm...), res.files...) {
			fmt.Printf("      left: %s\n", l)
		}
		if !res.reached {
			fmt.Printf("      the run never reached this moment:\n%s\n", indent(res.out))
		}
	}
	sort.Slice(downs, func(i, j int) bool { return downs[i] < downs[j] })
	var down time.Duration
	if len(downs) > 0 {
		down = downs[len(downs)/2]
	}
	ratio := float64(clean) / float64(max(1, len(rows)))
	verdict := "short"
	if ratio == 1 {
		verdict = "ok"
	}
	fmt.Printf("ratio = cases that left nothing / cases (each case must reach its moment); down_ms = median time seam down took after a cold run was killed with SIGKILL\n")
	fmt.Printf("RESULT killmatrix cases=%d leftovers=%d down_ms=%d ratio=%.2f target=1 %s\n", len(rows), total, down.Milliseconds(), ratio, verdict)
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return "        " + strings.ReplaceAll(s, "\n", "\n        ")
}
