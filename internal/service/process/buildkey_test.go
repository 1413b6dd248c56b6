package process

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildRootsFollowTheCommandAndGoModules(t *testing.T) {
	top := t.TempDir()
	suite := filepath.Join(top, "repo", "suite")
	write(t, filepath.Join(suite, "seam.yaml"), "")
	write(t, filepath.Join(top, "repo", "go.mod"), "module example.com/repo\n\nreplace example.com/lib => ../lib\n\nreplace example.com/v => example.com/v v1.0.0\n")
	write(t, filepath.Join(top, "repo", "cmd", "main.go"), "package main\n")
	write(t, filepath.Join(top, "lib", "go.mod"), "module example.com/lib\n")
	write(t, filepath.Join(top, "other", "x.c"), "")

	roots, goBuild, err := buildRoots([]string{"sh", "-c", "cd ../cmd && go build -o BIN ."}, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(top, "lib"), filepath.Join(top, "repo")}
	if !goBuild || !reflect.DeepEqual(roots, want) {
		t.Errorf("go build in ../cmd: roots %q (go %v); want %q (the module and its replace target)", roots, goBuild, want)
	}

	roots, goBuild, err = buildRoots([]string{"make", "-C", "../../other", "--file=" + filepath.Join(top, "other", "x.c"), "-I/usr/include"}, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{filepath.Join(top, "other"), suite}
	if goBuild || !reflect.DeepEqual(roots, want) {
		t.Errorf("make -C: roots %q (go %v); want %q", roots, goBuild, want)
	}

	if roots, _, _ := buildRoots([]string{"sh", "-c", "cd / && ls /usr"}, suite, nil); !reflect.DeepEqual(roots, []string{suite}) {
		t.Errorf("system folders are not listed: roots %q", roots)
	}
}

func TestBuildRootsInputs(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "svc", "main.py"), "")
	write(t, filepath.Join(dir, "proto", "a", "b", "x.proto"), "")
	write(t, filepath.Join(dir, "proto", "y.proto"), "")
	write(t, filepath.Join(dir, "proto", "README"), "")
	write(t, filepath.Join(dir, "shared", "conf"), "")
	svc := filepath.Join(dir, "svc")
	roots, _, err := buildRoots([]string{"true"}, svc, []string{"../proto/**/*.proto", "../shared"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "proto", "a", "b", "x.proto"), filepath.Join(dir, "proto", "y.proto"), filepath.Join(dir, "shared"), svc}
	if !reflect.DeepEqual(roots, want) {
		t.Errorf("roots %q; want %q", roots, want)
	}
	if _, _, err := buildRoots([]string{"true"}, svc, []string{"../nope"}); err == nil || !strings.Contains(err.Error(), "inputs: ../nope") {
		t.Errorf("missing input: %v", err)
	}
	if _, _, err := buildRoots([]string{"true"}, svc, []string{"../proto/**/*.rs"}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("glob matching nothing: %v", err)
	}
}

func TestInputKeyChangesWithTheSourcesOnly(t *testing.T) {
	top := t.TempDir()
	suite := filepath.Join(top, "suite")
	src := filepath.Join(top, "src")
	write(t, filepath.Join(suite, "seam.yaml"), "")
	write(t, filepath.Join(src, "main.go"), "package main\n")
	write(t, filepath.Join(src, ".git", "HEAD"), "x")
	argv := []string{"sh", "-c", "cd ../src && go build -o BIN ."}
	k1, err := inputKey(argv, nil, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := inputKey(argv, nil, suite, nil); k2 != k1 {
		t.Errorf("no change, another key: %s, %s", k1, k2)
	}
	write(t, filepath.Join(src, ".git", "HEAD"), "yy")
	if k2, _ := inputKey(argv, nil, suite, nil); k2 != k1 {
		t.Errorf(".git changed the key")
	}
	write(t, filepath.Join(src, "main.go"), "package main\n\nfunc init() {}\n")
	later := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(src, "main.go"), later, later)
	if k2, _ := inputKey(argv, nil, suite, nil); k2 == k1 {
		t.Errorf("an edit in ../src kept the key")
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`cd "../my src" && go build -o 'a b' ./x;make|tee log>out`)
	want := []string{"cd", "../my src", "go", "build", "-o", "a b", "./x", "make", "tee", "log", "out"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func FuzzShellWords(f *testing.F) {
	for _, s := range []string{`cd ../src && go build -o "$BIN" .`, `a'b"c'd`, "x\t(y)|z", `"unterminated`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range shellWords(s) {
			if w == "" {
				t.Fatalf("empty word from %q", s)
			}
			_ = pathCandidates(w)
		}
	})
}
