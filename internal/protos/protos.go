// Package protos reads the gRPC services and message types a suite names:
// .proto files, compiled by bufbuild/protocompile (no protoc needed), and
// descriptor sets (protoc -o, buf build -o). The wire shows the messages
// of calls to these services as JSON.
package protos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// maxErrors bounds the compile errors reported for one set of files.
const maxErrors = 10

// Sources are the files one service names; paths are relative to Dir.
type Sources struct {
	Dir         string
	Protos      []string // .proto files, found under Dir and ImportPaths
	ImportPaths []string // more folders imports are looked up in
	Sets        []string // serialized FileDescriptorSets
}

// Load compiles and reads the sources into one registry. Errors name the
// file and, for a .proto, line:col in it ("api/auth.proto:3:9: …"),
// several joined.
func Load(ctx context.Context, src Sources) (*protoregistry.Files, error) {
	files := new(protoregistry.Files)
	if len(src.Protos) > 0 {
		paths := []string{src.Dir}
		for _, p := range src.ImportPaths {
			paths = append(paths, filepath.Join(src.Dir, p))
		}
		var errs []error
		c := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: paths}),
			Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
				errs = append(errs, err)
				if len(errs) >= maxErrors {
					return err
				}
				return nil
			}, nil),
		}
		out, err := c.Compile(ctx, src.Protos...)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		if err != nil {
			return nil, err
		}
		for _, f := range out {
			if err := register(files, f); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range src.Sets {
		b, err := os.ReadFile(filepath.Join(src.Dir, name))
		if err != nil {
			return nil, err
		}
		var set descriptorpb.FileDescriptorSet
		if err := proto.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("%s: not a descriptor set (protoc -o FILE, buf build -o FILE): %v", name, err)
		}
		fs, err := protodesc.NewFiles(&set)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		var rerr error
		fs.RangeFiles(func(f protoreflect.FileDescriptor) bool {
			rerr = register(files, f)
			return rerr == nil
		})
		if rerr != nil {
			return nil, fmt.Errorf("%s: %v", name, rerr)
		}
	}
	return files, nil
}

// register adds f after what it imports; a file already there is kept.
func register(files *protoregistry.Files, f protoreflect.FileDescriptor) error {
	if _, err := files.FindFileByPath(f.Path()); err == nil {
		return nil
	}
	imps := f.Imports()
	for i := 0; i < imps.Len(); i++ {
		if err := register(files, imps.Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	return files.RegisterFile(f)
}
