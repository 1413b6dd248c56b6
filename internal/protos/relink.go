package protos

import (
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// relink returns a copy of the files a server sent in which each file
// imports what its types use, found across all of them and the built-in
// well-known types. It is for servers whose files name no imports, as
// Node's @grpc/reflection sends them (one file per package: demo_v1.proto,
// google_protobuf.proto…): their files of the well-known types give way to
// the built-in ones, and their maps' entry types get the names protobuf
// requires (SeenMetadataEntry, not Seen_metadata). Type references are
// made absolute; imports no file answers to are dropped, so that a type
// found nowhere is the only thing left unresolved.
func relink(set *descriptorpb.FileDescriptorSet) *descriptorpb.FileDescriptorSet {
	out := &descriptorpb.FileDescriptorSet{}
	for _, f := range set.File {
		if wellKnownCopy(f) {
			continue
		}
		f = proto.Clone(f).(*descriptorpb.FileDescriptorProto)
		for _, m := range f.MessageType {
			nameMapEntries(m, join(f.GetPackage(), m.GetName()))
		}
		out.File = append(out.File, f)
	}
	l := linker{defined: map[string]defined{}, files: map[string]bool{}}
	for _, f := range out.File {
		l.files[f.GetName()] = true
		l.index(f.GetPackage(), f.GetName(), f.MessageType, f.EnumType)
	}
	for _, f := range out.File {
		l.deps = map[string]bool{}
		for _, dep := range f.GetDependency() {
			if _, ok := wellKnown(dep); ok || l.files[dep] {
				l.deps[dep] = true
			}
		}
		pkg := f.GetPackage()
		for _, m := range f.MessageType {
			l.message(m, join(pkg, m.GetName()))
		}
		for _, x := range f.Extension {
			l.field(x, pkg)
		}
		for _, s := range f.Service {
			for _, m := range s.Method {
				scope := join(join(pkg, s.GetName()), m.GetName())
				m.InputType = proto.String(l.ref(scope, m.GetInputType(), nil))
				m.OutputType = proto.String(l.ref(scope, m.GetOutputType(), nil))
			}
		}
		delete(l.deps, f.GetName())
		f.Dependency = slices.Sorted(func(yield func(string) bool) {
			for d := range l.deps {
				if !yield(d) {
					return
				}
			}
		})
		f.PublicDependency, f.WeakDependency = nil, nil
	}
	addImports(out, nil)
	return out
}

// wellKnownCopy reports whether f holds only well-known types, which the
// built-in files define.
func wellKnownCopy(f *descriptorpb.FileDescriptorProto) bool {
	if f.GetPackage() != "google.protobuf" || len(f.Service)+len(f.Extension) > 0 || len(f.MessageType)+len(f.EnumType) == 0 {
		return false
	}
	var names []string
	for _, m := range f.MessageType {
		names = append(names, m.GetName())
	}
	for _, e := range f.EnumType {
		names = append(names, e.GetName())
	}
	for _, n := range names {
		if _, ok := wellKnownType("google.protobuf." + n); !ok {
			return false
		}
	}
	return true
}

// wellKnownType finds a well-known type's built-in file.
func wellKnownType(name string) (string, bool) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return "", false
	}
	switch d.(type) {
	case protoreflect.MessageDescriptor, protoreflect.EnumDescriptor:
	default:
		return "", false
	}
	p := d.ParentFile().Path()
	return p, strings.HasPrefix(p, "google/protobuf/")
}

// nameMapEntries renames the map entry types nested in m (and deeper)
// that are not named as protobuf requires, and points their fields at
// them by their full names.
func nameMapEntries(m *descriptorpb.DescriptorProto, full string) {
	for _, n := range m.NestedType {
		nameMapEntries(n, join(full, n.GetName()))
	}
	for _, fd := range m.Field {
		if fd.GetLabel() != descriptorpb.FieldDescriptorProto_LABEL_REPEATED {
			continue
		}
		for _, n := range m.NestedType {
			if !n.GetOptions().GetMapEntry() || !refersTo(fd.GetTypeName(), full, n.GetName()) {
				continue
			}
			want := mapEntryName(fd.GetName())
			if n.GetName() != want && !hasNested(m, want) {
				n.Name = proto.String(want)
			}
			fd.TypeName = proto.String("." + join(full, n.GetName()))
		}
	}
}

func refersTo(ref, scope, name string) bool {
	return ref == name || ref == join(scope, name) || ref == "."+join(scope, name)
}

func hasNested(m *descriptorpb.DescriptorProto, name string) bool {
	for _, n := range m.NestedType {
		if n.GetName() == name {
			return true
		}
	}
	for _, e := range m.EnumType {
		if e.GetName() == name {
			return true
		}
	}
	return false
}

// mapEntryName is the name protobuf gives a map field's entry type.
func mapEntryName(field string) string {
	var b strings.Builder
	upper := true
	for _, c := range field {
		switch {
		case c == '_':
			upper = true
		case upper:
			b.WriteRune(unicode.ToUpper(c))
			upper = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String() + "Entry"
}

// linker resolves type references across the files a server sent.
type linker struct {
	defined map[string]defined // by the type's full name
	files   map[string]bool    // the files sent
	deps    map[string]bool    // what the file being linked uses
}

// defined is where a type is defined, and what it is.
type defined struct {
	file string
	kind protoreflect.Kind // MessageKind or EnumKind
}

func (l *linker) index(scope, file string, ms []*descriptorpb.DescriptorProto, es []*descriptorpb.EnumDescriptorProto) {
	for _, e := range es {
		l.defined[join(scope, e.GetName())] = defined{file: file, kind: protoreflect.EnumKind}
	}
	for _, m := range ms {
		full := join(scope, m.GetName())
		l.defined[full] = defined{file: file, kind: protoreflect.MessageKind}
		l.index(full, file, m.NestedType, m.EnumType)
	}
}

func (l *linker) message(m *descriptorpb.DescriptorProto, full string) {
	for _, fd := range m.Field {
		l.field(fd, full)
	}
	for _, x := range m.Extension {
		l.field(x, full)
	}
	for _, n := range m.NestedType {
		l.message(n, join(full, n.GetName()))
	}
}

func (l *linker) field(fd *descriptorpb.FieldDescriptorProto, scope string) {
	if fd.TypeName != nil {
		var kind protoreflect.Kind
		fd.TypeName = proto.String(l.ref(scope, fd.GetTypeName(), &kind))
		if fd.Type == nil && kind != 0 {
			t := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
			if kind == protoreflect.EnumKind {
				t = descriptorpb.FieldDescriptorProto_TYPE_ENUM
			}
			fd.Type = &t
		}
	}
	if fd.Extendee != nil {
		fd.Extendee = proto.String(l.ref(scope, fd.GetExtendee(), nil))
	}
}

// ref resolves a type reference as protobuf does, from the innermost
// scope out, and notes the file it is in; a reference found nowhere is
// kept as it is.
func (l *linker) ref(scope, ref string, kind *protoreflect.Kind) string {
	given := ref
	if ref == "" {
		return ref
	}
	if strings.HasPrefix(ref, ".") {
		scope, ref = "", ref[1:]
	}
	for {
		name := join(scope, ref)
		if d, ok := l.defined[name]; ok {
			l.deps[d.file] = true
			if kind != nil {
				*kind = d.kind
			}
			return "." + name
		}
		if file, ok := wellKnownType(name); ok {
			l.deps[file] = true
			if kind != nil {
				*kind = protoreflect.MessageKind
				if d, _ := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); d != nil {
					if _, isEnum := d.(protoreflect.EnumDescriptor); isEnum {
						*kind = protoreflect.EnumKind
					}
				}
			}
			return "." + name
		}
		if scope == "" {
			return given
		}
		i := strings.LastIndexByte(scope, '.')
		if i < 0 {
			scope = ""
		} else {
			scope = scope[:i]
		}
	}
}

func join(scope, name string) string {
	if scope == "" {
		return name
	}
	return scope + "." + name
}
