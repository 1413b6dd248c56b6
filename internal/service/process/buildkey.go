package process

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/reap"
	"go.yaml.in/yaml/v4"
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
// runs one, and the contents of the files it reads. Files are known by
// content, not by modification time: a touch, or a checkout that writes
// the same bytes again, keeps the key (see sums for how contents are
// remembered between runs, so that only changed files are read again).
//
// Which files:
//   - A Go build (a command that runs nothing but go build or go install,
//     after cd and variable assignments; see goOnlyCommand) reads what go
//     list names for the folders it names and runs in (see goFingerprint):
//     the packages' sources, their embedded files, go.mod, go.sum, go.work.
//     Other files of those folders (the suite's YAML, notes, data) are not
//     part of its key. Files the command names and inputs: are added.
//   - Any other build (make, npm, a script, go generate) may read anything:
//     every file under its roots (see buildRoots) is, but for version
//     control and dependency folders (skipDirs), seam's own state and
//     cache folders, and the suite's own files (see suiteYAML): editing a
//     test does not rebuild the services it tests.
//
// A folder go list cannot answer for (no go.mod, go list failing) is read
// whole, as for any other build.
func inputKey(ctx context.Context, cacheDir string, argv, env []string, dir string, inputs []string) (string, error) {
	cmdSet, goBuild := commandPaths(argv, dir)
	inSet, err := inputPaths(inputs, dir)
	if err != nil {
		return "", err
	}
	set := map[string]bool{filepath.Clean(dir): true}
	for p := range cmdSet {
		set[p] = true
	}
	for p := range inSet {
		set[p] = true
	}
	// The folders in each module that the build names, for go list.
	byModule := map[string][]string{}
	if goBuild {
		for _, d := range expr.SortedKeys(set) {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				continue
			}
			if mod := findUp(d, "go.mod"); mod != "" && !systemDir(filepath.Dir(mod)) {
				byModule[filepath.Dir(mod)] = append(byModule[filepath.Dir(mod)], d)
			}
		}
	}
	h := sha256.New()
	header := fmt.Sprintf("v3\nargv=%q\nenv=%q\ndir=%s\ninputs=%q\n", argv, env, dir, inputs)
	io.WriteString(h, header)
	sums := loadSums(cacheDir, header)
	defer sums.save()
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
	goOnly := goBuild && goOnlyCommand(argv)
	for _, mod := range expr.SortedKeys(byModule) {
		fp, err := goFingerprint(ctx, cacheDir, mod, byModule[mod], env, sums)
		if err != nil {
			// go list could not say what the build reads: the whole
			// module is.
			set[mod] = true
			continue
		}
		fmt.Fprintf(h, "module=%s %s\n", mod, fp)
		if goOnly {
			// What go list answered for its folder and the folders its
			// command names; inputs: stay listed whole.
			for _, d := range byModule[mod] {
				if !inSet[d] {
					delete(set, d)
				}
			}
		}
	}
	roots := outermost(set)
	skip := map[string]bool{}
	for _, d := range []string{cacheDir, reap.StateDir()} {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			skip[abs] = true
		}
	}
	files := 0
	for _, root := range roots {
		fmt.Fprintf(h, "root=%s\n", root)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if p != root && (skipDirs[e.Name()] || skip[p]) {
					return filepath.SkipDir
				}
				return nil
			}
			files++
			if files > maxKeyFiles {
				return fmt.Errorf("more than %d files under %s; set dir: to the service's own folder, or name what the build reads with inputs:", maxKeyFiles, strings.Join(roots, ", "))
			}
			sum, suite, err := sums.file(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while listed: a build at this moment races anyway
				}
				return err
			}
			if suite && !inSet[p] {
				return nil // the suite's own file, unless inputs: names it
			}
			fmt.Fprintf(h, "%s %s\n", p, sum)
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
	return outermost(set), goDirs, nil
}

// outermost is the paths of set that are not inside another, sorted.
func outermost(set map[string]bool) []string {
	roots := make([]string, 0, len(set))
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
	return out
}

// namedRoots are the paths a build command names and its inputs (see
// buildRoots), without the folder it runs in; goBuild: it runs go.
func namedRoots(argv []string, dir string, inputs []string) (set map[string]bool, goBuild bool, err error) {
	set, goBuild = commandPaths(argv, dir)
	in, err := inputPaths(inputs, dir)
	if err != nil {
		return nil, false, err
	}
	for p := range in {
		set[p] = true
	}
	return set, goBuild, nil
}

// commandPaths are the existing files and folders a build command names
// (see buildRoots); goBuild: it runs go.
func commandPaths(argv []string, dir string) (set map[string]bool, goBuild bool) {
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
	return set, goBuild
}

// inputPaths are the paths inputs: names (see buildRoots); a name that
// matches nothing is an error.
func inputPaths(inputs []string, dir string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, in := range inputs {
		pattern := in
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, pattern)
		}
		pattern = filepath.Clean(pattern)
		if !strings.ContainsAny(in, "*?[{") {
			if _, err := os.Stat(pattern); err != nil {
				return nil, fmt.Errorf("inputs: %s: %w (paths are relative to the build's folder)", in, unwrapPath(err))
			}
			set[pattern] = true
			continue
		}
		matches, err := doublestar.FilepathGlob(pattern, doublestar.WithFilesOnly())
		if err != nil {
			return nil, fmt.Errorf("inputs: %s: %v", in, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("inputs: %s matches no file (paths are relative to the build's folder)", in)
		}
		for _, m := range matches {
			set[filepath.Clean(m)] = true
		}
	}
	return set, nil
}

// goOnlyCommand tells a build command that runs nothing but go build or
// go install, besides cd, set, export, true, : and echo and variable
// assignments (VAR=x, env VAR=x): what it reads is then what go list
// names. Anything else (go generate, go run, make, a $(…) or `…`
// substitution) may read any file of its folders.
func goOnlyCommand(argv []string) bool {
	cmds := [][]string{argv}
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		if strings.Contains(argv[2], "$(") || strings.Contains(argv[2], "`") {
			return false
		}
		cmds = shellCommands(argv[2])
	}
	for _, c := range cmds {
		if len(c) > 0 && c[0] == "env" {
			c = c[1:]
		}
		for len(c) > 0 && !strings.HasPrefix(c[0], "-") && strings.Contains(c[0], "=") {
			c = c[1:] // an assignment
		}
		if len(c) == 0 {
			continue
		}
		switch c[0] {
		case "cd", "set", "export", "true", ":", "echo":
			continue
		}
		if filepath.Base(c[0]) == "go" && len(c) > 1 && (c[1] == "build" || c[1] == "install") {
			continue
		}
		return false
	}
	return true
}

// shellCommands splits an sh -c string into its simple commands, each
// as rough words (see shellWords): at ; & | ( ) and line ends. Redirections
// (<, >, 2>&1) split words, not commands.
func shellCommands(s string) [][]string {
	var out [][]string
	var words []string
	var b strings.Builder
	var quote rune
	word := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	command := func() {
		word()
		if len(words) > 0 {
			out = append(out, words)
			words = nil
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '&' && ((i > 0 && (rs[i-1] == '>' || rs[i-1] == '<')) || (i+1 < len(rs) && rs[i+1] == '>')):
			word() // >&2, &>file: a redirection
		case strings.ContainsRune(" \t<>", r):
			word()
		case strings.ContainsRune(";&|()\n\r", r):
			command()
		default:
			b.WriteRune(r)
		}
	}
	command()
	return out
}

// suiteKeys are the keys a seam suite file may hold at its top level (the
// suite loader's root keys) and suiteMarks those of which one names a
// file as a suite's.
var (
	suiteKeys  = map[string]bool{"name": true, "vars": true, "defaults": true, "services": true, "profiles": true, "include": true, "steps": true, "tests": true, "mask": true}
	suiteMarks = []string{"tests", "services", "include", "steps"}
)

// suiteYAML tells whether data, a .yaml or .yml file, is a seam suite
// file (a suite or a file it includes): a mapping of nothing but suite
// keys, among them tests, services, include or steps. A build reads its
// sources, not the tests written against it. A YAML file of the build's
// (a config with other keys) is not one; a suite file a build does read
// is named with inputs:.
func suiteYAML(data []byte) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil || len(top) == 0 {
		return false
	}
	for k := range top {
		if !suiteKeys[k] {
			return false
		}
	}
	for _, k := range suiteMarks {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// sums hashes files by content for a build's key. Reading every file on
// every run would cost what the cache saves, so each file's hash is kept
// in the cache folder with its stat (size, modification and change times,
// inode); a later run reads again only the files whose stat changed. A
// file modified within racyWindow of being hashed is not remembered: a
// write in the same clock tick could leave its stat as it was.
type sums struct {
	memo string
	now  time.Time
	old  map[string]sumEntry
	new  map[string]sumEntry
}

// racyWindow: see sums.
const racyWindow = 2 * time.Second

type sumEntry struct {
	Stat  string `json:"stat"`
	Sum   string `json:"sum"`
	Suite bool   `json:"suite,omitempty"` // a suite file (suiteYAML)
}

// loadSums reads the hashes remembered for the build named by id (its
// command, folder and inputs) from cacheDir; none ("" or unreadable) is
// an empty memory.
func loadSums(cacheDir, id string) *sums {
	s := &sums{now: time.Now(), old: map[string]sumEntry{}, new: map[string]sumEntry{}}
	if cacheDir == "" {
		return s
	}
	h := sha256.Sum256([]byte("sums v1\n" + id))
	s.memo = filepath.Join(cacheDir, "sums", "sums-"+hex.EncodeToString(h[:])[:24]+".json")
	if data, err := os.ReadFile(s.memo); err == nil {
		_ = json.Unmarshal(data, &s.old) // a bad memo is an empty one
	}
	return s
}

// file is the content hash of the file at p (for a folder, of its sorted
// names) and whether it is a suite file.
func (s *sums) file(p string) (sum string, suite bool, err error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", false, err
	}
	stat := statLine(st)
	if e, ok := s.new[p]; ok && e.Stat == stat {
		return e.Sum, e.Suite, nil
	}
	if e, ok := s.old[p]; ok && e.Stat == stat {
		s.new[p] = e
		return e.Sum, e.Suite, nil
	}
	h := sha256.New()
	var head []byte // a YAML file's contents, for suiteYAML
	if st.IsDir() {
		entries, err := os.ReadDir(p)
		if err != nil {
			return "", false, err
		}
		for _, e := range entries {
			fmt.Fprintf(h, "%s\n", e.Name())
		}
	} else {
		f, err := os.Open(p)
		if err != nil {
			return "", false, err
		}
		var w io.Writer = h
		var buf bytes.Buffer
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
			w = io.MultiWriter(h, &buf)
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return "", false, err
		}
		head = buf.Bytes()
	}
	e := sumEntry{Stat: stat, Sum: hex.EncodeToString(h.Sum(nil))[:32], Suite: head != nil && suiteYAML(head)}
	if s.now.Sub(st.ModTime()) > racyWindow && s.now.Sub(changeTime(st)) > racyWindow {
		s.new[p] = e
	}
	return e.Sum, e.Suite, nil
}

// save writes the hashes of the files looked at in this run (no others:
// the memory does not grow with files long gone) for the next; losing
// them costs reading the files again.
func (s *sums) save() {
	if s.memo == "" {
		return
	}
	data, err := json.Marshal(s.new)
	if err != nil || os.MkdirAll(filepath.Dir(s.memo), 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(s.memo), "tmp-")
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil && cerr == nil {
		err = os.Rename(f.Name(), s.memo)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// statLine is what tells a file unchanged since it was hashed.
func statLine(st fs.FileInfo) string {
	var ino, dev uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino, dev = sys.Ino, sys.Dev
	}
	return fmt.Sprintf("%d %d %d %d %d %v", st.Size(), st.ModTime().UnixNano(), changeTime(st).UnixNano(), ino, dev, st.IsDir())
}

// changeTime is st's inode change time (its modification time where the
// system does not say).
func changeTime(st fs.FileInfo) time.Time {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec)
	}
	return st.ModTime()
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
func goFingerprint(ctx context.Context, cacheDir, mod string, dirs, env []string, sums *sums) (string, error) {
	id := sha256.New()
	fmt.Fprintf(id, "golist v3\n%s\n%q\n%q\n", mod, dirs, env)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
			fmt.Fprintf(id, "%s\n", kv)
		}
	}
	memo := filepath.Join(cacheDir, "golist", "golist-"+hex.EncodeToString(id.Sum(nil))[:24])
	if data, err := os.ReadFile(memo); err == nil {
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 1 && fingerprint(lines[1:], sums) == lines[0] {
			return lines[0], nil
		}
	}
	paths, err := goListPaths(ctx, mod, dirs, env)
	if err != nil {
		return "", err
	}
	fp := fingerprint(paths, sums)
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

// fingerprint hashes the contents of each path (see sums; a missing one
// too); for a path ending in a slash, a package's folder, the names of its
// files and the contents of those go build compiles (goSource): a file
// beside the package's sources (the suite's YAML when the suite's folder
// is the package's) is not read by the build, unless it embeds it, and
// then go list names it apart. A new file in the folder changes the
// names, for a pattern of the package's //go:embed may match it.
func fingerprint(paths []string, sums *sums) string {
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
				if !goSource(e.Name()) {
					fmt.Fprintf(h, "%s\n", e.Name())
					continue
				}
				if sum, _, err := sums.file(filepath.Join(dir, e.Name())); err == nil {
					fmt.Fprintf(h, "%s %s\n", e.Name(), sum)
				}
			}
			continue
		}
		if sum, _, err := sums.file(p); err == nil {
			fmt.Fprintf(h, "%s %s\n", p, sum)
		} else {
			fmt.Fprintf(h, "%s missing\n", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// goSource tells the files of a package's folder that go build may
// compile or link, by their extension (as go/build sorts them).
func goSource(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx", ".f", ".F", ".for", ".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".syso":
		return true
	}
	return false
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
