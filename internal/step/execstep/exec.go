// Package execstep is the `exec` step kind: run a command, check its exit
// code and output.
package execstep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// maxOutput caps how much of stdout and stderr is kept.
const maxOutput = 4 << 20

// Kind is the exec step kind.
type Kind struct{}

func (Kind) Usage() step.Usage {
	return step.Usage{
		Name: "exec",
		Summary: "run a command (no shell) and check its exit code (another than 0 fails the step unless expect: names exit_code) and output. " +
			"The step ends when the command exits: what it started in the background is stopped then with its process group " +
			"(and output written after the exit is not kept)",
		Inputs: []step.Input{
			{Name: "command", Doc: "the program: a name looked up in PATH, or a path (relative to the suite file's folder)"},
			{Name: "args", Doc: "arguments, a list"},
			{Name: "env", Doc: "extra environment variables, a mapping (the rest is inherited)"},
			{Name: "stdin", Doc: "text written to standard input"},
			{Name: "dir", Doc: "working folder (default: the suite file's folder)"},
		},
		Fields: []expect.Field{
			{Name: "exit_code", Doc: "exit code, a number (-1 when killed by a signal)", Shape: expect.ScalarShape},
			{Name: "stdout", Doc: "standard output, text", Shape: expect.ScalarShape},
			{Name: "stderr", Doc: "standard error, text", Shape: expect.ScalarShape},
			{Name: "json", Doc: "standard output parsed as JSON (absent when it is not JSON)"},
			{Name: "duration_ms", Doc: "run time in milliseconds", Shape: expect.ScalarShape},
		},
		Example: "exec: {command: sh, args: [-c, 'echo $((1+2))']}\nexpect: {exit_code: 0, stdout: {match: ^3}}",
	}
}

type action struct {
	Command expr.Str            `yaml:"command" seam:"required"`
	Args    []expr.Str          `yaml:"args"`
	Env     map[string]expr.Str `yaml:"env"`
	Stdin   expr.Str            `yaml:"stdin"`
	Dir     expr.Str            `yaml:"dir"`
}

// Decode implements step.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{}
	if n.Kind == yaml.SequenceNode {
		// Short form: `exec: [cmd, arg1, arg2]`.
		if len(n.Content) == 0 {
			d.Errorf(n, "exec: empty command list")
			return nil
		}
		before := d.Errs.Len()
		d.Decode(n.Content[0], &a.Command, "exec[0]")
		for i, c := range n.Content[1:] {
			var s expr.Str
			d.Decode(c, &s, fmt.Sprintf("exec[%d]", i+1))
			a.Args = append(a.Args, s)
		}
		if d.Errs.Len() > before {
			return nil
		}
		return a
	}
	before := d.Errs.Len()
	d.Decode(n, a, "exec")
	if d.Errs.Len() > before {
		return nil
	}
	return a
}

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	name, err := a.Command.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	args := make([]string, len(a.Args))
	for i, s := range a.Args {
		if args[i], err = s.String(env.Vars); err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
	}
	dir := env.Dir
	if !a.Dir.IsZero() {
		d, err := a.Dir.String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("dir: %w", err)
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(env.Dir, d)
		}
		dir = d
	}
	path := name
	if strings.ContainsRune(name, '/') {
		if !filepath.IsAbs(name) {
			path = filepath.Join(env.Dir, name)
		}
	} else if path, err = exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("command %q not found in PATH", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env.ProcEnv...)
	for _, k := range expr.SortedKeys(a.Env) {
		v, err := a.Env[k].String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("env.%s: %w", k, err)
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if !a.Stdin.IsZero() {
		in, err := a.Stdin.String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		cmd.Stdin = strings.NewReader(in)
	}
	// Our own pipes, not buffers: with buffers, Wait also waits for every
	// process that inherited stdout or stderr, so a command that starts
	// something in the background (`server &`) and exits at once would run
	// into the step's timeout.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	// Bounds Wait's own copying of stdin, which a background process that
	// keeps stdin open without reading it could hold up.
	cmd.WaitDelay = drainDelay
	// Its own process group, so a timeout kills what the command started
	// too, and so does the step's end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	pgid := cmd.Process.Pid
	var stdout, stderr capped
	out := []*stream{{name: "stdout", r: outR, w: &stdout, done: make(chan struct{})}, {name: "stderr", r: errR, w: &stderr, done: make(chan struct{})}}
	for _, s := range out {
		crash.Go(ctx, s.copy)
	}
	done := make(chan error, 1)
	crash.Go(ctx, func() { done <- cmd.Wait() })
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		// The command itself has not exited.
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		drain(out)
		stopGroup(ctx, pgid)
		req := commandText(name, args)
		why := "still running when the step timed out; stopped it"
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "stopped: the run was interrupted"
		}
		return &step.Result{Request: req, Response: outputText(-1, stdout.String(), stderr.String())},
			fmt.Errorf("%s: %s", name, why)
	}
	elapsed := time.Since(start)
	var notes []string
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		// The command exited 0; only the copy of stdin was cut short.
		waitErr = nil
		notes = append(notes, "a process it started kept stdin open")
	}
	if held := drain(out); len(held) > 0 {
		notes = append(notes, fmt.Sprintf("a process it started kept %s open after it exited (output written after that is not kept)",
			strings.Join(held, " and ")))
	}
	if stopGroup(ctx, pgid) {
		notes = append(notes, "processes it started were still running when it exited; stopped them with its process group")
	}
	code := 0
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return nil, fmt.Errorf("running %s: %v", name, waitErr)
		}
		code = ee.ExitCode()
	}
	fields := map[string]any{
		"exit_code":   code,
		"stdout":      stdout.String(),
		"stderr":      stderr.String(),
		"duration_ms": float64(elapsed.Microseconds()) / 1000,
	}
	if t := bytes.TrimSpace(stdout.buf.Bytes()); len(t) > 0 {
		if v, err := expr.DecodeJSON(t); err == nil {
			fields["json"] = v
		}
	}
	resp := outputText(code, stdout.String(), stderr.String())
	for _, n := range notes {
		resp += "\nnote: " + n
	}
	return &step.Result{Fields: fields, Request: commandText(name, args), Response: resp}, nil
}

// drainDelay is how long the output of a command that exited may take to
// arrive: a process it started that keeps stdout or stderr open is not
// waited for longer.
const drainDelay = 300 * time.Millisecond

// stream copies one of the command's outputs into w until it ends or is
// closed.
type stream struct {
	name string
	r    *os.File
	w    *capped
	done chan struct{}
}

func (s *stream) copy() {
	defer close(s.done)
	_, _ = io.Copy(s.w, s.r)
}

// drain waits up to drainDelay for the streams to end (what the command
// wrote before it ended is kept, even after a timeout), then closes those
// a process the command started still holds open, and returns their
// names. Once it returns, the streams' buffers are no longer written.
func drain(streams []*stream) (held []string) {
	timer := time.NewTimer(drainDelay)
	defer timer.Stop()
	for _, s := range streams {
		select {
		case <-s.done:
			continue
		case <-timer.C:
		}
		break
	}
	for _, s := range streams {
		select {
		case <-s.done:
		default:
			held = append(held, s.name)
		}
		// Closing the read end ends a Read blocked on it: os.Pipe's files
		// go through the runtime's poller.
		s.r.Close()
		<-s.done
	}
	return held
}

// stopGroup stops what is left of the command's process group (processes
// it started in the background): SIGTERM, and SIGKILL for those still
// there after a second (at once when ctx is done). It reports whether
// anything was left. The group's id cannot have been reused meanwhile:
// Linux gives no new process the id of a group that still has members.
func stopGroup(ctx context.Context, pgid int) bool {
	if !reap.GroupRunning(pgid) {
		return false
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for reap.GroupRunning(pgid) {
		select {
		case <-tick.C:
			continue
		case <-deadline.C:
		case <-ctx.Done():
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		break
	}
	return true
}

// Default implements step.Defaulter: a command that exits with another
// code than 0 fails the step, unless expect: names exit_code (a command
// expected to fail says so: expect: {exit_code: 1}).
func (a *action) Default(fields map[string]any, checks func(string) bool) string {
	if code, _ := fields["exit_code"].(int); code != 0 && !checks("exit_code") {
		return fmt.Sprintf("exited with code %d; a command that may do so says it: expect: {exit_code: %d}", code, code)
	}
	return ""
}

func commandText(name string, args []string) string {
	parts := []string{quote(name)}
	for _, a := range args {
		parts = append(parts, quote(a))
	}
	return "$ " + strings.Join(parts, " ")
}

func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]{}~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func outputText(code int, stdout, stderr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit code %d", code)
	if stdout != "" {
		b.WriteString("\nstdout:\n" + clip(stdout))
	}
	if stderr != "" {
		b.WriteString("\nstderr:\n" + clip(stderr))
	}
	return b.String()
}

func clip(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 2048 {
		return diag.Prefix(s, 2048) + fmt.Sprintf("… (%d bytes in all)", len(s))
	}
	return s
}

// capped is a buffer that keeps at most maxOutput bytes and drops the rest,
// so a chatty command cannot exhaust memory.
type capped struct {
	buf     bytes.Buffer
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	room := maxOutput - c.buf.Len()
	if room >= len(p) {
		c.buf.Write(p)
	} else {
		if room > 0 {
			c.buf.Write(p[:room])
		}
		c.dropped += len(p) - max(room, 0)
	}
	return len(p), nil
}

func (c *capped) String() string {
	if c.dropped > 0 {
		return c.buf.String() + fmt.Sprintf("\n… (%d more bytes dropped)", c.dropped)
	}
	return c.buf.String()
}
