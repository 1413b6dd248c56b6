// Package environment starts one running instance of a suite's system:
// every service on free loopback ports, in dependency order (independent
// ones at once), each probed until ready, logs captured; and stops it all,
// dependants first.
package environment

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/token"
	"github.com/seamtest/seam/internal/wire"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Options configure an environment.
type Options struct {
	Dir     string              // the suite's folder
	Vars    expr.Vars           // suite variables, evaluated
	TempDir string              // a folder for this environment's instances (removed by the caller)
	LogDir  string              // where each service's output is kept
	Ports   *freeport.Allocator // shared by the run's environments
	Mark    []string            // environment entries that mark processes for reaping
	// Own is the entry of Mark (NAME=VALUE, reap.EnvMarkVar) that marks
	// this environment's processes alone ("": none): Stop kills those that
	// escaped their service's process group (setsid, a daemon's double
	// fork), which would otherwise live on until the run ends; Outlived,
	// if set, is told how many there were.
	Own      string
	Outlived func(n int)
	Started  func(pid int)
	AddTemp  func(dir string)
	Log      report.LogFunc
	Progress func(service, what string) // "starting", "ready", … for a live display
	Notice   func(service, text string) // what seam cannot reset, once per text
	Mask     *mask.Masker               // the suite's own secret patterns; nil: the built-in ones
	// Exchanges bounds what interactions carry to the event log, shared
	// by a run's environments (nil: this environment's own bound).
	Exchanges *ExchangeBudget
	Seed      uint64 // the run's: Toxiproxy toxics' toxicity rolls and jitter
	// Token guards the control APIs (Toxiproxy's, the stubs' admin API)
	// and is given to every process as $SEAM_CONTROL_TOKEN; "" leaves
	// them open.
	Token string
}

// Environment is one running instance of a system.
type Environment struct {
	crash   *crash.Handler // the run's: panics of the goroutines it starts
	sys     *service.System
	opts    Options
	mu      sync.Mutex
	running map[string]*running
	infos   map[string]map[string]any
	levels  [][]string // start order by dependency depth
	// The wire: one recording proxy per depends_on edge, and what each
	// dependant sees of its dependencies (their addresses through it).
	proxies  []*wire.Proxy
	views    map[string]map[string]map[string]any
	seen     wire.Journal // the interactions on every edge
	toxi     *wire.ToxiAPI
	toxiSrv  *http.Server
	toxiURL  string
	stopOnce sync.Once
	stopErr  error
	helpers  helpers // what step kinds keep for this environment (helpers.go)
	// own is the budget of interactions' content sent to the event log
	// when Options.Exchanges gives none (helpers.go).
	own ExchangeBudget
	// componentFaults are the faults on edges from seam's own components
	// (browser→orders), which their helpers put in effect, by edge.
	componentFaults map[string]wire.Faults
}

type running struct {
	svc   *service.Service
	inst  service.Instance
	ports map[string]int
	lines *ring
	log   *os.File
	mu    sync.Mutex
}

// StartError says which service failed to start, and shows its last lines.
type StartError struct {
	Service string
	Pos     diag.Pos
	Err     error
	Lines   []string
	LogFile string
	Hint    string // what to do, when the lines say what went wrong
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: service %q: %v", e.Pos, e.Service, e.Err)
	if len(e.Lines) > 0 {
		fmt.Fprintf(&b, "\n  last %d log lines of %s:", len(e.Lines), e.Service)
		for _, l := range e.Lines {
			b.WriteString("\n    | " + l)
		}
	} else if e.LogFile != "" {
		fmt.Fprintf(&b, "\n  (%s printed nothing)", e.Service)
	}
	if e.LogFile != "" {
		fmt.Fprintf(&b, "\n  full log: %s", e.LogFile)
	}
	if e.Hint != "" {
		b.WriteString("\n  " + e.Hint)
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Err }

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	Dir      string    // the suite's folder
	CacheDir string    // seam's cache folder (kept between runs)
	Vars     expr.Vars // suite variables, evaluated
	Log      func(service, line string)
	AddTemp  func(dir string) // a work folder to remove after a crash
	Started  func(pid int)    // a child to kill after a crash
	// Env is added to the environment of every command a service's
	// preparing runs: the run's mark, TMPDIR inside the run's folder.
	Env []string
	// Preparing and Prepared, when set, are told when each service's work
	// begins, and when it ended and how long it took (for seam up's
	// progress lines).
	Preparing func(service string)
	Prepared  func(service string, took time.Duration, err error)
}

// Prepare runs every service's once-per-run work (builds, cached data
// folders), concurrently.
func Prepare(ctx context.Context, sys *service.System, opts PrepareOptions) error {
	var wg sync.WaitGroup
	errs := make([]error, len(sys.Services))
	for i, svc := range sys.Services {
		wg.Add(1)
		crash.Go(ctx, func() {
			defer wg.Done()
			if opts.Preparing != nil {
				opts.Preparing(svc.Name)
			}
			began := time.Now()
			err := svc.Spec.Prepare(ctx, &service.PrepareEnv{
				Name: svc.Name, Pos: svc.Pos, Dir: opts.Dir, CacheDir: opts.CacheDir, Vars: opts.Vars,
				Log: func(line string) {
					if opts.Log != nil {
						opts.Log(svc.Name, line)
					}
				},
				AddTemp: opts.AddTemp, Started: opts.Started, Env: opts.Env,
			})
			if err != nil && ctx.Err() != nil {
				// Whatever failed, it failed because the run was
				// interrupted: say so, not how the interrupted work died.
				var stopped *service.Interrupted
				if !errors.As(err, &stopped) {
					err = &service.Interrupted{What: "preparing", Cause: ctx.Err()}
				}
			}
			if opts.Prepared != nil {
				opts.Prepared(svc.Name, time.Since(began), err)
			}
			if err != nil {
				errs[i] = &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Start starts every service and waits until each is ready. On failure it
// stops what it started and returns a *StartError for the first failure.
func Start(ctx context.Context, sys *service.System, opts Options) (*Environment, error) {
	e := &Environment{crash: crash.From(ctx), sys: sys, opts: opts, running: map[string]*running{}, infos: map[string]map[string]any{},
		views: map[string]map[string]map[string]any{}}
	e.levels = levels(sys)
	if err := os.MkdirAll(opts.LogDir, 0o700); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	// Every port is known before anything starts, so any service can be
	// told any other's address.
	for _, svc := range sys.Services {
		r := &running{svc: svc, ports: map[string]int{}, lines: newRing(200)}
		for _, p := range svc.Ports {
			port, err := opts.Ports.Take()
			if err != nil {
				return nil, &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
			}
			r.ports[p] = port
		}
		e.running[svc.Name] = r
		e.infos[svc.Name] = info(svc, r.ports, opts.Token)
		// The passwords the services were given are secrets wherever
		// they would be written (the masker ignores short ones, such
		// as a suite's own "seam").
		if pw, ok := e.infos[svc.Name]["password"].(string); ok {
			opts.Mask.Add(pw)
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := map[string]chan struct{}{}
	for _, svc := range sys.Services {
		ready[svc.Name] = make(chan struct{})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	for _, svc := range sys.Services {
		wg.Add(1)
		crash.Go(ctx, func() {
			defer wg.Done()
			for _, d := range svc.DependsOn {
				select {
				case <-ready[d.Name]:
				case <-sctx.Done():
					return
				}
			}
			if err := e.startOne(sctx, svc); err != nil {
				fail(err)
				return
			}
			close(ready[svc.Name])
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first == nil {
		first = e.baseline(ctx)
	}
	if first != nil {
		stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer stopCancel()
		_ = e.Stop(stopCtx)
		return nil, first
	}
	return e, nil
}

// baseline has every data service take its baseline, now that every job
// has ended and every service is ready.
func (e *Environment) baseline(ctx context.Context) error {
	for _, svc := range e.sys.Services {
		b, ok := e.running[svc.Name].inst.(service.Baseliner)
		if !ok {
			continue
		}
		notice := func(text string) {
			if e.opts.Notice != nil {
				e.opts.Notice(svc.Name, text)
			}
		}
		if err := b.Baseline(ctx, notice); err != nil {
			return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
		}
	}
	return nil
}

// bindHint explains a service that could not listen because another
// program holds the address: seam's ports were free when it chose them.
func bindHint(lines []string, ports map[string]int) string {
	inUse := false
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "address already in use") {
			inUse = true
		}
	}
	if !inUse {
		return ""
	}
	var given []string
	for _, n := range expr.SortedKeys(ports) {
		given = append(given, fmt.Sprintf("%s=%d", n, ports[n]))
	}
	return "hint: another program holds the address it tried to listen on. seam gave it " + strings.Join(given, ", ") +
		", free when chosen and claimed against other seam runs: either its command names a fixed port, or another " +
		"program took the port since. Pass ((addr)) or ((port)) to it, stop that program, or run again."
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// envName turns a service name into an environment variable part.
func envName(s string) string { return strings.ToUpper(nonWord.ReplaceAllString(s, "_")) }

func info(svc *service.Service, ports map[string]int, tok string) map[string]any {
	if len(svc.Ports) == 0 {
		return map[string]any{"name": svc.Name} // a job: no address
	}
	main := ports[svc.Ports[0]]
	named := map[string]any{}
	for k, v := range ports {
		named[k] = v
	}
	addr := "127.0.0.1:" + strconv.Itoa(main)
	in := map[string]any{
		"name": svc.Name, "host": "127.0.0.1", "port": main, "addr": addr,
		"url": "http://" + addr, "ports": named,
	}
	if tok != "" {
		in["control_token"] = tok // for kinds that serve a control API (a stub's admin API)
	}
	if d, ok := svc.Spec.(service.Describer); ok {
		d.Describe(in)
	}
	return in
}

// wireEdges puts a recording proxy on each port of each of svc's depends_on
// edges, and gives svc the proxies' addresses for its dependencies.
func (e *Environment) wireEdges(ctx context.Context, svc *service.Service) error {
	for _, d := range svc.DependsOn {
		if dep, _ := e.sys.Get(d.Name); d.NoWire || service.IsJob(dep) {
			continue // a job has no address to put a proxy in front of
		}
		target := e.infos[d.Name]
		edge := svc.Name + "→" + d.Name
		callee := e.running[d.Name]
		types, err := e.grpcTypes(ctx, callee)
		if err != nil {
			return err
		}
		via := map[string]any{} // port name → the proxy's port
		var mainProxy string
		for k, port := range callee.svc.Ports {
			main := k == 0
			p, err := wire.ListenPort(ctx, edge, port, main, "127.0.0.1:"+strconv.Itoa(callee.ports[port]), e.wireReport(edge, main))
			if err != nil {
				return fmt.Errorf("the wire to %s: %w", d.Name, err)
			}
			p.SetMasker(e.opts.Mask)
			if types != nil {
				p.SetDescriptors(types)
			}
			e.mu.Lock()
			e.proxies = append(e.proxies, p)
			e.mu.Unlock()
			_, pp, _ := strings.Cut(p.Addr(), ":")
			via[port], _ = strconv.Atoi(pp)
			if main {
				mainProxy = p.Addr()
			}
		}
		view := through(target, target["addr"].(string), mainProxy)
		view["direct_ports"], view["ports"] = target["ports"], via
		e.mu.Lock()
		if e.views[svc.Name] == nil {
			e.views[svc.Name] = map[string]map[string]any{}
		}
		e.views[svc.Name][d.Name] = view
		e.mu.Unlock()
	}
	return nil
}

// grpcTypes are the gRPC services a callee serves, for the wire: named by
// the suite, or asked of it by server reflection (it is ready by now).
func (e *Environment) grpcTypes(ctx context.Context, callee *running) (*protoregistry.Files, error) {
	if callee.svc.Descriptors != nil || callee.svc.GRPCReflect == "" {
		return callee.svc.Descriptors, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addr := "127.0.0.1:" + strconv.Itoa(callee.ports[callee.svc.GRPCReflect])
	files, err := protos.Reflect(ctx, addr)
	if err != nil {
		hint := "(is the port right? name it with grpc: {reflection: true, port: NAME}, or name its protos: under grpc:)"
		if errors.Is(err, protos.ErrNoReflection) {
			hint = "(register the reflection service in it, as grpc-go's reflection.Register(server), or name its protos: under grpc:)"
		}
		return nil, fmt.Errorf("asking %s's port %s (%s) for its gRPC services by server reflection: %w %s",
			callee.svc.Name, callee.svc.GRPCReflect, addr, err, hint)
	}
	return files, nil
}

// wireReport records what an edge's proxy saw. A fault is set on every
// port of an edge at once: the main port's proxy tells of it.
func (e *Environment) wireReport(edge string, main bool) func(wire.Interaction) {
	return func(in wire.Interaction) {
		if in.Protocol == "fault" && !main {
			return
		}
		e.seen.Add(in)
		if e.opts.Log != nil {
			e.opts.Log(edge, "wire", in.Line(), e.wireSpan(in))
		}
	}
}

// through is a service's info with its address replaced by a proxy's,
// in the URL and DSN too.
func through(info map[string]any, addr, proxy string) map[string]any {
	out := make(map[string]any, len(info))
	for k, v := range info {
		if s, ok := v.(string); ok {
			v = strings.ReplaceAll(s, addr, proxy)
		}
		out[k] = v
	}
	_, port, _ := strings.Cut(proxy, ":")
	out["port"], _ = strconv.Atoi(port)
	out["direct_url"] = info["url"]
	return out
}

// ControlToken is the token the environment's control APIs want ("":
// none), as its processes see it in $SEAM_CONTROL_TOKEN.
func (e *Environment) ControlToken() string { return e.opts.Token }

// ToxiproxyURL is the address of the Toxiproxy-compatible API over this
// environment's edges, started on first use. With a control token it is
// http://seam:TOKEN@127.0.0.1:PORT: HTTP clients, Toxiproxy's Go client
// among them, send the token as Basic authentication by themselves.
func (e *Environment) ToxiproxyURL() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.toxiURL != "" {
		return e.toxiURL, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	e.toxi = wire.NewToxiAPI(e.proxyList, e.opts.Seed)
	e.toxi.Crash = e.crash
	e.toxiSrv = &http.Server{Handler: token.Require(e.opts.Token, e.toxi)}
	srv := e.toxiSrv
	e.crash.Go(func() { srv.Serve(ln) })
	e.toxiURL = token.URL("http://"+ln.Addr().String(), e.opts.Token)
	return e.toxiURL, nil
}

// SetFaults puts faults on the edge from → to, on every port of it
// (engine steps: fault).
func (e *Environment) SetFaults(from, to string, f wire.Faults) error {
	ps := e.edgeProxies(from + "→" + to)
	if len(ps) == 0 && e.sys != nil {
		if _, declared := e.sys.Get(from); !declared {
			return e.setComponentFaults(from, to, f)
		}
	}
	if len(ps) == 0 {
		return noWire(e.sys, from, to)
	}
	for _, p := range ps {
		p.SetFaults(f)
	}
	return nil
}

// noWire says why from → to has no wire to put faults on: from does not
// depend on to (and what it depends on), or the edge is wire: false, or
// to is a job.
func noWire(sys *service.System, from, to string) error {
	var deps []string
	if sys == nil {
		return fmt.Errorf("no wire on %s→%s: faults go on a depends_on edge", from, to)
	}
	if svc, ok := sys.Get(from); ok {
		for _, d := range svc.DependsOn {
			if d.Name != to {
				deps = append(deps, d.Name)
				continue
			}
			if callee, ok := sys.Get(to); ok && service.IsJob(callee) {
				return fmt.Errorf("no wire on %s→%s: %s is a job, which runs to its end before %s starts; faults go on an edge to a service", from, to, to, from)
			}
			if d.NoWire {
				return fmt.Errorf("no wire on %s→%s: the edge is wire: false (remove wire: false from %s's depends_on to put faults on it)", from, to, from)
			}
			return fmt.Errorf("no wire on %s→%s: the edge's wire is not running (has the environment stopped?)", from, to)
		}
	}
	if len(deps) == 0 {
		return fmt.Errorf("no wire on %s→%s: %s does not depend on %s, nor on anything (faults go on a depends_on edge)", from, to, from, to)
	}
	return fmt.Errorf("no wire on %s→%s: %s does not depend on %s; it depends on %s (faults go on a depends_on edge)", from, to, from, to, strings.Join(deps, ", "))
}

// ClearFaults removes the faults of every edge, and the toxics and
// disabled proxies set through Toxiproxy's API (a test's end).
func (e *Environment) ClearFaults() {
	for _, p := range e.proxyList() {
		p.ClearFaults()
	}
	e.mu.Lock()
	had := e.componentFaults
	e.componentFaults = nil
	toxi := e.toxi
	e.mu.Unlock()
	if toxi != nil {
		toxi.Reset() // toxics and disabled proxies set through Toxiproxy's API
	}
	if len(had) > 0 {
		e.componentFaultsChanged()
		for edge := range had {
			e.faultNoted(edge, "cleared")
		}
	}
}

// edgeProxies are the proxies of an edge's ports, the main one first.
func (e *Environment) edgeProxies(edge string) []*wire.Proxy {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*wire.Proxy
	for _, p := range e.proxies {
		if p.Edge == edge {
			out = append(out, p)
		}
	}
	return out
}

// Interactions returns what the wire saw on every edge since t, in the
// order the interactions ended (wirestep uses it), then the calls begun
// since t that are still in flight (wire.Proxy.InFlight: a stream still
// answering, a call hung on its callee), by edge.
func (e *Environment) Interactions(since time.Time) []wire.Interaction {
	e.settle()
	return append(e.seen.Since(since), e.inFlight(since)...)
}

// inFlight is the calls begun since t still in flight on every edge.
func (e *Environment) inFlight(since time.Time) []wire.Interaction {
	var out []wire.Interaction
	now := time.Now()
	for _, p := range e.proxyList() {
		for _, in := range p.InFlight(now) {
			if !in.Start.Before(since) {
				out = append(out, in)
			}
		}
	}
	return out
}

// settle waits (briefly) until every edge has told of its connections
// that are ending (wire.Proxy.Settle): a check made as the caller meets a
// reset sees the call it cut.
func (e *Environment) settle() {
	if hs := helpersAs[step.Settler](e); len(hs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), helperSettle)
		for _, h := range hs {
			h.Settle(ctx)
		}
		cancel()
	}
	for _, p := range e.proxyList() {
		p.Settle(context.Background())
	}
}

// helperSettle bounds the wait for helpers' own interactions (Settler): a
// browser's request whose answer is still loading, or one still in flight
// (a long poll waits out this bound).
const helperSettle = time.Second

// proxyList is a copy of the environment's proxies, every edge's.
func (e *Environment) proxyList() []*wire.Proxy {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*wire.Proxy(nil), e.proxies...)
}

// infoFor is name's info as svc sees it: through the wire when the edge
// has a proxy.
func (e *Environment) infoFor(svc, name string) (map[string]any, bool) {
	e.mu.Lock()
	v, ok := e.views[svc][name]
	e.mu.Unlock()
	if ok {
		return v, true
	}
	in, ok := e.infos[name]
	return in, ok
}

// Vars returns the variables a service's templates see.
func (e *Environment) varsFor(svc *service.Service, tmp string) expr.Vars {
	vars := make(expr.Vars, len(e.opts.Vars)+10)
	for k, v := range e.opts.Vars {
		vars[k] = v
	}
	own := e.infos[svc.Name]
	for _, k := range []string{"host", "port", "addr", "url", "ports", "name"} {
		vars[k] = own[k]
	}
	vars["tmp"] = tmp
	vars["service"] = func(name string) (map[string]any, error) {
		in, ok := e.infoFor(svc.Name, name)
		if !ok {
			return nil, fmt.Errorf("service(%q): no such service (services: %s)", name, strings.Join(e.sys.Names(), ", "))
		}
		if _, ok := in["addr"]; !ok {
			return nil, fmt.Errorf("service(%q): it is a job, which has no address", name)
		}
		return in, nil
	}
	return vars
}

// serviceFunc is the service("name") function of templates.
func (e *Environment) serviceFunc() func(string) (map[string]any, error) {
	return func(name string) (map[string]any, error) {
		in, ok := e.infos[name]
		if !ok {
			return nil, fmt.Errorf("service(%q): no such service (services: %s)", name, strings.Join(e.sys.Names(), ", "))
		}
		return in, nil
	}
}

// childEnv is the environment each process gets: the reaping mark, its own
// address, and every other service's.
func (e *Environment) childEnv(svc *service.Service, tmp string) []string {
	env := append([]string(nil), e.opts.Mark...)
	own := e.infos[svc.Name]
	env = append(env, "SEAM_SERVICE="+svc.Name, "SEAM_TMP="+tmp)
	if e.opts.Token != "" {
		env = append(env, token.EnvVar+"="+e.opts.Token)
	}
	if addr, ok := own["addr"].(string); ok {
		env = append(env, "SEAM_HOST=127.0.0.1", fmt.Sprintf("SEAM_PORT=%d", own["port"]), "SEAM_ADDR="+addr, "SEAM_URL="+own["url"].(string))
	}
	for name, port := range e.running[svc.Name].ports {
		env = append(env, fmt.Sprintf("SEAM_PORT_%s=%d", envName(name), port))
	}
	for _, other := range e.sys.Services {
		if other.Name == svc.Name {
			continue
		}
		in, _ := e.infoFor(svc.Name, other.Name)
		if _, ok := in["addr"].(string); !ok {
			continue // a job
		}
		p := "SEAM_" + envName(other.Name) + "_"
		env = append(env, p+"URL="+in["url"].(string), p+"ADDR="+in["addr"].(string), p+"HOST=127.0.0.1", fmt.Sprintf("%sPORT=%d", p, in["port"]))
		for name, port := range in["ports"].(map[string]any) {
			env = append(env, fmt.Sprintf("%sPORTS_%s=%d", p, envName(name), port))
		}
		// Data services add their connection details.
		for _, k := range []string{"dsn", "user", "password", "database"} {
			if v, ok := in[k].(string); ok {
				env = append(env, p+strings.ToUpper(k)+"="+v)
			}
		}
	}
	return env
}

func (e *Environment) progress(name, what string) {
	if e.opts.Progress != nil {
		e.opts.Progress(name, what)
	}
}

func (e *Environment) startOne(ctx context.Context, svc *service.Service) error {
	r := e.running[svc.Name]
	tmp := filepath.Join(e.opts.TempDir, svc.Name)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
	}
	if err := e.wireEdges(ctx, svc); err != nil {
		return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
	}
	logPath := filepath.Join(e.opts.LogDir, svc.Name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err}
	}
	r.log = lf
	e.progress(svc.Name, "starting")
	inst, err := svc.Spec.Start(ctx, &service.StartEnv{
		Name: svc.Name, Dir: e.opts.Dir, TempDir: tmp, Vars: e.varsFor(svc, tmp),
		Env: e.childEnv(svc, tmp), Ports: r.ports,
		Log: func(stream, line string) {
			// Masked before it is kept anywhere: the log file, the
			// last lines a failure shows, and every report.
			line = e.opts.Mask.Text(line)
			r.lines.add(line)
			r.mu.Lock()
			fmt.Fprintf(r.log, "%s %s | %s\n", time.Now().UTC().Format("15:04:05.000"), stream, line)
			r.mu.Unlock()
			if e.opts.Log != nil {
				e.opts.Log(svc.Name, stream, line, nil)
			}
		},
		Started:     e.opts.Started,
		AddTemp:     e.opts.AddTemp,
		Info:        e.infos[svc.Name],
		Mask:        e.opts.Mask,
		Descriptors: svc.Descriptors,
	})
	if err != nil {
		return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err, LogFile: logPath}
	}
	e.mu.Lock()
	r.inst = inst
	e.mu.Unlock()
	if j, ok := svc.Spec.(service.Job); ok {
		return e.waitJob(ctx, r, j.JobTimeout(), logPath)
	}
	if err := e.waitReady(ctx, r); err != nil {
		lines := r.lines.last(20)
		return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err, Lines: lines, LogFile: logPath, Hint: bindHint(lines, r.ports)}
	}
	if in, ok := inst.(service.Initializer); ok {
		if err := in.Init(ctx); err != nil {
			return &StartError{Service: svc.Name, Pos: svc.Pos, Err: err, Lines: r.lines.last(20), LogFile: logPath}
		}
	}
	e.progress(svc.Name, "ready")
	return nil
}

// waitJob waits for a job to end. Whatever it leaves in its process group
// goes with it; one that outlives timeout is killed with its group.
func (e *Environment) waitJob(ctx context.Context, r *running, timeout time.Duration, logPath string) error {
	name := r.svc.Name
	e.progress(name, "running")
	e.note(r, "running")
	start := time.Now()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-r.inst.Done():
		err = jobExit(r.inst.ExitErr())
	case <-t.C:
		err = fmt.Errorf("the job did not end within %s; it was stopped with its process group", timeout)
	case <-ctx.Done():
		err = fmt.Errorf("the job was stopped after %s: %w", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	}
	_ = r.inst.Stop(ctx)
	if err != nil {
		return &StartError{Service: name, Pos: r.svc.Pos, Err: err, Lines: r.lines.last(20), LogFile: logPath}
	}
	done := "done in " + time.Since(start).Round(time.Millisecond).String()
	e.note(r, done)
	e.progress(name, done)
	return nil
}

// note writes a line of seam's own into a service's log (a job's progress).
func (e *Environment) note(r *running, line string) {
	r.mu.Lock()
	fmt.Fprintf(r.log, "%s seam | %s\n", time.Now().UTC().Format("15:04:05.000"), line)
	r.mu.Unlock()
	if e.opts.Log != nil {
		e.opts.Log(r.svc.Name, "seam", line, nil)
	}
}

// jobExit says how a job ended: nil for exit 0.
func jobExit(err error) error {
	if err == nil {
		return nil
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return fmt.Errorf("the job exited with code %d", ee.ExitCode())
	}
	return fmt.Errorf("the job ended by %v", err) // "signal: killed"
}

func (e *Environment) waitReady(ctx context.Context, r *running) error {
	rd := r.svc.Ready
	target := service.Target{Name: r.svc.Name, Host: "127.0.0.1", Ports: r.ports, Main: r.svc.Ports[0],
		Lines: func() []string { return r.lines.last(200) }}
	timeout := time.NewTimer(rd.Timeout)
	defer timeout.Stop()
	start := time.Now()
	interval := 2 * time.Millisecond
	// The probe is also tried as output lines arrive, not only at the next
	// poll: a server's "ready" line is seen at once, and a service usually
	// says "listening on …" the moment it is ready. Bounds, so that a
	// chatty service (one that logs each probe request, say) does not
	// drive the probe: the probe says how soon after a try a line may
	// start the next (service.AfterLine); after the first second (most
	// services are up by then; one still warming up may log each probe
	// request), a probe that does not read the output gets one such try
	// between two polls at most; and one that reads it (all CPU) waits ten
	// times the last try's length, so it takes a tenth of a core at most,
	// but never past the next poll.
	afterLine := service.AfterLine(rd.Probe)
	var last error
	lineTried := false // a line started a try since the last poll
	for attempt := 1; ; attempt++ {
		var newLine <-chan struct{} // nil: lines start no tries
		if afterLine == 0 || afterLine > 0 && (!lineTried || time.Since(start) < time.Second) {
			newLine = r.lines.changed() // before the check: no line is missed
		}
		checked := time.Now()
		select {
		case <-r.inst.Done():
			return exited(r.inst.ExitErr())
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, min(rd.Timeout, 2*time.Second))
		err := rd.Probe.Check(pctx, target)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		took := time.Since(checked)
		wait := time.NewTimer(interval)
		select {
		case <-r.inst.Done():
			wait.Stop()
			return exited(r.inst.ExitErr())
		case <-timeout.C:
			wait.Stop()
			return fmt.Errorf("not ready after %s (%d attempts of %s); last error: %v", rd.Timeout, attempt, rd.Probe, last)
		case <-ctx.Done():
			wait.Stop()
			return fmt.Errorf("start cancelled after %s: %w", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-newLine:
			wait.Stop()
			lineTried = true
			pause := afterLine
			if afterLine == 0 {
				pause = min(10*took, interval)
			}
			if d := pause - time.Since(checked); d > 0 {
				// The next round sees an exit or a cancellation.
				select {
				case <-time.After(d):
				case <-r.inst.Done():
				case <-ctx.Done():
				}
			}
		case <-wait.C:
			lineTried = false
		}
		// Poll fast during the first second (most services are ready in
		// milliseconds and a loopback probe is cheap), then back off to
		// the configured interval.
		if time.Since(start) < time.Second {
			interval = min(interval*2, 5*time.Millisecond, rd.Interval)
		} else {
			interval = rd.Interval
		}
	}
}

func exited(err error) error {
	if err == nil {
		return fmt.Errorf("exited with code 0 before it was ready")
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return fmt.Errorf("exited with code %d before it was ready", ee.ExitCode())
	}
	return fmt.Errorf("died before it was ready: %v", err)
}

// Flush waits until every service's already-written output has been read
// (engine.Flusher), so each line is told to the test that caused it.
func (e *Environment) Flush(ctx context.Context) {
	e.mu.Lock()
	var fs []service.Flusher
	for _, r := range e.running {
		if f, ok := r.inst.(service.Flusher); ok {
			fs = append(fs, f)
		}
	}
	e.mu.Unlock()
	for _, p := range e.proxyList() {
		p.Flush(ctx)
	}
	for _, f := range fs {
		f.Flush(ctx)
	}
}

// Reset brings every service's data back to its baseline and takes the
// faults off every edge (engine.Resetter).
func (e *Environment) Reset(ctx context.Context) error {
	e.ClearFaults()
	e.mu.Lock()
	var rs []struct {
		name string
		r    service.Resetter
	}
	for _, svc := range e.sys.Services {
		if r, ok := e.running[svc.Name].inst.(service.Resetter); ok {
			rs = append(rs, struct {
				name string
				r    service.Resetter
			}{svc.Name, r})
		}
	}
	e.mu.Unlock()
	var errs []error
	for _, x := range rs {
		if err := x.r.Reset(ctx); err != nil {
			var held *service.HeldError
			if errors.As(err, &held) {
				held.Service = x.name
				for i := range held.Holders {
					held.Holders[i].Who = e.caller(held.Holders[i].Addr)
				}
				// Not wrapped: the runner adds the test each began in.
				errs = append(errs, held)
				continue
			}
			errs = append(errs, fmt.Errorf("resetting %s: %w", x.name, err))
		}
	}
	return errors.Join(errs...)
}

// caller names the service whose connection reaches a data service from
// addr (as the data service sees it): a wire's connection is its edge's
// caller's; other connections come from no service seam knows by it (a
// job, a step, an edge with wire: false, a client of the user's).
func (e *Environment) caller(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if err != nil || n == 0 {
		return ""
	}
	for _, p := range e.proxyList() {
		if p.Upstream(n) {
			from, _, _ := strings.Cut(p.Edge, "→")
			return fmt.Sprintf("%s's connection (edge %s, through seam's wire)", from, p.Edge)
		}
	}
	return fmt.Sprintf("the connection from %s, not through seam's wire (a job's, a step's, an edge with wire: false, or a client of yours)", addr)
}

// Check runs every service's after-test check (engine.Checker).
func (e *Environment) Check(since time.Time) error {
	e.mu.Lock()
	var cs []struct {
		name string
		c    service.Checker
	}
	for _, svc := range e.sys.Services {
		if r := e.running[svc.Name]; r != nil {
			if c, ok := r.inst.(service.Checker); ok {
				cs = append(cs, struct {
					name string
					c    service.Checker
				}{svc.Name, c})
			}
		}
	}
	e.mu.Unlock()
	var errs []error
	for _, x := range cs {
		if err := x.c.CheckTest(since); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", x.name, err))
		}
	}
	return errors.Join(errs...)
}

// Instance returns a running service, for steps that work with a kind's
// own abilities (a stub's journal).
func (e *Environment) Instance(name string) (service.Instance, error) { return e.instance(name) }

// ResetOne brings one service's data back to its baseline.
func (e *Environment) ResetOne(ctx context.Context, name string) error {
	inst, err := e.instance(name)
	if err != nil {
		return err
	}
	if r, ok := inst.(service.Resetter); ok {
		return r.Reset(ctx)
	}
	return fmt.Errorf("service %q keeps no data to reset", name)
}

// Messages implements step.Recorders: the traffic a broker recorded.
func (e *Environment) Messages(name string) (step.MessageLog, error) {
	inst, err := e.instance(name)
	if err != nil {
		return nil, err
	}
	if r, ok := inst.(interface{ Messages() step.MessageLog }); ok {
		return r.Messages(), nil
	}
	return nil, fmt.Errorf("service %q records no messages (it is not a message broker)", name)
}

// StreamInfo implements step.Streams.
func (e *Environment) StreamInfo(ctx context.Context, name, stream string) (map[string]any, error) {
	inst, err := e.instance(name)
	if err != nil {
		return nil, err
	}
	if s, ok := inst.(interface {
		Stream(context.Context, string) (map[string]any, error)
	}); ok {
		return s.Stream(ctx, stream)
	}
	return nil, fmt.Errorf("service %q has no streams", name)
}

func (e *Environment) instance(name string) (service.Instance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.running[name]
	if !ok || r.inst == nil {
		return nil, fmt.Errorf("no service %q (services: %s)", name, strings.Join(e.sys.Names(), ", "))
	}
	return r.inst, nil
}

// URL implements step.Services.
func (e *Environment) URL(name string) (string, error) {
	in, ok := e.infos[name]
	if !ok {
		return "", fmt.Errorf("no service %q (services: %s)", name, strings.Join(e.sys.Names(), ", "))
	}
	u, ok := in["url"].(string)
	if !ok {
		return "", fmt.Errorf("service %q is a job: it has no address", name)
	}
	return u, nil
}

// Info returns a service's addresses: url, host, port, addr, ports.
func (e *Environment) Info(name string) (map[string]any, bool) {
	in, ok := e.infos[name]
	return in, ok
}

// ServiceFunc is the service("name") function for steps' templates.
func (e *Environment) ServiceFunc() any { return e.serviceFunc() }

// Exited tells the services that have exited since they became ready,
// each with how ("exit status 7"), for a failure's report
// (engine.Exiter). Jobs are not among them: a job's end is its success.
func (e *Environment) Exited() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for _, svc := range e.sys.Services {
		r := e.running[svc.Name]
		if r.inst == nil || service.IsJob(svc) {
			continue
		}
		select {
		case <-r.inst.Done():
			how := "exit status 0"
			if err := r.inst.ExitErr(); err != nil {
				how = err.Error()
			}
			out[svc.Name] = how
		default:
		}
	}
	return out
}

// Stop stops every started service, dependants before what they depend
// on, and closes the logs. It is safe to call more than once.
func (e *Environment) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		var errs []error
		if err := e.closeHelpers(); err != nil {
			errs = append(errs, err)
		}
		for i := len(e.levels) - 1; i >= 0; i-- {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, name := range e.levels[i] {
				e.mu.Lock()
				r := e.running[name]
				inst := r.inst
				e.mu.Unlock()
				if inst == nil {
					continue
				}
				wg.Add(1)
				crash.Go(ctx, func() {
					defer wg.Done()
					e.progress(name, "stopping")
					if err := inst.Stop(ctx); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("stopping %s: %w", name, err))
						mu.Unlock()
					}
				})
			}
			wg.Wait()
		}
		if e.opts.Own != "" {
			// Before the ports are released: what escaped may listen on one.
			left, err := reap.KillEntry(e.opts.Own, 5*time.Second)
			if err != nil {
				errs = append(errs, err)
			}
			if len(left) > 0 && e.opts.Outlived != nil {
				e.opts.Outlived(len(left))
			}
		}
		e.mu.Lock()
		proxies, toxiSrv, toxi := e.proxies, e.toxiSrv, e.toxi
		e.mu.Unlock()
		if toxiSrv != nil {
			toxiSrv.Close()
			toxi.Close()
		}
		for _, p := range proxies {
			p.Close()
		}
		for _, r := range e.running {
			if r.log != nil {
				r.mu.Lock()
				r.log.Close()
				r.mu.Unlock()
			}
			for _, port := range r.ports {
				e.opts.Ports.Release(port)
			}
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// levels groups services by dependency depth: level 0 depends on nothing.
func levels(sys *service.System) [][]string {
	depth := map[string]int{}
	var visit func(s *service.Service, seen map[string]bool) int
	visit = func(s *service.Service, seen map[string]bool) int {
		if d, ok := depth[s.Name]; ok {
			return d
		}
		if seen[s.Name] {
			return 0 // a cycle; validation reports it
		}
		seen[s.Name] = true
		d := 0
		for _, dep := range s.DependsOn {
			if ds, ok := sys.Get(dep.Name); ok {
				d = max(d, visit(ds, seen)+1)
			}
		}
		depth[s.Name] = d
		return d
	}
	var out [][]string
	for _, s := range sys.Services {
		d := visit(s, map[string]bool{})
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], s.Name)
	}
	return out
}
