package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
	"golang.org/x/sys/unix"
)

// cmdUp starts a suite's environment and keeps it up until Ctrl-C, a
// closed terminal or output pipe, or seam down. While it is up, seam reset
// and seam run --attach work against it through its control socket.
func cmdUp(ctx context.Context, args []string, stdio IO) int {
	c := newSuiteCommand("up", stdio)
	c.servicesOnly = true
	defer c.close()
	var verbose bool
	c.fs.BoolVar(&verbose, "verbose", false, "print the services' output and the wire's interactions as they come (they always go to the run's log)")
	c.fs.BoolVar(&verbose, "v", false, "short for --verbose")
	quiet := c.fs.Bool("quiet", false, "print no service output at all, not even after the address table")
	if !c.parse(args, func() error {
		if verbose && *quiet {
			return fmt.Errorf("--verbose and --quiet contradict each other; give one")
		}
		return nil
	}) {
		return ExitUsage
	}
	s, vars := c.suite, c.vars
	if s.System == nil || len(s.System.Services) == 0 {
		fmt.Fprintf(stdio.Stderr, "seam up: %s declares no services\n", s.File)
		return ExitUsage
	}
	// One seam up per suite and user: seam reset, run --attach and down
	// name an environment by its suite.
	// (A record found, with or without its socket yet, is a live seam up
	// or run --keep of the suite.)
	if rec, _, _ := findHeld(s.File); rec.PID != 0 {
		fmt.Fprintf(stdio.Stderr, "seam up: %s is already up (pid %d); use it, or stop it first: seam down %s\n", s.Name, rec.PID, c.arg)
		return ExitEnv
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A closed output pipe (seam up | head) stops seam up like Ctrl-C:
	// writes that fail, or the pipe seen closed while nothing is written.
	out := &pipeWriter{w: stdio.Stdout, broken: cancel}
	crash.Go(ctx, func() { watchPipe(ctx, stdio.Stdout, cancel) })
	logs := &upLog{term: out, verbose: verbose, quiet: *quiet, mask: s.Mask}
	defer logs.close()

	kinds := map[string]string{}
	for _, svc := range s.System.Services {
		kinds[svc.Name] = svc.Kind
	}
	fmt.Fprintf(out, "seam up: %s (%s)\n", s.Name, s.File)
	pg := newUpProgress(kinds, logs.progress)
	defer pg.stop()
	began := time.Now()
	sess, err := session.Open(ctx, s, session.Options{
		Command: "up", Vars: vars, Seed: seedNow(), Notices: stdio.Stderr,
		Preparing: pg.preparing,
		Prepared:  pg.prepared,
		Progress:  pg.progress,
	})
	if err != nil {
		return upFailure(ctx, err, stdio)
	}
	prepared := time.Since(began)
	defer func() {
		if err := sess.Close(); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam: cleanup: %v\n", err)
		}
		fmt.Fprintln(out, "seam up: stopped; nothing left running")
	}()
	if err := logs.open(filepath.Join(sess.LogDir(), "up.log")); err != nil {
		fmt.Fprintf(stdio.Stderr, "seam up: %v\n", err)
		return ExitEnv
	}
	startBegan := time.Now()
	env, err := sess.StartEnv(ctx, logs.line)
	if err != nil {
		return upFailure(ctx, err, stdio)
	}
	started := time.Since(startBegan)
	h := &holder{suiteArg: s.File, sel: c.sel, vars: vars, seed: seedNow(), sess: sess, env: env, logs: logs}
	socket, served, err := serveControl(ctx, h)
	if err == nil {
		err = sess.SetSocket(socket)
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam up: %v\n", err)
		return ExitEnv
	}
	defer served()
	what := fmt.Sprintf("%d services", len(s.System.Services))
	if len(s.System.Services) == 1 {
		what = "1 service"
	}
	logs.table(fmt.Sprintf("seam up: %s ready in %s (builds %s, start %s)\n%slog: %s\n"+
		"stop with Ctrl-C or seam down; seam reset and seam run --attach work against it\n",
		what, seconds(prepared+started), seconds(prepared), seconds(started),
		session.Addresses(s, env), logs.path))
	<-ctx.Done()
	return ExitPass
}

// upProgress says on the terminal what seam up's services do while the
// environment is set up. Work that takes a while says so when it begins
// (building…, starting…); quick work is only reported done. Every event
// after "starting" ends the wait for it: "ready" for a service; for a job
// (which is never ready) "running", then "done in …".
type upProgress struct {
	kinds map[string]string // service kinds by name
	print func(format string, args ...any)
	// after runs f after d unless stopped (time.AfterFunc; tests stand in).
	after func(d time.Duration, f func()) interface{ Stop() bool }

	mu       sync.Mutex
	starting map[string]time.Time
	pending  map[string]interface{ Stop() bool }
}

func newUpProgress(kinds map[string]string, print func(format string, args ...any)) *upProgress {
	return &upProgress{
		kinds: kinds, print: print,
		after:    func(d time.Duration, f func()) interface{ Stop() bool } { return time.AfterFunc(d, f) },
		starting: map[string]time.Time{}, pending: map[string]interface{ Stop() bool }{},
	}
}

// slow says "name what…" after a while, unless done (or another slow for
// name) comes first.
func (p *upProgress) slow(name, what string, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.pending[name]; t != nil {
		t.Stop()
	}
	p.pending[name] = p.after(after, func() { p.print("  %-16s %s…", name, what) })
}

// done ends name's wait.
func (p *upProgress) done(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.pending[name]; t != nil {
		t.Stop()
		delete(p.pending, name)
	}
}

// stop ends every wait: nothing is said after seam up stops.
func (p *upProgress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, t := range p.pending {
		t.Stop()
		delete(p.pending, name)
	}
}

// preparing is session.Options.Preparing.
func (p *upProgress) preparing(name string) {
	what := "preparing"
	if p.kinds[name] == "process" {
		what = "building"
	}
	p.slow(name, what, 300*time.Millisecond)
}

// prepared is session.Options.Prepared.
func (p *upProgress) prepared(name string, took time.Duration, err error) {
	p.done(name)
	if err != nil || took < 20*time.Millisecond {
		return // failures are reported whole; instant work is no news
	}
	what := "prepared"
	if p.kinds[name] == "process" {
		what = "built"
	}
	p.print("  %-16s %s in %s", name, what, seconds(took))
}

// progress is session.Options.Progress: "starting", then "ready" for a
// service, or "running" and "done in …" for a job; "stopping" at the end.
func (p *upProgress) progress(name, what string) {
	switch {
	case what == "starting":
		p.mu.Lock()
		p.starting[name] = time.Now()
		p.mu.Unlock()
		p.slow(name, "starting", time.Second)
	case what == "running": // a job, started: said when it runs long
		p.slow(name, "running", time.Second)
	case what == "ready" || strings.HasPrefix(what, "done"):
		p.done(name)
		p.mu.Lock()
		took := time.Since(p.starting[name])
		p.mu.Unlock()
		word := "ready"
		if what != "ready" {
			word = "done"
		}
		p.print("  %-16s %s in %s", name, word, seconds(took))
	default:
		p.done(name)
	}
}

// upFailure reports an environment that could not start, unless seam up
// was stopped while it started.
func upFailure(ctx context.Context, err error, stdio IO) int {
	if ctx.Err() != nil {
		fmt.Fprintln(stdio.Stderr, "seam up: stopped before the environment was ready; nothing left running")
		return ExitEnv
	}
	return envFailure(err, stdio)
}

// seconds formats a duration for people: 0.93s, 12.4s.
func seconds(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// upLog routes what seam up's environment says: everything to the run's
// log file; to the terminal the progress lines and the address table,
// service output only after the table (so banners do not bury it), the
// wire's interactions only with --verbose; and, while seam run --attach
// runs, every line to that run too.
type upLog struct {
	mu       sync.Mutex
	term     io.Writer
	file     *os.File
	path     string
	verbose  bool
	quiet    bool
	shown    bool // the address table is out
	attached report.LogFunc
	mask     *mask.Masker // what reaches the log and the terminal is masked; the address table is not
}

func (l *upLog) open(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	l.mu.Lock()
	l.file, l.path = f, path
	l.mu.Unlock()
	return nil
}

func (l *upLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

func (l *upLog) line(svc, stream, line string, span *report.Span) {
	line = l.mask.Text(line)
	l.mu.Lock()
	attached := l.attached
	text := fmt.Sprintf("%s | %s\n", svc, line)
	if l.file != nil {
		fmt.Fprint(l.file, time.Now().Format("15:04:05.000 ")+text)
	}
	if l.verbose || !l.quiet && l.shown && stream != "wire" {
		// The system's control characters are shown, not obeyed.
		io.WriteString(l.term, report.TermSafe(text))
	}
	l.mu.Unlock()
	if attached != nil {
		attached(svc, stream, line, span)
	}
}

// progress prints a line of the start-up's progress.
func (l *upLog) progress(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.term, format+"\n", args...)
}

// note prints and logs what seam up did for a client.
func (l *upLog) note(format string, args ...any) {
	text := l.mask.Text(fmt.Sprintf(format, args...)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		fmt.Fprint(l.file, time.Now().Format("15:04:05.000 ")+text)
	}
	io.WriteString(l.term, text)
}

// table prints the address table; service output may follow it.
func (l *upLog) table(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.term, text)
	l.shown = true
}

// attach sends every line to fn as well (nil: no more).
func (l *upLog) attach(fn report.LogFunc) {
	l.mu.Lock()
	l.attached = fn
	l.mu.Unlock()
}

// pipeWriter calls broken once its writes fail because nobody reads them
// any more (EPIPE): main turns SIGPIPE into that error instead of letting
// the runtime kill seam, so seam up can stop its services first.
type pipeWriter struct {
	w      io.Writer
	broken func()
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		p.broken()
	}
	return n, err
}

// watchPipe calls broken when w is a pipe whose reading end was closed,
// even while nothing is written to it: poll reports POLLERR on a pipe's
// writing end when no reader is left.
func watchPipe(ctx context.Context, w io.Writer, broken func()) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	fd := int32(f.Fd())
	for ctx.Err() == nil {
		fds := []unix.PollFd{{Fd: fd}}
		n, err := unix.Poll(fds, 250)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			broken()
			return
		}
	}
}

// cmdDown stops environments that seam up (or run --keep) holds: by
// default the one of the suite in the current folder (or DIR|FILE), with
// --all every one of the current user's. Another user's are never
// touched. It also cleans up after the user's runs that crashed.
func cmdDown(ctx context.Context, args []string, stdio IO) int {
	fs := newFlagSet("down", stdio.Stderr)
	all := fs.Bool("all", false, "stop every environment of yours, whatever its suite")
	arg, rest, ok := parseArg(fs, args, stdio.Stderr)
	if !ok {
		return ExitUsage
	}
	if *all && len(rest) > 0 {
		fmt.Fprintf(stdio.Stderr, "seam down: --all stops every environment of yours; give it without %s\n", arg)
		return ExitUsage
	}
	// file is the suite whose environments stop; "" when none is given and
	// the current folder holds none: then only crashed runs are cleaned up.
	var file string
	if !*all {
		f, err := locateSuite(arg)
		switch {
		case err == nil:
			file = f
		case len(rest) > 0:
			fmt.Fprintf(stdio.Stderr, "seam down: %v\n(seam down --all stops every environment of yours)\n", err)
			return ExitUsage
		}
	}
	dir := reap.StateDir()
	recs, err := reap.Records(dir)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam down: %v\n", err)
		return ExitEnv
	}
	if others := othersUp(dir); others > 0 {
		defer fmt.Fprintf(stdio.Stdout, "left %d environment(s) of other users alone\n", others)
	}
	stopped := 0
	var left []reap.Record
	for _, rec := range recs {
		if rec.Command != "up" || !rec.Alive() {
			continue
		}
		if !*all && rec.SuiteFile != file {
			left = append(left, rec)
			continue
		}
		if err := stopHeld(ctx, rec, stdio); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam down: %v\n", err)
			continue
		}
		stopped++
		fmt.Fprintf(stdio.Stdout, "stopped the environment of %s (pid %d)\n", rec.Suite, rec.PID)
	}
	res, err := reap.Reap(dir)
	if len(res.Runs) > 0 {
		fmt.Fprintf(stdio.Stdout, "cleaned up after %d run(s) that crashed: stopped %d process(es), removed %d folder(s)\n", len(res.Runs), len(res.Killed), len(res.Removed))
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam down: %v\n", err)
		return ExitEnv
	}
	if stopped == 0 && len(res.Runs) == 0 {
		switch {
		case *all:
			fmt.Fprintln(stdio.Stdout, "nothing to stop")
		case file == "":
			fmt.Fprintln(stdio.Stdout, "no suite in this folder: nothing to stop here (give seam down DIR, or --all)")
		default:
			fmt.Fprintf(stdio.Stdout, "nothing to stop for %s\n", file)
		}
	}
	if len(left) > 0 {
		var names []string
		for _, rec := range left {
			names = append(names, fmt.Sprintf("%s (pid %d)", rec.Suite, rec.PID))
		}
		word := "environment is"
		if len(left) > 1 {
			word = "environments are"
		}
		fmt.Fprintf(stdio.Stdout, "%d other %s up: %s; seam down --all stops them\n", len(left), word, strings.Join(names, ", "))
	}
	return ExitPass
}

// locateSuite resolves DIR|FILE to the suite file as records hold it.
func locateSuite(arg string) (string, error) {
	f, err := suite.Locate(arg)
	if err != nil {
		return "", err
	}
	return reap.SuitePath(f), nil
}

// othersUp counts the live environments of other users in the state
// folder (a shared SEAM_STATE_DIR), which seam down leaves alone.
func othersUp(dir string) int {
	all, _ := reap.AllRecords(dir)
	n := 0
	for _, rec := range all {
		if !rec.Mine() && rec.Command == "up" && rec.Alive() {
			n++
		}
	}
	return n
}

// stopHeld asks a seam up to stop (SIGTERM: it stops its services and
// removes its record) and waits for it, killing it after a minute. A wait
// longer than a second says so; Ctrl-C then sends a second SIGTERM, on
// which seam up kills what it still stops at once.
func stopHeld(ctx context.Context, rec reap.Record, stdio IO) error {
	if !rec.Alive() {
		return nil
	}
	if err := syscall.Kill(rec.PID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping seam up (pid %d): %w", rec.PID, err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	notice := time.After(time.Second)
	deadline := time.After(60 * time.Second)
	interrupted := ctx.Done()
	for rec.Alive() {
		select {
		case <-tick.C:
		case <-notice:
			fmt.Fprintf(stdio.Stderr, "seam down: waiting for seam up (pid %d) to stop its services (Ctrl-C to stop them at once)\n", rec.PID)
		case <-interrupted:
			interrupted = nil
			_ = syscall.Kill(rec.PID, syscall.SIGTERM)
			deadline = time.After(10 * time.Second)
		case <-deadline:
			fmt.Fprintf(stdio.Stderr, "seam down: seam up (pid %d) did not stop within 60s; killing it\n", rec.PID)
			_ = syscall.Kill(rec.PID, syscall.SIGKILL)
			return nil // its record is reaped below, with what it left
		}
	}
	return nil
}
