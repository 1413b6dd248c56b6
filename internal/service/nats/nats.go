// Package nats is the `nats` service kind: a real NATS server from the
// machine's nats-server, with JetStream, init streams and consumers, and a
// recorder of the messages on the subjects the suite's nats steps receive,
// so tests can check what was published.
package nats

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/datadir"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/token"
	"go.yaml.in/yaml/v4"
)

// maxRecorded bounds the recorder.
const maxRecorded = 20000

// Kind is the nats service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "nats",
		Summary: "a NATS server with JetStream (Debian package nats-server). seam records the messages on the subjects " +
			"the suite's nats steps receive (those alone, so a request nobody serves is still told \"no responders\"). Its url is nats://seam:PASSWORD@127.0.0.1:PORT: clients log in as user seam with a random password per environment (info user, password; $SEAM_<NAME>_PASSWORD)",
		Inputs: []service.Input{
			{Name: "streams", Doc: "JetStream streams to create, each {name, subjects}"},
			{Name: "consumers", Doc: "durable consumers to create, each {stream, name, filter}"},
			{Name: "reset", Doc: "per-test (default), per-suite or never. Per test, the streams and durable consumers are put back as at the baseline: " +
				"streams purged and given back their settings, streams and durable consumers a test made deleted, those it deleted made again. " +
				"A consumer in use stays (a service consuming it goes on, and is delivered each later message once): the purge moves it past the messages removed. " +
				"Stream sequence numbers go on from test to test (a purge cannot rewind them; deleting the stream would break the consumers in use), so check messages, not first_seq/last_seq. " +
				"Ephemeral consumers are their clients' (the server deletes them once idle)"},
			{Name: "bin", Doc: "the nats-server binary"},
		},
		Example: "nats:\n  streams: [{name: ORDERS, subjects: [orders.>]}]",
	}
}

type streamSpec struct {
	Name     string   `yaml:"name" seam:"required"`
	Subjects []string `yaml:"subjects" seam:"required"`
}

type consumerSpec struct {
	Stream string `yaml:"stream" seam:"required"`
	Name   string `yaml:"name" seam:"required"`
	Filter string `yaml:"filter"`
}

// Spec is a decoded nats service.
type Spec struct {
	Streams   []streamSpec   `yaml:"streams"`
	Consumers []consumerSpec `yaml:"consumers"`
	Reset     string         `yaml:"reset"`
	Bin       string         `yaml:"bin"`

	mu     sync.Mutex
	server string
	watch  []string // the subjects the suite's receive steps watch
}

// Watch adds a subject (wildcards allowed) seam's recorder subscribes to:
// the nats step's receive names it at load. Only these are subscribed to,
// not every subject: seam's subscription is interest, and a request on a
// subject no service answers would wait for its timeout instead of being
// told "no responders" at once, as without seam.
func (s *Spec) Watch(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.watch, subject) {
		s.watch = append(s.watch, subject)
	}
}

// watched is the subjects to subscribe to: one within another is left
// out (its messages would come twice).
func (s *Spec) watched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i, p := range s.watch {
		within := false
		for j, q := range s.watch {
			if i != j && covers(q, p) && (!covers(p, q) || j < i) {
				within = true
				break
			}
		}
		if !within {
			out = append(out, p)
		}
	}
	return out
}

// Decode implements service.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := &Spec{Reset: "per-test"}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return s
	}
	before := d.Errs.Len()
	d.Decode(n, s, "nats")
	datadir.CheckReset(d, n, "nats", s.Reset)
	names := map[string]bool{}
	for _, st := range s.Streams {
		names[st.Name] = true
	}
	for _, c := range s.Consumers {
		if !names[c.Stream] {
			d.Errorf(n, "nats.consumers: %s is on stream %q, which streams: does not declare", c.Name, c.Stream)
		}
	}
	if d.Errs.Len() > before {
		return nil
	}
	return s
}

// Describe implements service.Describer.
func (s *Spec) Describe(info map[string]any) {
	pw, _ := token.New()
	info["url"] = (&url.URL{Scheme: "nats", User: url.UserPassword(clientUser, pw), Host: info["addr"].(string)}).String()
	info["user"], info["password"] = clientUser, pw
}

// clientUser is the user the system logs in as; adminUser is seam's own
// (streams, consumers, recording, resets). Only seam knows the latter's
// password.
const (
	clientUser = "seam"
	adminUser  = "seam_admin"
)

// DefaultProbe implements service.Prober: a client connects and flushes.
func (s *Spec) DefaultProbe() service.Probe { return connectProbe{} }

type connectProbe struct{}

func (connectProbe) String() string { return "nats connect" }

func (connectProbe) Check(ctx context.Context, t service.Target) error {
	nc, err := natsgo.Connect("nats://127.0.0.1:"+strconv.Itoa(t.MainPort()), natsgo.Timeout(time.Second), natsgo.NoReconnect())
	if errors.Is(err, natsgo.ErrAuthorization) || err != nil && strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		return nil // the server answers, and wants a password: ready
	}
	if err != nil {
		return err
	}
	defer nc.Close()
	return nc.FlushWithContext(ctx)
}

// Prepare implements service.Spec: find nats-server.
func (s *Spec) Prepare(ctx context.Context, env *service.PrepareEnv) error {
	bin, err := datadir.Binary(s.Bin, "nats-server", "nats-server")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.server = bin
	s.mu.Unlock()
	return nil
}

// Start implements service.Spec.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	s.mu.Lock()
	bin := s.server
	s.mu.Unlock()
	port := env.Info["port"].(int)
	store := filepath.Join(env.TempDir, "jetstream")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return nil, err
	}
	// The users and their passwords go in a file only seam's user may
	// read, not on the command line, which every user may see (ps).
	adminPW, err := token.New()
	if err != nil {
		return nil, err
	}
	pw, _ := env.Info["password"].(string)
	conf := filepath.Join(env.TempDir, "nats.conf")
	text := fmt.Sprintf("authorization {\n  users = [\n    {user: %q, password: %q}\n    {user: %q, password: %q}\n  ]\n}\n", clientUser, pw, adminUser, adminPW)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	args := []string{bin, "-c", conf, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", store}
	inst, err := process.Launch(process.Child{
		Crash: crash.From(ctx),
		Path:  bin, Argv: args, Dir: env.TempDir, Env: append(os.Environ(), env.Env...),
		Grace: 5 * time.Second, Log: env.Log, Started: env.Started,
	})
	if err != nil {
		return nil, err
	}
	u := (&url.URL{Scheme: "nats", User: url.UserPassword(adminUser, adminPW), Host: "127.0.0.1:" + strconv.Itoa(port)}).String()
	return &instance{Instance: inst, spec: s, url: u, rec: &recorder{}}, nil
}

// instance is a running server with seam's own connection and recorder.
type instance struct {
	service.Instance
	spec *Spec
	url  string
	nc   *natsgo.Conn
	js   jetstream.JetStream
	rec  *recorder
	// streams are the baseline's streams and their durable consumers.
	streams map[string]streamBase
}

// streamBase is a stream of the baseline: its settings and its durable
// consumers'.
type streamBase struct {
	cfg       jetstream.StreamConfig
	consumers []jetstream.ConsumerConfig
}

// Flush implements service.Flusher: the server's output, and every
// message the server carried so far recorded, so a message counts in the
// test that caused it and not in the next one.
func (i *instance) Flush(ctx context.Context) {
	if f, ok := i.Instance.(service.Flusher); ok {
		f.Flush(ctx)
	}
	if i.nc == nil || !i.rec.recording() || i.nc.FlushWithContext(ctx) != nil {
		return
	}
	// After the round trip the messages are in the recorder's queue (the
	// client's reading puts them there before it reads the answer).
	i.rec.sync(ctx)
}

// Init implements service.Initializer: start recording, create the
// streams and consumers.
func (i *instance) Init(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := natsgo.Connect(i.url, natsgo.Name("seam"))
	if err != nil {
		return err
	}
	i.nc = nc
	i.rec.start(ctx, nc)
	for _, subject := range i.spec.watched() {
		if err := i.rec.watch(subject); err != nil {
			return fmt.Errorf("recording %s: %w", subject, err)
		}
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return err
	}
	if i.js, err = jetstream.New(nc); err != nil {
		return err
	}
	for _, st := range i.spec.Streams {
		if _, err := i.js.CreateStream(ctx, jetstream.StreamConfig{Name: st.Name, Subjects: st.Subjects}); err != nil {
			return fmt.Errorf("creating stream %s: %w", st.Name, err)
		}
	}
	return i.consumers(ctx)
}

func (i *instance) consumers(ctx context.Context) error {
	for _, c := range i.spec.Consumers {
		cfg := jetstream.ConsumerConfig{Durable: c.Name, FilterSubject: c.Filter, AckPolicy: jetstream.AckExplicitPolicy}
		if _, err := i.js.CreateOrUpdateConsumer(ctx, c.Stream, cfg); err != nil {
			return fmt.Errorf("creating consumer %s on %s: %w", c.Name, c.Stream, err)
		}
	}
	return nil
}

// Baseline implements service.Baseliner: the streams and durable
// consumers there once the environment has started (declared ones, and
// those a job or a service made) are the baseline; the messages the start
// carried are forgotten, so the first test sees only its own.
func (i *instance) Baseline(ctx context.Context, notice func(string)) error {
	if i.js == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	i.rec.clear()
	if i.spec.Reset != "per-test" {
		return nil
	}
	i.streams = map[string]streamBase{}
	list := i.js.ListStreams(ctx)
	for st := range list.Info() {
		var cfgs []jetstream.ConsumerConfig
		stream, err := i.js.Stream(ctx, st.Config.Name)
		if err != nil {
			return err
		}
		for c := range stream.ListConsumers(ctx).Info() {
			if c.Config.Durable != "" {
				cfgs = append(cfgs, c.Config)
			}
		}
		i.streams[st.Config.Name] = streamBase{cfg: st.Config, consumers: cfgs}
		if st.State.Msgs > 0 && notice != nil {
			notice(fmt.Sprintf("stream %s holds %d message(s) once the environment has started (published by a job or a service?): "+
				"seam cannot put messages back, so each reset empties it", st.Config.Name, st.State.Msgs))
		}
	}
	return list.Err()
}

// Reset implements service.Resetter: every stream of the baseline gets
// its settings back and is purged, its durable consumers are as at the
// baseline, the streams and durable consumers a test made are deleted,
// those it deleted are made again; recorded messages are forgotten.
//
// A consumer in use is kept, not made again: a service that called
// Consume once at its start would be told "consumer deleted" and stop
// consuming. The purge moves every consumer of the stream past the
// messages it removes (delivered and acknowledged up to the stream's last
// sequence, nothing pending or due for redelivery), so a message of the
// next test is delivered once. A consumer is deleted and made again only
// when the test changed its settings in a way no update undoes.
//
// Stream sequence numbers go on: a purge cannot rewind them, and only
// deleting the stream would, which would break the consumers in use.
// Ephemeral consumers are left to their clients (the server deletes them
// once idle).
func (i *instance) Reset(ctx context.Context) error {
	if i.spec.Reset != "per-test" || i.js == nil || i.streams == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	names := i.js.StreamNames(ctx)
	var present []string
	for name := range names.Name() {
		present = append(present, name)
	}
	if err := names.Err(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range present {
		seen[name] = true
		base, ok := i.streams[name]
		if !ok {
			if err := i.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("deleting stream %s, made by a test: %w", name, err)
			}
			continue
		}
		if err := i.resetStream(ctx, base); err != nil {
			return err
		}
	}
	// A stream of the baseline that a test deleted is made again.
	for name, base := range i.streams {
		if !seen[name] {
			if err := i.remake(ctx, base); err != nil {
				return err
			}
		}
	}
	i.rec.clear()
	return nil
}

// resetStream puts a stream of the baseline back: its settings, no
// messages, its durable consumers.
func (i *instance) resetStream(ctx context.Context, base streamBase) error {
	name := base.cfg.Name
	stream, err := i.js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	if !reflect.DeepEqual(stream.CachedInfo().Config, base.cfg) {
		if stream, err = i.js.UpdateStream(ctx, base.cfg); err != nil {
			// A change no update undoes (storage, retention…): only
			// making the stream again does.
			if err := i.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("deleting stream %s, whose settings a test changed: %w", name, err)
			}
			return i.remake(ctx, base)
		}
	}
	if err := stream.Purge(ctx); err != nil {
		return fmt.Errorf("purging %s: %w", name, err)
	}
	// The consumers are listed first and changed after, not while the
	// list is being paged.
	have := map[string]jetstream.ConsumerConfig{}
	list := stream.ListConsumers(ctx)
	for c := range list.Info() {
		if c.Config.Durable != "" {
			have[c.Name] = c.Config
		}
	}
	if err := list.Err(); err != nil {
		return fmt.Errorf("listing the consumers of %s: %w", name, err)
	}
	want := map[string]bool{}
	for _, c := range base.consumers {
		want[c.Durable] = true
		cur, ok := have[c.Durable]
		switch {
		case !ok:
			if _, err := stream.CreateOrUpdateConsumer(ctx, c); err != nil {
				return fmt.Errorf("making consumer %s on %s again: %w", c.Durable, name, err)
			}
		case !reflect.DeepEqual(cur, c):
			if _, err := stream.UpdateConsumer(ctx, c); err == nil {
				continue
			}
			// A change no update undoes (its filter, its delivery…).
			if err := stream.DeleteConsumer(ctx, c.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("deleting consumer %s on %s, whose settings a test changed: %w", c.Durable, name, err)
			}
			if _, err := stream.CreateOrUpdateConsumer(ctx, c); err != nil {
				return fmt.Errorf("making consumer %s on %s again: %w", c.Durable, name, err)
			}
		}
	}
	for durable := range have {
		if want[durable] {
			continue
		}
		if err := stream.DeleteConsumer(ctx, durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("deleting consumer %s on %s, made by a test: %w", durable, name, err)
		}
	}
	return nil
}

// remake makes a stream of the baseline and its durable consumers again.
func (i *instance) remake(ctx context.Context, base streamBase) error {
	stream, err := i.js.CreateStream(ctx, base.cfg)
	if err != nil {
		return fmt.Errorf("making stream %s again: %w", base.cfg.Name, err)
	}
	for _, c := range base.consumers {
		if _, err := stream.CreateOrUpdateConsumer(ctx, c); err != nil {
			return fmt.Errorf("making consumer %s on %s again: %w", c.Durable, base.cfg.Name, err)
		}
	}
	return nil
}

// Messages returns the recorder (for the nats step).
func (i *instance) Messages() step.MessageLog { return (*messageLog)(i) }

// messageLog is the recorder as the nats step sees it.
type messageLog instance

func (l *messageLog) Wait(ctx context.Context, subject string, since time.Time, min int) []step.Message {
	return l.rec.Wait(ctx, subject, since, min)
}

// Watch implements step.MessageLog: a subject the suite's steps did not
// name at load is subscribed to now, and the server has the subscription
// when Watch returns.
func (l *messageLog) Watch(subject string) (late bool, err error) {
	if l.nc == nil {
		return false, errors.New("not started")
	}
	late, err = l.rec.watchLate(subject)
	if err == nil && late {
		err = l.nc.Flush()
	}
	return late, err
}

// Stream describes a stream's state for the nats step.
func (i *instance) Stream(ctx context.Context, name string) (map[string]any, error) {
	if i.js == nil {
		return nil, errors.New("not started")
	}
	st, err := i.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"messages": int(info.State.Msgs), "bytes": int(info.State.Bytes),
		"first_seq": int(info.State.FirstSeq), "last_seq": int(info.State.LastSeq),
		"consumers": info.State.Consumers, "subjects": anyList(info.Config.Subjects),
	}, nil
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// Stop closes seam's connection and stops the server.
func (i *instance) Stop(ctx context.Context) error {
	if i.nc != nil {
		i.nc.Close()
		i.rec.stop()
	}
	return i.Instance.Stop(ctx)
}

// recorder keeps the messages seen on the server on the subjects watched.
// Every subscription delivers into one queue, read by one goroutine, so
// the messages keep the order the server sent them in.
type recorder struct {
	queue chan *natsgo.Msg
	done  chan struct{}
	marks sync.Map // sync's marks in the queue (no Sub) → closed when reached
	nc    *natsgo.Conn

	mu       sync.Mutex
	subs     []*natsgo.Subscription
	subjects []string // subs' subjects
	msgs     []step.Message
	dropped  int
	changed  chan struct{}
}

// queueLen bounds the messages delivered and not yet recorded: past it the
// client drops them (a slow consumer), as it would its own.
const queueLen = 1 << 16

// start begins recording on nc (not yet subscribed to anything).
func (r *recorder) start(ctx context.Context, nc *natsgo.Conn) {
	r.nc, r.queue = nc, make(chan *natsgo.Msg, queueLen)
	r.done = make(chan struct{})
	q, done := r.queue, r.done
	crash.Go(ctx, func() {
		for {
			select {
			case m := <-q:
				if m.Sub == nil {
					if ch, ok := r.marks.LoadAndDelete(m); ok {
						close(ch.(chan struct{}))
					}
					continue
				}
				r.add(m)
			case <-done:
				return
			}
		}
	})
}

// stop ends the recording's goroutine (the queue is not closed: the
// client may still be delivering into it).
func (r *recorder) stop() {
	if r.done != nil {
		close(r.done)
	}
}

// recording reports whether anything is subscribed to.
func (r *recorder) recording() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs) > 0
}

// sync waits until every message queued so far has been recorded: a
// mark queued behind them comes out of the queue after them.
func (r *recorder) sync(ctx context.Context) {
	mark, reached := &natsgo.Msg{}, make(chan struct{})
	r.marks.Store(mark, reached)
	defer r.marks.Delete(mark)
	select {
	case r.queue <- mark:
	case <-ctx.Done():
		return
	}
	select {
	case <-reached:
	case <-ctx.Done():
	}
}

// watch subscribes to subject.
func (r *recorder) watch(subject string) error {
	sub, err := r.nc.ChanSubscribe(subject, r.queue)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.subs, r.subjects = append(r.subs, sub), append(r.subjects, subject)
	r.mu.Unlock()
	return nil
}

// watchLate subscribes to subject unless it is within one subscribed to.
func (r *recorder) watchLate(subject string) (late bool, err error) {
	r.mu.Lock()
	for _, s := range r.subjects {
		if covers(s, subject) {
			r.mu.Unlock()
			return false, nil
		}
	}
	r.mu.Unlock()
	return true, r.watch(subject)
}

func (r *recorder) add(m *natsgo.Msg) {
	if strings.HasPrefix(m.Subject, "$JS.") || strings.HasPrefix(m.Subject, "_INBOX.") || strings.HasPrefix(m.Subject, "$KV.") {
		return // JetStream's own API traffic
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A message on subjects two subscriptions watch comes once for each:
	// the first of them records it.
	for i, s := range r.subjects {
		if matches(s, m.Subject) {
			if r.subs[i] != m.Sub {
				return
			}
			break
		}
	}
	if len(r.msgs) >= maxRecorded {
		r.msgs = r.msgs[1:]
		r.dropped++
	}
	r.msgs = append(r.msgs, step.Message{Time: time.Now(), Subject: m.Subject, Data: m.Data, Headers: m.Header})
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

func (r *recorder) clear() {
	r.mu.Lock()
	r.msgs = nil
	r.mu.Unlock()
}

// Wait implements step.MessageLog.
func (r *recorder) Wait(ctx context.Context, subject string, since time.Time, min int) []step.Message {
	for {
		r.mu.Lock()
		var out []step.Message
		for _, m := range r.msgs {
			if !m.Time.Before(since) && matches(subject, m.Subject) {
				out = append(out, m)
			}
		}
		if len(out) >= min {
			r.mu.Unlock()
			return out
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return out
		case <-ch:
		}
	}
}

// covers reports whether every subject pattern q matches, p matches too.
func covers(p, q string) bool {
	pt, qt := strings.Split(p, "."), strings.Split(q, ".")
	for i, tok := range pt {
		if tok == ">" {
			return len(qt) > i
		}
		if i >= len(qt) || qt[i] == ">" || tok != "*" && tok != qt[i] {
			return false
		}
	}
	return len(pt) == len(qt)
}

// matches applies NATS subject wildcards: * is one token, > the rest.
func matches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}
