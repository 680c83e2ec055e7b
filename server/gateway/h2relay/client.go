package h2relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/tollgate-gw/tollgate/internal/rawsock"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/backoff"
)

// Errors of the backend side. A Relay's error wraps one of them when the
// backend did not end the call with a status of its own.
var (
	// ErrBackendUnavailable: no connection to the backend could be made,
	// or it refused the stream before seeing any of it.
	ErrBackendUnavailable = errors.New("h2relay: the backend is unavailable")
	// ErrBackendBroke: the backend reset the stream or its connection
	// broke before it sent a status.
	ErrBackendBroke = errors.New("h2relay: the backend broke the call")
)

// backendReadBuffer is the read buffer of a connection to a backend.
const backendReadBuffer = 64 << 10

// DefaultConnectTimeout bounds a connection attempt to a backend when the
// call sets no ConnectTimeout: the TCP handshake and the backend's first
// SETTINGS frame.
const DefaultConnectTimeout = 5 * time.Second

// Dialer opens a connection to a backend's address ("host:port").
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// Pool keeps cleartext HTTP/2 connections to backends, shared by the
// calls relayed to them: a connection per address, and another when the
// backend's SETTINGS_MAX_CONCURRENT_STREAMS is reached. A connection that
// got GOAWAY takes no new streams and closes when its last ends. Make one
// with NewPool.
//
// An address whose connection attempt failed is not dialled again before
// a backoff has passed, as grpc-go's connections back off (exponential
// with jitter; [WithBackoff]): calls that find it backing off fail at
// once with [ErrBackendUnavailable] rather than each dialling a backend
// that is down. [WithWake] lets a call start an attempt early.
type Pool struct {
	dial    Dialer
	window  int32
	backoff backoff.Config
	wake    time.Duration
	bufs    *bufPools // streams' response queues

	mu      sync.Mutex
	conns   map[string][]*clientConn
	dialing map[string]*dialCall // one connection attempt per address at a time
	failing map[string]*failure  // addresses whose last attempt failed
	closed  bool
}

// failure is the backoff state of an address whose last connection
// attempt failed.
type failure struct {
	attempts int       // failed attempts in a row
	ended    time.Time // when the last one failed
	retry    time.Time // no attempt before
	err      error     // the last one's error
}

// PoolOption configures a [Pool].
type PoolOption func(*Pool)

// WithBackoff sets how long the Pool waits before it dials again an
// address whose connection attempt failed: BaseDelay after the first
// failure, then Multiplier times longer after each failure in a row, up to
// MaxDelay, each wait randomized by ±Jitter. The default is grpc-go's,
// [backoff.DefaultConfig] (1 s, 1.6, 0.2, 120 s). A successful connection
// resets it.
func WithBackoff(cfg backoff.Config) PoolOption {
	return func(p *Pool) { p.backoff = cfg }
}

// WithWake lets a call that finds its backend's address backing off start
// a connection attempt anyway when the last one failed at least d ago, as
// grpc-go's ResetConnectBackoff does for a connection: a backend that
// comes back then serves calls within d instead of after a backoff that
// may have grown to its maximum, while calls closer together than d still
// fail at once. Zero, the default, keeps to the backoff.
func WithWake(d time.Duration) PoolOption {
	return func(p *Pool) { p.wake = max(d, 0) }
}

// dialCall is a connection attempt that concurrent calls share.
type dialCall struct {
	done chan struct{}
	cc   *clientConn
	err  error
}

// NewPool returns a Pool dialing with dial (nil: net.Dialer) and
// advertising window per stream to backends (16 times that per
// connection): what one relayed response may buffer in the gateway.
func NewPool(dial Dialer, window int32, opts ...PoolOption) *Pool {
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	window = max(window, initialWindow+1)
	p := &Pool{
		dial:    dial,
		window:  window,
		backoff: backoff.DefaultConfig,
		bufs:    newBufPool(int(window)),
		conns:   map[string][]*clientConn{},
		dialing: map[string]*dialCall{},
		failing: map[string]*failure{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// delay is the backoff after attempts failed attempts in a row, computed
// as grpc-go computes it.
func (p *Pool) delay(attempts int) time.Duration {
	cfg := p.backoff
	d, limit := float64(cfg.BaseDelay), float64(cfg.MaxDelay)
	for i := 1; i < attempts && d < limit; i++ {
		d *= cfg.Multiplier
	}
	d = min(d, limit)
	d *= 1 + cfg.Jitter*(rand.Float64()*2-1)
	return time.Duration(max(d, 0))
}

// Close closes every connection; calls on them fail.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	var all []*clientConn
	for _, cs := range p.conns {
		all = append(all, cs...)
	}
	p.conns = map[string][]*clientConn{}
	p.mu.Unlock()
	for _, cc := range all {
		cc.close(errors.New("h2relay: pool closed"))
	}
}

// Retain closes the connections to addresses not in addrs once their
// streams have ended (they take no new ones).
func (p *Pool) Retain(addrs []string) {
	keep := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		keep[a] = true
	}
	p.mu.Lock()
	var retired []*clientConn
	for a, cs := range p.conns {
		if !keep[a] {
			retired = append(retired, cs...)
			delete(p.conns, a)
		}
	}
	for a := range p.failing {
		if !keep[a] {
			delete(p.failing, a)
		}
	}
	p.mu.Unlock()
	for _, cc := range retired {
		cc.retire()
	}
}

// open starts a stream to addr with the request headers, on a connection
// with room for it (dialling one, within connectTimeout, if needed).
func (p *Pool) open(ctx context.Context, addr string, connectTimeout time.Duration, fields []hpack.HeaderField, notify chan struct{}) (*clientStream, error) {
	return p.openBy(ctx, time.Time{}, addr, connectTimeout, fields, notify)
}

// openBy is open for a call that ends at deadline (zero: none) if ctx has
// not ended it before: waiting for another call's connection attempt
// ends then too, as it would with a context of that deadline.
func (p *Pool) openBy(ctx context.Context, deadline time.Time, addr string, connectTimeout time.Duration, fields []hpack.HeaderField, notify chan struct{}) (*clientStream, error) {
	owner := FromContext(ctx)
	for attempt := 0; ; attempt++ {
		cc, err := p.conn(ctx, deadline, addr, connectTimeout)
		if err != nil {
			return nil, err
		}
		cs, err := cc.openStream(fields, notify, owner)
		if err == nil {
			return cs, nil
		}
		if attempt >= 2 {
			return nil, fmt.Errorf("%w: %v", ErrBackendUnavailable, err)
		}
	}
}

// conn returns a usable connection to addr; a wait for another call's
// connection attempt ends with ctx or at deadline (zero: none).
func (p *Pool) conn(ctx context.Context, deadline time.Time, addr string, connectTimeout time.Duration) (*clientConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: pool closed", ErrBackendUnavailable)
	}
	list := p.conns[addr]
	live := list[:0]
	var pick *clientConn
	for _, cc := range list {
		if !cc.usable() {
			continue
		}
		live = append(live, cc)
		if pick == nil && cc.hasRoom() {
			pick = cc
		}
	}
	clear(list[len(live):])
	p.conns[addr] = live
	if pick != nil {
		p.mu.Unlock()
		return pick, nil
	}
	// Calls that find no room wait for one connection attempt rather
	// than each dialling its own (a burst of calls at startup).
	if d, ok := p.dialing[addr]; ok {
		p.mu.Unlock()
		var expired <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-d.done:
			return d.cc, d.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v", ErrBackendUnavailable, ctx.Err())
		case <-expired:
			return nil, fmt.Errorf("%w: %v", ErrBackendUnavailable, context.DeadlineExceeded)
		}
	}
	if f := p.failing[addr]; f != nil {
		// Backing off: fail at once, unless the last attempt is old
		// enough for a call to wake the address.
		now := time.Now()
		if now.Before(f.retry) && (p.wake <= 0 || now.Sub(f.ended) < p.wake) {
			err := f.err
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: %v (backing off)", ErrBackendUnavailable, err)
		}
	}
	d := &dialCall{done: make(chan struct{})}
	p.dialing[addr] = d
	p.mu.Unlock()
	d.cc, d.err = p.dialConn(ctx, addr, connectTimeout)
	p.mu.Lock()
	delete(p.dialing, addr)
	if d.err == nil && p.closed {
		d.cc.close(errors.New("h2relay: pool closed"))
		d.cc, d.err = nil, fmt.Errorf("%w: pool closed", ErrBackendUnavailable)
	}
	switch {
	case d.err == nil:
		p.conns[addr] = append(p.conns[addr], d.cc)
		delete(p.failing, addr)
	case !p.closed:
		f := p.failing[addr]
		if f == nil {
			f = &failure{}
			p.failing[addr] = f
		}
		f.attempts++
		f.ended = time.Now()
		f.retry = f.ended.Add(p.delay(f.attempts))
		f.err = d.err
	}
	p.mu.Unlock()
	close(d.done)
	return d.cc, d.err
}

// dialConn connects to addr and starts HTTP/2 on the connection: the
// attempt ends when the backend's first SETTINGS frame arrives, or fails
// after connectTimeout (zero: DefaultConnectTimeout), as grpc-go's
// connections wait for the server's preface before they are ready (a
// listener that accepts nothing, or a peer that does not speak HTTP/2,
// fails the attempt instead of the calls one by one).
func (p *Pool) dialConn(ctx context.Context, addr string, connectTimeout time.Duration) (*clientConn, error) {
	if connectTimeout <= 0 {
		connectTimeout = DefaultConnectTimeout
	}
	// Not the caller's cancellation: calls waiting for this attempt share it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	c, err := p.dial(dctx, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBackendUnavailable, err)
	}
	c = rawsock.Wrap(c)
	connWindow := 16 * int64(p.window)
	cc := &clientConn{
		c:          c,
		addr:       addr,
		window:     p.window,
		bufs:       p.bufs,
		streams:    map[uint32]*clientStream{},
		settled:    make(chan struct{}),
		closed:     make(chan struct{}),
		nextID:     1,
		maxStreams: 1<<32 - 1,
		peerWindow: initialWindow,
		sendWin:    newWindow(initialWindow),
		recv:       recvWindow{size: connWindow, avail: connWindow},
	}
	// A backend connection carries the responses of many calls: a read
	// of up to 64 KiB takes in four times as many of their frames per
	// system call (and per batch of wake-ups) as 16 KiB would.
	cc.sr = newSockReader(c)
	cc.fr, cc.br = newFramerSize(c, cc.sr, &cc.w, maxHeaderList, backendReadBuffer)
	err = cc.w.write(func(fr *http2.Framer) error {
		if _, err := io.WriteString(cc.w.bw, http2.ClientPreface); err != nil {
			return err
		}
		if err := fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(p.window)},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderList},
		); err != nil {
			return err
		}
		return fr.WriteWindowUpdate(0, uint32(connWindow-initialWindow))
	})
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %v", ErrBackendUnavailable, err)
	}
	go cc.readLoop()
	select {
	case <-cc.settled:
		return cc, nil
	case <-cc.closed:
		return nil, fmt.Errorf("%w: the connection closed before the backend's SETTINGS: %v", ErrBackendUnavailable, cc.deadErr())
	case <-dctx.Done():
		cc.close(errors.New("h2relay: connect timeout"))
		return nil, fmt.Errorf("%w: no SETTINGS from the backend within the connect timeout of %s", ErrBackendUnavailable, connectTimeout)
	}
}

// clientConn is one HTTP/2 connection to a backend.
type clientConn struct {
	c      net.Conn
	addr   string
	window int32
	bufs   *bufPools // the Pool's buffers
	w      frameWriter
	fr     *frameReader
	br     *bufio.Reader // what fr reads from
	sr     *sockReader   // what br reads from
	wakes  wakeups       // read loop only: relays to wake (see wakeups)
	// Read loop only: the client connections this batch of frames relayed
	// DATA to (their outboxes, see clientStream.onData), each flushed by
	// one relay woken for it; flushOnly counts those wake-ups among wakes'.
	flushes   []*frameWriter
	flushOnly int

	sendWin *window
	recv    recvWindow

	settled     chan struct{} // closed at the backend's first SETTINGS
	gotSettings bool          // read loop only
	closed      chan struct{} // closed by close

	mu         sync.Mutex
	streams    map[uint32]*clientStream
	nextID     uint32
	maxStreams uint32
	peerWindow int64
	goaway     bool
	retired    bool
	dead       error
}

func (cc *clientConn) usable() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.dead == nil && !cc.goaway && !cc.retired && cc.nextID < 1<<31-1
}

func (cc *clientConn) hasRoom() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return uint32(len(cc.streams)) < cc.maxStreams
}

// openStream writes a new stream's request headers; owner is the Stream
// whose goroutine relays it (nil: none).
func (cc *clientConn) openStream(fields []hpack.HeaderField, notify chan struct{}, owner *Stream) (*clientStream, error) {
	cs := &clientStream{cc: cc, notify: notify, owner: owner, recvAvail: int64(cc.window), resp: queue{pool: cc.bufs}}
	// Corked: the request's first DATA follows at once (Relay flushes).
	err := cc.w.cork(func(fr *http2.Framer) error {
		// The ID is taken under the writer, so IDs reach the wire in order.
		cc.mu.Lock()
		if cc.dead != nil || cc.goaway || cc.retired || uint32(len(cc.streams)) >= cc.maxStreams {
			cc.mu.Unlock()
			return errNotWritten
		}
		cs.id = cc.nextID
		cc.nextID += 2
		cs.sendWin = cc.peerWindow
		cc.streams[cs.id] = cs
		cc.mu.Unlock()
		return cc.w.writeHeaders(fr, cs.id, false, cc.w.headerBlock(fields))
	})
	if err != nil {
		if cs.id != 0 {
			cc.forget(cs)
		}
		return nil, err
	}
	return cs, nil
}

// forget removes an ended stream; a retired or going-away connection
// closes with its last stream.
func (cc *clientConn) forget(cs *clientStream) {
	cc.mu.Lock()
	delete(cc.streams, cs.id)
	closeNow := len(cc.streams) == 0 && (cc.goaway || cc.retired)
	cc.mu.Unlock()
	if closeNow {
		cc.close(errors.New("h2relay: connection drained"))
	}
}

// retire lets the connection's streams finish and closes it.
func (cc *clientConn) retire() {
	cc.mu.Lock()
	cc.retired = true
	closeNow := len(cc.streams) == 0
	cc.mu.Unlock()
	if closeNow {
		cc.close(errors.New("h2relay: connection retired"))
	}
}

// close closes the connection and fails its streams.
func (cc *clientConn) close(err error) {
	cc.mu.Lock()
	if cc.dead != nil {
		cc.mu.Unlock()
		return
	}
	cc.dead = err
	close(cc.closed)
	streams := make([]*clientStream, 0, len(cc.streams))
	for _, cs := range cc.streams {
		streams = append(streams, cs)
	}
	cc.mu.Unlock()
	cc.sr.stop()
	_ = cc.c.Close()
	for _, cs := range streams {
		cs.fail(fmt.Errorf("%w: %v", ErrBackendBroke, err), false)
	}
}

func (cc *clientConn) deadErr() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.dead
}

func (cc *clientConn) stream(id uint32) *clientStream {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.streams[id]
}

// readLoop reads the backend's frames until the connection ends: inside
// the socket's RawConn.Read while the frames fit in the read buffer (see
// sockReader), else with Conn.Read.
func (cc *clientConn) readLoop() {
	var err error
	defer func() {
		cc.wakeNow()
		cc.close(err)
	}()
	step := func() pollStep {
		var stop bool
		if stop, err = cc.readFrame(); stop {
			return pollStop
		}
		return pollNext
	}
	wait := func() {
		if cc.wakes.pending() {
			cc.wakeNow()
		}
	}
	for {
		if cc.sr.rc != nil {
			s, perr := cc.sr.pollRead(cc.br, step, wait)
			if s == pollStop {
				if perr != nil {
					err = perr
				}
				return
			}
		}
		var stop bool
		if stop, err = cc.readFrame(); stop {
			return
		}
	}
}

// readFrame reads and handles one frame, first waking what the frames
// before it concern if it is due; stop reports that the connection is
// done (with err).
func (cc *clientConn) readFrame() (stop bool, err error) {
	if cc.wakes.pending() && cc.wakeDue() {
		cc.wakeNow()
	}
	f, err := cc.fr.ReadFrame()
	if err != nil {
		var se http2.StreamError
		if errors.As(err, &se) {
			if cs := cc.stream(se.StreamID); cs != nil {
				cs.fail(fmt.Errorf("%w: %v", ErrBackendBroke, se), false)
			}
			_ = cc.w.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(se.StreamID, se.Code) })
			return false, nil
		}
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			_ = cc.w.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCode(ce), nil) })
		}
		return true, err
	}
	err = cc.handle(f)
	cc.fr.release() // a DATA frame's payload, handled
	if err != nil {
		return true, err
	}
	return false, nil
}

// wakeDue is wakeups.due, but for a batch whose only wake-ups are
// flushes of DATA the reader relayed itself: those wait for the end of
// what the read buffer holds (at most one read's worth of frames), so that
// a busy connection's responses leave in one write per read, not one per
// maxDeferred frames.
func (cc *clientConn) wakeDue() bool {
	if len(cc.wakes.chans) > cc.flushOnly {
		return cc.wakes.due(cc.br)
	}
	return !frameBuffered(cc.br)
}

// wakeNow wakes the relays the frames read so far concern and writes
// the reader's corked answers.
func (cc *clientConn) wakeNow() {
	cc.wakes.flush(nil)
	clear(cc.flushes)
	cc.flushes, cc.flushOnly = cc.flushes[:0], 0
	if cc.wakes.acks {
		cc.wakes.acks = false
		cc.w.flush()
	}
}

func (cc *clientConn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		if cs := cc.stream(f.StreamID); cs != nil {
			cs.onHeaders(f)
			cc.wakes.add(cs.notify, cs.owner)
		}
	case *bufferedData:
		n := int64(f.Length)
		if !cc.recv.receive(n) {
			_ = cc.w.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCodeFlowControl, nil) })
			return errors.New("h2relay: the backend exceeded the connection's flow-control window")
		}
		// Given back on receipt, as on the server side.
		cc.ackConn(n)
		cs := cc.stream(f.StreamID)
		data := f.Data()
		if cs == nil {
			return nil
		}
		switch sent, ok := cs.onData(data, n, f.StreamEnded()); {
		case !ok:
			_ = cc.w.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(f.StreamID, http2.ErrCodeFlowControl) })
		case sent != nil:
			cc.flushAfter(sent, cs.notify, cs.owner)
		default:
			cc.wakes.add(cs.notify, cs.owner)
		}
	case *http2.RSTStreamFrame:
		if cs := cc.stream(f.StreamID); cs != nil {
			cs.onReset(f.ErrCode)
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			if !cc.sendWin.add(int64(f.Increment)) {
				return errors.New("h2relay: the backend overflowed the connection's window")
			}
			return nil
		}
		if cs := cc.stream(f.StreamID); cs != nil {
			cs.addSendWindow(int64(f.Increment))
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		_ = f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingMaxConcurrentStreams:
				cc.mu.Lock()
				cc.maxStreams = s.Val
				cc.mu.Unlock()
			case http2.SettingInitialWindowSize:
				cc.mu.Lock()
				delta := int64(s.Val) - cc.peerWindow
				cc.peerWindow = int64(s.Val)
				streams := make([]*clientStream, 0, len(cc.streams))
				for _, cs := range cc.streams {
					streams = append(streams, cs)
				}
				cc.mu.Unlock()
				for _, cs := range streams {
					cs.addSendWindow(delta)
				}
			case http2.SettingMaxFrameSize:
				cc.w.maxFrame.Store(s.Val)
			case http2.SettingHeaderTableSize:
				_ = cc.w.write(func(*http2.Framer) error {
					cc.w.henc.setLimit(s.Val)
					return errNotWritten
				})
			}
			return nil
		})
		_ = cc.w.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
		if !cc.gotSettings {
			cc.gotSettings = true
			close(cc.settled)
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			_ = cc.w.cork(func(fr *http2.Framer) error { return fr.WritePing(true, data) })
			cc.wakes.acks = true
		}
	case *http2.GoAwayFrame:
		cc.mu.Lock()
		cc.goaway = true
		var refused []*clientStream
		for id, cs := range cc.streams {
			if id > f.LastStreamID {
				refused = append(refused, cs)
			}
		}
		empty := len(cc.streams) == len(refused)
		cc.mu.Unlock()
		for _, cs := range refused {
			cs.fail(fmt.Errorf("%w: the backend is going away (%v)", ErrBackendUnavailable, f.ErrCode), true)
		}
		if empty {
			return errors.New("h2relay: the backend went away")
		}
	}
	return nil
}

// flushAfter has the relay notified on notify flush w (a client
// connection the reader wrote DATA into) once the reader has handled the
// frames it has read: one relay per client connection and batch.
func (cc *clientConn) flushAfter(w *frameWriter, notify chan struct{}, owner *Stream) {
	for _, f := range cc.flushes {
		if f == w {
			return
		}
	}
	cc.flushes = append(cc.flushes, w)
	n := len(cc.wakes.chans)
	cc.wakes.add(notify, owner)
	if len(cc.wakes.chans) > n {
		cc.flushOnly++
	}
}

// ackConn acknowledges n bytes of the backend's DATA consumed.
func (cc *clientConn) ackConn(n int64) {
	if inc := cc.recv.consumed(n); inc > 0 {
		_ = cc.w.cork(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, inc) })
		cc.wakes.acks = true
	}
}

// clientStream is one relayed call's stream to a backend.
type clientStream struct {
	cc     *clientConn
	id     uint32
	notify chan struct{} // the relay's: anything below changed
	owner  *Stream       // whose goroutine relays it, or nil

	mu        sync.Mutex
	headers   []hpack.HeaderField // response headers, until taken
	gotHdr    bool
	trailers  []hpack.HeaderField
	gotTrail  bool
	resp      queue
	err       error // reset, refused or broken
	refused   bool  // the backend did not process the stream: retry is safe
	recvAvail int64
	recvOwed  int64
	sendWin   int64
	winWait   bool // the relay found sendWin empty (see Stream.winWait)
	done      bool

	// The response's direct path (see onData): once its headers went
	// out, the connection's reader relays DATA to the client connection
	// (its outbox) itself while nothing of the response waits.
	sink     *Stream    // the client's stream, or nil: the relay passes DATA on
	held     bool       // the relay holds the response (hold, until ackResponse)
	respScan msgScanner // the response's messages (limit, byte count)
	touch    func()     // Call.Touch
}

// onHeaders keeps the response's headers or trailers; the reader wakes
// the relay (notify) after.
func (cs *clientStream) onHeaders(f *http2.MetaHeadersFrame) {
	cs.mu.Lock()
	switch {
	case cs.gotTrail:
	case !cs.gotHdr && !f.StreamEnded():
		if s := f.PseudoValue("status"); len(s) == 3 && s[0] == '1' {
			break // informational
		}
		cs.gotHdr = true
		cs.headers = f.Fields
	default:
		cs.gotTrail = true
		cs.trailers = f.Fields
	}
	cs.mu.Unlock()
}

// onData takes a DATA frame's payload; ok false is a flow-control error
// (the stream failed). When the stream's response headers went to the
// client and nothing of the response waits in the relay, the payload
// goes straight to the client connection's outbox (relayDirect), with
// what waited in the stream's queue before it, and is acknowledged to the
// backend at once (corked; the reader flushes after its batch); sent is
// then that connection's writer, to be flushed by a relay the reader
// wakes. Otherwise the payload is queued and the reader wakes the relay
// (notify) after: one copy and no hand-off per frame on the direct path,
// two copies and a wake-up per batch on the relay's.
func (cs *clientStream) onData(data []byte, flowLen int64, end bool) (sent *frameWriter, ok bool) {
	cs.mu.Lock()
	if flowLen > cs.recvAvail {
		cs.mu.Unlock()
		cs.fail(fmt.Errorf("%w: the backend exceeded the stream's flow-control window", ErrBackendBroke), false)
		return nil, false
	}
	cs.recvAvail -= flowLen
	cs.recvOwed += flowLen - int64(len(data))
	if !cs.gotHdr && len(data) > 0 && cs.err == nil {
		cs.err = fmt.Errorf("%w: DATA before HEADERS", ErrBackendBroke)
	}
	if cs.done {
		cs.mu.Unlock()
		return nil, true
	}
	if len(data) > 0 && !end && cs.sink != nil && !cs.held && cs.err == nil {
		// What the relay has not taken yet goes first, with this frame:
		// a stream whose frames had to wait (the outbox was full) goes
		// back to the direct path as soon as the outbox has room.
		p := data
		if cs.resp.len() > 0 {
			cs.resp.push(data)
			p = cs.resp.bytes()
		}
		if n := len(p); cs.relayDirect(p) {
			if len(p) != len(data) {
				cs.resp.release()
			}
			if inc := cs.ackLocked(n); inc > 0 {
				_ = cs.cc.w.cork(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(cs.id, inc) })
				cs.cc.wakes.acks = true
			}
			// Read under the lock: close clears sink (a relay that
			// returned while the backend still sends).
			w := &cs.sink.sc.w
			cs.mu.Unlock()
			return w, true
		}
		if len(p) != len(data) {
			cs.mu.Unlock()
			return nil, true
		}
	}
	if len(data) > 0 {
		cs.resp.push(data)
	}
	if end {
		cs.gotTrail = true // a response without trailers; the relay reports it
	}
	cs.mu.Unlock()
	return nil, true
}

// relayDirect queues p, the next response bytes, as DATA frames in the
// client connection's outbox if that can be done at once: the messages in
// it are within the limit (the relay ends a call over it), and the
// client's windows and the outbox have room for all of it. The reader
// never waits for the client (a slow client must not hold up the other
// calls on the backend connection); what it cannot pass on now goes the
// relay's way. cs.mu is held.
func (cs *clientStream) relayDirect(p []byte) bool {
	var r scanResult
	scan := cs.respScan
	// Scanned once the room is reserved: a full outbox sees every frame
	// of every stream, and their queues grow.
	ok := cs.sink.writeNow(p, func() bool {
		r = scan.scan(p)
		return r.tooLarge == 0 // else the relay ends the call
	})
	if !ok {
		return false
	}
	cs.respScan = scan
	if r.messages > 0 && cs.touch != nil {
		cs.touch()
	}
	return true
}

// direct lets the reader write the response's DATA to st itself, from
// now on: its headers went out, and the relay holds none of its bytes.
func (cs *clientStream) direct(st *Stream, touch func()) {
	cs.mu.Lock()
	cs.sink, cs.touch = st, touch
	cs.mu.Unlock()
}

// onReset handles the backend's RST_STREAM. After a whole response, NO_ERROR
// only asks the gateway to stop sending the request (RFC 9113 §8.1; grpc-go
// sends it right behind the trailers of a call whose handler returned
// before the client half-closed): the response stands, and the reset must
// not turn it into a broken call even when the relay has not yet taken the
// trailers.
func (cs *clientStream) onReset(code http2.ErrCode) {
	cs.mu.Lock()
	complete := cs.gotTrail
	cs.mu.Unlock()
	if complete && code == http2.ErrCodeNo {
		return
	}
	cs.fail(&resetError{code: code}, code == http2.ErrCodeRefusedStream)
}

// resetError is a call the backend reset (RST_STREAM) before its status.
type resetError struct{ code http2.ErrCode }

func (e *resetError) Error() string {
	return fmt.Sprintf("%v: the backend reset the stream (%v)", ErrBackendBroke, e.code)
}

func (e *resetError) Unwrap() error { return ErrBackendBroke }

// afterDeadline returns the call's error as the caller reports it: a
// backend's CANCEL once the call's deadline has passed is the deadline
// (a backend ends a call whose grpc-timeout ran out that way, and its
// reset can come before the gateway's own timer fires), as grpc-go's
// client reports it; any other error as it is.
func afterDeadline(err error, deadline time.Time) error {
	var reset *resetError
	if !deadline.IsZero() && errors.As(err, &reset) && reset.code == http2.ErrCodeCancel && !time.Now().Before(deadline) {
		return errDeadlineExceeded
	}
	return err
}

// fail ends the stream from the backend's side.
func (cs *clientStream) fail(err error, refused bool) {
	cs.mu.Lock()
	if cs.err == nil {
		cs.err, cs.refused = err, refused
	}
	cs.mu.Unlock()
	wake(cs.notify)
}

// addSendWindow applies a WINDOW_UPDATE (or a SETTINGS change) to the
// stream's send window, waking the relay if it waits for one.
func (cs *clientStream) addSendWindow(n int64) {
	cs.mu.Lock()
	cs.sendWin += n
	waiting := cs.winWait && cs.sendWin > 0
	if waiting {
		cs.winWait = false
	}
	cs.mu.Unlock()
	if waiting {
		wake(cs.notify)
	}
}

// reserveSend is Stream.reserveSend towards the backend.
func (cs *clientStream) reserveSend(n int) (int, <-chan struct{}) {
	cs.mu.Lock()
	k := int(min(int64(n), cs.sendWin))
	if k <= 0 {
		cs.winWait = true
		cs.mu.Unlock()
		return 0, nil
	}
	cs.sendWin -= int64(k)
	cs.mu.Unlock()
	got, wait := cs.cc.sendWin.take(k)
	if got < k {
		cs.mu.Lock()
		cs.sendWin += int64(k - got)
		cs.mu.Unlock()
	}
	return got, wait
}

// unreserveSend gives back n bytes reserved with reserveSend and not sent.
func (cs *clientStream) unreserveSend(n int) {
	cs.mu.Lock()
	cs.sendWin += int64(n)
	cs.mu.Unlock()
	cs.cc.sendWin.give(n)
}

// writeData writes p as DATA frames to the backend, corked.
func (cs *clientStream) writeData(p []byte, end bool) error {
	return cs.cc.w.cork(func(*http2.Framer) error { return cs.cc.w.writeData(cs.id, end, p) })
}

// hold stops the reader from relaying the response itself until
// ackResponse: what it gets from now on is queued for the relay, so every
// frame it put in the client connection's outbox came before the queue's
// bytes, and leaves before them with the next drain of the writer.
func (cs *clientStream) hold() {
	cs.mu.Lock()
	cs.held = true
	cs.mu.Unlock()
}

// readResponse moves up to len(p) response bytes into p; the caller holds
// the response (hold) and acknowledges them with ackResponse once written
// to the client. Until then the reader writes none of the response itself.
func (cs *clientStream) readResponse(p []byte) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.resp.pop(p)
}

// ackResponse lets the backend send n more bytes (corked: the relay
// flushes before it waits); rest is what the relay still holds of what it
// read.
func (cs *clientStream) ackResponse(n, rest int) {
	cs.mu.Lock()
	inc := cs.ackLocked(n)
	cs.held = rest > 0
	cs.mu.Unlock()
	if inc > 0 {
		_ = cs.cc.w.cork(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(cs.id, inc) })
	}
}

// ackLocked records n response bytes passed on and returns the stream
// WINDOW_UPDATE to send now, if any: in steps of a quarter of the window,
// as grpc-go does, and none once the response ended. cs.mu is held.
func (cs *clientStream) ackLocked(n int) uint32 {
	cs.recvOwed += int64(n)
	if cs.gotTrail || cs.err != nil || cs.recvOwed < int64(cs.cc.window)/4 {
		return 0
	}
	inc := uint32(cs.recvOwed)
	cs.recvAvail += cs.recvOwed
	cs.recvOwed = 0
	return inc
}

// cancel resets the stream (the client went away, or the gateway ended
// the call).
func (cs *clientStream) cancel(code http2.ErrCode) {
	_ = cs.cc.w.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(cs.id, code) })
}

// close forgets the stream and returns what it buffered to the
// connection's window.
func (cs *clientStream) close() {
	cs.mu.Lock()
	cs.done = true
	cs.sink, cs.touch = nil, nil // no more DATA to the client: its stream ends next
	cs.resp.release()
	cs.recvOwed = 0
	cs.mu.Unlock()
	cs.cc.forget(cs)
}
