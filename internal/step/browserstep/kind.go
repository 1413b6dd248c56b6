package browserstep

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// Kind is the browser step kind. It keeps nothing itself: each
// environment keeps its own browser (step.Host).
type Kind struct{}

// New returns the browser step kind.
func New() *Kind { return &Kind{} }

// actionNames are the keys that act, run in the order written.
var actionNames = []string{"open", "click", "fill", "select", "check", "uncheck", "press", "hover", "wait", "eval",
	"screenshot", "upload", "set_cookies", "set_storage"}

// optionNames are the keys that set how the step runs.
var optionNames = []string{"find", "console_errors", "dialog", "bin"}

// Usage implements step.Kind.
func (*Kind) Usage() step.Usage {
	return step.Usage{
		Name: "browser",
		Summary: "drive a real Chromium (Debian's chromium; $SEAM_BROWSER or bin: for another) through the system's web pages: " +
			"its actions run in the order written, each waiting (up to the step's timeout) until its element is there, visible, " +
			"enabled and not covered; then expectations read the page, read again until they hold for up to expect_timeout (5s), within the step's timeout. One browser per worker, " +
			"a fresh incognito context per test. Its requests and WebSocket connections to the suite's services are interactions on browser→SERVICE edges " +
			"(the page's calls to an address seam gave a service go straight to the callee, as the browser's own), and meet those edges' faults (a WebSocket as it opens: reset, refuse, an HTTP status or a blackhole; not latency); " +
			"its console errors and uncaught exceptions are the browser's log lines. " +
			"Selectors: CSS (#sku, css=form button), text=Place order (contains, any case; quoted: exact), " +
			"role=button[name=\"Place order\"] (ARIA role, explicit or implied by the tag, and accessible name); " +
			"they search the page's own document, not the documents of its iframes. " +
			"A list of such mappings runs them in turn",
		Inputs: []step.Input{
			{Name: "open", Doc: "a URL, or {service, path} (the service's own address) to load; waits for its load event"},
			{Name: "click", Doc: "a selector: its first match, once it stays still for two animation frames, is clicked at its centre with the mouse (if something else would get the click there, it waits, then fails naming it)"},
			{Name: "fill", Doc: "selector → text: sets a text field's value as typing would (input and change events)"},
			{Name: "select", Doc: "selector → option: chooses the option of a <select> by value or label"},
			{Name: "check, uncheck", Doc: "a selector: a checkbox or radio button clicked into that state"},
			{Name: "press", Doc: "a key (Enter, Tab, Escape, Backspace, Delete, Space, Arrow…, Home, End, PageUp, PageDown, or one character) where the focus is; or selector → key"},
			{Name: "hover", Doc: "a selector: moves the mouse over it"},
			{Name: "wait", Doc: "a selector to be visible; or {selector, gone (a selector to disappear), text (shown on the page), url (contained in the page's URL; with a *, a glob the whole URL matches, each * or ** any characters, / included: **/about), network_idle: true (no request for 500 ms)}"},
			{Name: "eval", Doc: "JavaScript run in the page (a promise is awaited); its value, as JSON, is the result's eval"},
			{Name: "screenshot", Doc: "a name: the viewport as PNG in the run's artifacts folder; its path is the result's screenshot"},
			{Name: "upload", Doc: "selector → file or list of files (relative to the suite's folder) for an <input type=file>"},
			{Name: "set_cookies", Doc: "name → value: cookies for the page's site (open a page first)"},
			{Name: "set_storage", Doc: "key → value: local storage items of the page's origin (open a page first)"},
			{Name: "find", Doc: "a selector whose first match the result describes (count, visible, text, value, …)"},
			{Name: "console_errors", Doc: "fail: the step fails when the page logged a console error or threw an uncaught exception since the test's page opened; log (default): they are only the browser's log lines"},
			{Name: "dialog", Doc: "accept or dismiss (default, as Playwright): how the JavaScript dialogs (alert, confirm, prompt) the page opens during the step are answered, at once (a prompt accepted gets its default text); a beforeunload is always accepted. Each is the result's dialogs, and a failure names those opened during the step"},
			{Name: "bin", Doc: "the browser binary, when this step starts the environment's browser (default: $SEAM_BROWSER, else chromium on PATH)"},
		},
		Fields: []expect.Field{
			{Name: "url", Doc: "the page's URL"},
			{Name: "title", Doc: "the page's title"},
			{Name: "text", Doc: "the visible text of find's first match; without find, of the whole page (spaces collapsed)"},
			{Name: "count", Doc: "how many elements find matches"},
			{Name: "visible", Doc: "whether find's first match is visible"},
			{Name: "value", Doc: "find's first match's value (fields, selects)"},
			{Name: "checked", Doc: "whether find's first match is checked (checkboxes, radio buttons)"},
			{Name: "enabled", Doc: "whether find's first match is enabled"},
			{Name: "attributes", Doc: "find's first match's attributes, name → value"},
			{Name: "texts", Doc: "the texts of all find's matches (up to 100), a list"},
			{Name: "eval", Doc: "the value of the last eval, evaluated again each time the expectations read the page again"},
			{Name: "screenshot", Doc: "the path of the last screenshot"},
			{Name: "cookies", Doc: "the cookies of the page's URL, name → value"},
			{Name: "storage", Doc: "the local storage of the page's origin, key → value"},
			{Name: "console_errors", Doc: "console errors and uncaught exceptions since the test's page opened, a list"},
			{Name: "dialogs", Doc: "the JavaScript dialogs the page opened since the test's page opened, a list of {type (alert, confirm, prompt, beforeunload), message, answer (accepted, dismissed)}"},
		},
		Example: "browser:\n  open: {service: web, path: /}\n  fill: {\"#sku\": A1, \"#qty\": 2}\n  click: role=button[name=\"Place order\"]\n  find: \"#confirmation\"\n" +
			"expect: {text: {contains: confirmed}, visible: true}",
	}
}

// selArg is a selector as written: parsed at load unless a template.
type selArg struct {
	str expr.Str
	sel *Selector
}

func (s selArg) resolve(vars expr.Vars) (Selector, error) {
	if s.sel != nil {
		return *s.sel, nil
	}
	raw, err := s.str.String(vars)
	if err != nil {
		return Selector{}, err
	}
	return ParseSelector(raw)
}

type pair struct {
	sel  selArg
	vals []expr.Str
}

type waitArg struct {
	sel, gone *selArg
	text, url expr.Str
	idle      bool
}

// op is one action of a step.
type op struct {
	name  string
	pos   diag.Pos
	sel   *selArg
	pairs []pair
	str   expr.Str // open's URL, press's key, eval's script, screenshot's name
	svc   expr.Str // open: {service, path}
	path  expr.Str
	wait  waitArg
	named map[string]expr.Str // set_cookies, set_storage
	keys  []string
}

type action struct {
	ops           []op
	find          *selArg
	failOnConsole bool
	acceptDialogs bool
	bin           string
	services      []step.Ref
	pos           diag.Pos
	// last is the page the step used last, for Recheck and Artifacts.
	last *Page
	// lastExtra is what Run's actions added to the result (eval,
	// screenshot), kept for Recheck; lastEval is the last eval's script
	// as run, evaluated again on each recheck: a user waiting for a
	// condition waits for the page to change, and an eval's value with
	// it. A screenshot is not taken again.
	lastExtra map[string]any
	lastEval  string
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{pos: d.Pos(n)}
	before := d.Errs.Len()
	n = decode.Resolve(n)
	switch {
	case n == nil:
		d.Errorf(n, "browser: want a mapping of actions")
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			d.Errorf(n, "browser: an empty list").WithHint("give actions: - open: …")
		}
		for _, item := range n.Content {
			a.decodeMapping(d, item)
		}
	default:
		a.decodeMapping(d, n)
	}
	if d.Errs.Len() > before {
		return nil
	}
	if len(a.ops) == 0 && a.find == nil {
		d.Errorf(n, "browser: no action and nothing to find").WithHint("give an action (%s) or find:", strings.Join(actionNames, ", "))
		return nil
	}
	return a
}

func (a *action) decodeMapping(d *decode.Decoder, n *yaml.Node) {
	for _, f := range d.Fields(n, "browser") {
		what := "browser." + f.Key
		pos := d.Pos(f.KeyN)
		switch f.Key {
		case "find":
			a.find = selector(d, f.Value, what)
		case "console_errors":
			switch v := decode.Resolve(f.Value).Value; v {
			case "fail":
				a.failOnConsole = true
			case "log":
			default:
				d.Errorf(f.Value, "%s: want fail or log, got %q", what, v)
			}
		case "dialog":
			switch v := decode.Resolve(f.Value).Value; v {
			case "accept":
				a.acceptDialogs = true
			case "dismiss":
			default:
				d.Errorf(f.Value, "%s: want accept or dismiss, got %q", what, v)
			}
		case "bin":
			d.Decode(f.Value, &a.bin, what)
		case "open":
			o := op{name: f.Key, pos: pos}
			v := decode.Resolve(f.Value)
			if v.Kind == yaml.MappingNode {
				var m struct {
					Service expr.Str `yaml:"service"`
					Path    expr.Str `yaml:"path"`
					URL     expr.Str `yaml:"url"`
				}
				d.Decode(v, &m, what)
				if m.URL.IsZero() == m.Service.IsZero() {
					d.Errorf(v, "%s: give either url or service (with path)", what).WithHint("open: {service: web, path: /}, or open: http://127.0.0.1:8080/")
				}
				o.str, o.svc, o.path = m.URL, m.Service, m.Path
				a.services = append(a.services, step.Refs(m.Service)...)
			} else {
				d.Decode(v, &o.str, what)
				if !o.str.IsTemplate() && o.str.Raw != "" && !strings.Contains(o.str.Raw, "://") && !strings.HasPrefix(o.str.Raw, "data:") && !strings.HasPrefix(o.str.Raw, "about:") {
					d.Errorf(v, "%s: %q is not a URL", what, o.str.Raw).WithHint("give http://…, or {service: NAME, path: %s}", o.str.Raw)
				}
			}
			a.ops = append(a.ops, o)
		case "click", "check", "uncheck", "hover":
			a.ops = append(a.ops, op{name: f.Key, pos: pos, sel: selector(d, f.Value, what)})
		case "fill", "select", "upload":
			o := op{name: f.Key, pos: pos}
			for _, e := range d.Fields(f.Value, what) {
				p := pair{sel: *selectorKey(d, e.KeyN, what)}
				v := decode.Resolve(e.Value)
				if f.Key == "upload" && v.Kind == yaml.SequenceNode {
					d.Decode(v, &p.vals, what)
					for i, item := range v.Content {
						if i < len(p.vals) {
							checkUpload(d, item, p.vals[i], what)
						}
					}
				} else {
					var s expr.Str
					if v.Kind == yaml.ScalarNode {
						// fill: {"#qty": 2}: a number is typed as its text.
						v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Value, Line: v.Line, Column: v.Column}
					}
					d.Decode(v, &s, what+"."+e.Key)
					p.vals = []expr.Str{s}
					if f.Key == "upload" {
						checkUpload(d, v, s, what)
					}
				}
				o.pairs = append(o.pairs, p)
			}
			a.ops = append(a.ops, o)
		case "press":
			o := op{name: f.Key, pos: pos}
			v := decode.Resolve(f.Value)
			if v.Kind == yaml.MappingNode {
				fs := d.Fields(v, what)
				if len(fs) != 1 {
					d.Errorf(v, "%s: want one selector → key", what)
					continue
				}
				o.sel = selectorKey(d, fs[0].KeyN, what)
				v = decode.Resolve(fs[0].Value)
			}
			d.Decode(v, &o.str, what)
			if !o.str.IsTemplate() && !ValidKey(o.str.Raw) {
				d.Errorf(v, "%s: unknown key %q", what, o.str.Raw).WithHint("a character, or one of %s", strings.Join(sortedKeys(), ", "))
			}
			a.ops = append(a.ops, o)
		case "wait":
			o := op{name: f.Key, pos: pos}
			v := decode.Resolve(f.Value)
			if v.Kind != yaml.MappingNode {
				o.wait.sel = selector(d, v, what)
				a.ops = append(a.ops, o)
				continue
			}
			for _, e := range d.Fields(v, what) {
				switch e.Key {
				case "selector":
					o.wait.sel = selector(d, e.Value, what+".selector")
				case "gone":
					o.wait.gone = selector(d, e.Value, what+".gone")
				case "text":
					d.Decode(e.Value, &o.wait.text, what+".text")
				case "url":
					d.Decode(e.Value, &o.wait.url, what+".url")
				case "network_idle":
					d.Decode(e.Value, &o.wait.idle, what+".network_idle")
				default:
					d.UnknownKey(e.KeyN, what, []string{"selector", "gone", "text", "url", "network_idle"})
				}
			}
			a.ops = append(a.ops, o)
		case "eval", "screenshot":
			o := op{name: f.Key, pos: pos}
			d.Decode(f.Value, &o.str, what)
			if f.Key == "screenshot" && !o.str.IsTemplate() && !safeName.MatchString(o.str.Raw) {
				d.Errorf(f.Value, "%s: %q is not a plain file name", what, o.str.Raw).WithHint("letters, digits, -, _ and .; the file goes to the run's artifacts folder")
			}
			a.ops = append(a.ops, o)
		case "set_cookies", "set_storage":
			o := op{name: f.Key, pos: pos, named: map[string]expr.Str{}}
			for _, e := range d.Fields(f.Value, what) {
				var s expr.Str
				v := decode.Resolve(e.Value)
				if v.Kind == yaml.ScalarNode {
					v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Value, Line: v.Line, Column: v.Column}
				}
				d.Decode(v, &s, what+"."+e.Key)
				o.named[e.Key] = s
				o.keys = append(o.keys, e.Key)
			}
			a.ops = append(a.ops, o)
		default:
			d.UnknownKey(f.KeyN, "browser", append(append([]string(nil), actionNames...), optionNames...))
		}
	}
}

// checkUpload reports an upload's file that is not there, when it is
// written literally (a template is known at run time only).
func checkUpload(d *decode.Decoder, n *yaml.Node, s expr.Str, what string) {
	if s.IsTemplate() || s.Raw == "" || d.Dir == "" {
		return
	}
	path := s.Raw
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.Dir, path)
	}
	if _, err := os.Stat(path); err != nil {
		d.Errorf(n, "%s: no file %s", what, path).WithHint("a file's path, relative to the suite's folder")
	}
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// selector decodes a selector value, checking it unless it is a template.
func selector(d *decode.Decoder, n *yaml.Node, what string) *selArg {
	var s expr.Str
	d.Decode(n, &s, what)
	return checkSel(d, n, s)
}

// selectorKey is a selector written as a mapping's key.
func selectorKey(d *decode.Decoder, k *yaml.Node, what string) *selArg {
	return selector(d, k, what)
}

func checkSel(d *decode.Decoder, n *yaml.Node, s expr.Str) *selArg {
	a := &selArg{str: s}
	if s.IsTemplate() {
		return a
	}
	sel, err := ParseSelector(s.Raw)
	if err != nil {
		d.Errorf(n, "%v", err)
		return a
	}
	a.sel = &sel
	return a
}

// describe is the wait's conditions as the failure report lists them:
// " #sel", " text=…", " gone=#spinner", " url=…", " network_idle".
func (w waitArg) describe() string {
	var s string
	if w.sel != nil {
		s += " " + w.sel.str.Raw
	}
	if w.gone != nil {
		s += " gone=" + w.gone.str.Raw
	}
	if !w.text.IsZero() {
		s += " text=" + w.text.Raw
	}
	if !w.url.IsZero() {
		s += " url=" + w.url.Raw
	}
	if w.idle {
		s += " network_idle"
	}
	return s
}

// describe is the op as the failure report lists it, as written.
func (o op) describe() string { return o.describeWith(nil) }

// describeWith is the op as the failure report lists it, its templates
// filled from vars (as written when vars is nil or one fails): what was
// typed, not ((who)). A value filled into a field whose selector names a
// password, secret or token is masked.
func (o op) describeWith(vars expr.Vars) string {
	show := func(x expr.Str) string {
		if vars == nil || !x.IsTemplate() {
			return x.Raw
		}
		v, err := x.String(vars)
		if err != nil {
			return x.Raw
		}
		return v
	}
	s := o.name
	switch {
	case o.sel != nil:
		s += " " + show(o.sel.str)
	case len(o.pairs) > 0:
		for _, p := range o.pairs {
			sel := show(p.sel.str)
			s += " " + sel
			if len(p.vals) == 1 {
				if o.name == "fill" && secretField.MatchString(sel) {
					s += "=***"
				} else {
					s += "=" + show(p.vals[0])
				}
			}
		}
	case !o.svc.IsZero():
		s += " " + show(o.svc) + " " + show(o.path)
	case o.name == "wait":
		s += o.wait.describe()
	case !o.str.IsZero():
		s += " " + show(o.str)
	}
	if o.name == "press" && o.sel != nil {
		s += " " + show(o.str)
	}
	return s
}

// secretField matches a selector of a field whose value a report masks.
var secretField = regexp.MustCompile(`(?i)passw|pwd|secret|token`)

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return a.services }

// ComponentEdges implements step.Component: the services the browser
// opens are its edges.
func (a *action) ComponentEdges() []step.EdgeRef {
	var out []step.EdgeRef
	for _, r := range a.services {
		out = append(out, step.EdgeRef{From: Component, To: r.Name, Pos: r.Pos})
	}
	if len(out) == 0 {
		// No service named here, but the browser is still a caller that
		// interactions: steps may name.
		out = append(out, step.EdgeRef{From: Component, Pos: a.pos})
	}
	return out
}

// page returns the environment's browser's page for this test.
func (a *action) page(ctx context.Context, env *step.Env) (*Page, error) {
	host, ok := env.Services.(step.Host)
	if !ok {
		return nil, fmt.Errorf("browser: this run has no environment to keep a browser in (declare the suite's services:)")
	}
	// Starting the browser and opening the test's context are seam's
	// set-up, not the step's work: Prepare does them before the step's
	// time starts; here they are bounded by a minute of their own.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := host.Keep(Component, func(h step.HostEnv) (io.Closer, error) {
		return Start(sctx, Options{Bin: a.bin, Host: h})
	})
	if err != nil {
		return nil, err
	}
	return c.(*Browser).PageFor(sctx, env.Start)
}

// Prepare implements step.Preparer: the browser started and the test's
// page opened before the step's timeout starts.
func (a *action) Prepare(ctx context.Context, env *step.Env) error {
	p, err := a.page(ctx, env)
	if err != nil {
		return err
	}
	// ctx is the test's: when it ends (its timeout, an interrupt), the
	// page's requests in flight are recorded as the test's, and a wait it
	// ends says so (not "the step's timeout").
	p.watchTest(ctx)
	p.setTestContext(ctx)
	return nil
}

// Run implements step.Action.
func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	p, err := a.page(ctx, env)
	if err != nil {
		return nil, err
	}
	a.last, a.lastEval = p, ""
	var done []string
	extra := map[string]any{}
	a.lastExtra = extra
	stepStart := time.Now()
	// The step's dialog: setting holds while its actions run; a dialog
	// the page opens later, on its own, is dismissed.
	p.setAcceptDialogs(a.acceptDialogs)
	defer p.setAcceptDialogs(false)
	for _, o := range a.ops {
		if err := a.do(ctx, env, p, o, extra); err != nil {
			if note := p.dialogNote(stepStart); note != "" {
				err = &dialogError{err: err, note: note}
			}
			return &step.Result{Request: strings.Join(done, "\n")}, err
		}
		done = append(done, o.describeWith(env.Vars))
	}
	res, err := a.read(ctx, p, extra)
	if res != nil {
		res.Request = strings.Join(done, "\n")
	}
	// The requests that ended are recorded (their bodies read) before the
	// step does: an interactions: step after it sees them.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	p.settle(sctx)
	cancel()
	if err != nil {
		return res, err
	}
	if a.failOnConsole {
		if errs := p.ConsoleErrors(time.Time{}); len(errs) > 0 {
			// The first line is the failure's summary: it names the
			// first error, and does not end in a colon.
			msg := fmt.Sprintf("the page logged %d console error(s) (console_errors: fail): %s", len(errs), errs[0])
			if len(errs) > 1 {
				msg += "\n  " + strings.Join(errs[1:], "\n  ")
			}
			return res, &step.Failed{Msg: msg}
		}
	}
	return res, nil
}

// Recheck implements step.Rechecker: the page read again, the actions not
// repeated, while expectations wait to hold.
func (a *action) Recheck(ctx context.Context, env *step.Env) (*step.Result, error) {
	if a.last == nil {
		return a.Run(ctx, env)
	}
	extra := make(map[string]any, len(a.lastExtra))
	for k, v := range a.lastExtra {
		extra[k] = v
	}
	if a.lastEval != "" {
		v, err := a.last.Eval(ctx, a.lastEval)
		if err != nil {
			return nil, err
		}
		extra["eval"] = v
	}
	return a.read(ctx, a.last, extra)
}

func (a *action) read(ctx context.Context, p *Page, extra map[string]any) (*step.Result, error) {
	url, title, text, err := p.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the page: %w", err)
	}
	f := map[string]any{"url": url, "title": title, "text": text}
	if a.find != nil {
		sel, err := a.find.resolve(nil)
		if err != nil {
			return nil, fmt.Errorf("find: %w", err)
		}
		st, err := p.State(ctx, sel)
		if err != nil {
			return nil, err
		}
		f["text"] = nil
		for k, v := range st {
			f[k] = v
		}
	}
	if cookies, err := p.Cookies(ctx); err == nil {
		f["cookies"] = cookies
	}
	if st, err := p.Storage(ctx); err == nil {
		f["storage"] = st
	}
	errs := []any{}
	for _, e := range p.ConsoleErrors(time.Time{}) {
		errs = append(errs, e)
	}
	f["console_errors"] = errs
	dialogs := []any{}
	for _, d := range p.Dialogs(time.Time{}) {
		dialogs = append(dialogs, map[string]any{"type": d.Type, "message": d.Message, "answer": d.Answer})
	}
	f["dialogs"] = dialogs
	for k, v := range extra {
		f[k] = v
	}
	return &step.Result{Fields: f, Response: fmt.Sprintf("page %s (title %q)", url, title)}, nil
}

func (a *action) do(ctx context.Context, env *step.Env, p *Page, o op, extra map[string]any) error {
	str := func(s expr.Str) (string, error) {
		v, err := s.String(env.Vars)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", o.pos, o.name, err)
		}
		return v, nil
	}
	sel := func(s *selArg) (Selector, error) {
		v, err := s.resolve(env.Vars)
		if err != nil {
			return v, fmt.Errorf("%s: %s: %w", o.pos, o.name, err)
		}
		return v, nil
	}
	switch o.name {
	case "open":
		var target string
		if !o.svc.IsZero() {
			u, err := step.Address(env, o.svc, expr.Str{}, "http", "web")
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			path, err := str(o.path)
			if err != nil {
				return err
			}
			if path != "" && !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
			target = strings.TrimSuffix(u, "/") + path
		} else {
			u, err := str(o.str)
			if err != nil {
				return err
			}
			target = u
		}
		return p.Open(ctx, target)
	case "click", "hover", "check", "uncheck":
		s, err := sel(o.sel)
		if err != nil {
			return err
		}
		switch o.name {
		case "click":
			return p.Click(ctx, s)
		case "hover":
			return p.Hover(ctx, s)
		default:
			return p.Check(ctx, s, o.name == "check")
		}
	case "fill", "select", "upload":
		for _, pr := range o.pairs {
			s, err := sel(&pr.sel)
			if err != nil {
				return err
			}
			var vals []string
			for _, v := range pr.vals {
				x, err := str(v)
				if err != nil {
					return err
				}
				vals = append(vals, x)
			}
			switch o.name {
			case "fill":
				err = p.Fill(ctx, s, vals[0])
			case "select":
				err = p.Select(ctx, s, vals[0])
			default:
				for i, v := range vals {
					if !filepath.IsAbs(v) {
						vals[i] = filepath.Join(env.Dir, v)
					}
					if _, err := os.Stat(vals[i]); err != nil {
						return fmt.Errorf("upload: %v", err)
					}
				}
				err = p.Upload(ctx, s, vals)
			}
			if err != nil {
				return err
			}
		}
	case "press":
		key, err := str(o.str)
		if err != nil {
			return err
		}
		var sp *Selector
		if o.sel != nil {
			s, err := sel(o.sel)
			if err != nil {
				return err
			}
			sp = &s
		}
		return p.Press(ctx, sp, key)
	case "wait":
		var w Wait
		var err error
		if o.wait.sel != nil {
			s, err := sel(o.wait.sel)
			if err != nil {
				return err
			}
			w.Selector = &s
		}
		if o.wait.gone != nil {
			s, err := sel(o.wait.gone)
			if err != nil {
				return err
			}
			w.Gone = &s
		}
		if w.Text, err = str(o.wait.text); err != nil {
			return err
		}
		if w.URL, err = str(o.wait.url); err != nil {
			return err
		}
		w.NetworkIdle = o.wait.idle
		return p.WaitFor(ctx, w)
	case "eval":
		js, err := str(o.str)
		if err != nil {
			return err
		}
		v, err := p.Eval(ctx, js)
		if err != nil {
			return err
		}
		extra["eval"] = v
		a.lastEval = js
	case "screenshot":
		name, err := str(o.str)
		if err != nil {
			return err
		}
		if !safeName.MatchString(name) {
			return fmt.Errorf("screenshot: %q is not a plain file name", name)
		}
		png, err := p.Screenshot(ctx)
		if err != nil {
			return err
		}
		path, err := save(p.b.host.ArtifactDir, env, strings.TrimSuffix(name, ".png")+".png", png)
		if err != nil {
			return err
		}
		extra["screenshot"] = path
	case "set_cookies", "set_storage":
		keys := append([]string(nil), o.keys...)
		sort.Strings(keys)
		for _, k := range keys {
			v, err := str(o.named[k])
			if err != nil {
				return err
			}
			if o.name == "set_cookies" {
				err = p.SetCookie(ctx, k, v)
			} else {
				err = p.SetStorage(ctx, k, v)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// save writes an artifact under dir, named for the test, and returns its path.
func save(dir string, env *step.Env, name string, data []byte) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	// Under the run's logs, the user's alone: a page may show what a
	// test's user saw.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	test := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(env.Test), "-"), "-")
	if len(test) > 60 {
		test = test[:60]
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d-%s", test, time.Now().UnixMilli()%1000000, name))
	return path, os.WriteFile(path, data, 0o600)
}

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Artifacts implements step.Artifacter: what the page showed when the
// step failed, a screenshot and its HTML, saved for the reports.
func (a *action) Artifacts(ctx context.Context, env *step.Env) []step.Artifact {
	p := a.last
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	// The requests the page still waits for are evidence of why: on the
	// timeline now, pending, for the failure's suspects.
	p.settle(ctx)
	p.pending("the step failed", time.Now())
	var out []step.Artifact
	if png, err := p.Screenshot(ctx); err == nil {
		if path, err := save(p.b.host.ArtifactDir, env, "failure.png", png); err == nil {
			out = append(out, step.Artifact{Name: "screenshot", Path: path})
		}
	}
	if html, err := p.HTML(ctx); err == nil {
		if path, err := save(p.b.host.ArtifactDir, env, "failure.html", []byte(html)); err == nil {
			out = append(out, step.Artifact{Name: "page HTML", Path: path})
		}
	}
	return out
}
