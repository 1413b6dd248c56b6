package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A build whose source lives outside the suite's folder (`cd ../src && go
// build`) is rebuilt when that source changes, and not rebuilt when
// nothing changed.
func TestBuildOutsideTheSuiteFolderIsNeverStale(t *testing.T) {
	env, state := isolated(t)
	root := t.TempDir() // a copy: the test edits the source
	copyTree(t, "testdata/build-outside", root)
	suite := filepath.Join(root, "suite")
	var cache string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SEAM_CACHE_DIR="); ok {
			cache = v
		}
	}
	builds := func() int {
		entries, _ := os.ReadDir(filepath.Join(cache, "build"))
		n := 0
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "tmp-") {
				n++
			}
		}
		return n
	}
	if r := seamEnv(t, env, "run", suite, "--var", "want=one"); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := builds(); n != 1 {
		t.Fatalf("after the first run: %d cached builds; want 1", n)
	}
	// A clock with a coarse grain could give the edit the same time.
	greeting := filepath.Join(root, "src", "greeting.go")
	if err := os.WriteFile(greeting, []byte("package main\n\nconst greeting = \"two\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(greeting, later, later); err != nil {
		t.Fatal(err)
	}
	if r := seamEnv(t, env, "run", suite, "--var", "want=two"); r.code != 0 {
		t.Fatalf("after editing ../src: exit %d (the old binary ran?)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := builds(); n != 2 {
		t.Fatalf("after the edit: %d cached builds; want 2", n)
	}
	if r := seamEnv(t, env, "run", suite, "--var", "want=two"); r.code != 0 {
		t.Fatalf("unchanged: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := builds(); n != 2 {
		t.Fatalf("a run with nothing changed built again: %d cached builds; want 2", n)
	}
	assertClean(t, state)
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
