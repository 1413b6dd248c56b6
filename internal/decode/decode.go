// Package decode turns YAML nodes into typed Go structs while keeping every
// node's position, and collects every problem instead of stopping at the
// first, so `seam validate` can report them all at once.
package decode

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// Decoder decodes nodes of one file and records problems in Errs.
type Decoder struct {
	File string
	Errs *diag.List
	// Vars names the variables defined where the node being decoded sits
	// (suite vars, --var, earlier captures, builtins); templates that use
	// any other name are reported. Nil turns the check off.
	Vars map[string]bool
	// Later names variables that exist, but not where the node being
	// decoded sits (a service's addresses in its build: command, which
	// runs before any service starts), each with the hint to give when a
	// template uses it.
	Later map[string]string
	// Dir is the folder of File, for fields that name other files.
	Dir string
	// Services collects the services that templates name by a constant,
	// service("db"), for the loader to check once every service is
	// known. Nil: not collected.
	Services *[]Named
	// Src is File's text, for the positions of problems inside a scalar
	// (a template in a quoted, folded or block string). Nil: File is read
	// the first time one is needed; if that fails, or the text there is
	// not the node's, such problems are placed less exactly.
	Src []byte

	src      *source // Src, or File's text, with its lines
	srcTried bool
	uses     *uses // anchors and aliases seen, for problems inside them
}

// Named is a name used at a position.
type Named struct {
	Name string
	Pos  diag.Pos
	// Path are the fields read, in order, of what the name gives, each
	// with its own position: service("web").ports.admin reads ports, then
	// admin. It ends before the first field computed at run time.
	Path []Named
}

// New returns a Decoder for file that adds problems to errs.
func New(file string, errs *diag.List) *Decoder {
	return &Decoder{File: file, Errs: errs}
}

// Unmarshaler is implemented by types that decode themselves from a node.
// Problems go to d; the method must not stop at the first one.
type Unmarshaler interface {
	DecodeYAML(d *Decoder, n *yaml.Node)
}

// Pos is the position of n in the decoder's file.
func (d *Decoder) Pos(n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: d.File}
	}
	return diag.Pos{File: d.File, Line: n.Line, Col: n.Column}
}

// Errorf records a problem at n and returns it so a hint can be added.
func (d *Decoder) Errorf(n *yaml.Node, format string, args ...any) *diag.Error {
	return d.Report(n, diag.Errorf(d.Pos(n), format, args...))
}

// Resolve follows aliases and unwraps a document node.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

// KindName names what a node is, for "want X, got Y" messages.
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch Tag(n) {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		}
		if r := []rune(n.Value); len(r) > 60 {
			// A whole 90 KB line in a message helps no one.
			return strconv.Quote(string(r[:57])) + "…"
		}
		return strconv.Quote(n.Value)
	}
	return "unknown node"
}

// Field is one key of a mapping, with its key node kept for positions.
type Field struct {
	Key   string
	KeyN  *yaml.Node
	Value *yaml.Node
}

// Fields returns the entries of a mapping in order, reporting duplicate keys
// and non-scalar keys. It reports and returns nil when n is not a mapping.
//
// Merge keys follow YAML's merge-key type (yaml.org/type/merge): `<<: *a`
// or `<<: [*a, *b]` adds the keys of those mappings that the mapping does
// not give itself, wherever in it they are written; of several merged
// mappings the earlier wins. Merged fields keep their own nodes, so their
// problems are reported where they are written. Two explicit keys of the
// same name are still a duplicate.
func (d *Decoder) Fields(n *yaml.Node, what string) []Field {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n == nil || Tag(n) == "!!null" {
			return nil
		}
		d.Errorf(n, "%s: want a mapping, got %s", what, KindName(n))
		return nil
	}
	d.noteUses(n)
	// The first occurrence of each explicit key, by index in Content.
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := Resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.Errorf(n.Content[i], "%s: keys must be plain strings, got %s", what, KindName(k))
			continue
		}
		if IsMerge(k) {
			continue
		}
		if j, dup := first[k.Value]; dup {
			d.Errorf(k, "%s: duplicate key %q", what, k.Value).WithHint("first defined at line %d", Resolve(n.Content[j]).Line)
			continue
		}
		first[k.Value] = i
	}
	merged := map[string]bool{}
	out := make([]Field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k == nil || k.Kind != yaml.ScalarNode:
		case IsMerge(k):
			for _, src := range d.mergeSources(v, what) {
				for _, f := range d.Fields(src, what) {
					if _, explicit := first[f.Key]; !explicit && !merged[f.Key] {
						merged[f.Key] = true
						out = append(out, f)
					}
				}
			}
		case first[k.Value] == i:
			out = append(out, Field{Key: k.Value, KeyN: k, Value: v})
		}
	}
	return out
}

// IsMerge reports whether k is YAML's merge key: a plain, untagged <<.
func IsMerge(k *yaml.Node) bool {
	return k != nil && k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		k.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// mergeSources are the mappings a merge key's value v names: one mapping,
// or a list of them. Anything else is reported.
func (d *Decoder) mergeSources(v *yaml.Node, what string) []*yaml.Node {
	r := Resolve(v)
	if r == nil {
		return nil
	}
	hint := "<<: takes a mapping (<<: *base) or a list of them (<<: [*a, *b]); of several, the earlier wins"
	switch r.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{r}
	case yaml.SequenceNode:
		out := make([]*yaml.Node, 0, len(r.Content))
		for _, it := range r.Content {
			if m := Resolve(it); m != nil && m.Kind == yaml.MappingNode {
				out = append(out, m)
				continue
			}
			d.Errorf(it, "%s: <<: want a mapping to merge, got %s", what, KindName(it)).WithHint("%s", hint)
		}
		return out
	}
	d.Errorf(v, "%s: <<: want a mapping or a list of mappings to merge, got %s", what, KindName(v)).WithHint("%s", hint)
	return nil
}

// UnknownKey reports key as unknown among known, suggesting the closest.
func (d *Decoder) UnknownKey(keyN *yaml.Node, what string, known []string) {
	e := d.Errorf(keyN, "%s: unknown key %q", what, keyN.Value)
	if c := diag.Closest(keyN.Value, known); c != "" {
		e.WithHint("did you mean %q?", c)
	} else {
		sorted := append([]string(nil), known...)
		sort.Strings(sorted)
		e.WithHint("known keys: %s", strings.Join(sorted, ", "))
	}
}

var (
	durationType    = reflect.TypeOf(time.Duration(0))
	unmarshalerType = reflect.TypeOf((*Unmarshaler)(nil)).Elem()
	posType         = reflect.TypeOf(diag.Pos{})
)

// Decode decodes n into the value v points to. Structs use `yaml:"name"`
// tags; `seam:"required"` marks required fields and a diag.Pos field tagged
// `yaml:"-" seam:"pos"` receives the node's position.
func (d *Decoder) Decode(n *yaml.Node, v any, what string) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("decode: Decode needs a non-nil pointer")
	}
	d.value(n, rv.Elem(), what)
}

func (d *Decoder) value(n *yaml.Node, v reflect.Value, what string) {
	n = Resolve(n)
	if n == nil {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v.Addr().Interface().(Unmarshaler).DecodeYAML(d, n)
		return
	}
	if n.Kind == yaml.ScalarNode && Tag(n) == "!!null" && v.Kind() != reflect.Interface {
		return // null leaves the zero value
	}
	switch {
	case v.Type() == durationType:
		dur, ok := d.duration(n, what)
		if ok {
			v.SetInt(int64(dur))
		}
		return
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), what)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, what, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || Tag(n) != "!!bool" {
			d.mismatch(n, what, "true or false")
			return
		}
		b, err := ParseBool(n.Value)
		if err != nil {
			d.Errorf(n, "%s: want true or false, got %s", what, KindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || Tag(n) != "!!int" {
			d.mismatch(n, what, "a whole number")
			return
		}
		x, err := ParseInt(n.Value)
		i, small := x.(int)
		if err != nil || !small || v.OverflowInt(int64(i)) {
			d.Errorf(n, "%s: want a whole number that fits in %d bits, got %s", what, v.Type().Bits(), KindName(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (Tag(n) != "!!int" && Tag(n) != "!!float") {
			d.mismatch(n, what, "a number")
			return
		}
		f, err := ParseFloat(n.Value)
		if err != nil {
			d.Errorf(n, "%s: want a number, got %s", what, KindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		items := n.Content
		if n.Kind != yaml.SequenceNode {
			d.Errorf(n, "%s: want a list, got %s", what, KindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			d.value(it, s.Index(i), fmt.Sprintf("%s[%d]", what, i))
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			panic("decode: only string-keyed maps are supported")
		}
		fields := d.Fields(n, what)
		if n.Kind != yaml.MappingNode {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(fields))
		for _, f := range fields {
			ev := reflect.New(v.Type().Elem()).Elem()
			d.value(f.Value, ev, what+"."+f.Key)
			m.SetMapIndex(reflect.ValueOf(f.Key).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Struct:
		d.structure(n, v, what)
	case reflect.Interface:
		x, err := Any(n)
		if err != nil {
			d.Errorf(n, "%s: %v", what, err)
			return
		}
		v.Set(reflect.ValueOf(&x).Elem())
	default:
		panic("decode: unsupported type " + v.Type().String())
	}
}

func (d *Decoder) scalar(n *yaml.Node, what, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "%s: want %s, got %s", what, want, KindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *Decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "%s: want a duration like 5s or 1m30s, got %s", what, KindName(n))
		return 0, false
	}
	dur, err := time.ParseDuration(n.Value)
	switch {
	case err == nil && dur < 0:
		d.Errorf(n, "%s: a duration cannot be negative, got %s", what, KindName(n))
		return 0, false
	case err != nil && isTemplate(n):
		d.mismatch(n, what, "a duration like 5s or 1m30s")
		return 0, false
	case err != nil:
		d.Errorf(n, "%s: want a duration like 5s or 1m30s, got %s", what, KindName(n)).
			WithHint("units are ms, s, m, h; a bare number has no unit")
		return 0, false
	}
	return dur, true
}

// mismatch reports a value of the wrong type for what, which wants want:
// a ((template)) there is said to be refused, not to be of the wrong kind
// (a typed field is read when the suite is checked, before any template
// has a value).
func (d *Decoder) mismatch(n *yaml.Node, what, want string) {
	if isTemplate(n) {
		d.Errorf(n, "%s: want %s; templates are not allowed here, got %s", what, want, KindName(n)).
			WithHint("this field is read when the suite is checked, before ((…)) has a value: write the value out")
		return
	}
	d.Errorf(n, "%s: want %s, got %s", what, want, KindName(n))
}

// isTemplate reports whether n is a string scalar holding a ((template)).
func isTemplate(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && Tag(n) == "!!str" && strings.Contains(n.Value, "((") && strings.Contains(n.Value, "))")
}

// Duration decodes a duration scalar.
func (d *Decoder) Duration(n *yaml.Node, what string) (time.Duration, bool) {
	return d.duration(Resolve(n), what)
}

type fieldInfo struct {
	name     string
	index    int
	required bool
}

func structFields(t reflect.Type) (fields []fieldInfo, posIndex int) {
	posIndex = -1
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		seam := sf.Tag.Get("seam")
		if seam == "pos" && sf.Type == posType {
			posIndex = i
			continue
		}
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name := strings.Split(tag, ",")[0]
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fields = append(fields, fieldInfo{name: name, index: i, required: seam == "required"})
	}
	return fields, posIndex
}

// KnownKeys lists the YAML keys a struct type accepts, for "did you mean".
func KnownKeys(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fs, _ := structFields(t)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

func (d *Decoder) structure(n *yaml.Node, v reflect.Value, what string) {
	fields, posIndex := structFields(v.Type())
	if posIndex >= 0 {
		v.Field(posIndex).Set(reflect.ValueOf(d.Pos(n)))
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "%s: want a mapping, got %s", what, KindName(n))
		return
	}
	byName := map[string]fieldInfo{}
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		byName[f.name] = f
		known = append(known, f.name)
	}
	set := map[string]bool{}
	for _, f := range d.Fields(n, what) {
		fi, ok := byName[f.Key]
		if !ok {
			d.UnknownKey(f.KeyN, what, known)
			continue
		}
		set[f.Key] = true
		d.value(f.Value, v.Field(fi.index), what+"."+f.Key)
	}
	for _, f := range fields {
		if f.required && !set[f.name] {
			d.Errorf(n, "%s: missing required key %q", what, f.name)
		}
	}
}
