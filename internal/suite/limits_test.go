package suite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
)

// loadOne writes src as dir/seam.yaml and loads it, returning the one
// problem it must report.
func loadOne(t *testing.T, dir, src string) *diag.Error {
	t.Helper()
	file := filepath.Join(dir, "seam.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	defer reg.Close()
	_, err := suite.Load(file, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	var list *diag.List
	if !errors.As(err, &list) || list.Len() != 1 {
		t.Fatalf("Load = %v, want one positioned problem", err)
	}
	return list.Errors()[0]
}

const oneTest = "tests:\n  - name: t\n    steps: [{exec: {command: \"true\"}}]\n"

// Every limit on loading is a positioned error naming the limit, reached
// in well under a second.
func TestLoadLimits(t *testing.T) {
	deep := "vars:\n  v: " + strings.Repeat("[", 1005) + strings.Repeat("]", 1005) + "\n" + oneTest
	var aliases strings.Builder
	aliases.WriteString("vars:\n  a: &a x\n  b: [")
	for i := 0; i < 10_001; i++ {
		aliases.WriteString("*a, ")
	}
	aliases.WriteString("]\n" + oneTest)
	laughs := "tests:\n  - name: t\n    steps:\n      - http:\n          url: http://127.0.0.1:1/\n          json:\n" +
		"            a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, c := range "bcdefgh" {
		prev := string("abcdefgh"[i])
		laughs += fmt.Sprintf("            %c: &%c [%s]\n", c, c, strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", "))
	}
	for _, tc := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"depth", deep, 2, 1004, "nested more than 1000 levels deep"},
		{"alias count", aliases.String(), 3, 7 + 4*10_000, "more than 10000 aliases in one file"},
		{"laughs in json", laughs, 12, 16, "aliases here expand to more than 1000000 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			e := loadOne(t, t.TempDir(), tc.src)
			if e.Pos.Line != tc.line || e.Pos.Col != tc.col || !strings.Contains(e.Msg, tc.msg) || e.Hint == "" {
				t.Errorf("got %v (hint %q), want %d:%d: %s", e, e.Hint, tc.line, tc.col, tc.msg)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// include refuses what is not a regular file (a device never ends, a
// fifo blocks), at the entry that names it.
func TestIncludeSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, kind string }{{"/dev/zero", "a device"}, {fifo, "a fifo"}, {dir, "a folder"}} {
		done := make(chan *diag.Error, 1)
		go func() { done <- loadOne(t, dir, fmt.Sprintf("include: [%q]\n%s", tc.path, oneTest)) }()
		select {
		case e := <-done:
			if e.Pos.Line != 1 || e.Pos.Col != 11 || !strings.Contains(e.Msg, tc.kind+", not a regular file") {
				t.Errorf("include %s: got %v", tc.path, e)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("include %s: still loading after 5s", tc.path)
		}
	}
}

// More than MaxIncludes files is one error at the include entry.
func TestIncludeCount(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= suite.MaxIncludes; i++ {
		src := fmt.Sprintf("tests:\n  - name: t%d\n    steps: [{exec: {command: \"true\"}}]\n", i)
		if err := os.WriteFile(filepath.Join(dir, "t", fmt.Sprintf("%04d.yaml", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := loadOne(t, dir, "include: [t/*.yaml]\n")
	if e.Pos.Line != 1 || !strings.Contains(e.Msg, "more than 1000 included files") {
		t.Fatalf("got %v", e)
	}
}
