// Package builtin is the one place where seam's plug-ins are listed: step
// kinds and assertion operators. Adding a plug-in means adding a line here.
package builtin

import (
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/mariadb"
	"github.com/seamtest/seam/internal/service/nats"
	"github.com/seamtest/seam/internal/service/postgres"
	"github.com/seamtest/seam/internal/service/probe"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/service/redis"
	"github.com/seamtest/seam/internal/service/stubsvc"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/step/browserstep"
	"github.com/seamtest/seam/internal/step/execstep"
	"github.com/seamtest/seam/internal/step/faultstep"
	"github.com/seamtest/seam/internal/step/grpcstep"
	"github.com/seamtest/seam/internal/step/httpstep"
	"github.com/seamtest/seam/internal/step/natsstep"
	"github.com/seamtest/seam/internal/step/redisstep"
	"github.com/seamtest/seam/internal/step/sqlstep"
	"github.com/seamtest/seam/internal/step/stubverify"
	"github.com/seamtest/seam/internal/step/wirestep"
)

// Registry holds the plug-in tables of one engine instance. Instances share
// nothing, so two engines in one process do not interfere.
type Registry struct {
	Steps    step.Table
	Ops      expect.Table
	Services service.Table
	Probes   probe.Table
	http     *httpstep.Kind
	sql      *sqlstep.Kind
	redis    *redisstep.Kind
	nats     *natsstep.Kind
	grpc     *grpcstep.Kind
}

// New returns a registry with every builtin plug-in.
func New() *Registry {
	h := httpstep.New()
	q := sqlstep.New()
	rd := redisstep.New()
	nt := natsstep.New()
	g := grpcstep.New()
	return &Registry{
		Steps: step.Table{
			"http":         h,
			"exec":         execstep.Kind{},
			"sql":          q,
			"redis":        rd,
			"nats":         nt,
			"stub-verify":  stubverify.Kind{},
			"interactions": wirestep.Kind{},
			"fault":        faultstep.Kind{},
			"grpc":         g,
			"browser":      browserstep.New(),
		},
		Ops: expect.Builtin(),
		Services: service.Table{
			"process":  process.Kind{},
			"job":      process.JobKind{},
			"postgres": postgres.Kind{},
			"redis":    redis.Kind{},
			"nats":     nats.Kind{},
			"mariadb":  mariadb.Kind{},
			"stub":     stubsvc.Kind{},
		},
		Probes: probe.Builtin(),
		http:   h,
		sql:    q,
		redis:  rd,
		nats:   nt,
		grpc:   g,
	}
}

// Close releases what plug-ins hold (idle HTTP connections, gRPC ones).
func (r *Registry) Close() {
	r.http.Close()
	r.sql.Close()
	r.redis.Close()
	r.nats.Close()
	r.grpc.Close()
}
