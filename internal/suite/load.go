package suite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	maskpkg "github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/probe"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// DefaultFile is the suite file looked for in a folder.
const DefaultFile = "seam.yaml"

// Options configure loading.
type Options struct {
	Steps    step.Table
	Ops      expect.Table
	Services service.Table
	Probes   probe.Table
	// Vars are --var values; they override suite variables of the same name
	// and are defined even when the suite does not declare them.
	Vars map[string]string
	// ServicesOnly accepts a suite without tests: one loaded only to start
	// its services (seam up, the Go API).
	ServicesOnly bool
	// Stub names services to run as their stand-in stubs (--stub).
	Stub []string
	// Profile names a suite profile to apply (--profile).
	Profile string
	// Discard checks each test and lets it go: Suite.Tests stays empty and
	// Suite.Count counts them (seam validate, whose memory then stays near
	// the size of the file).
	Discard bool
}

// Locate resolves a DIR or FILE argument to the root suite file.
func Locate(arg string) (string, error) {
	if arg == "" {
		arg = "."
	}
	st, err := os.Stat(arg)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: no such file or folder", arg)
		}
		return "", err
	}
	if !st.IsDir() {
		return arg, nil
	}
	for _, name := range []string{DefaultFile, "seam.yml"} {
		p := filepath.Join(arg, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s in this folder (give the suite file, or the folder that holds %s)", arg, DefaultFile, DefaultFile)
}

// Load reads the suite at path (a file, or a folder holding seam.yaml) and
// everything it includes, and validates it. The error, if any, is a
// *diag.List with every problem found.
func Load(path string, opts Options) (*Suite, error) {
	return load(path, opts, splitBytes)
}

// load loads, parsing files over splitAt bytes test by test (never when
// splitAt is negative).
func load(path string, opts Options, splitAt int) (*Suite, error) {
	file, err := Locate(path)
	if err != nil {
		return nil, err
	}
	l := &loader{opts: opts, errs: &diag.List{}, splitAt: splitAt}
	s := l.root(file)
	if l.fallback {
		// A big file split into tests did not parse in parts: parse it
		// whole, for the errors (or the anchors) the parts cannot see.
		l = &loader{opts: opts, errs: &diag.List{}, splitAt: -1}
		s = l.root(file)
	}
	if err := l.errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

type loader struct {
	opts Options
	errs *diag.List
	// defs are the suite file's reusable steps, by name (use.go);
	// useErrs, the problems in them reported so far.
	defs    map[string]*stepDef
	useErrs map[string]bool
	// dups are the reusable steps whose name is written more than once,
	// every definition, in the order read.
	dups map[string][]*stepDef
	// preread are included files includedDefs read, for parse to take
	// instead of reading them again.
	preread map[string][]byte
	// named are the services templates name, service("db"), checked
	// once every service is known.
	named []decode.Named
	suite *Suite
	// constVars are the suite's vars as evaluated at load (loadVars).
	constVars expr.Vars
	names     map[string]diag.Pos // test names, for duplicates
	defined   map[string]bool     // suite-level variable names
	// refs and components are what checkServiceRefs needs of the tests.
	refs       []stepRefs
	components map[string]bool
	// splitAt is the size from which files are parsed test by test (never
	// when negative); fallback is set when such a file does not parse in
	// parts.
	splitAt  int
	fallback bool
}

// splitBytes is the size from which a file is parsed test by test
// (decode.Split), so loading it holds one test's node tree at a time.
const splitBytes = 1 << 20

// parsed is a parsed file: its root, and for a file split test by test,
// its tests: items still to parse.
type parsed struct {
	root  *yaml.Node
	data  []byte
	items []decode.Item
	p     *decode.Parser
}

// take keeps a decoded test (or, with Discard, counts it) once what the
// suite-wide checks need of it is recorded.
func (l *loader) take(t *Test) {
	if t == nil {
		return
	}
	l.collectRefs(t)
	l.suite.Count++
	if !l.opts.Discard {
		l.suite.Tests = append(l.suite.Tests, t)
	}
}

// parse reads a YAML file into its root node, reporting syntax errors at
// their line.
func (l *loader) parse(file string, from diag.Pos) *parsed {
	data, ok := l.preread[file]
	delete(l.preread, file)
	var err error
	if !ok {
		data, err = decode.ReadFile(file)
	}
	if err != nil {
		e := diag.Errorf(from, "cannot read %s: %v", file, unwrapPath(err))
		if from.IsZero() {
			e.Pos = diag.Pos{File: file}
		} else {
			e.WithHint("include names YAML files that hold tests:")
		}
		l.errs.Add(e)
		return nil
	}
	pf := &parsed{data: data, p: &decode.Parser{}}
	text := data
	if l.splitAt >= 0 && len(data) > l.splitAt {
		if head, items, ok := decode.Split(data, "tests"); ok {
			text, pf.items = head, items
		}
	}
	root, err := pf.p.Parse(text)
	if err != nil && pf.items != nil {
		l.fallback = true
		return nil
	}
	var le *decode.LimitError
	if errors.As(err, &le) {
		l.errs.Add(diag.Errorf(diag.Pos{File: file, Line: le.Line, Col: le.Col}, "%s", le.Msg).WithHint("%s", le.Hint))
		return nil
	}
	if err != nil {
		l.errs.Add(syntaxError(file, data, err))
		return nil
	}
	n := decode.Resolve(root)
	if n == nil || n.Kind == 0 {
		l.errs.Add(diag.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "the file is empty").
			WithHint("a suite file is a mapping with tests: (and, in seam.yaml, name:, vars:, include:)"))
		return nil
	}
	pf.root = n
	return pf
}

// testsIn decodes the tests of a file: the tests: value, or the items
// Split found, parsed one at a time and let go once decoded.
func (l *loader) testsIn(d *decode.Decoder, n *yaml.Node, pf *parsed) {
	if pf.items == nil {
		l.tests(d, n)
		return
	}
	for _, it := range pf.items {
		tn, err := pf.p.Item(pf.data[it.Start:it.End], it.Line)
		if err != nil {
			l.fallback = true
			return
		}
		l.take(l.test(d, tn))
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(?:column (\d+): )?(.*)$`)

func syntaxError(file string, data []byte, err error) *diag.Error {
	msg := err.Error()
	pos := diag.Pos{File: file}
	var le *yaml.LoadError
	if errors.As(err, &le) && le.Mark.Line > 0 {
		pos.Line, pos.Col, msg = le.Mark.Line, le.Mark.Column, le.Message
	} else if m := yamlLineRE.FindStringSubmatch(firstLine(msg)); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		pos.Col, _ = strconv.Atoi(m[2])
		msg = m[3]
	}
	e := diag.Errorf(pos, "YAML syntax: %s", msg)
	lines := strings.Split(string(data), "\n")
	tabbed := pos.Line > 0 && pos.Line <= len(lines) && strings.Contains(lines[pos.Line-1], "\t")
	switch {
	case tabbed || strings.Contains(msg, "tab"):
		e.WithHint("indent with spaces, not tabs")
	case strings.Contains(msg, "mapping values are not allowed"):
		e.WithHint("a value with \": \" in it needs quotes")
	default:
		e.WithHint("check the indentation and quoting on this line and the one before")
	}
	return e
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var rootKeys = []string{"name", "vars", "defaults", "services", "profiles", "include", "steps", "tests", "mask"}

func (l *loader) root(file string) *Suite {
	s := &Suite{File: file, Dir: filepath.Dir(file), Defaults: Defaults{StepTimeout: 30 * time.Second, ExpectTimeout: 5 * time.Second}}
	if abs, err := filepath.Abs(s.Dir); err == nil {
		s.Dir = abs // commands and services run from here whatever the working folder
	}
	s.Pos = diag.Pos{File: file, Line: 1, Col: 1}
	l.names = map[string]diag.Pos{}
	l.components = map[string]bool{}
	l.suite = s
	pf := l.parse(file, diag.Pos{})
	if pf == nil {
		return s
	}
	n := pf.root
	d := decode.New(file, l.errs)
	d.Src = pf.data // for positions inside scalars (decode.PosIn)
	d.Dir = s.Dir
	d.Services = &l.named
	fields := d.Fields(n, "suite")
	byKey := map[string]decode.Field{}
	var misspelled []decode.Field
	for _, f := range fields {
		if !contains(rootKeys, f.Key) {
			d.UnknownKey(f.KeyN, "suite", rootKeys)
			misspelled = append(misspelled, f)
			continue
		}
		byKey[f.Key] = f
	}
	// A misspelled services: (servics:) is told once, above, and read as
	// services: all the same: else every step and template naming a
	// service would be told too, each "no service".
	for _, f := range misspelled {
		if _, ok := byKey["services"]; !ok && diag.Closest(f.Key, rootKeys) == "services" {
			byKey["services"] = f
		}
	}
	if f, ok := byKey["name"]; ok {
		d.Decode(f.Value, &s.Name, "name")
	}
	if s.Name == "" {
		s.Name = filepath.Base(s.Dir)
		if abs, err := filepath.Abs(s.Dir); err == nil {
			s.Name = filepath.Base(abs)
		}
	}
	// Variables: builtins, then suite vars in order (each may read the ones
	// before it), then --var names.
	l.defined = map[string]bool{}
	for _, b := range expr.BuiltinNames {
		l.defined[b] = true
	}
	for k := range l.opts.Vars {
		l.defined[k] = true
	}
	d.Vars = l.defined
	var profiles []*profile
	if f, ok := byKey["profiles"]; ok {
		profiles = l.readProfiles(d, f.Value)
	}
	applied := l.selected(s, profiles)
	var varsN, servicesN *yaml.Node
	if f, ok := byKey["vars"]; ok {
		varsN = f.Value
	}
	if f, ok := byKey["services"]; ok {
		servicesN = f.Value
	}
	// The applied profile's problems are reported as the suite's own; the
	// other profiles' after, each applied in turn.
	if n := withVars(d, varsN, applied, true); n != nil {
		s.Vars = l.vars(d, n, l.defined)
	}
	l.checkVarValues(s)
	l.checkVarNames(s)
	if f, ok := byKey["defaults"]; ok {
		l.defaults(d, f.Value, &s.Defaults)
	}
	if f, ok := byKey["mask"]; ok {
		s.Mask = mask(d, f.Value)
	}
	if servicesN != nil {
		svcs := l.services(d, withServices(d, servicesN, applied, true))
		s.System = service.NewSystem(svcs)
		s.System.Check(l.errs)
	} else if applied != nil && applied.services != nil {
		// No services to change: each is reported as unknown.
		withServices(d, &yaml.Node{Kind: yaml.MappingNode}, applied, true)
	}
	l.standIns(d, profiles, applied, s)
	var globs []string
	var inc *yaml.Node
	if f, ok := byKey["include"]; ok {
		inc = decode.Resolve(f.Value)
		if inc.Kind == yaml.ScalarNode {
			globs = []string{inc.Value}
		} else {
			d.Decode(inc, &globs, "include")
		}
	}
	if f, ok := byKey["steps"]; ok {
		l.defs = l.stepDefs(d, f.Value)
	}
	if inc != nil {
		// Every file's reusable steps are known before any test is read.
		l.includedDefs(filepath.Dir(file), globs)
	}
	if f, ok := byKey["tests"]; ok {
		l.testsIn(d, f.Value, pf)
	}
	if inc != nil {
		// Relative to the file as the user named it, so positions in
		// included files read as the user would write them.
		l.includes(d, inc, filepath.Dir(file), globs)
	}
	l.checkUnused(d)
	l.checkServiceRefs(s)
	l.checkServiceFields(s, l.named)
	l.checkProfiles(d, s, profiles, applied, varsN, servicesN)
	if s.Count == 0 && l.errs.Len() == 0 && !l.opts.ServicesOnly {
		l.errs.Add(diag.Errorf(d.Pos(n), "the suite has no tests").
			WithHint("add a tests: list here, or include: files that have one"))
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *loader) includes(d *decode.Decoder, n *yaml.Node, dir string, globs []string) {
	seen := map[string]bool{}
	for i, g := range globs {
		pos := d.Pos(n)
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			pos = d.Pos(n.Content[i])
		}
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, g)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			l.errs.Add(diag.Errorf(pos, "include %q: bad pattern: %v", g, err))
			continue
		}
		if len(matches) == 0 {
			e := diag.Errorf(pos, "include %q: no such file", g)
			if strings.ContainsAny(g, "*?[") {
				e.Msg = fmt.Sprintf("include %q: the pattern matches no file", g)
			}
			e.WithHint("paths are relative to %s", dir)
			l.errs.Add(e)
			continue
		}
		sort.Strings(matches)
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if SameFile(m, l.suite.File) {
				e := diag.Errorf(pos, "include %q: an include cycle: %s is the suite file itself", g, m)
				if strings.ContainsAny(g, "*?[") {
					e.WithHint("narrow the pattern (like tests/*.yaml) so it matches only the files that hold tests")
				} else {
					e.WithHint("include names the other files that hold tests; remove this entry")
				}
				l.errs.Add(e)
				continue
			}
			if len(seen) > MaxIncludes {
				l.errs.Add(diag.Errorf(pos, "include %q: more than %d included files", g, MaxIncludes).
					WithHint("that is the limit on files one suite includes; merge files or split the suite"))
				return
			}
			l.included(m, pos)
			if l.fallback {
				return
			}
		}
	}
}

// MaxIncludes bounds the files one suite includes.
const MaxIncludes = 1000

// SameFile reports whether a and b name the same file, through links.
func SameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

func (l *loader) included(file string, from diag.Pos) {
	pf := l.parse(file, from)
	if pf == nil {
		return
	}
	n := pf.root
	d := decode.New(file, l.errs)
	d.Src = pf.data // for positions inside scalars (decode.PosIn)
	d.Dir = filepath.Dir(file)
	d.Vars = l.defined
	d.Services = &l.named
	for _, f := range d.Fields(n, "file") {
		switch f.Key {
		case "tests":
			l.testsIn(d, f.Value, pf)
		case "steps":
			// Read before the suite's tests (includedDefs).
		case "vars", "include", "name", "defaults":
			d.Errorf(f.KeyN, "%s: only allowed in the root suite file", f.Key).
				WithHint("included files hold tests: and steps:; move %s: to %s", f.Key, DefaultFile)
		default:
			d.UnknownKey(f.KeyN, "file", []string{"tests", "steps"})
		}
	}
}

func (l *loader) vars(d *decode.Decoder, n *yaml.Node, defined map[string]bool) []Var {
	var out []Var
	for _, f := range d.Fields(n, "vars") {
		if !validName(f.Key) {
			d.Errorf(f.KeyN, "vars: %q is not a valid variable name", f.Key).
				WithHint("use letters, digits and _, starting with a letter or _")
			continue
		}
		v := Var{Name: f.Key, Pos: d.Pos(f.KeyN)}
		// A var may read the builtins and the vars above it, and itself
		// only if it was defined before (an override).
		v.Value.DecodeYAML(d, f.Value)
		defined[f.Key] = true
		out = append(out, v)
	}
	return out
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validName(s string) bool { return nameRE.MatchString(s) }

func (l *loader) defaults(d *decode.Decoder, n *yaml.Node, out *Defaults) {
	for _, f := range d.Fields(n, "defaults") {
		switch f.Key {
		case "step_timeout":
			if v, ok := d.Duration(f.Value, "defaults.step_timeout"); ok {
				out.StepTimeout = v
			}
		case "test_timeout":
			if v, ok := d.Duration(f.Value, "defaults.test_timeout"); ok {
				out.TestTimeout = v
			}
		case "expect_timeout":
			out.ExpectTimeout = expectTimeout(d, f.Value, "defaults.expect_timeout", out.ExpectTimeout)
		default:
			d.UnknownKey(f.KeyN, "defaults", []string{"step_timeout", "test_timeout", "expect_timeout"})
		}
	}
}

func (l *loader) tests(d *decode.Decoder, n *yaml.Node) {
	n = decode.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "tests: want a list of tests, got %s", decode.KindName(n)).
			WithHint("each test starts with \"- name: ...\"")
		return
	}
	for i, tn := range n.Content {
		l.take(l.test(d, tn))
		// Nothing reads a test's nodes once it is decoded: let them go, so
		// a big suite's node tree (~20 times its text) and its model are
		// not both held at the peak. An anchored node may be read again.
		if n.Anchor == "" && tn.Anchor == "" {
			n.Content[i] = nil
		}
	}
}

var testKeys = []string{"name", "tags", "priority", "serial", "fresh", "timeout", "skip", "vars", "faults", "setup", "steps", "teardown"}

func (l *loader) test(d *decode.Decoder, n *yaml.Node) *Test {
	t := &Test{Pos: d.Pos(n), Priority: Medium}
	fields := d.Fields(n, "test")
	if decode.Resolve(n).Kind != yaml.MappingNode {
		return nil
	}
	byKey := map[string]decode.Field{}
	for _, f := range fields {
		if !contains(testKeys, f.Key) {
			d.UnknownKey(f.KeyN, "test", testKeys)
			continue
		}
		byKey[f.Key] = f
	}
	if f, ok := byKey["name"]; ok {
		d.Decode(f.Value, &t.Name, "name")
		t.Pos = d.Pos(f.Value)
		if strings.TrimSpace(t.Name) == "" {
			d.Errorf(f.Value, "test: the name is empty")
		} else if prev, dup := l.names[t.Name]; dup {
			d.Errorf(f.Value, "duplicate test name %q", t.Name).WithHint("first used at %s; test names must be unique so reports and --filter can tell them apart", prev)
		} else {
			l.names[t.Name] = t.Pos
		}
	} else {
		d.Errorf(n, "test: missing required key \"name\"")
	}
	if f, ok := byKey["tags"]; ok {
		if v := decode.Resolve(f.Value); v.Kind == yaml.ScalarNode {
			t.Tags = []string{v.Value}
		} else {
			d.Decode(v, &t.Tags, "tags")
		}
	}
	if f, ok := byKey["priority"]; ok {
		var p string
		d.Decode(f.Value, &p, "priority")
		found := false
		for i, name := range PriorityNames {
			if name == p {
				t.Priority, found = Priority(i), true
			}
		}
		if !found && p != "" {
			e := d.Errorf(f.Value, "priority: unknown priority %q", p)
			if c := diag.Closest(p, PriorityNames); c != "" {
				e.WithHint("did you mean %q?", c)
			} else {
				e.WithHint("one of %s", strings.Join(PriorityNames, ", "))
			}
		}
	}
	if f, ok := byKey["serial"]; ok {
		d.Decode(f.Value, &t.Serial, "serial")
	}
	if f, ok := byKey["fresh"]; ok {
		d.Decode(f.Value, &t.Fresh, "fresh")
	}
	if f, ok := byKey["timeout"]; ok {
		if v, ok := d.Duration(f.Value, "timeout"); ok {
			t.Timeout = v
		}
	}
	if f, ok := byKey["skip"]; ok {
		v := decode.Resolve(f.Value)
		switch {
		case v.ShortTag() == "!!bool" && v.Value == "true":
			t.Skip = "skipped"
		case v.ShortTag() == "!!bool":
		case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str":
			d.Errorf(v, "skip: want true or the reason (text), got %s", decode.KindName(v)).
				WithHint(`skip: "waiting for refunds"`)
		default:
			d.Decode(v, &t.Skip, "skip")
		}
	}
	defined := copySet(l.defined)
	if f, ok := byKey["vars"]; ok {
		prev := d.Vars
		d.Vars = defined
		t.Vars = l.vars(d, f.Value, defined)
		d.Vars = prev
	}
	for _, phase := range []struct {
		key string
		out *[]*Step
	}{{"setup", &t.Setup}, {"steps", &t.Steps}, {"teardown", &t.Teardown}} {
		if f, ok := byKey[phase.key]; ok {
			*phase.out = l.steps(d, f.Value, phase.key, defined)
		}
	}
	if f, ok := byKey["faults"]; ok {
		t.Setup = append(l.faults(d, f.Value, defined), t.Setup...)
	}
	if _, ok := byKey["steps"]; !ok && t.Name != "" {
		d.Errorf(n, "test %q: missing required key \"steps\"", t.Name)
	}
	return t
}

// faults reads a test's faults: — a list of what a fault step takes — as
// fault steps that run before its setup, so the whole test, setup
// included, runs with them; like every fault they end with the test.
func (l *loader) faults(d *decode.Decoder, n *yaml.Node, defined map[string]bool) []*Step {
	n = decode.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "faults: want a list of faults, got %s", decode.KindName(n)).
			WithHint("like \"faults: [{from: orders, to: payments, latency: 200ms}]\"")
		return nil
	}
	if l.opts.Steps["fault"] == nil {
		d.Errorf(n, "faults: this build of seam has no fault step")
		return nil
	}
	var out []*Step
	first := map[string]*yaml.Node{} // edge → its first fault here
	for i, item := range n.Content {
		if edge := faultEdge(item); edge != "" {
			if at, dup := first[edge]; dup {
				// An edge has one fault at a time: the second would
				// silently replace the first.
				d.Errorf(item, "faults[%d]: a second fault on %s, which would replace the one at line %d: an edge has one fault at a time", i, edge, at.Line).
					WithHint("put what both do in one mapping (latency, http, bandwidth … together); an edge takes one http fault and one grpc fault")
				continue
			}
			first[edge] = item
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "fault", Line: item.Line, Column: item.Column}
		step := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, item}, Line: item.Line, Column: item.Column}
		if s := l.step(d, step, fmt.Sprintf("faults[%d]", i), defined); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// faultEdge is the edge ("from→to") a fault mapping names, "" when it
// does not name both as plain values.
func faultEdge(n *yaml.Node) string {
	n = decode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		return ""
	}
	var from, to string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], decode.Resolve(n.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			continue
		}
		switch k.Value {
		case "from":
			from = v.Value
		case "to":
			to = v.Value
		}
	}
	if from == "" || to == "" {
		return ""
	}
	return from + "→" + to
}

func copySet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (l *loader) steps(d *decode.Decoder, n *yaml.Node, what string, defined map[string]bool) []*Step {
	n = decode.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%s: want a list of steps, got %s", what, decode.KindName(n)).
			WithHint("each step starts with \"- \", like \"- http: GET ((base))/health\"")
		return nil
	}
	var out []*Step
	for i, sn := range n.Content {
		if isUse(sn) {
			out = append(out, l.use(d, sn, fmt.Sprintf("%s[%d]", what, i), defined, 0)...)
			continue
		}
		if s := l.step(d, sn, fmt.Sprintf("%s[%d]", what, i), defined); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// mask reads mask: a list of regular expressions, each checked where it
// is written.
func mask(d *decode.Decoder, n *yaml.Node) *maskpkg.Masker {
	n = decode.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "mask: want a list of regular expressions").WithHint(`mask: ["cust-[0-9]{6}", "sk_live_[A-Za-z0-9]+"]`)
		return nil
	}
	var all []string
	ok := true
	for _, item := range n.Content {
		var p string
		d.Decode(item, &p, "mask[]")
		if _, err := maskpkg.New([]string{p}); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ")
			d.Errorf(item, "mask: %s", msg).WithHint("write a Go regular expression (RE2 syntax) that matches the secret itself")
			ok = false
			continue
		}
		all = append(all, p)
	}
	if !ok {
		return nil
	}
	m, _ := maskpkg.New(all)
	return m
}
