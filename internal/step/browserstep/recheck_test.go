package browserstep

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/step"
)

// TestRecheckKeepsEvalAndScreenshot: a recheck (expectations read again
// until they hold) keeps the fields the actions set: the screenshot's
// path as taken, the eval evaluated again on the page as it is now.
func TestRecheckKeepsEvalAndScreenshot(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>R</title><link rel="icon" href="data:,"><p id="m">wait</p>
<script>setTimeout(() => { document.getElementById("m").textContent = "ship it" }, 300)</script>`)
	})
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	a := decodeAction(t, "open: "+srv.URL+"\neval: document.getElementById('m').textContent\nscreenshot: home")
	env := &step.Env{Services: host{b}, Start: time.Now(), Test: "r"}
	if err := a.Prepare(ctx, env); err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	shot, _ := res.Fields["screenshot"].(string)
	if shot == "" || res.Fields["eval"] != "wait" {
		t.Fatalf("run: eval %v, screenshot %v", res.Fields["eval"], res.Fields["screenshot"])
	}
	var got any
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		res, err = a.Recheck(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if res.Fields["screenshot"] != shot {
			t.Fatalf("recheck: screenshot %v; want %s, the one taken", res.Fields["screenshot"], shot)
		}
		if got = res.Fields["eval"]; got == "ship it" {
			return
		}
	}
	t.Errorf("recheck: eval %v; want it evaluated again (ship it)", got)
}
