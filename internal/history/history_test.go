package history

import (
	"github.com/seamtest/seam/internal/runlog"
	"os"
	"path/filepath"
	"testing"
)

func TestSuiteReadsTheNewestKeptRunsOfASuite(t *testing.T) {
	state := t.TempDir()
	logs := map[string]string{
		"20261201-000100-a": `{"type":"run_start","suite":"shop"}` + "\n",
		"20261201-000200-b": `{"type":"run_start","suite":"other"}` + "\n",
		"20261201-000300-c": `{"type":"run_start","suite":"shop"}` + "\n" + `{"type":"test_end","test":"x","status":"passed"}` + "\n",
		"20261201-000400-d": `{"type":"run_sta`, // cut off mid-write
	}
	for id, data := range logs {
		dir := filepath.Join(state, "logs", id)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, runlog.File), []byte(data), 0o644)
	}
	os.MkdirAll(filepath.Join(state, "logs", "20261201-000500-e"), 0o755) // no log: crashed early
	runs, err := Suite(state, "shop", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || len(runs[0]) != 2 || len(runs[1]) != 1 {
		t.Fatalf("runs %v; want the two shop runs, newest first", runs)
	}
	if runs, _ := Suite(state, "shop", 1); len(runs) != 1 {
		t.Errorf("max 1: %d runs", len(runs))
	}
	if runs, err := Suite(filepath.Join(state, "none"), "shop", 10); err != nil || runs != nil {
		t.Errorf("no state folder: %v, %v", runs, err)
	}
}
