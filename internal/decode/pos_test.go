package decode

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// scalars are the scalar nodes under n, aliases not followed.
func scalars(n *yaml.Node, out []*yaml.Node) []*yaml.Node {
	if n == nil {
		return out
	}
	if n.Kind == yaml.ScalarNode {
		out = append(out, n)
	}
	for _, c := range n.Content {
		out = scalars(c, out)
	}
	return out
}

// FuzzPosIn checks that every offset of every scalar of a file maps to a
// place in the file, never past the end of a line; and that where it is
// mapped through the file's text, the character there is the value's (or
// the backslash of the escape that wrote it).
func FuzzPosIn(f *testing.F) {
	for _, s := range []string{
		"v: Größe ((x))",
		"v: \"注文: ((x))\"",
		"v: 'it''s ((x))'",
		"v: \"a\\u00e9\\\n   ((x)) b\"",
		"v: |\n  a\n    ((x))\n",
		"v: >-\n  a\n   b ((x))\n\n  c\n",
		"v: |2\n    a\n   b\n",
		"v: &a !!str \"x ((y))\"\n",
		"v: a\n  b\n\n  c ((x))\n",
		"v: [a, \"b\n  c\", 'd\n\n  e']\n",
		"\uFEFFv: |\r\n  a\r\n  b\r\n",
		"k: \"\\x41\\t\\\"\\\\ \\N\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		root, err := Parse([]byte(src))
		if err != nil {
			return
		}
		d := New("f.yaml", &diag.List{})
		d.Src = []byte(src)
		text := d.source()
		var lines []string
		for i := 0; i < text.lines(); i++ {
			lines = append(lines, text.line(i))
		}
		ns := scalars(root, nil)
		if len(ns) > 50 {
			ns = ns[:50]
		}
		for _, n := range ns {
			for off := 0; off <= len(n.Value) && off < 100; off++ {
				p := d.PosIn(n, off)
				if p == d.Pos(n) {
					continue // the node's own, as YAML gives it
				}
				if p.Line < 1 || p.Line > len(lines) {
					t.Fatalf("%q offset %d of %q: line %d of %d", src, off, n.Value, p.Line, len(lines))
				}
				if p.Col > utf8.RuneCountInString(lines[p.Line-1])+1 {
					t.Fatalf("%q offset %d of %q: %d:%d is past the end of %q", src, off, n.Value, p.Line, p.Col, lines[p.Line-1])
				}
				if off == len(n.Value) || !utf8.RuneStart(n.Value[off]) {
					continue
				}
				line, col, ok := scalarPos(text, n, off)
				if !ok {
					continue
				}
				want, _ := utf8.DecodeRuneInString(n.Value[off:])
				got, _ := utf8.DecodeRuneInString(string([]rune(lines[line-1])[col-1:]))
				if got != want && got != '\\' && !strings.ContainsRune(" \t\n", want) {
					t.Fatalf("%q offset %d of %q (%q): mapped to %d:%d, which holds %q", src, off, n.Value, want, line, col, got)
				}
			}
		}
	})
}
