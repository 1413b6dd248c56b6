// Package runlog finds the event logs that seam run keeps. Every run writes
// its events, as JSON lines, to STATE/logs/RUN_ID/events.jsonl beside its
// services' logs; the newest 20 run folders are kept (session prunes them).
// seam report, seam coverage and anything else that reads a past run find
// its log here.
package runlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// File is the event log's name inside a run's log folder.
const File = "events.jsonl"

// Last is the argument that names the newest kept run ("seam report last").
const Last = "last"

// Path is the event log of the run whose log folder is runDir.
func Path(runDir string) string { return filepath.Join(runDir, File) }

// List returns the kept event logs under stateDir, newest first. A state
// folder that does not exist holds none (nil, nil).
func List(stateDir string) ([]string, error) {
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
		p := Path(filepath.Join(dir, e.Name()))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	// Run IDs start with the time (20261201-001542-…), so names sort by age.
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// Resolve turns a LOG argument into a file: "last" is the newest kept run's
// event log under stateDir; anything else is a path, returned as it is.
func Resolve(stateDir, arg string) (string, error) {
	if arg != Last {
		return arg, nil
	}
	logs, err := List(stateDir)
	if err != nil {
		return "", fmt.Errorf("finding the last run's event log: %w", err)
	}
	if len(logs) == 0 {
		return "", fmt.Errorf("no kept event log in %s (seam run keeps one for each of the last 20 runs: run a suite first)", filepath.Join(stateDir, "logs"))
	}
	return logs[0], nil
}
