package reap

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// writeRecord writes a record file as another run (or another seam) would.
func writeRecord(t *testing.T, dir string, rec map[string]any) string {
	t.Helper()
	runs := filepath.Join(dir, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(rec)
	f := filepath.Join(runs, rec["id"].(string)+".json")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// sleeper starts a child that lives until the test ends.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestAliveTellsAReusedPIDApart(t *testing.T) {
	cmd := sleeper(t)
	pid := cmd.Process.Pid
	tick, err := startTick(pid)
	if err != nil {
		t.Fatal(err)
	}
	uid := os.Geteuid()
	live := Record{PID: pid, StartTick: tick, UID: uid, hasUID: true}
	if !live.Alive() {
		t.Error("a live owner with its start tick is not alive")
	}
	reused := live
	reused.StartTick = tick - 1
	if reused.Alive() {
		t.Error("a PID whose start tick differs (reused) is taken for the owner")
	}
	other := live
	other.UID = uid + 1
	if other.Alive() {
		t.Error("a PID running as another user than the record names is taken for the owner")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if live.Alive() {
		t.Error("a dead owner is alive")
	}
}

// TestOthersRecordsAreNeverReaped: a dead run's record that names another
// user is not listed, and reaping leaves its folders and processes alone.
func TestOthersRecordsAreNeverReaped(t *testing.T) {
	dir := t.TempDir()
	keep := t.TempDir()
	cmd := sleeper(t)
	tick, _ := startTick(cmd.Process.Pid)
	// Its owner is dead (PID 0 is nobody's), its child lives.
	writeRecord(t, dir, map[string]any{"id": "20260101-000000-other", "pid": 0, "command": "up",
		"uid": os.Geteuid() + 1, "temp": []string{keep},
		"procs": []map[string]any{{"pid": cmd.Process.Pid, "start_tick": tick}}})
	mine := t.TempDir()
	writeRecord(t, dir, map[string]any{"id": "20260101-000000-mine", "pid": 0, "command": "up",
		"uid": os.Geteuid(), "temp": []string{mine}})
	recs, err := Records(dir)
	if err != nil || len(recs) != 1 || recs[0].ID != "20260101-000000-mine" {
		t.Fatalf("Records = %+v, %v; want only the current user's", recs, err)
	}
	all, _ := AllRecords(dir)
	if len(all) != 2 {
		t.Fatalf("AllRecords = %d records, want 2", len(all))
	}
	res, err := Reap(dir)
	if err != nil || len(res.Runs) != 1 || res.Runs[0] != "20260101-000000-mine" {
		t.Fatalf("Reap = %+v, %v", res, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("another user's folder was removed: %v", err)
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("the current user's crashed run's folder is still there")
	}
	time.Sleep(20 * time.Millisecond)
	if !exists(cmd.Process.Pid) {
		t.Error("another user's run's process was killed")
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "20260101-000000-other.json")); err != nil {
		t.Errorf("another user's record was removed: %v", err)
	}
}

// TestRecordFileOwnerDecides: a record file another user owns is theirs,
// whatever it says (only root can make one here).
func TestRecordFileOwnerDecides(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user; CI runs as root")
	}
	dir := t.TempDir()
	f := writeRecord(t, dir, map[string]any{"id": "20260101-000000-theirs", "pid": 0, "command": "up", "uid": 0})
	if err := os.Chown(f, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if recs, _ := Records(dir); len(recs) != 0 {
		t.Errorf("a record file owned by uid 65534 is listed as root's: %+v", recs)
	}
}

func TestOlderRecordsWithoutUIDAreTheFileOwners(t *testing.T) {
	dir := t.TempDir()
	writeRecord(t, dir, map[string]any{"id": "20260101-000000-old", "pid": 0, "command": "run"})
	if recs, _ := Records(dir); len(recs) != 1 {
		t.Errorf("an older seam's record in the user's own file is not theirs: %+v", recs)
	}
}

// TestRecordsAreTheUsersAlone: a run's record names its processes and
// folders: only its user may read it.
func TestRecordsAreTheUsersAlone(t *testing.T) {
	state := t.TempDir()
	r, err := Begin(state, "run", "suite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer r.End()
	if err := r.AddPID(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{r.file: 0o600, filepath.Dir(r.file): 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v; want %v", path, err, st.Mode().Perm(), want)
		}
	}
}
