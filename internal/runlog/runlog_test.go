package runlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveFindsTheNewestKeptLog(t *testing.T) {
	state := t.TempDir()
	for _, id := range []string{"20261201-001542-a1", "20261201-001600-b2", "20261201-001700-c3"} {
		dir := filepath.Join(state, "logs", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if id != "20261201-001700-c3" { // the newest crashed before writing its log
			if err := os.WriteFile(Path(dir), []byte("{}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := Resolve(state, "last")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, "logs", "20261201-001600-b2", File); got != want {
		t.Errorf("last = %s; want %s", got, want)
	}
	if got, _ := Resolve(state, "x.jsonl"); got != "x.jsonl" {
		t.Errorf("a path = %s; want it unchanged", got)
	}
	logs, _ := List(state)
	if len(logs) != 2 {
		t.Errorf("List = %v; want 2 logs", logs)
	}
}

func TestResolveWithoutRunsSaysWhatToDo(t *testing.T) {
	_, err := Resolve(t.TempDir(), "last")
	if err == nil || !strings.Contains(err.Error(), "run a suite first") {
		t.Errorf("err = %v; want one saying to run a suite first", err)
	}
}
