package stub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/seamtest/seam/internal/grpcstatus"
	"github.com/seamtest/seam/internal/protos"
)

// Recording gRPC. A gRPC caller reaches the recorder over HTTP/2 without
// TLS (prior knowledge, as every gRPC client speaks it to an http://
// target); the call goes on to the target over HTTP/2 too, its trailers
// (grpc-status) passed back. Each call is recorded as the mapping the
// stub plays back (see grpc.go): POST /package.Service/Method, the
// request message as JSON matched with equalToJson, the answer's
// messages as a JSON body (a list for a server-streaming method) and a
// status other than OK as grpc-status-name and grpc-status-reason, as
// WireMock's gRPC extension writes them. The JSON needs the services'
// descriptors: the files the recorder was given, or else those the
// target's reflection service gives when the first call is seen. Without
// either, a call is recorded as bytes (binaryEqualTo, base64Body), which
// plays back but cannot be read or edited.

// grpcRecordTimeout bounds asking the target's reflection service.
const grpcRecordTimeout = 10 * time.Second

// grpcTypesFor is the descriptors calls are recorded with: rc.GRPC, or
// what the target's reflection gives, asked once.
func (rc *Recorder) grpcTypesFor() *grpcTypes {
	rc.grpcOnce.Do(func() {
		if rc.GRPC != nil {
			rc.grpcTypes = newGRPCTypes(rc.GRPC)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), grpcRecordTimeout)
		defer cancel()
		files, err := protos.Reflect(ctx, rc.target.Host)
		if err != nil {
			rc.log("gRPC calls are recorded as bytes: asking %s's reflection service for the descriptors: %v (give them: --proto FILE)", rc.target.Host, err)
			return
		}
		if ph := placeholdersOf(files); len(ph) > 0 {
			rc.log("the descriptors %s's reflection gave leave types out (%s): their fields are recorded as bytes", rc.target.Host, strings.Join(ph, ", "))
		}
		rc.GRPC = files
		rc.grpcTypes = newGRPCTypes(files)
		rc.log("gRPC calls are recorded as JSON, with the descriptors %s's reflection service gave", rc.target.Host)
	})
	return rc.grpcTypes
}

// placeholdersOf lists the message types files name but do not define.
func placeholdersOf(files *protoregistry.Files) []string {
	var out []string
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			ms := f.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				out = append(out, protos.Placeholders(ms.Get(j).Input())...)
				out = append(out, protos.Placeholders(ms.Get(j).Output())...)
			}
		}
		return true
	})
	sort.Strings(out)
	return slices.Compact(out)
}

// Descriptors are the descriptors the recording's gRPC calls were read
// with, nil when none were (no gRPC call, or none to be had).
func (rc *Recorder) Descriptors() *protoregistry.Files {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.sawGRPC {
		return nil
	}
	return rc.GRPC
}

// recordGRPC records a finished gRPC call: reqBody and respBody are its
// bodies as they crossed (length-prefixed messages), trailer the answer's
// trailers.
func (rc *Recorder) recordGRPC(r *http.Request, reqBody []byte, resp *http.Response, respBody []byte, ticket uint64) {
	call := r.URL.Path
	g := rc.grpcTypesFor()
	md := g.method(call)
	if md == nil && g != nil {
		rc.log("GRPC %s: the descriptors define no such method; recorded as bytes", call)
	}
	msgs, err := grpcMessages(reqBody, r.Header.Get("Grpc-Encoding"), rc.keep)
	if err != nil {
		rc.log("GRPC %s: passed through, not recorded: the call: %v", call, err)
		return
	}
	body, err := g.requestJSON(md, msgs)
	if err != nil {
		rc.log("GRPC %s: passed through, not recorded: %v", call, err)
		return
	}
	status := resp.Trailer.Get("Grpc-Status")
	message := resp.Trailer.Get("Grpc-Message")
	if status == "" { // a Trailers-Only answer: the status is in the headers
		status, message = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		rc.log("GRPC %s: passed through, not recorded: the answer has no grpc-status (%q)", call, status)
		return
	}
	a := recordedAnswer{status: http.StatusOK}
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		if recordedGRPCHeader(k) {
			for _, v := range resp.Header[k] {
				a.headers = append(a.headers, Header{Name: strings.ToLower(k), Value: v})
			}
		}
	}
	if code != grpcstatus.OK {
		a.headers = append(a.headers, Header{Name: grpcStatusName, Value: grpcstatus.Name(code)})
		if message != "" {
			a.headers = append(a.headers, Header{Name: grpcStatusReason, Value: grpcstatus.PercentDecode(message)})
		}
	} else {
		out, err := grpcMessages(respBody, resp.Header.Get("Grpc-Encoding"), rc.keep)
		if err != nil {
			rc.log("GRPC %s: passed through, not recorded: the answer: %v", call, err)
			return
		}
		if a.body, err = g.responseJSON(md, out); err != nil {
			rc.log("GRPC %s: passed through, not recorded: the answer: %v", call, err)
			return
		}
	}
	rc.mu.Lock()
	rc.sawGRPC = true
	rc.mu.Unlock()
	rc.recordCall(http.MethodPost, call, body, md == nil, ticket, a)
}

// recordedGRPCHeader reports whether an answer's header is metadata the
// service chose (replayed), not gRPC's framing or the connection's.
func recordedGRPCHeader(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "content-type", "content-length", "date", "server", "trailer", "grpc-status", "grpc-message",
		"grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding":
		return false
	}
	return true
}

// responseJSON is an answer's messages as the body a mapping plays them
// back from: one message's JSON, a JSON list for a server-streaming
// method, or without descriptors the one message's bytes.
func (g *grpcTypes) responseJSON(md protoreflect.MethodDescriptor, msgs [][]byte) ([]byte, error) {
	if md == nil {
		if len(msgs) != 1 {
			return nil, fmt.Errorf("%d messages, and no descriptors to write them as JSON (give them: --proto FILE)", len(msgs))
		}
		return msgs[0], nil
	}
	parts := make([][]byte, 0, len(msgs))
	for _, b := range msgs {
		m, err := g.decode(md.Output(), b)
		if err != nil {
			return nil, fmt.Errorf("not a %s: %v", md.Output().FullName(), err)
		}
		j, err := protojson.MarshalOptions{Resolver: g.types}.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s as JSON: %v", md.Output().FullName(), err)
		}
		var c bytes.Buffer
		json.Indent(&c, j, "", "  ") // protojson varies its spacing on purpose: one form
		parts = append(parts, c.Bytes())
	}
	if !md.IsStreamingServer() {
		if len(parts) != 1 {
			return nil, fmt.Errorf("%d messages answer %s, which answers one", len(parts), md.FullName())
		}
		return parts[0], nil
	}
	return append(append([]byte("[\n"), bytes.Join(parts, []byte(",\n"))...), "\n]"...), nil
}

// WriteDescriptors writes files as a descriptor set (protoc
// --include_imports -o) in dir/grpc/, where a stub folder's descriptors
// are read from (WireMock's gRPC extension reads the same folder). It
// never overwrites a file, and writes nothing when dir/grpc/ already holds
// descriptors (a second copy of a file would clash with the first).
// It returns the file written, "" when none was.
func WriteDescriptors(dir string, files *protoregistry.Files) (string, error) {
	gdir := filepath.Join(dir, "grpc")
	if es, err := os.ReadDir(gdir); err == nil {
		for _, e := range es {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".proto", ".dsc", ".desc", ".pb", ".binpb":
				return "", nil
			}
		}
	}
	var set descriptorpb.FileDescriptorSet
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
		return true
	})
	// Dependencies first, as protoc writes them: a reader that links in
	// order finds each import already there.
	sort.SliceStable(set.File, func(i, j int) bool { return set.File[i].GetName() < set.File[j].GetName() })
	set.File = dependencyOrder(set.File)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&set)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(gdir, 0o755); err != nil {
		return "", err
	}
	return create(gdir, "services", ".dsc", b)
}

// dependencyOrder puts each file after the files it imports.
func dependencyOrder(fs []*descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
	byName := map[string]*descriptorpb.FileDescriptorProto{}
	for _, f := range fs {
		byName[f.GetName()] = f
	}
	done := map[string]bool{}
	var out []*descriptorpb.FileDescriptorProto
	var visit func(f *descriptorpb.FileDescriptorProto)
	visit = func(f *descriptorpb.FileDescriptorProto) {
		if done[f.GetName()] {
			return
		}
		done[f.GetName()] = true
		for _, d := range f.GetDependency() {
			if df := byName[d]; df != nil {
				visit(df)
			}
		}
		out = append(out, f)
	}
	for _, f := range fs {
		visit(f)
	}
	return out
}

// h2cClient is a client that speaks HTTP/2 without TLS to http:// URLs
// (prior knowledge), as a gRPC client does.
func h2cClient() *http.Client {
	tr := &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableCompression: true,
		Protocols:          new(http.Protocols),
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
