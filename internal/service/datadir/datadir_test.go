package datadir

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestUseKeepsTheEntriesUsedLast(t *testing.T) {
	cache := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	var names []string
	for i := range KeepEntries + 3 {
		name := filepath.Join(cache, fmt.Sprintf("entry%d", i))
		if err := os.MkdirAll(filepath.Join(name, "base"), 0o755); err != nil {
			t.Fatal(err)
		}
		// entry0 was used longest ago.
		at := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(name, at, at); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	staleTmp := filepath.Join(cache, "entry9.tmp-123")
	// Another seam (alive) storing now; one killed while it stored.
	freshTmp := filepath.Join(cache, "entry10.tmp-"+strconv.Itoa(os.Getppid()))
	deadTmp := filepath.Join(cache, "entry11.tmp-999999999")
	for _, d := range []string{staleTmp, freshTmp, deadTmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(staleTmp, old, old); err != nil {
		t.Fatal(err)
	}
	// The oldest entry is the one this run uses: it is kept.
	if err := Use(names[0]); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	var kept []string
	for _, n := range names {
		if exists(n) {
			kept = append(kept, filepath.Base(n))
		}
	}
	want := []string{"entry0", "entry4", "entry5", "entry6", "entry7", "entry8"}
	if strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if exists(staleTmp) || !exists(freshTmp) || exists(deadTmp) {
		t.Errorf("an hour-old unfinished store and one whose seam is gone must go, a fresh one (another run storing now) stay: stale %v, fresh %v, dead %v",
			exists(staleTmp), exists(freshTmp), exists(deadTmp))
	}
	left, _ := filepath.Glob(filepath.Join(cache, "*.old-*"))
	if len(left) != 0 {
		t.Errorf("removed entries left behind: %v", left)
	}
}

func TestCopySaysWhenAFileShrankSinceItWasListed(t *testing.T) {
	src := t.TempDir()
	f := filepath.Join(src, "pg_control")
	if err := os.WriteFile(f, bytes.Repeat([]byte("x"), 9000), 0o600); err != nil {
		t.Fatal(err)
	}
	tree, err := Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, 100); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "data")
	if err := tree.MakeDirs(dst, nil); err != nil {
		t.Fatal(err)
	}
	err = tree.CopyFiles(dst, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "shorter than when it was listed (100 of 9000 bytes)") {
		t.Fatalf("err = %v, want it to say the file shrank", err)
	}
}

func TestWithoutLeavesTheDroppedFilesOut(t *testing.T) {
	src := t.TempDir()
	for _, rel := range []string{"global/pg_internal.init", "global/1262", "base/1/pg_internal.init"} {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	tree = tree.Without(func(rel string) bool { return strings.HasSuffix(rel, "/pg_internal.init") })
	dst := filepath.Join(t.TempDir(), "data")
	if err := tree.MakeDirs(dst, nil); err != nil {
		t.Fatal(err)
	}
	if err := tree.CopyFiles(dst, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "global", "1262")); err != nil {
		t.Errorf("a kept file was not copied: %v", err)
	}
	for _, rel := range []string{"global/pg_internal.init", "base/1/pg_internal.init"} {
		if _, err := os.Stat(filepath.Join(dst, rel)); !os.IsNotExist(err) {
			t.Errorf("%s was copied: %v", rel, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dst, "base", "1")); err != nil || !st.IsDir() {
		t.Errorf("the folder of a dropped file was not made: %v", err)
	}
}
