package execstep

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step"
)

// decodeStep decodes the value of an exec: key.
func decodeStep(t *testing.T, doc string) step.Action {
	t.Helper()
	root, err := decode.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	d := decode.New("f.yaml", &errs)
	d.Src = []byte(doc)
	var a step.Action
	for _, f := range d.Fields(root, "doc") {
		if f.Key == "exec" {
			a = Kind{}.Decode(d, decode.Resolve(f.Value))
		}
	}
	if err := errs.Err(); err != nil || a == nil {
		t.Fatalf("decoding %q: %v", doc, err)
	}
	return a
}

// running lists the pids of processes whose command line is argv.
func running(argv ...string) []string {
	want := []byte(strings.Join(argv, "\x00") + "\x00")
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Equal(b, want) {
			if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !bytes.Contains(st, []byte(") Z ")) {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// A command that starts something in the background and exits ends the
// step when it exits, with its exit code and output, whether or not the
// background process holds stdout or stderr; what it left running is
// stopped with its process group, and the response says so.
func TestBackgroundChild(t *testing.T) {
	for i, tc := range []struct {
		script string
		note   string
	}{
		{"sleep %s & echo started", "kept stdout and stderr open"},
		{"nohup sleep %s >/dev/null & echo started", "kept stderr open"},
		{"sleep %s >/dev/null 2>&1 & echo started", ""},
	} {
		// A duration no other process has, to find the sleep by.
		mark := fmt.Sprintf("%d.%d", 700+i, os.Getpid())
		script := fmt.Sprintf(tc.script, mark)
		a := decodeStep(t, fmt.Sprintf("exec: [sh, -c, '%s']\n", script))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		res, err := a.Run(ctx, &step.Env{Dir: t.TempDir()})
		took := time.Since(start)
		cancel()
		if err != nil {
			t.Errorf("%s: %v after %v; want the step to end when sh exits", script, err, took.Round(time.Millisecond))
			continue
		}
		if took > 5*time.Second {
			t.Errorf("%s: took %v; want about the time sh takes", script, took)
		}
		if got := res.Fields["exit_code"]; got != 0 {
			t.Errorf("%s: exit_code %v; want 0", script, got)
		}
		if got := res.Fields["stdout"]; got != "started\n" {
			t.Errorf("%s: stdout %q; want %q", script, got, "started\n")
		}
		if tc.note != "" && !strings.Contains(res.Response, tc.note) {
			t.Errorf("%s: response %q; want it to say %q", script, res.Response, tc.note)
		}
		if !strings.Contains(res.Response, "stopped them with its process group") {
			t.Errorf("%s: response %q; want it to say the sleep was stopped", script, res.Response)
		}
		if pids := running("sleep", mark); len(pids) > 0 {
			t.Errorf("%s: sleep still running (pids %v) after the step", script, pids)
		}
	}
}

// A command that exits with nothing left behind has no notes.
func TestNoNotes(t *testing.T) {
	a := decodeStep(t, "exec: [sh, -c, 'echo out; echo err >&2; exit 3']\n")
	res, err := a.Run(context.Background(), &step.Env{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := "exit code 3\nstdout:\nout\nstderr:\nerr"
	if res.Response != want || res.Fields["exit_code"] != 3 {
		t.Errorf("got %q, exit_code %v; want %q, 3", res.Response, res.Fields["exit_code"], want)
	}
}

// A command still running at the step's timeout is stopped with its
// group, the error says it was still running, and what it wrote before
// is kept.
func TestTimeout(t *testing.T) {
	mark := fmt.Sprintf("%d.%d", 690, os.Getpid())
	a := decodeStep(t, fmt.Sprintf("exec: [sh, -c, 'echo before; sleep %s; echo never']\n", mark))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := a.Run(ctx, &step.Env{Dir: t.TempDir()})
	if err == nil || err.Error() != "sh: still running when the step timed out; stopped it" {
		t.Fatalf("got %v; want sh: still running when the step timed out; stopped it", err)
	}
	if want := "exit code -1\nstdout:\nbefore"; res == nil || res.Response != want {
		t.Errorf("response %+v; want %q", res, want)
	}
	if pids := running("sleep", mark); len(pids) > 0 {
		t.Errorf("sleep still running (pids %v) after the step", pids)
	}
}
