package h2relay

import (
	"bufio"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Limits of the HTTP/2 connections on both sides.
const (
	// initialWindow is HTTP/2's initial flow-control window (RFC 9113
	// section 6.9.2), which holds until SETTINGS say otherwise.
	initialWindow = 65535
	// defaultMaxFrame is HTTP/2's initial SETTINGS_MAX_FRAME_SIZE; the
	// gateway reads no larger frames and writes no larger DATA.
	defaultMaxFrame = 16384
	// maxHeaderList bounds a decoded header block, as net/http's default
	// (1 MiB): larger ones end the connection.
	maxHeaderList = 1 << 20
	// writeBuffer is the size of a connection's write buffer: frames
	// written while another writer holds the connection are batched into
	// one system call.
	writeBuffer = 32 << 10
)

// frameWriter serializes the frames written to one connection. Writers
// queue on a mutex; the last one out flushes, so frames written by several
// streams at once leave in one system call (as grpc-go's write loop batches
// them), without a goroutine of its own.
type frameWriter struct {
	mu       sync.Mutex
	waiting  atomic.Int32
	flushers atomic.Int32 // callers of flush not yet past their check
	bw       *bufio.Writer
	fr       *http2.Framer
	henc     *hpackEncoder
	hbuf     []byte // the last header block
	// maxFrame is the peer's SETTINGS_MAX_FRAME_SIZE.
	maxFrame atomic.Uint32
	err      error // the first write error; the connection is then dead
	dirty    bool  // corked writes wait in bw for a flush
	// sentData is set when a stream's headers or data are written
	// (keepalive enforcement forgives pings then).
	sentData atomic.Bool
	// out holds DATA frames relayed by backend connections' readers,
	// moved into bw by every write and flush first (see outbox).
	out outbox
}

// newFramer returns a Framer reading from c and writing into w's buffer,
// and the buffered reader it reads from; the returned reader decodes
// header blocks.
func newFramer(c net.Conn, w *frameWriter, headerList uint32) (*frameReader, *bufio.Reader) {
	return newFramerSize(c, c, w, headerList, 16<<10)
}

// newFramerSize is newFramer with a read buffer of readBuf bytes, filled
// from src (c or a reader of it).
func newFramerSize(c net.Conn, src io.Reader, w *frameWriter, headerList uint32, readBuf int) (*frameReader, *bufio.Reader) {
	bw := bufio.NewWriterSize(c, writeBuffer)
	br := bufio.NewReaderSize(src, readBuf)
	fr := http2.NewFramer(bw, br)
	fr.MaxHeaderListSize = headerList
	fr.SetMaxReadFrameSize(defaultMaxFrame)
	// DATA frames are copied out before the next read.
	fr.SetReuseFrames()
	w.bw, w.fr = bw, fr
	w.henc = newHPACKEncoder()
	w.maxFrame.Store(defaultMaxFrame)
	return newFrameReader(fr, br, headerList), br
}

// maxDeferred bounds how many frames a connection reader handles before
// it wakes the goroutines its frames concern, on a busy connection whose
// read buffer keeps holding whole frames.
const maxDeferred = 8

// wakeups are the channels a connection reader wakes once it has handled
// the whole frames it had already read: a goroutine woken for each frame
// of a call that arrived in one read (a request's HEADERS and DATA, a
// response's HEADERS, DATA and trailers) would run, find part of the
// call, sleep and be woken again, each time handed to another thread.
//
// The reader's own answers (PING acknowledgements, connection
// WINDOW_UPDATEs) wait in the write buffer until then too (acks): they
// then leave after the wake-ups, off the call's path, or with the frames a
// woken goroutine writes meanwhile, instead of in a system call of their
// own before the call's frames are even looked at.
type wakeups struct {
	chans  []chan struct{}
	owners []*Stream // the stream whose goroutine each channel wakes, or nil
	frames int
	acks   bool // the reader corked frames of its own
}

// pending reports whether anything waits for the reader's next wake-up.
func (w *wakeups) pending() bool { return len(w.chans) > 0 || w.acks }

// add defers waking c, on which the goroutine of st (if not nil) waits.
func (w *wakeups) add(c chan struct{}, st *Stream) {
	for _, d := range w.chans {
		if d == c {
			return
		}
	}
	w.chans = append(w.chans, c)
	w.owners = append(w.owners, st)
}

// due reports whether the reader must wake them now: its next frame is
// not whole in br (reading it may block), or it has deferred long enough.
func (w *wakeups) due(br *bufio.Reader) bool {
	w.frames++
	return w.frames >= maxDeferred || !frameBuffered(br)
}

// frameBuffered reports whether br holds a whole frame, so that reading
// it will not block.
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < frameHeaderLen {
		return false
	}
	h, _ := br.Peek(frameHeaderLen) // buffered already: no read
	if t := http2.FrameType(h[3]); (t == http2.FrameHeaders || t == http2.FrameContinuation) && h[4]&byte(http2.FlagHeadersEndHeaders) == 0 {
		// ReadFrame goes on to read the CONTINUATION frames.
		return false
	}
	return n >= frameHeaderLen+(int(h[0])<<16|int(h[1])<<8|int(h[2]))
}

// frameHeaderLen is the size of an HTTP/2 frame header.
const frameHeaderLen = 9

// flush wakes them, as one batch with the streams starting (see
// wakeBatch).
func (w *wakeups) flush(starting []*Stream) {
	joinBatch(starting, w.owners)
	for i, c := range w.chans {
		wake(c)
		w.chans[i], w.owners[i] = nil, nil
	}
	w.chans, w.owners, w.frames = w.chans[:0], w.owners[:0], 0
}

// wakeBatch is the streams a connection reader woke (or started) at
// once, after one read. Their goroutines each write a step of their call
// and flush it before they wait: on a busy connection with one P they run
// one after the other, and each flush was a write system call of its own
// (two per unary call at c=64, one to the backend and one to the client),
// though the frames of all of them could have left in one. So a member of
// a batch that reaches its flush while other members have not reached
// theirs yields the processor first (runtime.Gosched, which runs the
// goroutines already runnable before it resumes): its frames wait corked
// in the connection's buffer, and the member that comes last flushes
// everyone's in one write; the others find nothing left to flush. A
// stream alone in its read (c=1) never yields, so it gains no latency and
// no scheduler round trip: nothing else is going to write. A member that
// blocks elsewhere (an interceptor's network call) only costs the others
// one yield each, never a flush: whoever yielded flushes when it resumes.
type wakeBatch struct {
	left atomic.Int32 // members that have not reached their flush yet
}

// joinBatch makes the streams of a and b, if there are several, one
// batch; a stream's goroutine reads its batch when it next flushes
// (yieldToBatch). A stream alone leaves any batch it was in. The streams
// of b may be nil and may be in a too (a stream started and given its
// request in one read is one goroutine); the reader's lists are short
// (maxDeferred frames), so they are compared pairwise.
func joinBatch(a, b []*Stream) {
	n := len(a)
	for _, st := range b {
		if st != nil && !slices.Contains(a, st) {
			n++
		}
	}
	var wb *wakeBatch
	if n > 1 {
		wb = &wakeBatch{}
		wb.left.Store(int32(n))
	}
	for _, st := range a {
		st.batch.Store(wb)
	}
	for _, st := range b {
		if st != nil {
			st.batch.Store(wb)
		}
	}
}

// yieldToBatch is called by the goroutine of st before it flushes what it
// corked: it yields if other members of its batch have yet to run.
func (st *Stream) yieldToBatch() {
	if wb := st.batch.Swap(nil); wb != nil && wb.left.Add(-1) > 0 {
		runtime.Gosched()
	}
}

// write runs fn with the Framer, holding the connection's writer, and
// flushes unless another writer is waiting (who will flush after it).
func (w *frameWriter) write(fn func(fr *http2.Framer) error) error {
	return w.do(fn, true)
}

// cork runs fn as write does but leaves the frames in the buffer: the
// caller flushes (flush) before it waits for anything, so that the frames
// of one call's step (a request's HEADERS and DATA, a response's HEADERS,
// DATA and trailers) leave in one system call.
func (w *frameWriter) cork(fn func(fr *http2.Framer) error) error {
	return w.do(fn, false)
}

// flush writes out corked frames, unless another flush is queued behind
// this one: that one writes them with its own, in one system call (the
// streams of a busy connection flush at once).
func (w *frameWriter) flush() {
	w.flushers.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.flushers.Add(-1) > 0 {
		// A flusher counted itself before this one's check and has not
		// made its own: it will, once it has the lock.
		return
	}
	w.drain()
	if w.dirty && w.err == nil {
		w.err = w.bw.Flush()
	}
	w.dirty = false
}

func (w *frameWriter) do(fn func(fr *http2.Framer) error, flush bool) error {
	w.waiting.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drain()
	err := w.err
	if err == nil {
		err = fn(w.fr)
	}
	if !flush {
		w.waiting.Add(-1)
		if err == nil {
			w.dirty = true
		} else if !errors.Is(err, errNotWritten) && w.err == nil {
			w.err = err
		}
		return err
	}
	if errors.Is(err, errNotWritten) {
		// fn chose to write nothing: the connection is fine.
		if w.waiting.Add(-1) == 0 {
			if ferr := w.bw.Flush(); ferr != nil && w.err == nil {
				w.err = ferr
			}
			w.dirty = false
		}
		return err
	}
	if w.waiting.Add(-1) == 0 && err == nil {
		err = w.bw.Flush()
		w.dirty = false
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

// errNotWritten is returned by a write function that decided to write
// nothing; it does not make the connection unusable.
var errNotWritten = errors.New("h2relay: nothing written")

// headerBlock HPACK-encodes fields with the connection's encoder; the
// caller holds the writer. The block is valid until the next call.
func (w *frameWriter) headerBlock(fields []hpack.HeaderField) []byte {
	w.hbuf = w.henc.appendBlock(w.hbuf[:0], fields)
	return w.hbuf
}

// writeHeaders writes one header block as HEADERS and CONTINUATION frames
// no larger than the peer accepts; the caller holds the writer.
func (w *frameWriter) writeHeaders(fr *http2.Framer, id uint32, end bool, block []byte) error {
	w.sentData.Store(true)
	max := int(w.maxFrame.Load())
	first := block
	if len(first) > max {
		first = first[:max]
	}
	rest := block[len(first):]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(rest) == 0}); err != nil {
		return err
	}
	for len(rest) > 0 {
		n := min(len(rest), max)
		if err := fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// window is a connection's send window, which its streams share: a stream
// takes what it may send, and waits on the channel when nothing is left.
type window struct {
	mu      sync.Mutex
	avail   int64
	wake    chan struct{} // closed and replaced when the window grows
	waiters bool          // wake was handed out since it was made
}

func newWindow(n int64) *window { return &window{avail: n, wake: make(chan struct{})} }

// take reserves up to n bytes; when none are available it returns 0 and a
// channel closed when the window grows.
func (w *window) take(n int) (int, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.avail <= 0 {
		w.waiters = true
		return 0, w.wake
	}
	k := min(int64(n), w.avail)
	w.avail -= k
	return int(k), nil
}

// give returns n unused bytes to the window.
func (w *window) give(n int) { w.add(int64(n)) }

// add grows the window (WINDOW_UPDATE) and wakes the streams waiting on
// it. It reports false if the window would exceed 2^31-1 (a flow-control
// error of the peer).
func (w *window) add(n int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.avail += n
	if w.avail > 1<<31-1 {
		return false
	}
	if n > 0 && w.waiters {
		// Only a channel someone may wait on is replaced: most updates
		// find nobody waiting, and a new channel is an allocation.
		close(w.wake)
		w.wake, w.waiters = make(chan struct{}), false
	}
	return true
}

// streamWindow is one stream's send window, guarded by its stream's lock.
type streamWindow struct {
	avail int64
}

// wake notifies a channel of capacity one without blocking.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// recvWindow tracks what a connection owes its peer in WINDOW_UPDATE: the
// bytes of DATA consumed and not yet acknowledged, sent in batches of a
// quarter of the window, as grpc-go does, so that a stream of small
// messages does not cost a frame per message.
type recvWindow struct {
	mu      sync.Mutex
	size    int64 // the advertised window
	avail   int64 // what the peer may still send
	pending int64 // consumed, not yet acknowledged
}

// receive accounts n bytes received; false is a flow-control violation.
func (r *recvWindow) receive(n int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > r.avail {
		return false
	}
	r.avail -= n
	return true
}

// consumed records n bytes passed on and returns the increment to send
// now (zero: not yet).
func (r *recvWindow) consumed(n int64) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending += n
	if r.pending < r.size/4 {
		return 0
	}
	inc := r.pending
	r.pending = 0
	r.avail += inc
	return uint32(inc)
}

// queue holds one direction of a stream's received bytes until they are
// passed on. Its buffer comes from a pool when bytes arrive and goes back
// as soon as they have all been passed on, so a stream holds memory only
// while bytes wait, and a relayed message costs no allocation: a small
// buffer first (a unary call's message), one of the stream's window (the
// most the peer may send before it is acknowledged) once more waits.
type queue struct {
	buf  []byte
	box  *[]byte // the pool's box that buf came in, to go back in
	off  int
	pool *bufPools
}

// smallBuf is the size of a queue's first buffer.
const smallBuf = 4 << 10

// bufPools are the two sizes of a queue's buffers.
type bufPools struct {
	small, large sync.Pool // of *[]byte
}

// newBufPool returns pools of smallBuf and of size bytes.
func newBufPool(size int) *bufPools {
	p := &bufPools{}
	p.small.New = func() any {
		b := make([]byte, 0, smallBuf)
		return &b
	}
	p.large.New = func() any {
		b := make([]byte, 0, max(size, smallBuf))
		return &b
	}
	return p
}

// put returns b in the box it came in (boxing it anew would allocate).
func (p *bufPools) put(box *[]byte, b []byte) {
	*box = b[:0]
	if cap(b) <= smallBuf {
		p.small.Put(box)
		return
	}
	p.large.Put(box)
}

func (q *queue) len() int { return len(q.buf) - q.off }

// push appends data.
func (q *queue) push(data []byte) {
	if len(data) == 0 {
		return
	}
	if q.buf == nil {
		if len(data) <= smallBuf {
			q.box = q.pool.small.Get().(*[]byte)
		} else {
			q.box = q.pool.large.Get().(*[]byte)
		}
		q.buf = (*q.box)[:0]
	}
	if len(q.buf)-q.off+len(data) > cap(q.buf) {
		// Move to a buffer of the window (never outgrown: the peer may
		// not send more than the window before it is acknowledged).
		box := q.pool.large.Get().(*[]byte)
		b := append((*box)[:0], q.buf[q.off:]...)
		q.pool.put(q.box, q.buf)
		q.buf, q.box, q.off = b, box, 0
	} else if q.off > 0 && len(q.buf)+len(data) > cap(q.buf) {
		n := copy(q.buf, q.buf[q.off:])
		q.buf, q.off = q.buf[:n], 0
	}
	q.buf = append(q.buf, data...)
}

// pop moves up to len(p) bytes into p.
func (q *queue) pop(p []byte) int {
	if q.buf == nil {
		return 0
	}
	n := copy(p, q.buf[q.off:])
	q.off += n
	if q.off == len(q.buf) {
		q.release()
	}
	return n
}

// release returns the buffer to the pool, dropping what it holds.
func (q *queue) release() {
	if q.buf != nil {
		q.pool.put(q.box, q.buf)
	}
	q.buf, q.box, q.off = nil, nil, 0
}
