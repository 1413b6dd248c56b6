package wirestep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
)

type recordedEnv struct {
	step.Services
	list []wire.Interaction
}

func (r recordedEnv) Interactions(time.Time) []wire.Interaction { return r.list }

// URL knows the services at the ends of the recorded edges.
func (r recordedEnv) URL(name string) (string, error) {
	for _, in := range r.list {
		from, to, _ := strings.Cut(in.Edge, "→")
		if name == from || name == to {
			return "http://" + name, nil
		}
	}
	return "", fmt.Errorf("no service %q", name)
}

func decodeStep(t *testing.T, src string) (*action, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	a := Kind{}.Decode(decode.New("t.yaml", &errs), n.Content[0])
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a.(*action), nil
}

func TestRedisAndSQLFieldsAndCountRanges(t *testing.T) {
	now := time.Now()
	env := recordedEnv{list: []wire.Interaction{
		{Edge: "app→cache", Protocol: "redis", Method: "REDIS", Target: "GET stock:A1", Command: "GET", Key: "stock:A1", Result: "3 bytes", Start: now, End: now},
		{Edge: "app→cache", Protocol: "redis", Method: "REDIS", Target: "GET stock:B2", Command: "GET", Key: "stock:B2", Result: "nil", Start: now, End: now},
		{Edge: "app→cache", Protocol: "redis", Method: "REDIS", Target: "EVALSHA abc", Command: "EVALSHA", Key: "abc", Result: "-NOSCRIPT", Start: now, End: now},
		{Edge: "app→db", Protocol: "postgres", Method: "SQL", Target: "insert into users (email) values ($1)", Result: "ERROR 23505: duplicate key", Start: now, End: now},
		{Edge: "app→api", Protocol: "http", Method: "POST", Target: "/pay", Status: 503, Result: "503 Service Unavailable", Injected: true, Start: now, End: now},
		{Edge: "app→bus", Protocol: "nats", Method: "NATS", Target: "orders.created", Command: "PUB", Key: "orders.created", Result: "published", Start: now, End: now},
		{Edge: "app→bus", Protocol: "nats", Method: "NATS", Target: "orders.eu.paid", Command: "PUB", Key: "orders.eu.paid", Result: "published", Start: now, End: now},
		{Edge: "app→bus", Protocol: "nats", Method: "NATS", Target: "orders.created", Command: "MSG", Key: "orders.created", Result: "received", Start: now, End: now},
		// Events of the edges, not calls: a fault set and cleared, a reset.
		{Edge: "app→api", Protocol: "fault", Op: "fault", Result: "answer /pay with 503", Start: now, End: now},
		{Edge: "app→api", Protocol: "fault", Op: "fault", Result: "cleared", Start: now, End: now},
		{Edge: "app→cache", Protocol: "tcp", Op: "connection", Result: "reset", Note: "(nothing in flight)", Suspicious: true, Start: now, End: now},
	}}
	for _, tc := range []struct {
		src  string
		pass bool
	}{
		{`{from: app, to: cache, command: get, key: "stock:*", count: 2}`, true},
		{`{from: app, to: cache, command: GET, key: "stock:*", count: "2..5"}`, true},
		{`{from: app, to: cache, command: GET, count: "3.."}`, false},
		{`{from: app, to: cache, command: EVALSHA, result: NOSCRIPT, count: ">=1"}`, true},
		{`{from: app, to: cache, command: DEL, count: 0}`, true},
		{`{from: app, to: cache, command: GET, count: "<2"}`, false},
		{`{from: app, to: db, sql: "^insert into users", result: "23505", count: 1}`, true},
		{`{from: app, to: db, sql: "^update", count: ">0"}`, false},
		{`{from: app, to: api, path: /pay, injected: true, count: 1}`, true},
		{`{from: app, to: api, path: /pay, injected: false, count: 0}`, true},
		// NATS: the subject as NATS matches it (* one token, > the rest).
		{`{from: app, to: bus, command: PUB, key: "orders.*", count: 1}`, true},
		{`{from: app, to: bus, command: pub, key: "orders.>", count: 2}`, true},
		{`{from: app, to: bus, key: "orders.*.paid", result: published, count: 1}`, true},
		{`{from: app, to: bus, command: MSG, key: orders.created, count: 1}`, true},
		{`{from: app, to: bus, key: "orders", count: 0}`, true},
		{`{from: app, to: bus, key: ">", count: 3}`, true},
		{`{from: app, to: cache, key: "stock:>", count: 0}`, true},
		// Calls only, unless a result asks for what happened to a
		// connection; a fault's marker never counts.
		{`{from: app, to: api, count: 1}`, true},
		{`{from: app, to: cache, count: 3}`, true},
		{`{from: app, to: cache, result: reset, count: 1}`, true},
		{`{from: app, to: api, result: "503", count: 1}`, true},
	} {
		a, err := decodeStep(t, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		_, err = a.Run(context.Background(), &step.Env{Services: env})
		var failed *step.Failed
		if tc.pass && err != nil || !tc.pass && !errors.As(err, &failed) {
			t.Errorf("%s: %v (want pass %v)", tc.src, err, tc.pass)
		}
	}
}

func TestBadCountsArePlaced(t *testing.T) {
	for _, src := range []string{
		`{from: a, to: b, count: "5..2"}`, `{from: a, to: b, count: "two"}`, `{from: a, to: b, count: -1}`,
		`{from: a, to: b, count: ".."}`, `{from: a, to: b, count: "<0"}`, `{from: a, to: b, key: "[x"}`,
	} {
		_, err := decodeStep(t, src)
		if err == nil || !strings.Contains(err.Error(), "t.yaml:1:") {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// decodeWith decodes a step where the variables in vars are defined.
func decodeWith(t *testing.T, src string, vars ...string) (*action, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	d := decode.New("t.yaml", &errs)
	d.Vars = map[string]bool{}
	for _, v := range vars {
		d.Vars[v] = true
	}
	a := Kind{}.Decode(d, n.Content[0])
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a.(*action), nil
}

func TestTemplatesInPatterns(t *testing.T) {
	now := time.Now()
	env := recordedEnv{list: []wire.Interaction{
		{Edge: "app→cache", Protocol: "redis", Method: "REDIS", Target: "SET short:key v", Command: "SET", Key: "short:key", Result: "+OK", Start: now, End: now},
		{Edge: "app→api", Protocol: "http", Method: "GET", Target: "/orders/42", Status: 200, Result: "200 OK", Start: now, End: now.Add(time.Millisecond)},
		{Edge: "app→db", Protocol: "postgres", Method: "SQL", Target: "insert into orders (sku) values ($1)", Result: "INSERT 0 1", Start: now.Add(2 * time.Millisecond), End: now.Add(3 * time.Millisecond)},
		{Edge: "app→auth", Protocol: "grpc", Method: "POST", Target: "/auth.v1.Auth/Check", Start: now, End: now},
	}}
	env.list[3].GRPCStatus = 16 // UNAUTHENTICATED
	vars := map[string]any{"s": "short:key", "id": float64(42), "cmd": "set", "table": "orders", "caller": "app",
		"svc": "auth.v1.Auth", "code": "UNAUTHENTICATED", "ok": "+OK", "verb": "get"}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	for _, tc := range []struct {
		src  string
		pass bool
	}{
		{`{from: app, to: cache, command: SET, key: ((s)), count: 1}`, true},
		{`{from: app, to: cache, command: ((cmd)), key: "short:*", count: 1}`, true},
		{`{from: app, to: cache, command: ((cmd)), result: ((ok)), count: 1}`, true},
		{`{from: app, to: cache, command: ((verb)), count: 1}`, false},
		{`{from: app, to: api, method: ((verb)), path: /orders/((id)), status: 200, count: 1}`, true},
		{`{from: app, to: api, path: /orders/((id + 1)), count: 1}`, false},
		{`{from: ((caller)), to: db, sql: "^insert into ((table)) ", count: 1}`, true},
		{`{from: app, to: db, sql: "^update ((table))", count: 0}`, true},
		{`{from: app, to: auth, grpc: /((svc))/Check, code: ((code)), count: 1}`, true},
		{`{from: app, to: api, path: /orders/((id)), count: 1, before: {from: ((caller)), to: db, sql: "into ((table))"}}`, true},
	} {
		a, err := decodeWith(t, tc.src, names...)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		_, err = a.Run(context.Background(), &step.Env{Services: env, Vars: vars})
		var failed *step.Failed
		if tc.pass && err != nil || !tc.pass && !errors.As(err, &failed) {
			t.Errorf("%s: %v (want pass %v)", tc.src, err, tc.pass)
		}
	}
}

// TestTemplateValuesMatchThemselves: a template's value in a glob (path,
// grpc, key) or a regular expression (sql) matches as the text it is, its
// * ? [ + ( . no wildcards, while the pattern's own keep their meaning.
func TestTemplateValuesMatchThemselves(t *testing.T) {
	now := time.Now()
	http := func(target string) wire.Interaction {
		return wire.Interaction{Edge: "app→api", Protocol: "http", Method: "GET", Target: target, Status: 200, Start: now, End: now}
	}
	redis := func(key string) wire.Interaction {
		return wire.Interaction{Edge: "app→cache", Protocol: "redis", Method: "REDIS", Command: "GET", Key: key, Target: "GET " + key, Start: now, End: now}
	}
	sql := func(q, result string) wire.Interaction {
		return wire.Interaction{Edge: "app→db", Protocol: "postgres", Method: "SQL", Target: q, Result: result, Start: now, End: now}
	}
	grpc := func(method string) wire.Interaction {
		return wire.Interaction{Edge: "app→auth", Protocol: "grpc", Method: "POST", Target: method, Start: now, End: now}
	}
	env := recordedEnv{list: []wire.Interaction{
		http("/files/a*b"), http("/files/aXb"), http("/files/x/a*b"), http("/search?q=a+b (1)"), http("/search?q=aab (1)"),
		redis("cart:u[1]"), redis("cart:u1"), redis("session:a?xyz"), redis("session:abxyz"), redis("k:x\\y"),
		sql("select id from users where email = 'a+b@x.com'", "SELECT 1"), sql("select id from users where email = 'aab@xycom'", "SELECT 2"),
		grpc("/auth.v1.Auth/Check"),
	}}
	vars := map[string]any{"name": "a*b", "q": "a+b (1)", "user": "u[1]", "id": "a?", "email": "a+b@x.com",
		"svc": "auth.v1.*", "back": `x\y`, "Name": "A*B"}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	for _, src := range []string{
		`{from: app, to: api, path: /files/((name)), count: 1}`,
		`{from: app, to: api, path: "/files/*/((name))", count: 1}`, // the pattern's own * still a wildcard
		`{from: app, to: api, path: "/search?q=((q))", count: 1}`,
		`{from: app, to: api, path: "/files/((Name))", count: 0}`, // a glob is case-sensitive, as ever
		`{from: app, to: cache, key: "cart:((user))", count: 1}`,
		`{from: app, to: cache, key: "session:((id))*", count: 1}`,
		`{from: app, to: cache, key: "k:((back))", count: 1}`,
		`{from: app, to: db, sql: "^select .* where email = '((email))'$", result: "SELECT 1", count: 1}`,
		`{from: app, to: db, sql: "email = '((email))'", count: 1}`,
		`{from: app, to: db, sql: "EMAIL = '((email))'", count: 1}`, // still case-insensitive
		`{from: app, to: auth, grpc: /((svc))/Check, count: 0}`,
		`{from: app, to: api, path: /files/((name)), count: 1, before: {from: app, to: db, sql: "'((email))'"}}`,
	} {
		a, err := decodeWith(t, src, names...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := a.Run(context.Background(), &step.Env{Services: env, Vars: vars}); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	// Messages show the value as it is, not quoted.
	a, err := decodeWith(t, `{from: app, to: cache, key: "cart:((user))", count: 2}`, names...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Run(context.Background(), &step.Env{Services: env, Vars: vars})
	if err == nil || !strings.HasPrefix(err.Error(), "1 interaction(s) matched app→cache cart:u[1]; want exactly 2") {
		t.Errorf("message: %v", err)
	}
}

// A template that cannot be evaluated, or gives what the loader would
// refuse, is a step error naming the field.
func TestTemplateErrorsAtRun(t *testing.T) {
	env := recordedEnv{}
	vars := map[string]any{"glob": "[x", "re": "(", "none": nil, "empty": "", "name": "Check", "code": "NOPE", "who": "webb"}
	for _, tc := range []struct{ src, want string }{
		// A value is quoted in (it cannot break a pattern), but the
		// pattern's own text around it can.
		{`{from: a, to: b, key: "((name))[x"}`, `interactions.key: "Check[x": syntax error in pattern (from ((name))[x)`},
		{`{from: a, to: b, path: "/x/((glob))/[y"}`, `interactions.path: "/x/\\[x/[y": syntax error in pattern (from /x/((glob))/[y)`},
		{`{from: a, to: b, sql: "^((re))("}`, `interactions.sql: not a regular expression: `},
		{`{from: a, to: b, grpc: ((name))}`, `interactions.grpc: "Check" is not a gRPC method path`},
		{`{from: a, to: b, code: ((code))}`, `interactions.code: "NOPE" is not a gRPC status`},
		{`{from: a, to: b, command: ((none))}`, `interactions.command: (( none )) is null`},
		{`{from: a, to: b, key: ((empty))}`, `interactions.key: ((empty)) gives an empty string`},
		{`{from: a, to: b, method: ((missing))}`, `interactions.method: (( missing )) is null`},
		{`{from: a, to: b, result: ((glob + 1))}`, `interactions.result: (( glob + 1 )): `},
		{`{from: a, to: b, before: {from: a, to: c, key: "((name))[x"}}`, `interactions.before.key: "Check[x"`},
		// A misspelt end a template gives: an error, not a vacuous match.
		{`{from: ((who)), to: api, never: true}`, `interactions.from: ((who)) gives "webb", which is no service of the suite`},
	} {
		a, err := decodeStep(t, tc.src) // names are not checked: the error comes at run
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		_, err = a.Run(context.Background(), &step.Env{Services: env, Vars: vars})
		var failed *step.Failed
		if err == nil || errors.As(err, &failed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.src, err, tc.want)
		}
	}
}

// A template that names an undefined variable is reported when the suite
// loads, at the template's position; a plain string is still checked then.
func TestTemplateErrorsAtLoad(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{from: a, to: b, key: ((nope))}`, `t.yaml:1:25: undefined variable "nope"`},
		{`{from: a, to: b, path: /orders/((idd))}`, `t.yaml:1:34: undefined variable "idd"`},
		{`{from: a, to: b, command: ((s)), sql: "x ((x)"}`, `t.yaml:1:42: template (( is closed by a single )`},
		{`{from: a, to: b, before: {from: a, to: c, command: ((nope))}}`, `t.yaml:1:54: undefined variable "nope"`},
		{`{from: a, to: b, path: "[x"}`, `t.yaml:1:24: interactions.path: "[x": syntax error in pattern`},
		{`{from: a, to: b, sql: "("}`, `t.yaml:1:23: interactions.sql: not a regular expression`},
		{`{from: a, to: b, key: "((s))[x"}`, ``}, // checked once evaluated
	} {
		_, err := decodeWith(t, tc.src, "s")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Services and edges named by a template are not checked at load.
func TestTemplatedEdgeRefs(t *testing.T) {
	a, err := decodeWith(t, `{from: ((caller)), to: db, before: {from: app, to: cache}}`, "caller")
	if err != nil {
		t.Fatal(err)
	}
	if refs := a.EdgeRefs(); len(refs) != 1 || refs[0].From != "app" || refs[0].To != "cache" {
		t.Errorf("edges: %+v", refs)
	}
	var names []string
	for _, r := range a.ServiceRefs() {
		names = append(names, r.Name)
	}
	if strings.Join(names, " ") != "db app cache" {
		t.Errorf("services: %v", names)
	}
}

// A key that cannot match on its edge (an HTTP method on an edge to a
// Redis service, sql: on one to a stub) is refused where it is written,
// before: included; a gRPC method must be one of the callee's when its
// protos are known. Edges to a process, which may speak anything, and
// edges named by a template are not checked.
func TestCheckServices(t *testing.T) {
	dir := t.TempDir()
	src := "syntax = \"proto3\";\npackage a.v1;\nmessage R {}\nservice A { rpc Do(R) returns (R); }\n"
	if err := os.WriteFile(filepath.Join(dir, "a.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := protos.Load(context.Background(), protos.Sources{Dir: dir, Protos: []string{"a.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	sys := service.NewSystem([]*service.Service{{Name: "app", Kind: "process"}, {Name: "cache", Kind: "redis"},
		{Name: "db", Kind: "postgres"}, {Name: "maria", Kind: "mariadb"}, {Name: "bus", Kind: "nats"},
		{Name: "api", Kind: "stub"}, {Name: "g", Kind: "process", Descriptors: files}})
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`{from: app, to: cache, method: GET, never: true}`, []string{"1:32: interactions.method: cache is a redis service, so app→cache carries Redis, not HTTP: the pattern would never match"}},
		{`{from: app, to: cache, path: /x, status: 200}`, []string{"1:30: interactions.path: cache is a redis", "1:42: interactions.status: cache is a redis"}},
		{`{from: app, to: db, grpc: /a.v1.A/Do, code: OK}`, []string{"1:27: interactions.grpc: db is a postgres", "1:45: interactions.code: db is a postgres"}},
		{`{from: app, to: cache, sql: x}`, []string{"1:29: interactions.sql: cache is a redis service, so app→cache carries Redis, not PostgreSQL or MySQL"}},
		{`{from: app, to: api, sql: x}`, []string{"1:27: interactions.sql: api is a stub service, so app→api carries HTTP"}},
		{`{from: app, to: maria, command: GET}`, []string{"1:33: interactions.command: maria is a mariadb service, so app→maria carries MySQL, not Redis or NATS"}},
		{`{from: app, to: api, key: x}`, []string{"1:27: interactions.key: api is a stub"}},
		{`{from: app, to: api, path: /x, before: {from: app, to: bus, method: POST}}`, []string{"1:69: interactions.before.method: bus is a nats service"}},
		{`{from: app, to: g, grpc: /a.v1.A/Dox}`, []string{"1:26: interactions.grpc: g serves no method /a.v1.A/Dox (did you mean /a.v1.A/Do?"}},
		{`{from: app, to: g, grpc: "/a.v1.B/*", never: true}`, []string{"1:26: interactions.grpc: /a.v1.B/* matches none of the methods g serves"}},
		// What can match.
		{`{from: app, to: cache, command: GET, key: "item:*", result: "+OK", injected: false}`, nil},
		{`{from: app, to: bus, command: PUB, key: "orders.>"}`, nil},
		{`{from: app, to: db, sql: "^insert", result: "INSERT 0 1"}`, nil},
		{`{from: app, to: maria, sql: "^insert"}`, nil},
		{`{from: app, to: db, method: SQL}`, nil}, // an interaction's method is SQL there
		{`{from: app, to: cache, method: redis}`, nil},
		{`{from: app, to: bus, method: NATS}`, nil},
		{`{from: app, to: api, method: POST, path: /x, status: 200, grpc: /a.v1.A/Do, code: OK}`, nil},
		{`{from: app, to: app, sql: x, command: GET, key: k, method: GET}`, nil}, // a process may speak anything
		{`{from: app, to: g, grpc: a.v1.A/Do}`, nil},
		{`{from: app, to: g, grpc: "/a.v1.A/*"}`, nil},
		{`{from: app, to: cache, result: reset}`, nil},
		{`{from: app, to: cache, method: ((verb))}`, nil}, // known at run
		{`{from: ((who)), to: cache, method: GET}`, nil},
	} {
		a, err := decodeWith(t, tc.src, "verb", "who")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		var errs diag.List
		a.CheckServices(sys, &errs)
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if n := strings.Count(got, "t.yaml:"); n != len(tc.want) {
			t.Errorf("%s: %d problems, want %d:\n%s", tc.src, n, len(tc.want), got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, "t.yaml:"+w) {
				t.Errorf("%s: no %q in:\n%s", tc.src, w, got)
			}
		}
	}
}

// A gRPC method may leave out its leading /, as the grpc step's may,
// written or from a template; a status must be one gRPC defines.
func TestGRPCMethodAndCode(t *testing.T) {
	now := time.Now()
	env := recordedEnv{list: []wire.Interaction{
		{Edge: "app→auth", Protocol: "grpc", Method: "POST", Target: "/auth.v1.Auth/Check", Start: now, End: now},
	}}
	env.list[0].GRPCStatus = 16 // UNAUTHENTICATED
	vars := map[string]any{"m": "auth.v1.Auth/Check"}
	for _, src := range []string{
		`{from: app, to: auth, grpc: auth.v1.Auth/Check, code: 16, count: 1}`,
		`{from: app, to: auth, grpc: "auth.v1.*/Check", count: 1}`,
		`{from: app, to: auth, grpc: ((m)), count: 1}`,
		`{from: app, to: auth, path: /x, count: 0, before: {from: app, to: auth, grpc: auth.v1.Auth/Check}}`,
	} {
		a, err := decodeWith(t, src, "m")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := a.Run(context.Background(), &step.Env{Services: env, Vars: vars}); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	for _, src := range []string{`{from: a, to: b, code: 99}`, `{from: a, to: b, code: "17"}`, `{from: a, to: b, code: -1}`} {
		if _, err := decodeStep(t, src); err == nil || !strings.Contains(err.Error(), "t.yaml:1:24: interactions.code: ") {
			t.Errorf("%s: %v", src, err)
		}
	}
	a, err := decodeWith(t, `{from: a, to: b, code: ((c))}`, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), &step.Env{Services: recordedEnv{}, Vars: map[string]any{"c": float64(42)}}); err == nil || !strings.Contains(err.Error(), `interactions.code: "42" is not a gRPC status`) {
		t.Errorf("code from a template: %v", err)
	}
}

// TestInjectedConnectionEventsAreNamed: a check with injected: true and
// no result: counts calls only, so the resets a fault made at connect do
// not match; its failure says they are there and how to match them.
func TestInjectedConnectionEventsAreNamed(t *testing.T) {
	now := time.Now()
	reset := wire.Interaction{Edge: "app→api", Protocol: "tcp", Op: "connection", Result: "reset by a fault at connect",
		Suspicious: true, Injected: true, Start: now, End: now}
	env := recordedEnv{list: []wire.Interaction{reset, reset, reset,
		{Edge: "app→api", Protocol: "fault", Op: "fault", Result: "reset", Start: now, End: now}}}
	run := func(src string) error {
		a, err := decodeStep(t, src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Run(context.Background(), &step.Env{Services: env})
		return err
	}
	err := run(`{from: app, to: api, injected: true, count: 3}`)
	if err == nil || !strings.Contains(err.Error(), "0 interaction(s) matched app→api (injected); want exactly 3; "+
		"3 connection event(s) on this edge were injected by a fault (reset by a fault at connect), which are no calls: match them with result: reset\n") {
		t.Errorf("got %v", err)
	}
	if err := run(`{from: app, to: api, injected: true, result: reset, count: 3}`); err != nil {
		t.Errorf("as the hint says: %v", err)
	}
	if err := run(`{from: app, to: api, injected: false, count: 1}`); err == nil || strings.Contains(err.Error(), "connection event") {
		t.Errorf("real traffic only: %v", err)
	}
}

// TestBeforeIsSendOrder: before: is the order the calls were sent in. A
// pipelining client sends EXEC before MULTI's answer comes: MULTI still
// comes first. The other way round, the message names what was sent first.
func TestBeforeIsSendOrder(t *testing.T) {
	t0 := time.Now()
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	cmd := func(c string, start, end int) wire.Interaction {
		return wire.Interaction{Edge: "app→cache", Protocol: "redis", Op: "REDIS " + c, Method: "REDIS", Target: c, Command: c,
			Result: "+OK", Start: at(start), End: at(end)}
	}
	for _, tc := range []struct {
		list []wire.Interaction
		fail string
	}{
		{[]wire.Interaction{cmd("MULTI", 0, 50), cmd("EXEC", 10, 60)}, ""}, // pipelined
		{[]wire.Interaction{cmd("MULTI", 0, 50), cmd("EXEC", 0, 60)}, ""},  // one write, one clock reading
		{[]wire.Interaction{cmd("EXEC", 0, 50), cmd("MULTI", 0, 60)}, "were sent at the same moment and app→cache EXEC was answered first"},
		{[]wire.Interaction{cmd("EXEC", 0, 5), cmd("MULTI", 10, 20)}, "but app→cache EXEC was sent first: "},
	} {
		a, err := decodeStep(t, `{from: app, to: cache, command: MULTI, before: {from: app, to: cache, command: EXEC}}`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Run(context.Background(), &step.Env{Services: recordedEnv{list: tc.list}, Start: t0})
		switch {
		case tc.fail == "" && err != nil:
			t.Errorf("%v: %v", tc.list, err)
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%v: %v; want %q", tc.list, err, tc.fail)
		}
	}
}
