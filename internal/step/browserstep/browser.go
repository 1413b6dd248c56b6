// Package browserstep is the `browser` step kind: it drives a real
// Chromium (Debian's chromium, through the DevTools protocol with
// chromedp) through the system's web pages, and puts what the browser does
// on the test's timeline: its requests to the system's services as
// interactions on browser→SERVICE edges, its console errors and uncaught
// exceptions as the browser's log lines.
package browserstep

import (
	"context"
	"math/rand/v2"

	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
)

// EnvVar names the browser binary, over the one seam finds.
const EnvVar = "SEAM_BROWSER"

// Component is the browser's name on the timeline: its log lines, and the
// caller of its edges (browser→orders).
const Component = "browser"

// candidates are the names a Chromium goes by, in the order tried.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// FindBinary returns the browser to run: bin when given, else $SEAM_BROWSER,
// else the first Chromium on PATH.
func FindBinary(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv(EnvVar)
	}
	if bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("browser %q: %v (set bin: or $%s to a Chromium, or install Debian's chromium package: apt-get install chromium)", bin, err, EnvVar)
		}
		return p, nil
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found on PATH (looked for %s): install Debian's chromium package (apt-get install chromium), or set $%s or bin: to the browser's path",
		strings.Join(candidates, ", "), EnvVar)
}

// Options configure a browser.
type Options struct {
	Bin     string // the binary; "" finds one (FindBinary)
	Host    step.HostEnv
	Timeout time.Duration // to start; 0 means 30s
}

// Browser is one running Chromium; each test gets a fresh incognito
// context (a browser context of its own) in it, so cookies and storage
// never pass from one test to the next.
type Browser struct {
	crash       *crash.Handler // the run's: panics of its goroutines
	host        step.HostEnv
	allocCancel context.CancelFunc
	ctx         context.Context // the browser's: a tab on it runs in a context of its own
	cancel      context.CancelFunc
	pid         int
	sink        *wsSink // where its pages' WebSockets to faulted services go (websocket.go)
	tmp         string  // its TMPDIR, removed at Close

	mu      sync.Mutex
	page    *Page
	pageFor time.Time // the test the page belongs to (its start)

	// spare is the next test's page, opened ahead while the browser is
	// idle (a browser context and a tab take a few hundred ms); one is
	// always on its way while the browser runs.
	spare     chan spare
	spareWG   sync.WaitGroup
	spareCtx  context.Context
	stopSpare context.CancelFunc
}

type spare struct {
	p   *Page
	err error
}

// prepare opens the next spare page in the background.
func (b *Browser) prepare() {
	b.spareWG.Add(1)
	b.crash.Go(func() {
		defer b.spareWG.Done()
		ctx, cancel := context.WithTimeout(b.spareCtx, 30*time.Second)
		defer cancel()
		p, err := b.openPage(ctx)
		b.spare <- spare{p, err}
	})
}

// Start starts Chromium headless with a fresh profile, off the network
// but for what pages ask, in its own process group, marked and recorded
// for reaping.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	bin, err := FindBinary(opts.Bin)
	if err != nil {
		return nil, err
	}
	profile := opts.Host.TempDir
	if profile == "" {
		if profile, err = os.MkdirTemp("", "seam-browser-"); err != nil {
			return nil, err
		}
	}
	profile += "/profile"
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return nil, err
	}
	// Chromium keeps its singleton lock and socket in a folder of its own
	// under TMPDIR, which a SIGKILL (how Close ends it: see there) never
	// lets it remove: given a folder of seam's, they go with it. A short
	// one, beside the others: the socket's path must fit a Unix socket
	// address (108 bytes), and the run's folder is deep.
	// Under a TMPDIR too deep for that, in /tmp.
	tmp := ""
	for _, dir := range []string{os.TempDir(), "/tmp"} {
		if len(dir)+len("/seam-chromium-0123456789/org.chromium.Chromium.XXXXXX/SingletonSocket") < 100 {
			if tmp, err = os.MkdirTemp(dir, "seam-chromium-"); err == nil {
				if opts.Host.AddTemp != nil {
					opts.Host.AddTemp(tmp) // a SIGKILL of seam leaves it: the next seam removes it
				}
				break
			}
			tmp = ""
		}
	}
	env := append([]string(nil), opts.Host.Mark...)
	if tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	aopts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("no-proxy-server", true), // the system under test, never the user's proxy
		chromedp.WindowSize(1280, 800),
		chromedp.Env(env...),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			// Its own group, so a reap kills the renderers too; and it
			// dies with seam.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		}),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), aopts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &Browser{crash: crash.From(ctx), host: opts.Host, tmp: tmp, allocCancel: acancel, ctx: bctx, cancel: bcancel, spare: make(chan spare, 1)}
	if b.sink, err = newSink(); err != nil {
		acancel()
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	b.crash.Go(func() { b.sink.serve(b.crash.Go) })
	b.spareCtx, b.stopSpare = context.WithCancel(context.Background())
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	// The first Do binds the browser's life to bctx, not to ctx: a step's
	// timeout must not close the browser.
	done := make(chan error, 1)
	crash.Go(ctx, func() { done <- chromedp.Do(bctx) })
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("it did not answer within %s", timeout)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("starting the browser %s: %w", bin, err)
	}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
		if opts.Host.Started != nil {
			opts.Host.Started(b.pid)
		}
	}
	b.prepare()
	return b, nil
}

// PID is the browser's process.
func (b *Browser) PID() int { return b.pid }

// Close closes the browser and waits for its processes.
func (b *Browser) Close() error {
	b.mu.Lock()
	p := b.page
	b.page = nil
	b.mu.Unlock()
	if p != nil {
		p.Close()
	}
	b.stopSpare()
	// The spare on its way ends (its context is cancelled) and is closed.
	b.crash.Go(func() { b.spareWG.Wait(); close(b.spare) })
	for s := range b.spare {
		if s.p != nil {
			s.p.Close()
		}
	}
	b.cancel()
	b.allocCancel()
	b.sink.close()
	if b.pid > 0 {
		// chromedp waits for the main process; the group may hold a
		// renderer a moment longer.
		_ = syscall.Kill(-b.pid, syscall.SIGKILL)
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
	return nil
}

// PageFor returns the page of the test that started at test, opening a
// fresh incognito context for it (and closing the previous test's).
func (b *Browser) PageFor(ctx context.Context, test time.Time) (*Page, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.page != nil && b.pageFor.Equal(test) {
		return b.page, nil
	}
	if b.page != nil {
		b.page.Close()
		b.page = nil
	}
	p, err := b.NewPage(ctx)
	if err != nil {
		return nil, err
	}
	b.page, b.pageFor = p, test
	p.takeFaults() // those set before its test's first browser step
	return p, nil
}

// NewPage returns a tab in a fresh incognito context, the one opened
// ahead when it is ready; its owner closes it.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	select {
	case s, ok := <-b.spare:
		if !ok {
			return nil, fmt.Errorf("opening a page: the browser is closed")
		}
		b.prepare()
		if s.err == nil {
			return s.p, nil
		}
		// The spare failed (the browser was busy): try once more, now.
		return b.openPage(ctx)
	case <-ctx.Done():
		return nil, fmt.Errorf("opening a page: %w", ctx.Err())
	}
}

func (b *Browser) openPage(ctx context.Context) (*Page, error) {
	p := &Page{b: b, inflight: map[network.RequestID]*request{}, held: map[fetch.RequestID]string{}, injected: map[network.RequestID]bool{}, delayed: map[network.RequestID]bool{}, idle: closedChan()}
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.event))
	p.ctx, p.cancel = tctx, cancel
	done := make(chan error, 1)
	crash.Go(ctx, func() { done <- chromedp.Do(tctx) })
	select {
	case err := <-done:
		if err != nil {
			cancel()
			return nil, fmt.Errorf("opening a page: %w", err)
		}
	case <-ctx.Done():
		cancel()
		return nil, fmt.Errorf("opening a page: %w", ctx.Err())
	}
	return p, nil
}

// consoleLine is a console error or an uncaught exception.
type consoleLine struct {
	at   time.Time
	text string
}

// Page is one tab in its own incognito context.
type Page struct {
	b      *Browser
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	inflight map[network.RequestID]*request
	lastNet  time.Time // when a request last started or ended
	errors   []consoleLine
	// dialogs are the JavaScript dialogs the page opened (dialogs.go);
	// acceptDialogs says how the next ones are answered.
	dialogs       []Dialog
	acceptDialogs bool
	// closed: the page's test is over; what the browser still tells of
	// it is dropped, not put on the next test's timeline.
	closed bool
	// finishing counts the requests whose bodies are being read before
	// they are recorded (network.go); idle is closed when it is zero.
	finishing int
	idle      chan struct{}
	// stopWatch ends the watch on the test's context (watchTest);
	// testErr is that context's Err (setTestContext).
	stopWatch func() bool
	testErr   func() error

	// The faults on the browser's edges, as this page takes them
	// (faults.go): by service; requests a blackhole holds; requests a
	// fault answered or cut, by their network id.
	faults       map[string]wire.Faults
	rnds         map[string]*rand.Rand // each faulted service's jitter
	takeMu       sync.Mutex            // one takeFaults at a time
	held         map[fetch.RequestID]string
	injected     map[network.RequestID]bool
	delayed      map[network.RequestID]bool // held by a latency (or slow) fault now
	intercepting bool
	wsScript     page.ScriptIdentifier // the WebSocket wrapper's, to replace it
}

// Close closes the tab and its context. The requests still in flight are
// recorded first, as its test's ("still in flight when the test ended"),
// and nothing the browser tells of the page later is.
func (p *Page) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.settle(ctx) // the requests that ended, with their bodies
	p.EndTest()
	p.mu.Lock()
	p.closed = true
	stop := p.stopWatch
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	p.cancel()
}

// event sees the tab's events, on chromedp's reading goroutine: it must
// not block or call the browser.
func (p *Page) event(ev any) {
	if p.network(ev) || p.dialogEvent(ev) {
		return
	}
	now := time.Now()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return // a closed page's test is over
	}
	switch ev := ev.(type) {
	case *fetch.EventRequestPaused:
		p.b.crash.Go(func() { p.paused(ev) }) // it calls the browser: not on the event reader
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			p.log("console", "console."+string(ev.Type)+": "+args(ev.Args))
			return
		}
		p.consoleError(now, "console.error: "+args(ev.Args))
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text = strings.SplitN(d.Exception.Description, "\n", 2)[0]
			}
			where := ""
			if d.URL != "" {
				where = fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
			}
			p.consoleError(now, "uncaught "+text+where)
		}
	}
}

func (p *Page) consoleError(at time.Time, text string) {
	p.mu.Lock()
	p.errors = append(p.errors, consoleLine{at: at, text: text})
	p.mu.Unlock()
	p.log("console", text)
}

func (p *Page) log(stream, line string) {
	if p.b.host.Log != nil {
		p.b.host.Log(Component, stream, line)
	}
}

func args(list []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(list))
	for _, a := range list {
		switch {
		case a == nil:
		case len(a.Value) > 0:
			v := string(a.Value)
			if s, err := unquoteJSON(v); err == nil {
				v = s
			}
			parts = append(parts, v)
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// ConsoleErrors returns the console errors and uncaught exceptions since t.
func (p *Page) ConsoleErrors(since time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.errors {
		if !e.at.Before(since) {
			out = append(out, e.text)
		}
	}
	return out
}

// serviceOf names the service a URL goes to; "" for one outside the system.
func (p *Page) serviceOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws") {
		return ""
	}
	if direct, ok := p.b.host.Wired[u.Host]; ok {
		return p.b.host.Services[direct] // its call goes there (rewired)
	}
	return p.b.host.Services[u.Host]
}

// rewired is raw's URL with a wire proxy's address (one a service was given
// for its dependency, which a page may have been given too) replaced by
// the callee's own, and whether it was one. The browser is a caller of its
// own: through that proxy, its calls would be recorded as the service's.
func (p *Page) rewired(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, false
	}
	direct, ok := p.b.host.Wired[u.Host]
	if !ok {
		return raw, false
	}
	u.Host = direct
	return u.String(), true
}

// Run runs one chromedp action on the page within ctx.
func run[T any](ctx context.Context, p *Page, a chromedp.Action[T]) (T, error) {
	var zero T
	rctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	v, err := chromedp.Run(rctx, a)
	if err != nil && ctx.Err() != nil {
		return zero, ctx.Err()
	}
	return v, err
}

// call sends one protocol command to the page.
func call[P, R any](ctx context.Context, p *Page, cmd cdp.Command[P, R], params P) (R, error) {
	return run(ctx, p, chromedp.Action[R](func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, cmd, params)
	}))
}

func unquoteJSON(v string) (string, error) {
	var s string
	err := json.Unmarshal([]byte(v), &s)
	return s, err
}

func statusText(code int) string { return http.StatusText(code) }

// sysKill probes whether pid exists (signal 0).
func sysKill(pid int) error { return syscall.Kill(pid, 0) }
