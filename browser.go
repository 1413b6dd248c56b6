package seam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/step/browserstep"
)

// Page is a tab of the environment's browser (a real headless Chromium,
// the one suites' browser steps drive) in an incognito context of its own:
// cookies and storage never pass between tests. Its actions take the
// selectors of browser steps — CSS (#sku), text=Place order,
// role=button[name="Place order"] — and wait, up to Timeout, until their
// element is there, visible, enabled and not covered. A failure fails the
// test (t.Fatal) with what the page showed instead. The page's requests to
// the environment's services are interactions on browser→SERVICE edges
// (Env.Interactions), its console errors the browser's log lines.
type Page struct {
	e *Env
	t testing.TB
	p *browserstep.Page
	// Timeout bounds each action and wait; default 10s.
	Timeout time.Duration
	// ExpectTimeout bounds ExpectText, as expect_timeout does a browser
	// step's expectations; default 5s (Playwright's expect's).
	ExpectTimeout time.Duration
}

// Browser opens a page for the test e is bound to (Start, Attach), in the
// environment's browser, started on first use (Debian's chromium, or the
// one $SEAM_BROWSER names) and stopped with the environment. The page
// closes when the test ends.
func (e *Env) Browser() *Page {
	if e.t != nil {
		e.t.Helper()
	}
	if e.stopped() {
		return nil
	}
	if e.t == nil {
		e.fail("Browser needs a test: call it on the Env that Start or Attach returned")
		return nil
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), 60*time.Second)
	defer cancel()
	c, err := e.env.Keep(browserstep.Component, func(h step.HostEnv) (io.Closer, error) {
		return browserstep.Start(ctx, browserstep.Options{Host: h})
	})
	if err != nil {
		e.fail("starting the browser: %v", err)
		return nil
	}
	p, err := c.(*browserstep.Browser).NewPage(ctx)
	if err != nil {
		e.fail("%v", err)
		return nil
	}
	e.t.Cleanup(p.Close)
	if e.pages == nil {
		e.pages = &pageList{}
	}
	e.pages.mu.Lock()
	e.pages.ps = append(e.pages.ps, p)
	e.pages.mu.Unlock()
	return &Page{e: e, t: e.t, p: p, Timeout: 10 * time.Second, ExpectTimeout: 5 * time.Second}
}

// do runs f with the page's timeout and fails the test on an error.
func (pg *Page) do(what string, f func(context.Context) error) bool {
	if pg == nil || pg.p == nil {
		return false // Browser failed the test already
	}
	pg.t.Helper()
	return pg.within(pg.Timeout, what, f)
}

// within is do with the time limit given.
func (pg *Page) within(limit time.Duration, what string, f func(context.Context) error) bool {
	if pg == nil || pg.p == nil {
		return false // Browser failed the test already
	}
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(pg.t.Context(), limit)
	defer cancel()
	if err := f(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			pg.t.Fatalf("seam: browser: %s: %v (timeout %s)", what, err, limit)
		}
		pg.t.Fatalf("seam: browser: %s: %v", what, err)
		return false
	}
	return true
}

func (pg *Page) sel(s string) browserstep.Selector {
	pg.t.Helper()
	sel, err := browserstep.ParseSelector(s)
	if err != nil {
		pg.t.Fatalf("seam: browser: %v", err)
	}
	return sel
}

// Open loads path of a service (its own address) and waits for the load.
func (pg *Page) Open(service, path string) {
	pg.t.Helper()
	base := pg.e.URL(service)
	if base == "" {
		return
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	pg.OpenURL(strings.TrimSuffix(base, "/") + path)
}

// OpenURL loads a URL and waits for the load.
func (pg *Page) OpenURL(url string) {
	pg.t.Helper()
	pg.do("open", func(ctx context.Context) error { return pg.p.Open(ctx, url) })
}

// Click clicks the first match of sel with the mouse.
func (pg *Page) Click(sel string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("click", func(ctx context.Context) error { return pg.p.Click(ctx, s) })
}

// Hover moves the mouse over the first match of sel.
func (pg *Page) Hover(sel string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("hover", func(ctx context.Context) error { return pg.p.Hover(ctx, s) })
}

// Fill sets a text field's value as typing would.
func (pg *Page) Fill(sel, value string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("fill", func(ctx context.Context) error { return pg.p.Fill(ctx, s, value) })
}

// Select chooses a <select>'s option by value or label.
func (pg *Page) Select(sel, option string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("select", func(ctx context.Context) error { return pg.p.Select(ctx, s, option) })
}

// Check ticks a checkbox or radio button; Uncheck clears a checkbox.
func (pg *Page) Check(sel string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("check", func(ctx context.Context) error { return pg.p.Check(ctx, s, true) })
}

// Uncheck clears a checkbox.
func (pg *Page) Uncheck(sel string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("uncheck", func(ctx context.Context) error { return pg.p.Check(ctx, s, false) })
}

// Press presses a key (Enter, Tab, Escape, …, or one character) in the
// first match of sel, or where the focus is when sel is "".
func (pg *Page) Press(sel, key string) {
	pg.t.Helper()
	var sp *browserstep.Selector
	if sel != "" {
		s := pg.sel(sel)
		sp = &s
	}
	pg.do("press", func(ctx context.Context) error { return pg.p.Press(ctx, sp, key) })
}

// Upload gives a file input files (absolute paths).
func (pg *Page) Upload(sel string, files ...string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("upload", func(ctx context.Context) error { return pg.p.Upload(ctx, s, files) })
}

// WaitFor waits until sel's first match is visible.
func (pg *Page) WaitFor(sel string) {
	pg.t.Helper()
	s := pg.sel(sel)
	pg.do("wait", func(ctx context.Context) error { return pg.p.WaitFor(ctx, browserstep.Wait{Selector: &s}) })
}

// WaitForURL waits until the page's URL contains part (or matches it as a
// glob with *).
func (pg *Page) WaitForURL(part string) {
	pg.t.Helper()
	pg.do("wait", func(ctx context.Context) error { return pg.p.WaitFor(ctx, browserstep.Wait{URL: part}) })
}

// WaitForNetworkIdle waits until no request was in flight for 500 ms.
func (pg *Page) WaitForNetworkIdle() {
	pg.t.Helper()
	pg.do("wait", func(ctx context.Context) error { return pg.p.WaitFor(ctx, browserstep.Wait{NetworkIdle: true}) })
}

// Eval runs JavaScript in the page (awaiting a promise) and returns its
// value as JSON decodes it.
func (pg *Page) Eval(js string) any {
	pg.t.Helper()
	var v any
	pg.do("eval", func(ctx context.Context) (err error) { v, err = pg.p.Eval(ctx, js); return err })
	return v
}

// Screenshot returns the viewport as PNG.
func (pg *Page) Screenshot() []byte {
	pg.t.Helper()
	var b []byte
	pg.do("screenshot", func(ctx context.Context) (err error) { b, err = pg.p.Screenshot(ctx); return err })
	return b
}

// SetCookie sets a cookie for the page's site (open a page first).
func (pg *Page) SetCookie(name, value string) {
	pg.t.Helper()
	pg.do("set cookie", func(ctx context.Context) error { return pg.p.SetCookie(ctx, name, value) })
}

// Cookies returns the cookies of the page's URL, name → value.
func (pg *Page) Cookies() map[string]any {
	pg.t.Helper()
	var m map[string]any
	pg.do("cookies", func(ctx context.Context) (err error) { m, err = pg.p.Cookies(ctx); return err })
	return m
}

// SetStorage sets a local storage item of the page's origin.
func (pg *Page) SetStorage(key, value string) {
	pg.t.Helper()
	pg.do("set storage", func(ctx context.Context) error { return pg.p.SetStorage(ctx, key, value) })
}

// Storage returns the local storage of the page's origin.
func (pg *Page) Storage() map[string]any {
	pg.t.Helper()
	var m map[string]any
	pg.do("storage", func(ctx context.Context) (err error) { m, err = pg.p.Storage(ctx); return err })
	return m
}

// URL is the page's URL; Title its title.
func (pg *Page) URL() string {
	pg.t.Helper()
	var u string
	pg.do("url", func(ctx context.Context) (err error) { u, _, _, err = pg.p.Info(ctx); return err })
	return u
}

// Title is the page's title.
func (pg *Page) Title() string {
	pg.t.Helper()
	var s string
	pg.do("title", func(ctx context.Context) (err error) { _, s, _, err = pg.p.Info(ctx); return err })
	return s
}

// Element describes sel's matches now, without waiting: count, visible,
// and of the first text, value, checked, enabled, attributes; texts of all.
func (pg *Page) Element(sel string) map[string]any {
	pg.t.Helper()
	s := pg.sel(sel)
	var m map[string]any
	pg.do("read "+sel, func(ctx context.Context) (err error) { m, err = pg.p.State(ctx, s); return err })
	return m
}

// ExpectText waits, up to ExpectTimeout, until sel's first match is
// visible and its text contains want, and fails the test with the text it
// had when the time is up.
func (pg *Page) ExpectText(sel, want string) {
	pg.t.Helper()
	s := pg.sel(sel)
	last := ""
	limit := pg.ExpectTimeout
	if limit <= 0 {
		limit = pg.Timeout
	}
	pg.within(limit, "expect text", func(ctx context.Context) error {
		for {
			st, err := pg.p.State(ctx, s)
			if err != nil && ctx.Err() != nil {
				// The time ran out during a read (a slow machine): the
				// failure is still the expectation's.
				if last == "" {
					last = "nothing (the page was not read within the time)"
				}
				return fmt.Errorf("%s: want visible text containing %q; got %s (still so after %s)", sel, want, last, limit)
			}
			if err != nil {
				return err
			}
			text, _ := st["text"].(string)
			if vis, _ := st["visible"].(bool); vis && strings.Contains(text, want) {
				return nil
			}
			last = fmt.Sprintf("%v matches, the first visible=%v with text %q", st["count"], st["visible"], text)
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: want visible text containing %q; got %s (still so after %s)", sel, want, last, limit)
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// ConsoleErrors are the console errors and uncaught exceptions the page
// logged so far.
func (pg *Page) ConsoleErrors() []string {
	if pg == nil || pg.p == nil {
		return nil
	}
	return pg.p.ConsoleErrors(time.Time{})
}

// pageList is a test's browser pages, for Interactions to wait on their
// requests in flight.
type pageList struct {
	mu sync.Mutex
	ps []*browserstep.Page
}
