package decode

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Plain scalars are resolved by YAML 1.2's core schema, not by the YAML
// library's own rules, which keep YAML 1.1's: there 01234 is the octal 668,
// 0b101 and 1_000 are numbers, and 2001-12-14 is a timestamp. A zip code or
// an ID with a leading zero must not change its value, so in suite files:
//
//	null:  null Null NULL ~ (and nothing at all)
//	bool:  true True TRUE false False FALSE
//	int:   [-+]?[0-9]+ (decimal, leading zeros included), 0o[0-7]+, 0x[0-9a-fA-F]+
//	float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?.inf, .nan
//	str:   everything else
//
// (https://yaml.org/spec/1.2.2/#1032-tag-resolution)

// CoreTag is the tag YAML 1.2's core schema gives the plain scalar s.
func CoreTag(s string) string {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return "!!null"
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		".nan", ".NaN", ".NAN":
		return "!!float"
	}
	if isCoreInt(s) {
		return "!!int"
	}
	if isCoreFloat(s) {
		return "!!float"
	}
	return "!!str"
}

func isDigits(s string, ok func(byte) bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDec(c byte) bool { return c >= '0' && c <= '9' }
func isOct(c byte) bool { return c >= '0' && c <= '7' }
func isHex(c byte) bool { return isDec(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isCoreInt(s string) bool {
	switch {
	case strings.HasPrefix(s, "0o"):
		return isDigits(s[2:], isOct)
	case strings.HasPrefix(s, "0x"):
		return isDigits(s[2:], isHex)
	}
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return isDigits(s, isDec)
}

// isCoreFloat matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?.
func isCoreFloat(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp != "" && (exp[0] == '-' || exp[0] == '+') {
			exp = exp[1:]
		}
		if !isDigits(exp, isDec) {
			return false
		}
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if whole == "" {
		return dot && isDigits(frac, isDec)
	}
	return isDigits(whole, isDec) && (frac == "" || isDigits(frac, isDec))
}

// Retag gives every plain scalar under n (n included) its core-schema tag.
// Quoted scalars and explicitly tagged ones (!!str 5) keep theirs. Aliases
// are not followed: their anchors are retagged where they stand.
func Retag(n *yaml.Node) {
	if n == nil {
		return
	}
	if plain(n) {
		n.Tag = CoreTag(n.Value)
	}
	for _, c := range n.Content {
		Retag(c)
	}
}

func plain(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value != "<<" &&
		n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// Tag is n's tag, a plain scalar's by the core schema whether or not the
// node came through Parse.
func Tag(n *yaml.Node) string {
	if plain(n) {
		return CoreTag(n.Value)
	}
	return n.ShortTag()
}

// ParseInt parses a core-schema integer: decimal (leading zeros kept
// decimal), 0o octal or 0x hexadecimal. Beyond 64 bits it returns a
// *big.Int; otherwise an int.
func ParseInt(s string) (any, error) {
	if !isCoreInt(s) {
		return nil, fmt.Errorf("%q is not a whole number", s)
	}
	base, digits := 10, s
	switch {
	case strings.HasPrefix(s, "0o"):
		base, digits = 8, s[2:]
	case strings.HasPrefix(s, "0x"):
		base, digits = 16, s[2:]
	}
	if i, err := strconv.ParseInt(digits, base, 64); err == nil {
		return int(i), nil
	}
	b, ok := new(big.Int).SetString(strings.TrimPrefix(digits, "+"), base)
	if !ok {
		return nil, fmt.Errorf("%q is not a whole number", s)
	}
	return b, nil
}

// ParseFloat parses a core-schema float (.inf and .nan included).
func ParseFloat(s string) (float64, error) {
	switch strings.ToLower(strings.TrimLeft(s, "+")) {
	case ".inf":
		return math.Inf(1), nil
	case "-.inf":
		return math.Inf(-1), nil
	case ".nan":
		return math.NaN(), nil
	}
	if !isCoreFloat(s) && !isCoreInt(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v, err := ParseInt(s); err == nil {
		if i, ok := v.(int); ok {
			return float64(i), nil
		}
		f, _ := new(big.Float).SetInt(v.(*big.Int)).Float64()
		return f, nil
	}
	return strconv.ParseFloat(s, 64)
}

// ParseBool parses a core-schema boolean.
func ParseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// Scalar is the value of a scalar node by its tag: nil, bool, int or
// *big.Int, float64 or string. Tags outside the core schema (!!binary,
// !!timestamp) are given as their text.
func Scalar(n *yaml.Node) (any, error) {
	switch Tag(n) {
	case "!!null":
		return nil, nil
	case "!!bool":
		return ParseBool(n.Value)
	case "!!int":
		return ParseInt(n.Value)
	case "!!float":
		return ParseFloat(n.Value)
	}
	return n.Value, nil
}

// Any decodes a node into seam's canonical value model: nil, bool, int,
// *big.Int, float64, string, []any and map[string]any, scalars resolved as
// Scalar does. Non-string keys are written as their text.
func Any(n *yaml.Node) (any, error) {
	budget := maxNodes
	return anyDepth(n, 0, &budget)
}

// maxDepth bounds nesting and maxNodes the values made, aliases expanded
// (a recursive alias, or a few aliases doubling at each level), so a
// hostile file fails with an error instead of exhausting stack or memory.
const (
	maxDepth = 1000
	maxNodes = 100_000
)

func anyDepth(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep (a recursive alias?)", maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("more than %d values once aliases are expanded", maxNodes)
	}
	n = Resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := anyDepth(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		// Explicit keys first, wherever they are written; then what merge
		// keys add, of several merged mappings the earlier winning.
		out := make(map[string]any, len(n.Content)/2)
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := Resolve(n.Content[i]), n.Content[i+1]
			if IsMerge(k) {
				merges = append(merges, v)
				continue
			}
			key := ""
			if k != nil {
				key = k.Value
			}
			x, err := anyDepth(v, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[key] = x
		}
		for _, v := range merges {
			srcs := []*yaml.Node{v}
			if r := Resolve(v); r != nil && r.Kind == yaml.SequenceNode {
				srcs = r.Content
			}
			for _, src := range srcs {
				merged, err := anyDepth(src, depth+1, budget)
				if err != nil {
					return nil, err
				}
				m, ok := merged.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("<<: want a mapping or a list of mappings to merge, got %s", KindName(src))
				}
				for mk, mv := range m {
					if _, set := out[mk]; !set {
						out[mk] = mv
					}
				}
			}
		}
		return out, nil
	case yaml.ScalarNode:
		return Scalar(n)
	}
	return nil, fmt.Errorf("unknown YAML node")
}
