//go:build linux || darwin || freebsd || netbsd || openbsd

package websocket

import "syscall"

// canWait reports whether peekReadable can tell a readable socket.
const canWait = true

// peekReadable reports whether fd has bytes to read (or its end, or an
// error), without taking them: a one-byte MSG_PEEK that does not block.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
