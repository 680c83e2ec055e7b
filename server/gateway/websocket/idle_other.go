//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package websocket

import "syscall"

// canWait reports whether peekReadable can tell a readable socket: not
// here, so the reader reads at once, as it always did.
const canWait = false

// peekReadable reports true: the reader reads at once.
func peekReadable(uintptr) bool { return true }

// takePong reports false: the library reads pongs.
func takePong(syscall.RawConn) bool { return false }
