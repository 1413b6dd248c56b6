package process

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Stops is the user's say over the stops of the processes seam started:
// a stop that waits long for a process to exit after its stop signal
// says so (through the function given to Notify), and the user can ask
// for every stop to be done at once (a second Ctrl-C: Interrupt).
//
// Signals go to the whole seam process, and so do Ctrl-C's wishes: main
// wires the signals to one Stops, Default, which every process follows
// unless its Child names another (tests do). A Stops is safe for
// concurrent use.
type Stops struct {
	hurry       chan struct{} // closed by Hurry
	hurryOnce   sync.Once
	interrupted atomic.Bool
	waiting     atomic.Int32 // stops that told the user they wait
	mu          sync.Mutex
	notify      func(line string)
}

// noticeAfter is how long a stop waits in silence before it says what it
// waits for.
const noticeAfter = time.Second

// NewStops returns a Stops that tells no one and is not hurried.
func NewStops() *Stops { return &Stops{hurry: make(chan struct{})} }

// Default is the Stops of this seam process, wired by main to its
// signals and its standard error.
var Default = NewStops()

// Notify sets where a stop that waits longer than a second says so: one
// line without a newline, like "stopping api: waiting up to 30s after
// SIGTERM (Ctrl-C to stop at once)". nil says nothing.
func (s *Stops) Notify(f func(line string)) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
}

// Interrupt is a SIGINT, SIGTERM or SIGHUP that seam received. The first
// lets every stop take its grace period; a later one, or one while a
// stop has told the user it waits, hurries (see Hurry). It reports
// whether it hurried.
func (s *Stops) Interrupt() bool {
	again := s.interrupted.Swap(true)
	if again || s.waiting.Load() > 0 {
		s.Hurry()
	}
	return s.Hurried()
}

// Hurry makes every stop, under way or to come, kill its process group at
// once instead of waiting out its grace period.
func (s *Stops) Hurry() { s.hurryOnce.Do(func() { close(s.hurry) }) }

// Hurried reports whether Hurry was called.
func (s *Stops) Hurried() bool {
	select {
	case <-s.hurry:
		return true
	default:
		return false
	}
}

// notice tells the user that a stop waits, if anyone listens: it
// reports whether it did (then the caller calls s.waiting.Add(-1) when
// the wait ends).
func (s *Stops) notice(name string, grace time.Duration, sig string) bool {
	s.mu.Lock()
	f := s.notify
	s.mu.Unlock()
	if f == nil {
		return false
	}
	s.waiting.Add(1)
	again := ""
	if s.interrupted.Load() {
		again = " again"
	}
	f(fmt.Sprintf("stopping %s: waiting up to %s after %s (Ctrl-C%s to stop at once)", name, grace, sig, again))
	return true
}
