// Package natsstep is the `nats` step kind: publish a message, check the
// messages the system published during the test (seam's nats service
// records the subjects receive steps name, from the start), or check a
// JetStream stream's state.
package natsstep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// Kind is the nats step kind.
type Kind struct {
	conns *step.Clients[*natsgo.Conn]
}

// New returns the nats step kind.
func New() *Kind {
	return &Kind{conns: step.NewClients(func(url string) (*natsgo.Conn, error) {
		return natsgo.Connect(url, natsgo.Name("seam step"), natsgo.Timeout(5*time.Second))
	}, func(c *natsgo.Conn) { c.Close() })}
}

// Close closes every connection.
func (k *Kind) Close() { k.conns.Close() }

func (k *Kind) Usage() step.Usage {
	return step.Usage{
		Services: []string{"nats"},
		Name:     "nats",
		Summary: "publish a message, wait for messages published on a subject since the test began, " +
			"or read a JetStream stream's state, on a nats service",
		Inputs: []step.Input{
			{Name: "service", Doc: "a nats service of the suite"},
			{Name: "publish", Doc: "a subject to publish to, with data: and headers:"},
			{Name: "data", Doc: "publish: the message, text or any value sent as JSON"},
			{Name: "headers", Doc: "publish: message headers, a mapping"},
			{Name: "receive", Doc: "a subject (wildcards * and > allowed): wait until count: messages were published on it since the test began (as the bus received them: a message a service publishes after its answer without flushing its client may reach the bus once the next test began, and counts there)"},
			{Name: "count", Doc: "receive: how many messages to wait for (default 1); 0 checks that none comes"},
			{Name: "within", Doc: "how long receive waits (default 5s)"},
			{Name: "stream", Doc: "a JetStream stream name: its state"},
		},
		Fields: []expect.Field{
			{Name: "subject", Doc: "receive: the first message's subject; publish: the subject", Shape: expect.ScalarShape},
			{Name: "data", Doc: "receive: the first message's data, parsed as JSON when it is JSON"},
			{Name: "text", Doc: "receive: the first message's data as text", Shape: expect.ScalarShape},
			{Name: "headers", Doc: "receive: the first message's headers; names compare case-insensitively; repeated headers are a list", FoldKeys: true, Shape: expect.HeadersShape},
			{Name: "count", Doc: "receive: how many messages matched", Shape: expect.ScalarShape},
			{Name: "messages", Doc: "receive: every matching message, as {subject, data}; stream: the number of messages in it"},
			{Name: "bytes", Doc: "stream: bytes stored", Shape: expect.ScalarShape},
			{Name: "first_seq", Doc: "stream: first sequence number (sequences go on from test to test: a reset purges the stream, it cannot rewind them)", Shape: expect.ScalarShape},
			{Name: "last_seq", Doc: "stream: last sequence number (goes on from test to test, as first_seq)", Shape: expect.ScalarShape},
			{Name: "consumers", Doc: "stream: number of consumers", Shape: expect.ScalarShape},
			{Name: "subjects", Doc: "stream: its subjects"},
		},
		Example: "nats: {service: bus, receive: orders.created}\nexpect: {data: {.sku: A1}, count: 1}",
	}
}

type action struct {
	kind    *Kind
	Service expr.Str            `yaml:"service" seam:"required"`
	Publish expr.Str            `yaml:"publish"`
	Data    expr.Value          `yaml:"data"`
	Headers map[string]expr.Str `yaml:"headers"`
	Receive expr.Str            `yaml:"receive"`
	Count   int                 `yaml:"count"`
	Within  time.Duration       `yaml:"within"`
	Stream  expr.Str            `yaml:"stream"`
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{kind: k, Count: 1, Within: 5 * time.Second}
	before := d.Errs.Len()
	d.Decode(n, a, "nats")
	if d.Errs.Len() > before {
		return nil
	}
	modes := 0
	for _, set := range []bool{!a.Publish.IsZero(), !a.Receive.IsZero(), !a.Stream.IsZero()} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		d.Errorf(n, "nats: give exactly one of publish, receive and stream")
		return nil
	}
	if a.Publish.IsZero() && (a.Data.IsSet() || len(a.Headers) > 0) {
		d.Errorf(n, "nats: data and headers go with publish")
	}
	if a.Count < 0 {
		d.Errorf(n, "nats.count: want 0 (no message may come) or more")
	}
	return a
}

// CheckServices implements step.ServiceChecker: a receive step tells its
// nats service the subjects it watches, and seam's recorder subscribes to
// those alone. A template in the subject widens it to what it may be:
// orders.((kind)).created watches orders.*.created, orders.((id))
// orders.> (a value may hold dots).
func (a *action) CheckServices(sys *service.System, _ *diag.List) {
	if a.Receive.IsZero() || a.Service.IsZero() || a.Service.IsTemplate() {
		return
	}
	svc, ok := sys.Get(a.Service.Raw)
	if !ok {
		return // reported as an unknown service
	}
	if w, ok := svc.Spec.(interface{ Watch(subject string) }); ok {
		w.Watch(watchPattern(a.Receive))
	}
}

// watchPattern is the subject pattern a receive of s watches: a token
// with a template is any token (*), the last one, if only a template,
// any rest (>).
func watchPattern(s expr.Str) string {
	if !s.IsTemplate() {
		return s.Raw
	}
	const hole = "\x00"
	toks := strings.Split(s.WithHoles(hole), ".")
	for i, tok := range toks {
		switch {
		case tok == hole && i == len(toks)-1:
			toks[i] = ">"
		case strings.Contains(tok, hole):
			toks[i] = "*"
		}
	}
	return strings.Join(toks, ".")
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.Service) }

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	name, err := a.Service.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	switch {
	case !a.Publish.IsZero():
		return a.publish(ctx, env, name)
	case !a.Receive.IsZero():
		return a.receive(ctx, env, name)
	}
	return a.stream(ctx, env, name)
}

func (a *action) publish(ctx context.Context, env *step.Env, name string) (*step.Result, error) {
	url, err := step.Address(env, a.Service, expr.Str{}, "nats://", "nats")
	if err != nil {
		return nil, err
	}
	subject, err := a.Publish.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	msg := natsgo.NewMsg(subject)
	if a.Data.IsSet() {
		v, err := a.Data.Eval(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if s, ok := v.(string); ok {
			msg.Data = []byte(s)
		} else if msg.Data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	for _, k := range expr.SortedKeys(a.Headers) {
		v, err := a.Headers[k].String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("headers.%s: %w", k, err)
		}
		msg.Header.Set(k, v)
	}
	nc, err := a.kind.conns.Get(url)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", name, err)
	}
	sent := "PUB " + subject + "\n" + string(msg.Data)
	if err := nc.PublishMsg(msg); err != nil {
		return &step.Result{Request: sent}, err
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return &step.Result{Request: sent}, err
	}
	return &step.Result{Fields: map[string]any{"subject": subject}, Request: sent, Response: "published"}, nil
}

func (a *action) receive(ctx context.Context, env *step.Env, name string) (*step.Result, error) {
	rec, ok := env.Services.(step.Recorders)
	if !ok || env.Services == nil {
		return nil, fmt.Errorf("service %q: this suite starts no services", name)
	}
	log, err := rec.Messages(name)
	if err != nil {
		return nil, err
	}
	subject, err := a.Receive.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	late, err := log.Watch(subject)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", subject, err)
	}
	wctx, cancel := context.WithTimeout(ctx, a.Within)
	defer cancel()
	want := a.Count
	if want == 0 {
		want = 1 << 30 // watch the whole window: none may come
	}
	msgs := log.Wait(wctx, subject, env.Start, want)
	sent := fmt.Sprintf("wait for %d message(s) on %s since the test began (up to %s)", a.Count, subject, a.Within)
	if a.Count == 0 {
		if len(msgs) > 0 {
			return &step.Result{Request: sent, Response: responseText(msgs)},
				fmt.Errorf("%d message(s) on %s, want none", len(msgs), subject)
		}
		return &step.Result{Fields: map[string]any{"count": 0, "messages": []any{}}, Request: sent, Response: "no message"}, nil
	}
	all := make([]any, len(msgs))
	for i, m := range msgs {
		all[i] = map[string]any{"subject": m.Subject, "data": decodeData(m.Data)}
	}
	if len(msgs) < a.Count {
		err := fmt.Errorf("%d message(s) on %s within %s, want %d", len(msgs), subject, a.Within, a.Count)
		if late {
			err = fmt.Errorf("%w (seam recorded %s only from this step on, so a message before the step was not seen: at load "+
				"no receive step named it, as this one's templates were unknown then; give service: a name, not a template, "+
				"and a template a whole token of the subject, as orders.((kind)).created)", err, subject)
		}
		return &step.Result{Request: sent, Response: responseText(msgs)}, err
	}
	first := msgs[0]
	fields := map[string]any{
		"subject": first.Subject, "data": decodeData(first.Data), "text": string(first.Data),
		"headers": step.HeaderFields(first.Headers), "count": len(msgs), "messages": all,
	}
	return &step.Result{Fields: fields, Request: sent, Response: responseText(msgs)}, nil
}

func (a *action) stream(ctx context.Context, env *step.Env, name string) (*step.Result, error) {
	st, ok := env.Services.(step.Streams)
	if !ok || env.Services == nil {
		return nil, fmt.Errorf("service %q: this suite starts no services", name)
	}
	stream, err := a.Stream.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	info, err := st.StreamInfo(ctx, name, stream)
	if err != nil {
		return nil, err
	}
	return &step.Result{Fields: info, Request: "stream " + stream, Response: expr.Format(info)}, nil
}

func decodeData(b []byte) any {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"') {
		if v, err := expr.DecodeJSON(t); err == nil {
			return v
		}
	}
	return string(b)
}

func responseText(msgs []step.Message) string {
	if len(msgs) == 0 {
		return "no message"
	}
	var b strings.Builder
	for i, m := range msgs {
		if i == 20 {
			fmt.Fprintf(&b, "… %d messages in all\n", len(msgs))
			break
		}
		fmt.Fprintf(&b, "%s %s\n", m.Subject, m.Data)
	}
	return strings.TrimRight(b.String(), "\n")
}
