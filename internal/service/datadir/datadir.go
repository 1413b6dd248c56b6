// Package datadir holds what the data service kinds (postgres, mariadb,
// redis, nats) share: a scratch place on tmpfs, copying and caching
// initialised data folders, init files, finding server binaries, and the
// reset: modes.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/crash"
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
func Copy(src, dst string, user *runas.User) error {
	t, err := Scan(src)
	if err != nil {
		return err
	}
	if err := t.MakeDirs(dst, user); err != nil {
		return err
	}
	return t.CopyFiles(dst, user, nil)
}

// Tree is a folder's listing, read once and copied many times: a cached
// data folder never changes, and walking it again would cost a stat per
// file per copy. A copy takes each file's listed size: a file that shrank
// since is an error, one that grew is cut at that size.
type Tree struct {
	root  string
	dirs  []string // relative to root, parents first
	files []treeFile
}

type treeFile struct {
	rel  string // relative to root, with slashes
	mode fs.FileMode
	size int64 // known, so a copy needs no read to find the end
}

// Scan lists root's folders and regular files.
func Scan(root string) (*Tree, error) {
	t := &Tree{root: root}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			t.dirs = append(t.dirs, rel)
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			t.files = append(t.files, treeFile{rel: rel, mode: info.Mode().Perm(), size: info.Size()})
		}
		return nil
	})
	return t, err
}

// Without is the tree less the files for which drop (given the path
// relative to the root, with slashes) is true.
func (t *Tree) Without(drop func(rel string) bool) *Tree {
	out := &Tree{root: t.root, dirs: t.dirs}
	for _, f := range t.files {
		if !drop(f.rel) {
			out.files = append(out.files, f)
		}
	}
	return out
}

// MakeDirs makes every folder of the tree under dst (dst included),
// handed to user when given.
func (t *Tree) MakeDirs(dst string, user *runas.User) error {
	for _, rel := range t.dirs {
		d := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := user.Chown(d); err != nil {
			return err
		}
	}
	return nil
}

// CopyFiles copies the files for which keep (given the path relative to
// the root, with slashes) is true, or all for a nil keep, into dst, whose
// folders MakeDirs made. Files are copied by a few workers at once: a data
// folder is a thousand files, and on tmpfs that is faster than one after
// another.
func (t *Tree) CopyFiles(dst string, user *runas.User, keep func(rel string) bool) error {
	jobs := make(chan treeFile, 64)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	var crashed atomic.Pointer[crash.Panic]
	// Four workers even on two cores: a worker waits on the kernel for each
	// file's open and close, and another copies meanwhile.
	for w := 0; w < max(4, runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for f := range jobs {
				rel := filepath.FromSlash(f.rel)
				var err error
				if p := crash.Catch(func() { err = copyFile(filepath.Join(t.root, rel), filepath.Join(dst, rel), f, user, buf) }); p != nil {
					crashed.CompareAndSwap(nil, p)
				} else if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, f := range t.files {
		if keep == nil || keep(f.rel) {
			jobs <- f
		}
	}
	close(jobs)
	wg.Wait()
	if p := crashed.Load(); p != nil {
		panic(p) // on the caller's goroutine, where its owner catches it
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// copyFile copies one file of a Tree with bare system calls: a data
// folder is a thousand mostly small files, and os.File's poller checks and
// the read that finds the end cost as much as the copy. The kernel copies
// with sendfile (one call, no pass through user memory); read and write
// through buf are the fallback where sendfile is refused. Measured on
// tmpfs for PostgreSQL's 31 MB, 1,300-file folder with four workers:
// 20 ms, against 26 ms through os.File with read and write, and 55 ms
// through io.Copy's copy_file_range.
func copyFile(src, dst string, f treeFile, user *runas.User, buf []byte) (err error) {
	out, err := openRetry(dst, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, uint32(f.mode))
	if err != nil {
		return &fs.PathError{Op: "create", Path: dst, Err: err}
	}
	defer func() {
		// A file system that writes late (NFS) reports its errors here.
		if cerr := syscall.Close(out); cerr != nil && err == nil {
			err = &fs.PathError{Op: "close", Path: dst, Err: cerr}
		}
	}()
	if user != nil {
		if err := syscall.Fchown(out, user.UID, user.GID); err != nil {
			return &fs.PathError{Op: "chown", Path: dst, Err: err}
		}
	}
	if f.size == 0 {
		return nil
	}
	in, err := openRetry(src, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: src, Err: err}
	}
	defer syscall.Close(in)
	var off int64
	for off < f.size {
		n, err := syscall.Sendfile(out, in, nil, int(f.size-off))
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil || n == 0 {
			break // refused (or the file shrank): read and write the rest
		}
		off += int64(n)
	}
	for off < f.size {
		n, err := syscall.Pread(in, buf, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: src, Err: err}
		}
		if n == 0 {
			return fmt.Errorf("%s: shorter than when it was listed (%d of %d bytes)", src, off, f.size)
		}
		for w := 0; w < n; {
			m, err := syscall.Pwrite(out, buf[w:n], off+int64(w))
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return &fs.PathError{Op: "write", Path: dst, Err: err}
			}
			w += m
		}
		off += int64(n)
	}
	return nil
}

// openRetry is open(2), again when a signal interrupts it.
func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, mode)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// Store copies an initialised data folder into the cache at dst, under a
// temporary name first: another run may be filling the same entry. record,
// when given, is told that name before it exists, for the reaping of a
// run killed while it copies.
func Store(src, dst string, record func(dir string)) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp-" + strconv.Itoa(os.Getpid())
	if record != nil {
		record(tmp) // before it exists: a store killed midway leaves nothing unknown
	}
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

// KeepEntries is how many cached data folders of one kind are kept: each
// edit of a suite's init files makes a new one, and each is tens of
// megabytes.
const KeepEntries = 6

// Use marks the cache entry at dir as used now and removes the kind's
// other entries beyond the KeepEntries used last, and leftovers of stores
// that died midway (their seam is gone, or they are an hour old). Entries are renamed away before they
// are removed, so a run never copies from a half-removed one; a run that
// is using an entry has just marked it, so it is among the kept.
func Use(dir string) error {
	now := time.Now()
	if err := os.Chtimes(dir, now, now); err != nil {
		return err
	}
	// A leftover's name ends with the PID of the seam that made it: once
	// that seam is gone, the leftover is.
	ownerGone := func(name string) bool {
		i := strings.LastIndexAny(name, "-")
		pid, err := strconv.Atoi(name[i+1:])
		if err != nil || pid == os.Getpid() {
			return false
		}
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	parent := filepath.Dir(dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	type entry struct {
		path string
		used time.Time
	}
	var kept []entry
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		p := filepath.Join(parent, e.Name())
		switch {
		case strings.Contains(e.Name(), ".tmp-") || strings.Contains(e.Name(), ".old-"):
			if now.Sub(info.ModTime()) > time.Hour || ownerGone(e.Name()) {
				os.RemoveAll(p)
			}
		default:
			kept = append(kept, entry{p, info.ModTime()})
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].used.After(kept[j].used) })
	for _, e := range kept[min(len(kept), KeepEntries):] {
		if e.path == dir {
			continue
		}
		old := e.path + ".old-" + strconv.Itoa(os.Getpid())
		if os.Rename(e.path, old) == nil {
			os.RemoveAll(old)
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

// CheckInit reports, at load time and at each entry's position, the init:
// entries of a data service's settings n that InitFiles would refuse when
// the service starts: a missing file or folder, a folder without .sql
// files. Paths are relative to the suite's folder (d.Dir).
func CheckInit(d *decode.Decoder, n *yaml.Node, kind string) {
	n = decode.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	// Not d.Fields: its problems (a duplicate key) are reported already.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if decode.Resolve(n.Content[i]).Value != "init" {
			continue
		}
		v := decode.Resolve(n.Content[i+1])
		if v == nil || v.Kind != yaml.SequenceNode {
			continue // reported by the decoding
		}
		for _, it := range v.Content {
			it = decode.Resolve(it)
			if it == nil || it.Kind != yaml.ScalarNode || it.Value == "" {
				continue // reported by the decoding
			}
			if _, err := InitFiles(d.Dir, []string{it.Value}); err != nil {
				msg := strings.TrimPrefix(strings.TrimSuffix(err.Error(), " (paths are relative to the suite file)"), "init ")
				d.Errorf(it, "%s.init: %s", kind, msg).WithHint("paths are relative to the suite file's folder")
			}
		}
	}
}
