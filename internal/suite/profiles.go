package suite

import (
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// Profiles name sets of services to run as their stand-ins, so the same
// suite runs with a component real or stubbed:
//
//	profiles:
//	  offline: {stub: [payments, shipping]}
//
// `seam run --profile offline` applies one; `--stub payments` names
// services directly.

// standIns reads profiles: and swaps in the stand-ins that --stub and
// --profile ask for.
func (l *loader) standIns(d *decode.Decoder, n *yaml.Node, s *Suite) {
	profiles := map[string][]string{}
	var names []string
	if n != nil {
		for _, f := range d.Fields(n, "profiles") {
			names = append(names, f.Key)
			for _, pf := range d.Fields(f.Value, "profiles."+f.Key) {
				if pf.Key != "stub" {
					d.UnknownKey(pf.KeyN, "profiles."+f.Key, []string{"stub"})
					continue
				}
				v := decode.Resolve(pf.Value)
				items := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					items = v.Content
				}
				for _, it := range items {
					it = decode.Resolve(it)
					var name string
					d.Decode(it, &name, "profiles."+f.Key+".stub")
					if name == "" {
						continue
					}
					if msg := l.standInProblem(s, name); msg != "" {
						d.Errorf(it, "profiles.%s.stub: %s", f.Key, msg)
						continue
					}
					profiles[f.Key] = append(profiles[f.Key], name)
				}
			}
		}
	}
	want := append([]string(nil), l.opts.Stub...)
	at := diag.Pos{File: s.File}
	if p := l.opts.Profile; p != "" {
		list, ok := profiles[p]
		if !ok {
			e := diag.Errorf(at, "--profile %s: the suite has no such profile", p)
			sort.Strings(names)
			if len(names) > 0 {
				e.WithHint("profiles: %s", strings.Join(names, ", "))
			} else {
				e.WithHint("declare one under profiles: in %s", s.File)
			}
			l.errs.Add(e)
		}
		want = append(want, list...)
	}
	for _, name := range want {
		if msg := l.standInProblem(s, name); msg != "" {
			l.errs.Add(diag.Errorf(at, "--stub %s: %s", name, msg))
			continue
		}
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
