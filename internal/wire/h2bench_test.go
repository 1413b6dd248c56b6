package wire

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// chunk is a piece of a recorded conversation: the bytes one side wrote,
// as the proxy would have read them.
type chunk struct {
	fromServer bool
	b          []byte
}

// recordGRPC records the bytes of calls unary health checks, by callers
// at once on one grpc-go connection, in the order a proxy sees them.
func recordGRPC(b *testing.B, calls, callers int) []chunk {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("items", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	defer srv.Stop()
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer front.Close()
	var mu sync.Mutex
	var got []chunk
	var wg sync.WaitGroup
	go func() {
		c, err := front.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			c.Close()
			return
		}
		pipe := func(dst, src net.Conn, fromServer bool) {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 {
					// Recorded before it is written: its answer cannot
					// come before it.
					mu.Lock()
					got = append(got, chunk{fromServer, append([]byte(nil), buf[:n]...)})
					mu.Unlock()
					dst.Write(buf[:n])
				}
				if err != nil {
					dst.Close()
					return
				}
			}
		}
		wg.Add(2)
		go pipe(s, c, false)
		go pipe(c, s, true)
	}()
	conn, err := grpc.NewClient(front.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	hc := healthpb.NewHealthClient(conn)
	var cw sync.WaitGroup
	for range callers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for range calls / callers {
				// With a deadline, as most callers set: grpc-timeout
				// differs from call to call.
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "items"})
				cancel()
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	cw.Wait()
	conn.Close()
	wg.Wait()
	return got
}

// BenchmarkH2Decode: the wire's decoding of gRPC unary calls alone (no
// I/O): a recorded conversation of 1000 calls fed to a fresh decoder per
// iteration, with the call's reporting as a proxy does it (masking, the
// report function). ns/op ÷ 1000 is the decoding's cost per call.
func BenchmarkH2Decode(b *testing.B) {
	const calls = 1000
	conv := recordGRPC(b, calls, 4)
	p := &Proxy{Edge: "b→s", report: func(Interaction) {}}
	p.SetDescriptors(echoFile(b))
	var n int
	p.report = func(in Interaction) {
		if in.Protocol == "grpc" && in.GRPCStatus == 0 {
			n++
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n = 0
		d := newDecoder(p)
		for _, c := range conv {
			if c.fromServer {
				d.fromServer(c.b)
			} else {
				d.fromClient(c.b)
			}
		}
		d.close("closed", false)
		if n != calls {
			b.Fatalf("%d calls decoded, want %d", n, calls)
		}
	}
}
