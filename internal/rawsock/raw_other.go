//go:build !linux

package rawsock

import "syscall"

// supported reports false: raw reads and writes are built for Linux only;
// elsewhere Wrap leaves sockets as they are.
func supported(syscall.RawConn) bool { return false }

// ReadFD reads from fd into p with syscall.Read (the raw path is built
// for Linux only).
func ReadFD(fd int, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(fd, p)
	return n, errnoOf(err)
}

// WriteFD writes p to fd with syscall.Write (the raw path is built for
// Linux only).
func WriteFD(fd int, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(fd, p)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	if err != nil {
		return syscall.EIO
	}
	return 0
}
