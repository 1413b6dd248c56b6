// Command stubmem measures the memory of `seam stub` under a stream of
// large requests: 1 GiB sent as 256 POSTs of 4 MiB, journal on with its
// default bounds (DefaultJournalBytes, DefaultJournalBody). It prints the
// stub's peak RSS (VmHWM) and the journal's size; the target is that the
// peak stays bounded by the journal's byte budget, not by what was sent.
//
//	go run ./bench/stubmem [-quick]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/bench/internal/rawload"
	"github.com/seamtest/seam/internal/stub"
)

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	measure.Check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func main() {
	quick := flag.Bool("quick", false, "a smaller run: 256 MiB")
	count := flag.Int("n", 256, "requests of 4 MiB to send")
	flag.Parse()
	defer measure.Done()
	const size = 4 << 20
	n := *count
	if *quick {
		n = 64
	}
	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-stubmem-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	dir := filepath.Join(tmp, "stubs", "mappings")
	measure.Check(os.MkdirAll(dir, 0o755))
	measure.Check(os.WriteFile(filepath.Join(dir, "up.json"),
		[]byte(`{"request": {"method": "POST", "urlPath": "/upload"}, "response": {"status": 201}}`), 0o644))
	seamBin := filepath.Join(tmp, "seam")
	measure.Run(root, "go", "build", "-o", seamBin, "./cmd/seam")
	srv := rawload.Start("seam stub", []string{seamBin, "stub", "--port", "PORT", filepath.Join(tmp, "stubs")}, "/__admin/health")
	pid := srv.Cmd.Process.Pid
	base := peakRSS(pid)

	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	client := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	for i := 0; i < n; i++ {
		resp, err := client.Post(srv.Base+"/upload", "application/octet-stream", bytes.NewReader(body))
		measure.Check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			measure.Check(fmt.Errorf("request %d: status %d", i, resp.StatusCode))
		}
	}
	elapsed := time.Since(start)
	peak := peakRSS(pid)

	resp, err := client.Get(srv.Base + "/__admin/requests?limit=1")
	measure.Check(err)
	var list struct {
		Meta struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	measure.Check(json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()

	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	sent := int64(n) * size
	budget := int64(stub.DefaultJournalBytes)
	fmt.Printf("sent %d POSTs of %d MiB (%.0f MiB) in %s\n", n, size>>20, mib(sent), elapsed.Round(time.Millisecond))
	fmt.Printf("journal: %d requests kept, bodies cut to %d KiB, byte budget %.0f MiB\n", list.Meta.Total, stub.DefaultJournalBody>>10, mib(budget))
	fmt.Printf("seam stub peak RSS: %.0f MiB (%.0f MiB at start)\n", mib(peak), mib(base))
	verdict := "ok"
	// The journal's budget plus the room seam stub's memory limit leaves
	// for requests in flight and the runtime's own.
	target := budget + 128<<20 // the memory limit leaves 64 MiB; RSS adds the runtime's and fasthttp's buffers
	if peak > target {
		verdict = "short"
	}
	fmt.Printf("RESULT stubmem sent_mib=%.0f peak_rss_mib=%.0f journal=%d ratio=%.2f target=%.0f %s\n",
		mib(sent), mib(peak), list.Meta.Total, mib(sent)/mib(peak), mib(target), verdict)
}
