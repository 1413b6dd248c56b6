// Package measure holds what seam's benchmarks share: timing commands,
// medians, and finding the repository.
package measure

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Ms renders a duration in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", Msf(d)) }

// Msf is a duration in milliseconds.
func Msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Median of durations.
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Timed runs prepare untimed, then op, and returns how long op took; an
// error from op ends the benchmark.
func Timed(prepare func(), op func() error) time.Duration {
	prepare()
	start := time.Now()
	Check(op())
	return time.Since(start)
}

// Time runs a command to its end in dir with env and returns its wall
// time; a failure ends the benchmark with the command's output.
func Time(dir string, env []string, name string, args ...string) time.Duration {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		Check(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out))
	}
	return d
}

// Run runs a setup command in dir, ending the benchmark if it fails.
func Run(dir, name string, args ...string) {
	Time(dir, os.Environ(), name, args...)
}

// RepoRoot is the folder holding go.mod, from the working folder up.
func RepoRoot() string {
	dir, err := os.Getwd()
	Check(err)
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	Check(fmt.Errorf("run it inside the seam repository"))
	return ""
}

var cleanups []func()

// OnExit registers a cleanup that runs even when Check ends the benchmark
// (os.Exit skips deferred calls); Done runs them at a normal end.
func OnExit(f func()) { cleanups = append(cleanups, f) }

// Done runs the registered cleanups, newest first.
func Done() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

// Check ends the benchmark on an error, after the cleanups.
func Check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		Done()
		os.Exit(1)
	}
}
