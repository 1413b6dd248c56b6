package environment

import (
	"testing"

	"github.com/seamtest/seam/internal/service"
)

// A fault on a pair of services with no wire between them says why, as a
// fact about the suite: not "(cart depends on db)" as if it did.
func TestNoWireSaysWhy(t *testing.T) {
	sys := service.NewSystem([]*service.Service{
		{Name: "db"}, {Name: "cache"}, {Name: "alone"},
		{Name: "migrate", Spec: jobSpec{}},
		{Name: "cart", DependsOn: []service.Dep{{Name: "cache"}, {Name: "db", NoWire: true}, {Name: "migrate"}}},
	})
	for _, tc := range []struct{ from, to, want string }{
		{"cart", "nope", "no wire on cart→nope: cart does not depend on nope; it depends on cache, db, migrate (faults go on a depends_on edge)"},
		{"alone", "db", "no wire on alone→db: alone does not depend on db, nor on anything (faults go on a depends_on edge)"},
		{"cart", "db", "no wire on cart→db: the edge is wire: false (remove wire: false from cart's depends_on to put faults on it)"},
		{"cart", "migrate", "no wire on cart→migrate: migrate is a job, which runs to its end before cart starts; faults go on an edge to a service"},
	} {
		if got := noWire(sys, tc.from, tc.to).Error(); got != tc.want {
			t.Errorf("%s→%s: %s\nwant %s", tc.from, tc.to, got, tc.want)
		}
	}
}

// jobSpec is a job's spec, for IsJob.
type jobSpec struct {
	service.Spec
	service.Job
}
