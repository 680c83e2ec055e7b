package connsplit

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// Defaults of a Splitter.
const (
	// DefaultTimeout bounds how long a client may take to send its first
	// bytes (or its HTTP/2 preface): as the HTTP server's header timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultFirstRequestWait is how long a cleartext HTTP/2 connection may
	// stay without a request before it is handed to gRPC. gRPC channels
	// connect ahead of their first call (and some clients wait for the
	// server's SETTINGS before sending any request), while HTTP/2 REST
	// clients send their request with the preface.
	DefaultFirstRequestWait = 250 * time.Millisecond
)

// Option configures a Splitter.
type Option func(*Splitter)

// WithTimeout sets how long a connection may take to show what it is before
// it is closed. Default DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *Splitter) { s.timeout = d }
}

// WithFirstRequestWait sets how long an HTTP/2 connection without a request
// waits before it goes to gRPC. Default DefaultFirstRequestWait.
func WithFirstRequestWait(d time.Duration) Option {
	return func(s *Splitter) { s.firstRequestWait = d }
}

// WithHTTP2Conn sets a function through which every HTTP/2 connection
// (gRPC or h2c, by its preface) passes before it is handed over, to watch
// or limit it at the frame level. The connection it is given replays the
// bytes read to classify it, preface included. Default none.
func WithHTTP2Conn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Splitter) { s.wrapHTTP2 = wrap }
}

// WithHTTP1Conn sets a function through which every connection that is
// neither HTTP/2 nor gRPC (HTTP/1.x, or anything net/http will refuse)
// passes before it is handed to the HTTP listener. The connection it is
// given replays the bytes read to classify it. Default none.
func WithHTTP1Conn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Splitter) { s.wrapHTTP1 = wrap }
}

// Splitter accepts connections from one listener and hands each to the
// gRPC or the HTTP listener it exposes, by the first request (see
// Classify). Classification runs per connection, so a slow client never
// delays others. Closing either listener, or the Splitter, closes the
// underlying listener: the port stops accepting.
type Splitter struct {
	root             net.Listener
	timeout          time.Duration
	firstRequestWait time.Duration
	wrapHTTP2        func(net.Conn) net.Conn
	wrapHTTP1        func(net.Conn) net.Conn
	grpc, http       *child
	done             chan struct{}
	closeOnce        sync.Once
	closeErr         error
	classifying      sync.WaitGroup
	tlsConfig        *tls.Config                      // nil: cleartext
	onHandshakeError func(remote net.Addr, err error) // nil: not reported
}

// New returns a Splitter over ln. Call Serve to start accepting.
func New(ln net.Listener, opts ...Option) *Splitter {
	s := &Splitter{
		root:             ln,
		timeout:          DefaultTimeout,
		firstRequestWait: DefaultFirstRequestWait,
		done:             make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.grpc = &child{s: s, conns: make(chan net.Conn)}
	s.http = &child{s: s, conns: make(chan net.Conn)}
	return s
}

// GRPC returns the listener of gRPC connections, for grpc.Server.Serve.
func (s *Splitter) GRPC() net.Listener { return s.grpc }

// HTTP returns the listener of every other connection, for http.Server.Serve.
func (s *Splitter) HTTP() net.Listener { return s.http }

// Serve accepts connections until the Splitter or one of its listeners is
// closed, then returns nil; it returns the underlying listener's error if
// accepting fails otherwise.
func (s *Splitter) Serve() error {
	defer s.classifying.Wait()
	var delay time.Duration
	for {
		c, err := s.root.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off as
				// net/http does, rather than spin.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-s.done:
					return nil
				}
			}
			_ = s.Close()
			return err
		}
		delay = 0
		s.classifying.Add(1)
		go func() {
			defer s.classifying.Done()
			s.route(c)
		}()
	}
}

// Close closes the underlying listener and both listeners.
func (s *Splitter) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeErr = s.root.Close()
	})
	return s.closeErr
}

// route classifies c and hands it over, or closes it.
func (s *Splitter) route(c net.Conn) {
	if s.tlsConfig != nil {
		tc, err := s.handshake(c)
		if err != nil {
			_ = c.Close()
			return
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			// HTTP/1.x: net/http takes the *tls.Conn as it is.
			s.handOver(s.http, tc)
			return
		}
		c = tc
	}
	kind, buf, err := s.sniff(c)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	dst := s.http
	if kind == GRPC {
		dst = s.grpc
	}
	var rc net.Conn = &replayConn{Conn: c, pending: buf}
	switch isHTTP2 := len(buf) >= len(clientPreface) && string(buf[:len(clientPreface)]) == clientPreface; {
	case isHTTP2 && s.wrapHTTP2 != nil:
		rc = s.wrapHTTP2(rc)
	case !isHTTP2 && s.wrapHTTP1 != nil:
		rc = s.wrapHTTP1(rc)
	}
	s.handOver(dst, rc)
}

// handOver gives c to the listener dst, or closes it if the Splitter is
// closed first.
func (s *Splitter) handOver(dst *child, c net.Conn) {
	select {
	case dst.conns <- c:
	case <-s.done:
		_ = c.Close()
	}
}

// sniff reads from c until Classify decides, and returns what it read.
func (s *Splitter) sniff(c net.Conn) (Kind, []byte, error) {
	deadline := time.Now().Add(s.timeout)
	_ = c.SetReadDeadline(deadline)
	buf := make([]byte, 0, 512)
	waiting := false // a complete preface arrived: wait firstRequestWait at most
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		kind := Classify(buf)
		if kind != Undecided {
			return kind, buf, nil
		}
		if err != nil {
			var ne net.Error
			if waiting && errors.As(err, &ne) && ne.Timeout() {
				// An HTTP/2 connection opened ahead of its first request.
				return GRPC, buf, nil
			}
			return Undecided, nil, err
		}
		if !waiting && len(buf) >= len(clientPreface) {
			waiting = true
			_ = c.SetReadDeadline(earliest(deadline, time.Now().Add(s.firstRequestWait)))
		}
	}
}

// earliest returns the earlier of two times.
func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// child is one of a Splitter's listeners.
type child struct {
	s     *Splitter
	conns chan net.Conn
}

// Accept returns the next connection of this kind.
func (l *child) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

// Close closes the Splitter: the port stops accepting.
func (l *child) Close() error {
	err := l.s.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Addr returns the underlying listener's address.
func (l *child) Addr() net.Addr { return l.s.root.Addr() }

// replayConn returns the sniffed bytes before reading on.
type replayConn struct {
	net.Conn
	pending []byte // nil once replayed, so that the sniff buffer is freed
}

// Read returns the sniffed bytes first.
func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// Buffered returns how many sniffed bytes are still to be replayed. While
// it is not 0, reading the connection under NetConn would skip them. Like
// Read, it must not run concurrently with Read.
func (c *replayConn) Buffered() int { return len(c.pending) }

// NetConn returns the connection the sniffed bytes were read from, as
// tls.Conn.NetConn does: e.g. to wait for it to become readable once
// Buffered is 0.
func (c *replayConn) NetConn() net.Conn { return c.Conn }
