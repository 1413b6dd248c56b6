package grpcstep

import (
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxCheckDepth bounds how deep check follows a request's nested messages.
const maxCheckDepth = 32

// CheckServices implements step.ServiceChecker: with a service whose
// grpc: names its protos or descriptor sets, the method must be one of
// them, not client streaming, and the request's fields must exist. The
// files are kept for Run. A service known only by reflection is checked
// when the step runs.
func (a *action) CheckServices(sys *service.System, errs *diag.List) {
	if a.Service.IsZero() || a.Service.IsTemplate() {
		return
	}
	svc, ok := sys.Get(a.Service.Raw)
	if !ok {
		return // reported as an unknown service
	}
	pos := func(n *yaml.Node) diag.Pos {
		return diag.Pos{File: a.file, Line: n.Line, Col: n.Column}
	}
	if a.Port != "" && !contains(svc.Ports, a.Port) {
		errs.Add(diag.Errorf(pos(a.portN), "grpc.port: service %q has no port %q", svc.Name, a.Port).
			WithHint("its ports: %s", strings.Join(svc.Ports, ", ")))
	}
	if svc.Descriptors == nil {
		return
	}
	a.files = svc.Descriptors
	md, err := find(svc.Descriptors, a.path)
	if err != nil {
		errs.Add(diag.Errorf(pos(a.methodN), "grpc.method: %s: %v", a.Method, err).
			WithHint("methods are looked up in the .proto files and descriptor sets of %s's grpc:", svc.Name))
		return
	}
	if md.IsStreamingClient() {
		errs.Add(diag.Errorf(pos(a.methodN), "grpc.method: %s is client streaming: the grpc step makes unary and server-streaming calls only", a.Method))
		return
	}
	if a.requestN != nil {
		checkMessage(a.requestN, md.Input(), "grpc.request", pos, errs, 0)
	}
}

// checkMessage reports the keys of n that are not fields of m, going into
// nested messages. Templates and well-known types (their JSON forms are
// not field mappings) are left to Run.
func checkMessage(n *yaml.Node, m protoreflect.MessageDescriptor, what string, pos func(*yaml.Node) diag.Pos, errs *diag.List, depth int) {
	if n.Kind != yaml.MappingNode || depth > maxCheckDepth || strings.HasPrefix(string(m.FullName()), "google.protobuf.") {
		return
	}
	fields := m.Fields()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], decode.Resolve(n.Content[i+1])
		if strings.Contains(k.Value, "((") {
			continue
		}
		f := fields.ByJSONName(k.Value)
		if f == nil {
			f = fields.ByTextName(k.Value)
		}
		if f == nil {
			e := diag.Errorf(pos(k), "%s: %s has no field %q", what, m.FullName(), k.Value)
			var names []string
			for j := 0; j < fields.Len(); j++ {
				names = append(names, fields.Get(j).JSONName())
			}
			if c := diag.Closest(k.Value, names); c != "" {
				e.WithHint("did you mean %q?", c)
			} else if len(names) > 0 {
				e.WithHint("its fields: %s", strings.Join(names, ", "))
			} else {
				e.WithHint("it has no fields: give request: {}")
			}
			errs.Add(e)
			continue
		}
		sub := what + "." + k.Value
		switch {
		case f.IsMap():
			if f.MapValue().Kind() == protoreflect.MessageKind && v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					checkMessage(decode.Resolve(v.Content[j]), f.MapValue().Message(), sub+"."+v.Content[j-1].Value, pos, errs, depth+1)
				}
			}
		case f.Kind() != protoreflect.MessageKind && f.Kind() != protoreflect.GroupKind:
		case f.IsList():
			if v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					checkMessage(decode.Resolve(e), f.Message(), sub, pos, errs, depth+1)
				}
			}
		default:
			checkMessage(v, f.Message(), sub, pos, errs, depth+1)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
