// Package datadir holds what the database service kinds share: a scratch
// place on tmpfs, copying a cached initialised data folder for a server's
// user, and caching one.
package datadir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/seamtest/seam/internal/runas"
)

// Scratch is a folder for server data: $SEAM_SCRATCH_DIR when set, else
// tmpfs (/dev/shm) when the machine has a writable one, else the temp
// folder.
func Scratch() string {
	if d := os.Getenv("SEAM_SCRATCH_DIR"); d != "" {
		return d
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", ".seam-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// Copy copies a folder tree, handing every copy to user when given.
func Copy(src, dst string, user *runas.User) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
			return user.Chown(target)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return user.Chown(target)
	})
}

// Store copies an initialised data folder into the cache at dst, under a
// temporary name first: another run may be filling the same entry.
func Store(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := Copy(src, tmp, nil); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(dst); statErr != nil {
			return err
		}
	}
	return nil
}

// LastLines is the end of a command's output, for errors.
func LastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// InitFiles expands a database's init: entries: a folder gives its *.sql
// files in name order, a file itself; relative paths start at dir.
func InitFiles(dir string, entries []string) ([]string, error) {
	var out []string
	for _, e := range entries {
		p := e
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("init %s: %v (paths are relative to the suite file)", e, err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.sql"))
		if len(m) == 0 {
			return nil, fmt.Errorf("init %s: the folder has no .sql files", e)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}
