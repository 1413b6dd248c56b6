package process

import (
	"context"
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
	"syscall"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/seamtest/seam/internal/expr"
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
func inputKey(ctx context.Context, cacheDir string, argv, env []string, dir string, inputs []string) (string, error) {
	roots, modules, err := buildRoots(argv, dir, inputs) // modules: the folders a go build names
	if err != nil {
		return "", err
	}
	goBuild := len(modules) > 0
	// The folders in each module, for go list.
	byModule := map[string][]string{}
	for _, d := range modules {
		if mod := findUp(d, "go.mod"); mod != "" && !systemDir(filepath.Dir(mod)) {
			byModule[filepath.Dir(mod)] = append(byModule[filepath.Dir(mod)], d)
		}
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
	for _, mod := range expr.SortedKeys(byModule) {
		fp, err := goFingerprint(ctx, cacheDir, mod, byModule[mod], env)
		if err != nil {
			// go list could not say what the build reads: the whole
			// module is.
			roots = append(roots, mod)
			continue
		}
		fmt.Fprintf(h, "module=%s %s\n", mod, fp)
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
func buildRoots(argv []string, dir string, inputs []string) (roots, goDirs []string, err error) {
	set, goBuild, err := namedRoots(argv, dir, inputs)
	if err != nil {
		return nil, nil, err
	}
	set[filepath.Clean(dir)] = true
	if goBuild {
		for p := range set {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				goDirs = append(goDirs, p)
			}
		}
		sort.Strings(goDirs)
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
	return out, goDirs, nil
}

// namedRoots are the paths a build command names and its inputs (see
// buildRoots), without the folder it runs in; goBuild: it runs go.
func namedRoots(argv []string, dir string, inputs []string) (set map[string]bool, goBuild bool, err error) {
	set = map[string]bool{}
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
	return set, goBuild, nil
}

// goListFormat prints, for each package a build of the module may
// compile, its folder, its module's version (empty for the main module
// and local replacements: folders that change) and its embedded files.
const goListFormat = `{{if not .Standard}}{{.Dir}}{{"\t"}}{{with .Module}}{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}{{end}}{{range .EmbedFiles}}{{"\t"}}{{.}}{{end}}{{end}}`

// goFingerprint hashes what a go build in module mod reads from folders
// that can change: the files of every package of the module and of the
// packages they import from the module or from local replacements, their
// embedded files, go.mod, go.sum and go.work. Asking go list costs tens
// of milliseconds, so its answer (the paths to look at) is kept in the
// cache with the fingerprint it gave; a later run only looks at those
// paths again, and asks go list anew when any of them changed: a new
// import, package or embedded file needs an edit to one of them.
func goFingerprint(ctx context.Context, cacheDir, mod string, dirs, env []string) (string, error) {
	id := sha256.New()
	fmt.Fprintf(id, "golist v2\n%s\n%q\n%q\n", mod, dirs, env)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
			fmt.Fprintf(id, "%s\n", kv)
		}
	}
	memo := filepath.Join(cacheDir, "golist", "golist-"+hex.EncodeToString(id.Sum(nil))[:24])
	if data, err := os.ReadFile(memo); err == nil {
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 1 && fingerprint(lines[1:]) == lines[0] {
			return lines[0], nil
		}
	}
	paths, err := goListPaths(ctx, mod, dirs, env)
	if err != nil {
		return "", err
	}
	fp := fingerprint(paths)
	if err := os.MkdirAll(filepath.Dir(memo), 0o755); err == nil {
		tmp := fmt.Sprintf("%s.tmp-%d", memo, os.Getpid())
		if os.WriteFile(tmp, []byte(fp+"\n"+strings.Join(paths, "\n")+"\n"), 0o644) == nil {
			_ = os.Rename(tmp, memo) // a memo is an optimisation: losing it costs a go list
		}
	}
	return fp, nil
}

// goListPaths asks go list which paths a build in module mod reads: a
// package folder ends in a slash (its files are looked at), an embedded
// file and the folders between it and its package are looked at
// themselves (a file added to an embedded folder changes the folder).
func goListPaths(ctx context.Context, mod string, dirs, env []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// The packages in and under the folders the build names (those are
	// listed whole anyway) and what they import.
	args := []string{"list", "-e", "-deps", "-f", goListFormat}
	for _, d := range dirs {
		rel, err := filepath.Rel(mod, d)
		if err != nil {
			return nil, err
		}
		rel = "./" + filepath.ToSlash(rel)
		args = append(args, rel, strings.TrimSuffix(rel, "/.")+"/...")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), env...)
	// It dies with seam: seam killed while hashing leaves no go list.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w", mod, err)
	}
	set := map[string]bool{filepath.Join(mod, "go.mod"): true, filepath.Join(mod, "go.sum"): true}
	if os.Getenv("GOWORK") != "off" {
		if w := findUp(mod, "go.work"); w != "" {
			set[w] = true
			set[w+".sum"] = true
		}
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 2 || f[0] == "" || f[1] != "" {
			continue // a blank line (a standard package), or one from the module cache
		}
		pkg := filepath.Clean(f[0])
		set[pkg+string(filepath.Separator)] = true
		for _, e := range f[2:] {
			p := filepath.Join(pkg, e)
			for ; p != pkg && within(p, pkg); p = filepath.Dir(p) {
				set[p] = true
			}
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, nil
}

// fingerprint hashes the name, size and modification time of each path
// (a missing one too); for a path ending in a slash, of each file in
// that folder.
func fingerprint(paths []string) string {
	h := sha256.New()
	for _, p := range paths {
		if dir, ok := strings.CutSuffix(p, string(filepath.Separator)); ok {
			fmt.Fprintf(h, "dir %s\n", dir)
			entries, err := os.ReadDir(dir)
			if err != nil {
				fmt.Fprintf(h, "unreadable\n")
				continue
			}
			for _, e := range entries {
				if e.IsDir() {
					continue // another package, listed apart if it is read
				}
				if info, err := e.Info(); err == nil {
					fmt.Fprintf(h, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
				}
			}
			continue
		}
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "%s missing\n", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
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

// Sources implements service.Sourcer: the folder given as dir:, the paths
// the build command names and its inputs:, and for a go build the folders
// of the packages it compiles from the module or local replacements (as
// go list -deps names them; each ends in a separator) with go.mod, go.sum
// and go.work. A process with neither dir: nor build: names no sources.
func (s *Spec) Sources(ctx context.Context, base string, vars expr.Vars) ([]string, error) {
	dir, err := s.dir(base, vars)
	if err != nil {
		return nil, err
	}
	var out []string
	if !s.Dir.IsZero() {
		out = append(out, filepath.Clean(dir))
	}
	if !s.Build.set {
		return out, nil
	}
	bv := copyVars(vars)
	bv["bin"] = "BIN"
	argv, err := s.Build.eval(bv)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	set, goBuild, err := namedRoots(argv, dir, s.Inputs)
	if err != nil {
		return nil, err
	}
	byModule := map[string][]string{}
	for p := range set {
		out = append(out, p)
		if st, err := os.Stat(p); goBuild && err == nil && st.IsDir() {
			if mod := findUp(p, "go.mod"); mod != "" && !systemDir(filepath.Dir(mod)) {
				byModule[filepath.Dir(mod)] = append(byModule[filepath.Dir(mod)], p)
			}
		}
	}
	for _, mod := range expr.SortedKeys(byModule) {
		dirs := byModule[mod]
		sort.Strings(dirs)
		paths, err := goListPaths(ctx, mod, dirs, nil)
		if err != nil {
			out = append(out, mod) // go list could not say: the whole module
			continue
		}
		out = append(out, paths...)
	}
	sort.Strings(out)
	return out, nil
}
