package expect

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"

	"github.com/seamtest/seam/internal/expr"
)

// Equal is typed deep equality over canonical values: numbers compare by
// value whatever their Go type (1 == 1.0), but a number never equals a
// string and null equals only null.
func Equal(a, b any) bool {
	if r, ok := compare(a, b); ok {
		return r == 0
	}
	if _, ok := toRat(a); ok {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// toRat converts a numeric canonical value to an exact rational.
func toRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil, false // NaN or Inf
		}
		return r, true
	case *big.Int:
		return new(big.Rat).SetInt(x), true
	case expr.Decimal:
		return new(big.Rat).SetString(string(x))
	}
	return nil, false
}

// Diff returns a line diff of two structures rendered as indented JSON, or
// "" when either side is a scalar (the got/want line says it all then).
func Diff(want, got any) string {
	if !isStructure(want) || !isStructure(got) {
		return ""
	}
	a := strings.Split(pretty(want), "\n")
	b := strings.Split(pretty(got), "\n")
	if len(a) > 400 || len(b) > 400 {
		a, b = a[:min(len(a), 400)], b[:min(len(b), 400)]
	}
	return lineDiff(a, b)
}

func isStructure(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func pretty(v any) string {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return expr.Format(v)
	}
	return string(data)
}

// lineDiff renders the longest-common-subsequence diff of a (want) and b
// (got) with "- " for lines only wanted and "+ " for lines only got.
func lineDiff(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	sb.WriteString("--- want\n+++ got\n")
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			sb.WriteString("  " + a[i] + "\n")
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			sb.WriteString("- " + a[i] + "\n")
			i++
		default:
			sb.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// compare orders two numbers; ok is false when either is not a number.
// A Decimal set against a float64 is first rounded to the nearest float64:
// the float64 is the nearest to the digits the user wrote (YAML numbers
// with a fraction are float64), so 12345678901234567.89 written in an
// expectation equals the exact DECIMAL 12345678901234567.89, and 0.1 a
// DECIMAL 0.1; against int and *big.Int a Decimal compares exactly.
func compare(a, b any) (int, bool) {
	a, b = atFloat(a, b), atFloat(b, a)
	ra, ok := toRat(a)
	if !ok {
		return 0, false
	}
	rb, ok := toRat(b)
	if !ok {
		return 0, false
	}
	return ra.Cmp(rb), true
}

// atFloat is v rounded to the nearest float64 when v is a Decimal and
// other a float64, v otherwise.
func atFloat(v, other any) any {
	d, ok := v.(expr.Decimal)
	if _, isFloat := other.(float64); !ok || !isFloat {
		return v
	}
	if f, err := strconv.ParseFloat(string(d), 64); err == nil {
		return f
	}
	return v
}
