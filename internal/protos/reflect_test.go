package protos

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func serve(t *testing.T, withReflection bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if withReflection {
		reflection.Register(srv)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestReflect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	files, err := Reflect(ctx, serve(t, true))
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName("grpc.health.v1.Health")
	if err != nil {
		t.Fatal(err)
	}
	if m := d.(protoreflect.ServiceDescriptor).Methods().ByName("Check"); m == nil || m.Output().FullName() != "grpc.health.v1.HealthCheckResponse" {
		t.Errorf("Check: %v", m)
	}
	if _, err := Reflect(ctx, serve(t, false)); err == nil || !strings.Contains(err.Error(), "Unimplemented") {
		t.Errorf("a server without reflection: %v", err)
	}
}
