package process

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/mod/modfile"
)

// maxKeyFiles bounds the files a build's key lists: a key is computed on
// every run, so it must stay a few milliseconds of stat calls.
const maxKeyFiles = 50000

// skipDirs are folders a build does not read from (version control) or
// that are too heavy to list on every run and are rebuilt from a
// manifest that is listed (node_modules from package.json, say).
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, "node_modules": true, ".venv": true, "__pycache__": true}

// inputKey hashes what a build reads, so that a cached build is used only
// while none of it changed: its command, environment, the go tool when it
// runs one, and the name, size and modification time of every file under
// its roots (see buildRoots). Listing is a stat per file, a few
// milliseconds for a few thousand files; contents are not read: an edit
// changes the size or the modification time.
func inputKey(argv, env []string, dir string, inputs []string) (string, error) {
	roots, goBuild, err := buildRoots(argv, dir, inputs)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "v2\nargv=%q\nenv=%q\ndir=%s\n", argv, env, dir)
	if goBuild {
		// Another Go (a new toolchain, GOFLAGS, GOOS) builds another
		// binary from the same files.
		if p, err := exec.LookPath("go"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			if st, err := os.Stat(p); err == nil {
				fmt.Fprintf(h, "go=%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
			}
		}
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
				fmt.Fprintf(h, "%s\n", kv)
			}
		}
	}
	files := 0
	var line []byte
	for _, root := range roots {
		fmt.Fprintf(h, "root=%s\n", root)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if p != root && skipDirs[e.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			files++
			if files > maxKeyFiles {
				return fmt.Errorf("more than %d files under %s; set dir: to the service's own folder, or name what the build reads with inputs:", maxKeyFiles, strings.Join(roots, ", "))
			}
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while listed: a build at this moment races anyway
				}
				return err
			}
			line = append(append(line[:0], p...), ' ')
			line = strconv.AppendInt(line, info.Size(), 10)
			line = append(line, ' ')
			line = strconv.AppendInt(line, info.ModTime().UnixNano(), 10)
			h.Write(append(line, '\n'))
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// buildRoots are the files and folders a build reads: the folder it runs
// in; every word of its command (the argv, or the words of an sh -c
// string) that names an existing file or folder, relative to that folder
// (so `cd ../src && make` reads ../src); the inputs: entries (files,
// folders or globs with *, ?, [..] and ** for any depth, relative to the
// build's folder); and for a command that runs go, the modules those
// folders are in, with their go.mod's local replace targets and the
// go.work that uses them. Roots inside another root are dropped; the
// result is sorted.
func buildRoots(argv []string, dir string, inputs []string) (roots []string, goBuild bool, err error) {
	set := map[string]bool{filepath.Clean(dir): true}
	words := argv
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		words = shellWords(argv[2])
	}
	for _, w := range words {
		if filepath.Base(w) == "go" {
			goBuild = true
		}
		for _, c := range pathCandidates(w) {
			p := c
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			p = filepath.Clean(p)
			st, err := os.Stat(p)
			if err != nil || (st.IsDir() && systemDir(p)) {
				continue
			}
			set[p] = true
		}
	}
	for _, in := range inputs {
		pattern := in
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, pattern)
		}
		pattern = filepath.Clean(pattern)
		if !strings.ContainsAny(in, "*?[{") {
			if _, err := os.Stat(pattern); err != nil {
				return nil, false, fmt.Errorf("inputs: %s: %w (paths are relative to the build's folder)", in, unwrapPath(err))
			}
			set[pattern] = true
			continue
		}
		matches, err := doublestar.FilepathGlob(pattern, doublestar.WithFilesOnly())
		if err != nil {
			return nil, false, fmt.Errorf("inputs: %s: %v", in, err)
		}
		if len(matches) == 0 {
			return nil, false, fmt.Errorf("inputs: %s matches no file (paths are relative to the build's folder)", in)
		}
		for _, m := range matches {
			set[filepath.Clean(m)] = true
		}
	}
	if goBuild {
		for p := range set {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				addModule(set, p)
			}
		}
	}
	for p := range set {
		roots = append(roots, p)
	}
	sort.Strings(roots)
	// Sorted, a folder comes right before what it holds.
	out := roots[:0]
	for _, r := range roots {
		if n := len(out); n > 0 && within(r, out[n-1]) {
			continue
		}
		out = append(out, r)
	}
	return out, goBuild, nil
}

// addModule adds the Go module holding folder dir (the folder of the
// nearest go.mod above it), its go.mod's replace targets on disk, and the
// go.work above it with the modules it uses.
func addModule(set map[string]bool, dir string) {
	mod := findUp(dir, "go.mod")
	if mod == "" {
		return
	}
	root := filepath.Dir(mod)
	if systemDir(root) {
		return
	}
	set[root] = true
	addReplaces(set, mod)
	if os.Getenv("GOWORK") == "off" {
		return
	}
	work := os.Getenv("GOWORK")
	if work == "" {
		work = findUp(root, "go.work")
	}
	if work == "" {
		return
	}
	data, err := os.ReadFile(work)
	if err != nil {
		return
	}
	set[work] = true
	wf, err := modfile.ParseWork(work, data, nil)
	if err != nil {
		return // go build reports it
	}
	for _, u := range wf.Use {
		p := u.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(work), p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() && !systemDir(p) {
			set[filepath.Clean(p)] = true
			addReplaces(set, filepath.Join(p, "go.mod"))
		}
	}
}

// addReplaces adds the folders that a go.mod's replace directives point
// to on disk.
func addReplaces(set map[string]bool, gomod string) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return
	}
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return // go build reports it
	}
	for _, r := range f.Replace {
		if r.New.Version != "" {
			continue // a module version: immutable, named by go.sum
		}
		p := r.New.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(gomod), p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() && !systemDir(p) {
			set[filepath.Clean(p)] = true
		}
	}
}

// findUp is the path of the nearest file called name in dir or above, or "".
func findUp(dir, name string) string {
	for {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// systemDir tells folders that a command may name but that are the
// machine's, not the build's sources (`cd / && …`, -I/usr/include): listing
// them on every run would cost seconds and they change with packages, not
// edits.
func systemDir(p string) bool {
	if p == "/" {
		return true
	}
	for _, s := range []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/proc", "/sys", "/dev", "/run", "/var", "/boot", "/snap"} {
		if within(p, s) {
			return true
		}
	}
	return false
}

// within tells whether p is folder dir or inside it.
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if dir == "/" {
		return true
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// pathCandidates are the paths a command word may name: the word, and for
// `-flag=value` or `VAR=value` the value.
func pathCandidates(w string) []string {
	if w == "" || w == "-" || w == "--" {
		return nil
	}
	var out []string
	if !strings.HasPrefix(w, "-") {
		out = append(out, w)
	}
	if _, v, ok := strings.Cut(w, "="); ok && v != "" {
		out = append(out, v)
	}
	return out
}

// shellWords splits an sh -c string into rough words: at blanks and at the
// shell's operators, with quotes removed. It does not expand anything; it
// only has to find the paths the script names, and a word that names no
// existing path is ignored.
func shellWords(s string) []string {
	var out []string
	var b strings.Builder
	var quote rune
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
		case strings.ContainsRune(" \t\n\r;&|()<>`", r):
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return out
}
