// Package reap makes cleanup survive crashes. Each run writes a record in
// seam's state folder and marks every process it starts with its run ID in
// the environment (SEAM_RUN_ID). When a run dies without cleaning up (it
// was killed with SIGKILL, say), the next run or `seam down` finds the
// record of a dead owner, kills every process still carrying that run's ID
// (grandchildren included, whatever their process group) and removes the
// run's temporary folders.
package reap

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EnvVar is the environment variable that marks a run's processes.
const EnvVar = "SEAM_RUN_ID"

// StateDir is where run records live: $SEAM_STATE_DIR, else
// $XDG_STATE_HOME/seam, else ~/.local/state/seam.
func StateDir() string {
	if d := os.Getenv("SEAM_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "seam")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "seam")
	}
	return filepath.Join(os.TempDir(), "seam-state")
}

// Record is what a run leaves in the state folder while it lives.
type Record struct {
	ID        string   `json:"id"`
	PID       int      `json:"pid"`
	StartTick uint64   `json:"start_tick"` // the owner's start time, to tell a reused PID apart
	Command   string   `json:"command"`    // run, up, …
	Suite     string   `json:"suite,omitempty"`
	Temp      []string `json:"temp,omitempty"`  // folders to remove
	Procs     []Proc   `json:"procs,omitempty"` // children started (the environ mark finds the rest)
	Shm       []int    `json:"shm,omitempty"`   // System V segments, in records of seam before 2026-11-30
	Started   string   `json:"started"`
	UID       int      `json:"uid"`                  // the owner's user ID
	SuiteFile string   `json:"suite_file,omitempty"` // the suite's absolute path, for seam down DIR
	Socket    string   `json:"socket,omitempty"`     // seam up's control socket (mode 0600)

	owner  int  // the user ID owning the record's file; -1 when unknown
	hasUID bool // the record names its user (older seams' did not)
}

// Run is this process's live record.
type Run struct {
	mu   sync.Mutex
	dir  string
	file string
	rec  Record
}

// Begin writes a record for a new run owned by this process.
func Begin(stateDir, command, suite string) (*Run, error) {
	// The state folder holds the runs' logs: the user's alone. (A shared
	// SEAM_STATE_DIR keeps the mode it was given.)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", stateDir, err)
	}
	runs := filepath.Join(stateDir, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", runs, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
	tick, _ := startTick(os.Getpid())
	r := &Run{dir: stateDir, file: filepath.Join(runs, id+".json"), rec: Record{
		ID: id, PID: os.Getpid(), StartTick: tick, Command: command, Suite: suite,
		Started: time.Now().UTC().Format(time.RFC3339), UID: os.Geteuid(),
	}}
	return r, r.save()
}

// ID is the run's ID.
func (r *Run) ID() string { return r.rec.ID }

// Env is the environment entry that marks the run's processes.
func (r *Run) Env() string { return EnvVar + "=" + r.rec.ID }

// AddTemp records a folder to remove if the run dies.
func (r *Run) AddTemp(dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Temp = append(r.rec.Temp, dir)
	return r.save()
}

// SetCommand changes what the record says the run is doing.
func (r *Run) SetCommand(c string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Command = c
	return r.save()
}

// SetSuiteFile records the suite's file, made absolute, so that seam down
// DIR and seam run --attach find the run by its suite.
func (r *Run) SetSuiteFile(file string) error {
	abs := SuitePath(file)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.SuiteFile = abs
	return r.save()
}

// SetSocket records the control socket of seam up.
func (r *Run) SetSocket(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Socket = path
	return r.save()
}

// SuitePath is the form in which suite files are recorded and compared:
// absolute, with symbolic links resolved where the file exists.
func SuitePath(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// Proc is a started child, with its start time to tell a reused PID apart.
type Proc struct {
	PID  int    `json:"pid"`
	Tick uint64 `json:"start_tick"`
}

// AddPID records a started child. Its process group is killed on reaping
// too: some servers (PostgreSQL) overwrite their environment for their
// process titles, so the mark cannot find them.
func (r *Run) AddPID(pid int) error {
	tick, _ := startTick(pid)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Procs = append(r.rec.Procs, Proc{PID: pid, Tick: tick})
	return r.save()
}

func (r *Run) save() error {
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, r.file)
}

// End removes the record: the run cleaned up after itself.
func (r *Run) End() error {
	err := os.Remove(r.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Records lists the records in the state folder that belong to the
// current user (see Record.Mine); others' are never returned, so nothing
// that reads them can touch another user's runs.
func Records(stateDir string) ([]Record, error) {
	all, err := AllRecords(stateDir)
	var out []Record
	for _, rec := range all {
		if rec.Mine() {
			out = append(out, rec)
		}
	}
	return out, err
}

// Mine reports whether the record belongs to the current (effective) user:
// its file is the user's and so is the user ID it names. A record of a
// seam before 2026-11-30 names none; its file's owner decides.
func (rec Record) Mine() bool {
	uid := os.Geteuid()
	return rec.owner == uid && (!rec.hasUID || rec.UID == uid)
}

// AllRecords lists every record in the state folder, whoever owns it.
func AllRecords(stateDir string) ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(stateDir, "runs", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var rec Record
		var named struct {
			UID *int `json:"uid"`
		}
		if json.Unmarshal(data, &rec) != nil || rec.ID == "" {
			continue
		}
		_ = json.Unmarshal(data, &named)
		rec.hasUID = named.UID != nil
		rec.owner = fileOwner(f)
		out = append(out, rec)
	}
	return out, nil
}

func fileOwner(path string) int {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return -1
	}
	return int(st.Uid)
}

// Alive reports whether the record's owner is still running: a process
// with its PID exists, is no zombie, started at the recorded clock tick
// (a reused PID did not) and, when the record names its user, runs as that
// user.
func (rec Record) Alive() bool {
	if rec.PID <= 0 {
		return false
	}
	tick, err := startTick(rec.PID)
	if err != nil || rec.StartTick != 0 && tick != rec.StartTick {
		return false
	}
	if rec.hasUID {
		if uid, ok := procUID(rec.PID); ok && uid != rec.UID {
			return false
		}
	}
	return true
}

// procUID is the effective user ID a process runs as.
func procUID(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
			uid, err := strconv.Atoi(f[2])
			return uid, err == nil
		}
	}
	return 0, false
}

// Result says what a reap did.
type Result struct {
	Runs    []string // run IDs reaped
	Killed  []int    // processes killed
	Removed []string // folders removed
}

// Reap cleans up after every run of the current user whose owner is dead.
// Live runs and other users' runs are left alone; self is never reaped.
func Reap(stateDir string) (Result, error) {
	var res Result
	recs, err := Records(stateDir)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, rec := range recs {
		if rec.PID == os.Getpid() || rec.Alive() {
			continue
		}
		res.Killed = append(res.Killed, killRecorded(rec.Procs)...)
		killed, err := KillMarked(rec.ID, 2*time.Second)
		res.Killed = append(res.Killed, killed...)
		if err != nil {
			errs = append(errs, err)
		}
		sweepShm(rec)
		for _, d := range rec.Temp {
			if err := os.RemoveAll(d); err == nil {
				res.Removed = append(res.Removed, d)
			} else {
				errs = append(errs, err)
			}
		}
		os.Remove(filepath.Join(stateDir, "runs", rec.ID+".json"))
		res.Runs = append(res.Runs, rec.ID)
	}
	return res, errors.Join(errs...)
}

// KillMarked sends SIGKILL to every process whose environment carries the
// run's mark and waits up to grace for them to be gone.
func KillMarked(runID string, grace time.Duration) ([]int, error) {
	pids := Marked(runID)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		left := 0
		for _, pid := range pids {
			if exists(pid) {
				left++
			}
		}
		if left == 0 {
			return pids, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return pids, fmt.Errorf("processes of run %s still alive after SIGKILL", runID)
}

// Marked lists the live processes carrying runID's mark.
func Marked(runID string) []int {
	mark := []byte(EnvVar + "=" + runID + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || len(env) == 0 {
			continue
		}
		if containsEntry(env, mark) {
			out = append(out, pid)
		}
	}
	return out
}

func containsEntry(env, mark []byte) bool {
	// Entries are NUL-separated; match a whole entry.
	s, m := string(env)+"\x00", string(mark)
	return strings.HasPrefix(s, m) || strings.Contains(s, "\x00"+m)
}

// exists reports whether pid is a live (not zombie) process.
func exists(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// startTick reads a process's start time (clock ticks since boot).
func startTick(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat for %d", pid)
	}
	fields := strings.Fields(s[i+1:])
	// Field 22 of stat is starttime; after the ")" the state is field 3.
	if len(fields) < 20 {
		return 0, fmt.Errorf("short stat for %d", pid)
	}
	if fields[0] == "Z" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// sweepShm removes the segments of a dead run's servers: those recorded,
// and those named in a postmaster.pid left in one of its folders: a
// PostgreSQL killed while it started made its segment before seam could
// record it, and its data folder says which one it is.
func sweepShm(rec Record) {
	for _, id := range rec.Shm {
		removeShm(id, nil)
	}
	for _, dir := range rec.Temp {
		for _, pattern := range []string{"postmaster.pid", "*/postmaster.pid"} {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, f := range files {
				RemovePostmasterShm(filepath.Dir(f))
			}
		}
	}
}

// RemovePostmasterShm removes the System V segment a PostgreSQL data
// folder's postmaster.pid names (line 7: "key id"), when nothing is
// attached to it and its key still matches: a server that stopped cleanly
// removed both, one killed with SIGKILL could not.
func RemovePostmasterShm(dataDir string) {
	data, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 7 {
		return
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return
	}
	// PostgreSQL prints its key_t as an unsigned long: a negative key
	// comes out sign-extended.
	key, err1 := strconv.ParseUint(f[0], 10, 64)
	id, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return
	}
	removeShm(id, func(k int32) bool { return uint64(int64(k)) == key })
}

// removeShm removes a shared memory segment that nothing is attached to,
// and whose key keyOK accepts when given. The servers were just killed: a
// backend of a killed PostgreSQL (same process group, not recorded) can
// still be exiting, attached, when the postmaster is gone, so a segment
// still attached is given a moment to be let go.
func removeShm(id int, keyOK func(key int32) bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		var desc unix.SysvShmDesc
		if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil || keyOK != nil && !keyOK(desc.Perm.Key) {
			return
		}
		if desc.Nattch == 0 {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killRecorded kills recorded children that still run (same PID, same
// start time), with their process groups.
func killRecorded(procs []Proc) []int {
	var out []int
	for _, p := range procs {
		if tick, err := startTick(p.PID); err != nil || tick != p.Tick {
			continue
		}
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
		out = append(out, p.PID)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range out {
		for exists(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out
}
