package h2guard

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTooManyResets is the error of reads and writes on a connection that
// was ended for resetting too many streams.
var ErrTooManyResets = errors.New("h2guard: the client reset too many streams")

// clientPreface starts every HTTP/2 client connection (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	frameHeaderLen  = 9
	frameRSTStream  = 0x3
	frameGoAway     = 0x7
	errEnhanceCalm  = 0xb
	goAwayDebugData = "too many stream resets"
)

// Limit is how many streams a client may reset on one connection: Burst
// at once, refilled at Burst/10 per second.
type Limit struct {
	Burst int
}

// Conn is a server-side HTTP/2 connection that ends itself when its client
// resets streams faster than its Limit. Every byte the client sends,
// preface included, must be read through it, and every byte the server
// sends written through it.
type Conn struct {
	net.Conn
	limit   Limit
	onLimit func() // called once when the connection is ended; may be nil

	// Read side: only the reading goroutine touches these.
	in     frameScanner
	tokens float64
	last   time.Time

	// Write side, also taken by the reader to send GOAWAY.
	wmu     sync.Mutex
	out     frameScanner
	pending atomic.Bool // GOAWAY waits for the end of the server's current frame
	ended   atomic.Bool
}

// New returns c guarded by limit. onLimit (may be nil) is called once if
// the connection is ended, for metrics and logs.
func New(c net.Conn, limit Limit, onLimit func()) *Conn {
	return &Conn{
		Conn: c, limit: limit, onLimit: onLimit,
		in:     frameScanner{skip: len(clientPreface)},
		tokens: float64(limit.Burst),
		last:   time.Now(),
	}
}

// Read reads what the client sent and counts its stream resets.
func (c *Conn) Read(p []byte) (int, error) {
	if c.ended.Load() {
		return 0, ErrTooManyResets
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.limit.Burst > 0 {
		resets := c.in.scan(p[:n], frameRSTStream)
		if resets > 0 && !c.allow(resets) {
			c.end()
			return 0, ErrTooManyResets
		}
	}
	return n, err
}

// allow takes n tokens, refilling the bucket for the time passed.
func (c *Conn) allow(n int) bool {
	now := time.Now()
	burst := float64(c.limit.Burst)
	c.tokens = min(burst, c.tokens+now.Sub(c.last).Seconds()*burst/10)
	c.last = now
	c.tokens -= float64(n)
	return c.tokens >= 0
}

// end sends GOAWAY as soon as the server is between frames, and closes the
// connection.
func (c *Conn) end() {
	// Pending before ended, so that no Write sees the connection ended
	// without a GOAWAY to send.
	c.pending.Store(true)
	if c.ended.Swap(true) {
		return
	}
	if c.onLimit != nil {
		c.onLimit()
	}
	// The server may be in the middle of a frame, or blocked writing to a
	// client that does not read: then the Write that ends the frame sends
	// GOAWAY. The connection is closed after a moment in any case, which
	// also ends a blocked Write.
	time.AfterFunc(time.Second, func() { _ = c.Conn.Close() })
	if !c.wmu.TryLock() {
		return
	}
	defer c.wmu.Unlock()
	if c.out.atBoundary() {
		c.goAwayLocked()
	}
}

// goAwayLocked writes GOAWAY(ENHANCE_YOUR_CALM) and closes the connection.
func (c *Conn) goAwayLocked() {
	c.pending.Store(false)
	f := make([]byte, frameHeaderLen+8+len(goAwayDebugData))
	binary.BigEndian.PutUint32(f[0:4], uint32(8+len(goAwayDebugData))<<8) // length, 24 bits
	f[3] = frameGoAway
	// Flags 0, stream 0; last stream ID 0 would claim no stream was
	// processed: report the highest one the client opened instead.
	binary.BigEndian.PutUint32(f[13:17], errEnhanceCalm)
	binary.BigEndian.PutUint32(f[9:13], c.in.maxStream&0x7fffffff)
	copy(f[17:], goAwayDebugData)
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(f)
	_ = c.Conn.Close()
}

// Write writes what the server sends, tracking its frame boundaries.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ended.Load() && !c.pending.Load() {
		return 0, ErrTooManyResets
	}
	n, err := c.Conn.Write(p)
	c.out.scan(p[:n], 0)
	if c.pending.Load() && c.out.atBoundary() {
		c.goAwayLocked()
	}
	return n, err
}

// frameScanner follows the frame boundaries of one direction of an
// HTTP/2 connection.
type frameScanner struct {
	skip      int // bytes to pass before the next frame header
	hdr       [frameHeaderLen]byte
	hdrN      int    // bytes of hdr filled
	maxStream uint32 // the highest stream ID a counted frame carried
}

// scan passes b and returns how many frames of type typ started in it (0
// counts nothing).
func (s *frameScanner) scan(b []byte, typ byte) int {
	count := 0
	for len(b) > 0 {
		if s.skip > 0 {
			k := min(s.skip, len(b))
			s.skip -= k
			b = b[k:]
			continue
		}
		k := copy(s.hdr[s.hdrN:], b)
		s.hdrN += k
		b = b[k:]
		if s.hdrN < frameHeaderLen {
			break
		}
		s.hdrN = 0
		length := int(s.hdr[0])<<16 | int(s.hdr[1])<<8 | int(s.hdr[2])
		s.skip = length
		if typ != 0 && s.hdr[3] == typ {
			count++
			if id := binary.BigEndian.Uint32(s.hdr[5:9]) & 0x7fffffff; id > s.maxStream {
				s.maxStream = id
			}
		}
	}
	return count
}

// atBoundary reports whether the scanner is between two frames.
func (s *frameScanner) atBoundary() bool { return s.skip == 0 && s.hdrN == 0 }
