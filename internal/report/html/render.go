package html

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"time"

	"github.com/seamtest/seam/internal/report"
)

//go:embed assets/page.tmpl assets/style.css assets/app.js
var assets embed.FS

// Write renders p as one HTML page to w.
func Write(w io.Writer, p *Page) error {
	css, err := assets.ReadFile("assets/style.css")
	if err != nil {
		return err
	}
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		return err
	}
	tmpl, err := htmltemplate.New("page.tmpl").Funcs(htmltemplate.FuncMap{
		"dur":    fmtMS,
		"plural": report.Plural,
		"test":   func(i int) Test { return p.Tests[i] },
	}).ParseFS(assets, "assets/page.tmpl")
	if err != nil {
		return err
	}
	// encoding/json escapes <, > and & (and U+2028/9): the data cannot
	// end its script element, whatever the events hold.
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the page's data: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	err = tmpl.Execute(bw, struct {
		*Page
		CSP    string
		CSS    htmltemplate.CSS
		JS     htmltemplate.JS
		Data   htmltemplate.JS
		Failed []Test
	}{
		Page: p,
		// Only the page's own style and script run, and nothing is
		// fetched: a payload in a body or a log line could not load or
		// run anything even if it escaped its text.
		CSP:  "default-src 'none'; img-src data:; style-src '" + hash(css) + "'; script-src '" + hash(js) + "'",
		CSS:  htmltemplate.CSS(css),
		JS:   htmltemplate.JS(js),
		Data: htmltemplate.JS(data),
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// fmtMS renders milliseconds for people: "850µs", "12ms", "1.42s".
func fmtMS(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// Reporter collects a run's events and writes its page at the end (a
// report.Sink and report.Finisher).
type Reporter struct {
	w      io.Writer
	events []report.Event
}

// NewReporter returns a Reporter writing the page to w at Finish.
func NewReporter(w io.Writer) *Reporter { return &Reporter{w: w} }

// Event implements report.Sink.
func (r *Reporter) Event(e report.Event) {
	e.Time = e.Time.UTC()
	r.events = append(r.events, e)
}

// Finish implements report.Finisher: it renders the page.
func (r *Reporter) Finish(*report.Run) error { return Write(r.w, Build(r.events)) }
