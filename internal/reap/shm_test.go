package reap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// newSegment makes a segment with a key of its own, removed at the test's
// end if the sweep left it.
func newSegment(t *testing.T) (key, id int) {
	t.Helper()
	for range 100 {
		key = 1 + rand.IntN(1<<30)
		id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			t.Skipf("no System V shared memory here: %v", err)
		}
		t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
		return key, id
	}
	t.Fatal("no free segment key in 100 tries")
	return 0, 0
}

func segmentExists(id int) bool {
	var desc unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc)
	return err == nil
}

// killedServer is a run's folder holding a data folder whose
// postmaster.pid names key and id, as PostgreSQL's does until it stops.
func killedServer(t *testing.T, key, id int) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprintf("4242\n%s\n1700000000\n5432\n\n127.0.0.1\n%9d %9d\nready   \n", data, key, id)
	if err := os.WriteFile(filepath.Join(data, "postmaster.pid"), []byte(pid), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSweepShmRemovesTheSegmentAPostmasterPidNames(t *testing.T) {
	key, id := newSegment(t)
	sweepShm(Record{Temp: []string{killedServer(t, key, id)}})
	if segmentExists(id) {
		t.Error("the segment a killed server's postmaster.pid names was left")
	}
}

func TestSweepShmLeavesSegmentsInUseOrNotTheServers(t *testing.T) {
	key, id := newSegment(t)
	// The id was reused by another program's segment: its key differs.
	sweepShm(Record{Temp: []string{killedServer(t, key+1, id)}})
	if !segmentExists(id) {
		t.Error("a segment whose key differs from postmaster.pid's was removed")
	}
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.SysvShmDetach(mem)
	sweepShm(Record{Temp: []string{killedServer(t, key, id)}, Shm: []int{id}})
	if !segmentExists(id) {
		t.Error("a segment still attached was removed")
	}
}

func TestSweepShmRemovesRecordedSegments(t *testing.T) {
	_, id := newSegment(t)
	sweepShm(Record{Shm: []int{id}})
	if segmentExists(id) {
		t.Error("a recorded segment with nothing attached was left")
	}
}

// A killed PostgreSQL's header names its control segment, which lists
// the other POSIX segments: all go, and nothing else.
func TestRemoveDSMFollowsTheControlSegment(t *testing.T) {
	dir := t.TempDir()
	header := make([]byte, 56)
	binary.NativeEndian.PutUint32(header[0:], pgShmemMagic)
	binary.NativeEndian.PutUint32(header[24:], 1111)
	ctl := make([]byte, 16+pgDSMItemBytes*4)
	binary.NativeEndian.PutUint32(ctl[0:], pgDSMCtlMagic)
	binary.NativeEndian.PutUint32(ctl[4:], 2) // items in use
	binary.NativeEndian.PutUint32(ctl[8:], 4) // room
	binary.NativeEndian.PutUint32(ctl[16:], 2222)
	binary.NativeEndian.PutUint32(ctl[16+pgDSMItemBytes:], 3333)
	binary.NativeEndian.PutUint32(ctl[16+2*pgDSMItemBytes:], 4444) // beyond nitems: not in use
	files := map[string][]byte{"PostgreSQL.1111": ctl, "PostgreSQL.2222": nil, "PostgreSQL.3333": nil,
		"PostgreSQL.4444": nil, "PostgreSQL.5555": nil}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	removeDSM(header, dir)
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 || filepath.Base(left[0]) != "PostgreSQL.4444" || filepath.Base(left[1]) != "PostgreSQL.5555" {
		t.Errorf("left %v; want PostgreSQL.4444 PostgreSQL.5555", left)
	}
	// Not a PostgreSQL header: nothing is touched.
	os.WriteFile(filepath.Join(dir, "PostgreSQL.1111"), ctl, 0o600)
	binary.NativeEndian.PutUint32(header[0:], 1)
	removeDSM(header, dir)
	if _, err := os.Stat(filepath.Join(dir, "PostgreSQL.1111")); err != nil {
		t.Error("a segment named by a header without PostgreSQL's magic was removed")
	}
}
