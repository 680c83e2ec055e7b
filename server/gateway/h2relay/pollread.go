package h2relay

import (
	"bufio"
	"errors"
	"net"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/http2"

	"github.com/tollgate-gw/tollgate/internal/rawsock"
)

// A connection reader that reads with net.Conn.Read makes two read system
// calls per batch of frames that arrives while it waits: Go's Read resets
// the descriptor's readiness and reads before it parks (the bytes may be
// there already), so after a read that took everything the socket held,
// the reader's next Read finds it empty (EAGAIN), parks, and reads again
// once woken. Half of a connection's reads at concurrency 1 were those
// empty reads.
//
// The reset is what makes that read necessary: an edge of the
// edge-triggered poller that came since the last wait may have been
// dropped with it. Inside one syscall.RawConn.Read call there is no reset
// between the function returning false and the wait: the poller keeps
// any edge since the previous wait (its readiness flag), so a reader that
// knows the socket was empty when it last read (the read returned less
// than it asked for, or EAGAIN) may wait at once, and nothing that
// arrives after that read is missed; a stale flag costs one empty read,
// as before. (Across two RawConn.Read calls that is not so: each starts
// with the reset, and must read first.) So a backend connection's reader
// runs its loop inside RawConn.Read (pollRead) while the frames it needs
// fit in its read buffer, and leaves it for anything else.
//
// Only connections that are sockets themselves can: the backend
// connections the Pool dials in cleartext. Their reads there are raw
// (rawsock.ReadFD), as their Conn's are (the Pool wraps them with
// rawsock.Wrap). A client's connection comes
// from the data port wrapped (connsplit's replay of the sniffed bytes,
// h2guard's count of reset streams, TLS), and reading its socket directly
// would skip what they do.

// sockReader is what a connection's bufio.Reader reads from: the
// connection itself, or, while the connection's reader runs inside the
// socket's RawConn.Read (fd set), the socket's descriptor directly, never
// blocking.
type sockReader struct {
	c  net.Conn
	rc syscall.RawConn // nil: c is not a socket of its own (TLS, pipes)
	fd int             // while inside RawConn.Read: the descriptor, else -1
	// empty is set inside RawConn.Read once a read found the socket empty
	// or took less than it asked for (so emptied it): the reader may
	// then wait for the poller instead of reading again.
	empty bool
	// stopped is set when the connection is being closed: Close waits
	// for the reader to leave RawConn.Read, so it reads no more there.
	stopped atomic.Bool
	// failed is the error a read inside RawConn.Read got (a reset): the
	// socket reports it once, so the next read outside returns it.
	failed error
}

// errWouldBlock is a sockReader's answer inside RawConn.Read when reading
// on would block (or the socket answered anything but bytes: the reader
// then leaves RawConn.Read and reads it again with Conn.Read).
var errWouldBlock = errors.New("h2relay: read would block")

// newSockReader returns a reader of c, which reads c's descriptor itself
// inside RawConn.Read if c is a plain socket.
func newSockReader(c net.Conn) *sockReader {
	r := &sockReader{c: c, fd: -1}
	// Only the socket types themselves: a wrapper that exposes its
	// socket (SyscallConn through an embedded *net.TCPConn) may have
	// bytes of its own to return first, or look at what it reads.
	switch s := c.(type) {
	case *rawsock.Conn:
		r.rc = s.RawConn()
	case *net.TCPConn:
		r.rc, _ = s.SyscallConn()
	case *net.UnixConn:
		r.rc, _ = s.SyscallConn()
	}
	return r
}

// Read reads from the descriptor inside RawConn.Read, else from the
// connection.
func (r *sockReader) Read(p []byte) (int, error) {
	if r.fd < 0 {
		if err := r.failed; err != nil {
			r.failed = nil
			return 0, err
		}
		return r.c.Read(p)
	}
	if r.empty || r.stopped.Load() {
		return 0, errWouldBlock
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, errno := rawsock.ReadFD(r.fd, p)
	switch {
	case errno == syscall.EAGAIN:
		r.empty = true
		return 0, errWouldBlock
	case errno != 0:
		// Reported by the next read outside RawConn.Read.
		r.failed = rawsock.OpError(r.c, "read", errno)
		return 0, errWouldBlock
	case n <= 0:
		// The end: Conn.Read, outside, reads it again and reports it
		// as the net package does.
		return 0, errWouldBlock
	}
	r.empty = n < len(p)
	return n, nil
}

// stop makes the reader leave RawConn.Read at its next read; the
// connection's close calls it before Close (which waits for the reader
// to leave).
func (r *sockReader) stop() { r.stopped.Store(true) }

// pollStep is what a reader's step inside RawConn.Read asks for.
type pollStep int

const (
	pollNext  pollStep = iota // go on reading frames inside
	pollLeave                 // leave RawConn.Read: read the next frame with Conn.Read
	pollStop                  // the reader is done
)

// pollRead runs a connection reader inside the socket's RawConn.Read:
// step handles one frame that is whole in br (it must not read beyond
// it); before waiting for the socket, wait runs (the reader's deferred
// wake-ups). It returns pollLeave when the next frame must be read with
// Conn.Read (it cannot be whole in br, or the socket answered something
// other than bytes or EAGAIN), pollStop when step said so, or the
// error RawConn.Read returned (the connection was closed).
//
// Nothing step or wait calls may close the connection: Close waits for
// the reader to leave RawConn.Read.
func (r *sockReader) pollRead(br *bufio.Reader, step func() pollStep, wait func()) (pollStep, error) {
	res := pollLeave
	err := r.rc.Read(func(fd uintptr) bool {
		// Entered after RawConn.Read reset the readiness, or after a
		// wait: either way the socket must be read before waiting again.
		r.fd, r.empty = int(fd), false
		for {
			if !frameBuffered(br) {
				need := wholeFrameLen(br)
				if need == 0 {
					r.fd, res = -1, pollLeave
					return true
				}
				if _, err := br.Peek(need); err != nil {
					if !errors.Is(err, errWouldBlock) || !r.empty || r.stopped.Load() {
						r.fd, res = -1, pollLeave
						return true
					}
					wait()
					r.fd = -1
					return false
				}
				continue
			}
			if s := step(); s != pollNext {
				r.fd, res = -1, s
				return true
			}
		}
	})
	r.fd = -1
	if err != nil {
		return pollStop, err
	}
	return res, nil
}

// wholeFrameLen is how many bytes br must hold for its next frame to be
// whole: the frame header's 9 until it has them, then the frame's; 0 if
// the frame is not to be waited for whole in br (larger than its buffer
// or than the Framer reads, or a header block that goes on in
// CONTINUATION frames, which the Framer reads on).
func wholeFrameLen(br *bufio.Reader) int {
	if br.Buffered() < frameHeaderLen {
		return frameHeaderLen
	}
	h, _ := br.Peek(frameHeaderLen) // buffered already: no read
	if t := http2.FrameType(h[3]); (t == http2.FrameHeaders || t == http2.FrameContinuation) && h[4]&byte(http2.FlagHeadersEndHeaders) == 0 {
		return 0
	}
	n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if n > defaultMaxFrame || frameHeaderLen+n > br.Size() {
		// Too large to read (the Framer says so) or to hold whole.
		return 0
	}
	return frameHeaderLen + n
}
