// Package session owns everything one run of a suite sets up around the
// engine: crash-safe records, temp and log folders, builds, free ports, and
// the environments the engine asks for; Close leaves nothing behind. The
// CLI and the Go API both use it.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/runlog"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/suite"
	"github.com/seamtest/seam/internal/token"
)

// Options configure a session.
type Options struct {
	Command  string            // "run", "up": recorded for seam down
	Vars     map[string]string // --var values
	Seed     uint64
	StateDir string    // "" means reap.StateDir()
	Notices  io.Writer // where cleanup of earlier crashed runs is reported
	// Preparing and Prepared are told when each service's once-per-run
	// work (its build, its cached data folder) begins, and when it ended
	// and how long it took.
	Preparing func(service string)
	Prepared  func(service string, took time.Duration, err error)
	// Progress is told what each service of an environment does
	// ("starting", "ready", "stopping") as StartEnv starts it.
	Progress func(service, what string)
}

// Session is one run's setup.
type Session struct {
	crash    *crash.Handler // the run's: panics of the goroutines it starts
	suite    *suite.Suite
	opts     Options
	rec      *reap.Run
	tempRoot string
	logRoot  string
	cacheDir string
	ports    *freeport.Allocator
	base     expr.Vars
	// outlived counts the processes that escaped their service's group,
	// stopped by the environments' Stop (said once, at Close).
	outlived atomic.Int64

	// exchanges bounds what the run's interactions carry to its event
	// log, across all its environments.
	exchanges environment.ExchangeBudget

	mu    sync.Mutex
	envs  []*environment.Environment
	n     int
	said  map[string]bool // notices already given
	token string          // the run's control token
}

// Open prepares a session: it reaps what crashed runs left, records this
// run, evaluates the suite's variables and builds the services.
func Open(ctx context.Context, s *suite.Suite, opts Options) (*Session, error) {
	if opts.StateDir == "" {
		opts.StateDir = reap.StateDir()
	}
	if res, err := reap.Reap(opts.StateDir); len(res.Runs) > 0 || err != nil {
		if opts.Notices != nil && (len(res.Killed) > 0 || len(res.Removed) > 0) {
			fmt.Fprintf(opts.Notices, "seam: cleaned up after %d earlier run(s) that did not finish: stopped %d process(es), removed %d folder(s)\n",
				len(res.Runs), len(res.Killed), len(res.Removed))
		}
		if err != nil && opts.Notices != nil {
			fmt.Fprintf(opts.Notices, "seam: cleaning up after earlier runs: %v\n", err)
		}
	}
	base, err := engine.SuiteVars(s, opts.Seed, opts.Vars)
	if err != nil {
		return nil, err
	}
	rec, err := reap.Begin(opts.StateDir, opts.Command, s.Name)
	if err != nil {
		return nil, err
	}
	ss := &Session{crash: crash.From(ctx), suite: s, opts: opts, rec: rec, base: base, ports: freeport.New()}
	if s.Mask == nil {
		// The run registers its secrets (passwords, the control token)
		// to be masked wherever they would be written.
		s.Mask, _ = mask.New(nil)
	}
	if ss.token, err = token.New(); err != nil {
		ss.Close()
		return nil, fmt.Errorf("control token: %w", err)
	}
	s.Mask.Add(ss.token)
	if err := rec.SetSuiteFile(s.File); err != nil {
		ss.Close()
		return nil, fmt.Errorf("run record: %w", err)
	}
	var recErr error
	ss.tempRoot, err = service.MkdirTemp(os.TempDir(), "seam-"+rec.ID()+"-", func(dir string) { recErr = rec.AddTemp(dir) })
	if err == nil {
		err = recErr
	}
	if err != nil {
		ss.Close()
		return nil, fmt.Errorf("temp folder: %w", err)
	}
	ss.logRoot = filepath.Join(opts.StateDir, "logs", rec.ID())
	pruneLogs(opts.StateDir, filepath.Join(opts.StateDir, "logs"), keepLogs)
	ss.cacheDir = cacheDir()
	if s.System != nil && len(s.System.Services) > 0 {
		// Builds and initdb write their temporary files (go build's
		// go-build* folders) inside the run's folder, so that they go
		// with it however the run ends.
		tmp := filepath.Join(ss.tempRoot, "tmp")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			ss.Close()
			return nil, fmt.Errorf("temp folder: %w", err)
		}
		err := environment.Prepare(ctx, s.System, environment.PrepareOptions{
			Dir: s.Dir, CacheDir: ss.cacheDir, Vars: base,
			Env:       []string{rec.Env(), "TMPDIR=" + tmp, "GOTMPDIR=" + tmp},
			AddTemp:   func(dir string) { _ = rec.AddTemp(dir) },
			Started:   func(pid int) { _ = rec.AddPID(pid) },
			Preparing: opts.Preparing,
			Prepared:  opts.Prepared,
		})
		if err != nil {
			ss.Close()
			return nil, err
		}
	}
	return ss, nil
}

// cacheDir is where builds are kept between runs.
func cacheDir() string {
	if d := os.Getenv("SEAM_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "seam")
	}
	return filepath.Join(os.TempDir(), "seam-cache")
}

// keepLogs is how many log folders pruneLogs keeps of each sort: runs
// with an event log (seam run's: `seam report last`, --changed and
// --timings read them), and the others (environments of go test's Start
// and Up, seam up's).
const keepLogs = 20

// pruneLogs keeps, in the run log folder dir of the state folder
// stateDir, the newest keep folders that hold an event log and the newest
// keep that do not, each sort by its own count: a test package that starts
// an environment per test makes many folders without one, which must not
// push the CLI's runs out. A folder whose run is still running (its run
// record is in stateDir/runs) is never removed, nor counted.
func pruneLogs(stateDir, dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= keep {
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// IDs start with the time: newest first.
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var withLog, without int
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(stateDir, "runs", n+".json")); err == nil {
			continue // running
		}
		count := &without
		if _, err := os.Stat(runlog.Path(filepath.Join(dir, n))); err == nil {
			count = &withLog
		}
		if *count++; *count > keep {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// Base is the evaluated suite variables.
func (s *Session) Base() expr.Vars { return s.base }

// LogDir is where this run keeps its services' output.
func (s *Session) LogDir() string { return s.logRoot }

// Mark is the environment entry that marks this run's processes.
func (s *Session) Mark() string { return s.rec.Env() }

// TempDir is the run's private temp folder (mode 0700), removed by Close
// and, after a crash, by reaping.
func (s *Session) TempDir() string { return s.tempRoot }

// SetSocket records the control socket the run serves, so that seam run
// --attach and seam reset find it.
func (s *Session) SetSocket(path string) error { return s.rec.SetSocket(path) }

// Token is the run's control token: the Toxiproxy-compatible API and the
// stubs' admin APIs want it ($SEAM_CONTROL_TOKEN).
func (s *Session) Token() string { return s.token }

// RunID is the run's ID.
func (s *Session) RunID() string { return s.rec.ID() }

// Factory returns the engine's EnvFactory, or nil when the suite has no
// services.
func (s *Session) Factory() engine.EnvFactory {
	if s.suite.System == nil || len(s.suite.System.Services) == 0 {
		return nil
	}
	return factory{s}
}

type factory struct{ s *Session }

func (f factory) Start(ctx context.Context, worker int, log report.LogFunc) (engine.Env, error) {
	return f.s.startEnv(ctx, log, true)
}

// StartEnv starts one more environment instance with its own ports and
// folders.
func (s *Session) StartEnv(ctx context.Context, log report.LogFunc) (*environment.Environment, error) {
	return s.startEnv(ctx, log, false)
}

// startEnv starts an environment; with timed, each service's start is
// also logged (stream "env", line "ready", spanning its start) for the
// reports' start times.
func (s *Session) startEnv(ctx context.Context, log report.LogFunc, timed bool) (*environment.Environment, error) {
	progress := s.opts.Progress
	if timed && log != nil {
		var mu sync.Mutex
		began := map[string]time.Time{}
		progress = func(svc, what string) {
			if s.opts.Progress != nil {
				s.opts.Progress(svc, what)
			}
			mu.Lock()
			defer mu.Unlock()
			switch what {
			case "starting":
				began[svc] = time.Now()
			case "ready":
				if t, ok := began[svc]; ok {
					log(svc, "env", "ready", &report.Span{Start: t, End: time.Now()})
				}
			}
		}
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	name := fmt.Sprintf("env%d", n)
	own := reap.EnvMarkVar + "=" + s.rec.ID() + "/" + name
	env, err := environment.Start(ctx, s.suite.System, environment.Options{
		Dir:       s.suite.Dir,
		Vars:      s.base,
		TempDir:   filepath.Join(s.tempRoot, name),
		LogDir:    filepath.Join(s.logRoot, name),
		Ports:     s.ports,
		Mark:      []string{s.rec.Env(), own},
		Own:       own,
		Outlived:  func(n int) { s.outlived.Add(int64(n)) },
		Started:   func(pid int) { _ = s.rec.AddPID(pid) },
		AddTemp:   func(dir string) { _ = s.rec.AddTemp(dir) },
		Log:       log,
		Progress:  progress,
		Notice:    s.notice,
		Mask:      s.suite.Mask,
		Exchanges: &s.exchanges,
		Seed:      s.opts.Seed,
		Token:     s.token,
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.envs = append(s.envs, env)
	s.mu.Unlock()
	return env, nil
}

// notice tells the run's output about a data service, once per run for
// each text however many environments say it.
func (s *Session) notice(svc, text string) {
	line := fmt.Sprintf("seam: notice: service %q: %s", svc, text)
	s.mu.Lock()
	if s.said == nil {
		s.said = map[string]bool{}
	}
	first := !s.said[line]
	s.said[line] = true
	s.mu.Unlock()
	if first && s.opts.Notices != nil {
		fmt.Fprintln(s.opts.Notices, line)
	}
}

// Envs lists the environments still running.
func (s *Session) Envs() []*environment.Environment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*environment.Environment(nil), s.envs...)
}

// MarkUp records that this process now holds environments up for people,
// so seam down stops it.
func (s *Session) MarkUp() { _ = s.rec.SetCommand("up") }

// Close stops every environment still running, kills any process of this
// run that is left (a child that escaped its process group), removes the
// temp folder and the run's record.
func (s *Session) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.mu.Lock()
	envs := s.envs
	s.envs = nil
	s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, e := range envs {
		wg.Add(1)
		s.crash.Go(func() {
			defer wg.Done()
			if err := e.Stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if s.suite.System != nil {
		for _, svc := range s.suite.System.Services {
			if c, ok := svc.Spec.(service.Closer); ok {
				if err := c.Close(); err != nil {
					errs = append(errs, fmt.Errorf("service %s: %w", svc.Name, err))
				}
			}
		}
	}
	left, err := reap.KillMarked(s.rec.ID(), 5*time.Second)
	if err != nil {
		errs = append(errs, err)
	}
	// With those each environment's Stop found of its own.
	if n := int64(len(left)) + s.outlived.Load(); n > 0 && s.opts.Notices != nil {
		fmt.Fprintf(s.opts.Notices, "seam: stopped %d process(es) that outlived their service\n", n)
	}
	// The ports' claims last until every process that listened on them is
	// gone.
	if err := s.ports.Close(); err != nil {
		errs = append(errs, err)
	}
	if s.tempRoot != "" {
		if err := os.RemoveAll(s.tempRoot); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := s.rec.End(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Addresses describes every service of env for people.
func Addresses(s *suite.Suite, env *environment.Environment) string {
	var b strings.Builder
	for _, svc := range s.System.Services {
		in, _ := env.Info(svc.Name)
		if _, ok := in["url"]; !ok {
			fmt.Fprintf(&b, "  %-16s (job: done)\n", svc.Name)
			continue
		}
		fmt.Fprintf(&b, "  %-16s %s", svc.Name, in["url"])
		if ports, ok := in["ports"].(map[string]any); ok && len(ports) > 1 {
			for _, k := range expr.SortedKeys(ports) {
				fmt.Fprintf(&b, "  %s=%v", k, ports[k])
			}
		}
		b.WriteString("\n")
	}
	wired := false
	for _, svc := range s.System.Services {
		for _, d := range svc.DependsOn {
			wired = wired || !d.NoWire
		}
	}
	if u, err := env.ToxiproxyURL(); wired && err == nil {
		fmt.Fprintf(&b, "  %-16s %s (Toxiproxy-compatible API over the edges)\n", "(wire)", u)
	}
	if tok := env.ControlToken(); tok != "" {
		fmt.Fprintf(&b, "  %-16s %s=%s (the control APIs' token, as your services see it)\n", "(control)", token.EnvVar, tok)
	}
	return b.String()
}
