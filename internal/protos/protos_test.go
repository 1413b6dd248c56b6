package protos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "api", "common"), 0o755)
	os.WriteFile(filepath.Join(dir, "api", "common", "money.proto"), []byte(`syntax = "proto3";
package shop.common;
message Money { int64 cents = 1; }
`), 0o644)
	os.WriteFile(filepath.Join(dir, "api", "pricing.proto"), []byte(`syntax = "proto3";
package shop.pricing;
import "common/money.proto";
import "google/protobuf/timestamp.proto";
message Quote { shop.common.Money price = 1; google.protobuf.Timestamp at = 2; }
message QuoteRequest { string sku = 1; }
service Pricing { rpc Get(QuoteRequest) returns (Quote); }
`), 0o644)
	set, _ := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(healthpb.File_grpc_health_v1_health_proto)}})
	os.WriteFile(filepath.Join(dir, "health.pb"), set, 0o644)
	files, err := Load(context.Background(), Sources{Dir: dir, Protos: []string{"api/pricing.proto"}, ImportPaths: []string{"api"}, Sets: []string{"health.pb"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop.pricing.Pricing", "shop.common.Money", "google.protobuf.Timestamp", "grpc.health.v1.Health"} {
		if _, err := files.FindDescriptorByName(protoreflectName(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Errors name the file and the line.
	_, err = Load(context.Background(), Sources{Dir: dir, Protos: []string{"api/pricing.proto"}})
	if err == nil || !strings.Contains(err.Error(), "api/pricing.proto:3:8: ") || !strings.Contains(err.Error(), "common/money.proto") {
		t.Errorf("a missing import: %v", err)
	}
	_, err = Load(context.Background(), Sources{Dir: dir, Sets: []string{"api/pricing.proto"}})
	if err == nil || !strings.Contains(err.Error(), "api/pricing.proto: not a descriptor set") {
		t.Errorf("a .proto given as a set: %v", err)
	}
}

func protoreflectName(s string) protoreflect.FullName { return protoreflect.FullName(s) }
