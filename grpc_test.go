package seam_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seamtest/seam"
)

// TestGRPCInteractionsFromGo: a callee's second port (gRPC) goes through
// the wire, and Go tests select its calls by method and status code.
func TestGRPCInteractionsFromGo(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "grpcsvc")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/seam/testdata/grpcsvc").CombinedOutput(); err != nil {
		t.Fatalf("building the gRPC test service: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcgo
services:
  auth:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
  sales:
    process: {run: [`+bin+`, -listen, ((addr)), -grpc-port, "0", -direct-port, "0"]}
    ready: {http: /healthz}
    depends_on: [auth]
`), 0o644)
	env := seam.Start(t, dir)
	resp, err := http.Get(env.URL("sales") + "/check")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Unauthenticated" {
		t.Fatalf("sales answered %q", b)
	}
	got := env.Interactions(seam.Edge{From: "sales", To: "auth", GRPC: "/grpc.health.v1.Health/*", Code: "unauthenticated"})
	if len(got) != 1 || got[0].Port != "grpc" || got[0].GRPCCode != "UNAUTHENTICATED" || got[0].GRPCMessage != "no token given" {
		t.Fatalf("%+v", got)
	}
	if h := got[0].RequestHeader; h.Get("Content-Type") != "application/grpc" || got[0].ResponseHeader.Get("Grpc-Status") != "16" {
		t.Errorf("the call's metadata: %v → %v", h, got[0].ResponseHeader)
	}
	env.VerifyInteractions(seam.Edge{From: "sales", To: "auth", Code: "OK"}, 0)
}
