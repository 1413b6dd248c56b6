package wire

import (
	"net"
	"testing"
	"time"
)

// Upstream knows a connection to the callee by the port it leaves from,
// while it lives and for a while after it ended: a reset that ends a
// session (MariaDB's KILL) names whose it was after its client, told of
// the kill, may have closed it.
func TestUpstreamKnowsAConnectionThatJustEnded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ports := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ports <- c.RemoteAddr().(*net.TCPAddr).Port
		buf := make([]byte, 1)
		c.Read(buf) // until the caller's end comes through
		c.Close()
	}()
	p, err := Listen("app→db", ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var port int
	select {
	case port = <-ports:
	case <-time.After(5 * time.Second):
		t.Fatal("the callee was not reached")
	}
	if !p.Upstream(port) {
		t.Errorf("the live connection from port %d is not known", port)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.conns)
		p.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection did not end")
		}
	}
	if !p.Upstream(port) {
		t.Errorf("the connection from port %d, just ended, is not known", port)
	}
	if p.Upstream(port + 1) {
		t.Errorf("port %d, never used, is known", port+1)
	}
}
