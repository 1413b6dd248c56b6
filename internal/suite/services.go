package suite

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/probe"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

var serviceKeys = []string{"depends_on", "ready", "ports", "grpc"}

// readyKeys are the keys of ready: beside its probe.
var readyKeys = []string{"timeout", "interval"}

// standInKind is the kind that may stand beside another as its stand-in.
const standInKind = "stub"

// serviceNames are the variables a service's own settings may use besides
// the suite's.
var serviceNames = []string{"bin", "addr", "host", "port", "ports", "url", "tmp", "name"}

func (l *loader) services(d *decode.Decoder, n *yaml.Node) []*service.Service {
	defined := copySet(l.defined)
	for _, k := range serviceNames {
		defined[k] = true
	}
	prev := d.Vars
	d.Vars = defined
	defer func() { d.Vars = prev }()
	var out []*service.Service
	for _, f := range d.Fields(n, "services") {
		if !validServiceName(f.Key) {
			d.Errorf(f.KeyN, "services: %q is not a valid service name", f.Key).
				WithHint("use letters, digits, - and _")
			continue
		}
		if svc := l.service(d, f.Key, f.KeyN, decode.Resolve(f.Value)); svc != nil {
			out = append(out, svc)
		}
	}
	return out
}

func validServiceName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (l *loader) service(d *decode.Decoder, name string, keyN, n *yaml.Node) *service.Service {
	svc := &service.Service{Name: name, Pos: d.Pos(keyN), Ports: []string{"http"},
		Ready: &service.Readiness{Timeout: 30 * time.Second, Interval: 100 * time.Millisecond}}
	kinds := l.opts.Services.Names()
	var kindF, standF *decode.Field
	var portsK, readyK *yaml.Node // a job may have neither
	unknown := false
	fields := d.Fields(n, "service "+name)
	var grpcN *yaml.Node
	for i, f := range fields {
		switch {
		case f.Key == "depends_on":
			v := decode.Resolve(f.Value)
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, it := range items {
				it = decode.Resolve(it)
				if it.Kind == yaml.MappingNode {
					// {name: db, wire: false}
					var dep struct {
						Name string   `yaml:"name" seam:"required"`
						Wire *bool    `yaml:"wire"`
						Pos  diag.Pos `yaml:"-" seam:"pos"`
					}
					d.Decode(it, &dep, "depends_on")
					if dep.Name != "" {
						svc.DependsOn = append(svc.DependsOn, service.Dep{Name: dep.Name, Pos: d.Pos(it), NoWire: dep.Wire != nil && !*dep.Wire})
					}
					continue
				}
				if it.Kind != yaml.ScalarNode {
					d.Errorf(it, "depends_on: want service names (or {name: x, wire: false}), got %s", decode.KindName(it))
					continue
				}
				svc.DependsOn = append(svc.DependsOn, service.Dep{Name: it.Value, Pos: d.Pos(it)})
			}
		case f.Key == "ports":
			portsK = f.KeyN
			if ports := l.ports(d, f.Value); len(ports) > 0 {
				svc.Ports = ports
			}
		case f.Key == "ready":
			readyK = f.KeyN
			l.readiness(d, f.Value, svc.Ready)
		case f.Key == "grpc":
			grpcN = decode.Resolve(f.Value)
		case l.opts.Services[f.Key] != nil:
			if kindF != nil {
				// A stub beside the real kind is its stand-in.
				switch {
				case f.Key == standInKind && standF == nil:
					standF = &fields[i]
					continue
				case kindF.Key == standInKind && standF == nil:
					standF, kindF = kindF, &fields[i]
					continue
				}
				d.Errorf(f.KeyN, "service %q: one kind per service, but it has %q and %q", name, kindF.Key, f.Key).
					WithHint("only stub: may stand beside another kind, as its stand-in")
				continue
			}
			kindF = &fields[i]
		default:
			unknown = true
			e := d.Errorf(f.KeyN, "service %q: unknown key %q", name, f.Key)
			if c := diag.Closest(f.Key, append(append([]string{}, serviceKeys...), kinds...)); c != "" {
				e.WithHint("did you mean %q?", c)
			} else {
				e.WithHint("a service has one kind (%s); known keys: %s", strings.Join(kinds, ", "), strings.Join(serviceKeys, ", "))
			}
		}
	}
	if grpcN != nil { // after ports:, which it may name
		grpcTypes(d, svc, grpcN)
	}
	if kindF == nil {
		if !unknown {
			d.Errorf(keyN, "service %q: no kind", name).WithHint("add one of: %s", strings.Join(kinds, ", "))
		}
		// Kept (without a kind; nothing runs with problems) so that
		// references to it are not reported as well.
		return svc
	}
	svc.Kind = kindF.Key
	// Kept even when its settings have problems, so that references to it
	// are not reported as well.
	svc.Spec = l.opts.Services[kindF.Key].Decode(d, decode.Resolve(kindF.Value))
	if _, job := svc.Spec.(service.Job); job {
		// It runs to its end: nothing listens, nothing is probed.
		svc.Ports = nil
		if portsK != nil {
			d.Errorf(portsK, "service %q: a job has no ports", name).
				WithHint("a job runs to its end and nothing connects to it: remove ports:, or make it a process: if it serves")
		}
		if readyK != nil {
			d.Errorf(readyK, "service %q: a job has no ready: probe", name).
				WithHint("a job is done when it exits with 0: remove ready:, and bound its run with timeout: under job:")
		}
		if standF != nil {
			d.Errorf(standF.KeyN, "service %q: a job has no stand-in stub", name).
				WithHint("a stub answers calls, and nothing calls a job: remove stub:")
			standF = nil
		}
	}
	if standF != nil {
		spec := l.opts.Services[standF.Key].Decode(d, decode.Resolve(standF.Value))
		if spec != nil {
			var p service.Probe = probe.Default()
			if pr, ok := spec.(service.Prober); ok {
				p = pr.DefaultProbe()
			}
			svc.StandIn = &service.StandIn{Pos: d.Pos(standF.KeyN), Kind: standF.Key, Spec: spec, Probe: p}
		}
	}
	if readyK != nil && svc.Ports != nil {
		checkProbePorts(d, svc)
	}
	if svc.Ready.Probe == nil {
		if p, ok := svc.Spec.(service.Prober); ok {
			svc.Ready.Probe = p.DefaultProbe()
		} else {
			svc.Ready.Probe = probe.Default()
		}
	}
	return svc
}

// checkProbePorts reports the ports svc's ready: probe names that it does
// not have: the probe could only fail until its timeout.
func checkProbePorts(d *decode.Decoder, svc *service.Service) {
	for _, r := range probe.PortRefs(svc.Ready.Probe) {
		if slices.Contains(svc.Ports, r.Name) {
			continue
		}
		e := diag.Errorf(r.Pos, "ready: service %q has no port %q", svc.Name, r.Name)
		if c := diag.Closest(r.Name, svc.Ports); c != "" {
			e.WithHint("did you mean %q? its ports: %s", c, strings.Join(svc.Ports, ", "))
		} else {
			e.WithHint("its ports: %s; to probe another, name it under ports: [%s, %s]", strings.Join(svc.Ports, ", "), strings.Join(svc.Ports, ", "), r.Name)
		}
		d.Errs.Add(e)
	}
}

func (l *loader) readiness(d *decode.Decoder, n *yaml.Node, out *service.Readiness) {
	n = decode.Resolve(n)
	pc := &probe.Compiler{D: d, Table: l.opts.Probes, Keys: readyKeys}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "ready: want a mapping like {http: /health} or {tcp: true}, got %s", decode.KindName(n))
		return
	}
	probeNode := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for _, f := range d.Fields(n, "ready") {
		switch f.Key {
		case "timeout":
			if v, ok := d.Duration(f.Value, "ready.timeout"); ok {
				out.Timeout = v
			}
		case "interval":
			if v, ok := d.Duration(f.Value, "ready.interval"); ok && v > 0 {
				out.Interval = v
			}
		default:
			probeNode.Content = append(probeNode.Content, f.KeyN, f.Value)
		}
	}
	if len(probeNode.Content) == 0 {
		return // the default tcp probe, with these timings
	}
	if p := pc.Probe(probeNode, "ready"); p != nil {
		out.Probe = p
	}
}

// checkServiceRefs reports steps that name services the suite lacks.
// checkEdges reports edges a step names that are not wired depends_on
// edges (the names themselves are checked as service references).
func (l *loader) checkEdges(s *Suite, refs []step.EdgeRef, components map[string]bool) {
	for _, r := range refs {
		if _, declared := s.System.Get(r.From); !declared && components[r.From] {
			continue // seam's own component (the browser) calls any service
		}
		from, ok := s.System.Get(r.From)
		if _, ok2 := s.System.Get(r.To); !ok || !ok2 {
			continue // reported as an unknown service
		}
		found := false
		for _, d := range from.DependsOn {
			if d.Name != r.To {
				continue
			}
			found = true
			if to, _ := s.System.Get(r.To); service.IsJob(to) {
				l.errs.Add(diag.Errorf(r.Pos, "%s is a job, so the edge %s→%s has no wire", r.To, r.From, r.To).
					WithHint("a job runs to its end before %s starts and nothing talks to it; name an edge to a service", r.From))
				continue
			}
			if d.NoWire {
				l.errs.Add(diag.Errorf(r.Pos, "the edge %s→%s is wire: false, so seam does not see its traffic", r.From, r.To).
					WithHint("remove wire: false from %s's depends_on", r.From))
			}
		}
		if !found {
			var deps []string
			for _, d := range from.DependsOn {
				deps = append(deps, d.Name)
			}
			e := diag.Errorf(r.Pos, "%s→%s is not an edge: %s does not depend on %s", r.From, r.To, r.From, r.To)
			switch from.Kind {
			case "postgres", "mariadb", "redis", "nats":
				// A server calls no one: the edge that carries the calls
				// is from what depends on the callee.
				var callers []string
				for _, svc := range s.System.Services {
					for _, d := range svc.DependsOn {
						if d.Name == r.To && svc.Name != r.From {
							callers = append(callers, svc.Name)
						}
					}
				}
				if len(callers) > 0 {
					e.WithHint("%s is a %s server and calls no one: name an edge from a service that depends on %s (here: %s)", r.From, from.Kind, r.To, strings.Join(callers, ", "))
				} else {
					e.WithHint("%s is a %s server and calls no one: name an edge from a service that depends on %s", r.From, from.Kind, r.To)
				}
				l.errs.Add(e)
				continue
			}
			if len(deps) > 0 {
				e.WithHint("%s depends on: %s", r.From, strings.Join(deps, ", "))
			} else {
				e.WithHint("add depends_on: [%s] to %s, so its calls go through the wire", r.To, r.From)
			}
			l.errs.Add(e)
		}
	}
}

// stepRefs is what checkServiceRefs needs of one step, kept instead of
// the step so a suite validated test by test (Options.Each) need not hold
// its tests.
type stepRefs struct {
	kind     string
	edges    []step.EdgeRef
	services []step.Ref
	uses     bool // a step.ServiceUser
}

// collectRefs records what checkServiceRefs needs of t's steps, the
// components it drives among them, and runs their service checks (the
// services are all loaded before any test).
func (l *loader) collectRefs(t *Test) {
	for _, steps := range [][]*Step{t.Setup, t.Steps, t.Teardown} {
		for _, st := range steps {
			if c, ok := st.Action.(step.Component); ok {
				for _, e := range c.ComponentEdges() {
					l.components[e.From] = true
				}
			}
			if sc, ok := st.Action.(step.ServiceChecker); ok && l.suite.System != nil {
				sc.CheckServices(l.suite.System, l.errs)
			}
			r := stepRefs{kind: st.Kind}
			if eu, ok := st.Action.(step.EdgeUser); ok {
				r.edges = eu.EdgeRefs()
			}
			if su, ok := st.Action.(step.ServiceUser); ok {
				r.services, r.uses = su.ServiceRefs(), true
			}
			if r.edges != nil || r.uses {
				l.refs = append(l.refs, r)
			}
		}
	}
}

func (l *loader) checkServiceRefs(s *Suite) {
	names := []string{}
	if s.System != nil {
		names = s.System.Names()
	}
	// Components seam drives (the browser) are callers on edges too.
	components := l.components
	for _, r := range l.refs {
		if r.edges != nil && s.System != nil {
			l.checkEdges(s, r.edges, components)
		}
		if !r.uses {
			continue
		}
		var accepts []string
		hint := "declare it under services:"
		if k := l.opts.Steps[r.kind]; k != nil {
			accepts = k.Usage().Services
			for _, in := range k.Usage().Inputs {
				if in.Name == "url" {
					hint += ", or use url: instead" // only where the step takes one
				}
			}
		}
		for _, ref := range r.services {
			if components[ref.Name] && !declared(s, ref.Name) {
				continue
			}
			if l.checkService(s, names, ref.Name, ref.Pos, hint) {
				l.checkServiceKind(s, r.kind, accepts, ref)
			}
		}
	}
	l.checkNamed(s, l.named)
}

// checkNamed reports the services templates name that the suite lacks.
func (l *loader) checkNamed(s *Suite, named []decode.Named) {
	names := []string{}
	if s.System != nil {
		names = s.System.Names()
	}
	for _, ref := range named {
		l.checkService(s, names, ref.Name, ref.Pos, "declare it under services:")
	}
}

// checkServiceKind reports a step that names a service of a kind it does
// not work on (accepts, from the step kind's usage; empty: any). Each of
// the service's kinds counts, its stand-in's too: the suite may run with
// either.
func (l *loader) checkServiceKind(s *Suite, stepKind string, accepts []string, ref step.Ref) {
	svc, _ := s.System.Get(ref.Name)
	if len(accepts) == 0 || svc.Kind == "" {
		return
	}
	has := []string{svc.Kind}
	if svc.RealKind != "" {
		has = append(has, svc.RealKind)
	}
	if svc.StandIn != nil {
		has = append(has, svc.StandIn.Kind)
	}
	for _, k := range has {
		if contains(accepts, k) {
			return
		}
	}
	kind := svc.Kind
	if svc.RealKind != "" {
		kind = svc.RealKind
	}
	var others []string
	for _, o := range s.System.Services {
		for _, k := range []string{o.Kind, o.RealKind} {
			if contains(accepts, k) && !contains(others, o.Name) {
				others = append(others, o.Name)
			}
		}
		if o.StandIn != nil && contains(accepts, o.StandIn.Kind) && !contains(others, o.Name) {
			others = append(others, o.Name)
		}
	}
	e := diag.Errorf(ref.Pos, "%s: service %q is a %s service; %s works on %s", stepKind, ref.Name, kind, stepKind, strings.Join(accepts, " or "))
	if len(others) > 0 {
		e.WithHint("this suite's %s services: %s", strings.Join(accepts, " or "), strings.Join(others, ", "))
	} else {
		e.WithHint("name a %s service, or give url: instead", strings.Join(accepts, " or "))
	}
	l.errs.Add(e)
}

// checkService reports name at pos when the suite has no such service;
// none is the hint for a suite without services. It says whether the
// service exists.
func (l *loader) checkService(s *Suite, names []string, name string, pos diag.Pos, none string) bool {
	if s.System != nil {
		if _, ok := s.System.Get(name); ok {
			return true
		}
	}
	e := diag.Errorf(pos, "no service %q in this suite", name)
	if c := diag.Closest(name, names); c != "" {
		e.WithHint("did you mean %q?", c)
	} else if len(names) == 0 {
		e.WithHint("%s", none)
	} else {
		e.WithHint("services: %s", strings.Join(names, ", "))
	}
	l.errs.Add(e)
	return false
}

// ports decodes ports: a list of names, each of which may be a template,
// or one template that yields a list, like
// ((mode == "grpc" ? ["grpc", "http"] : ["http"])). Ports are allocated
// before anything starts, so these templates see only the suite's vars
// (as --var and the applied profile set them), evaluated now.
func (l *loader) ports(d *decode.Decoder, n *yaml.Node) []string {
	prev := d.Vars
	d.Vars = l.defined // suite vars, not the service's own names
	defer func() { d.Vars = prev }()
	var v expr.Value
	before := d.Errs.Len()
	v.DecodeYAML(d, n)
	n = decode.Resolve(n)
	if d.Errs.Len() > before {
		return nil
	}
	x, err := v.Eval(l.loadVars())
	if err != nil {
		d.Errorf(n, "ports: %v", err).WithHint("ports are named before anything starts: their templates may use the suite's vars only")
		return nil
	}
	if s, ok := x.(string); ok && v.IsTemplateOnly() {
		x = []any{s}
	}
	list, ok := x.([]any)
	if !ok {
		d.Errorf(n, "ports: want a list of port names, got %s", expr.Show(x)).WithHint("like ports: [http, admin]")
		return nil
	}
	var out []string
	for i, e := range list {
		s, ok := e.(string)
		if !ok || s == "" {
			d.Errorf(n, "ports[%d]: want a port name, got %s", i, expr.Show(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// loadVars evaluates the suite's vars for what is decided at load (port
// names): builtins with a fixed seed, --var values, then the vars in
// order. A var that fails here is left out: its template is evaluated
// again, and reported, when the run starts.
func (l *loader) loadVars() expr.Vars {
	if l.constVars != nil {
		return l.constVars
	}
	vars := expr.Builtins(0)
	for k, raw := range l.opts.Vars {
		if x, err := l.suite.VarValue(k, raw); err == nil {
			vars[k] = x
		}
	}
	for _, v := range l.suite.Vars {
		if _, set := l.opts.Vars[v.Name]; set {
			continue
		}
		if x, err := v.Value.Eval(vars); err == nil {
			vars[v.Name] = x
		}
	}
	l.constVars = vars
	return vars
}

// grpcTypes reads the gRPC services a service serves, from the .proto
// files and descriptor sets it names, or notes that they are to be asked
// of it by server reflection once it is ready: the wire shows their
// calls' messages as JSON. A file that does not compile is an error
// here, at validate, naming the line in the .proto.
func grpcTypes(d *decode.Decoder, svc *service.Service, n *yaml.Node) {
	var g struct {
		Protos         []string `yaml:"protos"`
		ImportPaths    []string `yaml:"import_paths"`
		DescriptorSets []string `yaml:"descriptor_sets"`
		Reflection     bool     `yaml:"reflection"`
		Port           string   `yaml:"port"`
	}
	before := d.Errs.Len()
	d.Decode(n, &g, "grpc")
	if d.Errs.Len() > before {
		return
	}
	if len(g.Protos)+len(g.DescriptorSets) == 0 && !g.Reflection {
		d.Errorf(n, "service %q: grpc: name the services' protos or descriptor_sets, or ask it: reflection: true", svc.Name).
			WithHint("grpc: {protos: [api/auth.proto]} (paths from the suite's folder)")
		return
	}
	if g.Reflection {
		svc.GRPCReflect = g.Port
		switch {
		case g.Port != "" && !slices.Contains(svc.Ports, g.Port):
			d.Errorf(n, "service %q: grpc.port: %q is not one of its ports (%s)", svc.Name, g.Port, strings.Join(svc.Ports, ", "))
		case g.Port != "":
		case slices.Contains(svc.Ports, "grpc"):
			svc.GRPCReflect = "grpc"
		default:
			svc.GRPCReflect = svc.Ports[0]
		}
	}
	if len(g.Protos)+len(g.DescriptorSets) == 0 {
		return
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: d.Dir, Protos: g.Protos, ImportPaths: g.ImportPaths, Sets: g.DescriptorSets})
	if err != nil {
		d.Errorf(n, "service %q: grpc: %v", svc.Name, err).
			WithHint("imports are looked up from the suite's folder and import_paths (google/protobuf/… are built in)")
		return
	}
	svc.Descriptors = files
}

func declared(s *Suite, name string) bool {
	if s.System == nil {
		return false
	}
	_, ok := s.System.Get(name)
	return ok
}
