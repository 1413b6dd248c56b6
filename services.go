package seam

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v4"
)

// Service is a service declared in Go code, for StartServices. Its strings
// may hold the same ((…)) templates as a suite: ((addr)), ((port)),
// ((bin)), ((service("other").url)), …
type Service struct {
	name  string
	def   map[string]any
	proc  map[string]any
	ready map[string]any
}

// Process declares a service that runs argv, relative paths starting in
// the test's package folder.
func Process(name string, argv ...string) *Service {
	wd, _ := os.Getwd()
	proc := map[string]any{"run": argv, "dir": wd}
	return &Service{name: name, def: map[string]any{"process": proc}, proc: proc}
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
// t ends.
func StartServices(t testing.TB, services ...*Service) *Env {
	t.Helper()
	file, err := writeSuite(t.TempDir(), services)
	if err != nil {
		t.Fatalf("seam: %v", err)
		return nil
	}
	return Start(t, file)
}

// UpServices is StartServices for code without a *testing.T (TestMain).
func UpServices(services ...*Service) (*Env, error) {
	dir, err := os.MkdirTemp("", "seam-services-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the suite is read at once; nothing runs from here
	file, err := writeSuite(dir, services)
	if err != nil {
		return nil, err
	}
	return Up(contextBackground(), file)
}

// writeSuite renders services as a suite file, so code-built services go
// through the same validation as suite files.
func writeSuite(dir string, services []*Service) (string, error) {
	if len(services) == 0 {
		return "", fmt.Errorf("StartServices needs at least one service")
	}
	svcs := map[string]any{}
	for _, s := range services {
		if s == nil {
			return "", fmt.Errorf("a nil *seam.Service was given")
		}
		if _, dup := svcs[s.name]; dup {
			return "", fmt.Errorf("two services are named %q", s.name)
		}
		svcs[s.name] = s.def
	}
	data, err := yaml.Marshal(map[string]any{"name": "go", "services": svcs})
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "seam.yaml")
	return file, os.WriteFile(file, data, 0o644)
}
