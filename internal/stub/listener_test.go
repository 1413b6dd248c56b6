package stub

import (
	"context"
	"net"
	"testing"
	"time"
)

// A stub closed right after it starts stops, even when its serving
// goroutine had not begun: a service stopped at once must not hang.
func TestListenerClosedAtOnceStops(t *testing.T) {
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l := Serve(ln, New(Options{}))
		l.Close(context.Background())
		select {
		case err := <-l.Done():
			if err != nil {
				t.Fatalf("stopped with %v", err)
			}
		case <-time.After(10 * time.Second): // a guard: Done comes at once or never
			t.Fatalf("round %d: still serving after Close", i)
		}
	}
}
