package websocket

import (
	"bufio"
	"net"
	"syscall"
)

// idleWait lets a connection's reader wait for the client's next bytes
// before calling the library's Read, which parks deep in its stack (bufio,
// the library's wrappers, net, poll) with a buffer in use: a goroutine
// parked that deep keeps a 4 KiB stack for good, as the GC halves a stack
// only when less than a quarter of it is in use. Waiting on the socket's
// readiness instead parks a few frames deep and holds no buffer.
//
// Waiting is only correct when no byte the client sent is held between the
// socket and the library: the library's bufio.Reader, the pooledReader
// under it, and every wrapper below (read-ahead, connsplit's replayed
// sniff, PROXY header reader, ...). Each wrapper says so with Buffered and
// leads further down with NetConn; a wrapper that does not (a *tls.Conn,
// which may hold a decrypted record) ends the search and the reader reads
// at once, as before.
type idleWait struct {
	br   *bufio.Reader // the library's
	conn net.Conn      // what br reads from
}

// bufferedConn is a connection wrapper that can say whether it holds bytes
// read from the connection it wraps but not yet returned.
type bufferedConn interface {
	Buffered() int
	NetConn() net.Conn
}

// rawConn returns the socket to wait on, or nil when some bytes are
// already buffered or the socket cannot be reached. Call it only while
// nothing reads the connection.
func (w *idleWait) rawConn() syscall.RawConn {
	if w == nil || !canWait || w.br.Buffered() > 0 {
		return nil
	}
	c := w.conn
	for range 16 {
		switch t := c.(type) {
		case bufferedConn:
			if t.Buffered() > 0 {
				return nil
			}
			c = t.NetConn()
		case *net.TCPConn:
			rc, err := t.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		case *net.UnixConn:
			rc, err := t.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		default:
			return nil
		}
	}
	return nil
}

// waitReadable blocks until rc is readable, at end of stream, closed or
// failed. Errors are left to the Read that follows.
func waitReadable(rc syscall.RawConn) {
	// The first call of peekReadable returns false only when nothing can
	// be read: the poller then parks the goroutine until the socket
	// becomes readable (edge-triggered, so the peek must come first).
	_ = rc.Read(peekReadable)
}
