package suite

import (
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v4"
)

// maxUp bounds how many folders IncludedBy looks up through.
const maxUp = 16

// IncludedBy reports the suite file (a seam.yaml in file's folder or one
// above it) whose include: globs name file, when file is a file of tests
// (an included file holds only tests:). A user who runs or validates such
// a file means that suite's tests in it: alone, it has no services and
// its templates name variables the suite declares.
func IncludedBy(file string) (string, bool) {
	fi, err := os.Stat(file)
	if err != nil || fi.IsDir() || filepath.Base(file) == DefaultFile {
		return "", false
	}
	var top map[string]yaml.Node
	if b, err := os.ReadFile(file); err != nil || yaml.Unmarshal(b, &top) != nil || len(top) != 1 {
		return "", false
	}
	if _, ok := top["tests"]; !ok {
		return "", false
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false
	}
	dir := filepath.Dir(abs)
	for range maxUp {
		root := filepath.Join(dir, DefaultFile)
		if includes(root, fi) {
			rel, err := filepath.Rel(mustWd(), root)
			if err != nil || len(rel) > len(root) {
				rel = root
			}
			return rel, true
		}
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return "", false
}

// includes reports whether the suite file root includes the file fi.
func includes(root string, fi os.FileInfo) bool {
	b, err := os.ReadFile(root)
	if err != nil {
		return false
	}
	var s struct {
		Include yaml.Node `yaml:"include"`
	}
	if yaml.Unmarshal(b, &s) != nil {
		return false
	}
	var globs []string
	switch s.Include.Kind {
	case yaml.ScalarNode:
		globs = []string{s.Include.Value}
	case yaml.SequenceNode:
		for _, n := range s.Include.Content {
			globs = append(globs, n.Value)
		}
	}
	for _, g := range globs {
		if !filepath.IsAbs(g) {
			g = filepath.Join(filepath.Dir(root), g)
		}
		ms, _ := filepath.Glob(g)
		for _, m := range ms {
			if mi, err := os.Stat(m); err == nil && os.SameFile(mi, fi) {
				return true
			}
		}
	}
	return false
}

func mustWd() string {
	wd, _ := os.Getwd()
	return wd
}
