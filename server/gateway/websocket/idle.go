package websocket

import (
	"bufio"
	"crypto/tls"
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
// leads further down with NetConn; a wrapper that does not ends the search
// and the reader reads at once, as before.
//
// A *tls.Conn cannot say so: it may hold decrypted bytes, and whole records
// read past the one it decrypted. The pooledReader's drainNow takes those
// without waiting for the socket; once it has found none, only part of a
// record can be left in the tls.Conn, whose rest must come from the socket,
// and the search goes on under it. When the socket becomes readable, the
// reader decrypts what came with fill, so that it can take a keepalive pong
// itself (as takePong does on a plain socket).
type idleWait struct {
	br *bufio.Reader   // the library's
	pr *pooledReader   // what br reads from
	rc syscall.RawConn // the socket, once found (it is the connection's for good)
}

// bufferedConn is a connection wrapper that can say whether it holds bytes
// read from the connection it wraps but not yet returned.
type bufferedConn interface {
	Buffered() int
	NetConn() net.Conn
}

// rawConn returns the socket to wait on, or nil when some bytes are
// already buffered or the socket cannot be reached. drain reports that a
// *tls.Conn is in the way and may hold bytes: call the pooledReader's
// drainNow, then rawConn again. Call it only while nothing reads the
// connection.
func (w *idleWait) rawConn() (rc syscall.RawConn, drain bool) {
	if w == nil || !canWait || w.br.Buffered() > 0 {
		return nil, false
	}
	var c net.Conn = w.pr
	for range 16 {
		switch t := c.(type) {
		case *tls.Conn:
			if !w.pr.tlsDrained() {
				return nil, true
			}
			c = t.NetConn()
		case bufferedConn:
			if t.Buffered() > 0 {
				return nil, false
			}
			c = t.NetConn()
		case *net.TCPConn:
			return w.socket(t), false
		case *net.UnixConn:
			return w.socket(t), false
		default:
			return nil, false
		}
	}
	return nil, false
}

// socket returns the socket's RawConn, found once (SyscallConn allocates).
func (w *idleWait) socket(c syscall.Conn) syscall.RawConn {
	if w.rc == nil {
		rc, err := c.SyscallConn()
		if err != nil {
			return nil
		}
		w.rc = rc
	}
	return w.rc
}

// overTLS reports whether the reader reads through a *tls.Conn.
func (w *idleWait) overTLS() bool { return w != nil && w.pr.direct }

// waitReadable blocks until rc is readable, at end of stream, closed or
// failed. Errors are left to the Read that follows.
func waitReadable(rc syscall.RawConn) {
	// The first call of peekReadable returns false only when nothing can
	// be read: the poller then parks the goroutine until the socket
	// becomes readable (edge-triggered, so the peek must come first).
	_ = rc.Read(peekReadable)
}

// maxPongFrame is the size of the largest client pong frame: a 2-byte
// header, a 4-byte mask and at most 125 bytes of payload (RFC 6455 section
// 5.5).
const maxPongFrame = 2 + 4 + 125

// pongFrameSize returns the size of the client pong frame b starts with,
// or 0 if b does not start with a complete one: FIN and opcode 0xA,
// masked, as a client's frames are, with a 7-bit length.
func pongFrameSize(b []byte) int {
	if len(b) < 2 || b[0] != 0x8A || b[1]&0x80 == 0 || b[1]&0x7F > 125 {
		return 0
	}
	if size := 6 + int(b[1]&0x7F); len(b) >= size {
		return size
	}
	return 0 // not all here: the library reads it
}
