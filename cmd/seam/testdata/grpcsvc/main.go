// grpcsvc is a small two-role program for seam's end-to-end tests of
// services with several ports.
//
// As "auth" it serves HTTP on -api (/healthz, /hello) and gRPC on -grpc:
// the standard health service, whose calls need an "authorization"
// metadata (else UNAUTHENTICATED), seamtest.Counter (Count streams the
// numbers 1..n, with a "counted" trailer; n < 0 is INVALID_ARGUMENT
// after the first), and server reflection.
//
// As "sales" it serves HTTP on -listen and calls auth: /check[?token=T]
// makes a health Check on auth's gRPC port (from SEAM_AUTH_PORTS_GRPC)
// and answers the status code's name; /hello GETs auth's /hello (from
// SEAM_AUTH_URL); /config shows the addresses it was given.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func main() {
	api := flag.String("api", "", "auth: the HTTP address")
	grpcAddr := flag.String("grpc", "", "auth: the gRPC address")
	listen := flag.String("listen", "", "sales: the HTTP address")
	grpcPort := flag.String("grpc-port", "", "sales: auth's gRPC port, as the suite's template gave it")
	directPort := flag.String("direct-port", "", "sales: auth's own gRPC port (direct_ports), as the template gave it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch {
	case *api != "" && *grpcAddr != "":
		auth(ctx, *api, *grpcAddr)
	case *listen != "":
		sales(ctx, *listen, *grpcPort, *directPort)
	default:
		log.Fatal("give -api and -grpc (auth) or -listen (sales)")
	}
}

func auth(ctx context.Context, api, grpcAddr string) {
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if len(md.Get("authorization")) == 0 {
			return nil, status.Error(codes.Unauthenticated, "no token given")
		}
		return h(ctx, req)
	}))
	hs := health.NewServer()
	hs.SetServingStatus("auth", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	registerCounter(srv)
	reflection.Register(srv)
	go srv.Serve(gl)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello from auth") })
	serve(ctx, api, mux)
	srv.Stop()
}

// counterFile is seamtest/counter.proto, built here as there is no
// generated code for it; registering it makes reflection tell of it.
func counterFile() protoreflect.FileDescriptor {
	i32 := descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("seamtest/counter.proto"), Package: proto.String("seamtest"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("CountRequest"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("n"), Number: proto.Int32(1), Type: i32, Label: opt, JsonName: proto.String("n")}}},
			{Name: proto.String("CountReply"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("i"), Number: proto.Int32(1), Type: i32, Label: opt, JsonName: proto.String("i")}}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Counter"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("Count"), InputType: proto.String(".seamtest.CountRequest"), OutputType: proto.String(".seamtest.CountReply"), ServerStreaming: proto.Bool(true)},
		}}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		log.Fatal(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		log.Fatal(err)
	}
	return fd
}

func registerCounter(srv *grpc.Server) {
	fd := counterFile()
	in, out := fd.Messages().ByName("CountRequest"), fd.Messages().ByName("CountReply")
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "seamtest.Counter",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Count", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			req := dynamicpb.NewMessage(in)
			if err := st.RecvMsg(req); err != nil {
				return err
			}
			n := req.Get(in.Fields().ByName("n")).Int()
			st.SetTrailer(metadata.Pairs("counted", strconv.FormatInt(max(n, 1), 10)))
			for i := int64(1); i <= max(n, 1); i++ {
				reply := dynamicpb.NewMessage(out)
				reply.Set(out.Fields().ByName("i"), protoreflect.ValueOfInt32(int32(i)))
				if err := st.SendMsg(reply); err != nil {
					return err
				}
				if n < 0 {
					return status.Error(codes.InvalidArgument, "n must not be negative")
				}
			}
			return nil
		}}},
	}, nil)
}

func sales(ctx context.Context, listen, grpcPort, directPort string) {
	envPort := os.Getenv("SEAM_AUTH_PORTS_GRPC")
	conn, err := grpc.NewClient("127.0.0.1:"+envPort, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"flag":%s,"env":%s,"direct":%s}`, grpcPort, envPort, directPort) // numbers: the suite compares them with ports
	})
	mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		cctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if t := r.URL.Query().Get("token"); t != "" {
			cctx = metadata.AppendToOutgoingContext(cctx, "authorization", "Bearer "+t)
		}
		_, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: "auth"})
		fmt.Fprint(w, status.Code(err).String())
	})
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(os.Getenv("SEAM_AUTH_URL") + "/hello")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	serve(ctx, listen, mux)
}

func serve(ctx context.Context, addr string, h http.Handler) {
	srv := &http.Server{Addr: addr, Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
