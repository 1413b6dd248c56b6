package environment

import "sync"

// ring keeps the last lines of a service's output.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
	added chan struct{} // closed when a line is added; nil until someone waits
}

func newRing(n int) *ring { return &ring{lines: make([]string, n)} }

// changed is closed when the next line is added.
func (r *ring) changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.added == nil {
		r.added = make(chan struct{})
	}
	return r.added
}

func (r *ring) add(s string) {
	r.mu.Lock()
	r.lines[r.next] = s
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	if r.added != nil {
		close(r.added)
		r.added = nil
	}
	r.mu.Unlock()
}

// last returns up to n of the newest lines, oldest first.
func (r *ring) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(append(all, r.lines[r.next:]...), r.lines[:r.next]...)
	} else {
		all = append(all, r.lines[:r.next]...)
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}
