// Package expect compiles the `expect:` trees of suite files into checks
// and runs them against a step's structured result. Operators are small
// plug-ins listed in one table (Builtin).
package expect

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// Usage documents a plug-in for `seam help`.
type Usage struct {
	Name    string
	Summary string
	Example string
}

// Operator is one assertion operator as written in a suite (`contains: x`).
type Operator interface {
	Usage() Usage
	// Compile decodes the operand at load time; problems go to c.
	Compile(c *Compiler, n *yaml.Node) Check
}

// Got is the value under test; Found is false when a query found nothing.
type Got struct {
	Value any
	Found bool
}

// Check tests one value and returns nil when it holds.
type Check interface {
	Check(got Got, vars expr.Vars) *Failure
}

// Failure says why a check did not hold.
type Failure struct {
	Pos  diag.Pos // the expectation that failed, when known
	Path string   // where in the result, like `body .items[0].sku`
	Got  string
	Want string
	Msg  string // used instead of got/want when set
	Diff string
}

// MaxShown is the most of a got or want value, in bytes, that a failure
// renders: a megabyte body must not fill the console and every report
// (twice); the rest is counted, "… (N bytes more)". MaxLine bounds each
// line of a message the same way.
const (
	MaxShown = 300
	MaxLine  = 2000
)

// Error renders the failure, every got and want value bounded to
// MaxShown bytes and every line of Msg to MaxLine.
func (f *Failure) Error() string {
	var s string
	if f.Msg != "" {
		lines := strings.Split(f.Msg, "\n")
		for i, l := range lines {
			lines[i] = truncate(l, MaxLine)
		}
		s = strings.Join(lines, "\n")
	} else {
		s = "got " + truncate(f.Got, MaxShown) + "; want " + truncate(f.Want, MaxShown)
	}
	if f.Path != "" {
		s = f.Path + ": " + s
	}
	return s
}

// Table is the set of operators a suite may use.
type Table map[string]Operator

// Builtin returns seam's operators.
func Builtin() Table {
	t := Table{}
	for _, op := range []Operator{
		eqOp{}, neOp{}, inOp{}, containsOp{}, matchOp{}, existsOp{}, absentOp{},
		lengthOp{}, cmpOp{"gt"}, cmpOp{"gte"}, cmpOp{"lt"}, cmpOp{"lte"},
		typeOp{}, schemaOp{}, exprOp{}, notOp{}, allOp{},
	} {
		t[op.Usage().Name] = op
	}
	return t
}

// Names lists the operator names in order.
func (t Table) Names() []string { return expr.SortedKeys(t) }

// Compiler turns expectation nodes into checks.
type Compiler struct {
	D   *decode.Decoder
	Ops Table
	// shape is what the value being compiled is known to be, so a
	// mapping that cannot be keys of it is reported as unknown operators.
	shape Shape
}

// Shape is what a result field's value is known to be, for validation.
type Shape int

const (
	// AnyShape is any JSON value: a mapping of keys under it is an
	// object having those keys.
	AnyShape Shape = iota
	// ScalarShape is text, a number or a boolean (stdout, status,
	// exit_code): a mapping under it can only hold operators.
	ScalarShape
	// HeadersShape is an object whose values are scalars, or lists of
	// them (headers, trailers): a mapping under a key can only hold
	// operators.
	HeadersShape
)

// within compiles with the value known to be of shape s.
func (c *Compiler) within(s Shape, f func() Check) Check {
	prev := c.shape
	c.shape = s
	defer func() { c.shape = prev }()
	return f()
}

// Matcher compiles the expectation at n for the value at path. The forms:
//   - a scalar or a list: typed equality;
//   - a mapping whose keys start with ".": jq queries into the value, each
//     with its own expectation;
//   - a mapping of operator names: every operator must hold;
//   - any other mapping: the value is an object having at least these keys,
//     each matching its expectation (fold compares keys case-insensitively).
func (c *Compiler) Matcher(n *yaml.Node, path string, fold bool) Check {
	n = decode.Resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		v := &expr.Value{}
		v.DecodeYAML(c.D, n)
		return eqCheck{want: *v}
	}
	fields := c.D.Fields(n, path)
	var queries, ops, keys int
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f.Key, "."):
			queries++
		case c.Ops[f.Key] != nil:
			ops++
		default:
			keys++
		}
	}
	switch {
	case queries > 0 && queries < len(fields):
		for _, f := range fields {
			if !strings.HasPrefix(f.Key, ".") {
				c.D.Errorf(f.KeyN, "%s: %q mixed with jq queries", path, f.Key).
					WithHint("under one key, write either jq queries (starting with .) or operators, not both; use .%s to query a field", f.Key)
			}
		}
		return nil
	case queries > 0:
		qc := queryCheck{}
		for _, f := range fields {
			q, err := expr.CompileQuery(f.Key)
			if err != nil {
				c.D.Errorf(f.KeyN, "%s: %v", path, err).WithHint("queries are jq syntax, like .items[0].id")
				continue
			}
			m := c.within(AnyShape, func() Check { return c.Matcher(f.Value, strings.TrimSpace(path+" "+f.Key), false) })
			if m != nil {
				qc.items = append(qc.items, queryItem{q: q, m: m, pos: c.D.Pos(f.KeyN)})
			}
		}
		return qc
	case ops > 0 && keys > 0:
		for _, f := range fields {
			if c.Ops[f.Key] == nil {
				e := c.D.Errorf(f.KeyN, "%s: unknown operator %q", path, f.Key)
				if s := diag.Closest(f.Key, c.Ops.Names()); s != "" {
					e.WithHint("did you mean %q? to match an object key named %q, query it as .%s", s, f.Key, f.Key)
				} else {
					e.WithHint("operators: %s; to match an object key, query it as .%s", strings.Join(c.Ops.Names(), ", "), f.Key)
				}
			}
		}
		return nil
	case ops > 0:
		all := allCheck{}
		for _, f := range fields {
			if ch := c.Ops[f.Key].Compile(c, f.Value); ch != nil {
				all = append(all, atCheck{pos: c.D.Pos(f.KeyN), m: ch})
			}
		}
		return all
	}
	if c.shape == ScalarShape {
		for _, f := range fields {
			e := c.D.Errorf(f.KeyN, "%s: unknown operator %q", path, f.Key)
			if s := diag.Closest(f.Key, c.Ops.Names()); s != "" {
				e.WithHint("did you mean %q? %s holds a single value, so a mapping under it holds operators (seam help expect)", s, path)
			} else {
				e.WithHint("%s holds a single value, so a mapping under it holds operators: %s", path, strings.Join(c.Ops.Names(), ", "))
			}
		}
		return nil
	}
	if len(fields) == 1 {
		// A lone key next to an operator's name is a misspelt operator
		// far more often than an object check: {matches: ^p} would
		// otherwise pass as "an object with a key matches" and fail
		// only when run.
		f := fields[0]
		if op := nearOperator(f.Key, c.Ops.Names()); op != "" {
			c.D.Errorf(f.KeyN, "%s: unknown operator %q", path, f.Key).
				WithHint("did you mean %q? to check an object key named %q, query it as .%s", op, f.Key, f.Key)
			return nil
		}
	}
	inner := AnyShape
	if c.shape == HeadersShape {
		inner = ScalarShape
	}
	hc := hasCheck{fold: fold}
	for _, f := range fields {
		m := c.within(inner, func() Check { return c.Matcher(f.Value, strings.TrimSpace(path+" "+f.Key), false) })
		if m != nil {
			hc.keys = append(hc.keys, f.Key)
			hc.ms = append(hc.ms, atCheck{pos: c.D.Pos(f.KeyN), m: m})
		}
	}
	return hc
}

// misnamed is the operator named name in other tools ("matches" for
// match), or "".
func misnamed(name string) string {
	switch strings.ToLower(name) {
	case "matches", "regex", "regexp":
		return "match"
	case "equals", "equal":
		return "eq"
	case "contain":
		return "contains"
	case "exist":
		return "exists"
	case "len":
		return "length"
	}
	return ""
}

// nearOperator is the operator key is most likely a misspelling of, or
// "": a name other tools use for it, or one slip of the fingers (two
// letters swapped, one dropped or one doubled) from an operator of five
// letters or more. Shorter operators (eq, in, gt, not, type, expr), a
// letter changed (patch, scheme) and a plural (schemas) are left out:
// those are ordinary keys.
func nearOperator(key string, ops []string) string {
	if op := misnamed(key); op != "" && slices.Contains(ops, op) {
		return op
	}
	k := strings.ToLower(key)
	for _, op := range ops {
		if len(op) < 5 || k == op || k == op+"s" {
			continue
		}
		if swapped(k, op) || dropped(k, op) || dropped(op, k) {
			return op
		}
	}
	return ""
}

// swapped reports whether a is b with two adjacent letters swapped.
func swapped(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// dropped reports whether a is b with one letter left out.
func dropped(a, b string) bool {
	if len(a)+1 != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return a[i:] == b[i+1:]
}

type eqCheck struct{ want expr.Value }

func (e eqCheck) Check(got Got, vars expr.Vars) *Failure {
	want, err := e.want.Eval(vars)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	return equalFailure(want, got)
}

func equalFailure(want any, got Got) *Failure {
	if !got.Found && want != nil {
		return &Failure{Got: "nothing (absent)", Want: expr.Show(want)}
	}
	if Equal(want, got.Value) {
		return nil
	}
	f := &Failure{Got: expr.Show(got.Value), Want: expr.Show(want), Diff: Diff(want, got.Value)}
	if got.Value != nil && want != nil && expr.TypeName(want) != expr.TypeName(got.Value) {
		f.Got += " (" + expr.TypeName(got.Value) + ")"
		f.Want += " (" + expr.TypeName(want) + ")"
	}
	// Shorter still beside a diff, which shows the difference whole.
	if f.Diff != "" {
		f.Got, f.Want = truncate(f.Got, 200), truncate(f.Want, 200)
	}
	return f
}

// truncate cuts s to at most n bytes, at a character's start (never
// inside a UTF-8 sequence), saying how much it left out.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := diag.Prefix(s, n)
	return cut + fmt.Sprintf("… (%d bytes more)", len(s)-len(cut))
}

// atCheck gives the failures of m the position of the expectation that
// holds it, unless a check nested deeper already set one, so a report points
// at the innermost expectation that failed.
type atCheck struct {
	pos diag.Pos
	m   Check
}

func (a atCheck) Check(got Got, vars expr.Vars) *Failure {
	f := a.m.Check(got, vars)
	if f != nil && f.Pos.IsZero() {
		f.Pos = a.pos
	}
	return f
}

type queryItem struct {
	q   *expr.Query
	m   Check
	pos diag.Pos
}

type queryCheck struct{ items []queryItem }

func (qc queryCheck) Check(got Got, vars expr.Vars) *Failure {
	for _, it := range qc.items {
		out, found, err := it.q.Run(got.Value)
		if err != nil {
			return &Failure{Pos: it.pos, Path: it.q.String(), Msg: err.Error()}
		}
		if f := it.m.Check(Got{Value: out, Found: found}, vars); f != nil {
			f.Path = joinPath(it.q.String(), f.Path)
			if f.Pos.IsZero() {
				f.Pos = it.pos
			}
			return f
		}
	}
	return nil
}

func joinPath(a, b string) string {
	switch {
	case b == "":
		return a
	case a == "":
		return b
	case strings.HasPrefix(b, "."):
		return a + " " + b
	case strings.HasPrefix(b, "["):
		return a + b // a list index: .items[1], not .items.[1]
	}
	return a + "." + b
}

type hasCheck struct {
	keys []string
	ms   []Check
	fold bool
}

func (h hasCheck) Check(got Got, vars expr.Vars) *Failure {
	obj, ok := got.Value.(map[string]any)
	if !ok {
		return &Failure{Got: expr.Show(got.Value), Want: "an object with keys " + strings.Join(h.keys, ", ")}
	}
	for i, k := range h.keys {
		v, found := obj[k]
		if !found && h.fold {
			for ok, ov := range obj {
				if strings.EqualFold(ok, k) {
					v, found = ov, true
					break
				}
			}
		}
		if f := h.ms[i].Check(Got{Value: v, Found: found}, vars); f != nil {
			f.Path = joinPath(k, f.Path)
			return f
		}
	}
	return nil
}

type allCheck []Check

func (a allCheck) Check(got Got, vars expr.Vars) *Failure {
	for _, c := range a {
		if f := c.Check(got, vars); f != nil {
			return f
		}
	}
	return nil
}

// Field describes one field of a step kind's result, for validation and docs.
type Field struct {
	Name     string
	Doc      string
	FoldKeys bool // object keys compare case-insensitively (HTTP headers)
	Shape    Shape
}

// Expectation is a compiled `expect:` block of a step.
type Expectation struct {
	Pos    diag.Pos
	fields []string
	poses  []diag.Pos
	checks []Check
	that   []*expr.Program
	thatAt []diag.Pos
}

// IsZero reports whether there is nothing to check.
func (e *Expectation) IsZero() bool { return e == nil || (len(e.checks) == 0 && len(e.that) == 0) }

// Checks reports whether the expectation says anything of field: it names
// it, or has a that: expression, which may.
func (e *Expectation) Checks(field string) bool {
	return e != nil && (len(e.that) > 0 || slices.Contains(e.fields, field))
}

// Compile compiles a step's `expect:` mapping against the fields its kind
// yields. `that:` takes expressions over the whole result.
func (c *Compiler) Compile(n *yaml.Node, fields []Field) *Expectation {
	e := &Expectation{Pos: c.D.Pos(n)}
	byName := map[string]Field{}
	names := []string{"that"}
	for _, f := range fields {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	for _, f := range c.D.Fields(n, "expect") {
		if f.Key == "that" {
			progs, poses := c.expressions(f.Value, fields)
			e.that = append(e.that, progs...)
			e.thatAt = append(e.thatAt, poses...)
			continue
		}
		fd, ok := byName[f.Key]
		if !ok {
			e := c.D.Errorf(f.KeyN, "expect: unknown result field %q", f.Key)
			if s := diag.Closest(f.Key, names); s != "" {
				e.WithHint("did you mean %q?", s)
			} else {
				sort.Strings(names)
				e.WithHint("this step's result has: %s", strings.Join(names, ", "))
			}
			continue
		}
		if m := c.within(fd.Shape, func() Check { return c.Matcher(f.Value, f.Key, fd.FoldKeys) }); m != nil {
			e.fields = append(e.fields, f.Key)
			e.poses = append(e.poses, c.D.Pos(f.KeyN))
			e.checks = append(e.checks, m)
		}
	}
	return e
}

func (c *Compiler) expressions(n *yaml.Node, fields []Field) ([]*expr.Program, []diag.Pos) {
	n = decode.Resolve(n)
	var nodes []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		nodes = n.Content
	} else {
		nodes = []*yaml.Node{n}
	}
	defined := map[string]bool{}
	for k := range c.D.Vars {
		defined[k] = true
	}
	for _, f := range fields {
		defined[f.Name] = true
	}
	if c.D.Vars == nil {
		defined = nil
	}
	var out []*expr.Program
	var poses []diag.Pos
	for _, x := range nodes {
		if x.Kind != yaml.ScalarNode {
			c.D.Errorf(x, "that: want an expression string, got %s", decode.KindName(x))
			continue
		}
		p, err := expr.Compile(x.Value, defined)
		if err != nil {
			e := c.D.Errorf(x, "that: %v", err)
			if ue, ok := err.(*expr.UndefinedError); ok {
				e.Hint = ue.Hint()
			}
			continue
		}
		p.NoteServices(c.D, x)
		out = append(out, p)
		poses = append(poses, c.D.Pos(x))
	}
	return out, poses
}

// Check runs every check on result (the step's fields) and returns the
// first failure.
func (e *Expectation) Check(result map[string]any, vars expr.Vars) *Failure {
	if e == nil {
		return nil
	}
	for i, name := range e.fields {
		v, found := result[name]
		if f := e.checks[i].Check(Got{Value: v, Found: found}, vars); f != nil {
			f.Path = joinPath(name, f.Path)
			if f.Pos.IsZero() {
				f.Pos = e.poses[i]
			}
			return f
		}
	}
	if len(e.that) > 0 {
		env := expr.Vars{}
		for k, v := range vars {
			env[k] = v
		}
		for k, v := range result {
			env[k] = v
		}
		for i, p := range e.that {
			out, err := p.Eval(env)
			if err != nil {
				return &Failure{Pos: e.thatAt[i], Path: "that", Msg: err.Error()}
			}
			if b, ok := out.(bool); !ok || !b {
				return &Failure{Pos: e.thatAt[i], Path: "that", Msg: fmt.Sprintf("%s: got %s; want true", p.String(), expr.Show(out))}
			}
		}
	}
	return nil
}
