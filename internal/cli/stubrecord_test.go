package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/stub"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `seam stub record` passes a body over what it keeps through whole and
// says on stderr it did not record it; repeated requests with different
// answers are written as a scenario that plays back in order.
func TestStubRecordSaysWhatItDidNotRecord(t *testing.T) {
	var mu sync.Mutex
	n := 0
	real := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload" {
			got, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d", got)
			return
		}
		mu.Lock()
		n++
		fmt.Fprintf(w, "answer %d", n)
		mu.Unlock()
	}))
	defer real.Close()
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	release()
	out := filepath.Join(t.TempDir(), "rec")
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cmdStubRecord(ctx, []string{"--target", real.URL, "--out", out, "--port", fmt.Sprint(port)}, IO{Stderr: &errb})
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the recorder never listened:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond) // waiting to listen, not asserting
	}
	const size = 16<<20 + 1
	resp, err := http.Post(base+"/upload", "application/octet-stream", bytes.NewReader(make([]byte, size)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(size) {
		t.Errorf("the upstream got %s bytes; want %d", b, size)
	}
	for range 2 {
		resp, err := http.Get(base + "/poll")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	cancel()
	if code := <-done; code != ExitPass {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "POST /upload: passed through whole, not recorded: the request body (16777217 bytes)") ||
		!strings.Contains(errb.String(), "2 mappings written") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	src, err := stub.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	s := stub.New(stub.Options{})
	s.Add(src.Mappings...)
	for i, want := range []string{"answer 1", "answer 2", "answer 2"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/poll", nil))
		if w.Body.String() != want {
			t.Errorf("play back %d: %q; want %q\n%s", i+1, w.Body.String(), want, errb.String())
			for _, m := range src.Mappings {
				t.Logf("%s %s %s → %s %q", m.Scenario, m.RequiredState, m.NewState, m.Pos, m.Response.Body)
			}
		}
	}
	files, _ := os.ReadDir(filepath.Join(out, "mappings"))
	for _, f := range files {
		if b, _ := os.ReadFile(filepath.Join(out, "mappings", f.Name())); bytes.Contains(b, []byte(`"id": ""`)) {
			t.Errorf("%s has an empty id", f.Name())
		}
	}
}
