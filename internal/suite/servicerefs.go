package suite

import (
	"reflect"
	"slices"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
)

// checkServiceFields reports the fields templates read of a service that
// it does not have, where they are written: service("web").uri (web has a
// url), service("web").ports.admin (web has no port admin). Otherwise they
// are null when the step runs. checkNamed reports the services that do
// not exist; fields computed at run time are not checked.
func (l *loader) checkServiceFields(s *Suite, named []decode.Named) {
	if s.System == nil {
		return
	}
	for _, ref := range named {
		if len(ref.Path) == 0 {
			continue
		}
		svc, ok := s.System.Get(ref.Name)
		if !ok || !decoded(svc.Spec) {
			continue // not declared, or its kind's problems are reported
		}
		l.errs.Add(serviceFieldError(svc, ref))
	}
}

// serviceFieldError is the problem with the fields ref reads of svc, or nil.
func serviceFieldError(svc *service.Service, ref decode.Named) *diag.Error {
	f := ref.Path[0]
	fields := serviceFields(svc)
	if !slices.Contains(fields, f.Name) && f.Name != "control_token" {
		if service.IsJob(svc) {
			return diag.Errorf(f.Pos, "service(%q) has no %s: it is a job, which has no address", ref.Name, f.Name).
				WithHint("of a job, templates can read only its name")
		}
		e := diag.Errorf(f.Pos, "service(%q) has no field %q", ref.Name, f.Name)
		if c := diag.Closest(f.Name, fields); c != "" {
			return e.WithHint("did you mean %q? its fields: %s", c, strings.Join(fields, ", "))
		}
		return e.WithHint("its fields: %s", strings.Join(fields, ", "))
	}
	if (f.Name == "ports" || f.Name == "direct_ports") && len(ref.Path) > 1 {
		p := ref.Path[1]
		if !slices.Contains(svc.Ports, p.Name) {
			e := diag.Errorf(p.Pos, "service(%q) has no port %q", ref.Name, p.Name)
			if c := diag.Closest(p.Name, svc.Ports); c != "" {
				return e.WithHint("did you mean %q? its ports: %s", c, strings.Join(svc.Ports, ", "))
			}
			return e.WithHint("its ports: %s; name more under its ports:", strings.Join(svc.Ports, ", "))
		}
	}
	return nil
}

// serviceFields are the fields of the info service("name") gives of svc,
// sorted: its addresses (each a job lacks), and what its kind adds
// (service.Describer), its stand-in's too, as either may run.
func serviceFields(svc *service.Service) []string {
	if service.IsJob(svc) {
		return []string{"name"}
	}
	info := map[string]any{
		"name": svc.Name, "host": "127.0.0.1", "port": 1, "addr": "127.0.0.1:1", "url": "http://127.0.0.1:1",
		"ports": map[string]any{}, "direct_url": "", "direct_ports": map[string]any{},
	}
	for _, spec := range []service.Spec{svc.Spec, standInSpec(svc)} {
		if !decoded(spec) {
			continue
		}
		if d, ok := spec.(service.Describer); ok {
			// Describe only fills in the map (addresses, a generated
			// password): the keys it sets are the kind's fields.
			d.Describe(info)
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range info {
			if k != "control_token" && !yield(k) {
				return
			}
		}
	})
}

func standInSpec(svc *service.Service) service.Spec {
	if svc.StandIn == nil {
		return nil
	}
	return svc.StandIn.Spec
}

// decoded reports whether spec holds a decoded kind: a kind whose
// settings did not decode leaves none, or a nil pointer.
func decoded(spec service.Spec) bool {
	v := reflect.ValueOf(spec)
	return v.IsValid() && !(v.Kind() == reflect.Pointer && v.IsNil())
}
