// Package datadir holds what the data service kinds (postgres, mariadb,
// redis, nats) share: a scratch place on tmpfs, copying and caching
// initialised data folders, init files, finding server binaries, and the
// reset: modes.
package datadir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/runas"
	"go.yaml.in/yaml/v4"
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
// Files are copied by a few workers at once: a data folder is a thousand
// files, and on tmpfs that is faster than one after another.
func Copy(src, dst string, user *runas.User) error {
	type job struct {
		src, dst string
		mode     fs.FileMode
	}
	jobs := make(chan job, 64)
	errs := make(chan error, 1)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < min(4, max(2, runtime.NumCPU())); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := copyFile(j.src, j.dst, j.mode, user); err != nil {
					fail(err)
				}
			}
		}()
	}
	walkErr := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
			return user.Chown(target)
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			jobs <- job{src: p, dst: target, mode: info.Mode().Perm()}
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		return walkErr
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func copyFile(src, dst string, mode fs.FileMode, user *runas.User) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
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
	return user.Chown(dst)
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

// Binary finds a server's program: the bin: override if given, else name
// in PATH; the error names the Debian package that provides it.
func Binary(override, name, debianPackage string) (string, error) {
	if override != "" {
		if _, err := os.Stat(override); err != nil {
			return "", fmt.Errorf("%s not found at %s (bin:)", name, override)
		}
		return override, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: install the Debian package %s (apt-get install %s), or set bin: to its path", name, debianPackage, debianPackage)
	}
	return p, nil
}

// ResetModes are the values of a data service's reset: key.
var ResetModes = []string{"per-test", "per-suite", "never"}

// CheckReset reports a reset: value that is not a mode.
func CheckReset(d *decode.Decoder, n *yaml.Node, kind, mode string) {
	for _, m := range ResetModes {
		if m == mode {
			return
		}
	}
	d.Errorf(n, "%s.reset: unknown mode %q", kind, mode).WithHint("one of per-test, per-suite, never")
}
