package suite_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/suite"
)

const modes = `vars:
  mode: http
  port_name: http
  extra: ""
services:
  api:
    process:
      run: [./api, ((mode))]
      env: {MODE: ((mode)), KEEP: kept}
    ports: '((mode == "grpc" ? ["grpc", "http"] : ["http"]))'
  client:
    process: {run: [./client]}
    depends_on: [api]
profiles:
  grpc:
    vars: {mode: grpc}
    services:
      api:
        process: {env: {MODE: grpc-env, EXTRA: x}}
      client:
        depends_on: []
tests:
  - name: t
    steps: [{exec: [true]}]
`

// A profile's vars and service settings are laid over the suite's: env
// merges key by key, ports and depends_on are replaced.
func TestProfileOverrides(t *testing.T) {
	for _, tc := range []struct {
		profile string
		vars    map[string]string
		mode    string
		env     map[string]string
		ports   []string
		deps    int
	}{
		{"", nil, "http", map[string]string{"MODE": "((mode))", "KEEP": "kept"}, []string{"http"}, 1},
		{"grpc", nil, "grpc", map[string]string{"MODE": "grpc-env", "KEEP": "kept", "EXTRA": "x"}, []string{"grpc", "http"}, 0},
		{"", map[string]string{"mode": "grpc"}, "http", map[string]string{"MODE": "((mode))", "KEEP": "kept"}, []string{"grpc", "http"}, 1},
	} {
		s, _, err := loadText(t, modes, suite.Options{Profile: tc.profile, Vars: tc.vars})
		if err != nil {
			t.Fatalf("profile %q: %v", tc.profile, err)
		}
		mode, err := s.Vars[0].Value.Eval(nil)
		if err != nil || mode != tc.mode {
			t.Errorf("profile %q: mode = %v, %v; want %s", tc.profile, mode, err, tc.mode)
		}
		api, _ := s.System.Get("api")
		env := map[string]string{}
		for k, v := range api.Spec.(*process.Spec).Env {
			env[k] = v.Raw
		}
		if !reflect.DeepEqual(env, tc.env) {
			t.Errorf("profile %q: env = %v; want %v", tc.profile, env, tc.env)
		}
		if !reflect.DeepEqual(api.Ports, tc.ports) {
			t.Errorf("profile %q: ports = %v; want %v", tc.profile, api.Ports, tc.ports)
		}
		client, _ := s.System.Get("client")
		if len(client.DependsOn) != tc.deps {
			t.Errorf("profile %q: client depends on %v; want %d", tc.profile, client.DependsOn, tc.deps)
		}
	}
}

// A problem of the applied profile is reported once.
func TestProfileAppliedReportedOnce(t *testing.T) {
	text := strings.Replace(modes, "profiles:\n", "profiles:\n  bad:\n    services: {api: {process: {evn: {}}}}\n", 1)
	_, _, err := loadText(t, text, suite.Options{Profile: "bad"})
	var list *diag.List
	if !errors.As(err, &list) {
		t.Fatalf("Load = %v, want problems", err)
	}
	if got := list.Errors(); len(got) != 1 || !strings.Contains(got[0].Error(), `unknown key "evn"`) || got[0].Pos.Line != 16 {
		t.Fatalf("got %v; want one unknown key at line 16", err)
	}
}
