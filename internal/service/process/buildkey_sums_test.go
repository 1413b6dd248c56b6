package process

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestGoOnlyCommand(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want bool
	}{
		{[]string{"go", "build", "-o", "BIN", "./cmd/x"}, true},
		{[]string{"/usr/local/go/bin/go", "install", "."}, true},
		{[]string{"env", "CGO_ENABLED=0", "go", "build", "."}, true},
		{[]string{"sh", "-c", "set -e; cd ../cmd && GOFLAGS=-mod=mod go build -o BIN . 2>&1"}, true},
		{[]string{"sh", "-c", "go build -o BIN . >&2 && echo built"}, true},
		{[]string{"sh", "-c", "go generate ./... && go build -o BIN ."}, false},
		{[]string{"sh", "-c", "go run ./gen | tee x.go; go build ."}, false},
		{[]string{"sh", "-c", `go build -ldflags "-X main.v=$(cat VERSION)" .`}, false},
		{[]string{"sh", "-c", "go build . `cat flags`"}, false},
		{[]string{"make", "build"}, false},
		{[]string{"go", "test", "-c", "."}, false},
	} {
		if got := goOnlyCommand(c.argv); got != c.want {
			t.Errorf("goOnlyCommand(%q) = %v; want %v", c.argv, got, c.want)
		}
	}
}

func TestShellCommands(t *testing.T) {
	got := shellCommands(`cd "../my src" && go build -o 'a b' ./x 2>&1;make|tee log>out &>/dev/null (y)`)
	want := [][]string{{"cd", "../my src"}, {"go", "build", "-o", "a b", "./x", "2", "1"}, {"make"}, {"tee", "log", "out", "/dev/null"}, {"y"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestSuiteYAML(t *testing.T) {
	for in, want := range map[string]bool{
		"name: x\nservices: {}\ntests: []\n": true,
		"tests:\n  - name: a\n":              true,
		"steps: {}\n":                        true,
		"name: only a name\n":                false, // no suite's content
		"services: [a]\nlisten: 1\n":         false, // a key no suite has
		"- a\n- b\n":                         false,
		"{ bad":                              false,
	} {
		if got := suiteYAML([]byte(in)); got != want {
			t.Errorf("suiteYAML(%q) = %v; want %v", in, got, want)
		}
	}
}

// A file whose stat is as remembered is not read again; a recent one is
// not remembered (a write in the same clock tick could go unseen).
func TestSumsRememberByStat(t *testing.T) {
	cache := t.TempDir()
	p := filepath.Join(t.TempDir(), "main.c")
	write(t, p, "one")
	s := loadSums(cache, "build")
	if _, _, err := s.file(p); err != nil {
		t.Fatal(err)
	}
	if len(s.new) != 0 {
		t.Errorf("a file written just now was remembered: %v", s.new)
	}
	s.now = time.Now().Add(time.Minute) // as a run a minute later
	sum, _, err := s.file(p)
	if err != nil {
		t.Fatal(err)
	}
	s.save()
	s = loadSums(cache, "build")
	e, ok := s.old[p]
	if !ok || e.Sum != sum {
		t.Fatalf("the hash was not kept: %v", s.old)
	}
	e.Sum = "remembered"
	s.old[p] = e
	if got, _, _ := s.file(p); got != "remembered" {
		t.Errorf("an unchanged file was read again: %s", got)
	}
	write(t, p, "two")
	if got, _, _ := s.file(p); got == "remembered" || got == sum {
		t.Errorf("a changed file kept its hash: %s", got)
	}
	if other := loadSums(cache, "another build"); len(other.old) != 0 {
		t.Errorf("another build shares the memory: %v", other.old)
	}
	os.Remove(p)
	if _, _, err := s.file(p); !os.IsNotExist(err) {
		t.Errorf("a removed file: %v", err)
	}
}
