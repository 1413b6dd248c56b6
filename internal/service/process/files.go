package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// maxTemplateFile bounds a files: template read from the suite folder.
const maxTemplateFile = 1 << 20

// Files are the files: of a process or job: files written, templated, into
// the instance's own folder before it starts. Templates see their paths as
// files["NAME"].
type Files struct {
	list []file
}

type file struct {
	name    string // relative, clean, without ..
	pos     diag.Pos
	content expr.Str
}

// DecodeYAML implements decode.Unmarshaler: a mapping from a relative file
// name to its content, a string, or {template: path/in/the/suite/folder}.
func (fs *Files) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "files: want a mapping from a file name to its content, got %s", decode.KindName(n)).
			WithHint("like files: {app.yaml: \"listen: ((addr))\"} or files: {app.yaml: {template: config/app.yaml}}")
		return
	}
	for _, f := range d.Fields(n, "files") {
		if !localName(f.Key) {
			d.Errorf(f.KeyN, "files: %q is not a relative file name", f.Key).
				WithHint("files are written into the instance's own folder: use a name like app.yaml or conf/app.yaml, without a leading / or ..")
			continue
		}
		out := file{name: filepath.Clean(f.Key), pos: d.Pos(f.KeyN)}
		v := decode.Resolve(f.Value)
		switch v.Kind {
		case yaml.ScalarNode:
			out.content.DecodeYAML(d, v)
		case yaml.MappingNode:
			var src struct {
				Template string   `yaml:"template" seam:"required"`
				Pos      diag.Pos `yaml:"-" seam:"pos"`
			}
			before := d.Errs.Len()
			d.Decode(v, &src, "files."+f.Key)
			if d.Errs.Len() > before {
				continue
			}
			path := src.Template
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.Dir, path)
			}
			data, err := readTemplate(path)
			if err != nil {
				d.Errorf(keyNode(v, "template"), "files.%s: template %s: %v", f.Key, src.Template, err).
					WithHint("template: names a file of yours, relative to %s", d.Dir)
				continue
			}
			out.content = expr.FileStr(d, path, string(data))
		default:
			d.Errorf(v, "files.%s: want the file's content (a string) or {template: path}, got %s", f.Key, decode.KindName(v))
			continue
		}
		for _, prev := range fs.list {
			if prev.name == out.name {
				d.Errorf(f.KeyN, "files: %q is written twice", f.Key).WithHint("first at %s", prev.pos)
			}
		}
		fs.list = append(fs.list, out)
	}
}

func readTemplate(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a folder, not a file")
	}
	if st.Size() > maxTemplateFile {
		return nil, fmt.Errorf("%d bytes, more than the %d a template may have", st.Size(), maxTemplateFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	return data, nil
}

// localName reports whether name stays inside the folder it is written
// to: relative, not empty, with no .. element.
func localName(name string) bool {
	if !filepath.IsLocal(name) || filepath.Clean(name) == "." {
		return false // "." is the folder itself
	}
	for _, el := range strings.Split(filepath.ToSlash(name), "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// paths are the files' paths in dir, by name, as templates see them.
func (fs *Files) paths(dir string) map[string]any {
	out := make(map[string]any, len(fs.list))
	for _, f := range fs.list {
		out[f.name] = filepath.Join(dir, f.name)
	}
	return out
}

// write evaluates the files' templates and writes them into dir.
func (fs *Files) write(dir string, vars expr.Vars) error {
	for _, f := range fs.list {
		text, err := f.content.String(vars)
		if err != nil {
			return fmt.Errorf("files.%s: %w", f.name, err)
		}
		p := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("files.%s: %w", f.name, err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return fmt.Errorf("files.%s: %w", f.name, err)
		}
	}
	return nil
}

// Names lists the files' names, in order.
func (fs *Files) Names() []string {
	out := make([]string, len(fs.list))
	for i, f := range fs.list {
		out[i] = f.name
	}
	return out
}
