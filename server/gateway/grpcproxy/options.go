package grpcproxy

import (
	"crypto/tls"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Defaults of a [Pool].
const (
	// DefaultMaxMsgSize is the default limit on the size of one message
	// between the gateway and a backend, in both directions: 4 MiB, grpc-go's
	// default receive limit, so that the gateway accepts what a grpc-go
	// backend would.
	DefaultMaxMsgSize = 4 << 20
	// DefaultRetainGrace is how long [Pool.Retain] lets calls in flight on a
	// retired connection finish before it closes the connection.
	DefaultRetainGrace = 30 * time.Second
	// DefaultConnectTimeout is how long a connection attempt to a backend
	// may take when its [Backend] sets no ConnectTimeout.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultMaxReconnectBackoff is the longest a connection waits between
	// attempts to reach a backend that is down. grpc-go's own default, two
	// minutes, would leave calls failing for up to two minutes after a
	// restarted backend is back.
	DefaultMaxReconnectBackoff = 2 * time.Second
	// DefaultReconnectWait is how long a call that finds its connection
	// failing waits for the immediate reconnection it triggers (see
	// [Pool.Wake]) before it fails: enough for a TCP and TLS handshake
	// nearby, short enough that calls to a backend that is still down
	// fail soon.
	DefaultReconnectWait = 250 * time.Millisecond
	// ReconnectBaseDelay is the wait before the second attempt to reach a
	// backend that is down; each failure in a row then multiplies it by
	// grpc-go's 1.6 (±20 %), up to the maximum backoff.
	ReconnectBaseDelay = 100 * time.Millisecond
	// WakeInterval is how often calls to a backend that is down may cut
	// its backoff short with a new attempt ([Pool.Wake]): a burst of calls
	// is not a burst of connection attempts, and a backend that comes
	// back serves calls within it.
	WakeInterval = 100 * time.Millisecond
)

// defaultKeepalive notices a dead backend (a host that vanished without
// closing its connections) within about five minutes, while idle
// connections send no pings at all. Five minutes is the most frequent ping
// that grpc-go servers accept by default (their EnforcementPolicy.MinTime):
// pinging faster would make such backends close the connection with
// GOAWAY "too_many_pings". Use WithKeepalive for faster detection against
// backends that allow it.
var defaultKeepalive = keepalive.ClientParameters{
	Time:                5 * time.Minute,
	Timeout:             10 * time.Second,
	PermitWithoutStream: false,
}

// Option configures a [Proxy].
type Option interface {
	applyToProxy(*proxyOptions)
}

// PoolOption configures a [Pool].
type PoolOption interface {
	applyToPool(*poolOptions)
}

// SharedOption configures both a [Proxy] and a [Pool], so that a setting
// such as the logger is given the same way to both.
type SharedOption interface {
	Option
	PoolOption
}

type proxyOptions struct {
	logger *slog.Logger
}

type poolOptions struct {
	maxMsgSize  int
	keepalive   keepalive.ClientParameters
	dialOptions []grpc.DialOption
	tlsConfig   *tls.Config
	retainGrace time.Duration
	logger      *slog.Logger
	// Reconnection: the longest backoff between attempts, and how long a
	// call waits for a reconnection it triggered.
	maxBackoff    time.Duration
	reconnectWait time.Duration
}

// discardLogger is the default logger: a library logs nothing unless told
// where to.
var discardLogger = slog.New(slog.DiscardHandler)

type poolOptionFunc func(*poolOptions)

func (f poolOptionFunc) applyToPool(o *poolOptions) { f(o) }

type loggerOption struct{ logger *slog.Logger }

func (o loggerOption) applyToProxy(p *proxyOptions) { p.logger = o.logger }
func (o loggerOption) applyToPool(p *poolOptions)   { p.logger = o.logger }

// WithLogger sets the logger of a Proxy or a Pool. They log at debug level
// only: calls that fail in the gateway rather than in the backend, and
// connections opened and closed. A nil logger, the default, discards
// everything.
func WithLogger(logger *slog.Logger) SharedOption {
	if logger == nil {
		logger = discardLogger
	}
	return loggerOption{logger: logger}
}

// WithMaxRecvMsgSize sets the largest message, in bytes, that the Pool's
// connections accept from a backend and also send to one; a larger message
// fails the call with RESOURCE_EXHAUSTED. The default, also used when n is
// not positive, is [DefaultMaxMsgSize]. The data-plane server has its own
// limit on what clients send (grpc.MaxRecvMsgSize, also 4 MiB by default);
// raise both together.
func WithMaxRecvMsgSize(n int) PoolOption {
	return poolOptionFunc(func(o *poolOptions) {
		if n <= 0 {
			n = DefaultMaxMsgSize
		}
		o.maxMsgSize = n
	})
}

// WithKeepalive sets the keepalive pings of the Pool's connections. The
// default pings after 30 seconds without activity while calls are open,
// waits 10 seconds for the answer, and never pings idle connections; the
// package documentation explains how it interacts with backends'
// enforcement policies.
func WithKeepalive(params keepalive.ClientParameters) PoolOption {
	return poolOptionFunc(func(o *poolOptions) { o.keepalive = params })
}

// WithDialOptions adds options to every connection the Pool makes, after
// its own, so they can override them (for example a stats handler for
// tracing, or custom transport credentials).
func WithDialOptions(opts ...grpc.DialOption) PoolOption {
	return poolOptionFunc(func(o *poolOptions) { o.dialOptions = append(o.dialOptions, opts...) })
}

// WithTLSConfig sets the TLS configuration that connections to backends
// with [Backend.TLS] start from, for example to trust a private CA with
// RootCAs or to present a client certificate. The Pool clones it for each
// backend and clears ServerName when the backend has an Authority, which
// then names the server. The default is the system's roots and TLS 1.2 or
// later; nil restores it.
func WithTLSConfig(cfg *tls.Config) PoolOption {
	return poolOptionFunc(func(o *poolOptions) { o.tlsConfig = cfg })
}

// WithRetainGrace sets how long [Pool.Retain] waits before it closes a
// connection it retires, so that calls in flight on it can finish; calls
// still open then fail with CANCELED or UNAVAILABLE. Zero or less closes at
// once. The default is [DefaultRetainGrace].
func WithRetainGrace(d time.Duration) PoolOption {
	return poolOptionFunc(func(o *poolOptions) { o.retainGrace = max(d, 0) })
}

// WithReconnect sets the longest wait between two attempts to reconnect to
// a backend that is down (default [DefaultMaxReconnectBackoff]) and how
// long a call that finds its connection failing waits for the immediate
// reconnection it triggers (default [DefaultReconnectWait]; zero or less:
// the call fails at once, but the next one finds the new connection). A
// maxBackoff of zero or less keeps the default.
func WithReconnect(maxBackoff, wait time.Duration) PoolOption {
	return poolOptionFunc(func(o *poolOptions) {
		if maxBackoff > 0 {
			o.maxBackoff = maxBackoff
		}
		o.reconnectWait = max(wait, 0)
	})
}
