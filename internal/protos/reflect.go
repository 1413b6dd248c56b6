package protos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// maxReflectedFiles bounds what one server's reflection may send.
const maxReflectedFiles = 2000

// maxReflectedBytes bounds one reflection answer.
const maxReflectedBytes = 64 << 20

// The reflection services, newest first: v1alpha is what older servers
// (grpc-java, grpcio, grpc-go before 1.57…) serve. Their messages are the
// same on the wire, so both are spoken with v1's types.
var reflectionServices = []string{"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}

// ErrNoReflection is what Reflect's error wraps when the server answers
// but serves no reflection service.
var ErrNoReflection = errors.New("the server serves no reflection")

// Reflect asks a gRPC server (plaintext, at addr host:port) for its
// services through server reflection (grpc.reflection.v1, else v1alpha),
// and returns them with every type they use. Files the server does not
// send are asked for by name, and else the well-known types
// (google/protobuf/…) are built in. The files of some servers (Node's
// @grpc/reflection) name no imports: their types are then found across
// all the files the server sent; a type that is nowhere is left a
// placeholder, which Placeholders tells of.
//
// The error wraps ErrNoReflection when the server serves neither, and the
// call's status (UNAVAILABLE when it cannot be reached) when the server
// was not asked.
func Reflect(ctx context.Context, addr string) (*protoregistry.Files, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxReflectedBytes)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var st *reflectStream
	var list *rpb.ServerReflectionResponse
	for _, svc := range reflectionServices {
		if st, err = openReflection(ctx, conn, svc); err != nil {
			return nil, err
		}
		list, err = st.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
		if err == nil {
			break
		}
		st.close()
		if status.Code(err) != codes.Unimplemented {
			return nil, fmt.Errorf("listing its services: %w", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w (neither grpc.reflection.v1 nor v1alpha: %s)", ErrNoReflection, status.Convert(err).Message())
	}
	defer st.close()

	got := &reflected{seen: map[string]bool{}}
	var skipped []error
	for _, svc := range list.GetListServicesResponse().GetService() {
		resp, err := st.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc.GetName()}})
		var answered *answerError
		if errors.As(err, &answered) {
			// The server lists a service it has no file for (some list
			// the reflection service itself so): the others are usable.
			skipped = append(skipped, fmt.Errorf("the file of %s: %w", svc.GetName(), err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("the file of %s: %w", svc.GetName(), err)
		}
		if err := got.add(resp); err != nil {
			return nil, fmt.Errorf("the file of %s: %w", svc.GetName(), err)
		}
	}
	if len(got.set.File) == 0 && len(skipped) > 0 {
		return nil, errors.Join(skipped...)
	}
	// The answers hold a file and what it imports, but for files this
	// stream has had already; a server may leave imports out: ask for
	// them by name.
	for i := 0; i < len(got.set.File); i++ { // grows as files are added
		for _, dep := range got.set.File[i].GetDependency() {
			if got.seen[dep] || got.asked[dep] {
				continue
			}
			if got.asked == nil {
				got.asked = map[string]bool{}
			}
			got.asked[dep] = true
			if len(got.asked) > maxReflectedFiles {
				return nil, fmt.Errorf("more than %d files", maxReflectedFiles)
			}
			resp, err := st.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep}})
			var answered *answerError
			if errors.As(err, &answered) {
				continue // built in, or found across the files below
			}
			if err != nil {
				return nil, fmt.Errorf("the file %s: %w", dep, err)
			}
			if err := got.add(resp); err != nil {
				return nil, fmt.Errorf("the file %s: %w", dep, err)
			}
		}
	}
	return link(&got.set)
}

// reflected gathers the files a server sent, each once.
type reflected struct {
	set   descriptorpb.FileDescriptorSet
	seen  map[string]bool // files had
	asked map[string]bool // imports asked for by name
}

func (g *reflected) add(resp *rpb.ServerReflectionResponse) error {
	for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fd := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fd); err != nil {
			return err
		}
		if g.seen[fd.GetName()] {
			continue
		}
		g.seen[fd.GetName()] = true
		g.set.File = append(g.set.File, fd)
		if len(g.set.File) > maxReflectedFiles {
			return fmt.Errorf("more than %d files", maxReflectedFiles)
		}
	}
	return nil
}

// link builds the registry from what a server sent, as leniently as it
// must: as sent, with the imports it left out built in; else with each
// file's imports found from the types it uses; else with the types found
// nowhere as placeholders.
func link(set *descriptorpb.FileDescriptorSet) (*protoregistry.Files, error) {
	sent := proto.Clone(set).(*descriptorpb.FileDescriptorSet)
	addImports(sent, nil)
	files, err := protodesc.NewFiles(sent)
	if err == nil {
		return files, nil
	}
	fixed := relink(set)
	files, ferr := protodesc.NewFiles(fixed)
	if ferr == nil {
		return files, nil
	}
	// The last resort: what is found nowhere is left a placeholder, and
	// Placeholders says so of the calls that use it.
	if files, lerr := (protodesc.FileOptions{AllowUnresolvable: true}).NewFiles(fixed); lerr == nil {
		return files, nil
	}
	return nil, fmt.Errorf("the files it sent do not link: %v", err)
}

// reflectStream is one ServerReflectionInfo stream.
type reflectStream struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func openReflection(ctx context.Context, conn *grpc.ClientConn, service string) (*reflectStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/"+service+"/ServerReflectionInfo")
	if err != nil {
		cancel()
		return nil, err
	}
	return &reflectStream{ClientStream: st, cancel: cancel}, nil
}

func (s *reflectStream) close() {
	s.CloseSend()
	s.cancel()
}

// answerError is the server's error answer to one request (the stream
// goes on).
type answerError struct {
	code int32
	msg  string
}

func (e *answerError) Error() string {
	return fmt.Sprintf("%s: %s", codes.Code(e.code), e.msg)
}

func (s *reflectStream) ask(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	if err := s.SendMsg(req); err != nil {
		// Send says only io.EOF when the server ended the stream
		// (Unimplemented, say, when it serves no reflection); the
		// status that says why comes from Recv.
		if errors.Is(err, io.EOF) {
			if rerr := s.RecvMsg(new(rpb.ServerReflectionResponse)); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	resp := new(rpb.ServerReflectionResponse)
	if err := s.RecvMsg(resp); err != nil {
		return nil, err
	}
	if e := resp.GetErrorResponse(); e != nil {
		return nil, &answerError{code: e.GetErrorCode(), msg: e.GetErrorMessage()}
	}
	return resp, nil
}

// Placeholders lists the message and enum types m uses, itself and in
// its fields at any depth, that are only placeholders: types a server's
// reflection named but did not describe. Calls with them cannot be
// encoded or decoded.
func Placeholders(m protoreflect.MessageDescriptor) []string {
	seen := map[protoreflect.FullName]bool{}
	var out []string
	var walk func(m protoreflect.MessageDescriptor)
	walk = func(m protoreflect.MessageDescriptor) {
		if seen[m.FullName()] {
			return
		}
		seen[m.FullName()] = true
		if m.IsPlaceholder() {
			out = append(out, string(m.FullName()))
			return
		}
		fields := m.Fields()
		for i := 0; i < fields.Len(); i++ {
			f := fields.Get(i)
			if e := f.Enum(); e != nil && e.IsPlaceholder() && !seen[e.FullName()] {
				seen[e.FullName()] = true
				out = append(out, string(e.FullName()))
			}
			if sub := f.Message(); sub != nil {
				walk(sub)
			}
		}
	}
	walk(m)
	sort.Strings(out)
	return out
}
