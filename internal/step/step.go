// Package step is the contract between the engine and step kinds (http,
// exec, …). Each kind is a plug-in: it decodes its own typed inputs at load
// time and runs them at run time.
package step

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

// Input documents one key a step kind accepts.
type Input struct {
	Name string
	Doc  string
}

// Usage documents a step kind for `seam help steps` and docs/.
type Usage struct {
	Name    string
	Summary string
	Inputs  []Input
	Fields  []expect.Field // what the result holds, for expect: and capture:
	Example string
	// Services lists the service kinds the services a step names
	// (ServiceUser) may have, so validate reports an sql: step on a redis
	// service; empty: any kind. A service's stand-in kind counts too.
	Services []string
}

// Kind is a step plug-in.
type Kind interface {
	Usage() Usage
	// Decode decodes the kind's inputs into a typed action; problems go to
	// d, all of them. It returns nil when the inputs are unusable.
	Decode(d *decode.Decoder, n *yaml.Node) Action
}

// Action is one decoded step, ready to run any number of times.
type Action interface {
	Run(ctx context.Context, env *Env) (*Result, error)
}

// ServiceUser is an Action that names services; the loader checks the
// names against the suite's services.
type ServiceUser interface {
	ServiceRefs() []Ref
}

// EdgeUser is an Action that names depends_on edges (from → to) whose
// traffic goes through seam's wire; the loader checks each is one.
type EdgeUser interface {
	EdgeRefs() []EdgeRef
}

// Defaulter is an Action with a check of its own when the step's expect:
// says nothing of a field (exec: a non-zero exit fails the step unless
// expect: names exit_code). checks tells whether expect: speaks of a
// field; Default returns why the step fails, or "".
type Defaulter interface {
	Default(fields map[string]any, checks func(field string) bool) string
}

// ServiceChecker is an Action that checks what it asks of the services it
// names once the suite's services are all loaded (a grpc step's method and
// request against the service's .proto files). Problems go to errs, each
// with its position; a name the suite lacks is reported elsewhere.
type ServiceChecker interface {
	CheckServices(sys *service.System, errs *diag.List)
}

// EdgeRef is an edge named at a position.
type EdgeRef struct {
	From, To string
	Pos      diag.Pos
}

// Ref is a service named at a position.
type Ref struct {
	Name string
	Pos  diag.Pos
}

// Services resolves service names to addresses; the environment supplies it.
type Services interface {
	URL(name string) (string, error)
}

// Env is what a running step may use.
type Env struct {
	Vars     expr.Vars
	Services Services
	Dir      string    // the suite file's folder: relative paths start here
	ProcEnv  []string  // added to the environment of processes a step starts (the run's reaping mark)
	Start    time.Time // when the test began: steps that look at recorded traffic start there
	Seed     uint64    // the test's seed (from the run's): seeds a step's randomness
	Test     string    // the test's name, for the files a step saves
}

// Result is a step's structured outcome.
type Result struct {
	Fields   map[string]any // read by expect: and capture:
	Request  string         // what was sent, for failure reports
	Response string         // what came back, for failure reports
}

// Table lists the step kinds a suite may use.
type Table map[string]Kind

// Names returns the kind names in order.
func (t Table) Names() []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Address resolves where a step goes: the url it was given, or the URL of
// the service it names. want, when not empty, is the prefix the service's
// URL must have ("postgres", "redis://"), and kind names it in the error.
func Address(env *Env, service, url expr.Str, want, kind string) (string, error) {
	if !url.IsZero() {
		u, err := url.String(env.Vars)
		if err != nil {
			return "", fmt.Errorf("url: %w", err)
		}
		return u, nil
	}
	name, err := service.String(env.Vars)
	if err != nil {
		return "", fmt.Errorf("service: %w", err)
	}
	if env.Services == nil {
		return "", fmt.Errorf("service %q: this suite starts no services", name)
	}
	u, err := env.Services.URL(name)
	if err != nil {
		return "", err
	}
	if want != "" && !strings.HasPrefix(u, want) {
		return "", fmt.Errorf("service %q is not a %s service (its url is %s)", name, kind, u)
	}
	return u, nil
}

// Refs is ServiceRefs for the common case of one service field.
func Refs(service expr.Str) []Ref {
	if service.IsZero() || service.IsTemplate() {
		return nil
	}
	return []Ref{{Name: service.Raw, Pos: service.Pos}}
}

// Failed is the error of a step that ran but whose own check did not hold
// (stub-verify's count, say): the test fails on an assertion, not an error.
type Failed struct{ Msg string }

func (f *Failed) Error() string { return f.Msg }
