package expect

import (
	"math/big"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

// An exact Decimal equals an int or *big.Int only exactly, a float64 (the
// nearest to digits written in YAML) when it is that float64's nearest.
func TestDecimalEqual(t *testing.T) {
	d := expr.Decimal("12345678901234567.89")
	huge, _ := new(big.Int).SetString("12345678901234567", 10)
	for _, tc := range []struct {
		want any
		eq   bool
	}{
		{12345678901234568, false},
		{huge, false},
		{12345678901234567.89, true}, // float64 12345678901234568
		{expr.Decimal("12345678901234567.89"), true},
		{expr.Decimal("12345678901234567.890"), true},
		{expr.Decimal("12345678901234567.88"), false},
		{"12345678901234567.89", false},
		{nil, false},
	} {
		if got := Equal(d, tc.want); got != tc.eq {
			t.Errorf("Equal(%s, %#v) = %v; want %v", d, tc.want, got, tc.eq)
		}
		if got := Equal(tc.want, d); got != tc.eq {
			t.Errorf("Equal(%#v, %s) = %v; want %v", tc.want, d, got, tc.eq)
		}
	}
	if r, ok := compare(d, 12345678901234568); !ok || r != -1 {
		t.Errorf("compare(%s, 12345678901234568) = %d, %v; want -1", d, r, ok)
	}
	if r, ok := compare(d, 12345678901234567.89); !ok || r != 0 {
		t.Errorf("compare(%s, 12345678901234567.89 as float64) = %d, %v; want 0 (as Equal)", d, r, ok)
	}
	if got := expr.Format(d); got != "12345678901234567.89" {
		t.Errorf("Format = %s", got)
	}
	if got := expr.TypeName(d); got != "number" {
		t.Errorf("TypeName = %s", got)
	}
}
