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
	"encoding/binary"
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
	if err := os.MkdirAll(runs, 0o700); err != nil {
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

// Proc is a started child, with its start time to tell a reused PID apart
// and the process group it leads (seam starts every child in a group of
// its own; 0 in records of seam before 2026-12-01, where it was the PID).
type Proc struct {
	PID  int    `json:"pid"`
	Tick uint64 `json:"start_tick"`
	PGID int    `json:"pgid,omitempty"`
}

// AddPID records a started child and its process group. The group is
// killed on reaping, even when the child itself has died (a shell whose
// compiler lives on): some servers (PostgreSQL) overwrite their
// environment for their process titles, so the mark cannot find them.
func (r *Run) AddPID(pid int) error {
	tick, _ := startTick(pid)
	pgid := pid
	if st, err := readStat(pid); err == nil {
		pgid = st.pgrp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Procs = append(r.rec.Procs, Proc{PID: pid, Tick: tick, PGID: pgid})
	return r.save()
}

func (r *Run) save() error {
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		return err
	}
	// A save killed halfway leaves this file; Reap removes it (see
	// staleTemps).
	tmp := r.file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
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
		killed, err := killRun(rec)
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
		os.Remove(filepath.Join(stateDir, "runs", rec.ID+".json.tmp"))
		os.Remove(filepath.Join(stateDir, "runs", rec.ID+".json"))
		res.Runs = append(res.Runs, rec.ID)
	}
	removeStaleTemps(stateDir)
	return res, errors.Join(errs...)
}

// removeStaleTemps removes the record files a save left halfway
// (runs/ID.json.tmp) whose run is over. The run of a complete ID.json
// beside it is Reap's to judge; otherwise the file itself names its owner
// as far as it was written (id, then pid, then start_tick): an owner
// still running keeps it, and a file too short to name one is left only
// while it may still be being written.
func removeStaleTemps(stateDir string) {
	tmps, _ := filepath.Glob(filepath.Join(stateDir, "runs", "*.json.tmp"))
	for _, tmp := range tmps {
		if fileOwner(tmp) != os.Geteuid() {
			continue
		}
		if data, err := os.ReadFile(strings.TrimSuffix(tmp, ".tmp")); err == nil {
			var rec Record
			if json.Unmarshal(data, &rec) == nil && rec.ID != "" {
				continue
			}
		}
		data, err := os.ReadFile(tmp)
		if err != nil {
			continue
		}
		pid, tick := partialOwner(data)
		switch {
		case pid == os.Getpid():
			continue
		case pid > 0 && tick > 0:
			if t, err := startTick(pid); err == nil && t == tick {
				continue
			}
		default:
			if st, err := os.Stat(tmp); err != nil || time.Since(st.ModTime()) < 10*time.Second {
				continue
			}
		}
		os.Remove(tmp)
	}
}

// partialOwner reads the owner's PID and start tick from the start of a
// record, complete or not; 0 where it is cut before them.
func partialOwner(data []byte) (pid int, tick uint64) {
	field := func(name string) string {
		_, rest, ok := strings.Cut(string(data), "\""+name+"\":")
		if !ok {
			return ""
		}
		rest = strings.TrimLeft(rest, " ")
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end <= 0 {
			return "" // no digits, or cut inside the number
		}
		return rest[:end]
	}
	pid, _ = strconv.Atoi(field("pid"))
	tick, _ = strconv.ParseUint(field("start_tick"), 10, 64)
	return pid, tick
}

// killRun stops what a dead run left running: its recorded process groups
// (found by group ID even when their leader is gone) and every process
// carrying its mark. Each is asked to stop first (SIGTERM: PostgreSQL
// removes its shared memory on its way out) and killed when it has not
// within a second.
func killRun(rec Record) ([]int, error) {
	found := func() []int {
		seen := map[int]bool{}
		var out []int
		for _, pid := range append(recordedGroups(rec.ID, rec.Procs), Marked(rec.ID)...) {
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
		return out
	}
	return stop(found, time.Second, 2*time.Second, "run "+rec.ID)
}

// stop signals what find lists, SIGTERM then (after term) SIGKILL, again
// and again as long as find lists more (a process may fork between a
// listing and its signal), until find lists nothing or kill has passed
// since SIGKILL. It returns every process signalled.
func stop(find func() []int, term, kill time.Duration, what string) ([]int, error) {
	seen := map[int]bool{}
	var all []int
	sig := syscall.SIGTERM
	if term <= 0 {
		sig = syscall.SIGKILL
	}
	termUntil := time.Now().Add(term)
	var killUntil time.Time
	for {
		pids := find()
		if len(pids) == 0 {
			return all, nil
		}
		now := time.Now()
		if sig == syscall.SIGTERM && now.After(termUntil) {
			sig = syscall.SIGKILL
		}
		if sig == syscall.SIGKILL && killUntil.IsZero() {
			killUntil = now.Add(kill)
		}
		if !killUntil.IsZero() && now.After(killUntil) {
			return all, fmt.Errorf("processes of %s still alive after SIGKILL: %v", what, pids)
		}
		for _, pid := range pids {
			if !seen[pid] || sig == syscall.SIGKILL {
				_ = syscall.Kill(pid, sig)
			}
			if !seen[pid] {
				seen[pid] = true
				all = append(all, pid)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordedGroups lists the live members of a dead run's process groups.
// A group ID is a PID, and the kernel gives no new process a PID still in
// use as a group's ID; but once a group is empty its number may lead a
// stranger's group. So a member counts only when the group is provably
// the run's: its leader still runs with the recorded start time, or the
// member itself carries the run's mark.
func recordedGroups(runID string, procs []Proc) []int {
	if len(procs) == 0 {
		return nil
	}
	groups := map[int]bool{} // pgid → leader alive with its recorded start
	for _, p := range procs {
		pgid := p.PGID
		if pgid == 0 {
			pgid = p.PID
		}
		leaderOK := false
		if pgid == p.PID {
			tick, err := startTick(p.PID)
			leaderOK = err == nil && tick == p.Tick
		}
		groups[pgid] = groups[pgid] || leaderOK
	}
	mark := []byte(EnvVar + "=" + runID + "\x00")
	self := os.Getpid()
	var out []int
	for _, pid := range pids() {
		if pid == self {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.state == 'Z' {
			continue
		}
		leaderOK, ok := groups[st.pgrp]
		if !ok {
			continue
		}
		if leaderOK || hasMark(pid, mark) {
			out = append(out, pid)
		}
	}
	return out
}

func pids() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func hasMark(pid int, mark []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && len(env) > 0 && containsEntry(env, mark)
}

// stat is what seam reads of /proc/PID/stat.
type stat struct {
	state byte
	pgrp  int
	tick  uint64 // start time, clock ticks since boot
}

func readStat(pid int) (stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("bad stat for %d", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("short stat for %d", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	tick, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return stat{}, fmt.Errorf("bad stat for %d", pid)
	}
	return stat{state: f[0][0], pgrp: pgrp, tick: tick}, nil
}

// GroupRunning reports whether a process of group pgid is still running.
// A zombie is not: it is done, whoever reaps it (an init that never reaps
// must not hold a stop up). When /proc cannot be read, a group that still
// has members is taken as running.
func GroupRunning(pgid int) bool {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.state != 'Z' && st.pgrp == pgid {
			return true
		}
	}
	return false
}

// KillMarked sends SIGKILL to every process whose environment carries the
// run's mark, again while more appear (a process may fork between the
// listing and its signal), and waits up to grace for them to be gone.
func KillMarked(runID string, grace time.Duration) ([]int, error) {
	return stop(func() []int { return Marked(runID) }, 0, grace, "run "+runID)
}

// EnvMarkVar is the environment variable that marks an environment's
// processes within a run (with EnvVar): an environment stopped while the
// run goes on (a fresh test's) stops what escaped its services' process
// groups, as the run's end does for the run's.
const EnvMarkVar = "SEAM_ENV_ID"

// KillEntry is KillMarked for the processes whose environment holds the
// entry (NAME=VALUE): an environment's mark (EnvMarkVar).
func KillEntry(entry string, grace time.Duration) ([]int, error) {
	return stop(func() []int { return markedBy([]byte(entry + "\x00")) }, 0, grace, entry)
}

// Marked lists the live processes carrying runID's mark.
func Marked(runID string) []int {
	return markedBy([]byte(EnvVar + "=" + runID + "\x00"))
}

// markedBy lists the live processes whose environment holds mark (a whole
// entry, NUL-ended).
func markedBy(mark []byte) []int {
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
		if containsEntry(env, mark) && exists(pid) {
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

// PostgreSQL's marks: of its main segment's header (PGShmemMagic) and of
// its dynamic shared memory control segment (PG_DYNSHMEM_CONTROL_MAGIC).
const (
	pgShmemMagic   = 679834894
	pgDSMCtlMagic  = 0x9a503d32
	pgDSMItemBytes = 40 // sizeof(dsm_control_item) on 64-bit, PostgreSQL 12 and later
)

// removeDSM removes the POSIX dynamic shared memory files
// (dir/PostgreSQL.N) of a PostgreSQL killed before it could: its main
// segment's header names the control segment (dsm_control, after magic,
// creatorPID, totalsize and freeoffset), which lists the others. The list
// is read only when the control file's size matches the layout; a file of
// another user than the control file's is left alone.
func removeDSM(header []byte, dir string) {
	if len(header) < 28 || binary.NativeEndian.Uint32(header[0:]) != pgShmemMagic {
		return
	}
	ctl := binary.NativeEndian.Uint32(header[24:])
	if ctl == 0 {
		return
	}
	ctlFile := filepath.Join(dir, "PostgreSQL."+strconv.FormatUint(uint64(ctl), 10))
	owner := fileOwner(ctlFile)
	data, err := os.ReadFile(ctlFile)
	if err != nil {
		return
	}
	if len(data) >= 16 && binary.NativeEndian.Uint32(data[0:]) == pgDSMCtlMagic {
		n := int(binary.NativeEndian.Uint32(data[4:]))
		maxItems := int(binary.NativeEndian.Uint32(data[8:]))
		if n <= maxItems && len(data) == 16+pgDSMItemBytes*maxItems {
			for i := range n {
				h := binary.NativeEndian.Uint32(data[16+pgDSMItemBytes*i:])
				f := filepath.Join(dir, "PostgreSQL."+strconv.FormatUint(uint64(h), 10))
				if h != 0 && h != ctl && fileOwner(f) == owner {
					os.Remove(f)
				}
			}
		}
	}
	os.Remove(ctlFile)
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
			// A PostgreSQL's header names its POSIX segments (initdb's
			// backends make them in /dev/shm): they go too.
			if keyOK != nil {
				if mem, err := unix.SysvShmAttach(id, 0, unix.SHM_RDONLY); err == nil {
					removeDSM(mem, "/dev/shm")
					_ = unix.SysvShmDetach(mem)
				}
			}
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
