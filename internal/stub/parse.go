package stub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Mappings in WireMock's JSON are read through the YAML parser (JSON is
// YAML), which keeps every node's line and column for error messages. The
// text is first checked to be JSON proper, so YAML-only syntax is refused.

// ParseJSON parses a WireMock mapping file: one mapping, or
// {"mappings": [...]}. Problems name file, line and column; with them it
// still returns the mappings that parsed, for a caller that serves what it
// can (seam stub) rather than nothing.
func ParseJSON(file string, data []byte) ([]*Mapping, error) {
	if err := checkJSON(file, data); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, diag.Errorf(diag.Pos{File: file}, "not valid JSON: %v", err)
	}
	var errs diag.List
	d := decode.New(file, &errs)
	ms := parseDocument(d, decode.Resolve(&doc))
	return ms, errs.Err()
}

// checkJSON reports a JSON syntax error at its line and column.
func checkJSON(file string, data []byte) error {
	// Valid, not Unmarshal into any: a number beyond float64 (1e700) is
	// JSON, and WireMock reads it as a BigDecimal.
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	off := int64(len(data))
	if errors.As(err, &se) {
		off = se.Offset
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	if se != nil && col > 1 {
		col-- // Offset is just past the offending byte
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return diag.Errorf(diag.Pos{File: file, Line: line, Col: col}, "not valid JSON: %s", msg).
		WithHint("a WireMock mapping file holds one mapping object or {\"mappings\": [...]}")
}

func parseDocument(d *decode.Decoder, n *yaml.Node) []*Mapping {
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			d.Errorf(n, "mapping file: want a JSON object, got %s", decode.KindName(n))
		}
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "mappings" {
			list := decode.Resolve(n.Content[i+1])
			if list.Kind != yaml.SequenceNode {
				d.Errorf(list, "mappings: want an array, got %s", decode.KindName(list))
				return nil
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if k := n.Content[j]; k.Value != "mappings" && k.Value != "meta" {
					d.Errorf(k, "mapping file: unknown key %q next to \"mappings\"", k.Value)
				}
			}
			var out []*Mapping
			for _, item := range list.Content {
				if m := ParseMapping(d, item); m != nil {
					out = append(out, m)
				}
			}
			return out
		}
	}
	if m := ParseMapping(d, n); m != nil {
		return []*Mapping{m}
	}
	return nil
}

// unsupported reports a WireMock feature seam does not implement: never
// ignored, since a stub that matches more than meant hides bugs.
func unsupported(d *decode.Decoder, n *yaml.Node, what, feature string) {
	d.Errorf(n, "%s: %q is a WireMock feature seam's stub does not support", what, feature).
		WithHint("remove it, or express the stub with the features listed by `seam help stubs`")
}

var mappingKeys = []string{"id", "uuid", "name", "request", "response", "priority", "scenarioName",
	"requiredScenarioState", "newScenarioState", "persistent", "metadata", "insertionIndex"}

// ParseMapping parses one WireMock stub mapping object.
func ParseMapping(d *decode.Decoder, n *yaml.Node) *Mapping {
	before := d.Errs.Len()
	m := &Mapping{Pos: d.Pos(n)}
	hasResponse := false
	for _, f := range d.Fields(n, "mapping") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "id", "uuid":
			m.ID = str(d, v, f.Key)
		case "name":
			m.Name = str(d, v, f.Key)
		case "priority":
			m.Priority = integer(d, v, f.Key)
		case "scenarioName":
			m.Scenario = str(d, v, f.Key)
		case "requiredScenarioState":
			m.RequiredState = str(d, v, f.Key)
		case "newScenarioState":
			m.NewState = str(d, v, f.Key)
		case "request":
			parsePattern(d, v, &m.Request, "request")
		case "response":
			hasResponse = true
			parseResponse(d, v, &m.Response)
		case "persistent", "metadata", "insertionIndex":
			// Bookkeeping of WireMock's own; no effect on matching or answers.
		default:
			if notSupported("mapping", f.Key) {
				unsupported(d, f.KeyN, "mapping", f.Key)
				continue
			}
			d.UnknownKey(f.KeyN, "mapping", mappingKeys)
		}
	}
	if !hasResponse && d.Errs.Len() == before {
		d.Errorf(n, "mapping: missing \"response\"").WithHint("a stub needs a response, e.g. {\"status\": 200}")
	}
	if (m.RequiredState != "" || m.NewState != "") && m.Scenario == "" && d.Errs.Len() == before {
		d.Errorf(n, "mapping: requiredScenarioState and newScenarioState need a scenarioName")
	}
	if d.Errs.Len() > before {
		return nil
	}
	return m
}

var urlKeys = []string{"url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate"}

var requestKeys = append([]string{"method", "pathParameters", "queryParameters", "headers", "cookies",
	"bodyPatterns", "basicAuthCredentials", "multipartPatterns"}, urlKeys...)

func parsePattern(d *decode.Decoder, n *yaml.Node, p *Pattern, what string) {
	var urlKey *yaml.Node
	var pathParams *yaml.Node
	for _, f := range d.Fields(n, what) {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "method":
			p.Method = strings.ToUpper(str(d, v, what+".method"))
		case "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate":
			if urlKey != nil {
				d.Errorf(f.KeyN, "%s: both %q and %q given", what, urlKey.Value, f.Key).WithHint("a request pattern matches the URL one way")
				continue
			}
			urlKey = f.KeyN
			parseURL(d, v, &p.URL, f.Key, what)
		case "pathParameters":
			pathParams = f.KeyN
			p.PathParams = namedMatchers(d, v, what+".pathParameters")
		case "queryParameters":
			p.Query = namedMatchers(d, v, what+".queryParameters")
		case "headers":
			p.Headers = append(p.Headers, namedMatchers(d, v, what+".headers")...)
		case "cookies":
			p.Cookies = namedMatchers(d, v, what+".cookies")
		case "bodyPatterns":
			if v.Kind != yaml.SequenceNode {
				d.Errorf(v, "%s.bodyPatterns: want an array of matchers, got %s", what, decode.KindName(v))
				continue
			}
			for i, item := range v.Content {
				if m := parseMatcher(d, item, fmt.Sprintf("%s.bodyPatterns[%d]", what, i), true); m != nil {
					p.Body = append(p.Body, m)
				}
			}
		case "basicAuthCredentials":
			var c struct {
				User string `yaml:"username" seam:"required"`
				Pass string `yaml:"password" seam:"required"`
			}
			d.Decode(v, &c, what+".basicAuthCredentials")
			token := base64.StdEncoding.EncodeToString([]byte(c.User + ":" + c.Pass))
			p.Headers = append(p.Headers, Named{Name: "Authorization", M: equalTo{want: "Basic " + token}})
		case "multipartPatterns":
			if v.Kind != yaml.SequenceNode {
				d.Errorf(v, "%s.multipartPatterns: want an array, got %s", what, decode.KindName(v))
				continue
			}
			for i, item := range v.Content {
				p.Multipart = append(p.Multipart, parseMultipart(d, decode.Resolve(item), fmt.Sprintf("%s.multipartPatterns[%d]", what, i)))
			}
		default:
			if notSupported("request", f.Key) {
				unsupported(d, f.KeyN, what, f.Key)
				continue
			}
			d.UnknownKey(f.KeyN, what, requestKeys)
		}
	}
	if pathParams != nil && p.URL.Kind != "urlPathTemplate" {
		d.Errorf(pathParams, "%s.pathParameters: only a urlPathTemplate has path parameters", what)
	}
	if p.URL.Kind == "urlPathTemplate" {
		names := map[string]bool{}
		for _, seg := range p.URL.tmpl {
			if name, ok := templateParam(seg); ok {
				names[name] = true
			}
		}
		for _, pp := range p.PathParams {
			if !names[pp.Name] {
				d.Errorf(pathParams, "%s.pathParameters: %q is not a parameter of %s", what, pp.Name, p.URL.Value)
			}
		}
	}
}

func parseURL(d *decode.Decoder, v *yaml.Node, u *URLMatch, key, what string) {
	s := str(d, v, what+"."+key)
	u.Kind, u.Value = key, s
	switch key {
	case "urlPattern", "urlPathPattern":
		if _, err := regexp.Compile(s); err != nil {
			d.Errorf(v, "%s.%s: not a regular expression: %v", what, key, regexErr(err))
			return
		}
		re := regexp.MustCompile(`^(?:` + s + `)$`)
		u.re = re
		u.prefix, _ = re.LiteralPrefix()
	case "urlPathTemplate":
		u.tmpl = splitPath(s)
		for _, seg := range u.tmpl {
			if strings.ContainsAny(seg, "{}") {
				if _, ok := templateParam(seg); !ok {
					d.Errorf(v, "%s.urlPathTemplate: %q: a parameter is a whole segment, like /users/{id}", what, seg)
				}
			}
		}
	}
}

// namedMatchers parses {"name": matcher, ...}.
func namedMatchers(d *decode.Decoder, n *yaml.Node, what string) []Named {
	var out []Named
	for _, f := range d.Fields(n, what) {
		if m := parseMatcher(d, f.Value, what+"."+f.Key, false); m != nil {
			out = append(out, Named{Name: f.Key, M: m})
		}
	}
	return out
}

var matcherKeys = []string{"equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "absent",
	"equalToJson", "matchesJsonPath", "and", "or", "not", "hasExactly", "includes", "binaryEqualTo", "equalToXml",
	"matchesXPath", "matchesJsonSchema", "caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements",
	"before", "after", "equalToDateTime", "actualFormat", "truncateExpected", "truncateActual", "expectedOffset", "expectedOffsetUnit"}

// parseMatcher parses one WireMock value matcher object. body allows the
// body-only matchers (equalToJson, matchesJsonPath). A plain string is
// parseMatcherList reads a non-empty array of matchers (and, or,
// hasExactly, includes); nil when it is not one or any of them is wrong
// (each error reported at its place).
func parseMatcherList(d *decode.Decoder, v *yaml.Node, what string, body bool) []Matcher {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		d.Errorf(v, "%s: want an array of matchers", what)
		return nil
	}
	subs := make([]Matcher, 0, len(v.Content))
	for i, item := range v.Content {
		if m := parseMatcher(d, item, fmt.Sprintf("%s[%d]", what, i), body); m != nil {
			subs = append(subs, m)
		}
	}
	if len(subs) != len(v.Content) {
		return nil
	}
	return subs
}

// equalTo, which seam's own form allows.
func parseMatcher(d *decode.Decoder, n *yaml.Node, what string, body bool) Matcher {
	n = decode.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!binary" {
		// A YAML !!binary scalar (how a YAML writer puts bytes that are not
		// UTF-8) stands for its bytes, not its base64 text.
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			d.Errorf(n, "%s: a !!binary value that is not base64: %v", what, err)
			return nil
		}
		return binaryEqualTo{want: b}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return equalTo{want: n.Value}
	}
	fields := d.Fields(n, what)
	if fields == nil {
		if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
			d.Errorf(n, "%s: want a matcher like {\"equalTo\": \"x\"}", what)
		}
		return nil
	}
	var op *decode.Field
	mods := map[string]*yaml.Node{}
	modKeys := map[string]*yaml.Node{}
	for i := range fields {
		f := &fields[i]
		switch f.Key {
		case "caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements", "expression", "enablePlaceholders",
			"xPathNamespaces", "schemaVersion", "placeholderOpeningDelimiterRegex", "placeholderClosingDelimiterRegex", "exemptedComparisons",
			"actualFormat", "truncateExpected", "truncateActual", "expectedOffset", "expectedOffsetUnit":
			mods[f.Key] = decode.Resolve(f.Value)
			modKeys[f.Key] = f.KeyN
		case "equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "absent", "equalToJson", "matchesJsonPath", "and", "or", "not",
			"hasExactly", "includes", "binaryEqualTo", "equalToXml", "matchesXPath", "matchesJsonSchema",
			"before", "after", "equalToDateTime":
			if op != nil {
				d.Errorf(f.KeyN, "%s: both %q and %q in one matcher", what, op.Key, f.Key).
					WithHint("combine matchers with {\"and\": [...]}")
				return nil
			}
			op = f
		default:
			if notSupported("matcher", f.Key) {
				unsupported(d, f.KeyN, what, f.Key)
				return nil
			}
			d.UnknownKey(f.KeyN, what, matcherKeys)
			return nil
		}
	}
	if op == nil {
		d.Errorf(n, "%s: no matcher given", what).WithHint("use one of equalTo, contains, matches, doesNotMatch, absent, equalToJson, matchesJsonPath, and, or")
		return nil
	}
	allowMods := func(keys ...string) bool {
		ok := true
		for k := range mods {
			if k == "caseInsensitive" && !contains2(keys, k) {
				// WireMock takes caseInsensitive on any matcher and heeds
				// it on equalTo only; so does seam.
				boolean(d, mods[k], what+".caseInsensitive")
				continue
			}
			if !contains2(keys, k) {
				d.Errorf(modKeys[k], "%s: %q does not apply to %q", what, k, op.Key)
				ok = false
			}
		}
		return ok
	}
	v := decode.Resolve(op.Value)
	switch op.Key {
	case "equalTo":
		if !allowMods("caseInsensitive") {
			return nil
		}
		return equalTo{want: str(d, v, what+".equalTo"), fold: boolean(d, mods["caseInsensitive"], what+".caseInsensitive")}
	case "contains", "doesNotContain":
		if !allowMods() {
			return nil
		}
		if op.Key == "contains" {
			return contains{want: str(d, v, what+".contains")}
		}
		return doesNotContain{want: str(d, v, what+".doesNotContain")}
	case "matches", "doesNotMatch":
		if !allowMods() {
			return nil
		}
		m, err := newMatches(str(d, v, what+"."+op.Key), op.Key == "doesNotMatch")
		if err != nil {
			d.Errorf(v, "%s.%s: not a regular expression: %v", what, op.Key, err)
			return nil
		}
		return m
	case "absent":
		if !allowMods() {
			return nil
		}
		if boolean(d, v, what+".absent") {
			return absent{}
		}
		return present{}
	case "and", "or", "not":
		if !allowMods() {
			return nil
		}
		if op.Key == "not" {
			sub := parseMatcher(d, v, what+".not", body)
			if sub == nil {
				return nil
			}
			return not{sub}
		}
		subs := parseMatcherList(d, v, what+"."+op.Key, body)
		if subs == nil {
			return nil
		}
		if op.Key == "and" {
			return and(subs)
		}
		return or(subs)
	case "hasExactly", "includes":
		if body {
			d.Errorf(op.KeyN, "%s: %s applies to query parameters and headers, not bodies", what, op.Key)
			return nil
		}
		if !allowMods() {
			return nil
		}
		subs := parseMatcherList(d, v, what+"."+op.Key, false)
		if subs == nil {
			return nil
		}
		if op.Key == "hasExactly" {
			return hasExactly(subs)
		}
		return includes(subs)
	case "before", "after", "equalToDateTime":
		if !allowMods("actualFormat", "truncateExpected", "truncateActual", "expectedOffset", "expectedOffsetUnit") {
			return nil
		}
		opt := func(k string) string {
			if mods[k] == nil {
				return ""
			}
			return str(d, mods[k], what+"."+k)
		}
		offset := 0
		if n := mods["expectedOffset"]; n != nil {
			d.Decode(n, &offset, what+".expectedOffset")
		}
		m, err := newDateMatcher(op.Key, str(d, v, what+"."+op.Key), opt("actualFormat"), offset,
			opt("expectedOffsetUnit"), opt("truncateExpected"), opt("truncateActual"))
		if err != nil {
			d.Errorf(v, "%s.%s: %v", what, op.Key, err)
			return nil
		}
		return m
	case "binaryEqualTo":
		if !allowMods() {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(str(d, v, what+".binaryEqualTo"))
		if err != nil {
			d.Errorf(v, "%s.binaryEqualTo: not base64: %v", what, err).WithHint("binaryEqualTo takes the bytes in base64")
			return nil
		}
		return binaryEqualTo{want: b}
	case "equalToXml":
		if !allowMods("enablePlaceholders", "placeholderOpeningDelimiterRegex", "placeholderClosingDelimiterRegex", "exemptedComparisons") {
			return nil
		}
		if p := mods["enablePlaceholders"]; p != nil && boolean(d, p, what+".enablePlaceholders") {
			unsupported(d, p, what, "equalToXml enablePlaceholders")
			return nil
		}
		src := str(d, v, what+".equalToXml")
		tree, err := parseXMLTree(src)
		if err != nil {
			d.Errorf(v, "%s.equalToXml: not XML: %v", what, err)
			return nil
		}
		return equalToXML{src: src, want: tree}
	case "matchesXPath":
		if !allowMods("xPathNamespaces") {
			return nil
		}
		var ns map[string]string
		if nsN := mods["xPathNamespaces"]; nsN != nil {
			d.Decode(nsN, &ns, what+".xPathNamespaces")
		}
		exprN, sub := v, Matcher(nil)
		if v.Kind == yaml.MappingNode {
			exprN = nil
			var rest []*yaml.Node
			for _, f := range d.Fields(v, what+".matchesXPath") {
				switch f.Key {
				case "expression":
					exprN = decode.Resolve(f.Value)
				case "xPathNamespaces":
					d.Decode(decode.Resolve(f.Value), &ns, what+".matchesXPath.xPathNamespaces")
				default:
					rest = append(rest, f.KeyN, f.Value)
				}
			}
			if exprN == nil {
				d.Errorf(v, "%s.matchesXPath: missing \"expression\"", what)
				return nil
			}
			if len(rest) > 0 {
				subN := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: rest, Line: v.Line, Column: v.Column}
				if sub = parseMatcher(d, subN, what+".matchesXPath", true); sub == nil {
					return nil
				}
			}
		}
		src := str(d, exprN, what+".matchesXPath")
		x, err := newXPath(src, ns)
		if err != nil {
			d.Errorf(exprN, "%s.matchesXPath: not an XPath expression: %v", what, err)
			return nil
		}
		return matchesXPath{src: src, expr: x, ns: ns, sub: sub}
	case "matchesJsonSchema":
		if !allowMods("schemaVersion") {
			return nil
		}
		draft := "https://json-schema.org/draft/2020-12/schema"
		if sv := mods["schemaVersion"]; sv != nil {
			switch ver := str(d, sv, what+".schemaVersion"); ver {
			case "V4", "V6", "V7":
				draft = "http://json-schema.org/draft-07/schema#"
			case "V201909", "V202012":
			default:
				d.Errorf(sv, "%s.schemaVersion: unknown version %q", what, ver).WithHint("versions: V4, V6, V7, V201909, V202012")
				return nil
			}
		}
		src := nodeJSON(v)
		if v.Kind == yaml.ScalarNode {
			src = str(d, v, what+".matchesJsonSchema")
		}
		m, err := newJSONSchema(src, draft)
		if err != nil {
			d.Errorf(v, "%s.matchesJsonSchema: %v", what, err)
			return nil
		}
		return m
	case "equalToJson":
		if !body {
			d.Errorf(op.KeyN, "%s: equalToJson applies to bodies only", what)
			return nil
		}
		if !allowMods("ignoreArrayOrder", "ignoreExtraElements", "enablePlaceholders") {
			return nil
		}
		boolean(d, mods["enablePlaceholders"], what+".enablePlaceholders") // placeholders always apply
		m := equalToJSON{ignoreOrder: boolean(d, mods["ignoreArrayOrder"], what+".ignoreArrayOrder"),
			ignoreExtra: boolean(d, mods["ignoreExtraElements"], what+".ignoreExtraElements")}
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
			// The document as a string of JSON.
			want, err := decodeExact([]byte(v.Value))
			if err != nil {
				d.Errorf(v, "%s.equalToJson: the string is not JSON: %v", what, err)
				return nil
			}
			m.want = want
			m.src = compactJSON(v.Value)
		} else {
			m.src = nodeJSON(v)
			m.want, _ = decodeExact([]byte(m.src))
		}
		return m
	case "matchesJsonPath":
		if !body {
			d.Errorf(op.KeyN, "%s: matchesJsonPath applies to bodies only", what)
			return nil
		}
		if !allowMods() {
			return nil
		}
		if v.Kind == yaml.ScalarNode {
			x, err := parsePath(v.Value)
			if err != nil {
				d.Errorf(v, "%s.matchesJsonPath: not a JSON path: %v", what, err)
				return nil
			}
			return jsonPath{src: v.Value, expr: x}
		}
		// {"expression": "$.a", "equalTo": "x"}
		var exprN *yaml.Node
		var rest []*yaml.Node
		for _, f := range d.Fields(v, what+".matchesJsonPath") {
			if f.Key == "expression" {
				exprN = decode.Resolve(f.Value)
			} else {
				rest = append(rest, f.KeyN, f.Value)
			}
		}
		if exprN == nil {
			d.Errorf(v, "%s.matchesJsonPath: missing \"expression\"", what)
			return nil
		}
		x, err := parsePath(exprN.Value)
		if err != nil {
			d.Errorf(exprN, "%s.matchesJsonPath.expression: not a JSON path: %v", what, err)
			return nil
		}
		subN := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: rest, Line: v.Line, Column: v.Column}
		sub := parseMatcher(d, subN, what+".matchesJsonPath", true)
		if sub == nil {
			return nil
		}
		return jsonPath{src: exprN.Value, expr: x, sub: sub}
	}
	return nil
}

func parseMultipart(d *decode.Decoder, n *yaml.Node, what string) MultipartPattern {
	var mp MultipartPattern
	for _, f := range d.Fields(n, what) {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "matchingType":
			switch t := str(d, v, what+".matchingType"); t {
			case "ALL":
				mp.All = true
			case "ANY":
			default:
				d.Errorf(v, "%s.matchingType: %q is neither ANY nor ALL", what, t)
			}
		case "headers":
			mp.Headers = namedMatchers(d, v, what+".headers")
		case "bodyPatterns":
			if v.Kind != yaml.SequenceNode {
				d.Errorf(v, "%s.bodyPatterns: want an array of matchers, got %s", what, decode.KindName(v))
				continue
			}
			for i, item := range v.Content {
				if m := parseMatcher(d, item, fmt.Sprintf("%s.bodyPatterns[%d]", what, i), true); m != nil {
					mp.Body = append(mp.Body, m)
				}
			}
		case "name":
		default:
			d.UnknownKey(f.KeyN, what, []string{"matchingType", "headers", "bodyPatterns", "name"})
		}
	}
	return mp
}

// not is WireMock 3's negation of a matcher.
type not struct{ m Matcher }

func (m not) Match(v string, present bool) bool { return !m.m.Match(v, present) }
func (m not) String() string                    { return "not(" + m.m.String() + ")" }

func contains2(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var responseKeys = []string{"status", "statusMessage", "headers", "body", "jsonBody", "base64Body", "bodyFileName",
	"fixedDelayMilliseconds", "delayDistribution", "chunkedDribbleDelay", "fault", "proxyBaseUrl",
	"transformers", "transformerParameters"}

func parseResponse(d *decode.Decoder, n *yaml.Node, r *Response) {
	var bodyKey *yaml.Node
	setBody := func(k *yaml.Node) bool {
		if bodyKey != nil {
			d.Errorf(k, "response: both %q and %q given", bodyKey.Value, k.Value).WithHint("a response has one body")
			return false
		}
		bodyKey = k
		return true
	}
	var bodyTemplate string
	var hasTemplateBody bool
	for _, f := range d.Fields(n, "response") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "status":
			before := d.Errs.Len()
			r.Status = integer(d, v, "response.status")
			if d.Errs.Len() == before && (r.Status < 100 || r.Status > 999) {
				d.Errorf(v, "response.status: %d is not an HTTP status", r.Status)
			}
		case "statusMessage":
			// Sent as the reason phrase by the stub's server (fasthttp);
			// net/http, when the stub runs as an http.Handler, always sends
			// the standard one.
			r.StatusMessage = str(d, v, "response.statusMessage")
		case "headers":
			for _, h := range d.Fields(v, "response.headers") {
				hv := decode.Resolve(h.Value)
				if hv.Kind == yaml.SequenceNode {
					for _, item := range hv.Content {
						r.Headers = append(r.Headers, Header{Name: h.Key, Value: scalarText(d, decode.Resolve(item), "response.headers."+h.Key)})
					}
					continue
				}
				r.Headers = append(r.Headers, Header{Name: h.Key, Value: scalarText(d, hv, "response.headers."+h.Key)})
			}
		case "body":
			if setBody(f.KeyN) {
				r.Body = []byte(scalarText(d, v, "response.body"))
				bodyTemplate, hasTemplateBody = string(r.Body), true
			}
		case "jsonBody":
			if setBody(f.KeyN) {
				r.Body = []byte(nodeJSON(v))
				r.JSONBody = true
				bodyTemplate, hasTemplateBody = string(r.Body), true
			}
		case "base64Body":
			if setBody(f.KeyN) {
				b, err := base64.StdEncoding.DecodeString(str(d, v, "response.base64Body"))
				if err != nil {
					d.Errorf(v, "response.base64Body: not base64: %v", err)
				}
				r.Body = b
			}
		case "bodyFileName":
			if setBody(f.KeyN) {
				r.BodyFile = str(d, v, "response.bodyFileName")
				if filepath.IsAbs(r.BodyFile) || strings.HasPrefix(filepath.Clean(r.BodyFile), "..") {
					d.Errorf(v, "response.bodyFileName: %q must be a path inside the __files folder", r.BodyFile)
				}
			}
		case "fixedDelayMilliseconds":
			r.FixedDelay = time.Duration(integer(d, v, "response.fixedDelayMilliseconds")) * time.Millisecond
		case "delayDistribution":
			r.Delay = parseDelay(d, v)
		case "chunkedDribbleDelay":
			var c struct {
				N     int `yaml:"numberOfChunks" seam:"required"`
				Total int `yaml:"totalDuration" seam:"required"`
			}
			d.Decode(v, &c, "response.chunkedDribbleDelay")
			r.Dribble = &Dribble{Chunks: c.N, Total: time.Duration(c.Total) * time.Millisecond}
		case "fault":
			r.Fault = str(d, v, "response.fault")
			if !contains2(Faults, r.Fault) {
				d.Errorf(v, "response.fault: unknown fault %q", r.Fault).WithHint("faults: %s", strings.Join(Faults, ", "))
			}
		case "proxyBaseUrl":
			r.ProxyBase = str(d, v, "response.proxyBaseUrl")
		case "transformers":
			var names []string
			d.Decode(v, &names, "response.transformers")
			for i, t := range names {
				if t != "response-template" {
					unsupported(d, v.Content[i], "response.transformers", t)
					continue
				}
				r.Template = true
			}
		case "transformerParameters":
			// Values for custom transformers; seam's templates do not read them.
		default:
			if notSupported("response", f.Key) {
				unsupported(d, f.KeyN, "response", f.Key)
				continue
			}
			d.UnknownKey(f.KeyN, "response", responseKeys)
		}
	}
	if r.Template {
		compileTemplates(d, n, r, bodyTemplate, hasTemplateBody)
	}
}

// compileTemplates parses a templated response's body, headers and file
// name at load time, so a broken template is an error before anything
// starts.
func compileTemplates(d *decode.Decoder, n *yaml.Node, r *Response, body string, hasBody bool) {
	if hasBody {
		t, err := parseTemplate(body)
		if err != nil {
			d.Errorf(n, "response body template: %v", err)
		}
		r.bodyT = t
	}
	if r.BodyFile != "" && strings.Contains(r.BodyFile, "{{") {
		t, err := parseTemplate(r.BodyFile)
		if err != nil {
			d.Errorf(n, "response bodyFileName template: %v", err)
		}
		r.fileT = t
	}
	for i, h := range r.Headers {
		if strings.Contains(h.Value, "{{") {
			t, err := parseTemplate(h.Value)
			if err != nil {
				d.Errorf(n, "response header %s template: %v", h.Name, err)
			}
			r.Headers[i].t = t
		}
	}
}

func parseDelay(d *decode.Decoder, n *yaml.Node) Delay {
	var c struct {
		Type   string  `yaml:"type" seam:"required"`
		Median float64 `yaml:"median"`
		Sigma  float64 `yaml:"sigma"`
		Max    float64 `yaml:"maxValue"`
		Lower  float64 `yaml:"lower"`
		Upper  float64 `yaml:"upper"`
		Ms     float64 `yaml:"milliseconds"`
	}
	d.Decode(n, &c, "response.delayDistribution")
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	switch c.Type {
	case "lognormal":
		return lognormalDelay{median: ms(c.Median), sigma: c.Sigma, max: ms(c.Max)}
	case "uniform":
		if c.Upper < c.Lower {
			d.Errorf(n, "response.delayDistribution: upper %v is below lower %v", c.Upper, c.Lower)
		}
		return uniformDelay{lower: ms(c.Lower), upper: ms(c.Upper)}
	case "fixed":
		return fixedDelay{d: ms(c.Ms)}
	case "":
		return nil
	}
	d.Errorf(n, "response.delayDistribution: unknown type %q", c.Type).WithHint("types: lognormal, uniform, fixed")
	return nil
}

func str(d *decode.Decoder, n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.Errorf(n, "%s: want a string, got %s", what, decode.KindName(n))
		return ""
	}
	return n.Value
}

// scalarText is a string, number or boolean as text (WireMock accepts a
// number for a header value).
func scalarText(d *decode.Decoder, n *yaml.Node, what string) string {
	return str(d, n, what)
}

func integer(d *decode.Decoder, n *yaml.Node, what string) int {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.Errorf(n, "%s: want a whole number, got %s", what, decode.KindName(n))
		return 0
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		d.Errorf(n, "%s: %v", what, err)
	}
	return i
}

func boolean(d *decode.Decoder, n *yaml.Node, what string) bool {
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.Errorf(n, "%s: want true or false, got %s", what, decode.KindName(n))
		return false
	}
	return n.Value == "true"
}

// nodeValue converts a node to plain Go values as encoding/json would.
func nodeValue(n *yaml.Node) any {
	var v any
	if err := json.Unmarshal([]byte(nodeJSON(n)), &v); err != nil {
		return nil
	}
	return v
}

// nodeJSON renders a node as compact JSON, keeping the order of keys.
func nodeJSON(n *yaml.Node) string {
	var b bytes.Buffer
	writeNodeJSON(&b, n)
	return b.String()
}

func writeNodeJSON(b *bytes.Buffer, n *yaml.Node) {
	n = decode.Resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			writeNodeJSON(b, n.Content[i+1])
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			writeNodeJSON(b, c)
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch decode.Tag(n) {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			v, _ := decode.ParseBool(n.Value) // True and TRUE too
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			// By YAML 1.2's core schema: 01234 is 1234, 0x1F is 31.
			x, err := decode.Scalar(n)
			if err != nil {
				x = n.Value
			}
			if bi, ok := x.(*big.Int); ok {
				b.WriteString(bi.String())
				break
			}
			s, err := json.Marshal(x)
			if err != nil { // .inf and .nan have no JSON form
				s, _ = json.Marshal(n.Value)
			}
			b.Write(s)
		default:
			s, _ := json.Marshal(n.Value)
			b.Write(s)
		}
	default:
		b.WriteString("null")
	}
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// MaxFileBytes bounds a mapping file and a body file (__files/) the stub
// reads.
const MaxFileBytes = 64 << 20

// LoadFile reads one mapping file: WireMock's JSON, or a .yaml file of
// routes in seam's form. A file that is not a regular file (a fifo, a
// device such as /dev/zero linked in, a socket) or is over MaxFileBytes is
// refused with a *diag.Error naming it.
func LoadFile(path string) ([]*Mapping, error) {
	data, err := decode.ReadRegular(path, MaxFileBytes, "a mapping file")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, diag.Errorf(diag.Pos{File: path}, "cannot read the mapping file: %v", err).
			WithHint("a stub reads regular files of mappings (.json, .yaml) of at most %d MB; remove or replace this one", MaxFileBytes>>20)
	}
	if isYAML(path) {
		return ParseRoutes(path, data)
	}
	return ParseJSON(path, data)
}

func isYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// ParseRoutes parses a YAML file of routes in seam's form: {routes: [...]}
// or a bare list.
func ParseRoutes(file string, data []byte) ([]*Mapping, error) {
	doc, err := decode.Parse(data)
	if err != nil {
		return nil, diag.Errorf(diag.Pos{File: file}, "YAML syntax: %v", err)
	}
	var errs diag.List
	d := decode.New(file, &errs)
	n := decode.Resolve(doc)
	if n != nil && n.Kind == yaml.MappingNode {
		var list *yaml.Node
		for _, f := range d.Fields(n, "routes file") {
			if f.Key != "routes" {
				d.UnknownKey(f.KeyN, "routes file", []string{"routes"})
				continue
			}
			list = decode.Resolve(f.Value)
		}
		n = list
	}
	var out []*Mapping
	if n == nil || n.Kind != yaml.SequenceNode {
		if errs.Len() == 0 {
			errs.Add(diag.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "a routes file holds routes: [...]"))
		}
	} else {
		for _, it := range n.Content {
			if m := ParseRoute(d, it); m != nil {
				out = append(out, m)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Source is where a stub's mappings and body files are: a folder laid out
// like WireMock's (mappings/*.json and __files/), a folder of mapping files,
// or one file.
type Source struct {
	Mappings []*Mapping
	FilesDir string // "" when there is none
	// GRPC are the gRPC services described in the folder's grpc/ (as
	// WireMock's gRPC extension reads them: descriptor sets, and here
	// .proto files too); nil when there is none.
	GRPC *protoregistry.Files
}

// Load reads mappings from a file or folder; every problem of every file
// is reported, each with its position. With an error it still returns the
// mappings that loaded (Source is nil only when nothing could be read).
func Load(path string) (*Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stub mappings: %w", err)
	}
	if !fi.IsDir() {
		ms, err := LoadFile(path)
		return &Source{Mappings: ms, FilesDir: filesDir(filepath.Dir(path))}, err
	}
	src := &Source{FilesDir: filesDir(path)}
	dir := path
	if fi, err := os.Stat(filepath.Join(path, "mappings")); err == nil && fi.IsDir() {
		dir = filepath.Join(path, "mappings")
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == "__files" {
			return filepath.SkipDir
		}
		if !e.IsDir() && (strings.EqualFold(filepath.Ext(p), ".json") || isYAML(p)) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stub mappings: %w", err)
	}
	sort.Strings(files)
	var errs diag.List
	if g := filepath.Join(path, "grpc"); isDir(g) {
		files, err := loadGRPC(g)
		if err != nil {
			errs.AddErr(diag.Pos{File: g}, err)
		}
		src.GRPC = files
	}
	for _, f := range files {
		ms, err := LoadFile(f)
		if err != nil {
			errs.AddErr(diag.Pos{File: f}, err)
		}
		src.Mappings = append(src.Mappings, ms...)
	}
	return src, errs.Err()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// loadGRPC reads a grpc/ folder: descriptor sets (protoc
// --descriptor_set_out: .dsc, .desc, .pb, .binpb) and .proto files,
// imports looked up from the folder.
func loadGRPC(dir string) (*protoregistry.Files, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	src := protos.Sources{Dir: dir}
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".proto":
			src.Protos = append(src.Protos, e.Name())
		case ".dsc", ".desc", ".pb", ".binpb":
			src.Sets = append(src.Sets, e.Name())
		}
	}
	if len(src.Protos)+len(src.Sets) == 0 {
		return nil, nil
	}
	return protos.Load(context.Background(), src)
}

func filesDir(dir string) string {
	p := filepath.Join(dir, "__files")
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p
	}
	return ""
}
