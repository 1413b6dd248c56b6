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

// TestLoadSetWithoutImports: a descriptor set made without
// --include_imports links to the built-in well-known types; another
// import missing says how to build the set.
func TestLoadSetWithoutImports(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "api/common/money.proto", "syntax = \"proto3\";\npackage shop.common;\nmessage Money { int64 cents = 1; }\n")
	write(t, dir, "api/pricing.proto", `syntax = "proto3";
package shop.pricing;
import "google/protobuf/timestamp.proto";
import "google/protobuf/struct.proto";
message Quote { google.protobuf.Timestamp at = 1; google.protobuf.Struct meta = 2; }
service Pricing { rpc Get(Quote) returns (Quote); }
`)
	write(t, dir, "api/order.proto", `syntax = "proto3";
package shop.order;
import "common/money.proto";
message Order { shop.common.Money total = 1; }
`)
	full, err := Load(context.Background(), Sources{Dir: dir, Protos: []string{"api/pricing.proto", "api/order.proto"}, ImportPaths: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	// Sets of one file each, as protoc -o makes them without --include_imports.
	only := func(name string, of protoreflect.FullName) {
		d, err := full.FindDescriptorByName(of)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(d.ParentFile())}})
		write(t, dir, name, string(b))
	}
	only("pricing.pb", "shop.pricing.Pricing")
	only("order.pb", "shop.order.Order")
	files, err := Load(context.Background(), Sources{Dir: dir, Sets: []string{"pricing.pb"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop.pricing.Pricing", "google.protobuf.Timestamp", "google.protobuf.Struct"} {
		if _, err := files.FindDescriptorByName(protoreflect.FullName(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = Load(context.Background(), Sources{Dir: dir, Sets: []string{"order.pb"}})
	if err == nil || !strings.Contains(err.Error(), `order.pb: imports "common/money.proto", not in the set: build it with protoc --include_imports (or buf build)`) {
		t.Errorf("a set without its imports: %v", err)
	}
}

// TestLoadListedAndImported: a file listed by its path from the suite's
// folder and imported by its path from an import path is one file.
func TestLoadListedAndImported(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "protos/common/v1/types.proto", "syntax = \"proto3\";\npackage demo.common.v1;\nmessage Item { string id = 1; }\n")
	write(t, dir, "protos/demo/v1/demo.proto", `syntax = "proto3";
package demo.v1;
import "common/v1/types.proto";
service Demo { rpc Get(demo.common.v1.Item) returns (demo.common.v1.Item); }
`)
	src := Sources{Dir: dir, Protos: []string{"protos/common/v1/types.proto", "protos/demo/v1/demo.proto"}, ImportPaths: []string{"protos"}}
	files, err := Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.FindDescriptorByName("demo.v1.Demo"); err != nil {
		t.Error(err)
	}
	// An error in such a file names it as the suite lists it.
	write(t, dir, "protos/common/v1/types.proto", "syntax = \"proto3\";\npackage demo.common.v1;\nmessage Item { strin id = 1; }\n")
	_, err = Load(context.Background(), src)
	if err == nil || !strings.Contains(err.Error(), "protos/common/v1/types.proto:3:16: ") {
		t.Errorf("an error in a listed file: %v", err)
	}
	// Imported under two names: the error says so.
	write(t, dir, "protos/common/v1/types.proto", "syntax = \"proto3\";\npackage demo.common.v1;\nmessage Item { string id = 1; }\n")
	write(t, dir, "protos/demo/v1/other.proto", `syntax = "proto3";
package demo.v1;
import "protos/common/v1/types.proto";
message Other { demo.common.v1.Item item = 1; }
`)
	src.Protos = append(src.Protos, "protos/demo/v1/other.proto")
	_, err = Load(context.Background(), src)
	if err == nil || !strings.Contains(err.Error(), `protos/common/v1/types.proto is read under 2 names, "common/v1/types.proto" (from import path protos) and "protos/common/v1/types.proto" (from the suite's folder), so its types are defined twice`) {
		t.Errorf("a file imported under two names: %v", err)
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
