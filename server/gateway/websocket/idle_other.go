//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package websocket

// canWait reports whether peekReadable can tell a readable socket: not
// here, so the reader reads at once, as it always did.
const canWait = false

// peekReadable reports true: the reader reads at once.
func peekReadable(uintptr) bool { return true }
