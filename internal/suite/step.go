package suite

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

var stepKeys = []string{"name", "expect", "capture", "timeout", "expect_timeout", "eventually"}

// step decodes one step: exactly one kind key (http:, exec:, …) plus the
// common keys. Captures are added to defined for the steps after it.
func (l *loader) step(d *decode.Decoder, n *yaml.Node, what string, defined map[string]bool) *Step {
	n = decode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "%s: want a step (a mapping like \"http: ...\"), got %s", what, decode.KindName(n))
		return nil
	}
	s := &Step{Pos: d.Pos(n)}
	fields := d.Fields(n, what)
	var kindField *decode.Field
	var unknown []decode.Field
	byKey := map[string]decode.Field{}
	for i, f := range fields {
		switch {
		case contains(stepKeys, f.Key):
			byKey[f.Key] = f
		case l.opts.Steps[f.Key] != nil:
			if kindField != nil {
				d.Errorf(f.KeyN, "%s: a step has one kind, but this one has %q and %q", what, kindField.Key, f.Key).
					WithHint("split it into two steps")
				continue
			}
			kindField = &fields[i]
		default:
			unknown = append(unknown, f)
		}
	}
	kinds := l.opts.Steps.Names()
	for _, f := range unknown {
		if kindField == nil && len(unknown) == 1 {
			e := d.Errorf(f.KeyN, "%s: unknown step kind %q", what, f.Key)
			if c := diag.Closest(f.Key, kinds); c != "" {
				e.WithHint("did you mean %q? step kinds: %s", c, strings.Join(kinds, ", "))
			} else {
				e.WithHint("step kinds: %s (seam help steps)", strings.Join(kinds, ", "))
			}
			continue
		}
		d.UnknownKey(f.KeyN, what, append(append([]string{}, stepKeys...), kinds...))
	}
	if kindField == nil {
		if len(unknown) == 0 {
			d.Errorf(n, "%s: the step has no kind", what).
				WithHint("add one of %s (seam help steps)", strings.Join(kinds, ", "))
		}
		// What it captures is still defined: the steps after it are
		// not told about the names, the step's kind is.
		captureNames(n, defined)
		return nil
	}
	kind := l.opts.Steps[kindField.Key]
	s.Kind = kindField.Key
	s.Pos = d.Pos(kindField.KeyN)
	prev := d.Vars
	d.Vars = defined
	defer func() { d.Vars = prev }()
	s.Action = kind.Decode(d, decode.Resolve(kindField.Value))
	if f, ok := byKey["name"]; ok {
		d.Decode(f.Value, &s.Name, what+".name")
	}
	if s.Name == "" {
		s.Name = describe(kindField.Key, decode.Resolve(kindField.Value))
		if r := []rune(s.Name); len(r) > 60 {
			s.Name = string(r[:59]) + "…"
		}
	}
	if f, ok := byKey["timeout"]; ok {
		if v, ok := d.Duration(f.Value, what+".timeout"); ok {
			s.Timeout = v
		}
	}
	if f, ok := byKey["expect_timeout"]; ok {
		s.ExpectTimeout = expectTimeout(d, f.Value, what+".expect_timeout", 0)
		if _, rereads := s.Action.(step.Rechecker); s.Action != nil && !rereads {
			d.Errorf(f.KeyN, "%s.expect_timeout: %s steps check their expectations once, on their result", what, s.Kind).
				WithHint("only browser steps read the page again until expect: holds; to repeat the step, use eventually:")
		}
	}
	if f, ok := byKey["eventually"]; ok {
		s.Eventually = l.eventually(d, f.Value, what)
	}
	fieldsOf := kind.Usage().Fields
	if f, ok := byKey["expect"]; ok {
		c := &expect.Compiler{D: d, Ops: l.opts.Ops}
		s.Expect = c.Compile(f.Value, fieldsOf)
	}
	if s.Eventually != nil && s.Expect.IsZero() {
		d.Errorf(byKey["eventually"].KeyN, "%s: eventually needs expect: to know when to stop", what)
	}
	if f, ok := byKey["capture"]; ok {
		s.Captures = l.captures(d, f.Value, what, fieldsOf)
		// Every name captured is defined after, its query good or not: a
		// bad query is one problem, told here, not one more at each
		// step that reads the name.
		captureNames(n, defined)
	}
	if s.Action == nil {
		return nil
	}
	return s
}

// expectTimeout decodes an expect_timeout: a duration above 0 (to wait
// as long as the step may, one at least as long as its timeout); was
// when it is not one.
func expectTimeout(d *decode.Decoder, n *yaml.Node, what string, was time.Duration) time.Duration {
	v, ok := d.Duration(n, what)
	if !ok {
		return was
	}
	if v <= 0 {
		d.Errorf(n, "%s: want a duration above 0", what).
			WithHint("to wait for the expectations as long as the step may, give one at least as long as its timeout")
		return was
	}
	return v
}

func (l *loader) eventually(d *decode.Decoder, n *yaml.Node, what string) *Eventually {
	ev := &Eventually{Timeout: 10 * 1e9, Interval: 100 * 1e6}
	n = decode.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if n.Value != "true" {
			return nil
		}
		return ev
	}
	if n.Kind == yaml.ScalarNode {
		if v, ok := d.Duration(n, what+".eventually"); ok {
			ev.Timeout = v
		}
		return ev
	}
	for _, f := range d.Fields(n, what+".eventually") {
		switch f.Key {
		case "timeout":
			if v, ok := d.Duration(f.Value, what+".eventually.timeout"); ok {
				ev.Timeout = v
			}
		case "interval":
			if v, ok := d.Duration(f.Value, what+".eventually.interval"); ok {
				ev.Interval = v
			}
		default:
			d.UnknownKey(f.KeyN, what+".eventually", []string{"timeout", "interval"})
		}
	}
	if ev.Interval <= 0 {
		ev.Interval = 100 * 1e6
	}
	return ev
}

var leadingFieldRE = regexp.MustCompile(`^\.([A-Za-z_][A-Za-z0-9_]*)`)

func (l *loader) captures(d *decode.Decoder, n *yaml.Node, what string, fields []expect.Field) []Capture {
	var out []Capture
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	for _, f := range d.Fields(n, what+".capture") {
		if !validName(f.Key) {
			d.Errorf(f.KeyN, "capture: %q is not a valid variable name", f.Key).
				WithHint("use letters, digits and _, starting with a letter or _")
			continue
		}
		v := decode.Resolve(f.Value)
		if v.Kind != yaml.ScalarNode {
			d.Errorf(v, "capture %s: want a jq query like .body.id, got %s", f.Key, decode.KindName(v))
			continue
		}
		q, err := expr.CompileQuery(v.Value)
		if err != nil {
			d.Errorf(v, "capture %s: %v", f.Key, err).WithHint("queries are jq syntax over the step result, like .body.id")
			continue
		}
		if m := leadingFieldRE.FindStringSubmatch(v.Value); m != nil && !contains(names, m[1]) {
			e := d.Errorf(v, "capture %s: the result has no field %q", f.Key, m[1])
			if c := diag.Closest(m[1], names); c != "" {
				e.WithHint("did you mean .%s? the result has: %s", c, strings.Join(names, ", "))
			} else {
				e.WithHint("the result has: %s; e.g. .body.id", strings.Join(names, ", "))
			}
			continue
		}
		out = append(out, Capture{Name: f.Key, Query: q, Pos: d.Pos(f.KeyN)})
	}
	return out
}

// captureNames adds to defined the valid names a step node's capture:
// gives, whatever their queries; its problems are told by captures.
func captureNames(n *yaml.Node, defined map[string]bool) {
	n = decode.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "capture" {
			continue
		}
		c := decode.Resolve(n.Content[i+1])
		if c == nil || c.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(c.Content); j += 2 {
			if k := decode.Resolve(c.Content[j]); k != nil && k.Kind == yaml.ScalarNode && validName(k.Value) {
				defined[k.Value] = true
			}
		}
	}
}

// describe derives a readable step name from its inputs, for reports.
func describe(kind string, n *yaml.Node) string {
	if n == nil {
		return kind
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if kind == "http" {
			if strings.Contains(strings.TrimSpace(n.Value), " ") {
				return strings.TrimSpace(n.Value)
			}
			return "GET " + strings.TrimSpace(n.Value)
		}
		return kind + " " + n.Value
	case yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode {
				parts = append(parts, c.Value)
			}
		}
		if len(parts) > 0 {
			return kind + " " + strings.Join(parts, " ")
		}
		// A list of actions ({open: ui}, {click: "#save"}): the first
		// few, each by its key and scalar value.
		for _, c := range n.Content {
			if len(parts) == 3 {
				parts[2] += ", …"
				break
			}
			if c.Kind == yaml.MappingNode && len(c.Content) >= 2 {
				p := c.Content[0].Value
				if v := c.Content[1]; v.Kind == yaml.ScalarNode {
					p += " " + v.Value
				}
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 {
			return kind
		}
		return kind + " " + strings.Join(parts, ", ")
	}
	get := func(key string) string {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
				return n.Content[i+1].Value
			}
		}
		return ""
	}
	switch kind {
	case "http":
		method := strings.ToUpper(get("method"))
		if method == "" {
			method = "GET"
		}
		target := get("url")
		if target == "" {
			target = get("service") + " " + get("path")
		}
		return fmt.Sprintf("%s %s", method, target)
	case "exec":
		return "exec " + get("command")
	case "nats", "redis", "sql":
		for _, k := range []string{"publish", "receive", "stream", "command", "query"} {
			if v := get(k); v != "" {
				return kind + " " + k + " " + v
			}
		}
	}
	return kind
}
