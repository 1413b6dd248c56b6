//go:build !linux

package wire

import "net"

// unread: see unread_linux.go; elsewhere it is not known (0), and Flush
// waits for the chunks being forwarded alone.
func unread(net.Conn) int { return 0 }

// resetOnWrite: see unread_linux.go; elsewhere a reset shows when a later
// write fails.
func resetOnWrite(net.Conn) bool { return false }

// peerEnded: see unread_linux.go; elsewhere it is not known, and Settle
// finds a caller's end once the proxy has read it.
func peerEnded(net.Conn) bool { return false }
