package reap

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanedGroup starts a shell in a group of its own that leaves a sleep
// behind in that group and exits, as `sh -c "go build …"` does when seam
// dies: the group's leader is gone, its member lives on. It returns the
// group's ID (the shell's PID, with its start tick) and the sleep's PID.
func orphanedGroup(t *testing.T, env []string) (Proc, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $!; read x")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(line))
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	tick, _ := startTick(cmd.Process.Pid)
	leader := Proc{PID: cmd.Process.Pid, Tick: tick, PGID: cmd.Process.Pid}
	in.Close() // the shell ends; the sleep stays in its group
	cmd.Wait()
	if st, err := readStat(child); err != nil || st.pgrp != leader.PGID {
		t.Fatalf("the sleep is not in the shell's group: %+v %v", st, err)
	}
	return leader, child
}

func gone(pid int) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !exists(pid) {
			return true
		}
	}
	return false
}

func TestReapKillsAGroupWhoseLeaderIsDead(t *testing.T) {
	dir := t.TempDir()
	id := "20261201-000000-aaaaaaaaaaaa"
	leader, child := orphanedGroup(t, append(os.Environ(), EnvVar+"="+id))
	writeRecord(t, dir, map[string]any{"id": id, "pid": 999999999, "uid": os.Geteuid(),
		"procs": []Proc{leader}})
	res, err := Reap(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !gone(child) {
		t.Fatalf("the member of the recorded group still runs (reap said %+v)", res)
	}
}

// A group whose leader is dead and whose member does not carry the run's
// mark may be a stranger's that took the number since: it is left alone.
func TestReapSparesAGroupItCannotProveIsTheRuns(t *testing.T) {
	dir := t.TempDir()
	id := "20261201-000000-bbbbbbbbbbbb"
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, EnvVar+"=") {
			env = append(env, e)
		}
	}
	leader, child := orphanedGroup(t, env)
	writeRecord(t, dir, map[string]any{"id": id, "pid": 999999999, "uid": os.Geteuid(),
		"procs": []Proc{leader}})
	if _, err := Reap(dir); err != nil {
		t.Fatal(err)
	}
	if !exists(child) {
		t.Fatal("an unmarked process in a group whose leader is gone was killed")
	}
}

// While the leader lives with its recorded start time, the whole group is
// the run's, marked or not (PostgreSQL overwrites its environment).
func TestReapKillsTheGroupOfALiveLeader(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60; wait")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	tick, _ := startTick(cmd.Process.Pid)
	writeRecord(t, dir, map[string]any{"id": "20261201-000000-cccccccccccc", "pid": 999999999, "uid": os.Geteuid(),
		"procs": []Proc{{PID: cmd.Process.Pid, Tick: tick, PGID: cmd.Process.Pid}}})
	var members []int
	for deadline := time.Now().Add(3 * time.Second); len(members) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		members = nil
		for _, pid := range pids() {
			if st, err := readStat(pid); err == nil && st.pgrp == cmd.Process.Pid {
				members = append(members, pid)
			}
		}
	}
	if len(members) < 3 {
		t.Fatalf("the group has %v", members)
	}
	go cmd.Wait() // reap the shell's zombie as it dies
	if _, err := Reap(dir); err != nil {
		t.Fatal(err)
	}
	for _, pid := range members {
		if !gone(pid) {
			t.Errorf("member %d of the recorded group still runs", pid)
		}
	}
}

func TestReapRemovesHalfWrittenRecords(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	os.MkdirAll(runs, 0o755)
	live := sleeper(t)
	liveTick, _ := startTick(live.Process.Pid)
	files := map[string]string{
		// a save cut after the owner: a dead one, a live one
		"dead.json.tmp": `{"id": "dead", "pid": 999999999, "start_tick": 5, "comm`,
		"live.json.tmp": `{"id": "live", "pid": ` + strconv.Itoa(live.Process.Pid) + `, "start_tick": ` + strconv.FormatUint(liveTick, 10) + `, "co`,
		// cut before the owner: stale once old, kept while it may be written
		"old.json.tmp":   `{"id": "ol`,
		"fresh.json.tmp": `{"id": "fr`,
	}
	for name, data := range files {
		os.WriteFile(filepath.Join(runs, name), []byte(data), 0o644)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(runs, "old.json.tmp"), old, old)
	// a dead run's record with the temp of a save it did not finish
	writeRecord(t, dir, map[string]any{"id": "crashed", "pid": 999999999, "uid": os.Geteuid()})
	os.WriteFile(filepath.Join(runs, "crashed.json.tmp"), []byte(`{"id": "crashed", "pi`), 0o644)
	if _, err := Reap(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(runs, "*"))
	var names []string
	for _, f := range left {
		names = append(names, filepath.Base(f))
	}
	if strings.Join(names, " ") != "fresh.json.tmp live.json.tmp" {
		t.Errorf("left %v; want fresh.json.tmp live.json.tmp", names)
	}
}

func TestPartialOwner(t *testing.T) {
	for in, want := range map[string][2]uint64{
		`{"id": "x", "pid": 12, "start_tick": 34, "procs": [{"pid": 9, "start_tick": 1}]}`: {12, 34},
		`{"id": "x", "pid": 12, "start_tick": 3`:                                           {12, 0},
		`{"id": "x", "pid": 1`:                                                             {0, 0},
		`{"id": "x", "pid":`:                                                               {0, 0},
		``:                                                                                 {0, 0},
	} {
		pid, tick := partialOwner([]byte(in))
		if uint64(pid) != want[0] || tick != want[1] {
			t.Errorf("%q: got %d %d; want %v", in, pid, tick, want)
		}
	}
}
