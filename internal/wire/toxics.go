package wire

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Toxic is one of Toxiproxy's toxics on a proxy, acting on one stream
// (upstream: caller → callee; downstream: callee → caller) of every
// connection it is rolled onto, as toxiproxy-server v2.12.0 does: toxics of
// a stream run in the order they were added, each on what the one before
// let through.
type Toxic struct {
	Name   string
	Type   string // latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data
	Stream string // upstream or downstream, any case, echoed as given
	// Toxicity is the chance (0 to 1) that the toxic acts on a connection,
	// rolled once per connection from the run's seed.
	Toxicity float32
	// Attributes by name (toxicAttrs lists each type's), in Toxiproxy's
	// units: milliseconds, KB/s (1000 bytes), bytes, microseconds (slicer
	// delay).
	Attributes map[string]int64
	id         uint64 // the toxic's: its state (limit_data's count) lives as long as it
	gen        uint64 // changes on each update: Toxiproxy rolls toxicity again and restarts timers
}

// toxicAttrs lists each toxic type's attributes in Toxiproxy's order;
// every one is echoed, 0 when not given.
var toxicAttrs = map[string][]string{
	"latency":    {"latency", "jitter"},
	"bandwidth":  {"rate"},
	"slow_close": {"delay"},
	"timeout":    {"timeout"},
	"reset_peer": {"timeout"},
	"slicer":     {"average_size", "size_variation", "delay"},
	"limit_data": {"bytes"},
}

// Toxics is the set of toxics on a proxy. It is never changed once set:
// a change makes a new one.
type Toxics struct {
	List []Toxic
	Seed uint64 // the run's: toxicity rolls and random attributes derive from it
}

func (t *Toxics) has(gen uint64) bool {
	if t == nil {
		return false
	}
	for _, x := range t.List {
		if x.gen == gen {
			return true
		}
	}
	return false
}

func (t *Toxics) hasID(id uint64) bool {
	if t == nil {
		return false
	}
	for _, x := range t.List {
		if x.id == id {
			return true
		}
	}
	return false
}

// errCut is returned by a toxic that ended the connection.
var errCut = errors.New("cut by a toxic")

// active reports whether toxic x acts on the connection, rolling its
// toxicity once per connection (and again when the toxic is updated).
func (st *connState) active(x *Toxic, seed uint64) bool {
	if x.Toxicity >= 1 {
		return true
	}
	if x.Toxicity <= 0 {
		return false
	}
	st.tmu.Lock()
	defer st.tmu.Unlock()
	if st.rolls == nil {
		st.rolls = map[uint64]bool{}
	}
	on, ok := st.rolls[x.gen]
	if !ok {
		r := rand.New(rand.NewPCG(seed^x.gen*0x9e3779b97f4a7c15, st.serial))
		on = r.Float32() < x.Toxicity
		st.rolls[x.gen] = on
	}
	return on
}

// toxicRun is one direction of one connection going through its toxics.
// Only that direction's forwarding goroutine uses it.
type toxicRun struct {
	p     *Proxy
	st    *connState
	back  bool // downstream
	rnd   *rand.Rand
	sent  map[uint64]int64         // limit_data: bytes let through, by toxic id
	debt  map[uint64]time.Duration // bandwidth: sleep owed, by toxic generation (an update starts afresh)
	clean bool                     // the toxics' EOF behaviour already ran
	// lost is told, downstream, when the caller left while a toxic held
	// the callee's bytes: it takes what was held, and its error (errLeft)
	// ends the stream. Nil: such a hold just ends with the connection.
	lost func() error
}

func newToxicRun(p *Proxy, st *connState, back bool, seed uint64) *toxicRun {
	s := uint64(0)
	if back {
		s = 1
	}
	return &toxicRun{p: p, st: st, back: back, rnd: rand.New(rand.NewPCG(seed^st.serial, 0x7051c+s)),
		sent: map[uint64]int64{}, debt: map[uint64]time.Duration{}}
}

// chain is the toxics of this run's stream that act on the connection.
func (r *toxicRun) chain(ts *Toxics) []*Toxic {
	if ts == nil {
		return nil
	}
	var out []*Toxic
	for i := range ts.List {
		x := &ts.List[i]
		if x.upstream() == !r.back && r.st.active(x, ts.Seed) {
			out = append(out, x)
		}
	}
	return out
}

// run sends b (read at readAt) through the toxics, write receiving what
// comes out. errCut: a toxic ended the connection.
func (r *toxicRun) run(chain []*Toxic, b []byte, readAt time.Time, write func([]byte) error) error {
	if len(chain) == 0 {
		return write(b)
	}
	x, next := chain[0], chain[1:]
	at := x.Attributes
	pass := func(b []byte) error { return r.run(next, b, readAt, write) }
	switch x.Type {
	case "latency":
		d := at["latency"]
		if j := at["jitter"]; j > 0 {
			d += r.rnd.Int64N(2*j) - j
		}
		if err := r.hold(time.Duration(d)*time.Millisecond-time.Since(readAt), readAt); err != nil {
			return err
		}
		return pass(b)
	case "bandwidth":
		rate := at["rate"]
		if rate <= 0 {
			r.debt[x.gen] = 0
			return pass(b)
		}
		r.debt[x.gen] += time.Duration(len(b)) * time.Millisecond / time.Duration(rate)
		// As Toxiproxy: a chunk larger than 100 ms of the rate goes in
		// 100 ms slices, and every byte waits for its share of time
		// before it is sent, the first ones too.
		for int64(len(b)) > rate*100 {
			if err := r.hold(100*time.Millisecond, readAt); err != nil {
				return err
			}
			if err := pass(b[:rate*100]); err != nil {
				return err
			}
			b = b[rate*100:]
			r.debt[x.gen] -= 100 * time.Millisecond
		}
		start := time.Now()
		if err := r.hold(r.debt[x.gen], readAt); err != nil {
			return err
		}
		r.debt[x.gen] -= time.Since(start)
		return pass(b)
	case "slicer":
		cuts := slicer(r.rnd, int(at["average_size"]), int(at["size_variation"]), 0, len(b), nil)
		for i := 1; i < len(cuts); i += 2 {
			if err := pass(b[cuts[i-1]:cuts[i]]); err != nil {
				return err
			}
			if err := r.hold(time.Duration(at["delay"])*time.Microsecond, readAt); err != nil {
				return err
			}
		}
		return nil
	case "limit_data":
		limit := at["bytes"]
		left := max(limit-r.sent[x.id], 0)
		if int64(len(b)) > left {
			b = b[:left]
		}
		if len(b) > 0 {
			if err := pass(b); err != nil {
				return err
			}
			r.sent[x.id] += int64(len(b))
		}
		if r.sent[x.id] >= limit {
			r.p.cut(r.st, fmt.Sprintf("closed by a fault (limit_data toxic: %d bytes %s)", limit, r.stream()), false)
			return errCut
		}
		return nil
	case "timeout":
		return nil // held: the timer (Proxy.toxicTimers) closes the connection
	case "reset_peer":
		return r.reset(x)
	}
	return pass(b) // slow_close: acts at the end of the stream
}

// hold is a toxic holding the bytes of its stream for d (those of a
// chunk read at from): errCut when the connection ended meanwhile; on the
// callee's side, what lost returns when the caller left meanwhile.
func (r *toxicRun) hold(d time.Duration, from time.Time) error {
	switch r.st.hold(d, r.back, from) {
	case holdCut:
		return errCut
	case holdLeft:
		if r.lost != nil {
			return r.lost()
		}
		return errCut
	}
	return nil
}

func (r *toxicRun) stream() string {
	if r.back {
		return "downstream"
	}
	return "upstream"
}

// reset is reset_peer: what came is dropped, and after its timeout the
// connection is reset (closed with a reset only when the toxic was there
// as the connection opened, as Toxiproxy sets SO_LINGER 0 then).
func (r *toxicRun) reset(x *Toxic) error {
	if !r.st.sleep(time.Duration(x.Attributes["timeout"]) * time.Millisecond) {
		return errCut
	}
	hard := r.st.atStart(x.id)
	why := "reset by a fault (reset_peer toxic, " + r.stream() + ")"
	if !hard {
		why = "closed by a fault (reset_peer toxic, " + r.stream() + ", added after the connection opened)"
	}
	r.p.cut(r.st, why, hard)
	return errCut
}

// end runs the toxics' behaviour at the end of the stream: slow_close
// waits, reset_peer resets; errCut when the connection is gone.
func (r *toxicRun) end(ts *Toxics) error {
	for _, x := range r.chain(ts) {
		switch x.Type {
		case "slow_close":
			if !r.st.sleep(time.Duration(x.Attributes["delay"]) * time.Millisecond) {
				return errCut
			}
		case "reset_peer":
			return r.reset(x)
		case "timeout":
			// Toxiproxy's timeout toxic closes at once when its input ends.
			return nil
		}
	}
	return nil
}

// slicer is Toxiproxy's slicer: it halves [start, end) until the pieces
// are within size_variation of average_size, moving each cut by up to
// ±size_variation. It returns the pieces' bounds in pairs.
func slicer(rnd *rand.Rand, avg, variation, start, end int, out []int) []int {
	if (end-start)-avg <= variation || end-start <= 1 {
		return append(out, start, end)
	}
	mid := start + (end-start)/2
	if variation > 0 {
		mid += rnd.IntN(variation*2) - variation
	}
	mid = min(max(mid, start), end)
	if mid == start || mid == end {
		return append(out, start, end)
	}
	out = slicer(rnd, avg, variation, start, mid, out)
	return slicer(rnd, avg, variation, mid, end, out)
}

// toxicTimers starts, for a connection, the timers of the timeout toxics
// in ts that it has not met yet (their generations not in seen).
func (p *Proxy) toxicTimers(st *connState, ts *Toxics, old *Toxics) {
	if ts == nil {
		return
	}
	for i := range ts.List {
		x := ts.List[i]
		if x.Type != "timeout" || old.has(x.gen) || x.Attributes["timeout"] <= 0 || !st.active(&x, ts.Seed) {
			continue
		}
		d := time.Duration(x.Attributes["timeout"]) * time.Millisecond
		t := time.AfterFunc(d, func() {
			if p.toxics.Load().has(x.gen) {
				p.cut(st, fmt.Sprintf("closed by a fault (timeout toxic after %s)", d), false)
			}
		})
		st.addTimer(t)
	}
}

// toxicsChanged applies a change of toxics to the open connections:
// timeout toxics added start their timers, and a timeout toxic removed
// closes the connections it held, as Toxiproxy's cleanup does.
func (p *Proxy) toxicsChanged(old, cur *Toxics) {
	if old == cur {
		return
	}
	p.mu.Lock()
	states := map[*connState]bool{}
	for _, st := range p.conns {
		states[st] = true
	}
	p.mu.Unlock()
	removed := false
	if old != nil {
		for _, x := range old.List {
			if x.Type == "timeout" && !cur.hasID(x.id) {
				removed = true
			}
		}
	}
	for st := range states {
		if removed {
			p.cut(st, "closed by a fault (its timeout toxic was removed)", false)
			continue
		}
		p.toxicTimers(st, cur, old)
	}
}

// cut ends a connection on a toxic's behalf: both sides closed (reset
// with hard).
func (p *Proxy) cut(st *connState, why string, hard bool) {
	st.cutBy(why)
	st.finish()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		if s == st {
			if hard {
				resetConn(c)
			} else {
				c.Close()
			}
		}
	}
}

// closeAll closes every open connection (a disabled proxy's).
func (p *Proxy) closeAll(why string) {
	p.mu.Lock()
	states := map[*connState]bool{}
	for _, st := range p.conns {
		states[st] = true
	}
	p.mu.Unlock()
	for st := range states {
		p.cut(st, why, false)
	}
}

// sleep waits d, or less when the connection ends first (false).
func (st *connState) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-st.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-st.done:
		return false
	}
}

// finish marks the connection ended: sleeps end, timers stop.
func (st *connState) finish() {
	st.doneOnce.Do(func() { close(st.done) })
	st.tmu.Lock()
	defer st.tmu.Unlock()
	for _, t := range st.timers {
		t.Stop()
	}
	st.timers = nil
}

func (st *connState) addTimer(t *time.Timer) {
	st.tmu.Lock()
	defer st.tmu.Unlock()
	select {
	case <-st.done:
		t.Stop()
		return
	default:
	}
	st.timers = append(st.timers, t)
}

// atStart reports whether toxic id was on the proxy as the connection
// opened.
func (st *connState) atStart(id uint64) bool {
	for _, x := range st.startIDs {
		if x == id {
			return true
		}
	}
	return false
}

func newConnState(serial uint64, ts *Toxics) *connState {
	st := &connState{serial: serial, done: make(chan struct{}), reported: make(chan struct{}), left: make(chan struct{})}
	if ts != nil {
		for _, x := range ts.List {
			st.startIDs = append(st.startIDs, x.id)
		}
	}
	return st
}

// sleepDebt throttles a stream to a rate, Toxiproxy's way: each chunk
// waits for its share of time before it is sent (so the first bytes are
// throttled too), and time slept too long is owed back.
type sleepDebt struct{ owed time.Duration }

// wait sleeps for n bytes at rate bytes a second; false when the
// connection ended meanwhile.
func (s *sleepDebt) wait(st *connState, n int, rate int64) bool {
	s.owed += time.Duration(int64(n) * int64(time.Second) / rate)
	start := time.Now()
	if !st.sleep(s.owed) {
		return false
	}
	s.owed -= time.Since(start)
	return true
}

// sliceOf is how many of n bytes go next through a bandwidth fault of
// rate bytes a second: about 50 ms of the rate, at least a byte, so that
// a slow link streams what it carries (a 20 KB answer at 2 KB/s begins
// at once and ends after 10 s) rather than holding each chunk whole and
// sending it at once after len/rate.
func sliceOf(n int, rate int64) int { return int(min(int64(n), max(rate/20, 1))) }

// hold is wait for a bandwidth fault's slice of n bytes of a chunk read
// at from, as connState.hold tells how it ended (back: the callee's side,
// woken when the caller leaves).
func (s *sleepDebt) hold(st *connState, n int, rate int64, back bool, from time.Time) holdEnd {
	s.owed += time.Duration(int64(n) * int64(time.Second) / rate)
	start := time.Now()
	if e := st.hold(s.owed, back, from); e != holdOver {
		return e
	}
	s.owed -= time.Since(start)
	return holdOver
}

// holder names what holds a stream's bytes: the caller's (connState.upHeld)
// or the callee's (decoder.heldBy).
type holder int32

const (
	heldNot holder = iota
	heldLatencyFault
	heldSlowFault
	heldBandwidthFault
	heldLatencyToxic
	heldBandwidthToxic
	heldSlicerToxic
)

func (h holder) String() string {
	switch h {
	case heldLatencyFault:
		return "a latency fault"
	case heldSlowFault:
		return "a slow fault"
	case heldBandwidthFault:
		return "a bandwidth fault"
	case heldLatencyToxic:
		return "a latency toxic"
	case heldBandwidthToxic:
		return "a bandwidth toxic"
	case heldSlicerToxic:
		return "a slicer toxic"
	}
	return ""
}

// holdEnd is how a hold of a stream's bytes ended (connState.hold).
type holdEnd int8

const (
	holdOver holdEnd = iota // its time passed: the bytes go on
	holdCut                 // the connection ended
	holdLeft                // the caller left: the callee's bytes held reach no one
)

// hold waits d while a fault or toxic (by) holds bytes of a chunk read at
// from. holdCut: the connection ended first. On the callee's side (back),
// holdLeft: the caller left after the chunk came (Proxy.callerEnded), so
// its call is told now, as the fault's doing, not when the hold would
// have ended (in a later test, or after the run). A caller that ended its
// side before the chunk came is held for as any: it may have only
// half-closed it and still read (nc -N). On the caller's side, forward
// notes what holds its bytes (upHeld): a call the caller leaves meanwhile
// is the fault's doing too.
func (st *connState) hold(d time.Duration, back bool, from time.Time) holdEnd {
	if d <= 0 {
		if !st.sleep(0) {
			return holdCut
		}
		return holdOver
	}
	var left <-chan struct{}
	if back {
		left = st.left
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return holdOver
		case <-st.done:
			return holdCut
		case <-left:
			if from.IsZero() || st.leftAt.Load() > from.UnixNano() {
				return holdLeft
			}
			left = nil // it left before the chunk came: held for as any
		}
	}
}

func (x *Toxic) upstream() bool { return strings.EqualFold(x.Stream, "upstream") }

func (x Toxic) String() string {
	s := x.Type + " toxic " + x.Name + " (" + strings.ToLower(x.Stream)
	for _, k := range toxicAttrs[x.Type] {
		s += fmt.Sprintf(", %s %d", k, x.Attributes[k])
	}
	if x.Toxicity < 1 {
		s += fmt.Sprintf(", toxicity %g", x.Toxicity)
	}
	return s + ")"
}

func (t *Toxics) String() string {
	if t == nil {
		return "no toxics"
	}
	var parts []string
	for _, x := range t.List {
		parts = append(parts, x.String())
	}
	return strings.Join(parts, ", ")
}
