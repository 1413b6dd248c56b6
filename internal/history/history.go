// Package history reads the event logs of earlier runs: the ones seam
// keeps for every run (STATE/logs/RUN_ID/events.jsonl, the newest 20 runs)
// or ones a user gives. --timings, --budget's failure order and --changed
// read them.
package history

import (
	"fmt"
	"os"

	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/runlog"
)

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
	paths, err := runlog.List(stateDir)
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
