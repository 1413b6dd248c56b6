package protos

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// serve starts a gRPC server with the health service on loopback, and
// whichever reflection register adds ("none": no reflection).
func serve(t *testing.T, refl string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	switch refl {
	case "both":
		reflection.Register(srv)
	case "v1":
		reflection.RegisterV1(srv)
	case "v1alpha":
		v1alphagrpc.RegisterServerReflectionServer(srv, reflection.NewServer(reflection.ServerOptions{Services: srv}))
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestReflect: v1, and v1alpha for servers that have only that (older
// grpc-java, grpcio, grpc-go).
func TestReflect(t *testing.T) {
	for _, refl := range []string{"both", "v1", "v1alpha"} {
		files, err := Reflect(timeout(t), serve(t, refl))
		if err != nil {
			t.Fatalf("%s: %v", refl, err)
		}
		d, err := files.FindDescriptorByName("grpc.health.v1.Health")
		if err != nil {
			t.Fatalf("%s: %v", refl, err)
		}
		if m := d.(protoreflect.ServiceDescriptor).Methods().ByName("Check"); m == nil || m.Output().FullName() != "grpc.health.v1.HealthCheckResponse" {
			t.Errorf("%s: Check: %v", refl, m)
		}
	}
}

// TestReflectErrors: a server without reflection is told from one that
// cannot be reached.
func TestReflectErrors(t *testing.T) {
	_, err := Reflect(timeout(t), serve(t, "none"))
	if !errors.Is(err, ErrNoReflection) || !strings.Contains(err.Error(), "neither grpc.reflection.v1 nor v1alpha") {
		t.Errorf("a server without reflection: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Reflect(timeout(t), addr)
	if status.Code(err) != codes.Unavailable || errors.Is(err, ErrNoReflection) {
		t.Errorf("no server: %v (code %s)", err, status.Code(err))
	}
}

// fakeReflection answers reflection requests from fixed files, as servers
// other than grpc-go's do.
type fakeReflection struct {
	rpb.UnimplementedServerReflectionServer
	services []string
	symbols  map[string][]*descriptorpb.FileDescriptorProto // the answer to file_containing_symbol
	files    map[string]*descriptorpb.FileDescriptorProto   // to file_by_filename
}

func (f *fakeReflection) ServerReflectionInfo(st rpb.ServerReflection_ServerReflectionInfoServer) error {
	for {
		req, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		resp := &rpb.ServerReflectionResponse{OriginalRequest: req}
		var send []*descriptorpb.FileDescriptorProto
		switch r := req.MessageRequest.(type) {
		case *rpb.ServerReflectionRequest_ListServices:
			list := &rpb.ListServiceResponse{}
			for _, s := range f.services {
				list.Service = append(list.Service, &rpb.ServiceResponse{Name: s})
			}
			resp.MessageResponse = &rpb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: list}
		case *rpb.ServerReflectionRequest_FileContainingSymbol:
			send = f.symbols[r.FileContainingSymbol]
		case *rpb.ServerReflectionRequest_FileByFilename:
			if fd := f.files[r.FileByFilename]; fd != nil {
				send = append(send, fd)
			}
		}
		if resp.MessageResponse == nil {
			if len(send) == 0 {
				resp.MessageResponse = &rpb.ServerReflectionResponse_ErrorResponse{ErrorResponse: &rpb.ErrorResponse{ErrorCode: int32(codes.NotFound), ErrorMessage: "not found"}}
			} else {
				fdr := &rpb.FileDescriptorResponse{}
				for _, fd := range send {
					b, _ := proto.Marshal(fd)
					fdr.FileDescriptorProto = append(fdr.FileDescriptorProto, b)
				}
				resp.MessageResponse = &rpb.ServerReflectionResponse_FileDescriptorResponse{FileDescriptorResponse: fdr}
			}
		}
		if err := st.Send(resp); err != nil {
			return err
		}
	}
}

func serveFake(t *testing.T, f *fakeReflection) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rpb.RegisterServerReflectionServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// TestReflectNode: Node's @grpc/reflection sends files that name no
// imports (testdata/node-reflection.txtpb is what it sent): their types
// are found across the files, the well-known ones are the built-in ones,
// and calls encode and decode.
func TestReflectNode(t *testing.T) {
	b, err := os.ReadFile("testdata/node-reflection.txtpb")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := prototext.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	f := &fakeReflection{services: []string{"demo.v1.Demo"}, symbols: map[string][]*descriptorpb.FileDescriptorProto{"demo.v1.Demo": set.File}, files: map[string]*descriptorpb.FileDescriptorProto{}}
	for _, fd := range set.File {
		f.files[fd.GetName()] = fd
	}
	files, err := Reflect(timeout(t), serveFake(t, f))
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName("demo.v1.Demo")
	if err != nil {
		t.Fatal(err)
	}
	echo := d.(protoreflect.ServiceDescriptor).Methods().ByName("Echo")
	if p := append(Placeholders(echo.Input()), Placeholders(echo.Output())...); len(p) > 0 {
		t.Errorf("placeholders: %v", p)
	}
	in := echo.Input().Fields()
	if at := in.ByName("at").Message(); at.ParentFile().Path() != "google/protobuf/timestamp.proto" {
		t.Errorf("at: a %s of %s; want the built-in Timestamp", at.FullName(), at.ParentFile().Path())
	}
	if item := in.ByName("item").Message(); item.FullName() != "demo.common.v1.Item" {
		t.Errorf("item: %s", item.FullName())
	}
	if seen := echo.Output().Fields().ByName("seen_metadata"); !seen.IsMap() {
		t.Errorf("seen_metadata is not a map")
	}
	if list := d.(protoreflect.ServiceDescriptor).Methods().ByName("List"); list.Output().FullName() != "demo.common.v1.Item" {
		t.Errorf("List returns %s", list.Output().FullName())
	}
	types := dynamicpb.NewTypes(files)
	req := dynamicpb.NewMessage(echo.Input())
	const j = `{"text":"hi","at":"2024-05-06T07:08:09Z","meta":{"a":[1,"x"]},"extra":{"@type":"type.googleapis.com/demo.common.v1.Item","id":"i1"},"item":{"id":"i2","created":"2024-01-01T00:00:00Z"}}`
	if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(j), req); err != nil {
		t.Fatal(err)
	}
	if _, err := (protojson.MarshalOptions{Resolver: types}).Marshal(req); err != nil {
		t.Fatal(err)
	}
}

// TestReflectImportsByName: a server that answers with a file alone is
// asked for its imports by name, and one it does not have, a well-known
// type, is built in; a type found nowhere is a placeholder, told of.
func TestReflectImportsByName(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "common"), 0o755)
	os.WriteFile(filepath.Join(dir, "common", "money.proto"), []byte(`syntax = "proto3";
package shop.common;
message Money { int64 cents = 1; }
`), 0o644)
	os.WriteFile(filepath.Join(dir, "pricing.proto"), []byte(`syntax = "proto3";
package shop.pricing;
import "common/money.proto";
import "google/protobuf/timestamp.proto";
message Quote { shop.common.Money price = 1; google.protobuf.Timestamp at = 2; }
service Pricing { rpc Get(Quote) returns (Quote); }
`), 0o644)
	loaded, err := Load(context.Background(), Sources{Dir: dir, Protos: []string{"pricing.proto"}})
	if err != nil {
		t.Fatal(err)
	}
	fdp := func(path string) *descriptorpb.FileDescriptorProto {
		f, err := loaded.FindFileByPath(path)
		if err != nil {
			t.Fatal(err)
		}
		return protodesc.ToFileDescriptorProto(f)
	}
	pricing, money := fdp("pricing.proto"), fdp("common/money.proto")
	files, err := Reflect(timeout(t), serveFake(t, &fakeReflection{
		services: []string{"shop.pricing.Pricing"},
		symbols:  map[string][]*descriptorpb.FileDescriptorProto{"shop.pricing.Pricing": {pricing}},
		files:    map[string]*descriptorpb.FileDescriptorProto{"common/money.proto": money},
	}))
	if err != nil {
		t.Fatal(err)
	}
	quote, err := files.FindDescriptorByName("shop.pricing.Quote")
	if err != nil {
		t.Fatal(err)
	}
	if p := Placeholders(quote.(protoreflect.MessageDescriptor)); len(p) > 0 {
		t.Errorf("placeholders: %v", p)
	}

	// Money's file is nowhere: the last resort leaves it a placeholder.
	files, err = Reflect(timeout(t), serveFake(t, &fakeReflection{
		services: []string{"shop.pricing.Pricing"},
		symbols:  map[string][]*descriptorpb.FileDescriptorProto{"shop.pricing.Pricing": {pricing}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	quote, err = files.FindDescriptorByName("shop.pricing.Quote")
	if err != nil {
		t.Fatal(err)
	}
	if p := Placeholders(quote.(protoreflect.MessageDescriptor)); strings.Join(p, ",") != "shop.common.Money" {
		t.Errorf("placeholders: %v; want shop.common.Money", p)
	}
}

// TestRelinkKeepsGoodFiles: files that link as sent are left as they are.
func TestRelinkKeepsGoodFiles(t *testing.T) {
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(healthpb.File_grpc_health_v1_health_proto)}}
	files, err := link(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.FindFileByPath("grpc/health/v1/health.proto"); err != nil {
		t.Error(err)
	}
	if n := files.NumFiles(); n != 1 {
		t.Errorf("%d files", n)
	}
	var _ *protoregistry.Files = files
}

// FuzzLink: whatever files a server sends, linking them and looking for
// placeholders ends without a panic.
func FuzzLink(f *testing.F) {
	b, err := os.ReadFile("testdata/node-reflection.txtpb")
	if err != nil {
		f.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := prototext.Unmarshal(b, &set); err != nil {
		f.Fatal(err)
	}
	seed, _ := proto.Marshal(&set)
	f.Add(seed)
	seed, _ = proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(healthpb.File_grpc_health_v1_health_proto)}})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var set descriptorpb.FileDescriptorSet
		if proto.Unmarshal(b, &set) != nil || len(set.File) > 50 {
			return
		}
		files, err := link(&set)
		if err != nil {
			return
		}
		files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			for i := 0; i < fd.Messages().Len(); i++ {
				Placeholders(fd.Messages().Get(i))
			}
			return true
		})
	})
}
