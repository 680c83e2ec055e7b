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

// takePong reads one client pong frame from the socket when its bytes
// start with a complete one, and reports whether it did. Call it only at a
// frame boundary with nothing buffered above the socket (see idleWait):
// the library then never sees the frame, and its reader need not run.
func takePong(rc syscall.RawConn) bool {
	var (
		b    [maxPongFrame]byte
		size int
		took bool
	)
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err != nil || n <= 0 {
			return true
		}
		if size = pongFrameSize(b[:n]); size == 0 {
			return true
		}
		m, _, err := syscall.Recvfrom(int(fd), b[:size], syscall.MSG_DONTWAIT)
		took = err == nil && m == size
		return true
	})
	return took
}
