package stub

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// specialDir makes a folder of mappings holding one good mapping and, each
// named like a mapping, a fifo, a link to /dev/zero, a socket and a file
// over MaxFileBytes (sparse, so it takes no room).
func specialDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "good.json"), []byte(`{"request": {"url": "/ok"}, "response": {"status": 200}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.json")); err != nil {
		t.Fatal(err)
	}
	// A socket's path is limited to ~100 bytes: listen from inside dir.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", "sock.yaml")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	big, err := os.Create(filepath.Join(dir, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	return dir
}

// A mappings folder with special files and a too-big file loads its good
// mappings and names each bad file with why (its kind, or the limit),
// without blocking on the fifo or reading /dev/zero forever.
func TestLoadRefusesSpecialAndBigFiles(t *testing.T) {
	dir := specialDir(t)
	done := make(chan struct{})
	var src *Source
	var err error
	go func() { src, err = Load(dir); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("loading the mappings folder still runs after 10s (a fifo or device read?)")
	}
	if src == nil || len(src.Mappings) != 1 {
		t.Fatalf("got %+v, want the one good mapping loaded", src)
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, want := range []string{
		"fifo.json: cannot read the mapping file: it is a fifo, not a regular file",
		"zero.json: cannot read the mapping file: it is a device, not a regular file",
		"sock.yaml: cannot read the mapping file: it is a socket, not a regular file",
		"big.json: cannot read the mapping file: it is 67108865 bytes, more than the 64 MB limit on a mapping file",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// One file given alone is refused the same way.
	if _, err := Load(filepath.Join(dir, "zero.json")); err == nil || !strings.Contains(err.Error(), "zero.json: cannot read the mapping file: it is a device") {
		t.Errorf("Load(zero.json): %v", err)
	}
}

// A body file (__files/) that is a device or too big is refused when a
// request asks for it: the stub answers with the error, it does not hang.
func TestBodyFileRefusesSpecialAndBigFiles(t *testing.T) {
	dir := specialDir(t)
	s := New(Options{FilesDir: dir})
	for name, want := range map[string]string{
		"fifo.json": "body file fifo.json: it is a fifo, not a regular file",
		"zero.json": "body file zero.json: it is a device, not a regular file",
		"big.json":  "body file big.json: it is 67108865 bytes, more than the 64 MB limit on a body file",
	} {
		_, err := s.readFile(name)
		if err == nil || err.Error() != want {
			t.Errorf("readFile(%s): %v; want %q", name, err, want)
		}
	}
	if b, err := s.readFile("good.json"); err != nil || len(b) == 0 {
		t.Errorf("readFile(good.json): %q, %v", b, err)
	}
}
