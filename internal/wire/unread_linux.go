//go:build linux

package wire

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unread is how many bytes c has received that nobody has read yet (the
// socket's receive queue), 0 when that cannot be known.
func unread(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n
}

// resetOnWrite reports whether c's peer reset the connection: a caller
// that closed its side for reading too answers the proxy's write with a
// reset, one that only half-closed reads on. On loopback, where callers
// reach the wire, the reset is taken in before the write returns (the
// kernel hands the segment to the peer and its answer back at once), so
// one look right after the write tells.
func resetOnWrite(c net.Conn) bool {
	if r, ok := c.(*replayConn); ok {
		c = r.Conn // accepted while a fault answers (serveFaulted)
	}
	st, ok := tcpState(c)
	return ok && st == tcpClose
}

// tcpClose is TCP_CLOSE of the kernel's TCP states (include/net/tcp_states.h):
// the state a reset leaves a connection in.
const tcpClose = 7

// peerEnded reports whether c's peer ended its side of the connection
// (the kernel took its FIN or reset) and the proxy has not closed c yet.
func peerEnded(c net.Conn) bool {
	st, ok := tcpState(c)
	return ok && (st == tcpCloseWait || st == tcpClose)
}

// tcpState is c's TCP state (TCP_INFO's), ok when it could be read.
func tcpState(c net.Conn) (state uint8, ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	rc.Control(func(fd uintptr) {
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state, ok = ti.State, true
		}
	})
	return state, ok
}

// tcpCloseWait is TCP_CLOSE_WAIT (include/net/tcp_states.h): the peer
// sent its FIN, this side has not closed.
const tcpCloseWait = 8
