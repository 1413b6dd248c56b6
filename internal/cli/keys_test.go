package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/cli"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
	"go.yaml.in/yaml/v4"
)

// probe is a key no part of seam accepts: every decoder reports it as
// unknown and lists the keys it knows, which is how the census below
// learns what the loader and each plug-in accept without a list of its own.
const probe = "zzzzzzzzzzzzzzzzzzzzzzzz"

// knownKeys collects, from errs, the keys each decoder said it knows when
// it met the probe, by the name the decoder gave its place.
func knownKeys(errs []*diag.Error) map[string][]string {
	out := map[string][]string{}
	for _, e := range errs {
		where, ok := strings.CutSuffix(e.Msg, fmt.Sprintf(": unknown key %q", probe))
		if !ok {
			continue
		}
		_, list, ok := strings.Cut(e.Hint, "known keys: ")
		if !ok {
			continue
		}
		out[where] = strings.Split(list, ", ")
	}
	return out
}

func without(keys, drop []string) []string {
	var out []string
	for _, k := range keys {
		if !slicesContains(drop, k) {
			out = append(out, k)
		}
	}
	return out
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loaderKeys loads a suite with the probe at every place the loader
// decodes itself, and returns the keys each place accepts, by the place
// names of cli.SuiteKeys.
func loaderKeys(t *testing.T, reg *builtin.Registry) map[string][]string {
	dir := t.TempDir()
	root := `
PROBE: 1
defaults: {PROBE: 1}
profiles: {p: {PROBE: 1}}
services:
  svc:
    stub: {}
    PROBE: 1
  other:
    stub: {}
    depends_on: [{name: svc, PROBE: 1}]
include: [inc.yaml]
steps:
  r: {PROBE: 1, steps: [{exec: ["true"]}]}
tests:
  - name: a
    PROBE: 1
    steps:
      - exec: ["true"]
        PROBE: 1
        eventually: {PROBE: 1}
      - use: r
        PROBE: 1
`
	for name, text := range map[string]string{"seam.yaml": root, "inc.yaml": "PROBE: 1\ntests: []\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(text, "PROBE", probe)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	var l *diag.List
	if !errors.As(err, &l) {
		t.Fatalf("loading the probe suite: %v", err)
	}
	got := knownKeys(l.Errors())
	places := map[string]string{ // the loader's name for a place → SuiteKeys' name
		"suite": "suite", "file": "file", "defaults": "defaults", "test": "test", "steps[0]": "step",
		"steps[0].eventually": "eventually", `service "svc"`: "service", "depends_on": "depends_on", "profiles.p": "profiles.NAME",
		"steps.r": "steps.NAME", "steps[1]": "use",
	}
	out := map[string][]string{}
	for where, place := range places {
		keys, ok := got[where]
		if !ok {
			t.Errorf("the loader did not report the unknown key at %s with \"known keys: …\" in its hint, so the census cannot list "+
				"the keys there; report unknown keys with decode.UnknownKey (problems: %v)", where, l.Errors())
			continue
		}
		// Kind keys sit beside a step's and a service's own keys; the
		// kinds are documented by their plug-ins.
		switch place {
		case "step":
			keys = without(keys, reg.Steps.Names())
		case "service":
			keys = without(keys, reg.Services.Names())
		}
		out[place] = keys
	}
	return out
}

// pluginKeys decodes the probe with a step or service kind and returns
// the top-level keys it accepts.
func pluginKeys(decodeFn func(d *decode.Decoder, n *yaml.Node)) ([]string, bool) {
	var errs diag.List
	d := decode.New("probe.yaml", &errs)
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: probe, Line: 1, Column: 1},
		{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1", Line: 1, Column: 10},
	}}
	decodeFn(d, n)
	for _, keys := range knownKeys(errs.Errors()) {
		return keys, true
	}
	return nil, false
}

// nestedKeys lists the yaml-tagged keys below the top level of a decoded
// plug-in value ("http.slow"), by reflection over its type.
func nestedKeys(v any) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, prefix string, depth int)
	walk = func(t reflect.Type, prefix string, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || depth > 4 {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Anonymous && name == "" {
				walk(f.Type, prefix, depth)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			if depth > 0 {
				out = append(out, prefix+name)
			}
			walk(f.Type, prefix+name+".", depth+1)
		}
	}
	if v != nil {
		walk(reflect.TypeOf(v), "", 0)
	}
	return out
}

// exampleValue decodes the value under the kind key of a documented
// example ("fault: {…}"), or nil when the example does not decode alone
// (it names files that exist only in a suite).
func exampleValue(example, kind string, decodeFn func(d *decode.Decoder, n *yaml.Node) any) any {
	var doc yaml.Node
	if yaml.Unmarshal([]byte(example), &doc) != nil {
		return nil
	}
	n := decode.Resolve(&doc)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == kind {
			var errs diag.List
			d := decode.New("example.yaml", &errs)
			d.Dir = os.TempDir()
			return decodeFn(d, decode.Resolve(n.Content[i+1]))
		}
	}
	return nil
}

// names splits documented input names ("from, to") into keys.
func names(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var wordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// words is the set of words in text.
func words(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range wordRE.FindAllString(text, -1) {
		out[w] = true
	}
	return out
}

func pkgOf(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.TrimPrefix(t.PkgPath(), "github.com/seamtest/seam/")
}

// compare reports keys accepted but not documented and documented but not
// accepted, each with where to fix it.
func compare(t *testing.T, what string, accepted, documented []string, addHint, docFile string) {
	t.Helper()
	for _, k := range accepted {
		if !slicesContains(documented, k) {
			t.Errorf("%s: the key %q is accepted but not documented: %s, then regenerate %s (see TestDocsAreCurrent)",
				what, k, strings.ReplaceAll(addHint, "KEY", k), docFile)
		}
	}
	for _, k := range documented {
		if !slicesContains(accepted, k) {
			t.Errorf("%s: the key %q is documented but not accepted (seam validate reports it as unknown): remove or rename it in %s",
				what, k, strings.SplitN(addHint, ":", 2)[0])
		}
	}
}

// TestEveryKeyIsDocumented fails when a key the suite loader or a plug-in
// accepts is missing from the reference (docs/*.md, generated from the
// plug-ins' Usage and cli.SuiteKeys) or the README, or when a documented
// key, step kind, service kind, command or flag does not exist. The keys
// accepted are found by asking each decoder about an unknown key, so keys
// added later are covered without a list here.
func TestEveryKeyIsDocumented(t *testing.T) {
	reg := builtin.New()
	defer reg.Close()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inReadme := func(re string) bool { return regexp.MustCompile(re).Match(readme) }

	// every key accepted anywhere, kinds and probes included, for the
	// README's `key:` mentions; that: is expect:'s own key beside the
	// result fields.
	anywhere := map[string]bool{"that": true}
	addAll := func(keys ...string) {
		for _, k := range keys {
			anywhere[k[strings.LastIndex(k, ".")+1:]] = true
		}
	}
	addAll(reg.Steps.Names()...)
	addAll(reg.Services.Names()...)
	addAll(reg.Probes.Names()...)

	// The loader's own places: suite, defaults, test, step, service, …
	census := loaderKeys(t, reg)
	for _, keys := range census {
		addAll(keys...)
	}
	for _, p := range cli.SuiteKeys() {
		accepted, ok := census[p.Where]
		if !ok {
			t.Errorf("cli.SuiteKeys documents a place %q the census does not know; add it to loaderKeys in internal/cli/keys_test.go", p.Where)
			continue
		}
		var documented []string
		for _, k := range p.Keys {
			documented = append(documented, k.Name)
		}
		compare(t, "suite place "+p.Where, accepted, documented,
			fmt.Sprintf("internal/cli/help.go: add {%q, \"…\"} to SuiteKeys under %q", "KEY", p.Where), "docs/suite.md")
		for _, k := range documented {
			if slicesContains(accepted, k) && !inReadme(`(^|[^A-Za-z0-9_.])`+regexp.QuoteMeta(k)+`:`) {
				t.Errorf("suite place %s: the key %q is not in README.md; document it there as %s: (in a YAML example or in prose)", p.Where, k, k)
			}
		}
	}
	for place := range census {
		found := false
		for _, p := range cli.SuiteKeys() {
			found = found || p.Where == place
		}
		if !found {
			t.Errorf("the loader has a place %q that cli.SuiteKeys lacks; add it to SuiteKeys in internal/cli/help.go", place)
		}
	}

	// kindKeys checks a plug-in kind's keys against its docs (docFile, made
	// from its Usage): the keys its Decode accepts against its inputs (each
	// input's name and doc; addHint says how to add one), and the keys
	// nested in its example against the inputs' docs. false: its keys
	// cannot be known.
	kindKeys := func(where, name, example string, inputs [][2]string, decodeFn func(*decode.Decoder, *yaml.Node) any, addHint, docFile string) bool {
		accepted, ok := pluginKeys(func(d *decode.Decoder, n *yaml.Node) { decodeFn(d, n) })
		if !ok {
			t.Errorf("%s: its Decode does not report an unknown key with decode.UnknownKey, so its keys cannot be checked against its docs", where)
			return false
		}
		var documented []string
		var text strings.Builder
		for _, in := range inputs {
			documented = append(documented, names(in[0])...)
			text.WriteString(in[0] + " " + in[1] + "\n")
		}
		compare(t, where, accepted, documented, addHint, docFile)
		addAll(accepted...)
		w := words(text.String())
		nested := nestedKeys(exampleValue(example, name, decodeFn))
		t.Logf("%s: keys %v, nested %v", where, accepted, nested)
		addAll(nested...)
		for _, k := range nested {
			if last := k[strings.LastIndex(k, ".")+1:]; !w[last] {
				t.Errorf("%s: the key %q is accepted but its Usage().Inputs never mention %q; document it in the doc of its parent input, then regenerate %s", where, k, last, docFile)
			}
		}
		return true
	}

	// Step kinds.
	for _, name := range reg.Steps.Names() {
		kind := reg.Steps[name]
		u := kind.Usage()
		where := fmt.Sprintf("step kind %q (%s)", name, pkgOf(kind))
		var inputs [][2]string
		for _, in := range u.Inputs {
			inputs = append(inputs, [2]string{in.Name, in.Doc})
		}
		if !kindKeys(where, name, u.Example, inputs, func(d *decode.Decoder, n *yaml.Node) any { return kind.Decode(d, n) },
			pkgOf(kind)+`: add step.Input{Name: "KEY", Doc: "…"} to its Usage().Inputs`, "docs/steps.md") {
			continue
		}
		for _, f := range u.Fields {
			addAll(f.Name)
		}
		if !inReadme("`" + regexp.QuoteMeta(name) + "`") {
			t.Errorf("%s is not in README.md; name it there as `%s` (Writing a suite, Steps)", where, name)
		}
	}

	// Service kinds.
	for _, name := range reg.Services.Names() {
		kind := reg.Services[name]
		u := kind.Usage()
		where := fmt.Sprintf("service kind %q (%s)", name, pkgOf(kind))
		var inputs [][2]string
		for _, in := range u.Inputs {
			inputs = append(inputs, [2]string{in.Name, in.Doc})
		}
		if !kindKeys(where, name, u.Example, inputs, func(d *decode.Decoder, n *yaml.Node) any { return kind.Decode(d, n) },
			pkgOf(kind)+`: add service.Input{Name: "KEY", Doc: "…"} to its Usage().Inputs`, "docs/services.md") {
			continue
		}
		if !inReadme("`" + regexp.QuoteMeta(name) + ":`") {
			t.Errorf("%s is not in README.md; describe it there as `%s:` (Writing a suite, Services)", where, name)
		}
	}

	// What the README writes as a key (`name:`) must be one.
	for _, m := range regexp.MustCompile("`([a-z_]+):`").FindAllSubmatch(readme, -1) {
		if k := string(m[1]); !anywhere[k] {
			t.Errorf("README.md documents a key %s: that nothing in seam accepts (seam validate would report it as unknown)", k)
		}
	}

	// Commands and flags.
	dispatched := dispatchedCommands(t)
	listed := cli.UsageCommands()
	for _, c := range dispatched {
		if c == "help" || c == "version" {
			if !inReadme(`seam ` + c) {
				t.Errorf("the command %q is not in README.md; add it to the Commands section", c)
			}
			continue
		}
		found := false
		for _, l := range listed {
			found = found || strings.Fields(l)[0] == c
		}
		if !found {
			t.Errorf("the command %q (a case of Run in internal/cli/cli.go) is not in the usage text; add a line \"  seam %s …\" to usage in internal/cli/cli.go, then regenerate docs/commands.md", c, c)
		}
	}
	flagsSeen := map[string]bool{}
	for _, c := range listed {
		if !slicesContains(dispatched, strings.Fields(c)[0]) {
			t.Errorf("the usage text names \"seam %s\", which is not a command (Run in internal/cli/cli.go has no case for it)", c)
			continue
		}
		if !inReadme(`seam ` + regexp.QuoteMeta(c)) {
			t.Errorf("the command \"seam %s\" is not in README.md; add it to the Commands section", c)
		}
		for _, f := range commandFlags(c) {
			flagsSeen[f] = true
			if !inReadme("--" + regexp.QuoteMeta(f) + `\b`) {
				t.Errorf("the flag --%s of \"seam %s\" is not in README.md; document it there as --%s (Commands)", f, c, f)
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?:^|[\s\x60\[(])--([a-z][a-z0-9-]*)`).FindAllSubmatch(readme, -1) {
		if f := string(m[1]); !flagsSeen[f] && f != "help" && f != "version" {
			t.Errorf("README.md documents a flag --%s that no command has", f)
		}
	}
}

// dispatchedCommands reads the commands Run dispatches from the case
// labels of the switch in cli.go's dispatch, so a new command is seen without a list.
func dispatchedCommands(t *testing.T) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cli.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "dispatch" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok {
				return true
			}
			for _, e := range cc.List {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && !strings.HasPrefix(s, "-") {
						out = append(out, s)
					}
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("found no commands in dispatch's switch in cli.go; update dispatchedCommands")
	}
	sort.Strings(out)
	return out
}

var flagLineRE = regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)`)

// commandFlags lists the flags "seam CMD -h" prints (flag.PrintDefaults).
func commandFlags(command string) []string {
	var out bytes.Buffer
	cli.Run(context.Background(), append(strings.Fields(command), "-h"), cli.IO{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
	var flags []string
	for _, m := range flagLineRE.FindAllStringSubmatch(out.String(), -1) {
		if !slicesContains(flags, m[1]) {
			flags = append(flags, m[1])
		}
	}
	return flags
}
