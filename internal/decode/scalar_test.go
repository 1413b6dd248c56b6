package decode_test

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
)

func TestCoreScalars(t *testing.T) {
	big24, _ := new(big.Int).SetString("123456789012345678901234", 10)
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"01234", 1234}, // never octal
		{"0777", 777},
		{"08", 8},
		{"-01", -1},
		{"+12", 12},
		{"-0", 0},
		{"00", 0},
		{"0o17", 15},
		{"0x1F", 31},
		{"0xff", 255},
		{"123456789012345678901234", big24},
		{"1.0", 1.0},
		{"1.", 1.0},
		{".5", 0.5},
		{"-2.5e3", -2500.0},
		{"1E3", 1000.0},
		{"+.inf", math.Inf(1)},
		{"-.Inf", math.Inf(-1)},
		{"true", true},
		{"False", false},
		{"TRUE", true},
		{"null", nil},
		{"~", nil},
		{"", nil},
		// Strings in the core schema, numbers or booleans in YAML 1.1.
		{"yes", "yes"},
		{"on", "on"},
		{"0b101", "0b101"},
		{"1_000", "1_000"},
		{"-0x1F", "-0x1F"},
		{"0o8", "0o8"},
		{"0x", "0x"},
		{"2001-12-14", "2001-12-14"},
		{"1.2.3", "1.2.3"},
		{"e3", "e3"},
		{".", "."},
		{"+", "+"},
		{"1e", "1e"},
		{"tRUE", "tRUE"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, err := decode.Parse([]byte("v: " + tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode.Any(n)
			if err != nil {
				t.Fatal(err)
			}
			v := got.(map[string]any)["v"]
			if b, ok := tc.want.(*big.Int); ok {
				if gb, ok := v.(*big.Int); !ok || gb.Cmp(b) != 0 {
					t.Fatalf("got %T %v; want %v", v, v, b)
				}
				return
			}
			if !reflect.DeepEqual(v, tc.want) {
				t.Fatalf("got %T %v; want %T %v", v, v, tc.want, tc.want)
			}
		})
	}
}

// Quoted and explicitly tagged scalars keep their tag.
func TestQuotedStaysString(t *testing.T) {
	n, err := decode.Parse([]byte("a: \"01234\"\nb: '5'\nc: !!str 7\nd: |\n  8\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode.Any(n)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "01234", "b": "5", "c": "7", "d": "8\n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v; want %#v", got, want)
	}
}

// Typed fields decode numbers by the core schema too.
func TestDecodeTypedFields(t *testing.T) {
	var v struct {
		N int     `yaml:"n"`
		F float64 `yaml:"f"`
		B bool    `yaml:"b"`
		X any     `yaml:"x"`
		S int32   `yaml:"s"`
	}
	n, err := decode.Parse([]byte("n: 010\nf: 0x10\nb: True\nx: [01, 0o10, 1.5]\ns: 99999999999\n"))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	decode.New("f.yaml", &errs).Decode(n, &v, "v")
	if v.N != 10 || v.F != 16 || !v.B || !reflect.DeepEqual(v.X, []any{1, 8, 1.5}) {
		t.Fatalf("got %+v", v)
	}
	if errs.Len() != 1 {
		t.Fatalf("want one problem (s overflows int32), got %v", errs.Err())
	}
}

// Aliases that double at each level, or contain themselves, end in an
// error, not a hang (found by FuzzScalar).
func TestAnyAliasBomb(t *testing.T) {
	for _, src := range []string{
		"&a [*a, *a]",
		"a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
	} {
		_, err := decode.Parse([]byte(src))
		var le *decode.LimitError
		if !errors.As(err, &le) || le.Line == 0 {
			t.Errorf("%q: Parse = %v, want a limit error with a position", src, err)
		}
	}
}

// FuzzScalar checks that resolution agrees with itself: the tag CoreTag
// gives always parses, and a value that resolves to a number formats back
// to a scalar of the same tag.
func FuzzScalar(f *testing.F) {
	for _, s := range []string{"01234", "0o17", "0x1F", "1.0", "-.inf", ".nan", "true", "~", "1e3", "+", "0x", "1_0", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag := decode.CoreTag(s)
		var err error
		switch tag {
		case "!!int":
			_, err = decode.ParseInt(s)
			if _, ferr := decode.ParseFloat(s); ferr != nil {
				t.Fatalf("int %q does not parse as a float: %v", s, ferr)
			}
		case "!!float":
			_, err = decode.ParseFloat(s)
		case "!!bool":
			_, err = decode.ParseBool(s)
		}
		if err != nil && !errors.Is(err, strconv.ErrRange) { // 1e1000 is a float, too large
			t.Fatalf("%q tagged %s does not parse: %v", s, tag, err)
		}
		n, perr := decode.Parse([]byte(s))
		if perr != nil {
			return
		}
		_, _ = decode.Any(n)
	})
}
