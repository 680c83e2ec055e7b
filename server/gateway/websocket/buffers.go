package websocket

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sizes of the buffers a connection's github.com/coder/websocket.Conn reads
// and writes through. net/http's hijacked connection comes with 4 KiB
// each, half of what an idle connection held. The library keeps its
// bufio.Writer for the connection's life: a message whose frame fits in
// it still goes out in one write(2) (fan-out messages are typically far
// smaller); a larger one takes two, as one over 4 KiB did before. Its
// bufio.Reader gets the smallest buffer bufio allows, over a pooledReader
// that borrows a readBufferSize buffer from a pool only while it holds
// bytes not yet read: an idle connection holds no read buffer. A payload
// larger than the buffer is read straight into the message.
const (
	readBufferSize  = 512
	writeBufferSize = 1024
	// libraryReadBufferSize is bufio's minimum: the library's frame
	// headers and small reads pass through it.
	libraryReadBufferSize = 16
)

// readBuffers is a pool of read buffers shared by a Registry's
// connections.
type readBuffers struct{ pool sync.Pool }

// get returns a buffer.
func (p *readBuffers) get() *[readBufferSize]byte {
	if b, ok := p.pool.Get().(*[readBufferSize]byte); ok {
		return b
	}
	return new([readBufferSize]byte)
}

// put returns a buffer to the pool.
func (p *readBuffers) put(b *[readBufferSize]byte) { p.pool.Put(b) }

// smallBuffers returns w with a Hijack that hands the library small
// buffers instead of net/http's, the read buffer borrowed from bufs. Wrap
// the upgrade's ResponseWriter with it (outside a FrameLimiter's wrapper)
// before websocket.Accept; after the upgrade, its idle method returns what
// the connection's reader waits with.
func smallBuffers(w http.ResponseWriter, bufs *readBuffers) *smallBufferWriter {
	return &smallBufferWriter{ResponseWriter: w, bufs: bufs}
}

// smallBufferWriter is an http.ResponseWriter whose hijacked connection
// has small buffers.
type smallBufferWriter struct {
	http.ResponseWriter
	bufs   *readBuffers
	hijack *idleWait // set by Hijack
}

// Hijack hijacks the connection and replaces net/http's buffers, which are
// then garbage. Bytes the HTTP server already read ahead (from a client
// that did not wait for the 101) are kept and read first.
func (w *smallBufferWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := hijack(w.ResponseWriter)
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("websocket: flushing the upgrade response: %w", err)
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: conn, prefix: bytes.Clone(b)}
	}
	pr := &pooledReader{Conn: conn, bufs: w.bufs, direct: overTLS(conn)}
	br := bufio.NewReaderSize(pr, libraryReadBufferSize)
	w.hijack = &idleWait{br: br, pr: pr}
	// The library reads from the bufio.Reader (which it resets to read
	// from the returned connection) and writes through the bufio.Writer.
	return pr, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, writeBufferSize)), nil
}

// idle returns what the connection's reader waits with, nil before Hijack.
func (w *smallBufferWriter) idle() *idleWait { return w.hijack }

// prefixConn returns bytes read ahead before reading on.
type prefixConn struct {
	net.Conn
	prefix []byte // nil once returned, so that it is freed
}

// Read returns the bytes read ahead first.
func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// Buffered returns how many bytes read ahead are still to be returned.
func (c *prefixConn) Buffered() int { return len(c.prefix) }

// NetConn returns the connection read from after the prefix.
func (c *prefixConn) NetConn() net.Conn { return c.Conn }

// pooledReader reads through a buffer borrowed from a pool while it holds
// bytes not yet returned, and given back as soon as they are: the small
// reads of the library's bufio.Reader still cost one read(2) per
// readBufferSize bytes, but an idle connection holds no buffer.
//
// Over TLS it reads straight through: the *tls.Conn keeps the decrypted
// record itself, so small reads cost no read(2) anyway. It borrows a buffer
// only for the connection's reader (see idleWait): drainNow takes what the
// tls.Conn already holds without waiting, fill what the socket has, and
// they keep it for the next Read.
type pooledReader struct {
	net.Conn
	bufs   *readBuffers
	direct bool // a *tls.Conn is under Conn: no buffer for the library's reads

	// mu serializes the library's reads (which hold it while they wait)
	// with the reader's drainNow and fill: the library's close handshake
	// may read from another goroutine.
	mu      sync.Mutex
	buf     *[readBufferSize]byte // borrowed while rest is not empty
	rest    []byte                // bytes of buf not yet returned
	err     error                 // drainNow's or fill's, returned after rest
	drained bool                  // drainNow found nothing, and nothing was read since
}

// Read returns buffered bytes first; a read at least as large as the
// buffer reads straight into p.
func (c *pooledReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rest) == 0 {
		if err := c.err; err != nil {
			c.err = nil
			return 0, err
		}
		c.drained = false
		if c.direct || len(p) >= readBufferSize {
			return c.Conn.Read(p)
		}
		b := c.bufs.get()
		n, err := c.Conn.Read(b[:])
		if n == 0 {
			c.bufs.put(b)
			return 0, err
		}
		c.buf, c.rest = b, b[:n]
		if err != nil && n <= len(p) {
			// Everything read fits: return the error with it.
			n = copy(p, c.rest)
			c.release()
			return n, err
		}
		// An error with more bytes than fit is read again on the next
		// Read, as net.Conn errors are.
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	if len(c.rest) == 0 {
		c.release()
	}
	return n, nil
}

// release returns the buffer to the pool.
func (c *pooledReader) release() {
	c.bufs.put(c.buf)
	c.buf, c.rest = nil, nil
}

// Buffered returns how many bytes read are still to be returned, or 1 when
// only an error is, or while a Read is under way, so that the reader reads
// at once (rather than wait for that Read).
func (c *pooledReader) Buffered() int {
	if !c.mu.TryLock() {
		return 1
	}
	defer c.mu.Unlock()
	if len(c.rest) == 0 && c.err != nil {
		return 1
	}
	return len(c.rest)
}

// NetConn returns the connection read from.
func (c *pooledReader) NetConn() net.Conn { return c.Conn }

// aLongTimeAgo is a read deadline that has passed: a read fails at once
// rather than wait for the socket (as net/http aborts its background read).
var aLongTimeAgo = time.Unix(1, 0)

// drainNow reads, without waiting for the socket, what the connections
// between it and the socket hold: a *tls.Conn's decrypted bytes and whole
// records it read ahead, which a wait on the socket would not see. A read
// whose deadline has passed returns those, or fails with a timeout before
// it would read the socket (a timeout does not fail a tls.Conn for good).
// Bytes read are kept for the next Read, as is an error other than the
// timeout; with neither, the connection holds nothing above its socket
// but, at most, part of a record, whose rest the socket will bring (see
// tlsDrained). It returns at once if a Read is under way.
//
// The read deadline is cleared afterwards: the library's reads have none.
func (c *pooledReader) drainNow() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	if len(c.rest) > 0 || c.err != nil {
		return
	}
	if err := c.Conn.SetReadDeadline(aLongTimeAgo); err != nil {
		return
	}
	b := c.bufs.get()
	n, err := c.Conn.Read(b[:])
	_ = c.Conn.SetReadDeadline(time.Time{})
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	if n > 0 {
		c.buf, c.rest = b, b[:n]
	} else {
		c.bufs.put(b)
	}
	if !timedOut {
		c.err = err
	}
	c.drained = n == 0 && timedOut
}

// tlsDrained reports whether drainNow found nothing and nothing has been
// read since.
func (c *pooledReader) tlsDrained() bool {
	if !c.mu.TryLock() {
		return false // a Read is under way
	}
	defer c.mu.Unlock()
	return c.drained && len(c.rest) == 0 && c.err == nil
}

// fill reads, waiting for it, what the client sends next (over TLS, at
// least the plaintext of one record, up to the buffer's size) and keeps it
// for the next Read, with any error.
func (c *pooledReader) fill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rest) > 0 || c.err != nil {
		return
	}
	c.drained = false
	b := c.bufs.get()
	n, err := c.Conn.Read(b[:])
	if n > 0 {
		c.buf, c.rest = b, b[:n]
	} else {
		c.bufs.put(b)
	}
	c.err = err
}

// takePong drops a complete client pong frame from the front of the
// buffered bytes, and reports whether it did. Call it only at a frame
// boundary with nothing buffered above (see idleWait).
func (c *pooledReader) takePong() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := pongFrameSize(c.rest)
	if size == 0 {
		return false
	}
	c.rest = c.rest[size:]
	if len(c.rest) == 0 {
		c.release()
	}
	return true
}

// overTLS reports whether a *tls.Conn is under conn, through wrappers that
// lead down with NetConn.
func overTLS(conn net.Conn) bool {
	for range 16 {
		switch t := conn.(type) {
		case *tls.Conn:
			return true
		case interface{ NetConn() net.Conn }:
			conn = t.NetConn()
		default:
			return false
		}
	}
	return false
}

// hijack takes over the connection under w; the wrappers of the upgrade's
// ResponseWriter start their Hijack with it.
func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("websocket: %T cannot be hijacked", w)
	}
	return h.Hijack()
}
