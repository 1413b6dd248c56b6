// Package process is the `process` service kind: any command of the user's
// (their own binary, a script, a server from the machine), optionally built
// first, started in its own process group and stopped by signal.
package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
	"golang.org/x/sys/unix"
)

// Kind is the process service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "process",
		Summary: "run a command as a service, in its own process group; stopped with SIGTERM, then SIGKILL to the group " +
			"after stop_timeout. Short form: process: [CMD, ARG…]. Templates in run:, env: and files: see addr, host, " +
			"port, url, ports.NAME, bin, tmp, files[\"NAME\"] and service(\"name\"); build: and dir: see only the suite's " +
			"vars, env and bin (build: runs once per run, before any service starts, without env:)",
		Inputs: append(inputs(), service.Input{Name: "timeout", Doc: "only for job: (a process runs until seam stops it)"}),
		Example: "process:\n  build: go build -o ((bin)) ./orders\n  run: [((bin)), -config, '((files[\"orders.yaml\"]))']\n" +
			"  files:\n    orders.yaml: |\n      listen: ((addr))\n      db: ((service(\"db\").url))",
	}
}

// Spec is a decoded process service (or job).
type Spec struct {
	Build   buildCommand        `yaml:"build"`
	Run     command             `yaml:"run" seam:"required"`
	Env     map[string]expr.Str `yaml:"env"`
	Dir     buildStr            `yaml:"dir"`
	Inputs  []string            `yaml:"inputs"` // extra files or folders that the build depends on
	Files   Files               `yaml:"files"`
	Stop    time.Duration       `yaml:"stop_timeout"`
	Timeout time.Duration       `yaml:"timeout"` // jobs only

	mu  sync.Mutex
	bin string // the build's output, once prepared
}

// command is a list of arguments, or a string run with sh -c.
type command struct {
	argv []expr.Str
	set  bool
}

func (c *command) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	c.set = true
	if n.Kind == yaml.ScalarNode {
		var s expr.Str
		s.DecodeYAML(d, n)
		c.argv = []expr.Str{expr.Lit("sh"), expr.Lit("-c"), s}
		return
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.Errorf(n, "want a command: a list like [./server, -port, ((port))] or a string for sh -c, got %s", decode.KindName(n))
		return
	}
	for _, x := range n.Content {
		var s expr.Str
		s.DecodeYAML(d, decode.Resolve(x))
		c.argv = append(c.argv, s)
	}
}

func (c *command) eval(vars expr.Vars) ([]string, error) {
	out := make([]string, len(c.argv))
	for i, s := range c.argv {
		v, err := s.String(vars)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// runNames are the template names known only when an instance starts:
// build: (which runs once per run, before any service starts) and dir:
// (where build: runs) cannot use them.
func runNames() []string {
	return []string{"addr", "host", "port", "ports", "url", "tmp", "name", "service", "files"}
}

// buildOnly decodes with the names a build knows (the suite's vars, env,
// bin): a name known only when the service starts is a validate error,
// not a failure at run time.
func buildOnly(d *decode.Decoder, decodeFn func()) {
	prevVars, prevLater := d.Vars, d.Later
	defer func() { d.Vars, d.Later = prevVars, prevLater }()
	later := map[string]string{}
	for k, v := range prevLater {
		later[k] = v
	}
	if prevVars != nil {
		d.Vars = map[string]bool{}
		for k, v := range prevVars {
			d.Vars[k] = v
		}
		for _, k := range runNames() {
			delete(d.Vars, k)
			if _, ok := later[k]; !ok {
				later[k] = k + " is known only when the service starts: use it in run:, env: or files:; " +
					"build: and dir: (where build: runs) see the suite's vars, env and bin, as the build runs once per run, before any service starts"
			}
		}
	}
	d.Later = later
	decodeFn()
}

// buildCommand is the build: command, decoded with the build's names.
type buildCommand struct{ command }

func (c *buildCommand) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	buildOnly(d, func() { c.command.DecodeYAML(d, n) })
}

// buildStr is a template decoded with the build's names (dir:).
type buildStr struct{ expr.Str }

func (s *buildStr) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	buildOnly(d, func() { s.Str.DecodeYAML(d, n) })
}

// Decode implements service.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := decodeSpec(d, n, "process", false)
	if s == nil {
		return nil
	}
	return s
}

// decodeSpec decodes a process's or a job's settings; nil when they have
// problems.
func decodeSpec(d *decode.Decoder, n *yaml.Node, kind string, job bool) *Spec {
	s := &Spec{Stop: 5 * time.Second}
	if job {
		s.Timeout = 5 * time.Minute
	}
	prevVars, prevLater := d.Vars, d.Later
	defer func() { d.Vars, d.Later = prevVars, prevLater }()
	if prevVars != nil {
		d.Vars = map[string]bool{"files": true}
		for k, v := range prevVars {
			d.Vars[k] = v
		}
	}
	if job {
		// A job has no port, so no address of its own.
		d.Later = map[string]string{}
		for k, v := range prevLater {
			d.Later[k] = v
		}
		for _, k := range []string{"addr", "host", "port", "ports", "url"} {
			delete(d.Vars, k)
			d.Later[k] = k + ": a job has no port or address of its own; service(\"name\").url and the like give the services it depends on"
		}
	}
	before := d.Errs.Len()
	if n.Kind == yaml.ScalarNode || n.Kind == yaml.SequenceNode {
		// Short form: `process: [./server, --port, ((port))]`.
		s.Run.DecodeYAML(d, n)
	} else {
		d.Decode(n, s, kind)
		if !job {
			if k := keyNode(n, "timeout"); k != nil {
				d.Errorf(k, "process: timeout: is for jobs (job:), which run to their end").
					WithHint("a process runs until the environment stops; bound its start with the service's ready: {timeout: 30s}")
			}
		}
	}
	if d.Errs.Len() > before {
		return nil
	}
	return s
}

// keyNode is the key node of key in mapping n, or nil.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

func (s *Spec) dir(base string, vars expr.Vars) (string, error) {
	if s.Dir.IsZero() {
		return base, nil
	}
	d, err := s.Dir.String(vars)
	if err != nil {
		return "", fmt.Errorf("dir: %w", err)
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(base, d)
	}
	return d, nil
}

// Prepare runs the build once per run, skipped when its cached output for
// the same inputs exists.
func (s *Spec) Prepare(ctx context.Context, env *service.PrepareEnv) error {
	if !s.Build.set {
		return nil
	}
	dir, err := s.dir(env.Dir, env.Vars)
	if err != nil {
		return err
	}
	// The build's own context: the suite's vars, env and bin. env: is for
	// the running process, whose addresses do not exist yet.
	vars := copyVars(env.Vars)
	vars["bin"] = "BIN"
	argv, err := s.Build.eval(vars)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	key, err := inputKey(ctx, env.CacheDir, argv, nil, dir, s.Inputs)
	if err != nil {
		return fmt.Errorf("build: hashing inputs: %w", err)
	}
	// One folder per service: two services with the same build command
	// (one binary run in two ways) each find their own output in it.
	out := filepath.Join(env.CacheDir, "build", env.Name+"-"+key)
	bin := filepath.Join(out, env.Name)
	if st, err := os.Stat(bin); err == nil && !st.IsDir() {
		s.setBin(bin)
		return nil
	}
	// The build writes into a folder of its own, recorded before it is
	// made: a run killed midway leaves no half-written entry that the
	// reaping does not remove. Only a finished build is renamed into place.
	if err := os.MkdirAll(filepath.Join(env.CacheDir, "build"), 0o755); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	tmp, err := env.MkdirTemp(filepath.Join(env.CacheDir, "build"), "tmp-")
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	vars["bin"] = filepath.Join(tmp, env.Name)
	if argv, err = s.Build.eval(vars); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	output, err := env.Run(ctx, "build", cmd)
	for _, l := range strings.Split(strings.TrimRight(string(output), "\n"), "\n") {
		if l != "" && env.Log != nil {
			env.Log(l)
		}
	}
	var stopped *service.Interrupted
	if errors.As(err, &stopped) {
		return err
	}
	if err != nil {
		return &BuildError{Argv: argv, Err: err, Output: lastLines(string(output), 20)}
	}
	if _, err := os.Stat(vars["bin"].(string)); err != nil {
		// The build did not write ((bin)): it builds something else (an
		// interpreter's script, say); run: then does not use bin.
		s.setBin("")
		return nil
	}
	if err := os.Rename(tmp, out); err != nil && !errors.Is(err, fs.ErrExist) {
		// Another run may have stored the same build meanwhile.
		if _, statErr := os.Stat(bin); statErr != nil {
			return fmt.Errorf("build cache: %w", err)
		}
	}
	s.setBin(bin)
	return nil
}

// BuildError is a failed build, with its last output lines.
type BuildError struct {
	Argv   []string
	Err    error
	Output string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build %q failed: %v\n%s", strings.Join(e.Argv, " "), e.Err, e.Output)
}

func (s *Spec) setBin(b string) {
	s.mu.Lock()
	s.bin = b
	s.mu.Unlock()
}

func (s *Spec) env(vars expr.Vars) ([]string, error) {
	var out []string
	for _, k := range expr.SortedKeys(s.Env) {
		v, err := s.Env[k].String(vars)
		if err != nil {
			return nil, fmt.Errorf("env.%s: %w", k, err)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

func copyVars(v expr.Vars) expr.Vars {
	out := make(expr.Vars, len(v)+4)
	for k, x := range v {
		out[k] = x
	}
	return out
}

// Start implements service.Spec.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	vars := copyVars(env.Vars)
	s.mu.Lock()
	vars["bin"] = s.bin
	s.mu.Unlock()
	vars["files"] = s.Files.paths(env.TempDir)
	dir, err := s.dir(env.Dir, vars)
	if err != nil {
		return nil, err
	}
	if err := s.Files.write(env.TempDir, vars); err != nil {
		return nil, err
	}
	argv, err := s.Run.eval(vars)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	extra, err := s.env(vars)
	if err != nil {
		return nil, err
	}
	path := argv[0]
	if strings.ContainsRune(path, '/') {
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("command %s: %w", argv[0], unwrapPath(err))
		}
	} else if path, err = exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("command %q not found in PATH", argv[0])
	}
	return Launch(Child{
		Crash: crash.From(ctx),
		Path:  path, Argv: argv, Dir: dir,
		Env:   append(append(os.Environ(), env.Env...), extra...),
		Grace: s.Stop, Log: env.Log, Started: env.Started, Name: env.Name,
	})
}

// Child is a process to run as (part of) a service.
type Child struct {
	Name   string   // the service's, for what a slow stop tells the user (default: Argv[0]'s base name)
	Path   string   // resolved program path
	Argv   []string // Argv[0] is shown as the name
	Dir    string
	Env    []string
	Cred   *syscall.Credential // run as this user (servers that refuse root)
	Grace  time.Duration       // between the stop signal and SIGKILL on Stop
	Signal syscall.Signal      // the stop signal; 0 means SIGTERM
	Log    func(stream, line string)
	// Crash receives panics of the goroutines that follow the process
	// (nil: they end seam); from the start's context (crash.From).
	Crash   *crash.Handler
	Started func(pid int)
	// Stops is whom Stop listens to while it waits (nil: Default).
	Stops *Stops
}

// Launch starts c in its own process group with a parent-death signal,
// its output sent line by line to c.Log.
func Launch(c Child) (service.Instance, error) {
	argv := c.Argv
	cmd := exec.Command(c.Path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	// Its own process group, so stop reaches what it starts; and it dies
	// with seam even if seam is killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: c.Cred}
	// Our own pipes, not StdoutPipe: Wait must not wait for grandchildren
	// that keep the output open, or a service that died would look alive.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	if c.Started != nil {
		c.Started(cmd.Process.Pid)
	}
	outT, errT := &tracked{f: outR}, &tracked{f: errR}
	inst := &instance{cmd: cmd, done: make(chan struct{}), grace: c.Grace, signal: c.Signal, pipes: []*tracked{outT, errT},
		name: c.Name, log: c.Log, stops: c.Stops}
	if inst.name == "" {
		inst.name = filepath.Base(argv[0])
	}
	if inst.stops == nil {
		inst.stops = Default
	}
	pipesDone := make(chan struct{})
	var pipes sync.WaitGroup
	pipes.Add(2)
	c.Crash.Go(func() { lines(outT, "stdout", c.Log, &pipes) })
	c.Crash.Go(func() { lines(errT, "stderr", c.Log, &pipes) })
	c.Crash.Go(func() {
		pipes.Wait()
		close(pipesDone)
	})
	c.Crash.Go(func() {
		inst.err = cmd.Wait()
		// Give the last output a moment to arrive, but do not wait for
		// children that inherited the pipes and live on.
		select {
		case <-pipesDone:
		case <-time.After(300 * time.Millisecond):
			outR.Close()
			errR.Close()
		}
		close(inst.done)
	})
	return inst, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func lines(r io.Reader, stream string, log func(stream, line string), wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if log != nil {
			log(stream, sc.Text())
		}
	}
	// Drain whatever a too-long line left, so the child never blocks.
	_, _ = io.Copy(io.Discard, r)
}

// tracked is a pipe whose reader says when it is waiting for more, so
// Flush can tell that everything written so far has been handled.
type tracked struct {
	f       *os.File
	waiting atomic.Bool
	eof     atomic.Bool
}

func (t *tracked) Read(p []byte) (int, error) {
	t.waiting.Store(true)
	n, err := t.f.Read(p)
	t.waiting.Store(false)
	if err != nil {
		t.eof.Store(true)
	}
	return n, err
}

// idle reports whether the reader is blocked with nothing left to read.
func (t *tracked) idle() bool {
	if t.eof.Load() {
		return true
	}
	if !t.waiting.Load() {
		return false
	}
	rc, err := t.f.SyscallConn()
	if err != nil {
		return true
	}
	pending := 0
	_ = rc.Control(func(fd uintptr) {
		pending, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
	})
	return err != nil || pending == 0
}

// Flush implements service.Flusher.
func (i *instance) Flush(ctx context.Context) {
	for {
		idle := true
		for _, p := range i.pipes {
			if !p.idle() {
				idle = false
			}
		}
		if idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Microsecond):
		}
	}
}

type instance struct {
	pipes   []*tracked
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	grace   time.Duration
	signal  syscall.Signal
	name    string
	log     func(stream, line string)
	stops   *Stops
	once    sync.Once // Stop's work is done once: a later Stop must not signal a process group id reused since
	stopErr error
}

func (i *instance) Done() <-chan struct{} { return i.done }
func (i *instance) ExitErr() error        { return i.err }

// Stop sends the stop signal (SIGTERM) to the process group, waits for the grace period (or
// ctx, or the instance's Stops to hurry), then sends SIGKILL to the group. A process that had
// to be killed says why in its log (stream "seam"); one that waits long tells the Stops.
func (i *instance) Stop(ctx context.Context) error {
	i.once.Do(func() { i.stopErr = i.stop(ctx) })
	return i.stopErr
}

func (i *instance) stop(ctx context.Context) error {
	pgid := i.cmd.Process.Pid
	sig := i.signal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if why := i.await(ctx, pgid, sig); why != "" && i.log != nil {
		i.log("seam", why)
	}
	// Whatever is left of the group (children the service started) goes.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-i.done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d did not exit after SIGKILL", pgid)
	}
	// SIGKILL is delivered, not yet done: a child the service left in its
	// group may still be dying. Stop returns once the group is gone, so
	// that what follows (a failed job's report, the end-of-run sweep) sees
	// nothing of it; bounded, as a process in uninterruptible sleep may
	// take longer, and the sweep is there for that.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) || !reap.GroupRunning(pgid) {
			break
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// await sends sig to the group and waits until the process exits, its
// grace period ends, ctx is done or the stops hurry, whichever is first.
// It returns why the process is to be killed ("" when it exited).
func (i *instance) await(ctx context.Context, pgid int, sig syscall.Signal) string {
	name := unix.SignalName(sig)
	if i.stops.Hurried() {
		select {
		case <-i.done:
			return ""
		default:
			return "killed at once: seam was asked to stop at once"
		}
	}
	start := time.Now()
	_ = syscall.Kill(-pgid, sig)
	grace := time.NewTimer(i.grace)
	defer grace.Stop()
	var notice <-chan time.Time
	if i.grace > noticeAfter {
		t := time.NewTimer(noticeAfter)
		defer t.Stop()
		notice = t.C
	}
	for {
		select {
		case <-i.done:
			return ""
		case <-grace.C:
			return fmt.Sprintf("did not stop within stop_timeout %s after %s; killed", i.grace, name)
		case <-ctx.Done():
			return fmt.Sprintf("still running %s after %s; killed (%v)", time.Since(start).Round(time.Millisecond), name, context.Cause(ctx))
		case <-i.stops.hurry:
			return fmt.Sprintf("still running %s after %s; killed: seam was asked to stop at once", time.Since(start).Round(time.Millisecond), name)
		case <-notice:
			notice = nil
			if i.stops.notice(i.name, i.grace, name) {
				defer i.stops.waiting.Add(-1)
			}
		}
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// inputs documents the keys a process and a job share.
func inputs() []service.Input {
	return []service.Input{
		{Name: "build", Doc: "a command run once per run before any instance starts (sh -c when a string); it writes the " +
			"program to ((bin)). Its output is cached between runs under a key of what it reads, by content (its command; " +
			"for a Go build, one of only go build or go install, the packages go list names; for any other, the files of its " +
			"folder but the suite's own; and inputs:): a build whose key is unchanged is not run again"},
		{Name: "inputs", Doc: "more files or folders the build reads, relative to dir: (sources outside " +
			"the service's folder, say): a change in any of them rebuilds"},
		{Name: "run", Doc: "the command: a list like [((bin)), -listen, ((addr))], or a string run with sh -c (required)"},
		{Name: "env", Doc: "environment variables added to the process's (not the build's), a mapping; values may hold templates"},
		{Name: "dir", Doc: "the working folder of build and run (default: the suite file's folder)"},
		{Name: "files", Doc: "files written into the instance's own folder before it starts: a relative name mapped to its " +
			"content (a string with ((templates))) or to {template: a file in the suite folder}; templates see each " +
			"path as files[\"NAME\"] (inside [ ] quote the template, for its brackets). Nothing is written into the suite's folder"},
		{Name: "stop_timeout", Doc: "how long a stopped process may take to exit after SIGTERM before its group is killed (default 5s; " +
			"a wait past a second is said on stderr, a second Ctrl-C kills at once, and the service's log says why it was killed)"},
	}
}
