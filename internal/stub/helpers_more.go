package stub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mailgun/raymond/v2"
)

// WireMock's date, variable, form, JSON-formatting, number and system
// helpers, as WireMock 3.13.2 renders them (each checked against its jar
// by the differential corpus). A helper that fails as WireMock's throws
// panics with an error: the template then renders as an error answer.

// renderFail makes the template fail with msg, as a Java exception in a
// WireMock helper makes its answer a 500.
func renderFail(msg string) { panic(errors.New(msg)) }

// rootOf is the template's top-level model, where assign, regexExtract
// and formData put their variables (Handlebars.java's context data).
func rootOf(o *raymond.Options) map[string]any {
	m, _ := o.DataFrame().Get("seamRoot").(map[string]any)
	return m
}

func setVar(o *raymond.Options, name string, v any) {
	if root := rootOf(o); root != nil && name != "" {
		root[name] = v
	}
}

func zone(o *raymond.Options) *time.Location {
	if tz := o.HashStr("timezone"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return time.UTC
}

func shifted(t time.Time, o *raymond.Options) time.Time {
	off := o.HashStr("offset")
	if off == "" {
		return t
	}
	f, err := parseOffset(off)
	if err != nil {
		renderFail(err.Error())
	}
	return f(t)
}

func helperNow(o *raymond.Options) string {
	t := shifted(time.Now().In(zone(o)), o)
	return formatDate(t, o.HashStr("format"), true)
}

// helperDate shifts and prints a parsed date; given anything else it
// takes the current time, as WireMock does.
func helperDate(v any, o *raymond.Options) string {
	var t time.Time
	if d, ok := v.(dateValue); ok {
		t = d.t
	} else {
		t = time.Now().In(zone(o))
	}
	return formatDate(shifted(t, o), o.HashStr("format"), true)
}

// helperParseDate reads a date: ISO-8601 or RFC 1123, or with format= a
// Java pattern, "epoch" or "unix". What does not read renders as nothing.
func helperParseDate(s any, o *raymond.Options) any {
	var t time.Time
	var ok bool
	if f := o.HashStr("format"); f != "" {
		t, ok = parseWithFormat(toStr(s), f)
	} else {
		t, ok = parseZoned(toStr(s))
	}
	if !ok {
		return nil
	}
	return dateValue{t.Truncate(time.Second)}
}

func dateOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case dateValue:
		return x.t, true
	case string:
		return parseZoned(x)
	}
	return time.Time{}, false
}

// helperDateFormat prints a date with a Java pattern or a style (full,
// long, medium, short), given as the second argument or format=.
func helperDateFormat(v any, format string) string {
	t, ok := dateOf(v)
	if !ok {
		return ""
	}
	return formatDate(t, format, false)
}

func helperTruncateDate(v, how any) any {
	t, ok := dateOf(v)
	if !ok {
		return nil
	}
	f, err := truncation(toStr(how))
	if err != nil {
		renderFail(err.Error())
	}
	return dateValue{f(t)}
}

// helperAssign sets a variable to what its block renders:
// {{#assign 'name'}}…{{/assign}}. Without a block the variable is empty.
func helperAssign(name any, o *raymond.Options) string {
	setVar(o, toStr(name), o.Fn())
	return ""
}

// matchList is what regexExtract puts in its variable: index it
// (parts.0), iterate it or measure it; printed, it gives its first item.
type matchList []any

// helperRegexExtract finds the first match of a regular expression
// (Java's syntax, which Go's shares for the common forms); with a third
// argument it sets that variable to the groups of every match instead.
func helperRegexExtract(src, pattern, name any, o *raymond.Options) any {
	re, err := regexp.Compile(toStr(pattern))
	if err != nil {
		return "[ERROR: " + err.Error() + "]"
	}
	s := toStr(src)
	if !re.MatchString(s) {
		if d := o.HashProp("default"); d != nil {
			return d
		}
		return "[ERROR: Nothing matched " + toStr(pattern) + "]"
	}
	if name == nil {
		return re.FindString(s)
	}
	list := matchList{}
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		for g := 2; g < len(m); g += 2 {
			if m[g] < 0 {
				list = append(list, nil) // a group that took no part: Java's null
				continue
			}
			list = append(list, s[m[g]:m[g+1]])
		}
	}
	if len(list) == 0 {
		// A pattern without groups gives nothing to set: WireMock says
		// nothing matched and leaves the variable unset.
		if d := o.HashProp("default"); d != nil {
			return d
		}
		return "[ERROR: Nothing matched " + toStr(pattern) + "]"
	}
	setVar(o, toStr(name), list)
	return ""
}

// helperFirst prints a matchList variable as WireMock prints it.
func helperFirst(v any) any {
	if l, ok := v.(matchList); ok {
		if len(l) == 0 {
			return ""
		}
		if l[0] == nil {
			// ListOrSingle prints its first item: null throws in WireMock.
			renderFail("the first group took no part in the match")
		}
		return l[0]
	}
	return v
}

// helperFormData reads a form body (a=1&b=2) into a variable: each field
// a list (form.b.1) printed as its first value; urlDecode=true decodes.
func helperFormData(body, name any, o *raymond.Options) string {
	decode, _ := o.HashProp("urlDecode").(bool)
	form := map[string]any{}
	var order []string
	vals := map[string][]string{}
	for _, pair := range strings.Split(toStr(body), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if decode {
			if d, err := url.QueryUnescape(k); err == nil {
				k = d
			}
			if d, err := url.QueryUnescape(v); err == nil {
				v = d
			}
		}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = append(vals[k], v)
	}
	for _, k := range order {
		form[k] = newTextValue(vals[k])
	}
	setVar(o, toStr(name), form)
	return o.Fn()
}

// helperFormatJSON pretty-prints JSON as Jackson does ("a" : 1, arrays of
// values on one line), or compactly with format='compact'; the JSON is
// the argument or the block.
func helperFormatJSON(arg any, given bool, o *raymond.Options) string {
	var src string
	switch {
	case given:
		s, ok := arg.(string)
		if !ok {
			if ss, ok2 := arg.(raymond.SafeString); ok2 {
				s, ok = string(ss), true
			}
		}
		if !ok {
			return "[ERROR: formatJson should take a block of JSON to format or a single parameter of type String]"
		}
		src = s
	default:
		src = o.Fn()
	}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	v, err := orderedJSON(dec)
	if err != nil {
		renderFail("formatJson: " + err.Error())
	}
	if o.HashStr("format") == "compact" {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(strings.TrimSpace(src))); err != nil {
			renderFail("formatJson: " + err.Error())
		}
		return b.String()
	}
	var b strings.Builder
	jacksonPretty(&b, v, 0)
	return b.String()
}

// object is a JSON object with its keys in the document's order.
type object struct {
	keys []string
	vals []any
}

// orderedJSON reads one JSON value keeping objects' key order.
func orderedJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := orderedJSON(dec)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k.(string))
				o.vals = append(o.vals, v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := orderedJSON(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return tok, nil
}

// jacksonPretty writes v as Jackson's default pretty printer does.
func jacksonPretty(b *strings.Builder, v any, depth int) {
	ind := strings.Repeat("  ", depth)
	switch x := v.(type) {
	case *object:
		if len(x.keys) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, k := range x.keys {
			kb, _ := json.Marshal(k)
			b.WriteString(ind + "  " + string(kb) + " : ")
			jacksonPretty(b, x.vals[i], depth+1)
			if i < len(x.keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(ind + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[ ")
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			jacksonPretty(b, it, depth)
		}
		b.WriteString(" ]")
	default:
		out, _ := json.Marshal(x)
		b.Write(out)
	}
}

// helperNumberFormat prints a number as Java's NumberFormat does in the
// en_US locale (or en_GB, de_DE, fr_FR for currency and separators):
// format 'integer', 'percent', 'currency' or the default number style,
// with maximumFractionDigits, minimumFractionDigits,
// maximumIntegerDigits, minimumIntegerDigits, groupingUsed and
// roundingMode. Text, even text that reads as a number, prints nothing.
func helperNumberFormat(v any, style, locale string, o *raymond.Options) string {
	if m, ok := v.(mathNumber); ok {
		v = json.Number(m)
	}
	if !numeric(v) {
		return ""
	}
	r, _, ok := number(v)
	if !ok {
		return ""
	}
	explicit := locale != ""
	if !explicit {
		locale = "en_US"
	}
	loc, ok := numberLocales[locale]
	if !ok {
		loc = numberLocales["en_US"]
	}
	maxFrac, minFrac, prefix, suffix := 3, 0, "", ""
	switch style {
	case "integer":
		maxFrac = 0
	case "percent":
		maxFrac = 0
		r = new(big.Rat).Mul(r, big.NewRat(100, 1))
		suffix = loc.percent
	case "currency":
		maxFrac, minFrac = 2, 2
		if !explicit {
			loc.currencyPre, loc.currencySuf = "¤", ""
		}
		prefix, suffix = loc.currencyPre, loc.currencySuf
	}
	intOpt := func(name string, def int) int {
		if p := o.HashProp(name); p != nil {
			if n, err := strconv.Atoi(toStr(p)); err == nil {
				return n
			}
		}
		return def
	}
	maxFrac = intOpt("maximumFractionDigits", maxFrac)
	minFrac = intOpt("minimumFractionDigits", minFrac)
	if minFrac > maxFrac {
		maxFrac = minFrac
	}
	minInt := intOpt("minimumIntegerDigits", 1)
	maxInt := intOpt("maximumIntegerDigits", math.MaxInt32)
	// Java's DecimalFormat caps digits for doubles at 340 and 309.
	maxFrac, minFrac, minInt = min(max(maxFrac, 0), 340), min(max(minFrac, 0), 340), min(max(minInt, 0), 309)
	maxInt = max(maxInt, 0)
	grouping := true
	if g, ok := o.HashProp("groupingUsed").(bool); ok {
		grouping = g
	}
	neg := r.Sign() < 0
	if neg {
		r = new(big.Rat).Neg(r)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(maxFrac)), nil)))
	n := roundRat(scaled, strings.ToUpper(o.HashStr("roundingMode")))
	digits := n.String()
	for len(digits) <= maxFrac {
		digits = "0" + digits
	}
	intPart, frac := digits[:len(digits)-maxFrac], digits[len(digits)-maxFrac:]
	for len(frac) > minFrac && strings.HasSuffix(frac, "0") {
		frac = frac[:len(frac)-1]
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > maxInt {
		intPart = intPart[len(intPart)-maxInt:]
	}
	for len(intPart) < minInt {
		intPart = "0" + intPart
	}
	if grouping && len(intPart) > 3 {
		var g []string
		for len(intPart) > 3 {
			g = append([]string{intPart[len(intPart)-3:]}, g...)
			intPart = intPart[:len(intPart)-3]
		}
		intPart = strings.Join(append([]string{intPart}, g...), loc.group)
	}
	out := intPart
	if frac != "" {
		out += loc.decimal + frac
	}
	out = prefix + out + suffix
	if neg { // Java keeps the sign of a negative rounded to zero: -0
		out = "-" + out
	}
	return out
}

// numberLocale is how one locale writes numbers.
type numberLocale struct{ group, decimal, percent, currencyPre, currencySuf string }

var numberLocales = map[string]numberLocale{
	"en_US": {",", ".", "%", "$", ""},
	"en_GB": {",", ".", "%", "£", ""},
	"de_DE": {".", ",", "\u00a0%", "", "\u00a0€"},
	"fr_FR": {"\u202f", ",", "\u00a0%", "", "\u00a0€"},
}

// roundRat rounds to an integer with Java's RoundingMode (HALF_EVEN by
// default, as NumberFormat does).
func roundRat(r *big.Rat, mode string) *big.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() == 0 {
		return q
	}
	twice := new(big.Int).Mul(m, big.NewInt(2))
	c := twice.CmpAbs(r.Denom())
	up := false
	switch mode {
	case "UP", "CEILING":
		up = true
	case "DOWN", "FLOOR":
		up = false
	case "HALF_UP":
		up = c >= 0
	case "HALF_DOWN":
		up = c > 0
	default: // HALF_EVEN
		up = c > 0 || (c == 0 && q.Bit(0) == 1)
	}
	if up {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// helperStringFormat is Java's String.format for the common conversions
// (%s %d %f %x %o %e %b %c %% %n, with flags, width and precision).
func helperStringFormat(format any, args ...any) string {
	f := strings.ReplaceAll(toStr(format), "%n", "\n")
	for _, w := range formatWidth.FindAllStringSubmatch(f, -1) {
		for _, d := range w[1:] {
			if n, err := strconv.Atoi(d); d != "" && (err != nil || n > maxFormatWidth) {
				renderFail("stringFormat: a width or precision over " + strconv.Itoa(maxFormatWidth))
			}
		}
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = javaArg{a}
	}
	out := fmt.Sprintf(f, vals...)
	if strings.Contains(out, "%!") {
		renderFail("stringFormat: " + out)
	}
	return out
}

// javaArg formats a template value as Java's Formatter does: %s (and %S)
// print any value as Java prints it, %b a boolean, other verbs the
// number itself; a conversion Java refuses shows as Go's %!, which fails
// the template.
type javaArg struct{ v any }

func (a javaArg) Format(f fmt.State, verb rune) {
	v := a.v
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			v = n
		} else {
			v, _ = x.Float64()
		}
	case mathNumber:
		v = string(x)
	case nil:
		v = "null"
	}
	switch verb {
	case 's', 'S':
		s := toStr(a.v)
		if a.v == nil {
			s = "null"
		}
		if verb == 'S' {
			s = strings.ToUpper(s)
		}
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s)
		return
	case 'b', 'B':
		if _, ok := v.(bool); ok {
			fmt.Fprintf(f, fmt.FormatString(f, 't'), v)
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, 't'), v != nil)
		return
	}
	switch v.(type) {
	case string, textValue, matchList, map[string]any, []any, dateValue:
		fmt.Fprintf(f, "%%!%c(%T)", verb, v) // Java: IllegalFormatConversionException
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), v)
}

// helperList gives #each a value's items in order: a request value or a
// form field (textValue) by index, regexExtract's groups; anything else
// as it is.
func helperList(v any) any {
	switch x := v.(type) {
	case textValue:
		out := make([]any, len(x))
		for i := range out {
			out[i] = x[strconv.Itoa(i)]
		}
		return out
	case matchList:
		return []any(x)
	}
	return v
}

// maxFormatWidth bounds stringFormat's widths and precisions: a template
// must not make the stub allocate gigabytes.
const maxFormatWidth = 4096

var formatWidth = regexp.MustCompile(`%[-#+ 0,(]*([0-9]*)(?:\.([0-9]+))?`)

// permittedSystemKeys is WireMock's default: only keys starting with
// wiremock (any case) may be read.
var permittedSystemKeys = regexp.MustCompile(`(?i)^wiremock.*$`)

// helperSystemValue reads an environment variable (type='ENVIRONMENT')
// or a system property (type='PROPERTY', the default; seam has none),
// allowed only for keys WireMock permits by default.
func helperSystemValue(o *raymond.Options) any {
	key := o.HashStr("key")
	if !permittedSystemKeys.MatchString(key) {
		return "[ERROR: Access to " + key + " is denied]"
	}
	v := ""
	if strings.EqualFold(o.HashStr("type"), "ENVIRONMENT") {
		v = os.Getenv(key)
	}
	if v == "" {
		if d := o.HashProp("default"); d != nil {
			return d
		}
	}
	return v
}

// parity reports whether v, a number (not text), is even; ok is false for
// anything else, which Handlebars.java's number helpers print as nothing.
func parity(v any) (even, ok bool) {
	if !numeric(v) {
		return false, false
	}
	r, _, ok := number(v)
	if !ok || !r.IsInt() {
		return false, false
	}
	return r.Num().Bit(0) == 0, true
}

// helperParity is Handlebars.java's isEven and isOdd: the label when the
// number has the wanted parity, else nothing.
func helperParity(v any, want bool, label string) string {
	even, ok := parity(v)
	if !ok || even != want {
		return ""
	}
	return label
}

// helperStripes is Handlebars.java's stripes: the first label for an even
// index, the second for an odd one.
func helperStripes(v, even, odd any) any {
	e, ok := parity(v)
	if !ok {
		return ""
	}
	if e {
		return even
	}
	return odd
}
