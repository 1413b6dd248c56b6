package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number that neither int, *big.Int nor
// float64 holds (a SQL DECIMAL or NUMERIC such as 12345678901234567.89), as
// its digits in JSON number syntax. It is a number: it compares by value
// (expect), formats and marshals to JSON as its digits.
type Decimal string

// MarshalJSON implements json.Marshaler: the digits, a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d), nil }

// Normalize converts a value from any decoder (YAML, encoding/json with
// UseNumber, expr-lang) into seam's canonical value model: nil, bool, int,
// float64, *big.Int (integers beyond int64), Decimal (exact decimals, from
// the sql step), string, []any and map[string]any. Whole numbers stay
// whole, so a captured 1167860 never turns into 1.16786e+06.
func Normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, int, float64, string, *big.Int, Decimal:
		return x
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i)
		}
		if b, ok := new(big.Int).SetString(string(x), 10); ok {
			return b
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case int8:
		return int(x)
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return int(x)
	case uint:
		return int(x)
	case uint8:
		return int(x)
	case uint16:
		return int(x)
	case uint32:
		return int(x)
	case uint64:
		if x > math.MaxInt64 {
			return new(big.Int).SetUint64(x)
		}
		return int(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = Normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	// Anything else (a struct from expr-lang, say) goes through JSON.
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	out, err := DecodeJSON(data)
	if err != nil {
		return fmt.Sprint(v)
	}
	return out
}

// DecodeJSON decodes one JSON document into the canonical value model.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return Normalize(v), nil
}

// Format renders a value as text the way a user expects to see it inside a
// string: strings as they are, numbers without exponent where possible,
// structures as compact JSON.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case *big.Int:
		return x.String()
	case Decimal:
		return string(x)
	case float64:
		return FormatFloat(x)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// FormatFloat renders f without an exponent unless it is very large or small.
func FormatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Show renders a value for a failure message: strings quoted, so "1" and 1
// are told apart, and structures as JSON.
func Show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any, []any:
		return Format(x)
	}
	return Format(v)
}

// TypeName names a canonical value's type for messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, float64, *big.Int, Decimal:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
