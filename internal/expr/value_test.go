package expr_test

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

func TestValueEval(t *testing.T) {
	doc := `v:
  id: ((n))
  quoted: "200"
  plain: 200
  ratio: 1.5
  none: null
  flag: true
  label: order-((n))
  tags: [a, ((name)), "((n))", [1, ((n))]]
  nested:
    deeper: {who: ((name)), list: ((items))}
`
	d := newDecoder("n", "name", "items")
	var v expr.Value
	v.DecodeYAML(d, valueNode(t, doc))
	noErrors(t, d)
	if !v.IsSet() {
		t.Error("IsSet() = false for a decoded value")
	}
	if v.IsTemplateOnly() {
		t.Error("a mapping reports IsTemplateOnly")
	}
	if v.Pos.String() != "t.yaml:2:3" {
		t.Errorf("Pos = %s, want t.yaml:2:3", v.Pos)
	}
	got, err := v.Eval(expr.Vars{"n": 1167860, "name": "ada", "items": []any{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":     1167860,
		"quoted": "200",
		"plain":  200,
		"ratio":  1.5,
		"none":   nil,
		"flag":   true,
		"label":  "order-1167860",
		"tags":   []any{"a", "ada", 1167860, []any{1, 1167860}},
		"nested": map[string]any{"deeper": map[string]any{"who": "ada", "list": []any{1, 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Eval =\n%#v\nwant\n%#v", got, want)
	}
}

func TestValueEvalError(t *testing.T) {
	d := newDecoder("x")
	var v expr.Value
	v.DecodeYAML(d, valueNode(t, "v: {a: [1, text ((x))]}"))
	noErrors(t, d)
	if _, err := v.Eval(expr.Vars{"x": nil}); err == nil || !strings.Contains(err.Error(), "??") {
		t.Errorf("err = %v, want the null error from inside the list", err)
	}
}

func TestValueDecodeProblems(t *testing.T) {
	d := newDecoder("x")
	var v expr.Value
	v.DecodeYAML(d, valueNode(t, "v:\n  a: ((y))\n  b: [((z))]\n"))
	errs := d.Errs.Errors()
	if len(errs) != 2 {
		t.Fatalf("got %d problems, want 2 (one per bad template):\n%v", len(errs), d.Errs)
	}
	if errs[0].Pos.String() != "t.yaml:2:8" || !strings.Contains(errs[0].Msg, `"y"`) {
		t.Errorf("first problem = %v", errs[0])
	}
	if errs[1].Pos.String() != "t.yaml:3:9" || !strings.Contains(errs[1].Msg, `"z"`) {
		t.Errorf("second problem = %v", errs[1])
	}
}

func TestValueIsTemplateOnly(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{"v: ((x))", true},
		{"v: a((x))", false},
		{"v: plain", false},
		{"v: 3", false},
		{"v: [((x))]", false},
	}
	for _, tt := range tests {
		d := newDecoder("x")
		var v expr.Value
		v.DecodeYAML(d, valueNode(t, tt.doc))
		noErrors(t, d)
		if v.IsTemplateOnly() != tt.want {
			t.Errorf("%q: IsTemplateOnly() = %v, want %v", tt.doc, !tt.want, tt.want)
		}
	}
}

func TestConstValue(t *testing.T) {
	v := expr.ConstValue(map[string]any{"n": int64(3), "l": []string{"a"}})
	if !v.IsSet() {
		t.Error("ConstValue is not set")
	}
	got, err := v.Eval(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": 3, "l": []any{"a"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Eval = %#v, want %#v", got, want)
	}
	var zero expr.Value
	if zero.IsSet() {
		t.Error("the zero Value is set")
	}
}

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

func TestNormalize(t *testing.T) {
	type point struct {
		X int     `json:"x"`
		Y float64 `json:"y"`
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"json int", json.Number("1167860"), 1167860},
		{"json negative", json.Number("-42"), -42},
		{"json max int64", json.Number("9223372036854775807"), math.MaxInt64},
		{"json big int", json.Number("12345678901234567890123"), bigInt("12345678901234567890123")},
		{"json big negative", json.Number("-9223372036854775809"), bigInt("-9223372036854775809")},
		{"json float", json.Number("1.5"), 1.5},
		{"json exponent", json.Number("1e3"), 1000.0},
		{"int8", int8(-8), -8},
		{"int32", int32(32), 32},
		{"int64", int64(64), 64},
		{"uint8", uint8(8), 8},
		{"uint64 small", uint64(7), 7},
		{"uint64 huge", uint64(math.MaxUint64), bigInt("18446744073709551615")},
		{"float32", float32(0.5), 0.5},
		{"bytes", []byte("hi"), "hi"},
		{"strings", []string{"a", "b"}, []any{"a", "b"}},
		{"string map", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"any map", map[any]any{1: int64(2), "k": []any{uint16(3)}}, map[string]any{"1": 2, "k": []any{3}}},
		{"nested", map[string]any{"a": []any{json.Number("1"), map[string]any{"b": int64(2)}}}, map[string]any{"a": []any{1, map[string]any{"b": 2}}}},
		{"struct via JSON", point{X: 1167860, Y: 0.5}, map[string]any{"x": 1167860, "y": 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expr.Normalize(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Normalize(%#v) = %#v (%T), want %#v (%T)", tt.in, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	got, err := expr.DecodeJSON([]byte(`{"id": 1167860, "big": 123456789012345678901, "f": 2.5, "l": [true, null, "s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": 1167860, "big": bigInt("123456789012345678901"), "f": 2.5, "l": []any{true, nil, "s"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeJSON = %#v, want %#v", got, want)
	}
	if expr.Format(got.(map[string]any)["id"]) != "1167860" {
		t.Errorf("id formats as %q", expr.Format(got.(map[string]any)["id"]))
	}
	if _, err := expr.DecodeJSON([]byte(`{"a": 1} {"b": 2}`)); err == nil || !strings.Contains(err.Error(), "after the JSON value") {
		t.Errorf("trailing data: err = %v", err)
	}
	if _, err := expr.DecodeJSON([]byte(`{"a": `)); err == nil {
		t.Error("truncated JSON: no error")
	}
}

func TestFormatAndShow(t *testing.T) {
	tests := []struct {
		in     any
		format string
		show   string
	}{
		{nil, "null", "null"},
		{"text", "text", `"text"`},
		{"1", "1", `"1"`},
		{`say "hi"`, `say "hi"`, `"say \"hi\""`},
		{true, "true", "true"},
		{1167860, "1167860", "1167860"},
		{-3, "-3", "-3"},
		{1167860.0, "1167860", "1167860"},
		{2.5, "2.5", "2.5"},
		{0.1, "0.1", "0.1"},
		{-0.25, "-0.25", "-0.25"},
		{1e20, "100000000000000000000", "100000000000000000000"},
		{1e21, "1e+21", "1e+21"},
		{1.5e-7, "1.5e-07", "1.5e-07"},
		{0.0, "0", "0"},
		{bigInt("123456789012345678901"), "123456789012345678901", "123456789012345678901"},
		{[]any{1, "a", nil}, `[1,"a",null]`, `[1,"a",null]`},
		{map[string]any{"b": 1, "a": "<&>"}, `{"a":"<&>","b":1}`, `{"a":"<&>","b":1}`},
	}
	for _, tt := range tests {
		if got := expr.Format(tt.in); got != tt.format {
			t.Errorf("Format(%#v) = %q, want %q", tt.in, got, tt.format)
		}
		if got := expr.Show(tt.in); got != tt.show {
			t.Errorf("Show(%#v) = %q, want %q", tt.in, got, tt.show)
		}
	}
}

func TestTypeName(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "null"},
		{false, "boolean"},
		{1, "number"},
		{1.5, "number"},
		{bigInt("123456789012345678901"), "number"},
		{"s", "string"},
		{[]any{}, "list"},
		{map[string]any{}, "object"},
	}
	for _, tt := range tests {
		if got := expr.TypeName(tt.in); got != tt.want {
			t.Errorf("TypeName(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSortedKeys(t *testing.T) {
	got := expr.SortedKeys(map[string]int{"b": 1, "c": 2, "a": 3})
	if !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("SortedKeys = %q", got)
	}
}

// TestValueBigInt checks that an integer too large for 64 bits, which the
// YAML decoder reads as a float, keeps every digit.
func TestValueBigInt(t *testing.T) {
	tests := []struct {
		doc  string
		want any
	}{
		{"v: 123456789012345678901", bigInt("123456789012345678901")},
		{"v: -123456789012345678901", bigInt("-123456789012345678901")},
		{"v: 18446744073709551615", bigInt("18446744073709551615")},
		{"v: 1167860", 1167860},
		{"v: 1.5e30", 1.5e30},
		{"v: !!float 123456789012345678901", 123456789012345678901.0},
	}
	for _, tt := range tests {
		d := newDecoder()
		var v expr.Value
		v.DecodeYAML(d, valueNode(t, tt.doc))
		noErrors(t, d)
		got, err := v.Eval(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: Eval = %#v (%T), want %#v (%T)", tt.doc, got, got, tt.want, tt.want)
		}
	}
}
