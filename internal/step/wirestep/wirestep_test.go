package wirestep

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
)

type recordedEnv struct {
	step.Services
	list []wire.Interaction
}

func (r recordedEnv) Interactions(time.Time) []wire.Interaction { return r.list }

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
