package sqlstep

import (
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/seamtest/seam/internal/expr"
)

// exactNumber types the digits of a DECIMAL or NUMERIC ("-12.50") without
// losing any: a whole number is an int (or *big.Int beyond int64), a
// fraction that float64 gives back digit for digit (its shortest form has
// the same value: 10.5, 9.99) a float64, any other an expr.Decimal
// (12345678901234567.89), which expectations compare exactly. ok is false
// when s is not a decimal number.
func exactNumber(s string) (v any, ok bool) {
	// big.Rat reads fractions (1/3), exponents and Go's prefixes too; a
	// database writes a DECIMAL with none of them (and 1e999999999 would
	// take big.Rat a while).
	if strings.ContainsAny(s, "/eExXpPbBoO_") {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	if r.IsInt() {
		if r.Num().IsInt64() {
			return int(r.Num().Int64()), true
		}
		return new(big.Int).Set(r.Num()), true
	}
	f, exact := r.Float64()
	if !exact {
		// The float64 nearest; if its shortest digits are s's value, it
		// stands for s (as 0.1 does for 0.1).
		back, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
		if back == nil || back.Cmp(r) != 0 {
			return decimal(r, s), true
		}
	}
	return f, true
}

// decimal is r as a Decimal in JSON number syntax: s's digits when s is
// already (MariaDB's "-0.50"), r's exact decimal digits otherwise (".5").
func decimal(r *big.Rat, s string) expr.Decimal {
	if jsonNumber(s) {
		return expr.Decimal(s)
	}
	// r came from decimal digits, so its denominator is 2^a·5^b, and
	// max(a, b) digits after the point are exact.
	prec := 0
	for _, p := range []*big.Int{big.NewInt(2), big.NewInt(5)} {
		d, n := r.Denom(), 0
		for {
			q, rem := new(big.Int).QuoRem(d, p, new(big.Int))
			if rem.Sign() != 0 {
				break
			}
			d, n = q, n+1
		}
		prec = max(prec, n)
	}
	return expr.Decimal(r.FloatString(prec))
}

// jsonNumber reports whether s is a number in JSON's syntax.
func jsonNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || intPart[0] == '0' && len(intPart) > 1 || hasFrac && frac == "" {
		return false
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// pgNumeric types a PostgreSQL numeric as exactNumber does; NaN and the
// infinities are float64s, SQL NULL is nil.
func pgNumeric(n pgtype.Numeric) any {
	switch {
	case !n.Valid:
		return nil
	case n.NaN, n.InfinityModifier != pgtype.Finite:
		f, _ := n.Float64Value()
		return f.Float64
	}
	// Int × 10^Exp, written as digits.
	digits := n.Int.String()
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if n.Exp >= 0 {
		digits += strings.Repeat("0", int(n.Exp))
	} else {
		point := len(digits) + int(n.Exp)
		if point <= 0 {
			digits = strings.Repeat("0", 1-point) + digits
			point = 1
		}
		digits = digits[:point] + "." + digits[point:]
	}
	if neg {
		digits = "-" + digits
	}
	v, ok := exactNumber(digits)
	if !ok {
		return digits
	}
	return v
}
