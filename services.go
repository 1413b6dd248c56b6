package seam

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// Service is a service declared in Go code, for StartServices. Its strings
// may hold the same ((…)) templates as a suite: ((addr)), ((port)),
// ((bin)), ((service("other").url)), …
type Service struct {
	name  string
	ctor  string // "Process", "StubService": what declared it, for messages
	def   map[string]any
	proc  map[string]any
	ready map[string]any
}

// Process declares a service that runs argv, relative paths starting in
// the test's package folder.
func Process(name string, argv ...string) *Service {
	wd, _ := os.Getwd()
	proc := map[string]any{"run": argv, "dir": wd}
	return &Service{name: name, ctor: "Process", def: map[string]any{"process": proc}, proc: proc}
}

// Build sets a command run once per test binary before the service starts
// (sh -c), cached by its inputs; ((bin)) is where it must write its output.
func (s *Service) Build(command string) *Service {
	s.proc["build"] = command
	return s
}

// Env sets an environment variable of the process.
func (s *Service) Env(key, value string) *Service {
	env, _ := s.proc["env"].(map[string]any)
	if env == nil {
		env = map[string]any{}
		s.proc["env"] = env
	}
	env[key] = value
	return s
}

// DependsOn names services that must be ready before this one starts.
func (s *Service) DependsOn(names ...string) *Service {
	deps, _ := s.def["depends_on"].([]string)
	s.def["depends_on"] = append(deps, names...)
	return s
}

// ReadyHTTP makes the service ready when GET path answers 2xx.
func (s *Service) ReadyHTTP(path string) *Service {
	s.readiness()["http"] = path
	return s
}

// ReadyLog makes the service ready when a line of its output matches the
// regular expression.
func (s *Service) ReadyLog(regexp string) *Service {
	s.readiness()["log"] = regexp
	return s
}

func (s *Service) readiness() map[string]any {
	if s.ready == nil {
		s.ready = map[string]any{}
		s.def["ready"] = s.ready
	}
	return s.ready
}

// StartServices starts services declared in code for t, like Start does
// for a suite file: in dependency order, each on a free port, stopped when
// t ends. A problem with them (a template naming no variable, a
// dependency on no service, a process that does not become ready) fails t
// naming the Service and its method or argument, like
// seam.Process("cart").DependsOn("catalgo"): did you mean "catalog"?
func StartServices(t testing.TB, services ...*Service) *Env {
	t.Helper()
	cs, err := writeSuite(t.TempDir(), "StartServices", services)
	if err != nil {
		t.Fatalf("seam: StartServices: %v", err)
		return nil
	}
	return start(t, cs.file, cs, nil)
}

// UpServices is StartServices for code without a *testing.T (TestMain).
func UpServices(services ...*Service) (*Env, error) {
	dir, err := os.MkdirTemp("", "seam-services-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the suite is read at once; nothing runs from here
	cs, err := writeSuite(dir, "UpServices", services)
	if err != nil {
		return nil, fmt.Errorf("seam: UpServices: %v", err)
	}
	cfg := newConfig(nil)
	s, reg, err := load(cs.file, cfg, true, cs)
	if err != nil {
		return nil, err
	}
	return up(contextBackground(), s, reg, cfg, testWriter{}, cs)
}

// codeSuite is the suite file written for services declared in code
// (writeSuite), and what declared each of its places: its messages name
// those, not the file, which the user never wrote (and UpServices has
// removed).
type codeSuite struct {
	file   string
	caller string            // "StartServices", "UpServices"
	places map[int][]place   // by line
	whole  map[string]string // a service's name → how it was declared
}

// place is where, on a line of the file, a value of a Service's begins,
// and the Go that set it.
type place struct {
	col  int
	what string
}

// writeSuite renders services as a suite file, so code-built services go
// through the same validation as suite files.
func writeSuite(dir, caller string, services []*Service) (*codeSuite, error) {
	if len(services) == 0 {
		return nil, fmt.Errorf("no service given")
	}
	svcs := map[string]any{}
	cs := &codeSuite{file: filepath.Join(dir, "seam.yaml"), caller: caller, places: map[int][]place{}, whole: map[string]string{}}
	for i, s := range services {
		if s == nil {
			return nil, fmt.Errorf("service %d of %d is nil", i+1, len(services))
		}
		if _, dup := svcs[s.name]; dup {
			return nil, fmt.Errorf("two services are named %q", s.name)
		}
		svcs[s.name] = s.def
		cs.whole[s.name] = fmt.Sprintf("seam.%s(%q)", s.ctor, s.name)
	}
	data, err := yaml.Marshal(map[string]any{"name": "go", "services": svcs})
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	cs.index(&doc)
	return cs, os.WriteFile(cs.file, data, 0o644)
}

// index records what declared each value of the file's services.
func (cs *codeSuite) index(doc *yaml.Node) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	services := mapValue(root, "services")
	if services == nil {
		return
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		name := services.Content[i].Value
		svc := cs.whole[name]
		cs.walk(services.Content[i], svc, nil)
		cs.walk(services.Content[i+1], svc, nil)
	}
}

// walk records n and what is under it, path being the keys that lead
// there from the service (process, env, KEY).
func (cs *codeSuite) walk(n *yaml.Node, svc string, path []string) {
	cs.places[n.Line] = append(cs.places[n.Line], place{col: n.Column, what: goPlace(svc, path, n)})
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			cs.walk(n.Content[i], svc, append(path[:len(path):len(path)], key))
			cs.walk(n.Content[i+1], svc, append(path[:len(path):len(path)], key))
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			cs.walk(c, svc, path)
		}
	}
}

// goPlace is the Go that declared the value n at path of the service
// declared by svc (seam.Process("cart")).
func goPlace(svc string, path []string, n *yaml.Node) string {
	v := n.Value
	switch strings.Join(path, ".") {
	case "process.run":
		if n.Kind == yaml.ScalarNode {
			return fmt.Sprintf("%s, argument %q", strings.TrimSuffix(svc, ")")+", …)", v)
		}
	case "process.build":
		return fmt.Sprintf("%s.Build(%q)", svc, v)
	case "process.dir":
		return fmt.Sprintf("%s (its folder, the test's package folder %s)", svc, v)
	case "depends_on":
		if n.Kind == yaml.ScalarNode {
			return fmt.Sprintf("%s.DependsOn(%q)", svc, v)
		}
	case "ready.http":
		return fmt.Sprintf("%s.ReadyHTTP(%q)", svc, v)
	case "ready.log":
		return fmt.Sprintf("%s.ReadyLog(%q)", svc, v)
	case "stub.mappings":
		if n.Kind == yaml.ScalarNode {
			return fmt.Sprintf("%s, mappings %q", strings.TrimSuffix(svc, ")")+", …)", v)
		}
	}
	if len(path) == 3 && path[0] == "process" && path[1] == "env" {
		return fmt.Sprintf("%s.Env(%q, …)", svc, path[2])
	}
	return svc
}

// mapValue is the value of key in the mapping n (nil: none).
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// at is the Go that declared what is at line:col of the file: the value
// that begins last on that line at or before col; "" when none.
func (cs *codeSuite) at(line, col int) string {
	best := place{col: -1}
	for _, p := range cs.places[line] {
		if p.col <= col || col == 0 {
			if p.col > best.col {
				best = p
			}
		}
	}
	return best.what
}

// problems renders the suite's problems by the Go that declared each
// place, not the file's lines.
func (cs *codeSuite) problems(l *diag.List) error {
	errs := l.Errors()
	out := make([]*diag.Error, len(errs))
	for i, e := range errs {
		c := *e
		c.Pos = diag.Pos{File: cs.where(e.Pos)}
		out[i] = &c
	}
	noSource := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	return fmt.Errorf("seam: the services given to %s have %d problem(s):\n%s", cs.caller, len(out),
		strings.TrimRight(diag.Render(out, noSource), "\n"))
}

// where names a place of the file by the Go that declared it, and the
// file itself as the services given to StartServices.
func (cs *codeSuite) where(p diag.Pos) string {
	if p.File == cs.file {
		if w := cs.at(p.Line, p.Col); w != "" {
			return w
		}
		return "the services given to " + cs.caller
	}
	return p.String()
}

// filePos matches a position in a file's text: FILE:LINE[:COL].
var filePos = regexp.MustCompile(`(:[0-9]+)(:[0-9]+)?`)

// rewrite says err (of starting the services) in the Go that declared
// them: every FILE:LINE:COL of the file becomes the Go at that place.
func (cs *codeSuite) rewrite(err error) error {
	if cs == nil || err == nil {
		return err
	}
	msg := err.Error()
	var b strings.Builder
	for {
		i := strings.Index(msg, cs.file)
		if i < 0 {
			b.WriteString(msg)
			break
		}
		b.WriteString(msg[:i])
		msg = msg[i+len(cs.file):]
		m := filePos.FindStringSubmatchIndex(msg)
		if m == nil || m[0] != 0 {
			b.WriteString("the services given to " + cs.caller)
			continue
		}
		line, _ := strconv.Atoi(msg[m[2]+1 : m[3]])
		col := 0
		if m[4] >= 0 {
			col, _ = strconv.Atoi(msg[m[4]+1 : m[5]])
		}
		b.WriteString(cs.where(diag.Pos{File: cs.file, Line: line, Col: col}))
		msg = msg[m[1]:]
	}
	return errors.New(b.String())
}
