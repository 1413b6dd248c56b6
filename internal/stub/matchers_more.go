package stub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
	"github.com/google/jsonschema-go/jsonschema"
)

// multiMatcher is a matcher of all the values of a repeated field (a
// query parameter, a header) at once, not of each: hasExactly, includes.
type multiMatcher interface {
	MatchAll(vs []string, present bool) bool
}

// hasExactly: every value is matched by one of the matchers, each matcher
// by its own value, and there are as many values as matchers.
type hasExactly []Matcher

func (m hasExactly) Match(v string, present bool) bool {
	return m.MatchAll([]string{v}, present)
}

func (m hasExactly) MatchAll(vs []string, present bool) bool {
	if !present || len(vs) != len(m) {
		return false
	}
	return pairAll(m, vs)
}

func (m hasExactly) String() string     { return join("hasExactly", m) }
func (m hasExactly) wm() map[string]any { return map[string]any{"hasExactly": wmList(m)} }

// includes: each matcher is matched by one of the values.
type includes []Matcher

func (m includes) Match(v string, present bool) bool { return m.MatchAll([]string{v}, present) }

func (m includes) MatchAll(vs []string, present bool) bool {
	if !present {
		return false
	}
	for _, x := range m {
		found := false
		for _, v := range vs {
			if x.Match(v, true) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (m includes) String() string     { return join("includes", m) }
func (m includes) wm() map[string]any { return map[string]any{"includes": wmList(m)} }

// pairAll reports whether each matcher can have its own value (a small
// bipartite matching, by augmenting paths).
func pairAll(ms []Matcher, vs []string) bool {
	owner := make([]int, len(vs))
	for i := range owner {
		owner[i] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j, v := range vs {
			if seen[j] || !ms[i].Match(v, true) {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || try(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	for i := range ms {
		if !try(i, make([]bool, len(vs))) {
			return false
		}
	}
	return true
}

// binaryEqualTo compares the bytes with base64-given ones.
type binaryEqualTo struct {
	want []byte
}

func (m binaryEqualTo) Match(v string, present bool) bool {
	return present && v == string(m.want)
}
func (m binaryEqualTo) String() string {
	return "binaryEqualTo " + base64.StdEncoding.EncodeToString(m.want)
}
func (m binaryEqualTo) wm() map[string]any {
	return map[string]any{"binaryEqualTo": base64.StdEncoding.EncodeToString(m.want)}
}

// xmlNode is an XML document reduced to what equalToXml compares: names,
// attributes (in any order), child elements in order, and text with
// surrounding white space dropped.
type xmlNode struct {
	Name  xml.Name
	Attrs []xml.Attr
	Text  string
	Kids  []*xmlNode
}

func parseXMLTree(s string) (*xmlNode, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	root := &xmlNode{}
	stack := []*xmlNode{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue // declarations; names carry their namespace
				}
				n.Attrs = append(n.Attrs, a)
			}
			sort.Slice(n.Attrs, func(i, j int) bool {
				if n.Attrs[i].Name.Space != n.Attrs[j].Name.Space {
					return n.Attrs[i].Name.Space < n.Attrs[j].Name.Space
				}
				return n.Attrs[i].Name.Local < n.Attrs[j].Name.Local
			})
			top.Kids = append(top.Kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.Text += strings.TrimSpace(string(t))
		}
	}
	if len(root.Kids) != 1 {
		return nil, fmt.Errorf("want one root element, found %d", len(root.Kids))
	}
	return root.Kids[0], nil
}

func (a *xmlNode) equal(b *xmlNode) bool {
	if a.Name != b.Name || a.Text != b.Text || len(a.Attrs) != len(b.Attrs) || len(a.Kids) != len(b.Kids) {
		return false
	}
	for i := range a.Attrs {
		if a.Attrs[i] != b.Attrs[i] {
			return false
		}
	}
	// Child elements pair up in any order, as WireMock's XMLUnit setup
	// (elements selected by name and text) compares them.
	used := make([]bool, len(b.Kids))
next:
	for _, ak := range a.Kids {
		for j, bk := range b.Kids {
			if !used[j] && ak.equal(bk) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

// equalToXML compares documents semantically, as WireMock (XMLUnit) does
// by default: attribute order and white space between elements do not
// count.
type equalToXML struct {
	src  string
	want *xmlNode
}

func (m equalToXML) Match(v string, present bool) bool {
	if !present {
		return false
	}
	got, err := parseXMLTree(v)
	return err == nil && m.want.equal(got)
}
func (m equalToXML) String() string     { return "equalToXml " + m.src }
func (m equalToXML) wm() map[string]any { return map[string]any{"equalToXml": m.src} }

// matchesXPath: the expression finds something in the value parsed as
// XML; with a sub-matcher, the text of one node found matches it.
type matchesXPath struct {
	src  string
	expr *xpath.Expr
	ns   map[string]string
	sub  Matcher
}

func newXPath(src string, ns map[string]string) (*xpath.Expr, error) {
	if len(ns) > 0 {
		return xpath.CompileWithNS(src, ns)
	}
	return xpath.Compile(src)
}

func (m matchesXPath) Match(v string, present bool) bool {
	if !present {
		return false
	}
	doc, err := xmlquery.Parse(strings.NewReader(v))
	if err != nil {
		return false
	}
	switch r := m.expr.Evaluate(xmlquery.CreateXPathNavigator(doc)).(type) {
	case *xpath.NodeIterator:
		found := false
		for r.MoveNext() {
			found = true
			if m.sub == nil {
				return true
			}
			if m.sub.Match(r.Current().Value(), true) {
				return true
			}
		}
		if !found && m.sub != nil {
			return m.sub.Match("", false)
		}
		return false
	case bool:
		if m.sub == nil {
			return r
		}
		return m.sub.Match(fmt.Sprint(r), true)
	case float64:
		s := jsonText(r)
		if m.sub == nil {
			return true
		}
		return m.sub.Match(s, true)
	case string:
		if m.sub == nil {
			return r != ""
		}
		return m.sub.Match(r, true)
	}
	return false
}

func (m matchesXPath) String() string {
	if m.sub == nil {
		return fmt.Sprintf("matchesXPath %q", m.src)
	}
	return fmt.Sprintf("matchesXPath %q %s", m.src, m.sub)
}

func (m matchesXPath) wm() map[string]any {
	if m.sub == nil && len(m.ns) == 0 {
		return map[string]any{"matchesXPath": m.src}
	}
	inner := map[string]any{"expression": m.src}
	if m.sub != nil {
		for k, v := range m.sub.wm() {
			inner[k] = v
		}
	}
	out := map[string]any{"matchesXPath": inner}
	if len(m.ns) > 0 {
		out["xPathNamespaces"] = m.ns
	}
	return out
}

// matchesJSONSchema validates the value, parsed as JSON, against a schema.
type matchesJSONSchema struct {
	src string
	rs  *jsonschema.Resolved
}

func newJSONSchema(src string, draft string) (matchesJSONSchema, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		return matchesJSONSchema{}, fmt.Errorf("the schema is not a JSON object: %v", err)
	}
	if _, ok := doc["$schema"]; !ok {
		doc["$schema"] = draft
	}
	data, _ := json.Marshal(doc)
	var sch jsonschema.Schema
	if err := json.Unmarshal(data, &sch); err != nil {
		return matchesJSONSchema{}, fmt.Errorf("invalid JSON Schema: %v", err)
	}
	rs, err := sch.Resolve(nil)
	if err != nil {
		return matchesJSONSchema{}, fmt.Errorf("invalid JSON Schema: %v", err)
	}
	return matchesJSONSchema{src: src, rs: rs}, nil
}

func (m matchesJSONSchema) Match(v string, present bool) bool {
	if !present {
		return false
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	return m.rs.Validate(doc) == nil
}
func (m matchesJSONSchema) String() string     { return "matchesJsonSchema " + m.src }
func (m matchesJSONSchema) wm() map[string]any { return map[string]any{"matchesJsonSchema": m.src} }
