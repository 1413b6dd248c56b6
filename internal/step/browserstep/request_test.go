package browserstep

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// TestDescribeWithValues: the failure's request section shows what was
// typed, not the template; a password field's value is masked.
func TestDescribeWithValues(t *testing.T) {
	a := decodeAction(t, "fill: {\"#user\": \"((who))\", \"#password\": \"((pw))\"}")
	vars := expr.Vars{"who": "ann", "pw": "hunter2"}
	got := a.ops[0].describeWith(vars)
	if !strings.Contains(got, "#user=ann") || !strings.Contains(got, "#password=***") || strings.Contains(got, "hunter2") {
		t.Errorf("describeWith = %q; want #user=ann and #password masked", got)
	}
	if got := a.ops[0].describe(); !strings.Contains(got, "#user=((who))") {
		t.Errorf("describe = %q; want as written", got)
	}
}

// TestUploadMissingFileAtLoad: an upload of a file written literally that
// is not there is a load error, with its position.
func TestUploadMissingFileAtLoad(t *testing.T) {
	for _, src := range []string{`upload: {"#f": nope.txt}`, `upload: {"#f": [there.txt, nope.txt]}`} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := writeFile(dir + "/there.txt"); err != nil {
			t.Fatal(err)
		}
		var errs diag.List
		d := decode.New("t.yaml", &errs)
		d.Dir = dir
		if a := New().Decode(d, n.Content[0]); a != nil || !strings.Contains(errs.Err().Error(), "nope.txt") {
			t.Errorf("%s: decoded %v, errors %v; want the missing file named", src, a, errs.Err())
		}
	}
	// A template is checked at run time.
	var n yaml.Node
	_ = yaml.Unmarshal([]byte(`upload: {"#f": "((file))"}`), &n)
	var errs diag.List
	d := decode.New("t.yaml", &errs)
	d.Dir = t.TempDir()
	if New().Decode(d, n.Content[0]) == nil {
		t.Errorf("a templated upload: %v", errs.Err())
	}
}

// TestSetStorageBeforeOpen says to open a page first, not Chromium's
// SecurityError.
func TestSetStorageBeforeOpen(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<title>S</title>") })
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, ctx, rec.host(t, srv, "web"))
	a := decodeAction(t, "set_storage: {token: t1}")
	env := &step.Env{Services: host{b}, Start: time.Now(), Test: "s"}
	if err := a.Prepare(ctx, env); err != nil {
		t.Fatal(err)
	}
	_, err := a.Run(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "open a page first") || strings.Contains(err.Error(), "SecurityError") {
		t.Errorf("set_storage before open: %v", err)
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o600) }
