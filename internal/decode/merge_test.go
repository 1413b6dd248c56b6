package decode_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// fieldsOf parses src and returns the fields of the mapping under key
// "v", as key=value (a scalar's value, or the line of a mapping's first
// key for the others), and the problems reported.
func fieldsOf(t *testing.T, src string) ([]string, []*diag.Error) {
	t.Helper()
	root, err := decode.Parse([]byte(src))
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	var errs diag.List
	d := decode.New("f.yaml", &errs)
	var v *yaml.Node
	for _, f := range d.Fields(root, "root") {
		if f.Key == "v" {
			v = f.Value
		}
	}
	var out []string
	for _, f := range d.Fields(v, "v") {
		val := decode.Resolve(f.Value)
		text := val.Value
		if val.Kind != yaml.ScalarNode {
			text = decode.KindName(val)
		}
		out = append(out, f.Key+"="+text)
	}
	return out, errs.Errors()
}

// Merge keys follow yaml.org/type/merge: explicit keys win wherever they
// are written, of several merged mappings the earlier wins, and only two
// explicit keys of one name are a duplicate.
func TestMergeKeys(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
		errs      []string
	}{
		// Merged fields come where the << is.
		{"explicit keys after <<", "a: &a {x: 1, y: 2}\nv:\n  <<: *a\n  x: 3\n", []string{"y=2", "x=3"}, nil},
		{"explicit keys before <<", "a: &a {x: 1, y: 2}\nv: {x: 3, <<: *a}\n", []string{"x=3", "y=2"}, nil},
		{"a list, the earlier wins", "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nv: {<<: [*a, *b]}\n", []string{"x=1", "y=2"}, nil},
		{"a list and an explicit key", "a: &a {x: 1}\nb: &b {y: 2}\nv: {<<: [*a, *b], y: 3}\n", []string{"x=1", "y=3"}, nil},
		{"a merged mapping that merges", "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nv: {<<: *b, z: 3}\n", []string{"x=1", "y=2", "z=3"}, nil},
		{"an inline mapping", "v: {<<: {x: 1}, y: 2}\n", []string{"x=1", "y=2"}, nil},
		{"a quoted << is a key", "v: {\"<<\": 1}\n", []string{"<<=1"}, nil},
		{"two explicit keys", "a: &a {x: 1}\nv:\n  <<: *a\n  y: 1\n  y: 2\n", []string{"x=1", "y=1"},
			[]string{`f.yaml:5:3: v: duplicate key "y"`}},
		{"not a mapping", "v: {<<: 5, y: 1}\n", []string{"y=1"}, []string{"f.yaml:1:9: v: <<: want a mapping or a list of mappings to merge, got number 5"}},
		{"a list item not a mapping", "a: &a {x: 1}\nv: {<<: [*a, [1]], y: 1}\n", []string{"x=1", "y=1"},
			[]string{"f.yaml:2:14: v: <<: want a mapping to merge, got a list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := fieldsOf(t, tc.src)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fields %v; want %v", got, tc.want)
			}
			var texts []string
			for _, e := range errs {
				texts = append(texts, e.Pos.String()+": "+e.Msg)
			}
			if !reflect.DeepEqual(texts, tc.errs) {
				t.Errorf("problems %q; want %q", texts, tc.errs)
			}
		})
	}
}

// Any merges the same way.
func TestAnyMergeKeys(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want map[string]any
	}{
		{"a: &a {x: 1, y: 2}\nv:\n  <<: *a\n  x: 3\n", map[string]any{"x": 3, "y": 2}},
		{"a: &a {x: 1}\nb: &b {x: 2, y: 2}\nv: {<<: [*a, *b]}\n", map[string]any{"x": 1, "y": 2}},
		{"a: &a {x: 1}\nv: {y: 0, <<: *a, x: 5}\n", map[string]any{"x": 5, "y": 0}},
	} {
		n, err := decode.Parse([]byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode.Any(n)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if v := got.(map[string]any)["v"]; !reflect.DeepEqual(v, tc.want) {
			t.Errorf("%q: v = %v; want %v", tc.src, v, tc.want)
		}
	}
	n, _ := decode.Parse([]byte("v: {<<: 5}\n"))
	if _, err := decode.Any(n); err == nil || !strings.Contains(err.Error(), "<<: want a mapping") {
		t.Errorf("merging a number: %v", err)
	}
}

// A problem inside an anchored value decoded through aliases is reported
// once for each alias that reaches it, saying which, at its real place;
// one its own decoding already reported is not repeated.
func TestProblemsThroughAliases(t *testing.T) {
	src := `tests:
  - name: first
    steps:
      - &greet
        say: ((who))
        typo: 1
  - name: second
    steps:
      - *greet
  - name: third
    steps: [*greet]
`
	root, err := decode.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	d := decode.New("f.yaml", &errs)
	for _, f := range d.Fields(root, "suite") {
		for _, test := range decode.Resolve(f.Value).Content {
			name := ""
			for _, tf := range d.Fields(test, "test") {
				switch tf.Key {
				case "name":
					name = tf.Value.Value
				case "steps":
					for _, st := range decode.Resolve(tf.Value).Content {
						for _, sf := range d.Fields(st, "step") {
							switch {
							case sf.Key == "typo":
								d.Errorf(sf.KeyN, "step: unknown key %q", sf.Key)
							case sf.Key == "say" && name != "first":
								// Only the first test defines who.
								d.Errorf(sf.Value, "undefined variable %q", "who")
							}
						}
					}
				}
			}
		}
	}
	var got []string
	for _, e := range errs.Errors() {
		got = append(got, e.Pos.String()+": "+e.Msg)
	}
	want := []string{
		`f.yaml:5:14: undefined variable "who" (via *greet at line 9, in "second")`,
		`f.yaml:5:14: undefined variable "who" (via *greet at line 11, in "third")`,
		`f.yaml:6:9: step: unknown key "typo"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A merged mapping reached through an alias names the alias too, and the
// mapping that merges it, when it has a name.
func TestProblemsThroughMergeKeys(t *testing.T) {
	src := "base: &base {x: bad}\nv:\n  name: mine\n  <<: *base\n"
	root, err := decode.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	d := decode.New("f.yaml", &errs)
	for _, f := range d.Fields(root, "root") {
		for _, g := range d.Fields(f.Value, f.Key) {
			if g.Key == "x" {
				d.Errorf(g.Value, "bad x")
			}
		}
	}
	var got []string
	for _, e := range errs.Errors() {
		got = append(got, e.Pos.String()+": "+e.Msg)
	}
	// The anchor's own decoding (under base:) reports it: the alias's
	// is then not repeated.
	if want := []string{"f.yaml:1:17: bad x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	// Reached only through the alias, it says so.
	errs = diag.List{}
	d = decode.New("f.yaml", &errs)
	for _, f := range d.Fields(root, "root") {
		if f.Key != "v" {
			continue
		}
		for _, g := range d.Fields(f.Value, f.Key) {
			if g.Key == "x" {
				d.Errorf(g.Value, "bad x")
			}
		}
	}
	if e := errs.Errors(); len(e) != 1 || e[0].Error() != `f.yaml:1:17: bad x (via *base at line 4, in "mine")` {
		t.Errorf("through the alias only: %v", errs.Err())
	}
}
