package rawload

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/seamtest/seam/bench/internal/measure"
)

// loopConn is one keep-alive connection of loadLoop.
type loopConn struct {
	fd   int
	rnd  *rand.Rand
	call int       // index of the call in flight
	t0   time.Time // when it was sent
	buf  []byte    // what has arrived of its answer
}

// loadLoop is Load as wrk does it: one thread, one epoll set, every
// connection non-blocking. Each answer is read when epoll says it has
// arrived, so no read comes back empty, and no goroutine is parked and
// woken per request: the client's CPU, which a 2-core machine shares with
// the server, is about half of a goroutine-per-connection client's.
func loadLoop(base string, calls []Call, conns, n int, limit time.Duration, seed uint64) Result {
	host := hostOf(base)
	reqs := make([][]byte, len(calls))
	for i, c := range calls {
		reqs[i] = onWire(host, c)
	}
	addr, err := net.ResolveTCPAddr("tcp4", host)
	measure.Check(err)
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	measure.Check(err)
	defer syscall.Close(ep)
	cs := make([]*loopConn, conns)
	byFD := map[int]*loopConn{}
	for w := range cs {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		measure.Check(err)
		defer syscall.Close(fd)
		measure.Check(syscall.Connect(fd, sa))
		measure.Check(syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1))
		measure.Check(syscall.SetNonblock(fd, true))
		measure.Check(syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}))
		c := &loopConn{fd: fd, rnd: rand.New(rand.NewPCG(seed, uint64(w))), buf: make([]byte, 0, 64<<10)}
		cs[w], byFD[fd] = c, c
	}
	lat := make([]time.Duration, 0, n)
	sent, inFlight := 0, 0
	start := time.Now()
	deadline := start.Add(limit)
	send := func(c *loopConn) error {
		c.call = c.rnd.IntN(len(calls))
		c.t0 = time.Now()
		sent++
		inFlight++
		for b := reqs[c.call]; len(b) > 0; {
			k, err := syscall.Write(c.fd, b)
			if err == syscall.EINTR || err == syscall.EAGAIN {
				continue // a request is far smaller than a fresh socket's buffer; this is rare
			}
			if err != nil {
				return err
			}
			b = b[k:]
		}
		return nil
	}
	fail := func(c *loopConn, err error) {
		call := calls[c.call]
		measure.Check(fmt.Errorf("%s: a wrong answer: %s %s: %v", base, call.Method, call.Path, err))
	}
	for _, c := range cs {
		if sent < n {
			if err := send(c); err != nil {
				fail(c, err)
			}
		}
	}
	events := make([]syscall.EpollEvent, conns)
	var body bytes.Buffer
	for inFlight > 0 {
		k, err := syscall.EpollWait(ep, events, 1000)
		if err == syscall.EINTR {
			continue
		}
		measure.Check(err)
		if k == 0 && time.Now().After(deadline.Add(10*time.Second)) {
			measure.Check(fmt.Errorf("%s: %d answers still missing 10 s after the round's end", base, inFlight))
		}
		for _, ev := range events[:k] {
			c := byFD[int(ev.Fd)]
			for {
				if len(c.buf) == cap(c.buf) {
					c.buf = append(c.buf, 0)[:len(c.buf)]
				}
				r, err := syscall.Read(c.fd, c.buf[len(c.buf):cap(c.buf)])
				if err == syscall.EINTR {
					continue
				}
				if err == syscall.EAGAIN {
					break
				}
				if err != nil {
					fail(c, err)
				}
				if r == 0 {
					fail(c, errors.New("the server closed the connection"))
				}
				c.buf = c.buf[:len(c.buf)+r]
				if len(c.buf) < cap(c.buf) {
					break // the socket is drained
				}
			}
			status, used, err := parseAnswer(c.buf, &body)
			if err != nil {
				fail(c, err)
			}
			if used == 0 {
				continue // not all of it yet
			}
			lat = append(lat, time.Since(c.t0))
			inFlight--
			call := calls[c.call]
			if status != call.Status || (call.Want != nil && !bytes.Equal(body.Bytes(), call.Want)) {
				fail(c, fmt.Errorf("status %d (want %d), body %.80q", status, call.Status, body.Bytes()))
			}
			if used != len(c.buf) {
				fail(c, errors.New("more bytes than one answer: one request was sent"))
			}
			c.buf = c.buf[:0]
			if sent < n && time.Now().Before(deadline) {
				if err := send(c); err != nil {
					fail(c, err)
				}
			}
		}
	}
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return Result{RPS: float64(len(lat)) / elapsed.Seconds(), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], N: len(lat)}
}
