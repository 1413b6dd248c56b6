// Package stubsvc is the `stub` service kind: seam's HTTP stub server
// (internal/stub) standing in for a component that is missing, not ready or
// third-party, on a free loopback port, with mappings from WireMock files
// or written inline.
package stubsvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/stub"
	"github.com/seamtest/seam/internal/token"
	"go.yaml.in/yaml/v4"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Kind is the stub service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "stub",
		Summary: "an HTTP stub (service virtualization); with grpc: (protos) beside it, a gRPC stub too, on the same port " +
			"(seam help stubs). Serves WireMock's admin API under /__admin/. Scenarios, journal and mappings go back to the start before " +
			"each test. Beside another kind (process: …), stub: is that service's stand-in, used with `seam run --stub NAME` " +
			"or a profile (seam help stubs)",
		Inputs: []service.Input{
			{Name: "mappings", Doc: "WireMock mapping files or folders (mappings/*.json and __files/), or .yaml route files"},
			{Name: "routes", Doc: "stubs written inline in seam's form (when:, then:)"},
			{Name: "files", Doc: "the folder of response body files (bodyFileName) when it is not the __files/ beside mappings/"},
			{Name: "journal", Doc: "how many requests to keep for verification (default 10000)"},
			{Name: "unmatched", Doc: "fail (default: a request no mapping matched fails the test) or ignore"},
		},
		Example: "stub:\n  mappings: stubs/payments/\n  routes:\n    - when: POST /charges\n      body: {matchesJsonPath: $.amount}\n" +
			"      then: {status: 201, json: {id: ch_1, status: paid}}",
	}
}

// Spec is a decoded stub service.
type Spec struct {
	mappings  []*stub.Mapping
	filesDir  string
	sources   []string // the mapping files and folders named
	journal   int
	unmatched string
	grpc      *protoregistry.Files // from a mapping folder's grpc/
}

var keys = []string{"mappings", "routes", "files", "journal", "unmatched"}

// Decode implements service.Kind. Mapping files are read here, at load
// time, so `seam validate` reports their problems with their positions.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := &Spec{unmatched: "fail"}
	before := d.Errs.Len()
	dir := filepath.Dir(d.Pos(n).File)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		s.load(d, n, dir)
		return s.done(d, before)
	}
	for _, f := range d.Fields(n, "stub") {
		v := decode.Resolve(f.Value)
		switch f.Key {
		case "mappings":
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, it := range items {
				s.load(d, decode.Resolve(it), dir)
			}
		case "routes":
			if v.Kind != yaml.SequenceNode {
				d.Errorf(v, "stub.routes: want a list of routes, got %s", decode.KindName(v))
				continue
			}
			for _, it := range v.Content {
				if m := stub.ParseRoute(d, it); m != nil {
					s.mappings = append(s.mappings, m)
				}
			}
		case "files":
			var p string
			d.Decode(v, &p, "stub.files")
			s.filesDir = filepath.Join(dir, p)
		case "journal":
			d.Decode(v, &s.journal, "stub.journal")
		case "unmatched":
			d.Decode(v, &s.unmatched, "stub.unmatched")
			if s.unmatched != "fail" && s.unmatched != "ignore" {
				d.Errorf(v, "stub.unmatched: want fail or ignore, got %q", s.unmatched)
			}
		default:
			d.UnknownKey(f.KeyN, "stub", keys)
		}
	}
	return s.done(d, before)
}

func (s *Spec) done(d *decode.Decoder, before int) service.Spec {
	if d.Errs.Len() > before {
		return nil
	}
	return s
}

func (s *Spec) load(d *decode.Decoder, n *yaml.Node, dir string) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "stub.mappings: want a file or folder, got %s", decode.KindName(n))
		return
	}
	p := n.Value
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	s.sources = append(s.sources, filepath.Clean(p))
	src, err := stub.Load(p)
	if err != nil {
		var l *diag.List
		if errors.As(err, &l) {
			d.Errs.AddErr(d.Pos(n), err)
			return
		}
		d.Errorf(n, "stub.mappings: %v", err)
		return
	}
	s.mappings = append(s.mappings, src.Mappings...)
	if s.grpc == nil {
		s.grpc = src.GRPC
	}
	if s.filesDir == "" {
		s.filesDir = src.FilesDir
	}
}

// Sources implements service.Sourcer: the mapping files and folders,
// and the folder of response body files.
func (s *Spec) Sources(context.Context, string, expr.Vars) ([]string, error) {
	out := append([]string(nil), s.sources...)
	if s.filesDir != "" {
		out = append(out, filepath.Clean(s.filesDir))
	}
	return out, nil
}

// Describe implements service.Describer.
func (s *Spec) Describe(info map[string]any) {
	info["url"] = "http://" + info["addr"].(string)
	tok, _ := info["control_token"].(string)
	info["admin_url"] = token.URL("http://"+info["addr"].(string)+"/__admin", tok)
}

// DefaultProbe implements service.Prober: the stub listens before Start
// returns, so it is ready at once.
func (s *Spec) DefaultProbe() service.Probe { return ready{} }

type ready struct{}

func (ready) Check(context.Context, service.Target) error { return nil }
func (ready) String() string                              { return "stub listening" }

// Prepare implements service.Spec.
func (s *Spec) Prepare(context.Context, *service.PrepareEnv) error { return nil }

// Start implements service.Spec.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	port := env.Info["port"].(int)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	i := &instance{spec: s, done: make(chan struct{})}
	tok, _ := env.Info["control_token"].(string)
	grpc := env.Descriptors
	if grpc == nil {
		grpc = s.grpc
	}
	i.srv = stub.New(stub.Options{Crash: crash.From(ctx), JournalCap: s.journal, FilesDir: s.filesDir, AdminToken: tok, Mask: env.Mask, GRPC: grpc, OnRequest: func(e *stub.Entry) {
		if env.Log == nil {
			return
		}
		env.Log("stub", describe(e))
		if i.srv.Journal().Dropped() == 1 {
			env.Log("stub", fmt.Sprintf("journal full (%d requests): the oldest are dropped from now on, and verifications cannot see them; raise journal: on the stub", i.srv.Journal().Cap()))
		}
	}})
	i.srv.Add(s.mappings...)
	i.srv.SetBaseline()
	i.ln = stub.Serve(ln, i.srv)
	crash.Go(ctx, func() {
		defer close(i.done)
		i.err = <-i.ln.Done()
	})
	return i, nil
}

// describe is a journal entry as a log line: the stub's side of the timeline.
func describe(e *stub.Entry) string {
	r := e.Request
	if r.IsGRPC() {
		switch {
		case e.Mapping == nil:
			return fmt.Sprintf("GRPC %s → NOT_FOUND no mapping matched", r.URL)
		case e.Mapping.Response.Fault != "":
			return fmt.Sprintf("GRPC %s → fault %s (%s)", r.URL, e.Mapping.Response.Fault, e.Mapping.Label())
		}
		return fmt.Sprintf("GRPC %s → %s (%s)", r.URL, e.Mapping.GRPCStatus(), e.Mapping.Label())
	}
	if e.Mapping == nil {
		return fmt.Sprintf("%s %s → 404 no mapping matched", r.Method, r.URL)
	}
	status := e.Mapping.Response.Status
	if status == 0 {
		status = 200
	}
	what := strconv.Itoa(status)
	if f := e.Mapping.Response.Fault; f != "" {
		what = "fault " + f
	}
	return fmt.Sprintf("%s %s → %s (%s)", r.Method, r.URL, what, e.Mapping.Label())
}

type instance struct {
	spec *Spec
	srv  *stub.Server
	ln   *stub.Listener
	done chan struct{}
	err  error
}

// Server is the running stub, for the stub-verify step.
func (i *instance) Server() *stub.Server { return i.srv }

func (i *instance) Done() <-chan struct{} { return i.done }
func (i *instance) ExitErr() error        { return i.err }

func (i *instance) Stop(ctx context.Context) error {
	i.ln.Close(ctx)
	<-i.done
	return nil
}

// Reset implements service.Resetter: the mappings loaded at start, an
// empty journal, every scenario in its first state.
func (i *instance) Reset(context.Context) error {
	i.srv.Reset()
	return nil
}

// CheckTest implements service.Checker: requests no mapping matched fail
// the test, with the closest mappings and what differed.
func (i *instance) CheckTest(since time.Time) error {
	if i.spec.unmatched == "ignore" {
		return nil
	}
	if err := i.srv.Unmatched(since); err != nil {
		return fmt.Errorf("%w\n  (set unmatched: ignore on the stub to allow them)", err)
	}
	return nil
}
