package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Through the binary: `seam stub DIR` and a suite's stub mappings folder
// refuse a fifo, a link to /dev/zero and a file over the 64 MB limit,
// naming each file and why, at once (no read that blocks or never ends).
func TestStubRefusesSpecialAndBigFiles(t *testing.T) {
	dir := t.TempDir()
	maps := filepath.Join(dir, "mappings")
	if err := os.Mkdir(maps, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(maps, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(maps, "zero.json")); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(maps, "big.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(64<<20 + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	wants := []string{
		"fifo.json: cannot read the mapping file: it is a fifo, not a regular file",
		"zero.json: cannot read the mapping file: it is a device, not a regular file",
		"big.yaml: cannot read the mapping file: it is 67108865 bytes, more than the 64 MB limit on a mapping file",
	}
	r := seam(t, "stub", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "nothing was started") {
		t.Errorf("seam stub: exit %d, want 2 with nothing started:\n%s", r.code, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("seam stub: output lacks %q:\n%s", w, r.stderr)
		}
	}
	suite := filepath.Join(dir, "seam.yaml")
	src := "name: s\nservices:\n  pay:\n    stub:\n      mappings: mappings\ntests:\n  - name: t\n    steps: [{http: {service: pay, path: /}}]\n"
	if err := os.WriteFile(suite, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r = seam(t, "validate", suite)
	if r.code != 2 {
		t.Errorf("seam validate: exit %d, want 2:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("seam validate: output lacks %q:\n%s", w, r.stderr)
		}
	}
}
