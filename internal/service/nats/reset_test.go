package nats

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/service"
)

// startNATS starts a nats service as an environment starts it (init
// streams and consumers, baseline taken) and returns it with a client
// connected as the system's user.
func startNATS(t *testing.T, spec *Spec) (*instance, jetstream.JetStream) {
	t.Helper()
	_, err := exec.LookPath("nats-server")
	peertest.Need(t, "NATS", "nats-server", err == nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	spec.Reset = "per-test"
	if err := spec.Prepare(ctx, &service.PrepareEnv{Name: "bus", Dir: t.TempDir(), CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]any{"name": "bus", "addr": "127.0.0.1:" + strconv.Itoa(port), "port": port}
	spec.Describe(info)
	var mu sync.Mutex
	var logged []string
	si, err := spec.Start(ctx, &service.StartEnv{Name: "bus", Dir: t.TempDir(), TempDir: t.TempDir(), Info: info, Log: func(_, line string) {
		mu.Lock()
		logged = append(logged, line)
		mu.Unlock()
	}})
	release()
	if err != nil {
		t.Fatal(err)
	}
	inst := si.(*instance)
	t.Cleanup(func() { inst.Stop(context.Background()) })
	target := service.Target{Name: "bus", Host: "127.0.0.1", Ports: map[string]int{"main": port}, Main: "main"}
	for spec.DefaultProbe().Check(ctx, target) != nil {
		select {
		case <-inst.Done():
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("nats-server exited: %v\n%s", inst.ExitErr(), strings.Join(logged, "\n"))
		case <-ctx.Done():
			t.Fatal("nats-server did not become ready")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := inst.Init(ctx); err != nil {
		t.Fatal(err)
	}
	nc, err := natsgo.Connect(info["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Baseline(ctx, func(text string) { t.Errorf("notice: %s", text) }); err != nil {
		t.Fatal(err)
	}
	return inst, js
}

// TestResetKeepsConsumerInUse: a service that called Consume once at its
// start keeps consuming across resets, each message of a test is
// delivered to it once, and one it left unacknowledged is not delivered
// again after the reset. What a test made or changed (a consumer, the
// stream's settings, the consumer's settings) is as at the baseline.
func TestResetKeepsConsumerInUse(t *testing.T) {
	inst, js := startNATS(t, &Spec{
		Streams:   []streamSpec{{Name: "ORDERS", Subjects: []string{"orders.>"}}},
		Consumers: []consumerSpec{{Stream: "ORDERS", Name: "mailer"}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cons, err := js.Consumer(ctx, "ORDERS", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 16)
	var consumeErrs []string
	var mu sync.Mutex
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if string(m.Data()) != "hold" { // left unacknowledged, pending at the reset
			m.DoubleAck(ctx)
		}
		got <- string(m.Data())
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		mu.Lock()
		consumeErrs = append(consumeErrs, err.Error())
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	receive := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("the running consumer got %q; want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("the running consumer got nothing within 5s; want %q (consume errors: %q)", want, consumeErrs)
		}
	}
	publish := func(data string) {
		t.Helper()
		if _, err := js.Publish(ctx, "orders.new", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	// The state after a reset: the baseline's settings, one consumer with
	// the baseline's settings, nothing pending for it.
	checkBaseline := func() {
		t.Helper()
		s, err := js.Stream(ctx, "ORDERS")
		if err != nil {
			t.Fatal(err)
		}
		info := s.CachedInfo()
		if !slices.Equal(info.Config.Subjects, []string{"orders.>"}) || info.Config.MaxMsgs != -1 {
			t.Errorf("after the reset the stream's subjects are %q, max_msgs %d; want [orders.>], -1", info.Config.Subjects, info.Config.MaxMsgs)
		}
		if info.State.Msgs != 0 || info.State.Consumers != 1 {
			t.Errorf("after the reset the stream holds %d message(s), %d consumer(s); want 0, 1", info.State.Msgs, info.State.Consumers)
		}
		c, err := s.Consumer(ctx, "mailer")
		if err != nil {
			t.Fatal(err)
		}
		ci, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ci.Config.Description != "" || ci.Config.MaxAckPending != 1000 {
			t.Errorf("after the reset mailer's description is %q, max_ack_pending %d; want the baseline's (\"\", 1000)", ci.Config.Description, ci.Config.MaxAckPending)
		}
		last := info.State.LastSeq
		if ci.NumPending != 0 || ci.NumAckPending != 0 || ci.NumRedelivered != 0 || ci.Delivered.Stream != last || ci.AckFloor.Stream != last {
			t.Errorf("after the reset mailer has pending %d, ack pending %d, redelivered %d, delivered up to %d, acknowledged up to %d; want 0, 0, 0, %d, %d",
				ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.Delivered.Stream, ci.AckFloor.Stream, last, last)
		}
	}

	// Test 1 consumes, makes a consumer, changes the stream's and the
	// consumer's settings.
	publish("1")
	receive("1")
	if _, err := js.CreateOrUpdateConsumer(ctx, "ORDERS", jetstream.ConsumerConfig{Durable: "extra", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>", "extra.>"}, MaxMsgs: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.UpdateConsumer(ctx, "ORDERS", jetstream.ConsumerConfig{Durable: "mailer", AckPolicy: jetstream.AckExplicitPolicy, Description: "changed", MaxAckPending: 7}); err != nil {
		t.Fatal(err)
	}
	if err := inst.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	checkBaseline()

	// Test 2 leaves a message unacknowledged.
	publish("2")
	receive("2")
	publish("hold")
	receive("hold")
	if err := inst.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	checkBaseline()

	// Test 3: the consumer still consumes, and "hold" does not come back
	// before test 3's message (nor later: nothing is pending, above).
	publish("3")
	receive("3")
	select {
	case m := <-got:
		t.Errorf("the running consumer got %q after test 3's message; want nothing more", m)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if len(consumeErrs) > 0 {
		t.Errorf("the running consumer was told %q", consumeErrs)
	}
}

// TestResetRemakes: a baseline consumer and a stream a test deleted are
// made again; a stream a test made is deleted; a stream and a consumer
// whose settings no update undoes are made again with the baseline's.
func TestResetRemakes(t *testing.T) {
	inst, js := startNATS(t, &Spec{
		Streams:   []streamSpec{{Name: "ORDERS", Subjects: []string{"orders.>"}}, {Name: "AUDIT", Subjects: []string{"audit.>"}}, {Name: "LOGS", Subjects: []string{"logs.>"}}},
		Consumers: []consumerSpec{{Stream: "ORDERS", Name: "mailer", Filter: "orders.new"}, {Stream: "AUDIT", Name: "auditor"}, {Stream: "LOGS", Name: "shipper"}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := js.DeleteStream(ctx, "AUDIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TMP", Subjects: []string{"tmp.>"}}); err != nil {
		t.Fatal(err)
	}
	// Storage cannot be updated: only deleting the stream undoes it.
	if err := js.DeleteStream(ctx, "LOGS"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LOGS", Subjects: []string{"logs.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	// Delivery policy cannot be updated: only deleting the consumer undoes it.
	if err := js.DeleteConsumer(ctx, "ORDERS", "mailer"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, "ORDERS", jetstream.ConsumerConfig{Durable: "mailer", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: "orders.old"}); err != nil {
		t.Fatal(err)
	}
	if err := inst.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var names []string
	list := js.StreamNames(ctx)
	for n := range list.Name() {
		names = append(names, n)
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"AUDIT", "LOGS", "ORDERS"}) {
		t.Errorf("streams after the reset: %q; want [AUDIT LOGS ORDERS]", names)
	}
	if s, err := js.Stream(ctx, "LOGS"); err != nil {
		t.Errorf("stream LOGS after the reset: %v", err)
	} else if got := s.CachedInfo().Config.Storage; got != jetstream.FileStorage {
		t.Errorf("stream LOGS after the reset has %v storage; want file, the baseline's", got)
	}
	for _, c := range []struct{ stream, name, filter string }{{"ORDERS", "mailer", "orders.new"}, {"AUDIT", "auditor", ""}, {"LOGS", "shipper", ""}} {
		cons, err := js.Consumer(ctx, c.stream, c.name)
		if err != nil {
			t.Errorf("consumer %s on %s after the reset: %v", c.name, c.stream, err)
			continue
		}
		cfg := cons.CachedInfo().Config
		if cfg.FilterSubject != c.filter || cfg.DeliverPolicy != jetstream.DeliverAllPolicy {
			t.Errorf("consumer %s after the reset: filter %q, deliver policy %v; want %q, all", c.name, cfg.FilterSubject, cfg.DeliverPolicy, c.filter)
		}
	}
}
