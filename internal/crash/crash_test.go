package crash

import (
	"context"
	"strings"
	"testing"
)

// A panic on a goroutine started through Go reaches the Handler in the
// context: it cancels the command's context and Finish returns the panic
// with the goroutine's stack; later panics do not replace the first.
func TestGoReportsPanicToHandler(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h := New(cancel)
	ctx = With(ctx, h)
	Go(ctx, func() { panic("first") })
	<-ctx.Done()
	Go(ctx, func() { panic("second") })
	p := h.Finish()
	if p == nil || p.Value != "first" || !strings.Contains(string(p.Stack), "crash.TestGoReportsPanicToHandler") {
		t.Fatalf("Finish: %+v", p)
	}
	if From(t.Context()) != nil {
		t.Error("a context without a Handler has one")
	}
}

// A command that does not return in Grace after a panic is ended by Stuck.
func TestStuckRunsWhenTheCommandHangs(t *testing.T) {
	_, cancel := context.WithCancel(t.Context())
	defer cancel()
	h := New(cancel)
	h.Grace = 0
	stuck := make(chan *Panic, 1)
	h.Stuck = func(p *Panic) { stuck <- p }
	h.Go(func() { panic("hang") })
	if p := <-stuck; p.Value != "hang" {
		t.Fatalf("Stuck got %+v", p)
	}
}

// Catch returns the panic of f, for its owner to raise again.
func TestCatch(t *testing.T) {
	if p := Catch(func() {}); p != nil {
		t.Errorf("Catch of no panic: %+v", p)
	}
	if p := Catch(func() { panic(42) }); p == nil || p.Value != 42 {
		t.Errorf("Catch: %+v", p)
	}
}
