package h2relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Handler serves one stream, on a goroutine of its own. When it returns,
// the Server ends the stream with the status passed to [Stream.Finish]
// (or OK if it was not called) unless the stream has already ended.
type Handler func(s *Stream)

// Defaults of a [Server].
const (
	// DefaultMaxConcurrentStreams bounds the calls a client may have open
	// on one connection.
	DefaultMaxConcurrentStreams = 1000
	// DefaultStreamWindow is the flow-control window a Server advertises
	// for each stream (the connection's is 16 times larger).
	DefaultStreamWindow = 64 << 10
	// DefaultMaxMsgSize bounds one message in either direction.
	DefaultMaxMsgSize = 4 << 20
)

// Option configures a [Server].
type Option func(*Server)

// WithMaxConcurrentStreams sets SETTINGS_MAX_CONCURRENT_STREAMS; a stream
// beyond it is refused (REFUSED_STREAM, which clients retry).
func WithMaxConcurrentStreams(n uint32) Option { return func(s *Server) { s.maxStreams = n } }

// WithStreamWindow sets the flow-control window advertised per stream
// (at least 64 KiB); the connection's is 16 times larger. It bounds what
// one stream buffers in the gateway in each direction.
func WithStreamWindow(n int32) Option {
	return func(s *Server) { s.streamWindow = max(n, initialWindow+1) }
}

// WithIdleTimeout closes a connection that carries no stream for d, with
// GOAWAY, as grpc-go's MaxConnectionIdle. Zero: never.
func WithIdleTimeout(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// WithCredentials sets the transport credentials whose ServerHandshake
// each connection passes first (connsplit.Credentials reports the TLS
// state a Splitter negotiated); their AuthInfo is the stream's peer's.
func WithCredentials(c credentials.TransportCredentials) Option {
	return func(s *Server) { s.creds = c }
}

// WithStreamWorkers runs streams on up to n reused goroutines, whose
// stacks have grown to the depth of the handler already (a fresh goroutine
// per call copies its stack several times on the way down an interceptor
// chain); a stream that finds every worker busy gets a goroutine of its
// own. Workers start when first needed, and the one that finished last
// serves the next stream, so that a server with few calls at a time keeps
// using a few warm stacks. Default 0: a goroutine per stream.
func WithStreamWorkers(n int) Option { return func(s *Server) { s.workers.max = n } }

// WithMaxMsgSize bounds a message received or relayed in either direction
// (RESOURCE_EXHAUSTED beyond). Default DefaultMaxMsgSize.
func WithMaxMsgSize(n int) Option { return func(s *Server) { s.maxMsg = n } }

// Server serves gRPC over HTTP/2 connections, handing each stream to its
// Handler. Make one with NewServer.
type Server struct {
	handler      Handler
	maxStreams   uint32
	streamWindow int32
	idle         time.Duration
	creds        credentials.TransportCredentials
	maxMsg       int
	workers      workerPool
	bufs         *bufPools // streams' request queues

	mu       sync.Mutex
	lns      map[net.Listener]struct{}
	conns    map[*serverConn]struct{}
	closed   bool
	draining bool
	connsWG  sync.WaitGroup
}

// NewServer returns a Server handing streams to h.
func NewServer(h Handler, opts ...Option) *Server {
	s := &Server{
		handler:      h,
		maxStreams:   DefaultMaxConcurrentStreams,
		streamWindow: DefaultStreamWindow,
		maxMsg:       DefaultMaxMsgSize,
		lns:          map[net.Listener]struct{}{},
		conns:        map[*serverConn]struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	s.bufs = newBufPool(int(s.streamWindow))
	s.workers.run = (*Stream).run
	return s
}

// start runs a stream on an idle worker or a goroutine of its own.
func (s *Server) start(st *Stream) {
	if !s.workers.start(st) {
		go st.run()
	}
}

// ErrServerClosed is returned by Serve after Close or GracefulStop.
var ErrServerClosed = errors.New("h2relay: server closed")

// Serve accepts connections from ln until it fails or the Server is
// closed (then ErrServerClosed).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			done := s.closed || s.draining
			s.mu.Unlock()
			if done {
				return ErrServerClosed
			}
			return err
		}
		go s.ServeConn(c)
	}
}

// ServeConn serves one connection whose next bytes are the client's
// HTTP/2 preface, and returns when it is closed.
func (s *Server) ServeConn(c net.Conn) {
	p := &peer.Peer{Addr: c.RemoteAddr(), LocalAddr: c.LocalAddr()}
	if s.creds != nil {
		hc, info, err := s.creds.ServerHandshake(c)
		if err != nil {
			_ = c.Close()
			return
		}
		c, p.AuthInfo = hc, info
	}
	sc := &serverConn{srv: s, c: c, peer: p, peerCtx: peer.NewContext(context.Background(), p), streams: map[uint32]*Stream{}, peerWindow: initialWindow}
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.connsWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		s.connsWG.Done()
	}()
	sc.serve()
}

// stopAccepting marks the server (mark runs under its lock), closes its
// listeners and returns the connections open at that moment.
func (s *Server) stopAccepting(mark func()) []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	mark()
	for ln := range s.lns {
		_ = ln.Close()
	}
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	return conns
}

// Close closes every connection at once; running handlers see their
// streams' contexts cancelled.
func (s *Server) Close() {
	for _, sc := range s.stopAccepting(func() { s.closed = true }) {
		sc.close(errors.New("h2relay: server closed"))
	}
	s.connsWG.Wait()
	s.workers.close()
}

// GracefulStop stops accepting, sends GOAWAY on every connection, waits
// for their streams to end (or ctx), then closes.
func (s *Server) GracefulStop(ctx context.Context) {
	for _, sc := range s.stopAccepting(func() { s.draining = true }) {
		sc.goAway(http2.ErrCodeNo)
	}
	done := make(chan struct{})
	go func() {
		s.connsWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.Close()
}

// serverConn is one client connection.
type serverConn struct {
	srv     *Server
	c       net.Conn
	peer    *peer.Peer
	peerCtx context.Context // carries peer: the base of its streams' contexts
	w       frameWriter
	fr      *frameReader
	br      *bufio.Reader // what fr reads from

	// Read loop only: new streams and request wake-ups, deferred until
	// the frames already read are handled (see wakeups).
	starts []*Stream
	wakes  wakeups

	sendWin *window    // the client's connection window for our DATA
	recv    recvWindow // ours, for the client's DATA

	mu         sync.Mutex
	streams    map[uint32]*Stream
	maxID      uint32 // highest stream ID the client opened
	peerWindow int64  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	goingAway  bool
	idleTimer  *time.Timer
	lastPing   time.Time
	strikes    int
	closeOnce  sync.Once
	closeErr   error
}

func (sc *serverConn) serve() {
	defer sc.close(io.EOF)
	preface := make([]byte, len(http2.ClientPreface))
	_ = sc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(sc.c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	_ = sc.c.SetReadDeadline(time.Time{})
	sc.fr, sc.br = newFramer(sc.c, &sc.w, maxHeaderList)
	srv := sc.srv
	connWindow := 16 * int64(srv.streamWindow)
	sc.sendWin = newWindow(initialWindow)
	sc.recv = recvWindow{size: connWindow, avail: connWindow}
	if err := sc.w.write(func(fr *http2.Framer) error {
		if err := fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: srv.maxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(srv.streamWindow)},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderList},
		); err != nil {
			return err
		}
		return fr.WriteWindowUpdate(0, uint32(connWindow-initialWindow))
	}); err != nil {
		return
	}
	sc.armIdle()
	defer sc.wakeNow()
	for {
		if (len(sc.starts) > 0 || sc.wakes.pending()) && sc.wakes.due(sc.br) {
			sc.wakeNow()
		}
		f, err := sc.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				sc.resetStream(se.StreamID, se.Code)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				sc.fail(http2.ErrCode(ce))
				return
			}
			if errors.Is(err, http2.ErrFrameTooLarge) {
				sc.fail(http2.ErrCodeFrameSize)
			}
			return
		}
		code, ok := sc.handle(f)
		sc.fr.release() // a DATA frame's payload, handled
		if !ok {
			sc.fail(code)
			return
		}
	}
}

// wakeNow starts the streams and wakes the handlers the frames read so
// far concern.
func (sc *serverConn) wakeNow() {
	sc.wakes.flush(sc.starts)
	for i, st := range sc.starts {
		sc.srv.start(st)
		sc.starts[i] = nil
	}
	sc.starts = sc.starts[:0]
	if sc.wakes.acks {
		sc.wakes.acks = false
		sc.w.flush()
	}
}

// handle processes one frame; false (with an error code) ends the
// connection.
func (sc *serverConn) handle(f http2.Frame) (http2.ErrCode, bool) {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return sc.onHeaders(f)
	case *bufferedData:
		return sc.onData(f)
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			if f.Increment == 0 || !sc.sendWin.add(int64(f.Increment)) {
				return http2.ErrCodeFlowControl, false
			}
			return 0, true
		}
		if st := sc.stream(f.StreamID); st != nil {
			if f.Increment == 0 || !st.addSendWindow(int64(f.Increment)) {
				sc.resetStream(f.StreamID, http2.ErrCodeFlowControl)
			}
		}
	case *http2.RSTStreamFrame:
		if f.StreamID > sc.maxIDLoad() {
			return http2.ErrCodeProtocol, false
		}
		if st := sc.stream(f.StreamID); st != nil {
			st.onReset(f.ErrCode)
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return 0, true
		}
		var bad http2.ErrCode
		ok := true
		_ = f.ForeachSetting(func(s http2.Setting) error {
			if err := s.Valid(); err != nil {
				var ce http2.ConnectionError
				if errors.As(err, &ce) {
					bad, ok = http2.ErrCode(ce), false
				}
				return err
			}
			switch s.ID {
			case http2.SettingInitialWindowSize:
				sc.setPeerWindow(int64(s.Val))
			case http2.SettingMaxFrameSize:
				sc.w.maxFrame.Store(s.Val)
			case http2.SettingHeaderTableSize:
				_ = sc.w.write(func(*http2.Framer) error {
					sc.w.henc.setLimit(s.Val)
					return nil
				})
			}
			return nil
		})
		if !ok {
			return bad, false
		}
		_ = sc.w.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
	case *http2.PingFrame:
		if f.IsAck() {
			return 0, true
		}
		if sc.pingStrike() {
			// As grpc-go's keepalive enforcement: a client pinging more
			// often than the policy allows is told so and dropped.
			sc.mu.Lock()
			last := sc.maxID
			sc.mu.Unlock()
			_ = sc.w.write(func(fr *http2.Framer) error {
				return fr.WriteGoAway(last, http2.ErrCodeEnhanceYourCalm, []byte("too_many_pings"))
			})
			sc.close(errors.New("h2relay: too many pings"))
			return 0, true
		}
		data := f.Data
		_ = sc.w.cork(func(fr *http2.Framer) error { return fr.WritePing(true, data) })
		sc.wakes.acks = true
	case *http2.GoAwayFrame:
		sc.mu.Lock()
		sc.goingAway = true
		sc.mu.Unlock()
	case *http2.PushPromiseFrame:
		return http2.ErrCodeProtocol, false
	}
	return 0, true
}

// Keepalive enforcement, as grpc-go's server defaults
// (keepalive.EnforcementPolicy without PermitWithoutStream) for a
// connection without calls: at most a ping every 2 hours; the third ping
// too early ends the connection. Sending a stream's headers or data
// forgives earlier pings, as grpc-go does. Pings during calls are
// answered without counting: clients ping to measure bandwidth while data
// arrives (grpc-go's BDP estimation), several times per batch of frames
// the gateway writes, and an answer is written before the next frame is
// read, so a flood is held back by the connection itself.
const (
	pingMinIdleTime = 2 * time.Hour
	maxPingStrikes  = 2
)

// pingStrike records a ping and reports whether it is one too many.
func (sc *serverConn) pingStrike() bool {
	now := time.Now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	defer func() { sc.lastPing = now }()
	if sc.w.sentData.Swap(false) || len(sc.streams) > 0 {
		sc.strikes = 0
		return false
	}
	if !sc.lastPing.IsZero() && now.Sub(sc.lastPing) < pingMinIdleTime {
		sc.strikes++
	}
	return sc.strikes > maxPingStrikes
}

func (sc *serverConn) maxIDLoad() uint32 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.maxID
}

func (sc *serverConn) stream(id uint32) *Stream {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.streams[id]
}

// setPeerWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every open
// stream's send window (RFC 9113 section 6.9.2).
func (sc *serverConn) setPeerWindow(v int64) {
	sc.mu.Lock()
	delta := v - sc.peerWindow
	sc.peerWindow = v
	streams := make([]*Stream, 0, len(sc.streams))
	for _, st := range sc.streams {
		streams = append(streams, st)
	}
	sc.mu.Unlock()
	for _, st := range streams {
		st.addSendWindow(delta)
	}
}

func (sc *serverConn) onHeaders(f *http2.MetaHeadersFrame) (http2.ErrCode, bool) {
	id := f.StreamID
	if st := sc.stream(id); st != nil {
		// Trailers of the request: gRPC clients send none, but they end
		// the request like END_STREAM.
		if !f.StreamEnded() {
			sc.resetStream(id, http2.ErrCodeProtocol)
			return 0, true
		}
		st.onRequestEnd()
		sc.wakes.add(st.reqWake, st)
		return 0, true
	}
	sc.mu.Lock()
	if id%2 == 0 || id <= sc.maxID {
		sc.mu.Unlock()
		return http2.ErrCodeProtocol, false
	}
	sc.maxID = id
	refused := sc.goingAway || uint32(len(sc.streams)) >= sc.srv.maxStreams
	sc.mu.Unlock()
	if refused {
		sc.resetStream(id, http2.ErrCodeRefusedStream)
		return 0, true
	}
	if f.Truncated {
		sc.respondStatus(id, "431")
		return 0, true
	}
	method := f.PseudoValue("method")
	path := f.PseudoValue("path")
	if method != "POST" {
		sc.respondStatus(id, "405")
		return 0, true
	}
	var ct string
	for _, hf := range f.RegularFields() {
		if hf.Name == "content-type" {
			ct = hf.Value
			break
		}
	}
	if !isGRPCContentType(ct) {
		sc.respondStatus(id, "415")
		return 0, true
	}
	if path == "" || path[0] != '/' {
		sc.resetStream(id, http2.ErrCodeProtocol)
		return 0, true
	}
	st := newStream(sc, id, path, f)
	sc.mu.Lock()
	sc.streams[id] = st
	st.sendWin.avail = sc.peerWindow
	if sc.idleTimer != nil {
		sc.idleTimer.Stop()
	}
	sc.mu.Unlock()
	if f.StreamEnded() {
		st.onRequestEnd()
	}
	// Started once the frames already read are handled: a unary call's
	// DATA usually came in the same read, and its handler then finds the
	// whole request instead of waiting for it.
	sc.starts = append(sc.starts, st)
	return 0, true
}

// isGRPCContentType reports whether ct is application/grpc or one of its
// subtypes ("application/grpc+proto", "application/grpc;...").
func isGRPCContentType(ct string) bool {
	if ct == "application/grpc" {
		return true // the usual one, without lowercasing
	}
	rest, ok := strings.CutPrefix(strings.ToLower(ct), "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

func (sc *serverConn) onData(f *bufferedData) (http2.ErrCode, bool) {
	n := int64(f.Length)
	if !sc.recv.receive(n) {
		return http2.ErrCodeFlowControl, false
	}
	// The connection's window is given back on receipt: each stream's
	// own window bounds what it buffers, and a stream whose reader
	// stalls must not starve the others (as grpc-go does).
	sc.ackConn(n)
	st := sc.stream(f.StreamID)
	if st == nil {
		if f.StreamID > sc.maxIDLoad() {
			return http2.ErrCodeProtocol, false
		}
		return 0, true // a stream that has ended
	}
	data := f.Data()
	code, woke := st.onData(data, n, f.StreamEnded())
	if woke {
		sc.wakes.add(st.reqWake, st)
	}
	if code != http2.ErrCodeNo {
		sc.resetStream(f.StreamID, code)
	}
	return 0, true
}

// ackConn records n bytes of the client's DATA consumed.
func (sc *serverConn) ackConn(n int64) {
	if inc := sc.recv.consumed(n); inc > 0 {
		_ = sc.w.cork(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, inc) })
		sc.wakes.acks = true
	}
}

// resetStream ends a stream with RST_STREAM.
func (sc *serverConn) resetStream(id uint32, code http2.ErrCode) {
	if st := sc.stream(id); st != nil {
		st.onReset(code)
	}
	_ = sc.w.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
}

// respondStatus answers a request that is not a gRPC call with an HTTP
// status and no body, as grpc-go does (415 for another content-type).
func (sc *serverConn) respondStatus(id uint32, code string) {
	_ = sc.w.write(func(fr *http2.Framer) error {
		block := sc.w.headerBlock([]hpack.HeaderField{{Name: ":status", Value: code}})
		return sc.w.writeHeaders(fr, id, true, block)
	})
}

// removeStream forgets an ended stream; the connection goes idle when it
// was the last.
func (sc *serverConn) removeStream(st *Stream) {
	sc.mu.Lock()
	delete(sc.streams, st.id)
	n := len(sc.streams)
	away := sc.goingAway
	sc.mu.Unlock()
	if n == 0 {
		if away {
			sc.drained()
			return
		}
		sc.armIdle()
	}
}

// armIdle starts the idle timer of a connection without streams.
func (sc *serverConn) armIdle() {
	d := sc.srv.idle
	if d <= 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.idleTimer == nil {
		sc.idleTimer = time.AfterFunc(d, sc.idleFired)
		return
	}
	sc.idleTimer.Reset(d)
}

func (sc *serverConn) idleFired() {
	sc.mu.Lock()
	idle := len(sc.streams) == 0
	sc.mu.Unlock()
	if idle {
		sc.goAway(http2.ErrCodeNo)
	}
}

// goAway tells the client that no stream after the last one it opened
// will be served; the connection closes once they have ended.
func (sc *serverConn) goAway(code http2.ErrCode) {
	sc.mu.Lock()
	sc.goingAway = true
	last := sc.maxID
	n := len(sc.streams)
	sc.mu.Unlock()
	_ = sc.w.write(func(fr *http2.Framer) error { return fr.WriteGoAway(last, code, nil) })
	if n == 0 {
		sc.drained()
	}
}

// drained closes a connection going away once its last stream ended,
// after a moment for the client to see the GOAWAY.
func (sc *serverConn) drained() {
	time.AfterFunc(time.Second, func() { sc.close(io.EOF) })
}

// fail ends the connection with a GOAWAY carrying code.
func (sc *serverConn) fail(code http2.ErrCode) {
	sc.mu.Lock()
	last := sc.maxID
	sc.mu.Unlock()
	_ = sc.w.write(func(fr *http2.Framer) error { return fr.WriteGoAway(last, code, nil) })
	sc.close(fmt.Errorf("h2relay: connection error %v", code))
}

// close closes the connection and cancels its streams.
func (sc *serverConn) close(err error) {
	sc.closeOnce.Do(func() {
		sc.closeErr = err
		_ = sc.c.Close()
		sc.mu.Lock()
		streams := make([]*Stream, 0, len(sc.streams))
		for _, st := range sc.streams {
			streams = append(streams, st)
		}
		if sc.idleTimer != nil {
			sc.idleTimer.Stop()
		}
		sc.mu.Unlock()
		for _, st := range streams {
			st.onReset(http2.ErrCodeCancel)
		}
	})
}
