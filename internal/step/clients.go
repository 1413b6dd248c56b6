package step

import "sync"

// Clients keeps one client (a connection pool) per address for a step
// kind, so its steps reuse connections; Close closes them all.
type Clients[C any] struct {
	mu    sync.Mutex
	m     map[string]C
	open  func(addr string) (C, error)
	close func(C)
}

// NewClients returns an empty cache that opens with open and closes with
// close.
func NewClients[C any](open func(string) (C, error), close func(C)) *Clients[C] {
	return &Clients[C]{m: map[string]C{}, open: open, close: close}
}

// Get returns the client for addr, opening it the first time.
func (c *Clients[C]) Get(addr string) (C, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[addr]; ok {
		return cl, nil
	}
	cl, err := c.open(addr)
	if err != nil {
		return cl, err
	}
	c.m[addr] = cl
	return cl, nil
}

// Close closes every client.
func (c *Clients[C]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, cl := range c.m {
		c.close(cl)
		delete(c.m, a)
	}
}
