package session

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seamtest/seam/internal/runlog"
)

// TestPruneKeepsRunsApartFromGoTests: a go test package that starts an
// environment per test makes a log folder per test, without an event log;
// however many, they never push the CLI's runs (with one) out, and each
// sort keeps its own newest. A running run's folder stays.
func TestPruneKeepsRunsApartFromGoTests(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "logs")
	mk := func(id string, events bool) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, id), 0o700); err != nil {
			t.Fatal(err)
		}
		if events {
			if err := os.WriteFile(runlog.Path(filepath.Join(dir, id)), []byte("{}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 5 CLI runs, then 40 go test environments after them; the oldest
	// of these is still running.
	for i := range 5 {
		mk(fmt.Sprintf("20260101-0000%02d-run", i), true)
	}
	for i := range 40 {
		mk(fmt.Sprintf("20260101-0100%02d-gotest", i), false)
	}
	os.MkdirAll(filepath.Join(state, "runs"), 0o700)
	os.WriteFile(filepath.Join(state, "runs", "20260101-010000-gotest.json"), []byte("{}"), 0o600)

	pruneLogs(state, dir, 3)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{
		"20260101-000002-run", "20260101-000003-run", "20260101-000004-run",
		"20260101-010000-gotest", // running
		"20260101-010037-gotest", "20260101-010038-gotest", "20260101-010039-gotest",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept %q;\nwant %q", got, want)
	}
}
