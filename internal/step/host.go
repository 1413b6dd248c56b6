package step

import (
	"context"
	"io"

	"github.com/seamtest/seam/internal/wire"
)

// Host is a Services that keeps helpers a step kind starts for one
// environment (the browser) and lets them put what they observe on the
// test's timeline.
type Host interface {
	// Keep returns the helper kept under key, starting it with start the
	// first time. The environment closes it when it stops, before its
	// services, so the helper never sees them go away.
	Keep(key string, start func(HostEnv) (io.Closer, error)) (io.Closer, error)
}

// HostEnv is what an environment gives the helpers it keeps.
type HostEnv struct {
	// Log puts a line of a component (say "browser") on the timeline of
	// the test running on the environment.
	Log func(component, stream, line string)
	// Record adds an interaction on an edge (browser→orders) to the
	// environment's journal and timeline: interactions: steps, coverage
	// and suspicion see it like the wire's. It masks it as the wire masks
	// what it records (the built-in rules and the suite's mask:).
	Record func(wire.Interaction)
	// Started records a child process, so a crashed run's is reaped.
	Started func(pid int)
	// AddTemp records a folder outside TempDir that a helper made (nil:
	// none to record), so a crashed run's is removed by the next seam.
	AddTemp func(dir string)
	// Mark is the environment entries that mark the run's processes.
	Mark []string
	// TempDir is a work folder of the environment, removed with it.
	TempDir string
	// ArtifactDir keeps files for the reports (screenshots), kept with
	// the run's logs.
	ArtifactDir string
	// Services maps each service's loopback address (host:port, every
	// port) to its name, to tell which service a request went to.
	Services map[string]string
	// Wired maps the loopback address of each edge's proxy (host:port,
	// every port; as 127.0.0.1 and localhost) to the callee's own: a page
	// given the address a service was given for its dependency (a UI that
	// passes its API's address on) would otherwise go through that edge's
	// wire and be recorded as the service's call.
	Wired map[string]string
	// Faults are the faults set now on the helper's component's edges
	// (browser→orders), by callee; nil when none. A helper that puts them
	// in effect itself is a FaultTaker.
	Faults func() map[string]wire.Faults
}

// TestEnder is a helper that keeps state of the test running (a
// browser's requests in flight): TestEnded is called once the test's
// steps and teardown are done, while its timeline is still the test's.
type TestEnder interface {
	TestEnded()
}

// Settler is a helper that records interactions of its own (a browser's
// requests): Settle waits, until ctx ends, for those whose answers have
// come to be recorded, so a check of an edge right after the page showed
// an answer sees the call that brought it.
type Settler interface {
	Settle(ctx context.Context)
}

// FaultTaker is a helper that puts the faults of its component's edges in
// effect itself, as no proxy sees its requests (the browser's go straight
// to the services): the environment tells it when they change.
type FaultTaker interface {
	FaultsChanged()
}

// Component is an Action that drives a component of seam's own (the
// browser) which calls the suite's services: its edges (browser→web)
// count in coverage and may be named by interactions: steps. An edge
// with no To only names the component.
type Component interface {
	ComponentEdges() []EdgeRef
}

// Rechecker is an Action whose result can be read again without acting
// again: the engine rereads it until the expectations hold or the step's
// time is up (a page still rendering the answer to a click).
type Rechecker interface {
	Recheck(ctx context.Context, env *Env) (*Result, error)
}

// Artifact is a file a failing step saved for the reports.
type Artifact struct {
	Name string `json:"name"` // "screenshot", "page HTML"
	Path string `json:"path"`
}

// Artifacter is an Action that saves what it saw when it failed.
type Artifacter interface {
	Artifacts(ctx context.Context, env *Env) []Artifact
}

// Preparer is an Action with set-up of seam's own that should not count
// against the step's timeout (starting the browser, opening the test's
// context): the engine calls Prepare, bounded by the test's context,
// before the step's time starts.
type Preparer interface {
	Prepare(ctx context.Context, env *Env) error
}
