// Package history reads the event logs of earlier runs: the ones seam
// keeps for every run (STATE/logs/RUN_ID/events.jsonl, the newest 20 runs)
// or ones a user gives. --timings, --budget's failure order and --changed
// read them.
package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/seamtest/seam/internal/report"
)

// File is a kept event log's name inside its run's log folder.
const File = "events.jsonl"

// Kept returns the event logs kept under stateDir, newest first; none
// (nil, nil) when the folder does not exist.
func Kept(stateDir string) ([]string, error) {
	dir := filepath.Join(stateDir, "logs")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name(), File)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	// Run IDs start with the time, so names sort by age.
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// Read reads one event log. A log that does not start with run_start is
// not a seam event log.
func Read(path string) ([]report.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	events, err := report.ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: after %d events: %w", path, len(events), err)
	}
	if len(events) == 0 || events[0].Type != report.RunStart {
		return nil, fmt.Errorf("%s is not a seam event log (it does not start with run_start)", path)
	}
	return events, nil
}

// Suite loads the kept event logs of the suite named suite, newest first,
// at most max of them; logs that cannot be read (a run cut off while
// writing) are passed over.
func Suite(stateDir, suite string, max int) ([][]report.Event, error) {
	paths, err := Kept(stateDir)
	if err != nil {
		return nil, err
	}
	var out [][]report.Event
	for _, p := range paths {
		if len(out) >= max {
			break
		}
		ev, err := Read(p)
		if err != nil || ev[0].Suite != suite {
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}
