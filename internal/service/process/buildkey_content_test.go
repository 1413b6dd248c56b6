package process

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// keyer computes a build's key as successive runs do: one cache folder
// kept between them.
func keyer(t *testing.T, argv []string, dir string, inputs []string) func() string {
	t.Helper()
	cache := t.TempDir()
	return func() string {
		t.Helper()
		k, err := inputKey(context.Background(), cache, argv, nil, dir, inputs)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// later sets p's modification time ahead, as an editor's save would.
func later(t *testing.T, p string, by time.Duration) {
	t.Helper()
	at := time.Now().Add(by)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// A suite whose folder is its module's root, as users lay it out: a Go
// build's key follows the Go packages, not the suite's YAML beside them.
func goSuite(t *testing.T) string {
	t.Helper()
	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), "module example.com/bank\n\ngo 1.21\n")
	write(t, filepath.Join(mod, "seam.yaml"), "name: bank\ninclude: [tests/*.yaml]\nservices: {}\n")
	write(t, filepath.Join(mod, "tests", "limits.yaml"), "tests:\n  - name: limits\n")
	write(t, filepath.Join(mod, "README.md"), "notes\n")
	write(t, filepath.Join(mod, "accounts", "main.go"), "package main\n\nimport _ \"example.com/bank/money\"\n\nfunc main() {}\n")
	write(t, filepath.Join(mod, "accounts", "NOTES.txt"), "beside the sources\n")
	write(t, filepath.Join(mod, "money", "money.go"), "package money\n")
	return mod
}

func TestGoBuildKeyIgnoresFilesTheBuildDoesNotRead(t *testing.T) {
	mod := goSuite(t)
	for _, argv := range [][]string{
		{"go", "build", "-o", "BIN", "./accounts"},
		{"sh", "-c", "CGO_ENABLED=0 go build -o BIN ./accounts"},
		{"sh", "-c", "cd accounts && go build -o BIN ."},
	} {
		key := keyer(t, argv, mod, nil)
		k1 := key()
		for _, edit := range []string{
			filepath.Join(mod, "tests", "limits.yaml"),
			filepath.Join(mod, "seam.yaml"),
			filepath.Join(mod, "README.md"),
			filepath.Join(mod, "accounts", "NOTES.txt"),
		} {
			data, _ := os.ReadFile(edit)
			write(t, edit, string(data)+"# a comment\n")
			later(t, edit, time.Minute)
			if k := key(); k != k1 {
				t.Errorf("%q: editing %s, which the build does not read, changed the key", argv, edit)
			}
		}
		write(t, filepath.Join(mod, "tests", "faults.yaml"), "tests: []\n")
		if k := key(); k != k1 {
			t.Errorf("%q: a new test file changed the key", argv)
		}
		os.Remove(filepath.Join(mod, "tests", "faults.yaml"))
	}
}

func TestGoBuildKeyFollowsGoSources(t *testing.T) {
	mod := goSuite(t)
	key := keyer(t, []string{"go", "build", "-o", "BIN", "./accounts"}, mod, nil)
	for i, edit := range []string{
		filepath.Join(mod, "accounts", "main.go"),
		filepath.Join(mod, "money", "money.go"), // imported
		filepath.Join(mod, "go.mod"),
		filepath.Join(mod, "accounts", "extra.go"), // a new file of the package
	} {
		before := key()
		data, _ := os.ReadFile(edit)
		if len(data) == 0 {
			data = []byte("package main\n")
		}
		write(t, edit, string(data)+"// edit\n")
		later(t, edit, time.Duration(i+1)*time.Minute)
		if key() == before {
			t.Errorf("editing %s kept the key", edit)
		}
	}
}

// A touch, or a checkout that writes the same bytes again, is no change.
func TestBuildKeyFollowsContentsNotTimes(t *testing.T) {
	mod := goSuite(t)
	script := filepath.Join(mod, "build.sh")
	write(t, script, "#!/bin/sh\ncc -o \"$1\" main.c\n")
	write(t, filepath.Join(mod, "main.c"), "int main(void) { return 0; }\n")
	for _, argv := range [][]string{
		{"go", "build", "-o", "BIN", "./accounts"},
		{"sh", "-c", "./build.sh BIN"}, // any build: its folder's files
	} {
		key := keyer(t, argv, mod, nil)
		k1 := key()
		for i, p := range []string{filepath.Join(mod, "accounts", "main.go"), filepath.Join(mod, "go.mod"), filepath.Join(mod, "main.c")} {
			later(t, p, time.Duration(i+1)*time.Hour) // touch
			if k := key(); k != k1 {
				t.Errorf("%q: touching %s changed the key", argv, p)
			}
			data, _ := os.ReadFile(p)
			os.Remove(p) // a checkout: a new file, same bytes
			write(t, p, string(data))
			if k := key(); k != k1 {
				t.Errorf("%q: writing %s again with the same contents changed the key", argv, p)
			}
		}
		p := filepath.Join(mod, "main.c")
		write(t, p, "int main(void) { return 1; }\n") // same size
		if k := key(); k == k1 {
			t.Errorf("%q: a change to main.c kept the key", argv)
		}
		write(t, p, "int main(void) { return 0; }\n")
	}
}

// Any other build reads its whole folder, but for the suite's own files
// and seam's folders.
func TestBuildKeyOfAnyBuildSkipsTheSuitesFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "seam.yaml"), "name: app\ninclude: [tests/*.yaml]\nservices:\n  app: {process: {build: make}}\n")
	write(t, filepath.Join(dir, "tests", "a.yaml"), "tests:\n  - name: a\n")
	write(t, filepath.Join(dir, "config.yaml"), "listen: 1\nservices: [x]\n") // the app's: other keys
	write(t, filepath.Join(dir, "main.py"), "print(1)\n")
	state := filepath.Join(dir, "state")
	write(t, filepath.Join(state, "logs", "run.jsonl"), "{}\n")
	t.Setenv("SEAM_STATE_DIR", state)
	cache := filepath.Join(dir, ".cache")
	key := func() string {
		t.Helper()
		k, err := inputKey(context.Background(), cache, []string{"make"}, nil, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k1 := key()
	write(t, filepath.Join(dir, "tests", "a.yaml"), "tests:\n  - name: a, renamed\n")
	write(t, filepath.Join(dir, "tests", "b.yml"), "steps: {}\ntests: []\n")
	write(t, filepath.Join(dir, "seam.yaml"), "name: app # edited\ninclude: [tests/*.yaml]\nservices:\n  app: {process: {build: make}}\n")
	write(t, filepath.Join(state, "logs", "run2.jsonl"), "{}\n")
	if k := key(); k != k1 {
		t.Errorf("the suite's files or seam's state changed the key of a make build")
	}
	write(t, filepath.Join(dir, "config.yaml"), "listen: 2\nservices: [x]\n")
	if k := key(); k == k1 {
		t.Errorf("the build's own YAML changed, the key did not")
	}
	k2 := key()
	write(t, filepath.Join(dir, "main.py"), "print(2)\n")
	if k := key(); k == k2 {
		t.Errorf("a source changed, the key did not")
	}
	// inputs: names a suite file the build does read.
	withInput := func() string {
		k, err := inputKey(context.Background(), cache, []string{"make"}, nil, dir, []string{"seam.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k3 := withInput()
	write(t, filepath.Join(dir, "seam.yaml"), "name: app # edited again\nservices: {}\ntests: []\n")
	if withInput() == k3 {
		t.Errorf("a suite file named in inputs: changed, the key did not")
	}
}

// A command that runs more than go (go generate, make) may read any file
// of its folder: its key stays the folder's.
func TestGoBuildWithOtherCommandsKeepsTheFolder(t *testing.T) {
	mod := goSuite(t)
	key := keyer(t, []string{"sh", "-c", "go generate ./... && go build -o BIN ./accounts"}, mod, nil)
	k1 := key()
	write(t, filepath.Join(mod, "README.md"), "changed notes\n")
	if key() == k1 {
		t.Errorf("go generate may read README.md, yet changing it kept the key")
	}
	// inputs: of a pure go build are read whole.
	write(t, filepath.Join(mod, "proto", "a.proto"), "one")
	key = keyer(t, []string{"go", "build", "-o", "BIN", "./accounts"}, mod, []string{"proto"})
	k1 = key()
	write(t, filepath.Join(mod, "proto", "a.proto"), "two")
	if key() == k1 {
		t.Errorf("a file under inputs: changed, the key did not")
	}
}
