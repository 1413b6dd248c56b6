package process

import (
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

// JobKind is the job service kind: a process that runs to completion
// (a migration, a seeder, key generation, createdb) once per environment,
// after what it depends on and before what depends on it.
type JobKind struct{}

// Usage implements service.Kind.
func (JobKind) Usage() service.Usage {
	return service.Usage{
		Name: "job",
		Summary: "run a command to its end once per environment, after what it depends on and before what depends " +
			"on it (migrations, seeders, key generation): the keys of process: (build:, run:, env:, dir:, inputs:, " +
			"files:, stop_timeout:) and timeout: (default 5m). Exit 0 means done; any other exit, a signal or " +
			"passing timeout: fails the environment (exit code 3) with the job's last lines, and the job is killed " +
			"with its process group. A job has no port and no probe (ports: and ready: are errors), so its " +
			"templates have no addr, host, port, url or ports, and its dependants get no address for it",
		Inputs:  append(inputs(), service.Input{Name: "timeout", Doc: "how long the job may run before it is killed and the environment fails (default 5m)"}),
		Example: "job:\n  build: go build -o ((bin)) ./cmd/migrate\n  run: [((bin)), -db, ((service(\"db\").url))]\n  timeout: 2m",
	}
}

// Job is a decoded job: a process spec that runs to completion.
type Job struct{ *Spec }

// Decode implements service.Kind.
func (JobKind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := decodeSpec(d, n, "job", true)
	if s == nil {
		return nil
	}
	if s.Timeout <= 0 {
		d.Errorf(keyNode(n, "timeout"), "job: timeout: want a positive duration like 2m").
			WithHint("a job that may run for ever would hold the environment up; give it an upper bound")
		return nil
	}
	return Job{s}
}

// JobTimeout implements service.Job.
func (j Job) JobTimeout() time.Duration { return j.Timeout }
