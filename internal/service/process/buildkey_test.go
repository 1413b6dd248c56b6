package process

import (
	"context"
	"os"
	"os/exec"
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
	write(t, filepath.Join(top, "repo", "go.mod"), "module example.com/repo\n")
	write(t, filepath.Join(top, "repo", "cmd", "main.go"), "package main\n")
	write(t, filepath.Join(top, "other", "x.c"), "")

	roots, modules, err := buildRoots([]string{"sh", "-c", "cd ../cmd && go build -o BIN ."}, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(top, "repo", "cmd"), suite}
	if !reflect.DeepEqual(roots, want) || !reflect.DeepEqual(modules, want) {
		t.Errorf("go build in ../cmd: roots %q, go folders %q; want %q for both", roots, modules, want)
	}

	roots, modules, err = buildRoots([]string{"make", "-C", "../../other", "--file=" + filepath.Join(top, "other", "x.c"), "-I/usr/include"}, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{filepath.Join(top, "other"), suite}
	if modules != nil || !reflect.DeepEqual(roots, want) {
		t.Errorf("make -C: roots %q (modules %q); want %q", roots, modules, want)
	}

	if roots, _, _ := buildRoots([]string{"sh", "-c", "cd / && ls /usr"}, suite, nil); !reflect.DeepEqual(roots, []string{suite}) {
		t.Errorf("system folders are not listed: roots %q", roots)
	}
}

// A Go build's key follows the packages it compiles wherever they are in
// the module (and in local replacements), their embedded files, and
// nothing else; go list is asked once and remembered.
func TestGoBuildKeyFollowsPackagesGoListNames(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go not in PATH")
	}
	top := t.TempDir()
	cache := t.TempDir()
	mod := filepath.Join(top, "app")
	write(t, filepath.Join(mod, "go.mod"), "module example.com/app\n\ngo 1.21\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n")
	write(t, filepath.Join(mod, "cmd", "app", "main.go"), "package main\n\nimport _ \"example.com/app/web\"\nimport _ \"example.com/lib\"\n\nfunc main() {}\n")
	write(t, filepath.Join(mod, "web", "web.go"), "package web\n\nimport \"embed\"\n\n//go:embed static\nvar Static embed.FS\n")
	write(t, filepath.Join(mod, "web", "static", "index.html"), "<p>one</p>")
	write(t, filepath.Join(mod, "docs", "notes.md"), "unrelated")
	write(t, filepath.Join(top, "lib", "go.mod"), "module example.com/lib\n\ngo 1.21\n")
	write(t, filepath.Join(top, "lib", "lib.go"), "package lib\n")
	suite := filepath.Join(mod, "suite")
	write(t, filepath.Join(suite, "seam.yaml"), "")
	argv := []string{"sh", "-c", "cd ../cmd/app && go build -o BIN ."}
	key := func() string {
		t.Helper()
		k, err := inputKey(context.Background(), cache, argv, nil, suite, nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	touch := func(p, data string) {
		t.Helper()
		write(t, p, data)
		later := time.Now().Add(time.Duration(len(data)) * time.Second)
		os.Chtimes(p, later, later)
	}
	k1 := key()
	memos, _ := filepath.Glob(filepath.Join(cache, "golist", "golist-*"))
	if len(memos) != 1 {
		t.Fatalf("go list's answer is not remembered: %q", memos)
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(memos[0], past, past)
	if k := key(); k != k1 {
		t.Errorf("nothing changed, yet another key")
	}
	touch(filepath.Join(mod, "docs", "notes.md"), "still unrelated")
	if k := key(); k != k1 {
		t.Errorf("a file no package reads changed the key")
	}
	// Unchanged, the remembered answer served: go list did not run again.
	if st, err := os.Stat(memos[0]); err != nil || !st.ModTime().Equal(past) {
		t.Errorf("go list ran again though nothing it named changed")
	}
	for _, edit := range []string{
		filepath.Join(mod, "web", "static", "index.html"), // embedded
		filepath.Join(mod, "web", "static", "new.css"),    // added to an embedded folder
		filepath.Join(top, "lib", "lib.go"),               // a local replacement
		filepath.Join(mod, "web", "web.go"),               // an imported package
	} {
		before := key()
		touch(edit, "package web // "+edit)
		if key() == before {
			t.Errorf("editing %s kept the key", edit)
		}
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
	k1, err := inputKey(context.Background(), t.TempDir(), argv, nil, suite, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := inputKey(context.Background(), t.TempDir(), argv, nil, suite, nil); k2 != k1 {
		t.Errorf("no change, another key: %s, %s", k1, k2)
	}
	write(t, filepath.Join(src, ".git", "HEAD"), "yy")
	if k2, _ := inputKey(context.Background(), t.TempDir(), argv, nil, suite, nil); k2 != k1 {
		t.Errorf(".git changed the key")
	}
	write(t, filepath.Join(src, "main.go"), "package main\n\nfunc init() {}\n")
	later := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(src, "main.go"), later, later)
	if k2, _ := inputKey(context.Background(), t.TempDir(), argv, nil, suite, nil); k2 == k1 {
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
	for _, s := range []string{`cd ../src && go build -o "$BIN" . 2>&1 &>/dev/null`, `a'b"c'd`, "x\t(y)|z", `"unterminated`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range shellWords(s) {
			if w == "" {
				t.Fatalf("empty word from %q", s)
			}
			_ = pathCandidates(w)
		}
		for _, c := range shellCommands(s) {
			if len(c) == 0 {
				t.Fatalf("empty command from %q", s)
			}
			for _, w := range c {
				if w == "" {
					t.Fatalf("empty word from %q", s)
				}
			}
		}
		_ = goOnlyCommand([]string{"sh", "-c", s})
	})
}
