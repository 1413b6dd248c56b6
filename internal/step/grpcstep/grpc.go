// Package grpcstep is the `grpc` step kind: one gRPC call (unary or server
// streaming) with a JSON request, its status, messages, headers and
// trailers as the result. Message types come from the service's grpc:
// protos or descriptor sets, or else by server reflection at the step.
package grpcstep

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/wire"
	"go.yaml.in/yaml/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxMessages bounds the messages one server-streaming call keeps.
const maxMessages = 10000

// reflectTimeout bounds asking a server for its services.
const reflectTimeout = 10 * time.Second

// maxMessageBytes bounds one message each way (grpc-go's own default is
// 4 MiB to receive), as the wire bounds what it keeps of an exchange.
const maxMessageBytes = 64 << 20

// The call's deadline by default is the step's, less a little (a tenth
// of the time left, at most maxDeadlineMargin), so that the call ends
// with its status, DEADLINE_EXCEEDED, before the step times out.
const maxDeadlineMargin = 250 * time.Millisecond

// Kind is the grpc step kind. It keeps one connection per address and
// what each address's server said of its services by reflection, so steps
// share them.
type Kind struct {
	conns *step.Clients[*grpc.ClientConn]
	mu    sync.Mutex
	types map[string]*protoregistry.Files // address → reflected services
}

// New returns the grpc step kind.
func New() *Kind {
	open := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)))
	}
	return &Kind{conns: step.NewClients(open, func(c *grpc.ClientConn) { c.Close() }), types: map[string]*protoregistry.Files{}}
}

// Close closes the connections.
func (k *Kind) Close() { k.conns.Close() }

func (k *Kind) Usage() step.Usage {
	return step.Usage{
		Name:    "grpc",
		Summary: "make one gRPC call (unary or server streaming) and check its status and messages; messages may be up to 64 MiB each way",
		Inputs: []step.Input{
			{Name: "service", Doc: "name of a service of the suite; the call goes to its port named grpc, else its main port"},
			{Name: "port", Doc: "with service: the name of the port to call (one of its ports:)"},
			{Name: "addr", Doc: "host:port to call instead of a service (plaintext; types by server reflection)"},
			{Name: "method", Doc: "the method: package.Service/Method (a leading / is allowed); with service, checked at validate against the service's grpc: protos"},
			{Name: "request", Doc: "the request message as a mapping, in protobuf's JSON form (field names as in the .proto or lowerCamel); default empty"},
			{Name: "metadata", Doc: "request metadata, a mapping (authorization: Bearer …); a key ending in -bin takes the bytes to send in base64 (padded or not)"},
			{Name: "timeout", Doc: "the call's deadline, sent to the server (e.g. 2s); default and at most: the step's timeout less a little (a tenth of it, at most 250ms), so that a slow call ends with code DEADLINE_EXCEEDED"},
		},
		Fields: []expect.Field{
			{Name: "code", Doc: "the status code's name: OK, NOT_FOUND, UNAUTHENTICATED, … (UNAVAILABLE when the server cannot be reached, also when its types were to be asked by reflection; DEADLINE_EXCEEDED when the deadline passed); a code other than OK fails the step unless expect: names code", Shape: expect.ScalarShape},
			{Name: "status_message", Doc: "the status message (grpc-message), empty when OK; with UNAVAILABLE, why the server could not be reached", Shape: expect.ScalarShape},
			{Name: "message", Doc: "a unary call's response message as JSON (null when the call failed)"},
			{Name: "messages", Doc: "a server-streaming call's response messages, a list of JSON (those received before an error too)"},
			{Name: "headers", Doc: "response header metadata; repeated keys are a list; the values of keys ending in -bin are base64 without padding, as grpc-go sends them on the wire", FoldKeys: true, Shape: expect.HeadersShape},
			{Name: "trailers", Doc: "response trailer metadata, as headers", FoldKeys: true, Shape: expect.HeadersShape},
			{Name: "duration_ms", Doc: "time to the status, in milliseconds", Shape: expect.ScalarShape},
		},
		Example: "grpc: {service: auth, method: auth.v1.Auth/Check, request: {token: t1}, metadata: {authorization: Bearer t1}}\n" +
			"expect: {code: OK, message: {.user: ann}}",
	}
}

type action struct {
	kind     *Kind
	Service  expr.Str            `yaml:"service"`
	Port     string              `yaml:"port"`
	Addr     expr.Str            `yaml:"addr"`
	Method   string              `yaml:"method" seam:"required"`
	Request  expr.Value          `yaml:"request"`
	Metadata map[string]expr.Str `yaml:"metadata"`
	Timeout  time.Duration       `yaml:"timeout"`

	path     string     // /package.Service/Method
	file     string     // the suite file the step is in
	methodN  *yaml.Node // where method and request are, for check's errors
	requestN *yaml.Node
	portN    *yaml.Node
	files    *protoregistry.Files // the service's grpc: types, known at load
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{kind: k, file: d.File}
	before := d.Errs.Len()
	d.Decode(n, a, "grpc")
	if d.Errs.Len() > before {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "method":
			a.methodN = n.Content[i+1]
		case "request":
			a.requestN = decode.Resolve(n.Content[i+1])
		case "port":
			a.portN = n.Content[i+1]
		case "metadata":
			checkBinary(d, decode.Resolve(n.Content[i+1]), a.Metadata)
		}
	}
	if a.Addr.IsZero() == a.Service.IsZero() {
		d.Errorf(n, "grpc: give either service or addr").WithHint("service: auth (its port named grpc, else its main port), or addr: 127.0.0.1:50051")
		return nil
	}
	if a.Port != "" && a.Service.IsZero() {
		d.Errorf(a.portN, "grpc: port needs service").WithHint("with addr, put the port in the address")
	}
	p, ok := methodPath(a.Method)
	if !ok {
		d.Errorf(a.methodN, "grpc.method: %q is not a gRPC method: write package.Service/Method", a.Method).
			WithHint("like grpc.health.v1.Health/Check")
		return nil
	}
	a.path = p
	if a.requestN != nil && a.requestN.Kind != yaml.MappingNode && !isTemplate(a.requestN) {
		d.Errorf(a.requestN, "grpc.request: want a mapping (the message's fields), got %s", decode.KindName(a.requestN))
	}
	if a.Timeout < 0 {
		d.Errorf(n, "grpc.timeout: want a positive duration")
	}
	return a
}

// checkBinary reports the values of -bin keys (in n, the metadata
// mapping) that are not base64; templates are left to Run.
func checkBinary(d *decode.Decoder, n *yaml.Node, md map[string]expr.Str) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		v, ok := md[k]
		if !ok || !strings.HasSuffix(strings.ToLower(k), "-bin") || v.IsTemplate() {
			continue
		}
		text, _ := v.String(nil)
		if _, err := fromBase64(text); err != nil {
			d.Errorf(n.Content[i+1], "grpc.metadata.%s: %v", k, err).
				WithHint("%q in base64 is %s", text, base64.RawStdEncoding.EncodeToString([]byte(text)))
		}
	}
}

// methodPath turns "pkg.Service/Method" or "/pkg.Service/Method" into the
// call's path.
func methodPath(m string) (string, bool) {
	svc, name, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	if !ok || svc == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.ContainsAny(svc, " ") ||
		!protoreflect.FullName(svc).IsValid() || !protoreflect.Name(name).IsValid() {
		return "", false
	}
	return "/" + svc + "/" + name, true
}

func isTemplate(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "((")
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.Service) }

// Default implements step.Defaulter: a call that ends with another code
// than OK fails the step, unless expect: names code (a call expected to
// fail says so: expect: {code: NOT_FOUND}), as a command's exit code
// does: a step aimed at the wrong port or a server that is down never
// passes unnoticed.
func (a *action) Default(fields map[string]any, checks func(string) bool) string {
	code, _ := fields["code"].(string)
	if code == "" || code == "OK" || checks("code") {
		return ""
	}
	msg, _ := fields["status_message"].(string)
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Sprintf("the call ended with code %s%s; a call that may do so says it: expect: {code: %s}", code, msg, code)
}

// Run implements step.Action.
func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	addr, err := a.address(env)
	if err != nil {
		return nil, err
	}
	reqJSON := []byte("{}")
	if a.Request.IsSet() {
		v, err := a.Request.Eval(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		if reqJSON, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	}
	out, given := metadata.MD{}, metadata.MD{}
	for _, k := range expr.SortedKeys(a.Metadata) {
		v, err := a.Metadata[k].String(env.Vars)
		if err != nil {
			return nil, fmt.Errorf("metadata.%s: %w", k, err)
		}
		key := strings.ToLower(k)
		given.Append(key, v)
		if strings.HasSuffix(key, "-bin") {
			if v, err = fromBase64(v); err != nil {
				return nil, fmt.Errorf("metadata.%s: %w", k, err)
			}
		}
		out.Append(key, v)
	}
	sent := requestText(addr, a.path, given, reqJSON)
	start := time.Now()
	md, files, err := a.method(ctx, addr)
	var down *unreachable
	if errors.As(err, &down) {
		// As the call itself would end: the status is the result.
		fields := map[string]any{
			"code":           wire.GRPCCodeName(int(codes.Unavailable)),
			"status_message": down.st.Message(),
			"message":        nil,
			"messages":       []any{},
			"headers":        map[string]any{},
			"trailers":       map[string]any{},
			"duration_ms":    float64(time.Since(start).Microseconds()) / 1000,
		}
		return &step.Result{Fields: fields, Request: sent, Response: responseText(fields, nil)}, nil
	}
	if err != nil {
		return &step.Result{Request: sent}, err
	}
	if md.IsStreamingClient() {
		return &step.Result{Request: sent}, fmt.Errorf("%s is client streaming: the grpc step makes unary and server-streaming calls only", a.path)
	}
	req := dynamicpb.NewMessage(md.Input())
	types := dynamicpb.NewTypes(files)
	if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(reqJSON, req); err != nil {
		return &step.Result{Request: sent}, fmt.Errorf("request: not a %s: %v", md.Input().FullName(), err)
	}
	conn, err := a.kind.conns.Get(addr)
	if err != nil {
		return &step.Result{Request: sent}, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	cctx := metadata.NewOutgoingContext(ctx, out)
	if d, ok := a.deadline(ctx, time.Now()); ok {
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadlineCause(cctx, d, errCallDeadline)
		defer cancel()
	}
	var header, trailer metadata.MD
	start = time.Now()
	marshal := protojson.MarshalOptions{Resolver: types}
	var messages []any
	var callErr error
	if md.IsStreamingServer() {
		messages, header, trailer, callErr = serverStream(cctx, conn, a.path, req, md.Output(), marshal)
	} else {
		resp := dynamicpb.NewMessage(md.Output())
		callErr = conn.Invoke(cctx, a.path, req, resp, grpc.Header(&header), grpc.Trailer(&trailer))
		if callErr == nil {
			j, err := marshal.Marshal(resp)
			if err != nil {
				return &step.Result{Request: sent}, fmt.Errorf("the response of %s: %v", a.path, err)
			}
			messages = append(messages, jsonValue(j))
		}
	}
	elapsed := time.Since(start)
	past := errors.Is(context.Cause(cctx), errCallDeadline)
	if ctx.Err() != nil && !past {
		return &step.Result{Request: sent}, fmt.Errorf("%s at %s: no status before the step timed out", a.path, addr)
	}
	st := status.Convert(callErr)
	if st.Code() == codes.Canceled && past {
		// The server, which was told the deadline (grpc-timeout), may
		// end the stream first and the client then reports CANCELLED;
		// it is the deadline either way.
		st = status.New(codes.DeadlineExceeded, st.Message())
	}
	fields := map[string]any{
		"code":           wire.GRPCCodeName(int(st.Code())),
		"status_message": st.Message(),
		"headers":        mdValue(header),
		"trailers":       mdValue(trailer),
		"duration_ms":    float64(elapsed.Microseconds()) / 1000,
	}
	if md.IsStreamingServer() {
		if messages == nil {
			messages = []any{}
		}
		fields["messages"] = messages
	} else {
		fields["message"] = nil
		if len(messages) == 1 {
			fields["message"] = messages[0]
		}
	}
	return &step.Result{Fields: fields, Request: sent, Response: responseText(fields, messages)}, nil
}

// errCallDeadline is the cause of a call's context when its own deadline
// passed (not the step's or the run's).
var errCallDeadline = errors.New("the call's deadline passed")

// deadline is when the call must have its status: timeout from now, or
// by default the step's deadline; at most the step's deadline less a
// little, so that the call ends with DEADLINE_EXCEEDED before the step
// times out.
func (a *action) deadline(ctx context.Context, now time.Time) (time.Time, bool) {
	var d time.Time
	if a.Timeout > 0 {
		d = now.Add(a.Timeout)
	}
	if end, ok := ctx.Deadline(); ok {
		margin := min(max(end.Sub(now)/10, 0), maxDeadlineMargin)
		if last := end.Add(-margin); d.IsZero() || last.Before(d) {
			d = last
		}
	}
	return d, !d.IsZero()
}

// fromBase64 reads a -bin metadata value: base64, padded or not, of the
// standard or the URL alphabet.
func fromBase64(v string) (string, error) {
	raw := strings.TrimRight(v, "=")
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		var uerr error
		if b, uerr = base64.RawURLEncoding.DecodeString(raw); uerr != nil {
			return "", fmt.Errorf("a -bin value is the bytes to send in base64: %v", err)
		}
	}
	return string(b), nil
}

// serverStream sends req and reads every answer until the status.
func serverStream(ctx context.Context, conn *grpc.ClientConn, path string, req *dynamicpb.Message, out protoreflect.MessageDescriptor, marshal protojson.MarshalOptions) ([]any, metadata.MD, metadata.MD, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream when it is left early
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, path)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := st.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, nil, nil, err
	}
	var msgs []any
	for {
		m := dynamicpb.NewMessage(out)
		err := st.RecvMsg(m)
		if err != nil {
			header, _ := st.Header()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return msgs, header, st.Trailer(), err
		}
		if len(msgs) >= maxMessages {
			header, _ := st.Header()
			return msgs, header, st.Trailer(), status.Errorf(codes.ResourceExhausted, "more than %d messages: the step stopped reading", maxMessages)
		}
		j, err := marshal.Marshal(m)
		if err != nil {
			return msgs, nil, nil, err
		}
		msgs = append(msgs, jsonValue(j))
	}
}

// address is where the call goes: addr, or the service's gRPC port.
func (a *action) address(env *step.Env) (string, error) {
	if !a.Addr.IsZero() {
		s, err := a.Addr.String(env.Vars)
		if err != nil {
			return "", fmt.Errorf("addr: %w", err)
		}
		return s, nil
	}
	name, err := a.Service.String(env.Vars)
	if err != nil {
		return "", fmt.Errorf("service: %w", err)
	}
	infos, ok := env.Services.(interface {
		Info(name string) (map[string]any, bool)
	})
	if env.Services == nil || !ok {
		return "", fmt.Errorf("service %q: this suite starts no services", name)
	}
	in, ok := infos.Info(name)
	if !ok {
		_, err := env.Services.URL(name)
		return "", err
	}
	host, _ := in["host"].(string)
	ports, _ := in["ports"].(map[string]any)
	port := a.Port
	if port == "" {
		port = "grpc"
		if _, has := ports[port]; !has {
			p, ok := in["port"].(int)
			if !ok {
				return "", fmt.Errorf("service %q has no address (a job?)", name)
			}
			return host + ":" + strconv.Itoa(p), nil
		}
	}
	p, ok := ports[port].(int)
	if !ok {
		names := make([]string, 0, len(ports))
		for k := range ports {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", fmt.Errorf("service %q has no port %q (its ports: %s)", name, port, strings.Join(names, ", "))
	}
	return host + ":" + strconv.Itoa(p), nil
}

// method finds the called method's types: in the service's grpc: files,
// else by asking the server (once per address; again when the method is
// not among what it said, or not all its types, as it may have been
// restarted with more). A server that cannot be reached is *unreachable.
func (a *action) method(ctx context.Context, addr string) (protoreflect.MethodDescriptor, *protoregistry.Files, error) {
	if a.files != nil {
		md, err := find(a.files, a.path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", a.path, err)
		}
		return md, a.files, nil
	}
	k := a.kind
	k.mu.Lock()
	files := k.types[addr]
	k.mu.Unlock()
	if files != nil {
		if md, err := find(files, a.path); err == nil && len(placeholders(md)) == 0 {
			return md, files, nil
		}
	}
	rctx, cancel := context.WithTimeout(ctx, reflectTimeout)
	defer cancel()
	files, err := protos.Reflect(rctx, addr)
	if err != nil {
		var se interface{ GRPCStatus() *status.Status }
		if errors.As(err, &se) && se.GRPCStatus().Code() == codes.Unavailable {
			return nil, nil, &unreachable{st: se.GRPCStatus()}
		}
		hint := "name its protos under the service's grpc: instead"
		if errors.Is(err, protos.ErrNoReflection) {
			hint = "register the reflection service in the server, as grpc-go's reflection.Register(server), or name its protos under the service's grpc:"
		}
		return nil, nil, fmt.Errorf("asking %s for its gRPC services by server reflection: %s (%s)", addr, statusText(err), hint)
	}
	k.mu.Lock()
	k.types[addr] = files
	k.mu.Unlock()
	md, err := find(files, a.path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w (as %s says by reflection)", a.path, err, addr)
	}
	if missing := placeholders(md); len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: %s's reflection names types it does not describe: %s (name the service's protos under its grpc: instead)",
			a.path, addr, strings.Join(missing, ", "))
	}
	return md, files, nil
}

// unreachable is a server that could not be asked for its types.
type unreachable struct{ st *status.Status }

func (u *unreachable) Error() string { return "UNAVAILABLE: " + u.st.Message() }

// statusText shows a gRPC status within err by its code's name.
func statusText(err error) string {
	var se interface {
		error
		GRPCStatus() *status.Status
	}
	if !errors.As(err, &se) {
		return err.Error()
	}
	st := se.GRPCStatus()
	return strings.Replace(err.Error(), se.Error(), wire.GRPCCodeName(int(st.Code()))+": "+st.Message(), 1)
}

// placeholders are the types of md's request and response that its
// server's reflection did not describe.
func placeholders(md protoreflect.MethodDescriptor) []string {
	list := append(protos.Placeholders(md.Input()), protos.Placeholders(md.Output())...)
	sort.Strings(list)
	return slices.Compact(list)
}

// find looks up "/pkg.Service/Method"; the error lists what there is.
func find(files *protoregistry.Files, path string) (protoreflect.MethodDescriptor, error) {
	svcName, name, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	d, err := files.FindDescriptorByName(protoreflect.FullName(svcName))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		all := serviceNames(files)
		e := fmt.Errorf("no service %s", svcName)
		if c := diag.Closest(svcName, all); c != "" {
			return nil, fmt.Errorf("%w; did you mean %s?", e, c)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("%w: the server's types have no services", e)
		}
		return nil, fmt.Errorf("%w (services: %s)", e, strings.Join(all, ", "))
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		var names []string
		for i := 0; i < sd.Methods().Len(); i++ {
			names = append(names, string(sd.Methods().Get(i).Name()))
		}
		e := fmt.Errorf("service %s has no method %s", svcName, name)
		if c := diag.Closest(name, names); c != "" {
			return nil, fmt.Errorf("%w; did you mean %s?", e, c)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: it has no methods", e)
		}
		return nil, fmt.Errorf("%w (methods: %s)", e, strings.Join(names, ", "))
	}
	return md, nil
}

func serviceNames(files *protoregistry.Files) []string {
	var out []string
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			out = append(out, string(f.Services().Get(i).FullName()))
		}
		return true
	})
	sort.Strings(out)
	return out
}

func jsonValue(j []byte) any {
	v, err := expr.DecodeJSON(j)
	if err != nil {
		return string(j)
	}
	return v
}

// mdValue is metadata as a result's field; the values of -bin keys,
// bytes, are in base64 without padding, as grpc-go sends them.
func mdValue(md metadata.MD) map[string]any {
	out := make(map[string]any, len(md))
	for k, vs := range md {
		bin := strings.HasSuffix(k, "-bin")
		list := make([]any, len(vs))
		for i, v := range vs {
			if bin {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			}
			list[i] = v
		}
		if len(list) == 1 {
			out[k] = list[0]
			continue
		}
		out[k] = list
	}
	return out
}

// masked are metadata keys whose values are secrets and never printed.
var masked = map[string]bool{"authorization": true, "cookie": true, "x-api-key": true}

func requestText(addr, path string, md metadata.MD, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gRPC %s%s\n", addr, path)
	writeMD(&b, md)
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}

func responseText(fields map[string]any, messages []any) string {
	var b strings.Builder
	b.WriteString(fields["code"].(string))
	if m := fields["status_message"].(string); m != "" {
		b.WriteString(": " + m)
	}
	b.WriteString("\n")
	for _, k := range []string{"headers", "trailers"} {
		m := fields[k].(map[string]any)
		for _, name := range expr.SortedKeys(m) {
			v := expr.Format(m[name])
			if masked[name] {
				v = "***"
			}
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	for _, m := range messages {
		j, _ := json.Marshal(m)
		b.WriteString("\n")
		b.WriteString(clip(string(j)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeMD(b *strings.Builder, md metadata.MD) {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			if masked[k] {
				v = "***"
			}
			fmt.Fprintf(b, "%s: %s\n", k, v)
		}
	}
}

const excerptLimit = 2048

func clip(s string) string {
	if len(s) > excerptLimit {
		return diag.Prefix(s, excerptLimit) + fmt.Sprintf("… (%d bytes in all)", len(s))
	}
	return s
}
