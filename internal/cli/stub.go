package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/protos"
	"github.com/seamtest/seam/internal/stub"
)

const stubUsage = `usage:
  seam stub [--port P] [--journal N] [--seed N] DIR|FILE
      serve stub mappings alone: DIR laid out like WireMock's (mappings/*.json,
      __files/), a folder of mapping files, or one file (.json in WireMock's
      form, .yaml routes in seam's); WireMock's admin API is under /__admin/
  seam stub record --target URL --out DIR [--port P] [--format wiremock|seam]
                   [--proto FILE]... [--import-path DIR]...
      proxy to a real service and write what passes through as mappings when
      stopped (Ctrl-C); a request repeated with different answers becomes a
      scenario that steps through them; bodies pass through whole, but an
      exchange with a body over 16 MiB is not recorded (it says so); never
      overwrites a file in DIR. gRPC calls (HTTP/2 without TLS) are recorded
      too, their messages as JSON from --proto files or the target's
      reflection service, whose descriptors are written to DIR/grpc/
`

// stubHelp prints the usage of both stub commands and the flags of fs.
func stubHelp(fs *flag.FlagSet, stdio IO) {
	fmt.Fprint(stdio.Stderr, stubUsage)
	fmt.Fprintf(stdio.Stderr, "\nflags of %s:\n", fs.Name())
	fs.PrintDefaults()
}

func cmdStub(ctx context.Context, args []string, stdio IO) int {
	if len(args) > 0 && args[0] == "record" {
		return cmdStubRecord(ctx, args[1:], stdio)
	}
	fs := newFlagSet("stub", stdio.Stderr)
	fs.Usage = func() { stubHelp(fs, stdio) }
	port := fs.Int("port", 0, "port to listen on (127.0.0.1); 0 picks a free one")
	journal := fs.Int("journal", stub.DefaultJournalCap, "requests kept for verification (negative: none)")
	journalMiB := fs.Int64("journal-mib", stub.DefaultJournalBytes>>20, "MiB of requests the journal keeps (bodies over 1 MiB kept cut); the oldest are dropped beyond it")
	seed := fs.Int64("seed", 0, "seed for random delays and template values (0: from the clock)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(rest) != 1 {
		fmt.Fprint(stdio.Stderr, "seam stub: want one DIR or FILE of mappings\n\n"+stubUsage)
		return ExitUsage
	}
	src, err := stub.Load(rest[0])
	if err != nil && (src == nil || len(src.Mappings) == 0) {
		printMappingErr(err, stdio)
		return ExitUsage
	}
	if err != nil {
		// As WireMock: what can be served is served; what cannot is named
		// with its file and position.
		printMappingWarn(err, len(src.Mappings), stdio)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	// The journal keeps many requests alive; a larger heap goal than Go's
	// default keeps collection from rescanning it every few thousand
	// requests (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// The larger GC goal must not turn a journal of large bodies into
	// five times its size: a soft limit of the journal's budget plus room
	// for the requests in flight (GOMEMLIMIT in the environment wins).
	if os.Getenv("GOMEMLIMIT") == "" && *journalMiB > 0 {
		debug.SetMemoryLimit((*journalMiB + 64) << 20)
	}
	// A stub shares its machine with what calls it: the system under test
	// and the load or test runner driving it. On half the cores Go's
	// scheduler spends less waking threads and handing work between them
	// per request; measured on 2 cores with the client on the same
	// machine, 87k requests/s against 74k on all. GOMAXPROCS in the
	// environment still wins.
	cores := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(1, cores/2))
	}
	srv := stub.New(stub.Options{Crash: crash.From(ctx), JournalCap: *journal, JournalBytes: *journalMiB << 20, FilesDir: src.FilesDir, Seed: *seed, GRPC: src.GRPC})
	srv.Add(src.Mappings...)
	srv.SetBaseline()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam stub: %v\n", err)
		return ExitEnv
	}
	grpcNote := ""
	if src.GRPC != nil {
		grpcNote = fmt.Sprintf(", gRPC of the %d files in grpc/ over HTTP/2", src.GRPC.NumFiles())
	}
	fmt.Fprintf(stdio.Stderr, "seam stub: %d mappings from %s on http://%s (admin API at /__admin/%s; %d of %d cores, GOMAXPROCS sets it; Ctrl-C stops)\n",
		len(src.Mappings), rest[0], ln.Addr(), grpcNote, runtime.GOMAXPROCS(0), runtime.NumCPU())
	l := stub.Serve(ln, srv)
	select {
	case err := <-l.Done():
		fmt.Fprintf(stdio.Stderr, "seam stub: %v\n", err)
		return ExitEnv
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Close(sctx)
	return ExitPass
}

// printMappingWarn reports mappings that could not be loaded next to
// ones that were.
func printMappingWarn(err error, loaded int, stdio IO) {
	var l *diag.List
	n := 1
	if errors.As(err, &l) {
		fmt.Fprint(stdio.Stderr, diag.Render(l.Errors(), nil))
		n = l.Len()
	} else {
		fmt.Fprintf(stdio.Stderr, "%v\n", err)
	}
	fmt.Fprintf(stdio.Stderr, "seam stub: %d problem(s) in the mappings (above): those mappings are not served; serving the other %d\n", n, loaded)
}

func printMappingErr(err error, stdio IO) {
	var l *diag.List
	if errors.As(err, &l) {
		fmt.Fprint(stdio.Stderr, diag.Render(l.Errors(), nil))
		fmt.Fprintf(stdio.Stderr, "seam stub: %d problem(s) in the mappings; nothing was started\n", l.Len())
		return
	}
	var de *diag.Error
	if errors.As(err, &de) {
		fmt.Fprint(stdio.Stderr, diag.Render([]*diag.Error{de}, nil))
		fmt.Fprintln(stdio.Stderr, "seam stub: nothing was started")
		return
	}
	fmt.Fprintf(stdio.Stderr, "seam stub: %v\n", err)
}

// serveUntilDone serves h on ln until ctx ends, then shuts down.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, stdio IO) int {
	hs := &http.Server{Handler: h} // no read timeouts: each costs a timer reset per request
	// gRPC callers speak HTTP/2 without TLS (prior knowledge) to it.
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan error, 1)
	crash.Go(ctx, func() { done <- hs.Serve(ln) })
	select {
	case err := <-done:
		fmt.Fprintf(stdio.Stderr, "seam stub: %v\n", err)
		return ExitEnv
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-done
	return ExitPass
}

func cmdStubRecord(ctx context.Context, args []string, stdio IO) int {
	fs := newFlagSet("stub record", stdio.Stderr)
	fs.Usage = func() { stubHelp(fs, stdio) }
	target := fs.String("target", "", "the real service's URL, e.g. http://127.0.0.1:8080")
	out := fs.String("out", "", "folder to write the mappings to (created; existing files are kept)")
	port := fs.Int("port", 0, "port to listen on (127.0.0.1); 0 picks a free one")
	format := fs.String("format", "wiremock", "wiremock (mappings/*.json) or seam (a routes .yaml file)")
	var protoFiles, importPaths listFlag
	fs.Var(&protoFiles, "proto", "a .proto file or descriptor set (protoc -o: .dsc, .desc, .pb, .binpb) of the target's gRPC services, to record their calls as JSON (repeatable); without one, the target's reflection service is asked")
	fs.Var(&importPaths, "import-path", "a folder the .proto files' imports are looked up in (repeatable; the current folder is one)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return ExitUsage
	}
	switch {
	case len(rest) > 0:
		fmt.Fprintf(stdio.Stderr, "seam stub record: unexpected arguments: %v\n\n%s", rest, stubUsage)
		return ExitUsage
	case *target == "" || *out == "":
		fmt.Fprint(stdio.Stderr, "seam stub record: --target and --out are required\n\n"+stubUsage)
		return ExitUsage
	case *format != "wiremock" && *format != "seam":
		fmt.Fprintf(stdio.Stderr, "seam stub record: --format %q: want wiremock or seam\n", *format)
		return ExitUsage
	}
	rec, err := stub.NewRecorder(*target)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam stub record: %v\n", err)
		return ExitUsage
	}
	if len(protoFiles) > 0 {
		files, err := loadProtoFlags(ctx, splitList(protoFiles), splitList(importPaths))
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam stub record: --proto: %v\n", err)
			return ExitUsage
		}
		rec.GRPC = files
	}
	var logMu sync.Mutex
	rec.Log = func(msg string) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stdio.Stderr, "seam stub record: %s\n", msg)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam stub record: %v\n", err)
		return ExitEnv
	}
	fmt.Fprintf(stdio.Stderr, "seam stub record: recording %s through http://%s; Ctrl-C writes the mappings to %s\n", *target, ln.Addr(), *out)
	if code := serveUntilDone(ctx, ln, rec, stdio); code != ExitPass {
		return code
	}
	ms := rec.Mappings()
	if len(ms) == 0 {
		fmt.Fprintln(stdio.Stderr, "seam stub record: no requests went through; nothing written")
		return ExitPass
	}
	if *format == "seam" {
		p, err := stub.WriteRoutes(*out, ms)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "seam stub record: %v\n", err)
			return ExitEnv
		}
		fmt.Fprintf(stdio.Stderr, "seam stub record: %d routes written to %s\n", len(ms), p)
		return writeRecordedDescriptors(rec, *out, stdio)
	}
	files, err := stub.WriteWireMock(*out, ms)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam stub record: %v\n", err)
		return ExitEnv
	}
	fmt.Fprintf(stdio.Stderr, "seam stub record: %d mappings written under %s/mappings (serve them: seam stub %s)\n", len(files), *out, *out)
	return writeRecordedDescriptors(rec, *out, stdio)
}

// writeRecordedDescriptors writes the descriptors gRPC calls were
// recorded with beside the mappings, in grpc/, where a stub folder's are
// read from: the folder then plays the calls back as recorded.
func writeRecordedDescriptors(rec *stub.Recorder, out string, stdio IO) int {
	files := rec.Descriptors()
	if files == nil {
		return ExitPass
	}
	p, err := stub.WriteDescriptors(out, files)
	switch {
	case err != nil:
		fmt.Fprintf(stdio.Stderr, "seam stub record: writing the gRPC descriptors: %v\n", err)
		return ExitEnv
	case p == "":
		fmt.Fprintf(stdio.Stderr, "seam stub record: %s/grpc already holds descriptors: kept as they are\n", out)
	default:
		fmt.Fprintf(stdio.Stderr, "seam stub record: the gRPC services' descriptors written to %s (a stub service names them: grpc: {descriptor_sets: [%s]})\n", p, p)
	}
	return ExitPass
}

// loadProtoFlags reads --proto files (.proto, or descriptor sets by their
// extension) with --import-path folders, paths from the current folder.
func loadProtoFlags(ctx context.Context, list, imports []string) (*protoregistry.Files, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			if r, err := filepath.Rel(wd, p); err == nil {
				return r
			}
		}
		return p
	}
	src := protos.Sources{Dir: wd}
	for _, p := range imports {
		src.ImportPaths = append(src.ImportPaths, rel(p))
	}
	for _, p := range list {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".proto":
			src.Protos = append(src.Protos, rel(p))
		case ".dsc", ".desc", ".pb", ".binpb":
			src.Sets = append(src.Sets, rel(p))
		default:
			return nil, fmt.Errorf("%s: want a .proto file or a descriptor set (.dsc, .desc, .pb, .binpb)", p)
		}
	}
	return protos.Load(ctx, src)
}
