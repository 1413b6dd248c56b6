package browserstep

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/page"
)

// JavaScript dialogs (alert, confirm, prompt, beforeunload) stop the page
// until they are answered: seam answers each as it opens, as Playwright
// does by default: alert, confirm and prompt dismissed (confirm returns
// false, prompt null) unless the step says dialog: accept;
// beforeunload accepted, so that a navigation seam makes is not held. Each
// is kept for the result's dialogs and for the failure's message.

// Dialog is a JavaScript dialog the page opened.
type Dialog struct {
	At      time.Time
	Type    string // alert, confirm, prompt, beforeunload
	Message string
	Answer  string // accepted, dismissed; "" while open
}

func (d Dialog) String() string {
	s := fmt.Sprintf("%s(%q)", d.Type, d.Message)
	if d.Answer == "" {
		return s + ", open"
	}
	return s + ", " + d.Answer
}

// dialogEvent handles the page's dialog events; false for any other
// event. It runs on chromedp's reading goroutine: the answer is sent from
// a goroutine of its own.
func (p *Page) dialogEvent(ev any) bool {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		p.mu.Lock()
		accept := p.acceptDialogs || ev.Type == page.DialogTypeBeforeunload
		p.dialogs = append(p.dialogs, Dialog{At: time.Now(), Type: string(ev.Type), Message: ev.Message})
		p.mu.Unlock()
		p.log("console", fmt.Sprintf("%s(%q)", ev.Type, ev.Message))
		p.b.crash.Go(func() {
			ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
			defer cancel()
			// A prompt accepted gets its default text.
			_, _ = call(ctx, p, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept, PromptText: ev.DefaultPrompt})
		})
	case *page.EventJavascriptDialogClosed:
		p.mu.Lock()
		for i := len(p.dialogs) - 1; i >= 0; i-- {
			if p.dialogs[i].Answer == "" {
				p.dialogs[i].Answer = "dismissed"
				if ev.Result {
					p.dialogs[i].Answer = "accepted"
				}
				break
			}
		}
		p.mu.Unlock()
	default:
		return false
	}
	return true
}

// setAcceptDialogs sets how the dialogs that open from now are answered:
// accepted, or dismissed (the default).
func (p *Page) setAcceptDialogs(accept bool) {
	p.mu.Lock()
	p.acceptDialogs = accept
	p.mu.Unlock()
}

// Dialogs returns the dialogs the page opened since t.
func (p *Page) Dialogs(since time.Time) []Dialog {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Dialog
	for _, d := range p.dialogs {
		if !d.At.Before(since) {
			out = append(out, d)
		}
	}
	return out
}

// dialogNote is what a failure adds of the dialogs opened since t: "" for
// none, else "; the page opened confirm("Delete?"), dismissed".
func (p *Page) dialogNote(since time.Time) string {
	ds := p.Dialogs(since)
	if len(ds) == 0 {
		return ""
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return "; the page opened " + strings.Join(parts, ", ")
}

// dialogError is an action's error with the dialogs the page opened
// during the step: a dismissed confirm may be why nothing came.
type dialogError struct {
	err  error
	note string
}

// Error puts the note on the first line, the failure's summary.
func (e *dialogError) Error() string {
	first, rest, more := strings.Cut(e.err.Error(), "\n")
	if more {
		return first + e.note + "\n" + rest
	}
	return first + e.note
}
func (e *dialogError) Unwrap() error { return e.err }
