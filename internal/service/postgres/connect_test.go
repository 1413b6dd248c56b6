package postgres

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// seam's own connections to the servers it starts (which run without
// TLS) must open with the startup message, not a TLS request that is
// refused and costs a second connection.
func TestConnectAsksForNoTLS(t *testing.T) {
	// The defaults a machine gives (a Unix socket found, or not) must not
	// matter: without one, pgx's default host is TCP, where it asks for TLS.
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGSSLMODE", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	first := make(chan uint32, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var head [8]byte
		if _, err := io.ReadFull(c, head[:]); err == nil {
			first <- binary.BigEndian.Uint32(head[4:])
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := connect(ctx, "seam", "pw", ln.Addr().(*net.TCPAddr).Port, "app")
	if err == nil {
		conn.Close(ctx)
	}
	select {
	case code := <-first:
		const startup3, sslRequest = 196608, 80877103
		if code != startup3 {
			t.Fatalf("first message code %d, want the startup message (%d); %d is a TLS request", code, startup3, sslRequest)
		}
	case <-ctx.Done():
		t.Fatal("no connection arrived")
	}
}
