package protos

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// maxReflectedFiles bounds what one server's reflection may send.
const maxReflectedFiles = 2000

// Reflect asks a gRPC server (plaintext, at addr host:port) for its
// services through server reflection (grpc.reflection.v1), and returns
// them with every type they use. It fails when the server does not
// serve reflection.
func Reflect(ctx context.Context, addr string) (*protoregistry.Files, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	ask := func(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
		if err := st.Send(req); err != nil {
			// Send says only io.EOF when the server ended the stream
			// (Unimplemented, say, when it serves no reflection);
			// the status that says why comes from Recv.
			if errors.Is(err, io.EOF) {
				if _, rerr := st.Recv(); rerr != nil {
					return nil, rerr
				}
			}
			return nil, err
		}
		resp, err := st.Recv()
		if err != nil {
			return nil, err
		}
		if e := resp.GetErrorResponse(); e != nil {
			return nil, errors.New(e.GetErrorMessage())
		}
		return resp, nil
	}
	list, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if err != nil {
		return nil, fmt.Errorf("listing its services: %w", err)
	}
	seen := map[string]bool{}
	var set descriptorpb.FileDescriptorSet
	for _, svc := range list.GetListServicesResponse().GetService() {
		resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc.GetName()}})
		if err != nil {
			return nil, fmt.Errorf("the file of %s: %w", svc.GetName(), err)
		}
		// The answer holds the file and what it imports, but for files
		// this stream has had already.
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(b, fd); err != nil {
				return nil, fmt.Errorf("the file of %s: %w", svc.GetName(), err)
			}
			if !seen[fd.GetName()] {
				seen[fd.GetName()] = true
				set.File = append(set.File, fd)
			}
			if len(set.File) > maxReflectedFiles {
				return nil, fmt.Errorf("more than %d files", maxReflectedFiles)
			}
		}
	}
	st.CloseSend()
	return protodesc.NewFiles(&set)
}
