package grpcproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ErrPoolClosed is returned by [Pool.Conn] after [Pool.Close].
var ErrPoolClosed = errors.New("grpcproxy: pool is closed")

// Backend identifies a gRPC backend. It is comparable; a [Pool] keeps one
// connection per distinct Backend value.
type Backend struct {
	// Target is what grpc.NewClient dials, such as "orders.internal:8443",
	// "10.0.0.7:9000" or "dns:///orders.internal:8443". Without a scheme it
	// is resolved with DNS.
	Target string
	// TLS makes the connection use TLS, verified against the system's roots
	// unless the Pool was given [WithTLSConfig]. Without TLS the connection
	// is plaintext HTTP/2 (h2c).
	TLS bool
	// Authority, when set, is sent as the :authority of every call and, with
	// TLS, is the name the backend's certificate must match. Empty means the
	// host of Target.
	Authority string
	// TLSConfig, when set, is the TLS configuration of this backend (a
	// private CA, a client certificate...), used instead of the Pool's;
	// it implies TLS. Backends are told apart by the pointer: share one
	// *tls.Config between equal settings to share their connection. It
	// must not be changed after use.
	TLSConfig *tls.Config
	// ConnectTimeout bounds each attempt to connect to the backend (TCP and
	// TLS handshakes). Zero means [DefaultConnectTimeout].
	ConnectTimeout time.Duration
}

// Pool keeps one shared grpc.ClientConn per [Backend], made on first use
// and reused by every call to that backend, so that calls share HTTP/2
// connections instead of paying a handshake each. Make a Pool with
// [NewPool]; the zero Pool is not usable. A Pool is safe for concurrent use.
type Pool struct {
	opts     poolOptions
	dialOpts []grpc.DialOption // options shared by every backend

	wakes sync.Map // *grpc.ClientConn → *atomic.Int64: Wake's last backoff reset, Unix nanoseconds

	mu       sync.RWMutex
	conns    map[Backend]*grpc.ClientConn
	draining map[Backend]*drainingConn
	closed   bool
}

// drainingConn is a connection retired by Retain, closed when timer fires
// unless a call or a later Retain wants its backend back first.
type drainingConn struct {
	conn  *grpc.ClientConn
	timer *time.Timer
}

// NewPool returns an empty Pool configured by opts. It dials nothing:
// connections are made on first use.
func NewPool(opts ...PoolOption) *Pool {
	o := poolOptions{
		maxMsgSize:    DefaultMaxMsgSize,
		keepalive:     defaultKeepalive,
		retainGrace:   DefaultRetainGrace,
		logger:        discardLogger,
		maxBackoff:    DefaultMaxReconnectBackoff,
		reconnectWait: DefaultReconnectWait,
	}
	for _, opt := range opts {
		opt.applyToPool(&o)
	}
	dialOpts := []grpc.DialOption{
		grpc.WithKeepaliveParams(o.keepalive),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(Codec()),
			grpc.MaxCallRecvMsgSize(o.maxMsgSize),
			grpc.MaxCallSendMsgSize(o.maxMsgSize),
		),
	}
	return &Pool{
		opts:     o,
		dialOpts: dialOpts,
		conns:    make(map[Backend]*grpc.ClientConn),
		draining: make(map[Backend]*drainingConn),
	}
}

// Conn returns the connection to b, making it on the first call for b. The
// connection is shared: callers must not close it. Making a connection does
// not dial, so Conn does not fail for an unreachable backend; calls on the
// connection do. It fails for a target grpc.NewClient rejects, and with
// [ErrPoolClosed] after Close.
func (p *Pool) Conn(b Backend) (*grpc.ClientConn, error) {
	p.mu.RLock()
	cc, ok := p.conns[b]
	closed := p.closed
	p.mu.RUnlock()
	if ok {
		return cc, nil
	}
	if closed {
		return nil, ErrPoolClosed
	}
	if b.Target == "" {
		return nil, errors.New("grpcproxy: backend has an empty target")
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	if cc, ok := p.conns[b]; ok {
		return cc, nil
	}
	if cc, ok := p.reviveLocked(b); ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(b.Target, p.dialOptions(b)...)
	if err != nil {
		return nil, fmt.Errorf("grpcproxy: making a connection to %s: %w", b.Target, err)
	}
	p.conns[b] = cc
	p.opts.logger.Debug("grpcproxy: made a backend connection", backendAttrs(b)...)
	return cc, nil
}

// Wake makes a connection that is failing try again now. A connection to
// a backend that was down waits, between attempts, for a backoff that
// grows up to the pool's maximum; without Wake, calls would keep failing
// during that wait even once the backend is back. When cc is in
// TRANSIENT_FAILURE, Wake resets its backoff (so it reconnects at once;
// at most once per 100 ms, so that a burst of calls to a dead backend is
// not a burst of connection attempts) and waits for it to become READY,
// up to the pool's reconnect wait or ctx's end. It returns at once for a
// connection in any other state. The call that follows fails as before if
// the backend is still down.
func (p *Pool) Wake(ctx context.Context, cc *grpc.ClientConn) {
	state := cc.GetState()
	if state != connectivity.TransientFailure {
		return
	}
	v, _ := p.wakes.LoadOrStore(cc, new(atomic.Int64))
	lastWake := v.(*atomic.Int64)
	now := time.Now().UnixNano()
	if last := lastWake.Load(); now-last > int64(WakeInterval) && lastWake.CompareAndSwap(last, now) {
		cc.ResetConnectBackoff()
	}
	if p.opts.reconnectWait <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.reconnectWait)
	defer cancel()
	// grpc-go keeps reporting TRANSIENT_FAILURE while it reconnects, until
	// READY: wait for any change, and give up at the wait's end.
	for state != connectivity.Ready && state != connectivity.Shutdown {
		if !cc.WaitForStateChange(ctx, state) {
			return
		}
		state = cc.GetState()
	}
}

// reviveLocked moves b's connection back from draining to live if its
// close has not started, so that a backend that returns to a deployment
// within the grace period keeps its warm connection.
func (p *Pool) reviveLocked(b Backend) (*grpc.ClientConn, bool) {
	d, ok := p.draining[b]
	if !ok || !d.timer.Stop() {
		return nil, false
	}
	delete(p.draining, b)
	p.conns[b] = d.conn
	return d.conn, true
}

func (p *Pool) dialOptions(b Backend) []grpc.DialOption {
	opts := make([]grpc.DialOption, 0, len(p.dialOpts)+len(p.opts.dialOptions)+2)
	opts = append(opts, p.dialOpts...)
	if b.TLS || b.TLSConfig != nil {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		switch {
		case b.TLSConfig != nil:
			cfg = b.TLSConfig.Clone()
		case p.opts.tlsConfig != nil:
			cfg = p.opts.tlsConfig.Clone()
		}
		if b.Authority != "" {
			// grpc-go takes the name to verify from the authority when
			// ServerName is empty, and refuses a ServerName that differs
			// from an explicit authority.
			cfg.ServerName = ""
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if b.Authority != "" {
		opts = append(opts, grpc.WithAuthority(b.Authority))
	}
	connectTimeout := b.ConnectTimeout
	if connectTimeout <= 0 {
		connectTimeout = DefaultConnectTimeout
	}
	opts = append(opts, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: backoff.Config{
			BaseDelay:  ReconnectBaseDelay,
			Multiplier: backoff.DefaultConfig.Multiplier,
			Jitter:     backoff.DefaultConfig.Jitter,
			MaxDelay:   p.opts.maxBackoff,
		},
		MinConnectTimeout: connectTimeout,
	}))
	return append(opts, p.opts.dialOptions...)
}

// Retain keeps the connections of the backends in keep and retires all
// others, typically after deployments change. A retired connection is
// closed after the grace period set with [WithRetainGrace] (30 seconds by
// default), so that calls in flight on it can finish; calls still open then
// fail. A call to a retired backend within the grace period takes its
// connection back. Retain after Close does nothing.
func (p *Pool) Retain(keep []Backend) {
	want := make(map[Backend]struct{}, len(keep))
	for _, b := range keep {
		want[b] = struct{}{}
	}
	var closeNow []*grpc.ClientConn
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	for b := range want {
		p.reviveLocked(b)
	}
	for b, cc := range p.conns {
		if _, ok := want[b]; ok {
			continue
		}
		if cc := p.retireLocked(b, cc); cc != nil {
			closeNow = append(closeNow, cc)
		}
	}
	p.mu.Unlock()
	for _, cc := range closeNow {
		p.closeConn(cc)
	}
}

// Adjust is Retain for a change: the connections of the backends in add
// are kept (taken back if retired), those of remove retired as Retain
// retires them. Its cost is the size of the change, not of the pool.
func (p *Pool) Adjust(add, remove []Backend) {
	var closeNow []*grpc.ClientConn
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	for _, b := range add {
		p.reviveLocked(b)
	}
	for _, b := range remove {
		if cc, ok := p.conns[b]; ok {
			if cc := p.retireLocked(b, cc); cc != nil {
				closeNow = append(closeNow, cc)
			}
		}
	}
	p.mu.Unlock()
	for _, cc := range closeNow {
		p.closeConn(cc)
	}
}

// retireLocked takes b's connection cc out of the pool: it returns cc
// when it is to be closed now, or starts its grace period and returns nil.
func (p *Pool) retireLocked(b Backend, cc *grpc.ClientConn) *grpc.ClientConn {
	delete(p.conns, b)
	p.opts.logger.Debug("grpcproxy: retiring a backend connection", backendAttrs(b)...)
	if p.opts.retainGrace <= 0 {
		return cc
	}
	// An entry left by a drain whose timer has fired belongs to a
	// closing connection; the new one replaces it, and finishDrain only
	// removes its own.
	d := &drainingConn{conn: cc}
	d.timer = time.AfterFunc(p.opts.retainGrace, func() { p.finishDrain(b, cc) })
	p.draining[b] = d
	return nil
}

// finishDrain closes a retired connection once its grace period is over.
func (p *Pool) finishDrain(b Backend, cc *grpc.ClientConn) {
	p.mu.Lock()
	if d, ok := p.draining[b]; ok && d.conn == cc {
		delete(p.draining, b)
	}
	p.mu.Unlock()
	p.closeConn(cc)
}

func (p *Pool) closeConn(cc *grpc.ClientConn) {
	p.wakes.Delete(cc)
	if err := cc.Close(); err != nil {
		p.opts.logger.Debug("grpcproxy: closing a backend connection", "target", cc.Target(), "error", err)
	}
}

// Len returns the number of live connections, one per backend in use.
// Connections retired by Retain and still in their grace period are not
// counted.
func (p *Pool) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.conns)
}

// Close closes every connection at once, including retired ones still in
// their grace period; calls in flight fail. Conn then fails with
// [ErrPoolClosed]. Closing a closed Pool does nothing.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	all := make([]*grpc.ClientConn, 0, len(p.conns)+len(p.draining))
	for _, cc := range p.conns {
		all = append(all, cc)
	}
	for _, d := range p.draining {
		// A drain whose timer has already fired closes its connection
		// itself; closing it here too would only report an error.
		if d.timer.Stop() {
			all = append(all, d.conn)
		}
	}
	p.conns, p.draining = nil, nil
	p.mu.Unlock()
	p.wakes.Clear()

	var errs []error
	for _, cc := range all {
		if err := cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("grpcproxy: closing the connection to %s: %w", cc.Target(), err))
		}
	}
	return errors.Join(errs...)
}

func backendAttrs(b Backend) []any {
	return []any{slog.String("target", b.Target), slog.Bool("tls", b.TLS), slog.String("authority", b.Authority), slog.Duration("connect_timeout", b.ConnectTimeout)}
}
