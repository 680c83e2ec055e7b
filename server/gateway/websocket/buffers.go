package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
)

// Sizes of the buffers a connection's github.com/coder/websocket.Conn reads
// and writes through, which it keeps for the connection's life, idle or
// not. net/http's hijacked connection comes with 4 KiB each, half of what
// an idle connection held. A message whose frame fits in the write buffer
// still goes out in one write(2) (fan-out messages are typically far
// smaller); a larger one takes two, as one over 4 KiB did before. The read
// buffer only batches small frames: a payload larger than it is read
// straight into the message.
const (
	readBufferSize  = 512
	writeBufferSize = 1024
)

// smallBuffers returns w with a Hijack that hands the library buffers of
// readBufferSize and writeBufferSize instead of net/http's. Wrap the
// upgrade's ResponseWriter with it (outside a FrameLimiter's wrapper)
// before websocket.Accept.
func smallBuffers(w http.ResponseWriter) http.ResponseWriter {
	return &smallBufferWriter{ResponseWriter: w}
}

// smallBufferWriter is an http.ResponseWriter whose hijacked connection
// has small buffers.
type smallBufferWriter struct {
	http.ResponseWriter
}

// Hijack hijacks the connection and replaces net/http's buffers, which are
// then garbage. Bytes the HTTP server already read ahead (from a client
// that did not wait for the 101) are kept and read first.
func (w *smallBufferWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("websocket: %T cannot be hijacked", w.ResponseWriter)
	}
	conn, brw, err := h.Hijack()
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
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, readBufferSize), bufio.NewWriterSize(conn, writeBufferSize)), nil
}

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
