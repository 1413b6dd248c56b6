package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/bench/internal/rawload"
	"github.com/seamtest/seam/internal/wire"
)

// The gRPC edge: seam.bench.Items/Get takes an ItemRequest {id} and
// answers an ItemList of 8 items, the same content as the HTTP edge's
// JSON body. The service is registered from a descriptor built here (no
// protoc), and seam's proxy is given the same descriptor (SetDescriptors),
// as a suite with .proto files would: it decodes HTTP/2, cuts the gRPC
// messages and renders them as JSON, on every call.
const grpcMethod = "/seam.bench.Items/Get"

// itemsFile is the service's descriptor.
func itemsFile() *protoregistry.Files {
	i64, str, u32 := descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(), descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		descriptorpb.FieldDescriptorProto_TYPE_UINT32.Enum()
	opt, rep, msg := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(),
		descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	field := func(name string, n int32, t *descriptorpb.FieldDescriptorProto_Type, l *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n), Type: t, Label: l}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("seam/bench/items.proto"), Package: proto.String("seam.bench"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("ItemRequest"), Field: []*descriptorpb.FieldDescriptorProto{field("id", 1, u32, opt, "")}},
			{Name: proto.String("Item"), Field: []*descriptorpb.FieldDescriptorProto{
				field("id", 1, i64, opt, ""), field("name", 2, str, opt, ""), field("price", 3, i64, opt, "")}},
			{Name: proto.String("ItemList"), Field: []*descriptorpb.FieldDescriptorProto{field("items", 1, msg, rep, ".seam.bench.Item")}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Items"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("Get"), InputType: proto.String(".seam.bench.ItemRequest"), OutputType: proto.String(".seam.bench.ItemList")}}}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	measure.Check(err)
	files := new(protoregistry.Files)
	measure.Check(files.RegisterFile(fd))
	return files
}

// grpcReply is the wire form of the ItemList every call gets, written
// field by field: dynamicpb's Marshal orders fields differently from run
// to run, and the client checks every answer byte for byte.
func grpcReply() []byte {
	var item []byte
	item = protowire.AppendTag(item, 1, protowire.VarintType)
	item = protowire.AppendVarint(item, 1)
	item = protowire.AppendTag(item, 2, protowire.BytesType)
	item = protowire.AppendString(item, "item")
	item = protowire.AppendTag(item, 3, protowire.VarintType)
	item = protowire.AppendVarint(item, 100)
	var list []byte
	for range 8 {
		list = protowire.AppendTag(list, 1, protowire.BytesType)
		list = protowire.AppendBytes(list, item)
	}
	return list
}

// grpcRequest is ItemRequest{id: 1}.
var grpcRequest = []byte{0x08, 0x01}

// rawCodec passes messages as their bytes (*[]byte): neither the client
// nor the server spends CPU on protobuf, so what differs between the
// paths is the hop.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// serveGRPC is the service on the gRPC edge: grpc-go's server.
func serveGRPC(port string) {
	reply := grpcReply()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	measure.Check(err)
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "seam.bench.Items",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			return &reply, nil
		}}},
	}, struct{}{})
	fmt.Fprintln(os.Stderr, srv.Serve(ln))
	os.Exit(1)
}

// proxyGRPC runs seam's wire proxy on the gRPC edge, with the service's
// descriptors. SEAM_BENCH_CPUPROFILE=file,seconds writes a CPU profile of
// the proxy for its first seconds (for finding its hot spots).
func proxyGRPC(port, target string) {
	if v := os.Getenv("SEAM_BENCH_CPUPROFILE"); v != "" {
		file, secs, _ := strings.Cut(v, ",")
		n, _ := strconv.Atoi(secs)
		f, err := os.Create(file)
		measure.Check(err)
		measure.Check(pprof.StartCPUProfile(f))
		time.AfterFunc(time.Duration(max(n, 1))*time.Second, func() { pprof.StopCPUProfile(); f.Close() })
	}
	var n atomic.Int64
	p, err := wire.ListenAt("127.0.0.1:"+port, "bench→grpc", target, func(in wire.Interaction) {
		// Decoding must be on for the figures to mean anything: a call
		// not seen as one fails the benchmark. Connection events are not
		// calls: a client's GOAWAY (http2), a reset when a client closes a
		// connection with frames unread (tcp, "reset"). This measures the
		// wire's forwarding and decoding, as Toxiproxy's forwarding is
		// measured: what a seam run then does with each call to report it
		// (its event line, its content rendered for the event log: masked
		// headers, messages as JSON) is reporting, not counted here. One
		// call in ten thousand is read whole, and checked (rendering its
		// messages as JSON is the reporting's work: at one in a thousand it
		// was 0.6 % of the proxy's CPU, a cost Toxiproxy's side never pays).
		bad := in.Protocol == "tcp" && in.Result != "reset" || strings.Contains(in.Result, "undecoded")
		if in.Protocol == "grpc" && n.Add(1)%10000 == 1 {
			in.Content()
			req, resp := in.Bodies()
			var r, a bytes.Buffer // protojson's spacing varies by build
			bad = json.Compact(&r, req) != nil || json.Compact(&a, resp) != nil ||
				r.String() != `{"id":1}` || !bytes.Contains(a.Bytes(), []byte(`{"id":"1","name":"item","price":"100"}`))
		}
		if bad {
			fmt.Fprintf(os.Stderr, "seam's wire did not decode a gRPC call: %s\n", in.Line())
			os.Exit(1)
		}
	})
	measure.Check(err)
	p.SetDescriptors(itemsFile())
	select {}
}

// startTCP runs argv (PORT in it becomes a free port) and waits until
// the port accepts connections; its process group is killed at exit.
func startTCP(name string, argv []string) *rawload.Server {
	port := rawload.FreePort()
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "PORT", port)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// What it says goes to the bench's stderr: a proxy that ends itself
	// (a call not decoded) says why there.
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	measure.Check(cmd.Start())
	measure.OnExit(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &rawload.Server{Name: name, Base: addr, Cmd: cmd}
		}
		if time.Now().After(deadline) {
			measure.Check(fmt.Errorf("%s did not start", name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// grpcLoad makes unary calls to addr over conns HTTP/2 connections
// (grpc-go clients), callers per connection, checking every answer.
// every == 0: each caller calls again as soon as it has its answer (full
// load), up to n calls or for limit. every > 0: open loop, one call
// started every `every` whatever the answers (a moderate fixed rate), up
// to n calls or for limit, at most 256 in flight.
func grpcLoad(addr string, conns, callers, n int, limit, every time.Duration, want []byte) rawload.Result {
	cs := make([]*grpc.ClientConn, conns)
	for i := range cs {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		measure.Check(err)
		defer c.Close()
		cs[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit+10*time.Second)
	defer cancel()
	var failed atomic.Value
	call := func(c *grpc.ClientConn, out *[]byte) time.Duration {
		t0 := time.Now()
		req := grpcRequest
		err := c.Invoke(ctx, grpcMethod, &req, out)
		d := time.Since(t0)
		if err == nil && !bytes.Equal(*out, want) {
			err = fmt.Errorf("a wrong answer: %x, want %x", *out, want)
		}
		if err != nil {
			failed.CompareAndSwap(nil, err)
		}
		return d
	}
	// Every connection is up before the clock starts.
	for _, c := range cs {
		var out []byte
		call(c, &out)
	}
	var mu sync.Mutex
	var all []time.Duration
	var next atomic.Int64
	deadline := time.Now().Add(limit)
	start := time.Now()
	var wg sync.WaitGroup
	if every == 0 {
		for w := range conns * callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out []byte
				lat := make([]time.Duration, 0, n/(conns*callers)+1)
				for next.Add(1) <= int64(n) && time.Now().Before(deadline) && failed.Load() == nil {
					lat = append(lat, call(cs[w%conns], &out))
				}
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			}()
		}
	} else {
		sem := make(chan struct{}, 256)
		for i := range n {
			due := start.Add(time.Duration(i) * every)
			if due.After(deadline) || failed.Load() != nil {
				break
			}
			time.Sleep(time.Until(due))
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out []byte
				d := call(cs[i%conns], &out)
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
				<-sem
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		measure.Check(fmt.Errorf("gRPC to %s: %v", addr, err))
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return rawload.Result{RPS: float64(len(all)) / elapsed.Seconds(), P50: all[len(all)/2], P99: all[len(all)*99/100], N: len(all)}
}

// benchGRPC measures the gRPC edge: direct, through seam's wire (decoding
// and JSON rendering on) and through Toxiproxy when api is running (its
// API's base URL), rounds interleaved as for HTTP.
func benchGRPC(self string, quick bool, toxi *rawload.Server) figures {
	// Many short rounds: the machine's speed drifts within seconds, and
	// the ratio is taken round by round (PairedRatio).
	rounds, perRound, limit, warm := 9, 10000, 3*time.Second, 3000
	rate, pacedFor := 2000.0, 2*time.Second
	if quick {
		rounds, perRound, limit, warm, pacedFor = 5, 3000, time.Second, 1000, time.Second
	}
	// A few connections, several callers on each: a service's gRPC
	// clients multiplex calls over few connections.
	const conns, callers = 4, 4
	want := grpcReply()
	target := startTCP("gRPC service", []string{self, "-grpc-serve", "PORT"})
	paths := []*rawload.Server{
		{Name: "direct", Base: target.Base},
		startTCP("seam wire (gRPC decoded, JSON)", []string{self, "-grpc-proxy", "PORT", target.Base}),
	}
	proxies := []*rawload.Server{paths[1]}
	if toxi != nil {
		base := toxiproxyAdd(toxi.Base, "bench-grpc", target.Base)
		tp := &rawload.Server{Name: "Toxiproxy v2.12.0 (no toxics)", Base: base, Cmd: toxi.Cmd}
		paths = append(paths, tp)
		proxies = append(proxies, tp)
	}
	for _, p := range paths {
		rawload.Only(proxies, p)
		grpcLoad(p.Base, conns, callers, warm, 4*limit, 0, want)
	}
	// What each proxy's process spends per call (user + system CPU, from
	// /proc): less noisy than throughput on a shared machine, where the
	// client and the service take most of the CPU.
	cpu, sys := map[*rawload.Server][]float64{}, map[*rawload.Server][]float64{}
	// And what the service and the load generator (this process) spend
	// per call on each path: a proxy's way of passing bytes on changes
	// how much work its two ends do.
	ends := map[*rawload.Server][]float64{}
	res := rawload.Interleaved(paths, proxies, rounds, 100*time.Millisecond, func(p *rawload.Server, _ int) rawload.Result {
		var t0 time.Duration
		var s0 int64
		if p.Cmd != nil {
			t0, s0 = cpuTime(p.Cmd.Process.Pid), ioCalls(p.Cmd.Process.Pid)
		}
		e0 := cpuTime(target.Cmd.Process.Pid) + cpuTime(os.Getpid())
		r := grpcLoad(p.Base, conns, callers, perRound, limit, 0, want)
		ends[p] = append(ends[p], float64((cpuTime(target.Cmd.Process.Pid)+cpuTime(os.Getpid())-e0).Microseconds())/float64(r.N))
		if p.Cmd != nil {
			cpu[p] = append(cpu[p], float64((cpuTime(p.Cmd.Process.Pid)-t0).Microseconds())/float64(r.N))
			sys[p] = append(sys[p], float64(ioCalls(p.Cmd.Process.Pid)-s0)/float64(r.N))
		}
		return r
	})
	every := time.Duration(float64(time.Second) / rate)
	paced := rawload.Interleaved(paths, proxies, rounds, 100*time.Millisecond, func(p *rawload.Server, _ int) rawload.Result {
		return grpcLoad(p.Base, conns, callers, int(rate*pacedFor.Seconds()), 2*pacedFor, every, want)
	})

	fmt.Printf("\none gRPC edge (unary %s, %d B answer), %d HTTP/2 connections × %d callers, median of %d interleaved rounds\n",
		grpcMethod, len(want), conns, callers, rounds)
	fmt.Printf("full load: %d calls or %s per round; paced: %.0f calls/s open loop for %s per round\n\n", perRound, limit, rate, pacedFor)
	fmt.Printf("%-32s %10s %10s %10s %12s %12s %14s %12s %14s\n", "path", "calls/s", "p50 ms", "p99 ms", "paced p50", "paced p99", "proxy CPU µs", "I/O calls", "ends' CPU µs")
	rps := make([]float64, len(paths))
	pacedP50 := make([]time.Duration, len(paths))
	for i, p := range paths {
		var xs []float64
		var a, b, c, d []time.Duration
		for _, x := range res[i] {
			xs, a, b = append(xs, x.RPS), append(a, x.P50), append(b, x.P99)
		}
		for _, x := range paced[i] {
			c, d = append(c, x.P50), append(d, x.P99)
		}
		rps[i], pacedP50[i] = rawload.MedianF(xs), measure.Median(c)
		perCall, ioPerCall := "-", "-"
		if len(cpu[p]) > 0 {
			perCall = fmt.Sprintf("%.1f /call", rawload.MedianF(cpu[p]))
			ioPerCall = fmt.Sprintf("%.1f /call", rawload.MedianF(sys[p]))
		}
		fmt.Printf("%-32s %10.0f %10.3f %10.3f %12.3f %12.3f %14s %12s %14s\n", p.Name, rps[i], measure.Msf(measure.Median(a)), measure.Msf(measure.Median(b)),
			measure.Msf(pacedP50[i]), measure.Msf(measure.Median(d)), perCall, ioPerCall, fmt.Sprintf("%.1f /call", rawload.MedianF(ends[p])))
	}
	g := figures{seam: rps[1], direct: rps[0], added: measure.Msf(pacedP50[1] - pacedP50[0])}
	if len(rps) > 2 {
		g.toxiproxy, g.ratio = rps[2], rawload.PairedRatio(res[1], res[2])
	}
	fmt.Printf("\nseam's added p50 latency over direct at %.0f calls/s = %.3f ms   target ≤ 0.2 ms\n", rate, g.added)
	if g.toxiproxy > 0 {
		printThroughput("gRPC", g, res[1], res[2])
	}
	return g
}

// ioCalls is how many read and write system calls a process has made so
// far (syscr + syscw of /proc/PID/io, all its threads); 0 when unknown.
// Per call, it shows whether a proxy's CPU goes to its I/O or its work.
func ioCalls(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		if k == "syscr" || k == "syscw" {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		}
	}
	return n
}

// cpuTime is the user and system CPU a process has used so far, from
// /proc/PID/stat (in clock ticks of 10 ms, Linux's USER_HZ); 0 when it
// cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // state ppid … utime (11) stime (12)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+sys) * 10 * time.Millisecond
}
