package html

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/report"
)

//go:embed assets/page.tmpl assets/style.css assets/app.js
var assets embed.FS

// MaxShotBytes bounds the screenshots a page carries inline (the PNG
// files' sizes): failed tests' in the run's order while they fit; the
// others are listed by path.
const MaxShotBytes = 8 << 20

// embedShots puts the failures' screenshots (PNG artifacts) in the page,
// read from their files, within MaxShotBytes; a file that is gone (a
// page rendered again elsewhere) is listed by its path only.
func embedShots(p *Page) {
	used := 0
	for i := range p.Tests {
		t := &p.Tests[i]
		if t.Failure == nil || len(t.Failure.Artifacts) == 0 {
			continue
		}
		t.Shots = make([]string, len(t.Failure.Artifacts))
		for k, a := range t.Failure.Artifacts {
			if !strings.HasSuffix(strings.ToLower(a.Path), ".png") {
				continue
			}
			st, err := os.Stat(a.Path)
			if err != nil || !st.Mode().IsRegular() || used+int(st.Size()) > MaxShotBytes {
				continue
			}
			b, err := os.ReadFile(a.Path)
			if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || used+len(b) > MaxShotBytes {
				continue
			}
			used += len(b)
			t.Shots[k] = "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
		}
	}
}

// Write renders p as one HTML page to w; the failures' screenshots are
// read from their files into p (embedShots).
func Write(w io.Writer, p *Page) error {
	embedShots(p)
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
