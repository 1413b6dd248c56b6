package wire

import (
	"slices"
	"sort"
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
	mu   sync.Mutex
	list []Interaction
	held []int // heldBytes of each of list
	// at is when each of list was added: when the wire told of it, as
	// its call was answered or ended (the same instant that tags its
	// event with the test running then).
	at      []time.Time
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
		j.list, j.held, j.at = j.list[1:], j.held[1:], j.at[1:]
		j.dropped++
	}
	j.list, j.held, j.at = append(j.list, i), append(j.held, n), append(j.at, time.Now())
	j.bytes += n
}

// heldBytes is what an interaction holds of what its call carried: the
// start of its bodies, an SQL statement's parameters, or its gRPC messages (until they are rendered; the
// JSON made of them is of the same order).
func (i Interaction) heldBytes() int {
	n := len(i.RequestBody) + len(i.ResponseBody)
	for _, p := range i.params {
		n += len(p)
	}
	if i.grpcJSON != nil {
		n += i.grpcJSON.held
	}
	return n
}

// Since returns the interactions told at or after t, in the order they
// were told: those answered, cut or ended since t, whenever they began.
// A call sent before t and answered after it (a worker's blocking BLPOP,
// a long poll, a query a cancel ended) is of the test during which its
// answer came, where its event is too; one still waiting is of none yet.
// An interaction told before t is not, however long it lasted: a
// connection record is told once, as the connection ends, so a pool's
// idle connection is of no test until it does.
func (j *Journal) Since(t time.Time) []Interaction {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := sort.Search(len(j.at), func(k int) bool { return !j.at[k].Before(t) })
	return slices.Clone(j.list[k:])
}
