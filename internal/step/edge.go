package step

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Protocol is what the calls on an edge speak, as seam's wire decodes
// them; steps that look at an edge's calls (fault, interactions) check at
// validate that what they ask of it can happen there.
type Protocol string

// The protocols an edge may carry.
const (
	HTTP     Protocol = "HTTP"       // HTTP/1.1 and HTTP/2, gRPC calls included
	Postgres Protocol = "PostgreSQL" // SQL statements
	MySQL    Protocol = "MySQL"      // SQL statements (MariaDB)
	Redis    Protocol = "Redis"      // commands
	NATS     Protocol = "NATS"       // publishes, subscriptions, messages
)

// kindProtocols is what a service of each kind is called with. A kind not
// listed (process, job) may speak anything: nothing is refused on an edge
// to it. A stub answers HTTP and gRPC.
var kindProtocols = map[string]Protocol{
	"stub":     HTTP,
	"postgres": Postgres,
	"mariadb":  MySQL,
	"redis":    Redis,
	"nats":     NATS,
}

// EdgeProtocols is what the edges to svc may carry: for each of its kinds
// (its stand-in's too, as the suite may run with either) the protocol its
// callers speak. ok is false when that is not known for one of them (a
// process may serve anything), so nothing may be refused.
func EdgeProtocols(svc *service.Service) (protos []Protocol, kind string, ok bool) {
	kinds := []string{svc.Kind}
	if svc.RealKind != "" {
		kinds = append(kinds, svc.RealKind)
	}
	if svc.StandIn != nil {
		kinds = append(kinds, svc.StandIn.Kind)
	}
	for _, k := range kinds {
		p, known := kindProtocols[k]
		if !known {
			return nil, "", false
		}
		if !contains(protos, p) {
			protos = append(protos, p)
		}
	}
	kind = svc.Kind
	if svc.RealKind != "" {
		kind = svc.RealKind
	}
	return protos, kind, len(protos) > 0
}

func contains[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// EdgeCheck is what a step asks of an edge's protocol: the callee must
// be called with one of Want for What (an input, like
// "interactions.method") to apply.
type EdgeCheck struct {
	What string
	Pos  diag.Pos
	Want []Protocol
	// Never says what would come of it there ("the fault would never
	// apply"); "": it would never apply.
	Never string
	// Hint says what to write instead on an edge of each protocol, when
	// there is something to say.
	Hint map[Protocol]string
}

// CheckEdge reports each check that cannot apply on the edge from → to,
// to errs: what to the service named to is called with is none of what
// the check wants. A service the suite lacks is reported elsewhere; an
// edge to a service that may speak anything is not checked.
func CheckEdge(sys *service.System, from, to string, checks []EdgeCheck, errs *diag.List) {
	svc, found := sys.Get(to)
	if !found || service.IsJob(svc) {
		return
	}
	has, kind, ok := EdgeProtocols(svc)
	if !ok {
		return
	}
	for _, c := range checks {
		if overlaps(has, c.Want) {
			continue
		}
		never := c.Never
		if never == "" {
			never = "it would never apply"
		}
		e := diag.Errorf(c.Pos, "%s: %s is a %s service, so %s→%s carries %s, not %s: %s",
			c.What, to, kind, from, to, names(has), names(c.Want), never)
		if h := c.Hint[has[0]]; h != "" {
			e.WithHint("%s", h)
		} else {
			e.WithHint("remove %s, or name an edge to a service that speaks %s", c.What, names(c.Want))
		}
		errs.Add(e)
	}
}

func overlaps(a, b []Protocol) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

func names(ps []Protocol) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, " or ")
}

// GRPCMethods lists the methods of the gRPC services in files, each as
// its path /package.Service/Method, sorted.
func GRPCMethods(files *protoregistry.Files) []string {
	var out []string
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			sd := f.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				out = append(out, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	sort.Strings(out)
	return out
}

// CheckGRPCMethod reports, at pos, a gRPC method path pattern (* within
// a segment) that matches none of the methods the service named svc
// serves, as its grpc: protos and descriptor sets say; with none
// (reflection only, or no grpc:) nothing is checked.
func CheckGRPCMethod(sys *service.System, svc, pattern, what string, pos diag.Pos, errs *diag.List) {
	s, ok := sys.Get(svc)
	if !ok || s.Descriptors == nil || pattern == "" {
		return
	}
	all := GRPCMethods(s.Descriptors)
	for _, m := range all {
		if m == pattern {
			return
		}
		if ok, _ := path.Match(pattern, m); ok {
			return
		}
	}
	wild := strings.ContainsAny(pattern, "*?[")
	e := diag.Errorf(pos, "%s: %s serves no method %s", what, svc, pattern)
	if wild {
		e = diag.Errorf(pos, "%s: %s matches none of the methods %s serves", what, pattern, svc)
	}
	switch c := diag.Closest(pattern, all); {
	case len(all) == 0:
		e.WithHint("the .proto files and descriptor sets of %s's grpc: declare no services", svc)
	case c != "" && !wild:
		e.WithHint("did you mean %s? %s's methods come from the .proto files and descriptor sets of its grpc:", c, svc)
	default:
		e.WithHint("%s's methods: %s", svc, listSome(all, 12))
	}
	errs.Add(e)
}

// listSome joins the first n of list, saying how many more there are.
func listSome(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}
