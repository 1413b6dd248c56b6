package browserstep

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/step"
)

const dialogPage = `<!doctype html><title>D</title><link rel="icon" href="data:,">
<button id="del" onclick="document.getElementById('res').textContent = confirm('Delete it?') ? 'deleted' : 'kept'">Delete</button>
<button id="hi" onclick="alert('hello'); document.getElementById('res').textContent = 'alerted'">Hi</button>
<button id="ask" onclick="document.getElementById('res').textContent = 'name: ' + prompt('Name?', 'Ann')">Ask</button>
<p id="res"></p>`

// TestDialogs: a confirm, an alert or a prompt does not freeze the page:
// each is answered as it opens (dismissed unless dialog: accept), and is
// in the result's dialogs; a failure names those opened during the step.
func TestDialogs(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, dialogPage) })
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	env := &step.Env{Services: host{b}, Start: time.Now(), Test: "d"}
	run := func(src string) (*step.Result, error) {
		t.Helper()
		a := decodeAction(t, src)
		if err := a.Prepare(ctx, env); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return a.Run(sctx, env)
	}
	for _, c := range []struct{ src, want string }{
		{"open: " + srv.URL + "\nclick: '#del'\nfind: '#res'", "kept"},
		{"click: '#del'\ndialog: accept\nfind: '#res'", "deleted"},
		{"click: '#hi'\nfind: '#res'", "alerted"},
		{"click: '#ask'\nfind: '#res'", "name: null"},
		{"click: '#ask'\ndialog: accept\nfind: '#res'", "name: Ann"},
	} {
		res, err := run(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got := res.Fields["text"]; got != c.want {
			t.Errorf("%s: text %v; want %s", c.src, got, c.want)
		}
	}
	res, err := run("find: '#res'")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Fields["dialogs"].([]any) {
		m := d.(map[string]any)
		got = append(got, m["type"].(string)+" "+m["message"].(string)+" "+m["answer"].(string))
	}
	want := []string{"confirm Delete it? dismissed", "confirm Delete it? accepted", "alert hello dismissed", "prompt Name? dismissed", "prompt Name? accepted"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("dialogs:\n got %q\nwant %q", got, want)
	}
	// A step that fails after a dialog says so.
	_, err = run("click: '#del'\nwait: {text: deleted}")
	if err == nil || !strings.Contains(strings.SplitN(err.Error(), "\n", 2)[0], `the page opened confirm("Delete it?"), dismissed`) {
		t.Errorf("failure after a dismissed confirm: %v", err)
	}
}
