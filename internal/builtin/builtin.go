// Package builtin is the one place where seam's plug-ins are listed: step
// kinds and assertion operators. Adding a plug-in means adding a line here.
package builtin

import (
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/probe"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/step/execstep"
	"github.com/seamtest/seam/internal/step/httpstep"
)

// Registry holds the plug-in tables of one engine instance. Instances share
// nothing, so two engines in one process do not interfere.
type Registry struct {
	Steps    step.Table
	Ops      expect.Table
	Services service.Table
	Probes   probe.Table
	http     *httpstep.Kind
}

// New returns a registry with every builtin plug-in.
func New() *Registry {
	h := httpstep.New()
	return &Registry{
		Steps: step.Table{
			"http": h,
			"exec": execstep.Kind{},
		},
		Ops: expect.Builtin(),
		Services: service.Table{
			"process": process.Kind{},
		},
		Probes: probe.Builtin(),
		http:   h,
	}
}

// Close releases what plug-ins hold (idle HTTP connections).
func (r *Registry) Close() { r.http.Close() }
