package stub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
	"github.com/mailgun/raymond/v2"
	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
)

// WireMock's Handlebars helpers (its own and Handlebars.java's string and
// conditional helpers), as WireMock 3 renders them. Each is a plain
// function; templateHelpers is the one table of them. Handlebars' own
// if, unless, each, with and lookup come with the engine.

// templateHelpers returns the helper table; rnd-using helpers read the
// server's seeded source from the template's data frame.
func templateHelpers() map[string]any {
	return guardOptions(helperTable())
}

var optionsType = reflect.TypeOf((*raymond.Options)(nil))

// guardOptions wraps each helper taking options last: raymond hands it a
// nil *Options when the template passes one argument more than the
// helper takes, which would crash the stub; the wrapped helper fails the
// template instead, as WireMock answers a helper called wrongly.
func guardOptions(helpers map[string]any) map[string]any {
	for name, h := range helpers {
		fn := reflect.ValueOf(h)
		t := fn.Type()
		if t.NumIn() == 0 || t.In(t.NumIn()-1) != optionsType || t.IsVariadic() {
			continue
		}
		name := name
		helpers[name] = reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
			if args[len(args)-1].IsNil() {
				renderFail(name + ": called with too many arguments")
			}
			return fn.Call(args)
		}).Interface()
	}
	return helpers
}

// helperTable is the helper table as written.
func helperTable() map[string]any {
	return map[string]any{
		"jsonPath":       helperJSONPath,
		"jsonPathValue":  helperJSONPathValue,
		"randomValue":    helperRandomValue,
		"now":            helperNow,
		"date":           helperDate,
		"parseDate":      helperParseDate,
		"dateFormat_1":   func(v any, o *raymond.Options) string { return helperDateFormat(v, o.HashStr("format")) },
		"dateFormat_2":   func(v, f any, o *raymond.Options) string { return helperDateFormat(v, toStr(f)) },
		"truncateDate":   helperTruncateDate,
		"assign":         helperAssign,
		"assign_1":       helperAssign,
		"assign_2":       func(name, _ any, o *raymond.Options) string { return helperAssign(name, o) },
		"formData":       helperFormData,
		"formatJson":     func(o *raymond.Options) string { return helperFormatJSON(nil, false, o) },
		"formatJson_1":   func(v any, o *raymond.Options) string { return helperFormatJSON(v, true, o) },
		"numberFormat_1": func(v any, o *raymond.Options) string { return helperNumberFormat(v, "", "", o) },
		"numberFormat_2": func(v, s any, o *raymond.Options) string { return helperNumberFormat(v, toStr(s), "", o) },
		"numberFormat_3": func(v, s, l any, o *raymond.Options) string {
			return helperNumberFormat(v, toStr(s), toStr(l), o)
		},
		"stringFormat": helperStringFormat,
		"systemValue":  helperSystemValue,
		"isEven":       func(o *raymond.Options) string { renderFail("isEven: missing arguments"); return "" },
		"isOdd":        func(o *raymond.Options) string { renderFail("isOdd: missing arguments"); return "" },
		"isEven_1":     func(v any) string { return helperParity(v, true, "even") },
		"isOdd_1":      func(v any) string { return helperParity(v, false, "odd") },
		"isEven_2":     func(v, label any) string { return helperParity(v, true, toStr(label)) },
		"isOdd_2":      func(v, label any) string { return helperParity(v, false, toStr(label)) },
		"stripes":      helperStripes,
		"seamFirst":    helperFirst,
		"seamList":     helperList,

		// conditionals
		"eq":       func(a, b any) bool { return looseEqual(a, b) },
		"neq":      func(a, b any) bool { return !looseEqual(a, b) },
		"ne":       func(a, b any) bool { return !looseEqual(a, b) },
		"gt":       func(a, b any) bool { return compare(a, b) > 0 },
		"gte":      func(a, b any) bool { return compare(a, b) >= 0 },
		"lt":       func(a, b any) bool { return compare(a, b) < 0 },
		"lte":      func(a, b any) bool { return compare(a, b) <= 0 },
		"and":      helperAnd,
		"or":       helperOr,
		"not":      func(a any) bool { return !truthy(a) },
		"contains": func(a, b any) bool { return containsValue(a, b) },
		"matches": func(s, re any) bool {
			r, err := regexp.Compile("^(?:" + toStr(re) + ")$")
			return err == nil && r.MatchString(toStr(s))
		},

		// strings
		"capitalize":      func(s any) string { return capitalize(toStr(s), true) },
		"capitalizeFirst": func(s any) string { return capitalize(toStr(s), false) },
		"upper":           func(s any) string { return strings.ToUpper(toStr(s)) },
		"lower":           func(s any) string { return strings.ToLower(toStr(s)) },
		"trim":            func(s any) string { return strings.TrimSpace(toStr(s)) },
		"abbreviate":      helperAbbreviate,
		"replace":         func(s, a, b any) string { return strings.ReplaceAll(toStr(s), toStr(a), toStr(b)) },
		"cut":             func(s, a any) string { return strings.ReplaceAll(toStr(s), toStr(a), "") },
		"size":            helperSize,
		"substring":       helperSubstring,
		"base64":          helperBase64,
		"urlEncode":       helperURLEncode,
		// Called without positional arguments (see arities), as a
		// Java helper given none, they fail.
		"regexExtract":   func(o *raymond.Options) string { renderFail("regexExtract: missing arguments"); return "" },
		"dateFormat":     func(o *raymond.Options) string { renderFail("dateFormat: missing arguments"); return "" },
		"numberFormat":   func(o *raymond.Options) string { renderFail("numberFormat: missing arguments"); return "" },
		"regexExtract_2": func(s, re any, o *raymond.Options) any { return helperRegexExtract(s, re, nil, o) },
		"regexExtract_3": func(s, re, name any, o *raymond.Options) any { return helperRegexExtract(s, re, name, o) },
		"defaultIfEmpty": func(v, d any) any {
			if toStr(v) == "" {
				return d
			}
			return v
		},
		"stripTags": func(s any) string { return tagRE.ReplaceAllString(toStr(s), "") },
		"slugify":   helperSlugify,
		"yesno": func(v any) string {
			if truthy(v) {
				return "yes"
			}
			return "no"
		},
		"center": func(s any, o *raymond.Options) string { return pad(toStr(s), o, "center") },
		"ljust":  func(s any, o *raymond.Options) string { return pad(toStr(s), o, "left") },
		"rjust":  func(s any, o *raymond.Options) string { return pad(toStr(s), o, "right") },
		"val": func(v any, o *raymond.Options) any {
			if v == nil || toStr(v) == "" {
				return o.HashProp("default")
			}
			return v
		},

		// numbers
		"math":          helperMath,
		"randomInt":     helperRandomInt,
		"randomDecimal": helperRandomDecimal,
		"range":         func(a, b any) string { return toStr(helperRange(a, b)) },

		// arrays and JSON
		"array":        func(xs ...any) string { return toStr(append([]any{}, xs...)) },
		"arrayAdd":     func(list, item any, o *raymond.Options) string { return toStr(arrayAdd(list, item, o)) },
		"arrayRemove":  func(list any, o *raymond.Options) string { return toStr(arrayRemove(list, o)) },
		"jsonMerge":    helperJSONMerge,
		"jsonRemove":   helperJSONRemove,
		"jsonArrayAdd": helperJSONArrayAdd,
		"hostname": func() string {
			h, _ := os.Hostname()
			return h
		},
		"wordWrap": helperWordWrap,
		// Sub-expressions get the values themselves (see valueHelpers).
		"arrayValue":       func(xs ...any) []any { return append([]any{}, xs...) },
		"arrayAddValue":    arrayAdd,
		"arrayRemoveValue": arrayRemove,
		"rangeValue":       helperRange,
		"parseJsonValue":   helperParseJSON,
		"arrayJoin":        helperArrayJoin,
		"pickRandom":       helperPickRandom,
		"parseJson":        func(v any) string { return toStr(helperParseJSON(v)) },
		"join":             helperJoin,
		"xPath":            func(doc, path any) string { return helperXPath(toStr(doc), toStr(path)) },
		"soapXPath": func(doc, path any) string {
			return helperXPath(toStr(doc), "/*[local-name()='Envelope']/*[local-name()='Body']"+toStr(path))
		},
		"toJson": helperToJSON,
	}
}

// maxTemplateWidth bounds what one helper may pad or generate (1 MiB): a
// template must not make the stub allocate without bound.
const maxTemplateWidth = 1 << 20

// builtinHelpers are the engine's own block helpers.
var builtinHelpers = map[string]bool{"if": true, "unless": true, "each": true, "with": true, "lookup": true, "log": true, "else": true, "equal": true}

// mustache is one {{...}} of a template; helperCall finds a name called
// with arguments in it: {{name arg}}, {{#name arg}} or (name arg).
var mustache = regexp.MustCompile(`(?s)\{\{(.*?)\}\}`)
var helperCall = regexp.MustCompile(`(?:^[{#^~&]*\s*|\(\s*)([A-Za-z_][A-Za-z0-9_-]*)\s+[^\s})]`)

// unknownHelper names the first helper a template calls that WireMock's
// set lacks: WireMock answers such a template with an error, never an
// empty string.
func unknownHelper(src string, helpers map[string]any) string {
	for _, mm := range mustache.FindAllStringSubmatch(src, -1) {
		if strings.HasPrefix(mm[1], "!") {
			continue // a comment
		}
		for _, m := range helperCall.FindAllStringSubmatch(mm[1], -1) {
			name := m[1]
			if _, ok := helpers[name]; !ok && !builtinHelpers[name] {
				return name
			}
		}
	}
	return ""
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// toStr renders a value as WireMock prints it.
func toStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case raymond.SafeString:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = toStr(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case json.Number:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return raymond.Str(v)
}

// number reads a value as an exact decimal and its scale (digits after the
// point), as Java's BigDecimal would.
func number(v any) (*big.Rat, int, bool) {
	s := strings.TrimSpace(toStr(v))
	if f, ok := v.(float64); ok {
		// A literal written with a point (7.0) has a scale of at least one.
		r, ok := new(big.Rat).SetString(s)
		scale := 1
		if i := strings.IndexByte(s, '.'); i >= 0 {
			scale = len(s) - i - 1
		}
		_ = f
		return r, scale, ok
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, 0, false
	}
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		end := strings.IndexAny(s, "eE")
		if end < 0 {
			end = len(s)
		}
		scale = end - i - 1
	}
	return r, scale, true
}

// numeric reports whether v is a number as Handlebars has it: a literal,
// or a value from parsed JSON; text that reads as a number is not one.
func numeric(v any) bool {
	switch v.(type) {
	case int, int64, float64, json.Number:
		return true
	}
	return false
}

// looseEqual is Handlebars.java's eq: Java's equals, so a number equals a
// number of the same kind, text equals text, and a request value (a query
// parameter, a header: a list in WireMock) equals no plain text.
func looseEqual(a, b any) bool {
	if numeric(a) && numeric(b) {
		_, fa := a.(float64)
		_, fb := b.(float64)
		if fa != fb {
			return false
		}
		x, _, _ := number(a)
		y, _, _ := number(b)
		return x.Cmp(y) == 0
	}
	if numeric(a) != numeric(b) {
		return false
	}
	_, ta := a.(textValue)
	_, tb := b.(textValue)
	if ta != tb {
		return false
	}
	if ba, ok := a.(bool); ok {
		bb, ok := b.(bool)
		return ok && ba == bb
	}
	return toStr(a) == toStr(b)
}

// compare orders numbers by value and anything else as text.
func compare(a, b any) int {
	if numeric(a) && numeric(b) {
		x, _, _ := number(a)
		y, _, _ := number(b)
		return x.Cmp(y)
	}
	return strings.Compare(toStr(a), toStr(b))
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false"
	case []any:
		return len(x) > 0
	}
	if r, _, ok := number(v); ok {
		return r.Sign() != 0
	}
	return toStr(v) != ""
}

func helperAnd(xs ...any) bool {
	for _, x := range xs {
		if !truthy(x) {
			return false
		}
	}
	return true
}

func helperOr(xs ...any) bool {
	for _, x := range xs {
		if truthy(x) {
			return true
		}
	}
	return false
}

func containsValue(a, b any) bool {
	if list, ok := a.([]any); ok {
		for _, x := range list {
			if looseEqual(x, b) {
				return true
			}
		}
		return false
	}
	return strings.Contains(toStr(a), toStr(b))
}

func capitalize(s string, every bool) string {
	out := []rune(s)
	start := true
	for i, r := range out {
		if start && unicode.IsLetter(r) {
			out[i] = unicode.ToUpper(r)
			if !every {
				break
			}
		}
		start = unicode.IsSpace(r)
	}
	return string(out)
}

func helperAbbreviate(s, n any) string {
	str := toStr(s)
	w, _, ok := number(n)
	if !ok || !w.IsInt() {
		return str
	}
	max := int(w.Num().Int64())
	r := []rune(str)
	if len(r) <= max || max < 4 {
		return str
	}
	return string(r[:max-3]) + "..."
}

func helperSize(v any) int {
	switch x := v.(type) {
	case nil:
		// Handlebars.java's size throws on a missing value.
		renderFail("size of nothing")
	case []any:
		return len(x)
	case matchList:
		if len(x) == 0 {
			// WireMock's ListOrSingle throws on an empty list.
			renderFail("size of an empty list")
		}
		return len(x)
	case textValue:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return utf8.RuneCountInString(toStr(v))
}

func helperSubstring(args ...any) string {
	if len(args) < 2 {
		return ""
	}
	r := []rune(toStr(args[0]))
	idx := func(v any) int {
		x, _, ok := number(v)
		if !ok || !x.IsInt() {
			return 0
		}
		return int(x.Num().Int64())
	}
	start, end := idx(args[1]), len(r)
	if len(args) > 2 {
		end = idx(args[2])
	}
	if start < 0 || end > len(r) || start > end {
		return ""
	}
	return string(r[start:end])
}

func helperBase64(s any, o *raymond.Options) string {
	str := toStr(s)
	if truthy(o.HashProp("decode")) {
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return "[ERROR: " + err.Error() + "]"
		}
		return string(b)
	}
	out := base64.StdEncoding.EncodeToString([]byte(str))
	if p := o.HashProp("padding"); p != nil && !truthy(p) {
		out = strings.TrimRight(out, "=")
	}
	return out
}

func helperURLEncode(s any, o *raymond.Options) string {
	if truthy(o.HashProp("decode")) {
		out, err := url.QueryUnescape(toStr(s))
		if err != nil {
			return "[ERROR: " + err.Error() + "]"
		}
		return out
	}
	return url.QueryEscape(toStr(s))
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func helperSlugify(s any) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(toStr(s)), "-"), "-")
}

func pad(s string, o *raymond.Options, how string) string {
	n, _, ok := number(o.HashProp("size"))
	if !ok {
		return s
	}
	fill := o.HashStr("pad")
	if fill == "" {
		fill = " "
	}
	width := int(n.Num().Int64())
	if !n.IsInt() || n.Num().BitLen() > 31 || width > maxTemplateWidth {
		renderFail("size over " + strconv.Itoa(maxTemplateWidth))
	}
	missing := width - utf8.RuneCountInString(s)
	if missing <= 0 {
		return s
	}
	switch how {
	case "left":
		return s + strings.Repeat(fill, missing)
	case "right":
		return strings.Repeat(fill, missing) + s
	}
	left := missing / 2
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, missing-left)
}

// helperMath is WireMock's math: BigDecimal arithmetic; two whole numbers
// give a whole number (division rounds half up).
func helperMath(a, op, b any) mathNumber {
	return mathNumber(mathText(a, op, b))
}

// mathNumber is math's result: printed as text, and a number to
// numberFormat, as WireMock's math gives a Number.
type mathNumber string

func (m mathNumber) String() string { return string(m) }

func mathText(a, op, b any) string {
	x, sx, ok1 := number(a)
	y, sy, ok2 := number(b)
	if !ok1 || !ok2 {
		return "[ERROR: math needs two numbers]"
	}
	var r big.Rat
	scale := max(sx, sy)
	switch toStr(op) {
	case "+":
		r.Add(x, y)
	case "-":
		r.Sub(x, y)
	case "*":
		r.Mul(x, y)
		scale = sx + sy
	case "/":
		if y.Sign() == 0 {
			return "[ERROR: division by zero]"
		}
		r.Quo(x, y)
		if sx == 0 && sy == 0 {
			return roundHalfUp(&r).String()
		}
		return trimZeros(r.FloatString(16), scale)
	case "%":
		if y.Sign() == 0 || !x.IsInt() || !y.IsInt() {
			return "[ERROR: % needs whole numbers]"
		}
		return new(big.Int).Rem(x.Num(), y.Num()).String()
	default:
		return "[ERROR: " + toStr(op) + " is not a valid mathematical operator]"
	}
	return r.FloatString(scale)
}

func roundHalfUp(r *big.Rat) *big.Int {
	half := big.NewRat(1, 2)
	x := new(big.Rat).Abs(r)
	x.Add(x, half)
	q := new(big.Int).Quo(x.Num(), x.Denom())
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

// trimZeros drops trailing zeros past scale digits.
func trimZeros(s string, scale int) string {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return s
	}
	for len(s) > i+1+scale && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return strings.TrimSuffix(s, ".")
}

func rndOf(o *raymond.Options) *lockedRand {
	if r, ok := o.DataFrame().Get("seamRand").(*lockedRand); ok {
		return r
	}
	return newLockedRand(0)
}

func helperRandomInt(o *raymond.Options) string {
	lo, hi := int64(-1<<31), int64(1<<31-1)
	if v, _, ok := number(o.HashProp("lower")); ok && o.HashProp("lower") != nil {
		lo = v.Num().Int64()
	}
	if v, _, ok := number(o.HashProp("upper")); ok && o.HashProp("upper") != nil {
		hi = v.Num().Int64()
	}
	if hi < lo {
		return "[ERROR: upper is below lower]"
	}
	return strconv.FormatInt(lo+int64(rndOf(o).intN(int(min(hi-lo+1, 1<<62)))), 10)
}

func helperRandomDecimal(o *raymond.Options) string {
	lo, hi := -1e9, 1e9
	if v, _, ok := number(o.HashProp("lower")); ok && o.HashProp("lower") != nil {
		lo, _ = v.Float64()
	}
	if v, _, ok := number(o.HashProp("upper")); ok && o.HashProp("upper") != nil {
		hi, _ = v.Float64()
	}
	return strconv.FormatFloat(lo+rndOf(o).float()*(hi-lo), 'f', -1, 64)
}

func helperRange(a, b any) []any {
	x, _, ok1 := number(a)
	y, _, ok2 := number(b)
	if !ok1 || !ok2 || !x.IsInt() || !y.IsInt() {
		return nil
	}
	lo, hi := x.Num().Int64(), y.Num().Int64()
	if hi-lo > 10000 {
		hi = lo + 10000 // a template is no way to allocate without bound
	}
	var out []any
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

func helperArrayJoin(sep any, xs ...any) string {
	var parts []string
	for _, x := range xs {
		if m, ok := x.(matchList); ok {
			x = []any(m)
		}
		if list, ok := x.([]any); ok {
			for _, it := range list {
				parts = append(parts, toStr(it))
			}
			continue
		}
		parts = append(parts, toStr(x))
	}
	return strings.Join(parts, toStr(sep))
}

func helperPickRandom(xs ...any) any {
	var all []any
	for _, x := range xs {
		if m, ok := x.(matchList); ok {
			x = []any(m)
		}
		if list, ok := x.([]any); ok {
			all = append(all, list...)
		} else if _, isOpt := x.(*raymond.Options); !isOpt {
			all = append(all, x)
		}
	}
	if len(all) == 0 {
		return ""
	}
	return all[newLockedRand(int64(len(all))).intN(len(all))]
}

// helperParseJSON is WireMock's parseJson: the text as a value templates
// can index, iterate and look up; numbers keep their value (int64, or
// json.Number when larger).
func helperParseJSON(s any) any {
	v, err := oj.ParseString(toStr(s))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	return v
}

// helperToJSON prints a value as Jackson's pretty printer does (see
// jacksonPretty), objects' keys sorted.
func helperToJSON(v any) string {
	var b strings.Builder
	jacksonPretty(&b, toObjects(v), 0)
	return b.String()
}

// toObjects turns decoded JSON's maps into objects with sorted keys.
func toObjects(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := &object{}
		for k := range x {
			o.keys = append(o.keys, k)
		}
		sort.Strings(o.keys)
		for _, k := range o.keys {
			o.vals = append(o.vals, toObjects(x[k]))
		}
		return o
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = toObjects(it)
		}
		return out
	}
	return v
}

// sortedJSON returns v ready for encoding/json (which sorts map keys).
func sortedJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(x))
		for _, k := range keys {
			out[k] = sortedJSON(x[k])
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = sortedJSON(it)
		}
		return out
	}
	return v
}

// helperJoin is Handlebars.java's join: items (lists flattened), the last
// argument the separator.
func helperJoin(args ...any) string {
	if len(args) < 2 {
		return ""
	}
	return helperArrayJoin(args[len(args)-1], args[:len(args)-1]...)
}

// helperXPath is WireMock's xPath: the first node found, as text for a
// text or attribute node and as XML for an element; a number or string
// result as such.
func helperXPath(doc, path string) string {
	x, err := xpath.Compile(path)
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	root, err := xmlquery.Parse(strings.NewReader(doc))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	switch r := x.Evaluate(xmlquery.CreateXPathNavigator(root)).(type) {
	case *xpath.NodeIterator:
		if !r.MoveNext() {
			return ""
		}
		cur := r.Current()
		if nav, ok := cur.(*xmlquery.NodeNavigator); ok && cur.NodeType() == xpath.ElementNode {
			return nav.Current().OutputXML(true) + "\n"
		}
		return cur.Value()
	case float64:
		return jsonText(r)
	default:
		return fmt.Sprint(r)
	}
}

// valueHelpers give a list or object: printed, it reads as Java prints it
// ([1, 2]); in a sub-expression the template gets the value itself, to
// iterate or index. Templates call NAMEValue there (see parseTemplate).
var valueHelpers = regexp.MustCompile(`\((\s*)(jsonPath|array|arrayAdd|arrayRemove|range|parseJson)\s`)

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

func position(o *raymond.Options, n int, def int) int {
	p := o.HashProp("position")
	if p == nil {
		return def
	}
	if s := toStr(p); s == "start" {
		return 0
	} else if s == "end" {
		return n
	}
	r, _, ok := number(p)
	if !ok || !r.IsInt() {
		return def
	}
	return int(r.Num().Int64())
}

func arrayAdd(list, item any, o *raymond.Options) []any {
	l := append([]any{}, asList(list)...)
	at := position(o, len(l), len(l))
	if at < 0 || at > len(l) {
		return l
	}
	return append(l[:at], append([]any{item}, l[at:]...)...)
}

func arrayRemove(list any, o *raymond.Options) []any {
	l := append([]any{}, asList(list)...)
	at := position(o, len(l), len(l)-1)
	if at == len(l) {
		at--
	}
	if at < 0 || at >= len(l) {
		return l
	}
	return append(l[:at], l[at+1:]...)
}

func compactJSONOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	return string(b)
}

func mergeJSON(a, b any) any {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return b
	}
	out := make(map[string]any, len(am)+len(bm))
	for k, v := range am {
		out[k] = v
	}
	for k, v := range bm {
		out[k] = mergeJSON(out[k], v)
	}
	return out
}

func helperJSONMerge(a, b any) string {
	x, err1 := oj.ParseString(toStr(a))
	y, err2 := oj.ParseString(toStr(b))
	if err1 != nil || err2 != nil {
		return "[ERROR: jsonMerge needs two JSON documents]"
	}
	return compactJSONOf(mergeJSON(x, y))
}

func helperJSONRemove(doc, path any) string {
	v, err := oj.ParseString(toStr(doc))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	x, err := jp.ParseString(toStr(path))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	out, err := x.Remove(v)
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	return compactJSONOf(out)
}

func helperJSONArrayAdd(list, item any) string {
	l, err := oj.ParseString(toStr(list))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	it, err := oj.ParseString(toStr(item))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	arr, ok := l.([]any)
	if !ok {
		return "[ERROR: jsonArrayAdd needs a JSON array]"
	}
	return compactJSONOf(append(arr, it))
}

func helperWordWrap(s, width any) string {
	w, _, ok := number(width)
	if !ok || !w.IsInt() || w.Num().Int64() < 1 {
		return toStr(s)
	}
	max := int(w.Num().Int64())
	var lines []string
	line := ""
	for _, word := range strings.Fields(toStr(s)) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= max:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
