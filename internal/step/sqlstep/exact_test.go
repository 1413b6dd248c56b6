package sqlstep

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/seamtest/seam/internal/expr"
)

func TestExactNumber(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234", 10)
	for s, want := range map[string]any{
		"0":                                    0,
		"0.00":                                 0,
		"-12.00":                               -12,
		"10.50":                                10.5,
		"9.99":                                 9.99,
		"-0.05":                                -0.05,
		"123456789012345678901234":             huge,
		"12345678901234567.89":                 expr.Decimal("12345678901234567.89"),
		"-12345678901234567.89":                expr.Decimal("-12345678901234567.89"),
		"0.1000000000000000055511151231257827": expr.Decimal("0.1000000000000000055511151231257827"),
		".5":                                   0.5,
		"0.0000000000000000000000000000010000000000000000000000001": expr.Decimal("0.0000000000000000000000000000010000000000000000000000001"),
		// Found by FuzzExactNumber: a denominator of 2^16·5^19 wants 19
		// digits after the point.
		"0000000000000.00190000000000000080000000": expr.Decimal("0.0019000000000000008"),
		"-.1000000000000000000000001":              expr.Decimal("-0.1000000000000000000000001"),
	} {
		got, ok := exactNumber(s)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("exactNumber(%s) = %#v, %v; want %#v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "abc", "1/3", "0x10", "0b1", "1_000", "1e5", "1e999999999"} {
		if got, ok := exactNumber(s); ok {
			t.Errorf("exactNumber(%q) = %#v; want not a number", s, got)
		}
	}
}

func TestPGNumeric(t *testing.T) {
	for _, tc := range []struct {
		int  int64
		exp  int32
		want any
	}{
		{1234567890123456789, -2, expr.Decimal("12345678901234567.89")},
		{-5, -2, -0.05},
		{5, -25, 5e-25},
		{1000000000000000001, -24, expr.Decimal("0.000001000000000000000001")},
		{15, 3, 15000},
		{999, -2, 9.99},
		{-1050, -2, -10.5},
	} {
		n := pgtype.Numeric{Int: big.NewInt(tc.int), Exp: tc.exp, Valid: true}
		if got := pgNumeric(n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pgNumeric(%d e%d) = %#v; want %#v", tc.int, tc.exp, got, tc.want)
		}
	}
	if got, ok := pgNumeric(pgtype.Numeric{NaN: true, Valid: true}).(float64); !ok || !math.IsNaN(got) {
		t.Errorf("pgNumeric(NaN) = %#v; want NaN", got)
	}
	if got := pgNumeric(pgtype.Numeric{}); got != nil {
		t.Errorf("pgNumeric(NULL) = %#v; want nil", got)
	}
}

// FuzzExactNumber: a number exactNumber accepts keeps its value, exactly
// (an int, *big.Int or Decimal) or as the float64 whose shortest digits
// are that value.
func FuzzExactNumber(f *testing.F) {
	for _, s := range []string{"0", "-0.00", "10.50", "12345678901234567.89", "1e-30", "123456789012345678901234", "0.1", "abc", "1/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		v, ok := exactNumber(s)
		if !ok {
			return
		}
		want, _ := new(big.Rat).SetString(s)
		var got *big.Rat
		switch x := v.(type) {
		case int:
			got = new(big.Rat).SetInt64(int64(x))
		case *big.Int:
			got = new(big.Rat).SetInt(x)
		case float64:
			got, _ = new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
		case expr.Decimal:
			if !json.Valid([]byte(x)) {
				t.Fatalf("exactNumber(%q) = Decimal %q, not a JSON number", s, x)
			}
			got, _ = new(big.Rat).SetString(string(x))
		default:
			t.Fatalf("exactNumber(%q) = %#v", s, v)
		}
		if got == nil || got.Cmp(want) != 0 {
			t.Fatalf("exactNumber(%q) = %#v, another value", s, v)
		}
	})
}
