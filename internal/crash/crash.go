// Package crash turns a panic on any goroutine seam starts into seam's
// own crash, reported like one on the command's goroutine: the run is
// stopped as on an interrupt (so what it started is stopped), then the
// command prints the panic with its stack and exits 70. Without it a
// panic off the main goroutine ends the process at once, with exit 2 (a
// wrong suite's code) and nothing stopped.
//
// The command makes one Handler and puts it in the run's context; code
// that starts a goroutine calls Go with a context (or a Handler kept from
// one) instead of a bare go statement.
package crash

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Panic is a recovered panic and the stack of the goroutine it stopped.
type Panic struct {
	Value any
	Stack []byte
}

func (p *Panic) Error() string { return fmt.Sprintf("%v\n\n%s", p.Value, p.Stack) }

// Handler receives the panics of a command's goroutines. The first one
// cancels the command's context; the command then reports it (Panic).
type Handler struct {
	cancel context.CancelFunc
	// Stuck, when set, runs if the command has not returned Grace after
	// the panic (what the panic broke may keep it from stopping); the
	// command passes one that reports the panic and exits.
	Stuck func(*Panic)
	Grace time.Duration

	mu    sync.Mutex
	first *Panic
	done  chan struct{}
}

// New returns a Handler whose first panic calls cancel.
func New(cancel context.CancelFunc) *Handler {
	return &Handler{cancel: cancel, Grace: 30 * time.Second, done: make(chan struct{})}
}

type key struct{}

// With returns ctx carrying h, for Go and From.
func With(ctx context.Context, h *Handler) context.Context {
	return context.WithValue(ctx, key{}, h)
}

// From returns the Handler ctx carries, or nil.
func From(ctx context.Context) *Handler {
	h, _ := ctx.Value(key{}).(*Handler)
	return h
}

// Go runs f on a new goroutine; a panic in f goes to the Handler ctx
// carries (without one, it ends the process as a bare go statement's).
func Go(ctx context.Context, f func()) { From(ctx).Go(f) }

// Go runs f on a new goroutine; a panic in f goes to h. A nil h lets the
// panic end the process, as a bare go statement would.
func (h *Handler) Go(f func()) {
	go func() {
		if h != nil {
			defer h.recover()
		}
		f()
	}()
}

// Recover, deferred on a goroutine seam does not start itself (a server
// library's handler), hands its panic to h; with a nil h the panic goes on.
func (h *Handler) Recover() {
	if h == nil {
		return
	}
	h.handle(recover())
}

func (h *Handler) recover() {
	h.handle(recover())
}

func (h *Handler) handle(v any) {
	if v == nil {
		return
	}
	p := &Panic{Value: v, Stack: debug.Stack()}
	h.mu.Lock()
	first := h.first == nil
	if first {
		h.first = p
	}
	h.mu.Unlock()
	if !first {
		return
	}
	h.cancel()
	if h.Stuck != nil {
		t := time.NewTimer(h.Grace)
		defer t.Stop()
		select {
		case <-h.done:
		case <-t.C:
			h.Stuck(p)
		}
	}
}

// Finish tells h the command has returned (a pending Stuck does not run)
// and returns the first panic, if any.
func (h *Handler) Finish() *Panic {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done:
	default:
		close(h.done)
	}
	return h.first
}

// Catch runs f on the calling goroutine and returns its panic, if any,
// for a goroutine whose owner waits for it and panics again on its own
// goroutine (where a Handler or the command catches it).
func Catch(f func()) (p *Panic) {
	defer func() {
		if v := recover(); v != nil {
			p = &Panic{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}
