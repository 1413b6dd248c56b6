// Package protos reads the gRPC services and message types a suite names:
// .proto files, compiled by bufbuild/protocompile (no protoc needed), and
// descriptor sets (protoc -o, buf build -o). The wire shows the messages
// of calls to these services as JSON.
package protos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

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
//
// A listed .proto that lies under one of ImportPaths is known by its path
// from there, as protoc -I names it, so the files that import it and the
// list mean one file. A descriptor set may leave out the well-known types
// (google/protobuf/…): they are built in.
func Load(ctx context.Context, src Sources) (*protoregistry.Files, error) {
	files := new(protoregistry.Files)
	if len(src.Protos) > 0 {
		if err := compile(ctx, src, files); err != nil {
			return nil, err
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
		if missing := addImports(&set, files); len(missing) > 0 {
			return nil, fmt.Errorf("%s: imports %s, not in the set: build it with protoc --include_imports (or buf build)",
				name, quoteAll(missing))
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

// compile compiles src's .proto files into files.
func compile(ctx context.Context, src Sources, files *protoregistry.Files) error {
	roots := []string{src.Dir}
	for _, p := range src.ImportPaths {
		roots = append(roots, filepath.Join(src.Dir, p))
	}
	r := &resolver{roots: roots, paths: src.ImportPaths, listed: map[string]string{}, shown: map[string]string{}, found: map[string]found{}}
	names := make([]string, len(src.Protos))
	for i, p := range src.Protos {
		names[i] = p
		for _, root := range roots[1:] {
			rel, err := filepath.Rel(root, filepath.Join(src.Dir, p))
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			names[i] = filepath.ToSlash(rel)
			if names[i] != p {
				r.listed[names[i]] = root
				r.shown[names[i]] = p
			}
			break
		}
	}
	var errs []error
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(r),
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			errs = append(errs, r.named(err))
			if len(errs) >= maxErrors {
				return err
			}
			return nil
		}, nil),
	}
	out, err := c.Compile(ctx, names...)
	if len(errs) > 0 || err != nil {
		if twice := r.twice(); twice != nil {
			errs = append([]error{twice}, errs...)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		return err
	}
	for _, f := range out {
		if err := register(files, f); err != nil {
			return err
		}
	}
	return nil
}

// resolver finds the .proto files a compilation reads: a listed file
// named from an import path in that folder, others in the suite's folder
// and then the import paths, in order. It notes where each name was found,
// to tell when one file was read under two names.
type resolver struct {
	roots  []string          // the suite's folder, then the import paths
	paths  []string          // the import paths as the suite gives them
	listed map[string]string // listed file's name → the import path it is in
	shown  map[string]string // listed file's name → as the suite lists it

	mu    sync.Mutex
	found map[string]found // by name
}

// found is the file read for a name, and in which of roots.
type found struct {
	file string
	root int
}

func (r *resolver) FindFileByPath(name string) (protocompile.SearchResult, error) {
	roots := r.roots
	if root, ok := r.listed[name]; ok {
		roots = []string{root}
	}
	for _, root := range roots {
		p := filepath.Join(root, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			r.mu.Lock()
			r.found[name] = found{file: p, root: slices.Index(r.roots, root)}
			r.mu.Unlock()
			break
		}
	}
	return (&protocompile.SourceResolver{ImportPaths: roots}).FindFileByPath(name)
}

// named shows an error in a listed file under the name the suite gives it.
func (r *resolver) named(err reporter.ErrorWithPos) error {
	pos := err.GetPosition()
	if shown, ok := r.shown[pos.Filename]; ok {
		return fmt.Errorf("%s:%d:%d: %w", shown, pos.Line, pos.Col, err.Unwrap())
	}
	return err
}

// twice says which file was read under two names (its types are then
// defined twice), or nil.
func (r *resolver) twice() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	byFile := map[string][]string{}
	for name, f := range r.found {
		abs, err := filepath.Abs(f.file)
		if err != nil {
			abs = f.file
		}
		byFile[abs] = append(byFile[abs], name)
	}
	var errs []error
	for _, abs := range slices.Sorted(maps.Keys(byFile)) {
		names := byFile[abs]
		if len(names) < 2 {
			continue
		}
		slices.Sort(names)
		how := make([]string, len(names))
		for i, n := range names {
			how[i] = strconv.Quote(n) + " (from the suite's folder)"
			if root := r.found[n].root; root > 0 {
				how[i] = fmt.Sprintf("%q (from import path %s)", n, r.paths[root-1])
			}
		}
		file := abs
		if rel, err := filepath.Rel(r.roots[0], abs); err == nil && !strings.HasPrefix(rel, "..") {
			file = filepath.ToSlash(rel)
		}
		errs = append(errs, fmt.Errorf("%s is read under %d names, %s, so its types are defined twice "+
			"(a file is known by the name it is imported by): import it by one name, its path from one import path",
			file, len(names), strings.Join(how, " and ")))
	}
	return errors.Join(errs...)
}

// wellKnown finds a file of the well-known types (google/protobuf/…),
// which are built in.
func wellKnown(path string) (protoreflect.FileDescriptor, bool) {
	if !strings.HasPrefix(path, "google/protobuf/") {
		return nil, false
	}
	f, err := protoregistry.GlobalFiles.FindFileByPath(path)
	return f, err == nil
}

// addImports adds to set the files it imports but does not hold, from
// have (what is already loaded) or the built-in well-known types, with
// what they import in turn. It returns the imports found in neither.
func addImports(set *descriptorpb.FileDescriptorSet, have *protoregistry.Files) []string {
	in := map[string]bool{}
	for _, f := range set.File {
		in[f.GetName()] = true
	}
	var missing []string
	for i := 0; i < len(set.File); i++ { // grows as files are added
		for _, dep := range set.File[i].GetDependency() {
			if in[dep] {
				continue
			}
			in[dep] = true
			f, ok := wellKnown(dep)
			if !ok && have != nil {
				if hf, err := have.FindFileByPath(dep); err == nil {
					f, ok = hf, true
				}
			}
			if !ok {
				missing = append(missing, dep)
				continue
			}
			set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
		}
	}
	sort.Strings(missing)
	return missing
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
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
