package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestKillMatrixSubset is a representative part of the matrix, small
// enough for every test run: a cold run killed with SIGKILL in its held
// build (the shell's group lives on), with SIGINT in initdb (its shared
// memory), with SIGKILL while the cache's server runs, and a warm run
// killed with SIGKILL during a test; seam down must leave nothing.
func TestKillMatrixSubset(t *testing.T) {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(m) == 0 {
		if _, err := exec.LookPath("postgres"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("PostgreSQL is missing; the test command installs it (Debian package postgresql)")
			}
			t.Skip("PostgreSQL not installed (apt-get install postgresql); CI installs it")
		}
	}
	seam := filepath.Join(t.TempDir(), "seam")
	if out, err := exec.Command("go", "build", "-o", seam, "../../cmd/seam").CombinedOutput(); err != nil {
		t.Fatalf("building seam: %v\n%s", err, out)
	}
	suite, _ := filepath.Abs("../../testdata/killmatrix")
	pick := map[string]syscall.Signal{"cold build (held)": syscall.SIGKILL, "cold initdb": syscall.SIGINT,
		"cold cache server": syscall.SIGKILL, "warm test": syscall.SIGKILL}
	for _, m := range moments() {
		run := "cold"
		if m.warm {
			run = "warm"
		}
		sig, ok := pick[run+" "+m.name]
		if !ok {
			continue
		}
		rows, err := matrix(seam, suite, []moment{m}, []syscall.Signal{sig}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if !r.res.reached {
				t.Errorf("%s %s: the run never reached the moment:\n%s", r.run, r.moment, r.res.out)
				continue
			}
			if n := r.res.leftovers(); n > 0 {
				t.Errorf("%s %s %s: %d left: procs %v, ports %d, folders %v, shm %v, files %v\nseam's output:\n%s",
					r.run, r.moment, sigName(r.sig), n, r.res.procs, r.res.ports, r.res.folders, r.res.shm, r.res.files, r.res.out)
			}
		}
	}
}
