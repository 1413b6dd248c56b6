package datadir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTreeCopiesFilesModesAndEmptyFolders(t *testing.T) {
	src := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // longer than the copy buffer
	files := map[string][]byte{
		"PG_VERSION":     []byte("15\n"),
		"base/1/1259":    big,
		"base/1/empty":   nil,
		"global/pg_ctl":  []byte("control"),
		"pg_wal/segment": []byte("wal"),
	}
	for rel, data := range files {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(src, "pg_tblspc"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree, err := Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "data")
	if err := tree.MakeDirs(dst, nil); err != nil {
		t.Fatal(err)
	}
	isBase := func(rel string) bool { return strings.HasPrefix(rel, "base/") }
	if err := tree.CopyFiles(dst, nil, func(rel string) bool { return !isBase(rel) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "base", "1", "1259")); !os.IsNotExist(err) {
		t.Fatalf("base/1/1259 was copied in the first part: %v", err)
	}
	if err := tree.CopyFiles(dst, nil, isBase); err != nil {
		t.Fatal(err)
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, want %d", rel, len(got), len(want))
		}
		st, _ := os.Stat(filepath.Join(dst, rel))
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", rel, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(filepath.Join(dst, "pg_tblspc")); err != nil || !st.IsDir() {
		t.Errorf("the empty folder pg_tblspc was not made: %v", err)
	}
}

func TestCopyReportsAMissingSource(t *testing.T) {
	if err := Copy(filepath.Join(t.TempDir(), "nope"), t.TempDir(), nil); err == nil {
		t.Fatal("no error for a missing source folder")
	}
}
