// Package expr evaluates what suite files compute: `((…))` templates inside
// strings, expressions (expr-lang), and jq queries into JSON (gojq).
//
// The template syntax `((expr))` was chosen because parentheses are not YAML
// indicators: a templated value never needs quoting, inside block or flow
// collections alike (the `{{ }}` syntax of other tools starts a YAML flow
// mapping and must always be quoted). `$((` is left alone, so shell
// arithmetic in exec steps keeps working.
package expr

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// Vars are the values templates and expressions see at run time: suite
// variables, --var values, captures, and "env" (the process environment).
type Vars map[string]any

// Program is a compiled expr-lang expression.
type Program struct {
	src      string
	prog     *vm.Program
	services []call // service("name") calls with a constant name
}

// call is a call with a constant string argument, at a byte offset of
// the expression, and the fields read of what it returns.
type call struct {
	arg  string
	at   int
	path []field
}

// field is a constant field read of a value (.ports, ["admin"]), at a
// byte offset of the expression.
type field struct {
	name string
	at   int
}

// serviceCalls finds every service("name") whose name is a constant, by
// the expression's syntax tree (a name computed at run time is checked
// when it runs), with the constant fields read of its result:
// service("web").ports.admin reads ports, then admin.
func serviceCalls(src string, root ast.Node) []call {
	var out []call
	index := map[*ast.CallNode]int{}
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		c, ok := (*n).(*ast.CallNode)
		if !ok || len(c.Arguments) != 1 {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "service" {
			return
		}
		if s, ok := c.Arguments[0].(*ast.StringNode); ok {
			index[c] = len(out)
			out = append(out, call{arg: s.Value, at: byteOffset(src, c.Arguments[0].Location().From)})
		}
	}))
	if len(out) == 0 {
		return out
	}
	// Each chain of fields read of a call, the longest: the walk meets
	// the outer member nodes after the inner ones.
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		m, ok := (*n).(*ast.MemberNode)
		if !ok {
			return
		}
		var path []field
		var x ast.Node = m
		for {
			switch y := x.(type) {
			case *ast.MemberNode:
				p, ok := y.Property.(*ast.StringNode)
				if !ok || y.Method {
					path = nil // computed, or a method call: only what comes before it counts
				} else {
					path = append([]field{{name: p.Value, at: byteOffset(src, p.Location().From)}}, path...)
				}
				x = y.Node
				continue
			case *ast.ChainNode:
				x = y.Node
				continue
			case *ast.CallNode:
				if i, ok := index[y]; ok && len(path) > len(out[i].path) {
					out[i].path = path
				}
			}
			return
		}
	}))
	return out
}

// byteOffset is the byte offset in s of the rune offset r (expr-lang
// counts positions in runes).
func byteOffset(s string, r int) int {
	for i := range s {
		if r == 0 {
			return i
		}
		r--
	}
	return len(s)
}

// String is the expression's source.
func (p *Program) String() string { return p.src }

// Eval runs the expression on vars and returns a canonical value.
func (p *Program) Eval(vars Vars) (any, error) {
	out, err := expr.Run(p.prog, map[string]any(vars))
	if err != nil {
		return nil, fmt.Errorf("(( %s )): %v", p.src, locRE.ReplaceAllString(firstLine(err.Error()), ""))
	}
	return Normalize(out), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var locRE = regexp.MustCompile(`\s*\((\d+):(\d+)\)$`)

// Compile compiles an expression and checks that every variable it reads is
// in defined (when defined is not nil). Extra names are valid in addition,
// for operators that bind their own (like "value").
func Compile(src string, defined map[string]bool, extra ...string) (*Program, error) {
	p, errs := compile(src, defined, extra)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return p, nil
}

// compile is Compile giving every problem: each name that is not
// defined is its own *UndefinedError, in the order the expression reads
// them, so a suite's validation tells them all at once.
func compile(src string, defined map[string]bool, extra []string) (*Program, []error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, []error{fmt.Errorf("bad expression %q: %s", src, locRE.ReplaceAllString(firstLine(err.Error()), ""))}
	}
	if defined != nil {
		if errs := checkNames(tree.Node, defined, extra); len(errs) > 0 {
			return nil, errs
		}
	}
	if p, ok := programs.Load(src); ok {
		return p.(*Program), nil
	}
	prog, err := expr.Compile(src, shadowing(tree.Node)...)
	if err != nil {
		return nil, []error{fmt.Errorf("bad expression %q: %s", src, locRE.ReplaceAllString(firstLine(err.Error()), ""))}
	}
	p := &Program{src: src, prog: prog, services: serviceCalls(src, tree.Node)}
	programs.Store(src, p)
	return p, nil
}

// shadowing gives the options that make a variable named like one of
// expr-lang's builtins (max, first, type, count, …) read as the variable
// where the expression names it bare (max + 1): compiled without them it
// is the builtin function, and max + 1 fails. Calls (max(a, b)) stay the
// builtin's unless the expression also reads the name bare.
func shadowing(root ast.Node) []expr.Option {
	env := types.Map{}
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if id, ok := (*n).(*ast.IdentifierNode); ok {
			if _, named := builtin.Index[id.Value]; named {
				env[id.Value] = types.Any
			}
		}
	}))
	if len(env) == 0 {
		return nil
	}
	return []expr.Option{expr.Env(env), expr.AllowUndefinedVariables()}
}

// programs caches compiled expressions by source: a suite repeats the same
// ((base)) in every step, and compiled programs are immutable and safe to
// share.
var programs sync.Map

// UndefinedError is an expression that reads a variable nobody defined.
type UndefinedError struct {
	Name    string
	Defined []string
}

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("undefined variable %q", e.Name)
}

// Hint suggests the nearest defined name, or lists them.
func (e *UndefinedError) Hint() string {
	if c := diag.Closest(e.Name, e.Defined); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	if len(e.Defined) == 0 {
		return "define it under vars:, pass --var " + e.Name + "=VALUE, or capture it in an earlier step"
	}
	return "defined here: " + strings.Join(e.Defined, ", ") + "; or define it under vars:, pass --var, or capture it in an earlier step"
}

// Unknown, as a name in a set of defined names, stands for names that
// may be defined but cannot be known at load (those a use of reusable
// steps that do not exist would capture): no name is then reported as
// undefined, since its cause is told already.
const Unknown = "\x00unknown"

type nameChecker struct {
	defined map[string]bool
	extra   []string
	local   map[string]bool
	names   []string // defined and extra, sorted; made at the first error
	seen    map[string]bool
	errs    []error
}

func (c *nameChecker) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.VariableDeclaratorNode:
		c.local[x.Name] = true
	case *ast.IdentifierNode:
		if c.defined[x.Value] || c.local[x.Value] || c.seen[x.Value] || c.defined[Unknown] {
			return
		}
		for _, e := range c.extra {
			if e == x.Value {
				return
			}
		}
		if c.names == nil {
			for k := range c.defined {
				c.names = append(c.names, k)
			}
			c.names = append(c.names, c.extra...)
			sort.Strings(c.names)
		}
		c.seen[x.Value] = true
		c.errs = append(c.errs, &UndefinedError{Name: x.Value, Defined: c.names})
	}
}

// checkNames gives an *UndefinedError for each name root reads that is
// neither defined, nor extra, nor bound inside it (let), once each.
func checkNames(root ast.Node, defined map[string]bool, extra []string) []error {
	c := &nameChecker{defined: defined, extra: extra, local: map[string]bool{}, seen: map[string]bool{}}
	// let-bound names may be used before the walker reaches their
	// declarator, so collect them first.
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		if d, ok := (*n).(*ast.VariableDeclaratorNode); ok {
			c.local[d.Name] = true
		}
	}))
	ast.Walk(&root, c)
	return c.errs
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

// NoteServices records the services p names by a constant, service("db"),
// in d's collection (when it keeps one), at the positions they have in n,
// the scalar p's source is.
func (p *Program) NoteServices(d *decode.Decoder, n *yaml.Node) {
	if d.Services == nil {
		return
	}
	p.noteServices(d, func(at int) diag.Pos { return offsetPos(d, n, at) })
}

// noteServices records p's service calls and the fields read of them in
// d's collection, each at pos of its byte offset in p's source.
func (p *Program) noteServices(d *decode.Decoder, pos func(int) diag.Pos) {
	for _, c := range p.services {
		named := decode.Named{Name: c.arg, Pos: pos(c.at)}
		for _, f := range c.path {
			named.Path = append(named.Path, decode.Named{Name: f.name, Pos: pos(f.at)})
		}
		*d.Services = append(*d.Services, named)
	}
}

// Str is a string field that may contain ((…)) templates.
type Str struct {
	Raw   string
	Pos   diag.Pos
	parts []part
}

type part struct {
	lit  string
	prog *Program
	at   int // the byte offset of prog's source in the string
}

// Lit makes a Str holding plain text.
func Lit(s string) Str {
	return Str{Raw: s, parts: []part{{lit: s}}}
}

// IsZero reports whether the field was left out.
func (s Str) IsZero() bool { return s.Raw == "" && len(s.parts) == 0 }

// IsTemplate reports whether s contains any template.
func (s Str) IsTemplate() bool {
	for _, p := range s.parts {
		if p.prog != nil {
			return true
		}
	}
	return false
}

// WithHoles is s's text with each template replaced by hole: what is
// known of the value before the templates are evaluated (a nats step's
// subject, orders.((id)), is orders. and one or more tokens).
func (s Str) WithHoles(hole string) string {
	if len(s.parts) == 0 {
		return s.Raw
	}
	var b strings.Builder
	for _, p := range s.parts {
		if p.prog != nil {
			b.WriteString(hole)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// DecodeYAML implements decode.Unmarshaler.
func (s *Str) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	s.Pos = d.Pos(n)
	if n.Kind != yaml.ScalarNode {
		e := d.Errorf(n, "want a string, got %s", decode.KindName(n))
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 || n.Kind == yaml.MappingNode && len(n.Content) == 2 {
			e.WithHint("if this is text, quote it: inside [ ] or { }, \": \" starts a key")
		}
		return
	}
	s.Raw = n.Value
	// Every problem is told, and the services of the templates that
	// compiled are noted even when another did not: one mistake in a
	// string hides none of the others.
	parts, errs := parseTemplate(n.Value, d.Vars)
	for _, err := range errs {
		reportTemplateError(d, n, err)
	}
	if d.Services != nil {
		for _, p := range parts {
			if p.prog != nil {
				p.prog.noteServices(d, func(at int) diag.Pos { return offsetPos(d, n, p.at+at) })
			}
		}
	}
	if len(errs) == 0 {
		s.parts = parts
	}
}

// offsetPos is the position in the file of a byte offset into n's text.
func offsetPos(d *decode.Decoder, n *yaml.Node, offset int) diag.Pos {
	return d.PosIn(n, offset)
}

// TemplateError is a problem inside a template, at a byte offset of the
// string.
type TemplateError struct {
	Offset int
	Err    error
}

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// FileStr parses text, read from file (a template file of the user's), as
// a Str with the names d defines; a problem is reported at its line and
// column in file.
func FileStr(d *decode.Decoder, file, text string) Str {
	s := Str{Raw: text, Pos: diag.Pos{File: file, Line: 1, Col: 1}}
	// at is the position of a byte offset in text; columns count
	// characters, as YAML's do.
	at := func(offset int) diag.Pos {
		before := text[:min(offset, len(text))]
		line := strings.Count(before, "\n")
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
		return diag.Pos{File: file, Line: 1 + line, Col: col}
	}
	parts, errs := parseTemplate(text, d.Vars)
	for _, err := range errs {
		pos := s.Pos
		if err.Offset <= len(text) {
			pos = at(err.Offset)
		}
		addTemplateError(d, nil, pos, err)
	}
	if d.Services != nil {
		for _, p := range parts {
			if p.prog != nil {
				p.prog.noteServices(d, func(off int) diag.Pos { return at(p.at + off) })
			}
		}
	}
	if len(errs) == 0 {
		s.parts = parts
	}
	return s
}

func reportTemplateError(d *decode.Decoder, n *yaml.Node, err error) {
	pos := d.Pos(n)
	if te, _ := err.(*TemplateError); te != nil {
		pos = offsetPos(d, n, te.Offset)
	}
	addTemplateError(d, n, pos, err)
}

// addTemplateError reports err, found in node n (nil: in a file of its
// own), at pos.
func addTemplateError(d *decode.Decoder, n *yaml.Node, pos diag.Pos, err error) {
	e := diag.Errorf(pos, "%v", err)
	if ue, ok := errorsAs[*UndefinedError](err); ok {
		e.Hint = ue.Hint()
		if h, later := d.Later[ue.Name]; later {
			e.Msg = fmt.Sprintf("%q is not known here", ue.Name)
			e.Hint = h
		}
	}
	if n == nil {
		d.Errs.Add(e)
		return
	}
	d.Report(n, e)
}

func errorsAs[T error](err error) (T, bool) {
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	var zero T
	return zero, false
}

// ParseTemplate splits s into literal text and compiled ((…)) expressions.
// The error, if any, is the first *TemplateError in s.
func ParseTemplate(s string, defined map[string]bool) ([]part, error) {
	parts, errs := parseTemplate(s, defined)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return parts, nil
}

// parseTemplate is ParseTemplate giving every problem in s, in order: a
// template that does not compile is passed over and the next is read,
// until one is not closed (then where the next starts is unknown). The
// parts are those that compiled.
func parseTemplate(s string, defined map[string]bool) ([]part, []*TemplateError) {
	var parts []part
	var errs []*TemplateError
	lit := strings.Builder{}
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "((")
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		j += i
		if j > 0 && s[j-1] == '$' {
			// Shell arithmetic $((…)): not ours.
			end := j + 2
			lit.WriteString(s[i:end])
			i = end
			continue
		}
		lit.WriteString(s[i:j])
		end, err := templateEnd(s, j+2)
		if err != nil {
			errs = append(errs, &TemplateError{Offset: j, Err: err})
			break
		}
		i = end + 2
		src := strings.TrimSpace(s[j+2 : end])
		if src == "" {
			errs = append(errs, &TemplateError{Offset: j, Err: fmt.Errorf("empty template (( ))")})
			continue
		}
		at := j + 2 + strings.Index(s[j+2:end], src)
		prog, perrs := compile(src, defined, nil)
		for _, err := range perrs {
			errs = append(errs, &TemplateError{Offset: at, Err: err})
		}
		if prog == nil {
			continue
		}
		if lit.Len() > 0 {
			parts = append(parts, part{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, part{prog: prog, at: at})
	}
	if lit.Len() > 0 || len(parts) == 0 {
		parts = append(parts, part{lit: lit.String()})
	}
	return parts, errs
}

// templateEnd finds the "))" that closes a template opened before start,
// skipping parentheses and quotes of the expression inside.
func templateEnd(s string, start int) (int, error) {
	depth := 0
	for i := start; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			k := i + 1
			for k < len(s) && s[k] != c {
				if s[k] == '\\' && c != '`' {
					k++
				}
				k++
			}
			i = k
		case '(':
			depth++
		case ')':
			if depth == 0 {
				if i+1 < len(s) && s[i+1] == ')' {
					return i, nil
				}
				return 0, fmt.Errorf("template (( is closed by a single )")
			}
			depth--
		}
	}
	return 0, fmt.Errorf("template (( is not closed with ))")
}

// Value evaluates s: when s is exactly one template, the result keeps its
// type (a number stays a number); otherwise it is the joined text.
func (s Str) Value(vars Vars) (any, error) {
	if len(s.parts) == 1 && s.parts[0].prog != nil {
		v, err := s.parts[0].prog.Eval(vars)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return s.String(vars)
}

// String evaluates s to text. A template that yields null is an error, since
// an empty string in its place is almost never what was meant.
func (s Str) String(vars Vars) (string, error) {
	if len(s.parts) == 0 {
		return s.Raw, nil
	}
	if len(s.parts) == 1 && s.parts[0].prog == nil {
		return s.parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range s.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.prog.Eval(vars)
		if err != nil {
			return "", err
		}
		if v == nil {
			return "", p.prog.nullError(vars)
		}
		b.WriteString(Format(v))
	}
	return b.String(), nil
}

// nullError says that p gave null where text is wanted: because it reads
// a field a service does not have (service("web").uri), or else, with
// how to give a default.
func (p *Program) nullError(vars Vars) error {
	service, _ := vars["service"].(func(string) (map[string]any, error))
	for _, c := range p.services {
		if len(c.path) == 0 || service == nil {
			continue
		}
		info, err := service(c.arg)
		if err != nil {
			continue
		}
		f := c.path[0].name
		v, ok := info[f]
		if !ok {
			return fmt.Errorf("(( %s )): service(%q) has no field %q (its fields: %s)", p.src, c.arg, f, strings.Join(SortedKeys(info), ", "))
		}
		if ports, ok := v.(map[string]any); ok && len(c.path) > 1 {
			if _, ok := ports[c.path[1].name]; !ok {
				return fmt.Errorf("(( %s )): service(%q) has no port %q (its ports: %s)", p.src, c.arg, c.path[1].name, strings.Join(SortedKeys(ports), ", "))
			}
		}
	}
	return fmt.Errorf("(( %s )) is null; give a default with (( %s ?? \"…\" ))", p.src, p.src)
}

// Quoted evaluates s as String does, and also gives the text with each
// template's value passed through quote: a glob or a regular expression
// whose own wildcards keep their meaning while a value put into it
// (a captured "a+b") matches only itself.
func (s Str) Quoted(vars Vars, quote func(string) string) (text, quoted string, err error) {
	if len(s.parts) == 0 {
		return s.Raw, s.Raw, nil
	}
	var t, q strings.Builder
	for _, p := range s.parts {
		if p.prog == nil {
			t.WriteString(p.lit)
			q.WriteString(p.lit)
			continue
		}
		v, err := p.prog.Eval(vars)
		if err != nil {
			return "", "", err
		}
		if v == nil {
			return "", "", p.prog.nullError(vars)
		}
		t.WriteString(Format(v))
		q.WriteString(quote(Format(v)))
	}
	return t.String(), q.String(), nil
}

// Value is any YAML value (scalar, list, mapping) whose strings may hold
// templates; it evaluates to a canonical value with typed template results.
type Value struct {
	Pos  diag.Pos
	node valueNode
	set  bool
}

type valueNode struct {
	scalar any // non-string scalar
	str    *Str
	list   []valueNode
	keys   []string
	vals   []valueNode
	kind   int // 0 scalar, 1 str, 2 list, 3 map
}

// IsSet reports whether the field was given.
func (v Value) IsSet() bool { return v.set }

// DecodeYAML implements decode.Unmarshaler.
func (v *Value) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	v.Pos = d.Pos(n)
	v.set = true
	v.node = decodeValue(d, n)
}

func decodeValue(d *decode.Decoder, n *yaml.Node) valueNode {
	n = decode.Resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		out := valueNode{kind: 2}
		for _, c := range n.Content {
			out.list = append(out.list, decodeValue(d, c))
		}
		return out
	case yaml.MappingNode:
		out := valueNode{kind: 3}
		for _, f := range d.Fields(n, "value") {
			out.keys = append(out.keys, f.Key)
			out.vals = append(out.vals, decodeValue(d, f.Value))
		}
		return out
	}
	if decode.Tag(n) == "!!str" {
		s := &Str{}
		s.DecodeYAML(d, n)
		return valueNode{kind: 1, str: s}
	}
	x, err := decode.Scalar(n)
	if err != nil {
		d.Errorf(n, "%v", err)
	}
	return valueNode{scalar: Normalize(x)}
}

// ConstValue wraps a plain value (used when building suites in code).
func ConstValue(x any) Value {
	return Value{set: true, node: valueNode{scalar: Normalize(x)}}
}

// Eval evaluates every template in v.
func (v Value) Eval(vars Vars) (any, error) {
	return v.node.eval(vars)
}

func (n valueNode) eval(vars Vars) (any, error) {
	switch n.kind {
	case 1:
		return n.str.Value(vars)
	case 2:
		out := make([]any, len(n.list))
		for i, c := range n.list {
			x, err := c.eval(vars)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case 3:
		out := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			x, err := n.vals[i].eval(vars)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return n.scalar, nil
}

// IsTemplateOnly reports whether v is a string that is exactly one template.
func (v Value) IsTemplateOnly() bool {
	return v.node.kind == 1 && len(v.node.str.parts) == 1 && v.node.str.parts[0].prog != nil
}

// Const is v's value when v is a plain scalar that is not a string (a
// number, a boolean or null): the type a declared variable gives values
// passed from outside the suite.
func (v Value) Const() (any, bool) {
	if !v.set || v.node.kind != 0 {
		return nil, false
	}
	return v.node.scalar, true
}
