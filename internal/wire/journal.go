package wire

import (
	"sync"
	"time"
)

// maxJournal bounds the interactions an environment keeps.
const maxJournal = 20000

// Journal keeps the last interactions of an environment's edges.
type Journal struct {
	mu      sync.Mutex
	list    []Interaction
	dropped int
}

// Add records an interaction.
func (j *Journal) Add(i Interaction) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.list) >= maxJournal {
		j.list = j.list[1:]
		j.dropped++
	}
	j.list = append(j.list, i)
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
