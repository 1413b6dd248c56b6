package suite

import (
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

// Profiles run one suite's system in its modes. A profile may
//
//	profiles:
//	  offline: {stub: [payments]}          # run services as their stand-ins
//	  grpc:
//	    vars: {mode: grpc}                 # override the suite's vars
//	    services:                          # override services' settings
//	      client:
//	        process: {env: {API: ((service("api").ports.grpc))}}
//	        ports: [http, grpc]
//	        depends_on: [api]
//
// `seam run --profile grpc` applies one; `--stub payments` names services
// directly. A profile's services: are laid over the suite's services:
// before they are decoded, as YAML: mappings merge key by key (env: {A: 1}
// adds or replaces A, keeping the other variables), anything else (a list
// like run: or ports:, a scalar) replaces the suite's. Its vars: replace
// the values of vars the suite declares. The nodes keep the positions of
// the file they come from, so a problem in an override is reported where
// the profile says it. `seam validate` applies every profile in turn and
// reports what each one breaks.

var profileKeys = []string{"stub", "vars", "services"}

// profile is one entry of profiles:, checked for shape but not applied.
type profile struct {
	name     string
	keyN     *yaml.Node
	stub     *yaml.Node // the stub: list, or nil
	vars     *yaml.Node // a mapping, or nil
	services *yaml.Node // a mapping, or nil
}

// readProfiles reads profiles: into its entries, reporting unknown keys.
func (l *loader) readProfiles(d *decode.Decoder, n *yaml.Node) []*profile {
	var out []*profile
	if n == nil {
		return nil
	}
	for _, f := range d.Fields(n, "profiles") {
		p := &profile{name: f.Key, keyN: f.KeyN}
		for _, pf := range d.Fields(f.Value, "profiles."+f.Key) {
			v := decode.Resolve(pf.Value)
			switch pf.Key {
			case "stub":
				p.stub = v
			case "vars", "services":
				if v == nil || v.Kind != yaml.MappingNode {
					if v != nil && decode.Tag(v) != "!!null" {
						d.Errorf(v, "profiles.%s.%s: want a mapping, got %s", f.Key, pf.Key, decode.KindName(v))
					}
					continue
				}
				if pf.Key == "vars" {
					p.vars = v
				} else {
					p.services = v
				}
			default:
				d.UnknownKey(pf.KeyN, "profiles."+f.Key, profileKeys)
			}
		}
		out = append(out, p)
	}
	return out
}

// selected is the profile --profile names, or nil (reported when it does
// not exist).
func (l *loader) selected(s *Suite, profiles []*profile) *profile {
	name := l.opts.Profile
	if name == "" {
		return nil
	}
	var names []string
	for _, p := range profiles {
		if p.name == name {
			return p
		}
		names = append(names, p.name)
	}
	e := diag.Errorf(diag.Pos{File: s.File}, "--profile %s: the suite has no such profile", name)
	sort.Strings(names)
	if len(names) > 0 {
		e.WithHint("profiles: %s", strings.Join(names, ", "))
	} else {
		e.WithHint("declare one under profiles: in %s", s.File)
	}
	l.errs.Add(e)
	return nil
}

// withVars lays a profile's vars: over the suite's vars: node. Each must
// be a var the suite declares, so that every profile's templates are
// checked against the same names; problems go to d when report is set.
func withVars(d *decode.Decoder, base *yaml.Node, p *profile, report bool) *yaml.Node {
	if p == nil || p.vars == nil {
		return base
	}
	base = decode.Resolve(base)
	names, declared := keysOf(base)
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if base != nil && base.Kind == yaml.MappingNode {
		cp := *base
		cp.Content = append([]*yaml.Node(nil), base.Content...)
		out = &cp
	}
	for i := 0; i+1 < len(p.vars.Content); i += 2 {
		k := decode.Resolve(p.vars.Content[i])
		at, ok := declared[k.Value]
		if !ok {
			if report {
				guess(d.Errorf(k, "profiles.%s.vars: the suite declares no var %q", p.name, k.Value),
					k.Value, names, "declare it under vars: with its value outside this profile")
			}
			continue
		}
		out.Content[at] = p.vars.Content[i+1]
	}
	return out
}

// withServices lays a profile's services: over the suite's services:
// node (see the comment at the top). Each must name a service of the
// suite; problems go to d when report is set.
func withServices(d *decode.Decoder, base *yaml.Node, p *profile, report bool) *yaml.Node {
	if p == nil || p.services == nil {
		return base
	}
	base = decode.Resolve(base)
	names, declared := keysOf(base)
	over := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.services.Line, Column: p.services.Column}
	for i := 0; i+1 < len(p.services.Content); i += 2 {
		k := decode.Resolve(p.services.Content[i])
		if _, ok := declared[k.Value]; !ok {
			if report {
				guess(d.Errorf(k, "profiles.%s.services: no service %q in this suite", p.name, k.Value),
					k.Value, names, "a profile changes services declared under services:")
			}
			continue
		}
		v := decode.Resolve(p.services.Content[i+1])
		if v == nil || v.Kind != yaml.MappingNode {
			if report {
				d.Errorf(v, "profiles.%s.services.%s: want a mapping of the service's keys to change, got %s", p.name, k.Value, decode.KindName(v))
			}
			continue
		}
		over.Content = append(over.Content, k, v)
	}
	return overlay(base, over, 0)
}

// keysOf lists the keys of base (a resolved node) in order, each with the
// index of its value in base.Content; none when base is not a mapping.
func keysOf(base *yaml.Node) (names []string, at map[string]int) {
	at = map[string]int{}
	if base != nil && base.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(base.Content); i += 2 {
			k := decode.Resolve(base.Content[i]).Value
			at[k] = i + 1
			names = append(names, k)
		}
	}
	return names, at
}

// guess hints at the one of names that word (naming none of them) was
// likely meant to be; when none is close, the hint is hint.
func guess(e *diag.Error, word string, names []string, hint string) {
	if c := diag.Closest(word, names); c != "" {
		e.WithHint("did you mean %q?", c)
	} else {
		e.WithHint("%s", hint)
	}
}

// overlay lays over on base: mappings merge key by key (over's value, or
// the overlay of both when both are mappings), anything else is over.
// Neither node is changed.
func overlay(base, over *yaml.Node, depth int) *yaml.Node {
	base, over = decode.Resolve(base), decode.Resolve(over)
	if base == nil || over == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode || depth > 100 {
		if over == nil {
			return base
		}
		return over
	}
	out := *base
	out.Content = append([]*yaml.Node(nil), base.Content...)
	index := map[string]int{}
	for i := 0; i+1 < len(out.Content); i += 2 {
		index[decode.Resolve(out.Content[i]).Value] = i + 1
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k := decode.Resolve(over.Content[i])
		if at, ok := index[k.Value]; ok {
			out.Content[at] = overlay(out.Content[at], over.Content[i+1], depth+1)
			continue
		}
		out.Content = append(out.Content, over.Content[i], over.Content[i+1])
		index[k.Value] = len(out.Content) - 1
	}
	return &out
}

// checkProfiles decodes the suite's vars and services as each profile
// other than the applied one would make them, reporting the problems that
// profile brings (those of the suite itself are reported once, by the
// suite's own decoding).
func (l *loader) checkProfiles(d *decode.Decoder, s *Suite, profiles []*profile, applied *profile, varsN, servicesN *yaml.Node) {
	for _, p := range profiles {
		if p == applied {
			continue
		}
		var errs diag.List
		pd := decode.New(d.File, &errs)
		pd.Dir = d.Dir
		var named []decode.Named
		pd.Services = &named
		defined := copySet(l.defined)
		pd.Vars = defined
		// Port templates are evaluated over this profile's vars.
		baseVars, baseConst := s.Vars, l.constVars
		if vn := withVars(pd, varsN, p, true); vn != nil && p.vars != nil {
			s.Vars, l.constVars = l.vars(pd, vn, defined), nil
		}
		if (p.services != nil || p.vars != nil) && servicesN != nil {
			svcs := l.services(pd, withServices(pd, servicesN, p, true))
			service.NewSystem(svcs).Check(&errs)
		} else if p.services != nil {
			withServices(pd, &yaml.Node{Kind: yaml.MappingNode}, p, true)
		}
		s.Vars, l.constVars = baseVars, baseConst
		sub := &loader{opts: l.opts, errs: &errs}
		sub.checkNamed(s, named)
		for _, e := range errs.Errors() {
			if !l.reported(e) {
				if !strings.HasPrefix(e.Msg, "profiles.") {
					e.Msg = "with profile " + p.name + ": " + e.Msg
				}
				l.errs.Add(e)
			}
		}
	}
}

// reported says whether the same problem is already on the list.
func (l *loader) reported(e *diag.Error) bool {
	for _, x := range l.errs.Errors() {
		if x.Pos == e.Pos && x.Msg == e.Msg {
			return true
		}
	}
	return false
}

// standIns swaps in the stand-ins that --stub and the applied profile's
// stub: ask for, and checks every profile's stub: list.
func (l *loader) standIns(d *decode.Decoder, profiles []*profile, applied *profile, s *Suite) {
	var want []string
	for _, p := range profiles {
		if p.stub == nil {
			continue
		}
		items := []*yaml.Node{p.stub}
		if p.stub.Kind == yaml.SequenceNode {
			items = p.stub.Content
		}
		for _, it := range items {
			it = decode.Resolve(it)
			var name string
			d.Decode(it, &name, "profiles."+p.name+".stub")
			if name == "" {
				continue
			}
			if msg := l.standInProblem(s, name); msg != "" {
				d.Errorf(it, "profiles.%s.stub: %s", p.name, msg)
				continue
			}
			if p == applied {
				want = append(want, name)
			}
		}
	}
	at := diag.Pos{File: s.File}
	for _, name := range l.opts.Stub {
		if msg := l.standInProblem(s, name); msg != "" {
			l.errs.Add(diag.Errorf(at, "--stub %s: %s", name, msg))
			continue
		}
		want = append(want, name)
	}
	for _, name := range want {
		svc, _ := s.System.Get(name)
		if svc.StandIn != nil && !svc.Standing {
			svc.UseStandIn()
		}
	}
}

// standInProblem says why name cannot run as a stand-in, or "".
func (l *loader) standInProblem(s *Suite, name string) string {
	if s.System == nil {
		return "the suite has no services"
	}
	svc, ok := s.System.Get(name)
	if !ok {
		msg := "no service " + name
		if c := diag.Closest(name, s.System.Names()); c != "" {
			msg += " (did you mean " + c + "?)"
		}
		return msg
	}
	if svc.StandIn == nil && svc.Kind != standInKind {
		return "service " + name + " has no stand-in: add stub: {mappings: …} beside its " + svc.Kind + ":"
	}
	return ""
}
