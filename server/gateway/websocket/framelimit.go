package websocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// ReasonFrameTooBig is the close reason of a frame over the stage's
// maximum frame size.
const ReasonFrameTooBig = "frame too big"

// errFrameTooBig is what the reader sees after a frame over the limit.
var errFrameTooBig = errors.New("websocket: frame larger than the maximum frame size")

// FrameLimiter enforces a maximum frame size on the client's side of a
// connection, which github.com/coder/websocket does not do itself (it
// limits whole messages only). Wrap the upgrade's ResponseWriter with
// [FrameLimiter.Wrap] before websocket.Accept: the hijacked connection's
// bytes then pass a frame-header scanner (a few bytes of state, no
// buffering). A frame announcing more than the limit closes the connection
// with 1009 (message too big), reason "frame too big", before its payload
// is read.
type FrameLimiter struct {
	max          int64
	conn         *Conn // set by Attach, before any read
	violated     atomic.Bool
	closed       chan struct{} // the connection is closed
	closeWritten chan struct{} // the close frame is written
	onceViolated sync.Once
	onceClosed   sync.Once
	onceWritten  sync.Once

	// scanner state
	hdr         [14]byte
	hn          int
	payloadLeft uint64
}

// NewFrameLimiter returns a limiter of frames to max bytes of payload.
func NewFrameLimiter(max int64) *FrameLimiter {
	return &FrameLimiter{max: max, closed: make(chan struct{}), closeWritten: make(chan struct{})}
}

// Attach names the connection closed on a violation. Call it before the
// upgrade: the reader starts after.
func (f *FrameLimiter) Attach(c *Conn) { f.conn = c }

// Wrap returns w with a Hijack that scans what the client sends.
func (f *FrameLimiter) Wrap(w http.ResponseWriter) http.ResponseWriter {
	return &limitedWriter{ResponseWriter: w, f: f}
}

// limitedWriter is an http.ResponseWriter whose hijacked connection is
// frame-limited.
type limitedWriter struct {
	http.ResponseWriter
	f *FrameLimiter
}

// Hijack hijacks the connection and wraps it. Bytes the HTTP server
// already buffered are scanned too, so the scanner starts at a frame
// boundary.
func (w *limitedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := hijack(w.ResponseWriter)
	if err != nil {
		return nil, nil, err
	}
	if b, _ := brw.Reader.Peek(brw.Reader.Buffered()); !w.f.scan(b) {
		w.f.violated.Store(true)
	}
	lc := &limitedConn{Conn: conn, f: w.f}
	// Writes go through lc too, so that it sees the close frame.
	if err := brw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	brw.Writer.Reset(lc)
	return lc, brw, nil
}

// limitedConn scans what is read from the client.
type limitedConn struct {
	net.Conn
	f *FrameLimiter
}

// Read reads and scans. After a violation it reads nothing more: it starts
// closing the connection with 1009 and, once the close frame is written,
// fails.
func (c *limitedConn) Read(p []byte) (int, error) {
	f := c.f
	if !f.violated.Load() {
		n, err := c.Conn.Read(p)
		if f.scan(p[:n]) {
			return n, err
		}
		f.violated.Store(true)
	}
	f.onceViolated.Do(func() { go f.conn.Close(websocket.StatusMessageTooBig, ReasonFrameTooBig) })
	t := time.NewTimer(closeFrameWait)
	defer t.Stop()
	select {
	case <-f.closeWritten:
	case <-f.closed:
	case <-t.C:
	}
	return 0, errFrameTooBig
}

// Buffered returns 0, as the scanner holds no bytes, or 1 after a
// violation, so that the reader reads at once and fails.
func (c *limitedConn) Buffered() int {
	if c.f.violated.Load() {
		return 1
	}
	return 0
}

// NetConn returns the scanned connection.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

// closeFrameWait bounds how long a violated reader waits for the close
// frame to be written.
const closeFrameWait = 5 * time.Second

// Write writes, noting the close frame (FIN and opcode 8, unmasked) once a
// violation is being closed.
func (c *limitedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if len(p) > 0 && p[0] == 0x88 && c.f.violated.Load() {
		c.f.onceWritten.Do(func() { close(c.f.closeWritten) })
	}
	return n, err
}

// Close closes the connection and unblocks a violated reader.
func (c *limitedConn) Close() error {
	c.f.onceClosed.Do(func() { close(c.f.closed) })
	return c.Conn.Close()
}

// scan advances the frame scanner over b; it reports false when a frame
// header announces a payload over the limit.
func (f *FrameLimiter) scan(b []byte) bool {
	for len(b) > 0 {
		if f.payloadLeft > 0 {
			k := min(uint64(len(b)), f.payloadLeft)
			f.payloadLeft -= k
			b = b[k:]
			continue
		}
		f.hdr[f.hn] = b[0]
		f.hn++
		b = b[1:]
		if f.hn < 2 {
			continue
		}
		l7 := f.hdr[1] & 0x7f
		need := 2
		switch l7 {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if f.hdr[1]&0x80 != 0 {
			need += 4 // masking key
		}
		if f.hn < need {
			continue
		}
		length := uint64(l7)
		switch l7 {
		case 126:
			length = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(f.hdr[2:10])
		}
		f.hn = 0
		if length > uint64(f.max) {
			return false
		}
		f.payloadLeft = length
	}
	return true
}
