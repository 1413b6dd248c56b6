// Package redisstep is the `redis` step kind: one command to a Redis
// service, its reply as the result.
package redisstep

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// Kind is the redis step kind; it keeps one client per server, whose
// options each step's connection of its own is dialled with.
type Kind struct {
	clients *step.Clients[*goredis.Client]
}

// New returns the redis step kind.
func New() *Kind {
	return &Kind{clients: step.NewClients(func(url string) (*goredis.Client, error) {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			return nil, err
		}
		opts.MaxRetries = -1
		// Each step dials a connection of its own (Run): spare it the
		// CLIENT SETINFO round trip that names the library.
		opts.DisableIdentity = true
		return goredis.NewClient(opts), nil
	}, func(c *goredis.Client) { c.Close() })}
}

// Close closes every client.
func (k *Kind) Close() { k.clients.Close() }

func (k *Kind) Usage() step.Usage {
	return step.Usage{
		Services: []string{"redis"},
		Name:     "redis",
		Summary:  "send one command to a Redis service and check the reply",
		Inputs: []step.Input{
			{Name: "service", Doc: "a redis service of the suite; or give url"},
			{Name: "url", Doc: "a redis:// URL"},
			{Name: "command", Doc: "the command: a list like [HGET, user:1, name], or a string split on spaces"},
		},
		Fields: []expect.Field{
			{Name: "reply", Doc: "the reply: text, number, list, or null for a missing key"},
			{Name: "duration_ms", Doc: "round trip in milliseconds", Shape: expect.ScalarShape},
		},
		Example: "redis: {service: cache, command: [GET, greeting]}\nexpect: {reply: hello}",
	}
}

type action struct {
	kind    *Kind
	Service expr.Str `yaml:"service"`
	URL     expr.Str `yaml:"url"`
	Command words    `yaml:"command"`
}

// words is a command: a list, or a string split on spaces (each word may
// hold templates).
type words []expr.Str

func (w *words) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		for _, f := range strings.Fields(n.Value) {
			s := expr.Str{}
			s.DecodeYAML(d, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f, Line: n.Line, Column: n.Column})
			*w = append(*w, s)
		}
		return
	}
	var list []expr.Str
	d.Decode(n, &list, "redis.command")
	*w = list
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{kind: k}
	before := d.Errs.Len()
	d.Decode(n, a, "redis")
	if d.Errs.Len() > before {
		return nil
	}
	if len(a.Command) == 0 {
		d.Errorf(n, "redis: missing required key \"command\"")
		return nil
	}
	if a.Service.IsZero() == a.URL.IsZero() {
		d.Errorf(n, "redis: give either service or url")
		return nil
	}
	return a
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.Service) }

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	url, err := step.Address(env, a.Service, a.URL, "redis://", "redis")
	if err != nil {
		return nil, err
	}
	args := make([]any, len(a.Command))
	words := make([]string, len(a.Command))
	for i, s := range a.Command {
		w, err := s.String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("command[%d]: %w", i, err)
		}
		args[i], words[i] = w, w
	}
	sent := strings.Join(words, " ")
	c, err := a.kind.clients.Get(url)
	if err != nil {
		return nil, err
	}
	// A connection of the step's own, closed after it: what a command
	// changes on its connection (SELECT, MULTI, WATCH, CLIENT SETNAME,
	// SUBSCRIBE, HELLO, AUTH…) must not reach later steps, and a pooled
	// connection would carry it to them. Connecting first keeps dialling
	// out of duration_ms; the server's answer to that PING does not
	// matter (NOAUTH before a step's own AUTH, say), only that it came.
	conn := c.EphemeralConn()
	defer conn.Close()
	var answer goredis.Error
	if err := conn.Ping(ctx).Err(); err != nil && !errors.As(err, &answer) {
		return &step.Result{Request: sent}, fmt.Errorf("redis %s: %v", words[0], err)
	}
	start := time.Now()
	reply, err := conn.Do(ctx, args...).Result()
	elapsed := time.Since(start)
	if errors.Is(err, goredis.Nil) {
		reply, err = nil, nil
	}
	if err != nil {
		return &step.Result{Request: sent}, fmt.Errorf("redis %s: %v", words[0], err)
	}
	v := expr.Normalize(reply)
	return &step.Result{
		Fields:  map[string]any{"reply": v, "duration_ms": float64(elapsed.Microseconds()) / 1000},
		Request: sent, Response: expr.Show(v),
	}, nil
}
