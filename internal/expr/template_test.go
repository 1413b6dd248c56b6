package expr_test

import (
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

// decodeStr decodes the value of key v in doc as a Str, checking names
// against defined (nil: no check), and fails on any decode problem.
func decodeStr(t *testing.T, doc string, defined ...string) expr.Str {
	t.Helper()
	d := newDecoder(defined...)
	var s expr.Str
	s.DecodeYAML(d, valueNode(t, doc))
	noErrors(t, d)
	return s
}

func TestStrValueAndString(t *testing.T) {
	vars := expr.Vars{
		"n":     1167860,
		"f":     1167860.0,
		"half":  2.5,
		"tiny":  1e-9,
		"name":  "ada",
		"items": []any{"a", "b", "c"},
		"obj":   map[string]any{"b": 2, "a": "x<y"},
		"big":   new(big.Int).Lsh(big.NewInt(1), 70),
		"yes":   true,
		"none":  nil,
	}
	tests := []struct {
		name     string
		doc      string
		value    any    // what Value returns
		text     string // what String returns
		template bool   // IsTemplate
	}{
		{"plain text", `v: hello world`, "hello world", "hello world", false},
		{"parentheses are not templates", `v: f(x) and (y)`, "f(x) and (y)", "f(x) and (y)", false},
		{"one template keeps an int", `v: ((n))`, 1167860, "1167860", true},
		{"spaces inside the template", `v: ((  n  ))`, 1167860, "1167860", true},
		{"whole float keeps its type, formatted without exponent", `v: ((f))`, 1167860.0, "1167860", true},
		{"float arithmetic", `v: ((n * 1.0))`, 1167860.0, "1167860", true},
		{"fraction", `v: ((half))`, 2.5, "2.5", true},
		{"very small float uses an exponent", `v: ((tiny))`, 1e-9, "1e-09", true},
		{"big int", `v: ((big))`, new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424", true},
		{"bool", `v: ((yes))`, true, "true", true},
		{"one string template", `v: ((name))`, "ada", "ada", true},
		{"list keeps its type", `v: ((items))`, []any{"a", "b", "c"}, `["a","b","c"]`, true},
		{"object as compact JSON, sorted, no HTML escaping", `v: ((obj))`, map[string]any{"a": "x<y", "b": 2}, `{"a":"x<y","b":2}`, true},
		{"mixed text is a string", `v: id-((n))`, "id-1167860", "id-1167860", true},
		{"mixed text with a float", `v: ((f)) units`, "1167860 units", "1167860 units", true},
		{"two templates", `v: ((name))/((n))`, "ada/1167860", "ada/1167860", true},
		{"two adjacent templates", `v: ((name))((name))`, "adaada", "adaada", true},
		{"nested parentheses", `v: ((len(items)))`, 3, "3", true},
		{"nested parentheses in text", `v: count=((len(items))) ok`, "count=3 ok", "count=3 ok", true},
		{"a paren after the template is text", `v: ((len(items))))`, "3)", "3)", true},
		{"double-quoted string holding ))", `v: '((name + "))"))'`, "ada))", "ada))", true},
		{"single-quoted string holding ))", `v: "((name + '))'))"`, "ada))", "ada))", true},
		{"backquoted string holding ))", "v: ((name + `))`))", "ada))", "ada))", true},
		{"escaped quote inside a string", `v: '((name + "\"))"))'`, `ada"))`, `ada"))`, true},
		{"shell arithmetic is left alone", `v: echo $((1+2))`, "echo $((1+2))", "echo $((1+2))", false},
		{"shell arithmetic next to a template", `v: echo $((1+2)) ((name))`, "echo $((1+2)) ada", "echo $((1+2)) ada", true},
		{"null-coalescing default", `v: x-((none ?? "d"))`, "x-d", "x-d", true},
		{"let-bound name", `v: ((let k = n + 1; k))`, 1167861, "1167861", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := decodeStr(t, tt.doc, "n", "f", "half", "tiny", "name", "items", "obj", "big", "yes", "none")
			if s.IsTemplate() != tt.template {
				t.Errorf("IsTemplate() = %v, want %v", s.IsTemplate(), tt.template)
			}
			got, err := s.Value(vars)
			if err != nil {
				t.Fatalf("Value: %v", err)
			}
			if !reflect.DeepEqual(got, tt.value) {
				t.Errorf("Value = %#v (%T), want %#v (%T)", got, got, tt.value, tt.value)
			}
			text, err := s.String(vars)
			if err != nil {
				t.Fatalf("String: %v", err)
			}
			if text != tt.text {
				t.Errorf("String = %q, want %q", text, tt.text)
			}
		})
	}
}

func TestStrRaw(t *testing.T) {
	s := decodeStr(t, `v: a ((n)) b`, "n")
	if s.Raw != "a ((n)) b" {
		t.Errorf("Raw = %q", s.Raw)
	}
	if s.Pos.String() != "t.yaml:1:4" {
		t.Errorf("Pos = %s, want t.yaml:1:4", s.Pos)
	}
	if s.IsZero() {
		t.Error("a decoded Str reports IsZero")
	}
	var zero expr.Str
	if !zero.IsZero() {
		t.Error("the zero Str is not IsZero")
	}
	if text, err := zero.String(nil); err != nil || text != "" {
		t.Errorf("zero String = %q, %v", text, err)
	}
}

func TestLit(t *testing.T) {
	s := expr.Lit("((not a template))")
	if s.IsTemplate() {
		t.Error("Lit is a template")
	}
	if got, err := s.Value(nil); err != nil || got != "((not a template))" {
		t.Errorf("Value = %#v, %v", got, err)
	}
	if expr.Lit("").IsZero() {
		t.Error(`Lit("") is IsZero, but it was given`)
	}
}

func TestStrNullInText(t *testing.T) {
	s := decodeStr(t, `v: id=((missing))`, "missing")
	_, err := s.String(expr.Vars{"missing": nil})
	if err == nil {
		t.Fatal("a null inside text gave no error")
	}
	for _, want := range []string{"(( missing ))", "null", "??"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := s.Value(expr.Vars{"missing": nil}); err == nil {
		t.Error("Value of text with a null template gave no error")
	}
	// A template that is the whole value keeps its null: no text is made.
	whole := decodeStr(t, `v: ((missing))`, "missing")
	if v, err := whole.Value(expr.Vars{"missing": nil}); err != nil || v != nil {
		t.Errorf("Value = %#v, %v; want nil, nil", v, err)
	}
	if _, err := whole.String(expr.Vars{"missing": nil}); err == nil || !strings.Contains(err.Error(), "??") {
		t.Errorf("String of a null template: err = %v, want one mentioning ??", err)
	}
}

func TestStrRuntimeError(t *testing.T) {
	s := decodeStr(t, `v: a ((randInt(5, 1))) b`, "randInt")
	_, err := s.String(expr.Builtins(1))
	if err == nil {
		t.Fatal("no error from a failing function")
	}
	if !strings.Contains(err.Error(), "(( randInt(5, 1) ))") || !strings.Contains(err.Error(), "upper bound is below the lower") {
		t.Errorf("error = %q, want the template source and the cause", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{"abc ((x", 4, "not closed with ))"},
		{"((x", 0, "not closed with ))"},
		{"ab ((f(x))", 3, "closed by a single )"},
		{"ab ((f(x)", 3, "not closed with ))"},
		{`((x + "))`, 0, "not closed with ))"},
		{"ab ((x) y", 3, "closed by a single )"},
		{"a (( )) b", 2, "empty template"},
		{"a (())", 2, "empty template"},
		{"ok ((x)) then ((  ))", 14, "empty template"},
		{"x = ((1 +))", 6, "bad expression"},
		{"x = ((  1 + ))", 8, "bad expression"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := expr.ParseTemplate(tt.src, nil)
			var te *expr.TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T), want a *TemplateError", err, err)
			}
			if te.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d", te.Offset, tt.offset)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if te.Unwrap() == nil {
				t.Error("TemplateError does not unwrap to its cause")
			}
		})
	}
}

func TestParseTemplateUndefined(t *testing.T) {
	defined := map[string]bool{"user": true, "base": true}
	tests := []struct {
		src     string
		name    string // undefined name; "" means no error
		offset  int
		hint    string
		defined []string
	}{
		{src: "((user))"},
		{src: "((base + '/x'))"},
		{src: "((let u = user; u.name))"},
		{src: "((let a = 1; let b = a + 1; b))"},
		{src: "((user.name))"},
		{src: "(({name: user}))"},
		{src: "((len(user)))"},
		{src: "((filter([1,2], # > 1)))"},
		{src: "a ((usr))", name: "usr", offset: 4, hint: `did you mean "user"?`, defined: []string{"base", "user"}},
		{src: "((base + path))", name: "path", offset: 2, hint: "defined here: base, user", defined: []string{"base", "user"}},
		{src: "((let k = 1; k + zz))", name: "zz", offset: 2, hint: "defined here:"},
		{src: "$((a)) ((bse))", name: "bse", offset: 9, hint: `did you mean "base"?`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := expr.ParseTemplate(tt.src, defined)
			if tt.name == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ue *expr.UndefinedError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want an *UndefinedError inside", err, err)
			}
			if ue.Name != tt.name {
				t.Errorf("Name = %q, want %q", ue.Name, tt.name)
			}
			if want := `undefined variable "` + tt.name + `"`; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			if !strings.Contains(ue.Hint(), tt.hint) {
				t.Errorf("Hint() = %q, want it to contain %q", ue.Hint(), tt.hint)
			}
			if tt.defined != nil && !reflect.DeepEqual(ue.Defined, tt.defined) {
				t.Errorf("Defined = %q, want %q", ue.Defined, tt.defined)
			}
			var te *expr.TemplateError
			if errors.As(err, &te) && te.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d", te.Offset, tt.offset)
			}
		})
	}
}

func TestUndefinedHintWithNothingDefined(t *testing.T) {
	_, err := expr.ParseTemplate("((token))", map[string]bool{})
	var ue *expr.UndefinedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want an *UndefinedError", err)
	}
	for _, want := range []string{"vars:", "--var token=VALUE", "capture"} {
		if !strings.Contains(ue.Hint(), want) {
			t.Errorf("Hint() = %q, want it to mention %q", ue.Hint(), want)
		}
	}
}

func TestParseTemplateNoCheck(t *testing.T) {
	if _, err := expr.ParseTemplate("((anything + other))", nil); err != nil {
		t.Errorf("with nil defined names are not checked, got %v", err)
	}
}

func TestCompileExtraNames(t *testing.T) {
	if _, err := expr.Compile("value > limit", map[string]bool{"limit": true}, "value"); err != nil {
		t.Errorf("extra name rejected: %v", err)
	}
	_, err := expr.Compile("value > limit", map[string]bool{"limit": true})
	var ue *expr.UndefinedError
	if !errors.As(err, &ue) || ue.Name != "value" {
		t.Errorf("err = %v, want value undefined", err)
	}
	p, err := expr.Compile("value * 2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != "value * 2" {
		t.Errorf("String() = %q", p.String())
	}
	got, err := p.Eval(expr.Vars{"value": 21})
	if err != nil || got != 42 {
		t.Errorf("Eval = %#v, %v; want 42", got, err)
	}
}

func TestCompileSyntaxError(t *testing.T) {
	_, err := expr.Compile("1 +", nil)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), `bad expression "1 +": `) {
		t.Errorf("error = %q", err)
	}
	if strings.Contains(err.Error(), "\n") || strings.HasSuffix(err.Error(), ")") {
		t.Errorf("error keeps expr-lang's location or excerpt: %q", err)
	}
}

// TestDecodeTemplateErrorPositions checks that a problem inside a template
// is reported at the column of the template in the suite file, in each
// YAML scalar style.
func TestDecodeTemplateErrorPositions(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		pos  string
		msg  string
		hint string
	}{
		{"plain", "v: http://x/((usr))/a", "t.yaml:1:15", `undefined variable "usr"`, `did you mean "user"?`},
		{"double quoted", `v: "http://x/((usr))/a"`, "t.yaml:1:16", `undefined variable "usr"`, `did you mean "user"?`},
		{"single quoted", `v: 'http://x/((usr))/a'`, "t.yaml:1:16", `undefined variable "usr"`, `did you mean "user"?`},
		{"unclosed", "v: ab ((user", "t.yaml:1:7", "not closed", ""},
		{"empty", "v: ab (( )) cd", "t.yaml:1:7", "empty template", ""},
		{"second line", "\nv:  ((user)) ((nope))", "t.yaml:2:16", `undefined variable "nope"`, "defined here: user"},
		// Columns count characters, as YAML's do, not bytes.
		{"non-ASCII before, plain", "v: Größe ((usr))", "t.yaml:1:12", `undefined variable "usr"`, ""},
		{"wide characters before, double quoted", `v: "注文: ((usr))"`, "t.yaml:1:11", `undefined variable "usr"`, ""},
		{"after a byte order mark", "\uFEFFv: \"é ((usr))\"", "t.yaml:1:9", `undefined variable "usr"`, ""},
		{"a tab before", "v: a\t((usr))", "t.yaml:1:8", `undefined variable "usr"`, ""},
		// Escapes and doubled quotes are longer in the file than in the value.
		{"after '' in single quotes", `v: 'it''s ((usr))'`, "t.yaml:1:13", `undefined variable "usr"`, ""},
		{"after an escape", `v: "\u00e9\t((usr))"`, "t.yaml:1:15", `undefined variable "usr"`, ""},
		{"after an anchor and a tag", `v: &a !!str "x ((usr))"`, "t.yaml:1:18", `undefined variable "usr"`, ""},
		// Strings over several lines: on the line that holds the template.
		{"double quoted over two lines", "v: \"echo a\n  ((usr)) b\"", "t.yaml:2:5", `undefined variable "usr"`, ""},
		{"double quoted after an empty line", "v: \"a\n\n   x ((usr))\"", "t.yaml:3:8", `undefined variable "usr"`, ""},
		{"double quoted after an escaped line break", "v: \"a\\\n    ((usr))\"", "t.yaml:2:7", `undefined variable "usr"`, ""},
		{"single quoted over two lines", "v: 'a  \n ((usr))'", "t.yaml:2:4", `undefined variable "usr"`, ""},
		{"plain over two lines", "v: a\n  b ((usr))", "t.yaml:2:7", `undefined variable "usr"`, ""},
		{"literal block", "v: |\n  line\n  ((usr))\n", "t.yaml:3:5", `undefined variable "usr"`, `did you mean "user"?`},
		{"literal block, more indented", "v: |\n  line\n      x ((usr))\n", "t.yaml:3:11", `undefined variable "usr"`, ""},
		{"literal block with CRLF", "v: |\r\n  a\r\n  ((usr))\r\n", "t.yaml:3:5", `undefined variable "usr"`, ""},
		{"literal block after empty lines", "v: |-\n  a\n\n\n  b ((usr))", "t.yaml:5:7", `undefined variable "usr"`, ""},
		{"literal block with an indentation indicator", "v: |2\n    a\n   ((usr))\n", "t.yaml:3:6", `undefined variable "usr"`, ""},
		{"folded block", "v: >\n  a\n  b ((usr))\n", "t.yaml:3:7", `undefined variable "usr"`, ""},
		{"folded block, more indented", "v: >-\n  a\n   b ((usr))\n\n  c", "t.yaml:3:8", `undefined variable "usr"`, ""},
		{"anchored block", "v: &b |\n  a\n  ((usr))\n", "t.yaml:3:5", `undefined variable "usr"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder("user")
			d.Src = []byte(tt.doc)
			var s expr.Str
			s.DecodeYAML(d, valueNode(t, tt.doc))
			e := oneError(t, d)
			if e.Pos.String() != tt.pos {
				t.Errorf("Pos = %s, want %s", e.Pos, tt.pos)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Msg = %q, want %q in it", e.Msg, tt.msg)
			}
			if tt.hint != "" && !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("Hint = %q, want %q in it", e.Hint, tt.hint)
			}
		})
	}
}

// Every problem in a string is told, each at its own place: two
// undefined names on two lines of a block, and a bad template between
// good ones.
func TestDecodeTemplateTellsEveryProblem(t *testing.T) {
	d := newDecoder("user")
	d.Src = []byte("v: |\n  x: ((undefined_c))\n  y: ((undefined_d))\n  z: (( )) ((user)) ((user +))\n")
	var s expr.Str
	s.DecodeYAML(d, valueNode(t, string(d.Src)))
	var got []string
	for _, e := range d.Errs.Errors() {
		got = append(got, e.Pos.String()+" "+e.Msg)
	}
	want := []string{
		`t.yaml:2:8 undefined variable "undefined_c"`,
		`t.yaml:3:8 undefined variable "undefined_d"`,
		`t.yaml:4:6 empty template (( ))`,
		`t.yaml:4:23 bad expression "user +": unexpected token EOF`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Without the file's text (or when the text there is not the node's), a
// template is placed by the value and its style alone: exactly on one
// line, on its line without a column in a literal block, and never past
// the end of a line.
func TestDecodeTemplateErrorPositionsWithoutSource(t *testing.T) {
	for _, tc := range []struct{ doc, src, pos string }{
		{"v: Größe ((usr))", "", "t.yaml:1:12"},
		{`v: 'it''s ((usr))'`, "", "t.yaml:1:13"},
		{`v: "x ((usr))"`, "", "t.yaml:1:9"},
		{"v: |\n  line\n  ((usr))\n", "", "t.yaml:3"},
		{"v: >\n  a\n  b ((usr))\n", "", "t.yaml:1:4"},
		// The file changed since it was parsed.
		{"v: |\n  line\n  ((usr))\n", "v: 'something else'\n", "t.yaml:1:4"},
		{"v: http://x/((usr))", "v: http://y/((usr))\n", "t.yaml:1:15"},
		{"v: \"a\n  ((usr))\"", "v: \"a\n", "t.yaml:1:4"}, // not past the line's end
	} {
		d := newDecoder("user")
		if tc.src != "" {
			d.Src = []byte(tc.src)
		}
		var s expr.Str
		s.DecodeYAML(d, valueNode(t, tc.doc))
		if e := oneError(t, d); e.Pos.String() != tc.pos {
			t.Errorf("%q: Pos = %s, want %s", tc.doc, e.Pos, tc.pos)
		}
	}
}

func TestDecodeStrNotAScalar(t *testing.T) {
	tests := []struct {
		doc  string
		hint bool
	}{
		{"v: [a, b]", false},
		{"v: {a: b}", true},
		{"v:\n  key: value", true},
	}
	for _, tt := range tests {
		d := newDecoder()
		var s expr.Str
		s.DecodeYAML(d, valueNode(t, tt.doc))
		e := oneError(t, d)
		if !strings.Contains(e.Msg, "want a string") {
			t.Errorf("%q: Msg = %q", tt.doc, e.Msg)
		}
		if got := strings.Contains(e.Hint, "quote it"); got != tt.hint {
			t.Errorf("%q: Hint = %q, want quoting hint: %v", tt.doc, e.Hint, tt.hint)
		}
	}
}

// Quoted gives String's text, and the text with each template's value
// quoted: the literal runs stay as written.
func TestQuoted(t *testing.T) {
	s := decodeStr(t, `v: "/x/*/((id))/((n))"`, "id", "n")
	text, quoted, err := s.Quoted(expr.Vars{"id": "a*b", "n": 2}, func(v string) string { return "<" + v + ">" })
	if err != nil || text != "/x/*/a*b/2" || quoted != "/x/*/<a*b>/<2>" {
		t.Errorf("%q %q %v", text, quoted, err)
	}
	if _, _, err := s.Quoted(expr.Vars{"id": nil, "n": 1}, strings.ToUpper); err == nil || !strings.Contains(err.Error(), "is null") {
		t.Errorf("a null value: %v", err)
	}
}

// A variable named like one of expr-lang's builtins (max, first, type,
// count) reads as the variable where an expression names it bare; a call
// of the name stays the builtin.
func TestVariablesNamedLikeBuiltins(t *testing.T) {
	vars := expr.Vars{"max": 10, "first": 5, "type": "order", "count": 2, "len": 3}
	for _, tc := range []struct {
		src  string
		want any
	}{
		{"max + 1", 11},
		{"first * 2", 10},
		{"type", "order"},
		{"count - len", -1},
		{"max(1, 4)", 4},
		{"first([7, 8])", 7},
		{"let m = max; m * 2", 20},
	} {
		p, err := expr.Compile(tc.src, map[string]bool{"max": true, "first": true, "type": true, "count": true, "len": true})
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		got, err := p.Eval(vars)
		if err != nil || got != tc.want {
			t.Errorf("%s = %#v, %v; want %#v", tc.src, got, err, tc.want)
		}
	}
	// Not defined, a bare builtin name is still an undefined variable.
	if _, err := expr.Compile("max + 1", map[string]bool{"x": true}); err == nil || !strings.Contains(err.Error(), `undefined variable "max"`) {
		t.Errorf("max undefined: %v", err)
	}
}

// A template that reads a field a service does not have says so when it
// is null, naming the fields there are, rather than suggesting a default.
func TestNullFromAServiceField(t *testing.T) {
	service := func(name string) (map[string]any, error) {
		return map[string]any{"url": "http://x", "ports": map[string]any{"http": 1}}, nil
	}
	for _, tc := range []struct{ doc, want string }{
		{`v: "((service('web').uri))/x"`, `service("web") has no field "uri" (its fields: ports, url)`},
		{`v: "((service('web').ports.admin))/x"`, `service("web") has no port "admin" (its ports: http)`},
		{`v: "((nothing))/x"`, `is null; give a default`},
	} {
		s := decodeStr(t, tc.doc)
		_, err := s.String(expr.Vars{"service": service, "nothing": nil})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q in it", tc.doc, err, tc.want)
		}
	}
}
