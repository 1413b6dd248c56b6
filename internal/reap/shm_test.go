package reap

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// newSegment makes a segment this process created, removed at the test's
// end if the sweep left it.
func newSegment(t *testing.T) int {
	t.Helper()
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Skipf("no System V shared memory here: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	return id
}

func segmentExists(id int) bool {
	var desc unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc)
	return err == nil
}

func TestSweepShmRemovesWhatARecordedChildLeft(t *testing.T) {
	tick, err := startTick(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self := Proc{PID: os.Getpid(), Tick: tick}

	orphan := newSegment(t)
	attached := newSegment(t)
	mem, err := unix.SysvShmAttach(attached, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.SysvShmDetach(mem)

	sweepShm(Record{Procs: []Proc{self}})
	if segmentExists(orphan) {
		t.Error("a segment a recorded child made, with nothing attached, was left")
	}
	if !segmentExists(attached) {
		t.Error("a segment still attached was removed")
	}
}

func TestSweepShmLeavesOthersSegments(t *testing.T) {
	tick, err := startTick(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	seg := newSegment(t)
	// A recorded process with this PID that started an hour after the
	// segment was made: the PID's number was reused, the segment is not its.
	sweepShm(Record{Procs: []Proc{{PID: os.Getpid(), Tick: tick + 3600*100}}})
	if !segmentExists(seg) {
		t.Error("a segment made before the recorded process started was removed")
	}
	// No record names its creator.
	sweepShm(Record{Procs: []Proc{{PID: os.Getpid() + 1, Tick: tick}}})
	if !segmentExists(seg) {
		t.Error("a segment no recorded process made was removed")
	}
	// The record names the segment itself.
	sweepShm(Record{Shm: []int{seg}})
	if segmentExists(seg) {
		t.Error("a recorded segment with nothing attached was left")
	}
}
