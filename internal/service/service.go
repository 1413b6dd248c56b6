// Package service is the contract between an environment and the kinds of
// service it can start (process, and later data servers, stubs,
// containers), and the model of a system's services.
package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/mask"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Usage documents a service kind for `seam help services` and docs/; a
// test fails when Inputs and the keys the kind's Decode accepts differ.
type Usage struct {
	Name    string
	Summary string
	Inputs  []Input // the keys under the kind's key
	Example string
}

// Input documents one key a service kind accepts. Name may list several
// keys that share a doc ("user, password").
type Input struct {
	Name string
	Doc  string
}

// Kind is a service plug-in.
type Kind interface {
	Usage() Usage
	// Decode decodes the kind's settings at load time; problems go to d.
	Decode(d *decode.Decoder, n *yaml.Node) Spec
}

// Spec is a decoded service, ready to start any number of instances.
type Spec interface {
	// Prepare does once-per-run work (a build, say) before any instance
	// starts. It is called once per run, not once per environment.
	Prepare(ctx context.Context, env *PrepareEnv) error
	// Start starts one instance. It returns once the instance is started;
	// readiness is probed by the caller.
	Start(ctx context.Context, env *StartEnv) (Instance, error)
}

// Sourcer is a Spec made from files of the user's: a process's build
// inputs, a stub's mapping files, a database's init files. seam run
// --changed REF runs the tests that touched a service when one of its
// sources changed since REF. Sources are absolute paths: a folder stands
// for everything under it, a path ending in a separator for the files
// directly in that folder (a Go package). dir is the suite's folder.
type Sourcer interface {
	Sources(ctx context.Context, dir string, vars expr.Vars) ([]string, error)
}

// PrepareEnv is what Prepare may use.
type PrepareEnv struct {
	Name     string
	Pos      diag.Pos
	Dir      string // the suite's folder
	CacheDir string // seam's cache folder (kept between runs)
	Vars     expr.Vars
	Log      func(line string)
	// Env is added to the environment of every command Prepare runs (the
	// run's mark, by which the reaping finds them and what they start;
	// TMPDIR inside the run's own folder, so that their temporary files
	// go with it).
	Env []string
	// AddTemp and Started record a work folder and a started child for
	// cleanup should seam die before its own deferred cleanup runs.
	AddTemp func(dir string)
	Started func(pid int)
}

// Temp records dir for cleanup after a crash, when the caller asked.
func (e *PrepareEnv) Temp(dir string) {
	if e.AddTemp != nil {
		e.AddTemp(dir)
	}
}

// EnvAs is Env for a command run as cred's user (nil: seam's own): the
// run's folder is seam's user's alone, so a command run as another user
// (initdb as postgres) keeps its own temp folder.
func (e *PrepareEnv) EnvAs(cred *syscall.Credential) []string {
	if cred == nil {
		return e.Env
	}
	var out []string
	for _, kv := range e.Env {
		if !strings.HasPrefix(kv, "TMPDIR=") && !strings.HasPrefix(kv, "GOTMPDIR=") {
			out = append(out, kv)
		}
	}
	return out
}

// MkdirTemp makes a new folder in parent named prefix and a random
// suffix, recorded for cleanup before it exists: seam killed at any moment
// leaves no folder that the reaping does not know of.
func (e *PrepareEnv) MkdirTemp(parent, prefix string) (string, error) {
	return MkdirTemp(parent, prefix, e.AddTemp)
}

// MkdirTemp makes a new folder in parent named prefix and a random suffix
// (mode 0700), telling record (when given) its path before it is made.
func MkdirTemp(parent, prefix string, record func(dir string)) (string, error) {
	for range 100 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		dir := filepath.Join(parent, prefix+hex.EncodeToString(b[:]))
		if record != nil {
			record(dir)
		}
		err := os.Mkdir(dir, 0o700)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			return dir, err
		}
	}
	return "", fmt.Errorf("no free name for a folder %s* in %s", prefix, parent)
}

// Interrupted is the error of preparing work (a build, initdb) stopped
// because the run was interrupted (Ctrl-C, SIGTERM); it unwraps to the
// context's error, context.Canceled for a signal.
type Interrupted struct {
	What  string // "build", "initdb", …
	Cause error
}

func (e *Interrupted) Error() string { return e.What + " interrupted" }
func (e *Interrupted) Unwrap() error { return e.Cause }

// StopGrace is how long a preparing command's process group has between
// SIGTERM and SIGKILL when the run is interrupted: PostgreSQL's initdb
// removes its shared memory on SIGTERM, and leaks it on SIGKILL.
const StopGrace = 5 * time.Second

// Run runs a preparing command (a build, initdb) to its end and returns
// its output. It runs in a process group of its own with e.Env added to
// cmd.Env (os.Environ() when nil), recorded so that the reaping after a
// crash kills the group: such commands start servers and compilers of
// their own. When ctx ends the group gets SIGTERM, then SIGKILL after
// StopGrace, and the error is an *Interrupted naming what.
func (e *PrepareEnv) Run(ctx context.Context, what string, cmd *exec.Cmd) ([]byte, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, e.EnvAs(cmd.SysProcAttr.Credential)...)
	if cmd.Cancel != nil {
		// From exec.CommandContext, whose Cancel kills the leader alone
		// at once: the group is signalled below instead.
		cmd.Cancel = func() error { return nil }
	}
	// What the command leaves running outside its group may hold its
	// output open: Wait does not wait for it longer than this.
	cmd.WaitDelay = StopGrace
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := ctx.Err(); err != nil {
		return nil, &Interrupted{What: what, Cause: err}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pgid := cmd.Process.Pid
	if e.Started != nil {
		e.Started(pgid)
	}
	done := make(chan error, 1)
	crash.Go(ctx, func() { done <- cmd.Wait() })
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(StopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// The leader is gone; what it started in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return out.Bytes(), &Interrupted{What: what, Cause: ctx.Err()}
}

// StartEnv is what Start may use.
type StartEnv struct {
	Name    string
	Dir     string // the suite's folder
	TempDir string // this instance's own folder, removed after the run
	Vars    expr.Vars
	Env     []string // environment for child processes (marked for reaping)
	Ports   map[string]int
	Log     func(stream, line string) // one output line
	Started func(pid int)             // a child process was started
	AddTemp func(dir string)          // a folder outside TempDir to remove after a crash
	Info    map[string]any            // the service's own addresses (url, port, …)
	Mask    *mask.Masker              // the run's masking, for what a kind writes of its own (a stub's journal listings)
	// Descriptors are the gRPC services the service serves, from its
	// grpc: protos or descriptor sets (nil without them): a stub answers
	// their calls as JSON.
	Descriptors *protoregistry.Files
}

// Instance is one running service.
type Instance interface {
	// Done is closed when the instance has exited by itself or been
	// stopped.
	Done() <-chan struct{}
	// ExitErr says how it exited, once Done is closed.
	ExitErr() error
	// Stop stops the instance gracefully, then forcibly when ctx ends,
	// and returns once it is gone.
	Stop(ctx context.Context) error
}

// Flusher is an Instance that can wait until the output it has written so
// far has been delivered to StartEnv.Log.
type Flusher interface {
	Flush(ctx context.Context)
}

// Describer is a Spec that adds kind-specific addresses (a database URL,
// a user, a password) to a service's info, once its ports are known.
type Describer interface {
	Describe(info map[string]any)
}

// Job is a Spec whose instances run to completion (a migration, a seeder):
// it has no port and no probe. An environment starts it after what it
// depends on, waits for it to exit, and starts its dependants only when it
// exited with 0; any other end is an environment error.
type Job interface {
	// JobTimeout is how long an instance may run before it is killed,
	// with its process group, and the environment fails.
	JobTimeout() time.Duration
}

// IsJob reports whether s is a job's service.
func IsJob(s *Service) bool {
	_, ok := s.Spec.(Job)
	return ok
}

// Prober is a Spec with its own default readiness probe.
type Prober interface {
	DefaultProbe() Probe
}

// Closer is a Spec that holds something for the whole run (a data
// folder copied ahead for the next start, say): Close releases it when
// the run ends, after every environment stopped.
type Closer interface {
	Close() error
}

// Initializer is an Instance with work to do once it is ready (create
// databases, apply init files, take the baseline).
type Initializer interface {
	Init(ctx context.Context) error
}

// Resetter is an Instance whose data can go back to its baseline between
// tests, without restarting it.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Baseliner is an Instance whose baseline is the data once the whole
// environment has started: after its own init, every job that depends on
// it has ended and every service is ready (a migration, a seeder, a
// service that creates its tables at start-up). Baseline is called once,
// at the end of the environment's start, before any test; resets go back
// to what it saw. notice tells the run's output, once per text, about
// writes seam cannot reset (it may be kept for later resets).
type Baseliner interface {
	Baseline(ctx context.Context, notice func(text string)) error
}

// Checker is an Instance with a check after every test (a stub reports the
// requests no mapping matched).
type Checker interface {
	CheckTest(since time.Time) error
}

// Table lists the service kinds.
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

// Service is one declared service.
type Service struct {
	Name      string
	Pos       diag.Pos
	Kind      string
	Spec      Spec
	DependsOn []Dep
	Ports     []string // named ports; the first is the main one
	Ready     *Readiness
	// Descriptors are the gRPC services it serves (grpc: protos or
	// descriptor sets), for the wire to show calls' messages as JSON; nil:
	// none named.
	Descriptors *protoregistry.Files
	// GRPCReflect names the port to ask for Descriptors by server
	// reflection once it is ready (grpc: {reflection: true}); "": none.
	GRPCReflect string
	// StandIn is the stub declared beside the real kind (stub: next to
	// process:), swapped in by `--stub NAME` or a profile.
	StandIn *StandIn
	// Standing says the stand-in runs in place of the real kind (RealKind).
	Standing bool
	RealKind string
}

// StandIn is a service's stand-in: a stub kind's spec and its probe.
type StandIn struct {
	Pos   diag.Pos
	Kind  string
	Spec  Spec
	Probe Probe
}

// UseStandIn swaps the stand-in in for the real kind.
func (s *Service) UseStandIn() {
	s.RealKind, s.Kind, s.Spec, s.Standing = s.Kind, s.StandIn.Kind, s.StandIn.Spec, true
	s.Ready = &Readiness{Probe: s.StandIn.Probe, Timeout: s.Ready.Timeout, Interval: s.Ready.Interval}
}

// Dep is one depends_on entry.
type Dep struct {
	Name string
	Pos  diag.Pos
	// NoWire: the dependant is given the service's own address, not seam's
	// recording proxy's (depends_on: [{name: db, wire: false}]).
	NoWire bool
}

// Readiness says how to know a service is ready.
type Readiness struct {
	Probe    Probe
	Timeout  time.Duration
	Interval time.Duration
}

// Target is what a probe checks.
type Target struct {
	Name  string
	Host  string
	Ports map[string]int
	Main  string // name of the main port
	Lines func() []string
}

// MainPort is the main port's number.
func (t Target) MainPort() int { return t.Ports[t.Main] }

// Probe checks once whether a service is ready; nil means ready.
type Probe interface {
	Check(ctx context.Context, t Target) error
	String() string
}

// LineProbe is a Probe that says how soon it may be tried again when the
// service prints a line (a service often says it is ready as it becomes
// so): a probe of the output at once, a command never, as each try starts
// a process.
type LineProbe interface {
	Probe
	// AfterLine is the least time from one try to a try that an output
	// line starts; negative: lines start no tries.
	AfterLine() time.Duration
}

// AfterLine is p's AfterLine; a probe that does not say (a network probe)
// is tried at most once a millisecond on lines, however chatty the
// service.
func AfterLine(p Probe) time.Duration {
	if lp, ok := p.(LineProbe); ok {
		return lp.AfterLine()
	}
	return time.Millisecond
}

// System is a suite's services in start order.
type System struct {
	Services []*Service
	byName   map[string]*Service
}

// NewSystem indexes services by name.
func NewSystem(svcs []*Service) *System {
	s := &System{Services: svcs, byName: map[string]*Service{}}
	for _, svc := range svcs {
		s.byName[svc.Name] = svc
	}
	return s
}

// Get returns the named service.
func (s *System) Get(name string) (*Service, bool) {
	svc, ok := s.byName[name]
	return svc, ok
}

// Names lists the service names in order.
func (s *System) Names() []string {
	out := make([]string, 0, len(s.Services))
	for _, svc := range s.Services {
		out = append(out, svc.Name)
	}
	sort.Strings(out)
	return out
}

// Check validates the dependency graph: every depends_on names a service,
// and there is no cycle. Problems go to errs with positions.
func (s *System) Check(errs *diag.List) {
	for _, svc := range s.Services {
		for _, d := range svc.DependsOn {
			if _, ok := s.byName[d.Name]; !ok {
				e := diag.Errorf(d.Pos, "service %q depends on %q, which is not a service of this suite", svc.Name, d.Name)
				if c := diag.Closest(d.Name, s.Names()); c != "" {
					e.WithHint("did you mean %q?", c)
				} else {
					e.WithHint("services: %s", strings.Join(s.Names(), ", "))
				}
				errs.Add(e)
			}
			if d.Name == svc.Name {
				errs.Add(diag.Errorf(d.Pos, "service %q depends on itself", svc.Name))
			}
		}
	}
	// Cycles: depth-first search, reporting each cycle once with the
	// position of every edge in it.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []*Service
	var visit func(svc *Service)
	reported := map[string]bool{}
	visit = func(svc *Service) {
		color[svc.Name] = grey
		stack = append(stack, svc)
		for _, d := range svc.DependsOn {
			next, ok := s.byName[d.Name]
			if !ok || d.Name == svc.Name {
				continue
			}
			switch color[d.Name] {
			case white:
				visit(next)
			case grey:
				// Found a cycle: from next on the stack to svc, then back.
				i := len(stack) - 1
				for i >= 0 && stack[i].Name != d.Name {
					i--
				}
				cycle := stack[i:]
				names := ""
				var where []string
				for j, c := range cycle {
					names += c.Name + " → "
					nextName := d.Name
					if j+1 < len(cycle) {
						nextName = cycle[j+1].Name
					}
					for _, dd := range c.DependsOn {
						if dd.Name == nextName {
							where = append(where, fmt.Sprintf("%s → %s at %s", c.Name, nextName, dd.Pos))
						}
					}
				}
				names += d.Name
				if !reported[names] {
					reported[names] = true
					errs.Add(diag.Errorf(d.Pos, "depends_on cycle: %s", names).
						WithHint("services must start in some order; remove one of: %s", joinSemi(where)))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[svc.Name] = black
	}
	for _, svc := range s.Services {
		if color[svc.Name] == white {
			visit(svc)
		}
	}
}

func joinSemi(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}
