package wire

import (
	"sync"
	"time"
)

// maxJournal bounds the interactions an environment keeps, and
// maxJournalBytes what they hold (heldBytes): HTTP keeps 4 KiB of a body
// each way, so 20000 calls hold 160 MiB of them at most, but a gRPC call
// keeps up to 64 KiB of messages each way (maxMessagesKept).
const (
	maxJournal      = 20000
	maxJournalBytes = 256 << 20
)

// Journal keeps the last interactions of an environment's edges: the
// oldest are dropped past maxJournal of them, or maxJournalBytes.
type Journal struct {
	mu      sync.Mutex
	list    []Interaction
	held    []int // heldBytes of each of list
	bytes   int
	dropped int
}

// Add records an interaction.
func (j *Journal) Add(i Interaction) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := i.heldBytes()
	for len(j.list) > 0 && (len(j.list) >= maxJournal || j.bytes+n > maxJournalBytes) {
		j.bytes -= j.held[0]
		j.list, j.held = j.list[1:], j.held[1:]
		j.dropped++
	}
	j.list, j.held = append(j.list, i), append(j.held, n)
	j.bytes += n
}

// heldBytes is what an interaction holds of what its call carried: the
// start of its bodies, or its gRPC messages (until they are rendered; the
// JSON made of them is of the same order).
func (i Interaction) heldBytes() int {
	n := len(i.RequestBody) + len(i.ResponseBody)
	if i.grpcJSON != nil {
		n += i.grpcJSON.held
	}
	return n
}

// Since returns the interactions that started at or after t.
func (j *Journal) Since(t time.Time) []Interaction {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Interaction
	for _, i := range j.list {
		if !i.Start.Before(t) {
			out = append(out, i)
		}
	}
	return out
}
