package suite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// Reusable steps: the steps: of the suite file (and of the files it
// includes) names lists of steps, each with
// parameters; a step `use: NAME` (with: the parameters' values) stands for
// that list, written in place. The used steps are decoded at each use, in
// the using test's scope, so a use is checked as if its steps were written
// there: an undefined variable, a service that does not exist, a capture
// a later step reads. What they capture is the test's, as if written in
// place; the parameters are set (from with:, else their defaults) as the
// first used step starts, and stay set for the rest of the test, as
// captures do.

// stepDef is one reusable list of steps.
type stepDef struct {
	name   string
	pos    diag.Pos
	params []param
	steps  *yaml.Node // a sequence of steps
	used   bool
	// file and src are where it is written: its steps are decoded as
	// that file's, whichever file uses them.
	file string
	src  []byte
}

// param is a parameter of a stepDef; def is its default (nil: required).
type param struct {
	name string
	def  *yaml.Node
	pos  diag.Pos
}

var (
	stepDefKeys = []string{"params", "steps"}
	useKeys     = []string{"use", "with", "name"}
)

// maxUseDepth bounds steps that use steps that use steps.
const maxUseDepth = 8

// stepDefs reads the suite file's steps:, a mapping of names to
// {params, steps}.
func (l *loader) stepDefs(d *decode.Decoder, n *yaml.Node) map[string]*stepDef {
	out := map[string]*stepDef{}
	n = decode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "steps: want reusable steps by name, got %s", decode.KindName(n)).
			WithHint("steps: {place an order: {params: [sku], steps: [...]}}; a test uses one with \"- use: place an order\"")
		return out
	}
	for _, f := range d.Fields(n, "steps") {
		def := &stepDef{name: f.Key, pos: d.Pos(f.KeyN), file: d.File, src: d.Src}
		if strings.TrimSpace(f.Key) == "" {
			d.Errorf(f.KeyN, "steps: a reusable step's name is empty")
			continue
		}
		v := decode.Resolve(f.Value)
		if v.Kind == yaml.SequenceNode {
			def.steps = v // a bare list: no parameters
			out[f.Key] = def
			continue
		}
		for _, g := range d.Fields(v, "steps."+f.Key) {
			switch g.Key {
			case "params":
				def.params = params(d, g.Value, f.Key)
			case "steps":
				if s := decode.Resolve(g.Value); s.Kind == yaml.SequenceNode {
					def.steps = s
				} else {
					d.Errorf(g.Value, "steps.%s.steps: want a list of steps, got %s", f.Key, decode.KindName(s))
				}
			default:
				d.UnknownKey(g.KeyN, "steps."+f.Key, stepDefKeys)
			}
		}
		if def.steps == nil {
			if v.Kind == yaml.MappingNode {
				d.Errorf(f.KeyN, "steps.%s: missing required key \"steps\"", f.Key)
			}
			continue
		}
		if len(def.steps.Content) == 0 {
			d.Errorf(def.steps, "steps.%s: no steps", f.Key)
			continue
		}
		out[f.Key] = def
	}
	return out
}

// params reads a reusable step's params: a list of names (each required)
// or a mapping of names to defaults (null: required).
func params(d *decode.Decoder, n *yaml.Node, def string) []param {
	var out []param
	seen := map[string]bool{}
	add := func(name string, at *yaml.Node, dflt *yaml.Node) {
		switch {
		case !validName(name):
			d.Errorf(at, "steps.%s.params: %q is not a valid variable name", def, name).
				WithHint("use letters, digits and _, starting with a letter or _")
		case seen[name]:
			d.Errorf(at, "steps.%s.params: %q twice", def, name)
		default:
			seen[name] = true
			out = append(out, param{name: name, def: dflt, pos: d.Pos(at)})
		}
	}
	n = decode.Resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range n.Content {
			it = decode.Resolve(it)
			if it.Kind != yaml.ScalarNode {
				d.Errorf(it, "steps.%s.params: want parameter names, got %s", def, decode.KindName(it))
				continue
			}
			add(it.Value, it, nil)
		}
	case yaml.MappingNode:
		for _, f := range d.Fields(n, "steps."+def+".params") {
			v := decode.Resolve(f.Value)
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				v = nil
			}
			add(f.Key, f.KeyN, v)
		}
	default:
		d.Errorf(n, "steps.%s.params: want a list of names or a mapping of names to defaults, got %s", def, decode.KindName(n))
	}
	return out
}

// isUse reports whether a step node is a use: of reusable steps.
func isUse(n *yaml.Node) bool {
	n = decode.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "use" {
			return true
		}
	}
	return false
}

// use decodes a use: step into the steps it stands for.
func (l *loader) use(d *decode.Decoder, n *yaml.Node, what string, defined map[string]bool, depth int) []*Step {
	n = decode.Resolve(n)
	var name, label string
	var useN, withN *yaml.Node
	for _, f := range d.Fields(n, what) {
		switch f.Key {
		case "use":
			useN = f.Value
			d.Decode(f.Value, &name, what+".use")
		case "with":
			withN = f.Value
		case "name":
			d.Decode(f.Value, &label, what+".name")
		default:
			// A use step stands for steps: expectations, captures and
			// the like go in them.
			d.UnknownKey(f.KeyN, what, useKeys)
		}
	}
	if name == "" {
		return nil
	}
	if defs, twice := l.dups[name]; twice {
		// Written twice (told once, where): which one this use means is
		// unknown, so it is checked against neither; what either
		// defines is defined after it, so the steps after are not told
		// about names it would give.
		l.withValues(d, withN, what, defined)
		for _, def := range defs {
			def.used = true
			l.definesInto(def, defined, depth)
		}
		return nil
	}
	def, ok := l.defs[name]
	if !ok {
		names := make([]string, 0, len(l.defs))
		for k := range l.defs {
			names = append(names, k)
		}
		sort.Strings(names)
		e := d.Errorf(useN, "%s: no reusable steps named %q", what, name)
		switch c := diag.Closest(name, names); {
		case c != "":
			e.WithHint("did you mean %q?", c)
		case len(names) > 0:
			e.WithHint("the suite file's steps: has %s", strings.Join(names, ", "))
		default:
			e.WithHint("define it in the suite file: steps: {%s: {params: [...], steps: [...]}}", name)
		}
		// What it would define is unknown: the names the steps after
		// it read are not checked, rather than each told undefined.
		l.withValues(d, withN, what, defined)
		defined[expr.Unknown] = true
		return nil
	}
	if depth >= maxUseDepth {
		d.Errorf(useN, "%s: reusable steps use each other more than %d deep (a cycle?)", what, maxUseDepth)
		return nil
	}
	if label == "" {
		label = name
	}
	return l.expand(d, n, def, label, withN, what, defined, depth, fmt.Sprintf("in %q, used at %s", name, d.Pos(n)))
}

// withValues checks the values of a use's with: in the using scope, for
// a use whose reusable steps are not known.
func (l *loader) withValues(d *decode.Decoder, withN *yaml.Node, what string, defined map[string]bool) {
	if withN == nil {
		return
	}
	prev := d.Vars
	defer func() { d.Vars = prev }()
	d.Vars = defined
	for _, f := range d.Fields(withN, what+".with") {
		var v Var
		v.Value.DecodeYAML(d, f.Value)
	}
}

// definesInto adds to defined the names a use of def defines: its
// parameters and what its steps capture, through the uses among them.
func (l *loader) definesInto(def *stepDef, defined map[string]bool, depth int) {
	if depth >= maxUseDepth {
		return
	}
	for _, p := range def.params {
		defined[p.name] = true
	}
	for _, sn := range def.steps.Content {
		sn = decode.Resolve(sn)
		if sn == nil || sn.Kind != yaml.MappingNode {
			continue
		}
		if !isUse(sn) {
			captureNames(sn, defined)
			continue
		}
		var name string
		for i := 0; i+1 < len(sn.Content); i += 2 {
			if v := decode.Resolve(sn.Content[i+1]); sn.Content[i].Value == "use" && v != nil {
				name = v.Value
			}
		}
		defs := l.dups[name]
		if d, ok := l.defs[name]; ok && defs == nil {
			defs = []*stepDef{d}
		}
		if len(defs) == 0 {
			defined[expr.Unknown] = true
		}
		for _, d := range defs {
			l.definesInto(d, defined, depth+1)
		}
	}
}

// expand decodes the steps of def for a use at n (with: withN) in the
// using test's scope; a problem in them is told once, where it is
// written, with at (which use) in its hint.
func (l *loader) expand(d *decode.Decoder, n *yaml.Node, def *stepDef, label string, withN *yaml.Node, what string, defined map[string]bool, depth int, at string) []*Step {
	name := def.name
	def.used = true
	// The parameters' values, in the using test's scope; then the
	// defaults, each of which may read the parameters before it.
	given := map[string]*yaml.Node{}
	var givenKeys []*yaml.Node
	if withN != nil {
		for _, f := range d.Fields(withN, what+".with") {
			given[f.Key] = f.Value
			givenKeys = append(givenKeys, f.KeyN)
		}
	}
	known := map[string]bool{}
	var names []string
	for _, p := range def.params {
		known[p.name] = true
		names = append(names, p.name)
	}
	for _, k := range givenKeys {
		if !known[k.Value] {
			e := d.Errorf(k, "%s: %q is not a parameter of %q", what, k.Value, name)
			if c := diag.Closest(k.Value, names); c != "" {
				e.WithHint("did you mean %q? its parameters: %s", c, strings.Join(names, ", "))
			} else if len(names) > 0 {
				e.WithHint("its parameters: %s", strings.Join(names, ", "))
			} else {
				e.WithHint("it takes no parameters")
			}
		}
	}
	prev := d.Vars
	defer func() { d.Vars = prev }()
	// The used steps (and the parameters' defaults) are decoded as their
	// own file's; a problem in them is reported once, where it is
	// written, naming the first use.
	sub := *decode.New(def.file, &diag.List{})
	sub.Src, sub.Dir, sub.Services, sub.Later = def.src, filepath.Dir(def.file), d.Services, d.Later
	var vars []Var
	scope := copySet(defined)
	for _, p := range def.params {
		v := Var{Name: p.name}
		switch g, ok := given[p.name]; {
		case ok:
			d.Vars = defined
			v.Pos = d.Pos(g)
			v.Value.DecodeYAML(d, g)
		case p.def != nil:
			sub.Vars = scope
			v.Pos = p.pos
			v.Value.DecodeYAML(&sub, p.def)
		default:
			d.Errorf(n, "%s: %q needs the parameter %q", what, name, p.name).
				WithHint("give it: with: {%s: …}", p.name)
			scope[p.name] = true // told once: the defaults after it may read it
			continue
		}
		scope[p.name] = true
		vars = append(vars, v)
	}
	for _, p := range def.params {
		defined[p.name] = true
	}
	var out []*Step
	for i, sn := range def.steps.Content {
		inner := fmt.Sprintf("steps.%s.steps[%d]", name, i)
		var got []*Step
		if isUse(sn) {
			got = l.use(&sub, sn, inner, defined, depth+1)
		} else if s := l.step(&sub, sn, inner, defined); s != nil {
			got = []*Step{s}
		}
		for _, s := range got {
			s.Name = label + " › " + s.Name
			out = append(out, s)
		}
	}
	if l.useErrs == nil {
		l.useErrs = map[string]bool{}
	}
	for _, e := range sub.Errs.Errors() {
		if depth > 0 {
			d.Errs.Add(e) // told once, by the outermost use
			continue
		}
		key := e.Pos.String() + "\x00" + e.Msg
		if l.useErrs[key] {
			continue
		}
		l.useErrs[key] = true
		if e.Hint != "" {
			e.Hint += " (" + at + ")"
		} else {
			e.Hint = at
		}
		d.Errs.Add(e)
	}
	if len(out) > 0 {
		out[0].Vars = append(vars, out[0].Vars...)
	}
	return out
}

// checkUnused decodes the reusable steps no test used, with their
// parameters as variables, so their problems are found all the same; and
// those whose name is written twice, which no use decodes.
func (l *loader) checkUnused(d *decode.Decoder) {
	names := make([]string, 0, len(l.defs))
	for k, def := range l.defs {
		if !def.used && l.dups[k] == nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		l.checkAlone(d, l.defs[name], fmt.Sprintf("in %q, which no test uses", name))
	}
	names = names[:0]
	for k := range l.dups {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, def := range l.dups[name] {
			l.checkAlone(d, def, fmt.Sprintf("in %q written at %s", name, def.pos))
		}
	}
}

// checkAlone decodes def as a use of it with no with: would, with a
// stand-in value for each required parameter.
func (l *loader) checkAlone(d *decode.Decoder, def *stepDef, at string) {
	defined := copySet(l.defined)
	with := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, p := range def.params {
		if p.def == nil {
			// A stand-in value: what a use would give is unknown.
			with.Content = append(with.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.name},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""})
		}
	}
	use := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: def.pos.Line, Column: def.pos.Col}
	l.expand(d, use, def, def.name, with, "steps."+def.name, defined, 0, at)
}

// includedDefs reads the steps: of the files the suite includes (globs,
// from dir), before any test is decoded, so that a test in any file may use
// reusable steps written in any other. Only a file with a top-level
// steps: is parsed here; problems of syntax are told when the file's
// tests are read.
func (l *loader) includedDefs(dir string, globs []string) {
	if l.defs == nil {
		l.defs = map[string]*stepDef{}
	}
	seen := map[string]bool{}
	for _, g := range globs {
		if !filepath.IsAbs(g) {
			g = filepath.Join(dir, g)
		}
		ms, err := filepath.Glob(g)
		if err != nil {
			continue
		}
		sort.Strings(ms)
		for _, m := range ms {
			if seen[m] || SameFile(m, l.suite.File) {
				continue
			}
			seen[m] = true
			data, err := decode.ReadFile(m)
			if err != nil {
				continue
			}
			if !bytes.HasPrefix(data, []byte("steps:")) && !bytes.Contains(data, []byte("\nsteps:")) {
				continue // let go: a suite's files are not all held at once
			}
			if l.preread == nil {
				l.preread = map[string][]byte{}
			}
			l.preread[m] = data // parse takes it: a file of steps is read once
			doc, err := decode.Parse(data)
			if err != nil {
				continue
			}
			root := decode.Resolve(doc)
			if root == nil || root.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(root.Content); i += 2 {
				if root.Content[i].Value != "steps" {
					continue
				}
				d := decode.New(m, l.errs)
				d.Src, d.Dir, d.Services = data, filepath.Dir(m), &l.named
				for name, def := range l.stepDefs(d, root.Content[i+1]) {
					if prev, dup := l.defs[name]; dup {
						d.Errs.Add(diag.Errorf(def.pos, "reusable steps %q are written twice", name).
							WithHint("first at %s; give one another name (until then, its uses are not checked)", prev.pos))
						if l.dups == nil {
							l.dups = map[string][]*stepDef{}
						}
						if l.dups[name] == nil {
							l.dups[name] = []*stepDef{prev}
						}
						l.dups[name] = append(l.dups[name], def)
						continue
					}
					l.defs[name] = def
				}
			}
		}
	}
}
