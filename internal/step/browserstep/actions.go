package browserstep

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed page.js
var helperJS string

// helper is the expression that yields the page helper, defining it in a
// page that does not have it yet (a new document after a navigation).
var helper = "(globalThis.__seam||(globalThis.__seam=" + strings.TrimSpace(stripComments(helperJS)) + "))"

func stripComments(js string) string {
	var b strings.Builder
	for _, l := range strings.Split(js, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "//") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// eval evaluates expr in the page and decodes its JSON value into out.
func (p *Page) eval(ctx context.Context, expr string, out any) error {
	res, err := call(ctx, p, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ReturnByValue: new(true), AwaitPromise: new(true), UserGesture: new(true)})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		msg := res.ExceptionDetails.Text
		if res.ExceptionDetails.Exception != nil && res.ExceptionDetails.Exception.Description != "" {
			msg = strings.SplitN(res.ExceptionDetails.Exception.Description, "\n", 2)[0]
		}
		return &jsError{msg}
	}
	if out == nil || res.Result == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// jsError is an exception the page's JavaScript threw.
type jsError struct{ msg string }

func (e *jsError) Error() string { return e.msg }

// callHelper calls the page helper's fn with args (JSON-encoded).
func (p *Page) callHelper(ctx context.Context, out any, fn string, args ...any) error {
	parts := make([]string, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		parts[i] = string(b)
	}
	return p.eval(ctx, helper+"."+fn+"("+strings.Join(parts, ",")+")", out)
}

// transient says whether an evaluation failed because the page was
// between documents: the next try sees the new one.
func transient(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "context was destroyed") || strings.Contains(s, "Cannot find context") ||
		strings.Contains(s, "Inspected target navigated") || strings.Contains(s, "No frame") || strings.Contains(s, "uniqueContextId not found")
}

// poll calls try until it is done, backing off from 10 ms to 100 ms,
// until ctx ends. try returns done, a reason to go on waiting (for the
// error at the end), or a final error.
func poll(ctx context.Context, try func() (bool, string, error)) (string, error) {
	wait := 10 * time.Millisecond
	last := ""
	for {
		done, why, err := try()
		switch {
		case err != nil && ctx.Err() != nil:
			// ctx ended during the try: what was seen before is why.
			return last, ctx.Err()
		case err != nil && !transient(err):
			return why, err
		case done:
			return "", nil
		}
		if why != "" {
			last = why
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// point is where an element can be acted on.
type point struct {
	X, Y  float64
	Count int
	Wait  string
	Fail  string
}

type need struct {
	Enabled  bool `json:"enabled"`
	Editable bool `json:"editable"`
}

// ready waits until sel's first match can be acted on.
func (p *Page) ready(ctx context.Context, what string, sel Selector, n need) (point, error) {
	var pt point
	last, err := poll(ctx, func() (bool, string, error) {
		pt = point{}
		if err := p.callHelper(ctx, &pt, "ready", sel, n); err != nil {
			return false, "", err
		}
		if pt.Fail != "" {
			return false, "", fmt.Errorf("%s %s: %s", what, sel, pt.Fail)
		}
		return pt.Wait == "", pt.Wait, nil
	})
	if err != nil {
		return pt, p.notFound(ctx, what, sel, last, err)
	}
	return pt, nil
}

// pointer acts on sel's first match with the mouse, as Playwright does:
// it waits until the element can be acted on (n), is stable (its box the
// same across two animation frames) and in view; takes its centre; checks
// right before the mouse goes that the element (or what is inside it) is
// what is there; and sends the mouse's events (act) guarded, so that one
// the page would give another element (the layout moved in between) is
// stopped. Any of these not so, it tries again until ctx ends.
func (p *Page) pointer(ctx context.Context, what string, sel Selector, n need, guard bool, act func(point) error) error {
	last, err := poll(ctx, func() (bool, string, error) {
		var st point
		if err := p.callHelper(ctx, &st, "ready", sel, n); err != nil {
			return false, "", err
		}
		switch {
		case st.Fail != "":
			return false, "", fmt.Errorf("%s %s: %s", what, sel, st.Fail)
		case st.Wait != "":
			return false, st.Wait, nil
		}
		var pt point
		if err := p.callHelper(ctx, &pt, "stable", sel); err != nil {
			return false, "", err
		}
		if pt.Wait != "" {
			return false, pt.Wait, nil
		}
		var aim point
		if err := p.callHelper(ctx, &aim, "aim", sel, pt.X, pt.Y, guard); err != nil {
			return false, "", err
		}
		if aim.Wait != "" {
			return false, aim.Wait, nil
		}
		if err := act(pt); err != nil {
			return false, "", fmt.Errorf("%s %s: %w", what, sel, err)
		}
		if !guard {
			return true, "", nil
		}
		var g struct{ Blocked string }
		if err := p.callHelper(ctx, &g, "disarm"); err != nil {
			// The click navigated (a new document has no guard): it
			// went where it should.
			return transient(err), "", nilIfTransient(err)
		}
		if g.Blocked != "" {
			return false, "would land on " + g.Blocked + " (it covers the point)", nil
		}
		return true, "", nil
	})
	if err != nil {
		return p.notFound(ctx, what, sel, last, err)
	}
	return nil
}

func nilIfTransient(err error) error {
	if transient(err) {
		return nil
	}
	return err
}

// notFound says what the page showed instead of sel, when waiting ended:
// at which timeout (the step's or the test's), or that the run was
// interrupted.
func (p *Page) notFound(ctx context.Context, what string, sel Selector, last string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	subject := what + " " + sel.String() + ": "
	if strings.HasPrefix(last, "would land on ") {
		subject = what + " on " + sel.String() + " " // click on #save would land on …
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// An interrupt: what the page showed last (maybe before the
		// element came) is not why it ended.
		return &WaitError{Msg: what + " " + sel.String() + ": interrupted (the run was stopped) while waiting for the element", Err: err}
	}
	if last == "" {
		last = "no element matches"
	}
	// The step's time is up: look once more with a little time of our own.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var pg struct{ URL, Title string }
	_ = p.callHelper(lctx, &pg, "page")
	msg := fmt.Sprintf("%s%s (waited until %s); the page %s (title %q)", subject, last, p.timeoutName(), pg.URL, pg.Title)
	if last == "no element matches" {
		var near []string
		_ = p.callHelper(lctx, &near, "near", sel)
		if len(near) == 0 {
			msg += " shows nothing like it"
		} else {
			msg += " shows, closest first: " + strings.Join(near, "; ")
		}
	}
	return &WaitError{Msg: msg, Err: err}
}

// waitEnded is the error of a wait (what) that ended with err, last what
// it saw: which timeout ended it, or the interrupt.
func (p *Page) waitEnded(ctx context.Context, what, last string, err error) error {
	switch {
	case ctx.Err() == nil:
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(ctx.Err(), context.Canceled):
		return &WaitError{Msg: what + ": interrupted (the run was stopped)", Err: err}
	case last == "":
		return &WaitError{Msg: fmt.Sprintf("%s: waited until %s", what, p.timeoutName()), Err: err}
	}
	return &WaitError{Msg: fmt.Sprintf("%s: %s (waited until %s)", what, last, p.timeoutName()), Err: err}
}

// setTestContext keeps the test's context (Prepare's), to tell its end
// from the step's.
func (p *Page) setTestContext(ctx context.Context) {
	p.mu.Lock()
	p.testErr = ctx.Err
	p.mu.Unlock()
}

// timeoutName is the timeout that ended a wait: the test's when its
// context is done too, else the step's.
func (p *Page) timeoutName() string {
	p.mu.Lock()
	testErr := p.testErr
	p.mu.Unlock()
	if testErr != nil && testErr() != nil {
		return "the test's timeout"
	}
	return "the step's timeout"
}

// WaitError is an element or state that did not come before the timeout.
type WaitError struct {
	Msg string
	Err error
}

func (e *WaitError) Error() string { return e.Msg }
func (e *WaitError) Unwrap() error { return e.Err }

// Open loads url and waits for its load event.
func (p *Page) Open(ctx context.Context, url string) error {
	_, err := run(ctx, p, chromedp.Navigate(url))
	if err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

func (p *Page) mouse(ctx context.Context, typ input.DispatchMouseEventType, pt point, clicks int64) error {
	prm := input.DispatchMouseEventParams{Type: typ, X: pt.X, Y: pt.Y}
	if typ != input.DispatchMouseEventTypeMouseMoved {
		prm.Button, prm.ClickCount, prm.Buttons = input.MouseButtonLeft, clicks, 1
	}
	_, err := call(ctx, p, input.DispatchMouseEvent, prm)
	return err
}

// Click waits until sel's first match is visible, enabled, stable and on
// top, then clicks its centre with the mouse (pointer).
func (p *Page) Click(ctx context.Context, sel Selector) error {
	return p.pointer(ctx, "click", sel, need{Enabled: true}, true, func(pt point) error {
		for _, t := range []input.DispatchMouseEventType{input.DispatchMouseEventTypeMouseMoved, input.DispatchMouseEventTypeMousePressed, input.DispatchMouseEventTypeMouseReleased} {
			if err := p.mouse(ctx, t, pt, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// Hover moves the mouse over sel's first match, once it is visible,
// stable and on top (pointer).
func (p *Page) Hover(ctx context.Context, sel Selector) error {
	return p.pointer(ctx, "hover", sel, need{}, false, func(pt point) error {
		return p.mouse(ctx, input.DispatchMouseEventTypeMouseMoved, pt, 0)
	})
}

// Fill sets the value of a text field (input, textarea, contenteditable)
// as typing would, with input and change events.
func (p *Page) Fill(ctx context.Context, sel Selector, value string) error {
	if _, err := p.ready(ctx, "fill", sel, need{Enabled: true, Editable: true}); err != nil {
		return err
	}
	var r point
	if err := p.callHelper(ctx, &r, "fill", sel, value); err != nil {
		return fmt.Errorf("fill %s: %w", sel, err)
	}
	return nil
}

// Select chooses the option of a <select> whose value or label is value.
func (p *Page) Select(ctx context.Context, sel Selector, value string) error {
	if _, err := p.ready(ctx, "select", sel, need{Enabled: true}); err != nil {
		return err
	}
	var r point
	if err := p.callHelper(ctx, &r, "select", sel, value); err != nil {
		return fmt.Errorf("select %s: %w", sel, err)
	}
	if r.Fail != "" {
		return fmt.Errorf("select %s: %s", sel, r.Fail)
	}
	return nil
}

// Check sets a checkbox or radio button to on by clicking it when it is
// not already.
func (p *Page) Check(ctx context.Context, sel Selector, on bool) error {
	st, err := p.State(ctx, sel)
	if err != nil {
		return err
	}
	if c, ok := st["checked"].(bool); ok && c == on {
		return nil
	}
	if err := p.Click(ctx, sel); err != nil {
		return err
	}
	st, err = p.State(ctx, sel)
	if err != nil {
		return err
	}
	if c, ok := st["checked"].(bool); !ok || c != on {
		return fmt.Errorf("check %s: still %v after a click (is it a checkbox or a radio button?)", sel, st["checked"])
	}
	return nil
}

// keys are the named keys press knows, beside single characters.
var keys = map[string]struct {
	code string
	vk   int64
	text string
}{
	"Enter": {"Enter", 13, "\r"}, "Tab": {"Tab", 9, ""}, "Escape": {"Escape", 27, ""}, "Backspace": {"Backspace", 8, ""},
	"Delete": {"Delete", 46, ""}, "Space": {"Space", 32, " "}, "ArrowUp": {"ArrowUp", 38, ""}, "ArrowDown": {"ArrowDown", 40, ""},
	"ArrowLeft": {"ArrowLeft", 37, ""}, "ArrowRight": {"ArrowRight", 39, ""}, "Home": {"Home", 36, ""}, "End": {"End", 35, ""},
	"PageUp": {"PageUp", 33, ""}, "PageDown": {"PageDown", 34, ""},
}

// KeyNames lists the named keys Press knows.
func KeyNames() []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	return out
}

// ValidKey says whether Press knows key: a named key or one character.
func ValidKey(key string) bool {
	_, ok := keys[key]
	return ok || len([]rune(key)) == 1
}

// Press presses a key, in sel's first match (focused first) or wherever
// the focus is when sel is nil.
func (p *Page) Press(ctx context.Context, sel *Selector, key string) error {
	if sel != nil {
		if _, err := p.ready(ctx, "press", *sel, need{}); err != nil {
			return err
		}
		if err := p.callHelper(ctx, nil, "element", *sel); err != nil {
			return err
		}
		if err := p.eval(ctx, helper+".element("+mustJSON(*sel)+").focus()", nil); err != nil {
			return fmt.Errorf("press %s: %w", sel, err)
		}
	}
	k, ok := keys[key]
	if !ok {
		if len([]rune(key)) != 1 {
			return fmt.Errorf("press: unknown key %q (a character, or one of %s)", key, strings.Join(sortedKeys(), ", "))
		}
		k.text, k.code = key, ""
	}
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk, Text: k.text}
	if k.text == "" {
		down.Type = input.DispatchKeyEventTypeRawKeyDown
	}
	up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk}
	for _, e := range []input.DispatchKeyEventParams{down, up} {
		if _, err := call(ctx, p, input.DispatchKeyEvent, e); err != nil {
			return fmt.Errorf("press %s: %w", key, err)
		}
	}
	return nil
}

func sortedKeys() []string {
	out := KeyNames()
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Wait is what a wait action waits for; one or more of them.
type Wait struct {
	Selector    *Selector // visible
	Gone        *Selector // absent or hidden
	Text        string    // shown somewhere on the page
	URL         string    // the page's URL contains it; with a *, matches it whole as a glob (URLMatches)
	NetworkIdle bool      // no request in flight for 500 ms
}

// WaitFor waits until every condition of w holds.
func (p *Page) WaitFor(ctx context.Context, w Wait) error {
	if w.Selector != nil {
		if _, err := p.ready(ctx, "wait for", *w.Selector, need{}); err != nil {
			return err
		}
	}
	if w.Gone != nil {
		last, err := poll(ctx, func() (bool, string, error) {
			st, err := p.State(ctx, *w.Gone)
			if err != nil {
				return false, "", err
			}
			vis, _ := st["visible"].(bool)
			return !vis, fmt.Sprintf("still shown: %v", st["text"]), nil
		})
		if err != nil {
			return p.waitEnded(ctx, fmt.Sprintf("wait for %s to go", w.Gone), last, err)
		}
	}
	if w.Text != "" {
		sel := Selector{Kind: "text", Value: w.Text, Raw: "text=" + w.Text}
		if _, err := p.ready(ctx, "wait for", sel, need{}); err != nil {
			return err
		}
	}
	if w.URL != "" {
		last, err := poll(ctx, func() (bool, string, error) {
			var pg struct{ URL string }
			if err := p.callHelper(ctx, &pg, "page"); err != nil {
				return false, "", err
			}
			if URLMatches(w.URL, pg.URL) {
				return true, "", nil
			}
			how := "does not contain it"
			if strings.Contains(w.URL, "*") {
				how = "does not match it"
			}
			return false, "the page's URL " + pg.URL + " " + how, nil
		})
		if err != nil {
			return p.waitEnded(ctx, "wait for the URL "+w.URL, last, err)
		}
	}
	if w.NetworkIdle {
		last, err := poll(ctx, func() (bool, string, error) {
			p.mu.Lock()
			n, since := len(p.inflight), time.Since(p.lastNet)
			p.mu.Unlock()
			if n == 0 {
				return since >= 500*time.Millisecond, "", nil
			}
			n, first := p.InFlight(3)
			why := fmt.Sprintf("%d request(s) in flight: %s", n, strings.Join(first, ", "))
			if n > len(first) {
				why += fmt.Sprintf(" and %d more", n-len(first))
			}
			return false, why, nil
		})
		if err != nil {
			return p.waitEnded(ctx, "wait for the network to be idle", last, err)
		}
	}
	return nil
}

// URLMatches says whether url is what a wait for the URL pattern waits
// for: with no *, url contains pattern; with one or more, pattern matches
// url whole, each * (or **) standing for any characters, / included
// (*/about and **/about match http://127.0.0.1:8080/about). Nothing else is
// special: ? and [ are a URL's own.
func URLMatches(pattern, url string) bool {
	if !strings.Contains(pattern, "*") {
		return strings.Contains(url, pattern)
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(url, parts[0]) {
		return false
	}
	rest := url[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// Eval runs JavaScript in the page (awaiting a promise) and returns its
// value as JSON decodes it: nil, bool, float64, string, []any, map[string]any.
func (p *Page) Eval(ctx context.Context, js string) (any, error) {
	var v any
	if err := p.eval(ctx, js, &v); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return v, nil
}

// Screenshot captures the viewport as PNG.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	res, err := call(ctx, p, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return res.Data, nil
}

// HTML returns the page's HTML as it is now.
func (p *Page) HTML(ctx context.Context) (string, error) {
	var s string
	err := p.eval(ctx, "document.documentElement ? document.documentElement.outerHTML : ''", &s)
	return s, err
}

// Upload gives a file input the files (absolute paths).
func (p *Page) Upload(ctx context.Context, sel Selector, files []string) error {
	if _, err := p.ready(ctx, "upload to", sel, need{}); err != nil {
		return err
	}
	res, err := call(ctx, p, runtime.Evaluate, runtime.EvaluateParams{Expression: helper + ".element(" + mustJSON(sel) + ")"})
	if err != nil {
		return fmt.Errorf("upload to %s: %w", sel, err)
	}
	if res.Result == nil || res.Result.ObjectID == "" {
		return fmt.Errorf("upload to %s: the element went away", sel)
	}
	if _, err := call(ctx, p, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: files, ObjectID: res.Result.ObjectID}); err != nil {
		return fmt.Errorf("upload to %s: %w (is it an <input type=file>?)", sel, err)
	}
	return p.eval(ctx, helper+".element("+mustJSON(sel)+").dispatchEvent(new Event('change',{bubbles:true}))", nil)
}

// SetCookie sets a cookie for the page's current URL (open a page first).
func (p *Page) SetCookie(ctx context.Context, name, value string) error {
	var pg struct{ URL string }
	if err := p.callHelper(ctx, &pg, "page"); err != nil {
		return err
	}
	if !strings.HasPrefix(pg.URL, "http") {
		return fmt.Errorf("cookie %s: open a page first: cookies belong to its site", name)
	}
	if _, err := call(ctx, p, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: pg.URL}); err != nil {
		return fmt.Errorf("cookie %s: %w", name, err)
	}
	return nil
}

// Cookies returns the cookies of the page's URL, name → value.
func (p *Page) Cookies(ctx context.Context) (map[string]any, error) {
	res, err := call(ctx, p, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		return nil, fmt.Errorf("cookies: %w", err)
	}
	out := map[string]any{}
	for _, c := range res.Cookies {
		out[c.Name] = c.Value
	}
	return out, nil
}

// SetStorage sets a local storage item of the page's origin.
func (p *Page) SetStorage(ctx context.Context, key, value string) error {
	var pg struct{ URL string }
	if err := p.callHelper(ctx, &pg, "page"); err != nil {
		return err
	}
	if !strings.HasPrefix(pg.URL, "http") {
		return fmt.Errorf("storage %s: open a page first: local storage belongs to its origin", key)
	}
	if err := p.eval(ctx, "localStorage.setItem("+mustJSON(key)+","+mustJSON(value)+")", nil); err != nil {
		return fmt.Errorf("storage %s: %w", key, err)
	}
	return nil
}

// Storage returns the local storage of the page's origin.
func (p *Page) Storage(ctx context.Context) (map[string]any, error) {
	out := map[string]any{}
	err := p.callHelper(ctx, &out, "storage")
	return out, err
}

// State describes sel's matches: count, visible, and of the first text,
// value, checked, enabled, attributes; texts of all (up to 100).
func (p *Page) State(ctx context.Context, sel Selector) (map[string]any, error) {
	var out map[string]any
	_, err := poll(ctx, func() (bool, string, error) {
		out = nil
		err := p.callHelper(ctx, &out, "state", sel)
		return err == nil, "", err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", sel, err)
	}
	return out, nil
}

// Info is the page's URL, title and text.
func (p *Page) Info(ctx context.Context) (url, title, text string, err error) {
	var pg struct{ URL, Title, Text string }
	_, err = poll(ctx, func() (bool, string, error) {
		err := p.callHelper(ctx, &pg, "page")
		return err == nil, "", err
	})
	return pg.URL, pg.Title, pg.Text, err
}
