package rawsock

import (
	"syscall"
	"unsafe"
)

// supported reports whether rc's descriptor is non-blocking: a raw read
// or write on a blocking one would hold the thread's P while it waits.
func supported(rc syscall.RawConn) bool {
	nonblocking := false
	err := rc.Control(func(fd uintptr) {
		flags, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		nonblocking = errno == 0 && flags&syscall.O_NONBLOCK != 0
	})
	return err == nil && nonblocking
}

// ReadFD reads from the non-blocking descriptor fd into p (not empty)
// without entering the scheduler's system call state, retrying EINTR.
func ReadFD(fd int, p []byte) (int, syscall.Errno) {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// WriteFD writes p (not empty) to the non-blocking descriptor fd without
// entering the scheduler's system call state, retrying EINTR.
func WriteFD(fd int, p []byte) (int, syscall.Errno) {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}
