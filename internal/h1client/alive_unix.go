//go:build unix

package h1client

import (
	"net"
	"syscall"
)

// stillOpen reports whether an idle connection is still open with nothing to
// read: a peek that does not wait finds no data and no end of stream. Data on
// an idle connection (a stray response) makes it unusable too.
func stillOpen(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait for readiness
	})
	return err == nil && open
}
