package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
)

// seam up serves a control API over a Unix socket in its run's private
// temp folder (mode 0700; the socket itself 0600), recorded in its run
// record, so seam reset and seam run --attach can work against the
// environment it holds:
//
//	POST /reset  → 200 and how long it took in µs; 500 with the error as text
//	POST /run    → body runRequest; the answer streams frames (JSON lines):
//	               {"event": …} for each engine event, {"stderr": "…"}
//	               for messages, and last {"exit": N}
//
// The engine runs in the up process, against its environment; the client
// only renders the events, with the same reporters seam run uses.

// runRequest is what seam run --attach asks for.
type runRequest struct {
	Filter      string   `json:"filter,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	ExcludeTags []string `json:"exclude_tags,omitempty"`
	FailFast    bool     `json:"fail_fast,omitempty"`
}

// frame is one line of /run's answer.
type frame struct {
	Event  *report.Event `json:"event,omitempty"`
	Stderr string        `json:"stderr,omitempty"`
	Exit   *int          `json:"exit,omitempty"`
}

// holder is what seam up holds: the environment, and how to run a suite
// against it.
type holder struct {
	suiteArg string // the suite file, absolute
	sel      selection
	vars     map[string]string
	seed     uint64
	sess     *session.Session
	env      *environment.Environment
	logs     *upLog

	running sync.Mutex // one attached run at a time
}

// serveControl listens on the control socket and serves until ctx ends.
// The returned func waits for the server to end.
func serveControl(ctx context.Context, h *holder) (string, func(), error) {
	path := filepath.Join(h.sess.TempDir(), "control.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return "", nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", h.reset)
	mux.HandleFunc("POST /run", h.run)
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		// An attached run in progress sees its request's context end.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	return path, func() { <-done }, nil
}

func (h *holder) reset(w http.ResponseWriter, r *http.Request) {
	if !h.running.TryLock() {
		http.Error(w, "a seam run --attach is running against this environment; reset when it ends", http.StatusConflict)
		return
	}
	defer h.running.Unlock()
	began := time.Now()
	if err := h.env.Reset(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	took := time.Since(began)
	h.logs.note("seam reset: data back at the baseline in %.1f ms", float64(took.Microseconds())/1000)
	fmt.Fprintf(w, "%d", took.Microseconds())
}

func (h *holder) run(w http.ResponseWriter, r *http.Request) {
	var req runRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !h.running.TryLock() {
		http.Error(w, "another seam run --attach is running against this environment; wait for it to end", http.StatusConflict)
		return
	}
	defer h.running.Unlock()
	fl, _ := w.(http.Flusher)
	out := &frameWriter{w: w, flush: fl}
	w.Header().Set("Content-Type", "application/x-ndjson")
	code := h.runAttached(r.Context(), req, out)
	out.send(frame{Exit: &code})
}

// runAttached loads the suite again (its tests may have changed since seam
// up started), with seam up's vars, profile and stubs, and runs the
// selected tests on the held environment, one at a time.
func (h *holder) runAttached(ctx context.Context, req runRequest, out *frameWriter) int {
	sel := h.sel
	sel.filter, sel.tags, sel.excludeTags = req.Filter, req.Tags, req.ExcludeTags
	filter, err := sel.filterOf()
	if err != nil {
		out.stderr("seam run --attach: %v\n", err)
		return ExitUsage
	}
	reg := builtin.New()
	defer reg.Close()
	var msgs strings.Builder
	s, ok := load(h.suiteArg, &sel, h.vars, reg, &msgs, false)
	if !ok {
		out.stderr("%s", msgs.String())
		return ExitUsage
	}
	tests := engine.Select(s.Tests, filter)
	if len(tests) == 0 {
		out.stderr("seam run: no test matches the filters (the suite has %d; see seam list)\n", len(s.Tests))
		return ExitUsage
	}
	h.logs.note("seam run --attach: running %d test(s)", len(tests))
	counts, err := engine.Run(ctx, s, tests, engine.Options{
		Parallel:  1,
		FailFast:  req.FailFast,
		Seed:      h.seed,
		Vars:      h.vars,
		Envs:      heldFactory{h},
		Base:      h.sess.Base(),
		LeaveEnvs: true,
		ProcEnv:   []string{h.sess.Mark()},
	}, out)
	h.logs.attach(nil)
	h.logs.note("seam run --attach: %d passed, %d failed", counts.Passed, counts.Failed)
	var loadErr strings.Builder
	code := runExit(counts, err, func(err error) { out.stderr("seam: the held environment failed: %v\n", err) }, &loadErr)
	if loadErr.Len() > 0 {
		out.stderr("%s", loadErr.String())
	}
	if ctx.Err() != nil && code == ExitPass {
		code = ExitFail
	}
	return code
}

// heldFactory gives the engine seam up's environment: its data goes back
// to the baseline first (every test starts from it), its log lines go to
// the attached run too, and the engine cannot stop it.
type heldFactory struct{ h *holder }

func (f heldFactory) Start(ctx context.Context, worker int, log report.LogFunc) (engine.Env, error) {
	if err := f.h.env.Reset(ctx); err != nil {
		return nil, fmt.Errorf("resetting the held environment: %w", err)
	}
	f.h.logs.attach(log)
	return held{f.h.env}, nil
}

// held is the environment seam up holds, as the engine sees it: every
// ability of the environment but Stop, which seam up keeps for itself.
type held struct{ *environment.Environment }

func (held) Stop(context.Context) error { return nil }

// frameWriter writes /run's answer; it is the engine's event sink.
type frameWriter struct {
	mu    sync.Mutex
	w     io.Writer
	flush http.Flusher
	enc   *json.Encoder
}

func (f *frameWriter) send(fr frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enc == nil {
		f.enc = json.NewEncoder(f.w)
	}
	if f.enc.Encode(fr) == nil && f.flush != nil {
		f.flush.Flush()
	}
}

// Event implements report.Sink.
func (f *frameWriter) Event(e report.Event) { f.send(frame{Event: &e}) }

func (f *frameWriter) stderr(format string, args ...any) {
	f.send(frame{Stderr: fmt.Sprintf(format, args...)})
}

// findHeld finds the live seam up of the current user that holds the
// suite at arg (a DIR or FILE).
func findHeld(arg string) (reap.Record, string, error) {
	file, err := suite.Locate(arg)
	if err != nil {
		return reap.Record{}, "", err
	}
	file = reap.SuitePath(file)
	recs, err := reap.Records(reap.StateDir())
	if err != nil {
		return reap.Record{}, file, err
	}
	var starting *reap.Record
	for _, rec := range recs {
		if rec.Command != "up" || rec.SuiteFile != file || !rec.Alive() {
			continue
		}
		if rec.Socket != "" {
			return rec, file, nil
		}
		starting = &rec
	}
	if starting != nil {
		return *starting, file, fmt.Errorf("the environment of %s (pid %d) takes no commands: it is still starting, or a seam run --keep holds it", starting.Suite, starting.PID)
	}
	return reap.Record{}, file, errNotHeld
}

var errNotHeld = errors.New("not held")

// heldFor finds the seam up holding the suite at arg for seam cmd (its
// name in messages, flags and all); false: why not was printed, and code is
// the exit code. A suite that cannot be found is a usage error of the
// command, named without its flags like the command's other usage errors.
func heldFor(cmd, arg string, stdio IO) (rec reap.Record, code int, ok bool) {
	rec, file, err := findHeld(arg)
	switch {
	case errors.Is(err, errNotHeld):
		return rec, notHeld(cmd, arg, file, stdio), false
	case err != nil && rec.PID != 0:
		fmt.Fprintf(stdio.Stderr, "seam %s: %v\n", cmd, err)
		return rec, ExitEnv, false
	case err != nil:
		fmt.Fprintf(stdio.Stderr, "seam %s: %v\n", strings.Fields(cmd)[0], err)
		return rec, ExitUsage, false
	}
	return rec, ExitPass, true
}

// notHeld explains that no seam up holds the suite.
func notHeld(cmd, arg, file string, stdio IO) int {
	fmt.Fprintf(stdio.Stderr, "seam %s: no seam up holds %s; start one first: seam up %s\n", cmd, file, arg)
	return ExitEnv
}

// controlClient talks HTTP to a control socket.
func controlClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

// ask POSTs body to path on the control socket of the seam up rec, for
// seam cmd (its name in messages). It returns the answer when its status
// is 200 (the caller closes its body); otherwise it prints why, as seam
// cmd, and returns false.
func ask(ctx context.Context, cmd string, rec reap.Record, path string, body io.Reader, stderr io.Writer) (*http.Response, bool) {
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://seam"+path, body)
	resp, err := controlClient(rec.Socket).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "seam %s: seam up (pid %d) does not answer: %v\n", cmd, rec.PID, err)
		return nil, false
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		fmt.Fprintf(stderr, "seam %s: %s\n", cmd, strings.TrimSpace(string(msg)))
		return nil, false
	}
	return resp, true
}

func cmdReset(ctx context.Context, args []string, stdio IO) int {
	arg, _, ok := parseArg(newFlagSet("reset", stdio.Stderr), args, stdio.Stderr)
	if !ok {
		return ExitUsage
	}
	rec, code, ok := heldFor("reset", arg, stdio)
	if !ok {
		return code
	}
	resp, ok := ask(ctx, "reset", rec, "/reset", nil, stdio.Stderr)
	if !ok {
		return ExitEnv
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	us, _ := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
	fmt.Fprintf(stdio.Stdout, "seam reset: the data of %s (pid %d) is back at its baseline (%.1f ms)\n", rec.Suite, rec.PID, float64(us)/1000)
	return ExitPass
}

// runAttached is seam run --attach on the client side: it asks the seam up
// holding the suite to run it, and renders the events it streams back.
func runAttach(ctx context.Context, arg string, req runRequest, sink report.Sink, stdio IO) int {
	rec, code, ok := heldFor("run --attach", arg, stdio)
	if !ok {
		return code
	}
	body, _ := json.Marshal(req)
	resp, ok := ask(ctx, "run --attach", rec, "/run", strings.NewReader(string(body)), stdio.Stderr)
	if !ok {
		return ExitEnv
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var fr frame
		if err := dec.Decode(&fr); err != nil {
			if ctx.Err() != nil {
				return ExitFail
			}
			fmt.Fprintf(stdio.Stderr, "seam run --attach: the answer of seam up (pid %d) broke off: %v\n", rec.PID, err)
			return ExitEnv
		}
		switch {
		case fr.Event != nil:
			sink.Event(*fr.Event)
		case fr.Stderr != "":
			fmt.Fprint(stdio.Stderr, fr.Stderr)
		case fr.Exit != nil:
			return *fr.Exit
		}
	}
}
