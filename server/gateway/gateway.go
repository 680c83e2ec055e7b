package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	// gzip is registered with grpc-go's compressors so that both gRPC
	// relays inflate gzip requests on the message path (validation, the
	// cache) rather than refuse them; the binary had it only by way of
	// the OpenTelemetry exporters.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	policychain "github.com/tollgate-gw/tollgate/interceptors/chain"
	"github.com/tollgate-gw/tollgate/interceptors/recovery"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/cowmap"
	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/netguard"
	"github.com/tollgate-gw/tollgate/internal/rawsock"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
	ws "github.com/tollgate-gw/tollgate/server/gateway/websocket"
)

// Metadata entries the gateway reads. Every "x-tollgate-" entry is removed
// before a call reaches a backend.
const (
	// StageMetadataKey selects the stage of a gRPC call: a stage resource
	// name, "api/stage", or a stage ID.
	StageMetadataKey = "x-tollgate-stage"
	// callTokenMetadataKey carries the token under which a streaming
	// transcoded call's restRequest waits in Gateway.restCalls: the one
	// gateway fact that crosses the in-process transport as metadata. It
	// is looked up only for calls over bufconn, and a token is a random
	// 128-bit value used once, so a client cannot name another call's.
	callTokenMetadataKey = "x-tollgate-call"
)

// Defaults of the data plane.
const (
	DefaultMaxBodyBytes   = 10 << 20
	DefaultMaxRecvMsgSize = 4 << 20
	// DefaultIdleTimeout is how long a gRPC connection may carry no call.
	DefaultIdleTimeout = 2 * time.Minute
	// MaxConcurrentStreams bounds the calls a client may have open on one
	// gRPC connection.
	MaxConcurrentStreams = 1000
	// streamWorkers is how many goroutines serve calls; calls beyond them
	// get a goroutine of their own, as without workers.
	streamWorkers = 128
	// DefaultStreamWindow is the flow-control window of each call
	// (WithStreamWindow).
	DefaultStreamWindow = 64 << 10
	minStreamWindow     = 64 << 10
)

// Option configures a Gateway.
type Option func(*Gateway)

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(g *Gateway) {
		if l != nil {
			g.logger = l
		}
	}
}

// WithInterceptors appends policy interceptors to the chain, after routing
// and the request ID. They see what the gateway knows of the call with
// callinfo.FromContext (the policies never import the gateway).
func WithInterceptors(i ...grpc.StreamServerInterceptor) Option {
	return func(g *Gateway) { g.policy = append(g.policy, i...) }
}

// WithMetadataHeaders names request headers that plain HTTP calls hand to
// the policy interceptors as metadata entries of the same (lower-case)
// name, as a gRPC client sends them — x-api-key for the API-key policy, say.
// Transcoded REST calls get them from the transcoder. The gateway itself
// knows no policy: the server says what its interceptors read.
func WithMetadataHeaders(names ...string) Option {
	return func(g *Gateway) {
		for _, n := range names {
			g.metadataHeaders = append(g.metadataHeaders, strings.ToLower(n))
		}
	}
}

// WithMaxBodyBytes limits REST request bodies. Default 10 MiB.
func WithMaxBodyBytes(n int64) Option {
	return func(g *Gateway) { g.maxBodyBytes = n }
}

// WithIdleTimeout sets how long a natively served gRPC connection may go
// without calls before the gateway sends GOAWAY and closes it (clients
// reconnect on their next call), as the HTTP server closes idle keep-alive
// connections. Default DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) Option {
	return func(g *Gateway) { g.idleTimeout = d }
}

// WithTrustedProxies sets the proxies whose forwarding headers are believed
// (X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Forwarded): from
// a peer in prefixes, the client IP is the right-most X-Forwarded-For
// address not in prefixes, and the received chain is appended to. From any
// other peer, and by default (no trusted proxies), the gateway replaces
// them with what the connection says before anything reads them.
func WithTrustedProxies(prefixes []netip.Prefix) Option {
	return func(g *Gateway) { g.proxies = forwarded.NewProxies(prefixes) }
}

// WithMaxRecvMsgSize limits gRPC messages received from clients and
// backends. Default 4 MiB, as grpc-go.
func WithMaxRecvMsgSize(n int) Option {
	return func(g *Gateway) { g.maxRecvMsgSize = n }
}

// WithStreamWindow sets the HTTP/2 flow-control window, in bytes, of
// each call in each direction the gateway receives: from backends (its
// pool's connections) and from clients (its gRPC server). It is what the
// gateway buffers at most for one call that the other side does not read
// yet — a fast backend streaming to a slow client, or a client streaming
// to a slow backend — so the memory of a stream is bounded by
// configuration, not by the speed of either side; grpc-go's own 64 KiB
// write quota per call bounds the sending side. The connection window is
// 16 times the call's. Default DefaultStreamWindow; values below 64 KiB
// (HTTP/2's initial window) are raised to it. Larger windows let one
// stream go faster over a path with a long round trip, at that cost per
// stream.
func WithStreamWindow(n int32) Option {
	return func(g *Gateway) { g.streamWindow = n }
}

// WithLinkLocalTargets lets the data plane connect to backends on
// link-local and cloud metadata addresses (see internal/netguard). By
// default such a connection is refused after name resolution, so neither a
// host name nor a stage variable can lead a call to the host's metadata
// service; the call fails as with an unreachable backend.
func WithLinkLocalTargets(allow bool) Option {
	return func(g *Gateway) { g.allowLinkLocal = allow }
}

// Gateway is the data plane. Create it with New, give it a routing table with
// Load, serve it with ServeHTTP, and Close it.
type Gateway struct {
	logger         *slog.Logger
	policy         []grpc.StreamServerInterceptor
	httpChain      []grpc.StreamServerInterceptor // the chain after routing
	serverChain    []grpc.StreamServerInterceptor // the whole chain, routing included
	proxyHandler   grpc.StreamHandler
	maxBodyBytes   int64
	maxRecvMsgSize int
	streamWindow   int32
	idleTimeout    time.Duration
	proxies        *forwarded.Proxies // trusted proxies; nil trusts nobody
	// forwards caches forwardGRPC's results for calls without forwarding
	// entries of their own, by connection and :authority (fwdKey to
	// *fwdResult); cleared when it reaches maxForwards entries.
	forwards       sync.Map
	numForwards    atomic.Int32
	allowLinkLocal bool

	grpcServer *grpc.Server
	pool       *grpcproxy.Pool
	upstreams  *upstreams // target sets of integrations with several targets
	inproc     *bufconn.Listener
	inprocConn *grpc.ClientConn
	transcoded *inProcessConn // what transcoders call
	httpProxy  *httpIntegrations
	// metadataHeaders are what the policies read from plain HTTP
	// requests as metadata (WithMetadataHeaders).
	metadataHeaders []string
	ws              *ws.Handler // WebSocket connections and their callback API
	wsConfig        ws.Config   // its options, until New builds it
	// serverCreds are the gRPC server's transport credentials, or nil.
	serverCreds credentials.TransportCredentials
	backendTLS  backendTLSConfigs // integrations' backend_tls

	current atomic.Pointer[servedTable]
	// backendUsers counts the runtimes of the current table using each
	// gRPC backend (under mu), for adjustBackends.
	backendUsers map[grpcproxy.Backend]int
	failures     atomic.Pointer[[]routing.StageError] // of the last Load
	// authorizersChanged is AuthorizersChanged's answer.
	authorizersChanged atomic.Bool
	mu                 sync.Mutex // serializes Load
	refs               sync.Map   // stage ref ID → *stageRuntime, for in-process calls
	// restCalls holds the restRequest of each streaming transcoded call
	// between its start and its routing, by callTokenMetadataKey's token:
	// a context value does not cross the in-process transport.
	restCalls sync.Map
	nextRef   atomic.Uint64
	serving   sync.WaitGroup
	closed    atomic.Bool

	openStreams atomic.Int64 // see OpenGRPCStreams

	grpcRelay GRPCRelay   // WithGRPCRelay
	frames    *frameRelay // nil unless RelayFrames
}

var _ http.Handler = (*Gateway)(nil)

// New returns a Gateway serving nothing until Load.
func New(opts ...Option) (*Gateway, error) {
	g := &Gateway{
		logger:         slog.New(slog.DiscardHandler),
		maxBodyBytes:   DefaultMaxBodyBytes,
		maxRecvMsgSize: DefaultMaxRecvMsgSize,
		idleTimeout:    DefaultIdleTimeout,
		streamWindow:   DefaultStreamWindow,
	}
	for _, o := range opts {
		o(g)
	}
	if g.maxBodyBytes <= 0 || g.maxRecvMsgSize <= 0 {
		return nil, errors.New("gateway: body and message size limits must be positive")
	}
	if g.idleTimeout <= 0 {
		return nil, errors.New("gateway: the idle timeout must be positive")
	}
	// One buffer pool for both sides of the proxy: a message received from
	// a backend into a pooled buffer is sent to the client from it.
	buffers := grpcproxy.NewBufferPool()
	// Fixed flow-control windows (which also turn off grpc-go's BDP
	// estimation, whose windows grow to 16 MiB per stream): what a stream
	// buffers in the gateway is bounded by configuration.
	window := max(g.streamWindow, minStreamWindow)
	connWindow := 16 * window
	dialOpts := []grpc.DialOption{
		experimental.WithBufferPool(buffers),
		grpc.WithInitialWindowSize(window),
		grpc.WithInitialConnWindowSize(connWindow),
	}
	if !g.allowLinkLocal {
		dial := netguard.GRPCDialer()
		dialOpts = append(dialOpts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dial(ctx, addr)
			if err != nil {
				return nil, err
			}
			return rawsock.Wrap(c), nil
		}))
	}
	g.pool = grpcproxy.NewPool(grpcproxy.WithMaxRecvMsgSize(g.maxRecvMsgSize), grpcproxy.WithLogger(g.logger),
		grpcproxy.WithDialOptions(dialOpts...))
	g.upstreams = newUpstreams(g.pool, g.logger)
	g.upstreams.backendOf = g.backendOf
	proxy := grpcproxy.New(g.pool, g.direct, grpcproxy.WithLogger(g.logger))
	// After routing, every call — gRPC, transcoded REST, plain HTTP —
	// passes the same interceptors: g.httpChain is that part of the chain.
	g.httpChain = append([]grpc.StreamServerInterceptor{
		requestid.StreamServerInterceptor(requestid.WithLogger(g.logger), requestid.WithAttributes(routeAttrs)),
	}, g.policy...)
	g.httpChain = append(g.httpChain, integrationInterceptor)
	all := append([]grpc.StreamServerInterceptor{
		g.countStreams,
		recovery.StreamServerInterceptor(g.logger),
		g.routeInterceptor,
	}, g.httpChain...)
	// Each chain is one interceptor (policychain.Stream): one allocation per
	// call, where chaining the list allocates a closure per interceptor.
	g.httpChain = []grpc.StreamServerInterceptor{policychain.Stream(g.httpChain...)}
	g.serverChain = []grpc.StreamServerInterceptor{policychain.Stream(all...)}
	g.proxyHandler = proxy.Handler()
	if err := g.initWebSockets(); err != nil {
		_ = g.pool.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.grpcServer = grpc.NewServer(
		g.credsOption(),
		grpc.UnknownServiceHandler(g.proxyHandler),
		grpc.ForceServerCodecV2(grpcproxy.Codec()),
		// Every proxied call is a stream call to the unknown-service
		// handler, through the policy chain; the only registered service,
		// the WebSocket callback API, is unary and has its own
		// authentication.
		grpc.ChainStreamInterceptor(g.serverChain...),
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(g.logger), g.ws.Service().UnaryServerInterceptor()),
		grpc.MaxRecvMsgSize(g.maxRecvMsgSize),
		// Limits of the native transport (ServeGRPC), as the HTTP/2
		// server's: bounded streams per connection; grpc-go also bounds
		// pings without calls and queued control frames.
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		// Connections that carry no call are closed, so that idle
		// connections (or ones that never make a call) cannot pile up.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: g.idleTimeout}),
		// Calls run on reused goroutines whose stacks have already grown
		// to the depth of the chain, instead of a fresh goroutine (and
		// several stack copies) per call.
		grpc.NumStreamWorkers(streamWorkers),
		experimental.BufferPool(buffers),
		grpc.InitialWindowSize(window),
		grpc.InitialConnWindowSize(connWindow),
	)
	datav1.RegisterConnectionsServiceServer(g.grpcServer, g.ws.Service())
	if err := g.initFrameRelay(proxy, window); err != nil {
		_ = g.pool.Close()
		return nil, err
	}
	g.inproc = bufconn.Listen(1 << 20)
	g.serving.Add(1)
	go func() {
		defer g.serving.Done()
		_ = g.grpcServer.Serve(g.inproc)
	}()
	conn, err := grpc.NewClient("passthrough:///tollgate-inprocess",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// grpcproxy's codec decodes like gRPC's proto codec but returns an
		// error where the decoder of a transcoder's dynamicpb response
		// would panic on a backend's malformed bytes.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(g.maxRecvMsgSize), grpc.MaxCallSendMsgSize(g.maxRecvMsgSize), grpc.ForceCodecV2(grpcproxy.Codec())),
	)
	if err != nil {
		g.grpcServer.Stop()
		return nil, fmt.Errorf("gateway: in-process connection: %w", err)
	}
	g.inprocConn = conn
	g.transcoded = &inProcessConn{g: g, stream: conn, final: g.proxyHandler}
	if g.frames != nil {
		g.transcoded.final = g.restUnaryHandler
	}
	g.backendTLS.logger = g.logger
	g.httpProxy = newHTTPIntegrations(g.logger, g.allowLinkLocal, &g.backendTLS, g.upstreams)
	g.upstreams.http = g.httpProxy
	g.current.Store(&servedTable{table: routing.Empty()})
	return g, nil
}

// routeAttrs adds the matched route to access log lines.
func routeAttrs(ctx context.Context) []slog.Attr {
	r := routing.FromContext(ctx)
	if r == nil {
		return nil
	}
	return []slog.Attr{slog.String("stage", r.Stage.Name), slog.String("deployment", r.Stage.Deployment), slog.String("route", r.Name())}
}

// Load compiles cfg into a new routing table and swaps it in atomically.
// Calls already running finish on the table they started with.
//
// A stage that cannot be compiled (its routes, its transcoder) keeps
// serving what it served before, if it was served; otherwise it is left
// out. Either way it is returned as a *routing.StageError and listed by
// Failures until a Load compiles it.
func (g *Gateway) Load(cfg routing.Config) []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev := g.current.Load()
	cfg.Previous, cfg.KeepPrevious = prev.table, true
	next, errs := g.build(prev, cfg)
	added, retired := runtimeChanges(prev, next, cfg.Delta)
	for _, rt := range added {
		rt.ref.serve(&g.refs, rt)
	}
	g.current.Store(next)
	g.upstreams.reload()
	g.ws.CloseRetired(next.table)
	g.adjustBackends(next, added, retired, cfg.Delta)
	// Retired runtimes stay reachable by in-process calls only while such
	// calls run: the last one to end frees them. A new runtime may carry
	// on its predecessor's reference (see stageRuntime).
	live := map[*stageRef]bool{}
	for _, rt := range added {
		live[rt.ref] = true
	}
	for _, rt := range retired {
		if !live[rt.ref] {
			rt.ref.retire(&g.refs)
		}
	}
	failures := make([]routing.StageError, 0, len(errs))
	for _, err := range errs {
		var se *routing.StageError
		if errors.As(err, &se) {
			failures = append(failures, *se)
			if se.Kept != "" {
				g.logger.Error("stage keeps serving its previous deployment: the new one cannot be compiled",
					"stage", se.Stage, "serving", se.Kept, "failed", se.Deployment, "error", se.Err)
				continue
			}
		}
		g.logger.Error("stage not served", "error", err)
	}
	if prevFailures := g.failures.Load(); cfg.Delta && prevFailures != nil {
		// The stages a change leaves alone still fail as they did.
		touched := map[string]bool{}
		for _, e := range cfg.Stages {
			touched[e.Stage.GetName()] = true
		}
		for _, name := range cfg.Removed {
			touched[name] = true
		}
		for _, f := range *prevFailures {
			if !touched[f.Stage] {
				failures = append(failures, f)
			}
		}
	}
	g.failures.Store(&failures)
	g.authorizersChanged.Store(!cfg.Delta || changesAuthorizers(next.table.Changes()))
	return errs
}

// changesAuthorizers reports whether a stage of changes holds authorizers
// in its old or new compilation.
func changesAuthorizers(changes []routing.StageChange) bool {
	for _, ch := range changes {
		for _, s := range append(withCanary(ch.Old), withCanary(ch.New)...) {
			if len(s.Authorizers) > 0 {
				return true
			}
		}
	}
	return false
}

// AuthorizersChanged reports whether the last Load may have changed the
// authorizers StageAuthorizers returns: after a Load of a change
// (Config.Delta) that no stage holding authorizers is part of, they are
// the same, and a caller can skip that O(stages) walk.
func (g *Gateway) AuthorizersChanged() bool { return g.authorizersChanged.Load() }

// runtimeChanges returns the runtimes next serves and prev did not
// (added), and those prev served and next does not (retired): from the
// table's changes after a Load with Config.Delta, from every runtime of
// both otherwise.
func runtimeChanges(prev, next *servedTable, delta bool) (added, retired []*stageRuntime) {
	if !delta {
		for s, rt := range next.stages.All() {
			if prev.stages.Value(s) != rt {
				added = append(added, rt)
			}
		}
		for s, rt := range prev.stages.All() {
			if next.stages.Value(s) != rt {
				retired = append(retired, rt)
			}
		}
		return added, retired
	}
	for _, ch := range next.table.Changes() {
		for _, s := range withCanary(ch.New) {
			if rt := next.stages.Value(s); rt != nil {
				added = append(added, rt)
			}
		}
		for _, s := range withCanary(ch.Old) {
			if rt := prev.stages.Value(s); rt != nil && next.stages.Value(s) != rt {
				retired = append(retired, rt)
			}
		}
	}
	return added, retired
}

// withCanary returns st and its canary, if any (nothing for a nil st).
func withCanary(st *routing.Stage) []*routing.Stage {
	switch {
	case st == nil:
		return nil
	case st.Canary() != nil:
		return []*routing.Stage{st, st.Canary()}
	}
	return []*routing.Stage{st}
}

// adjustBackends keeps the pooled connections of the backends next's
// runtimes use and retires the others. Each backend counts the runtimes
// using it, so that after a Load with Config.Delta only the added and
// retired runtimes' backends are looked at.
func (g *Gateway) adjustBackends(next *servedTable, added, retired []*stageRuntime, delta bool) {
	if !delta || g.backendUsers == nil {
		g.backendUsers = map[grpcproxy.Backend]int{}
		var all []grpcproxy.Backend
		for _, rt := range next.stages.All() {
			for _, b := range rt.backends {
				g.backendUsers[b]++
				all = append(all, b)
			}
		}
		g.pool.Retain(all)
		g.retainFrameBackends()
		return
	}
	var add, remove []grpcproxy.Backend
	for _, rt := range added {
		for _, b := range rt.backends {
			if g.backendUsers[b]++; g.backendUsers[b] == 1 {
				add = append(add, b)
			}
		}
	}
	for _, rt := range retired {
		for _, b := range rt.backends {
			if g.backendUsers[b]--; g.backendUsers[b] <= 0 {
				delete(g.backendUsers, b)
				remove = append(remove, b)
			}
		}
	}
	// A backend both added and retired stays in use.
	remove = slices.DeleteFunc(remove, func(b grpcproxy.Backend) bool { return g.backendUsers[b] > 0 })
	g.pool.Adjust(add, remove)
	if len(remove) > 0 {
		g.retainFrameBackends()
	}
}

// retainFrameBackends closes the frame relay's connections to backends
// no served stage uses any more (once their calls end).
func (g *Gateway) retainFrameBackends() {
	if g.frames == nil {
		return
	}
	addrs := make([]string, 0, len(g.backendUsers))
	for b := range g.backendUsers {
		if a, ok := relayAddr(b); ok {
			addrs = append(addrs, a)
		}
	}
	g.frames.pool.Retain(addrs)
}

// StageAuthorizers returns the authorizers each served stage's compilation
// holds (its canary's included), by stage resource name: what the
// authorizer policy must keep after a Load.
func (g *Gateway) StageAuthorizers() map[string][]*adminv1.Authorizer {
	out := map[string][]*adminv1.Authorizer{}
	for _, st := range g.current.Load().table.Stages() {
		for _, s := range []*routing.Stage{st, st.Canary()} {
			if s == nil {
				continue
			}
			for _, a := range s.Authorizers {
				out[st.Name] = append(out[st.Name], a)
			}
		}
	}
	return out
}

// Check compiles cfg as Load would, against what is served now, without
// serving it: the pre-flight check of a configuration change. It returns
// why a stage (or domain mapping) of cfg cannot be served, each stage's
// problem as a *routing.StageError, joined; nil if all can be.
func (g *Gateway) Check(cfg routing.Config) error {
	prev := g.current.Load()
	cfg.Previous, cfg.KeepPrevious, cfg.Keep = prev.table, false, nil
	_, errs := g.build(prev, cfg)
	return errors.Join(errs...)
}

// Failures returns the stages the last Load could not compile; each says
// whether the stage keeps serving a previous deployment (Kept) or is not
// served. The caller must not change the result.
func (g *Gateway) Failures() []routing.StageError {
	if f := g.failures.Load(); f != nil {
		return *f
	}
	return nil
}

// build compiles cfg and the runtimes of its stages, reusing prev's
// runtimes for stages that serve the same deployments. It publishes
// nothing. With cfg.KeepPrevious, a stage whose runtime cannot be built
// keeps its compilation and runtime in prev, if it had them.
func (g *Gateway) build(prev *servedTable, cfg routing.Config) (*servedTable, []error) {
	// A stage still serving the same deployment keeps its runtime, and
	// stages with the same descriptors share one transcoder: building one
	// is most of the cost of a reload. Only prev's are carried over, so
	// that a transcoder no stage serves any more is freed.
	rests := &restIndex{prev: prev, m: map[restKey]*restRuntime{}}
	next, errs, runtimeErrs := g.buildOnce(cfg, prev, rests)
	if len(runtimeErrs) == 0 || !cfg.KeepPrevious {
		for _, e := range runtimeErrs {
			errs = append(errs, e)
		}
		return next, errs
	}
	// Compile again, keeping the previous compilation of the stages whose
	// runtime failed: a table's stages must be the ones runtimes serve.
	keep := maps.Clone(cfg.Keep)
	if keep == nil {
		keep = map[string]bool{}
	}
	for _, e := range runtimeErrs {
		keep[e.Stage] = true
	}
	cfg.Keep = keep
	next, errs, _ = g.buildOnce(cfg, prev, rests)
	for _, e := range runtimeErrs {
		if prev.table.Stage(e.Stage) != nil {
			if st := next.table.Stage(e.Stage); st != nil {
				e.Kept = st.Deployment
			}
		}
		errs = append(errs, e)
	}
	return next, errs
}

// buildOnce compiles cfg and builds the runtimes of its stages: of every
// stage, or with cfg.Delta of the stages the change replaced (the others
// keep theirs). It returns the routing errors and, apart, the stages whose
// runtime failed.
func (g *Gateway) buildOnce(cfg routing.Config, prev *servedTable, rests *restIndex) (*servedTable, []error, []*routing.StageError) {
	table, errs := routing.Compile(cfg)
	next := &servedTable{table: table}
	var runtimeErrs []*routing.StageError
	build := func(st, s *routing.Stage) {
		rt, err := g.stageRuntime(s, reusableRuntime(prev, s), rests)
		if err != nil {
			runtimeErrs = append(runtimeErrs, &routing.StageError{Stage: st.Name, Deployment: s.Deployment, Canary: s.IsCanary, Err: err})
			return
		}
		next.stages = next.stages.With(s, rt)
	}
	if cfg.Delta {
		next.stages = prev.stages
		for _, ch := range table.Changes() {
			for _, s := range withCanary(ch.Old) {
				next.stages = next.stages.Without(s)
			}
			for _, s := range withCanary(ch.New) {
				build(ch.New, s)
			}
		}
		return next, errs, runtimeErrs
	}
	var runtimes cowmap.Builder[*routing.Stage, *stageRuntime]
	for _, st := range table.Stages() {
		for _, s := range withCanary(st) {
			rt, err := g.stageRuntime(s, reusableRuntime(prev, s), rests)
			if err != nil {
				runtimeErrs = append(runtimeErrs, &routing.StageError{Stage: st.Name, Deployment: s.Deployment, Canary: s.IsCanary, Err: err})
				continue
			}
			runtimes.Set(s, rt)
		}
	}
	next.stages = runtimes.Map()
	return next, errs, runtimeErrs
}

// reusableRuntime returns the runtime prev has for what s depends on (see
// runtimeKey), or nil: only the previous compilation of the same stage
// (or its canary) can have one.
func reusableRuntime(prev *servedTable, s *routing.Stage) *stageRuntime {
	if prev == nil {
		return nil
	}
	key := runtimeKey(s)
	for _, p := range withCanary(prev.table.Stage(s.Name)) {
		if runtimeKey(p) == key {
			return prev.stages.Value(p)
		}
	}
	return nil
}

// runtimeKey identifies what a stage runtime depends on: the stage, the
// deployment (immutable) and whether it is the canary.
func runtimeKey(s *routing.Stage) string {
	return s.Name + "\x00" + s.Deployment + "\x00" + strconv.FormatBool(s.IsCanary)
}

// stageBackends lists the gRPC backends a stage uses, to keep their
// pooled connections.
func (g *Gateway) stageBackends(s *routing.Stage) []grpcproxy.Backend {
	// Each backend once, each integration looked at once: the routes of
	// a stage share their integrations (see routing's substitute).
	var out []grpcproxy.Backend
	seen := map[grpcproxy.Backend]bool{}
	done := map[*adminv1.GrpcIntegration]bool{}
	push := func(b grpcproxy.Backend) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	add := func(r *routing.Route) {
		in := r.Integration.GetGrpc()
		if in == nil || done[in] {
			return
		}
		done[in] = true
		if len(in.GetTargets()) == 0 {
			push(g.backendOf(in))
			return
		}
		// Every endpoint's connection stays warm across the reload.
		if set, err := g.upstreams.grpcSet(in); err == nil {
			for _, e := range set.Endpoints() {
				push(g.endpointBackend(in, e))
			}
		}
	}
	for _, m := range s.Methods() {
		r, _ := s.Method(m)
		add(r)
	}
	if w := s.WebSocket(); w != nil {
		for _, r := range w.Routes() {
			add(r)
		}
	}
	return out
}

// ServeGRPC serves gRPC connections accepted from ln with grpc-go's native
// HTTP/2 transport (see internal/connsplit), which costs far less per call
// than ServeHTTP. It returns nil once ln or the gateway is closed.
func (g *Gateway) ServeGRPC(ln net.Listener) error {
	if g.frames != nil {
		err := g.frames.server.Serve(ln)
		if err == nil || errors.Is(err, h2relay.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		return fmt.Errorf("gateway: serving gRPC: %w", err)
	}
	err := g.grpcServer.Serve(ln)
	if err == nil || errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("gateway: serving gRPC: %w", err)
}

// closeWebSocketsTimeout bounds how long Close waits for WebSocket
// connections to close and run $disconnect.
const closeWebSocketsTimeout = 2 * time.Second

// Close stops the data plane: running calls are cancelled, WebSocket
// connections closed.
func (g *Gateway) Close() error {
	if g.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWebSocketsTimeout)
	g.ws.Shutdown(ctx)
	cancel()
	if g.frames != nil {
		g.frames.server.Close()
		g.frames.pool.Close()
		g.frames.inproc.Close()
	}
	g.grpcServer.Stop()
	_ = g.inprocConn.Close()
	g.serving.Wait()
	g.httpProxy.close()
	g.upstreams.close()
	return g.pool.Close()
}

// GracefulStop closes WebSocket connections with 1001 (going away) and
// waits for their $disconnect integrations, waits for running calls to
// finish, then closes the data plane.
func (g *Gateway) GracefulStop(ctx context.Context) {
	g.ws.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		if g.frames != nil {
			g.frames.server.GracefulStop(ctx)
		}
		g.grpcServer.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	_ = g.Close()
}

// routeInterceptor resolves the route of every call and puts it in the
// context; calls no stage serves end here with UNIMPLEMENTED.
func (g *Gateway) routeInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	if isReflection(info.FullMethod) && !inProcess(ctx) {
		if served, err := g.serveReflection(ss, info.FullMethod); served {
			return err
		}
	}
	var route *routing.Route
	var md metadata.MD // the frame server's incoming metadata, or nil
	var rec *restRequest
	if !fromClient(ss) {
		rec = g.restRequestOf(ctx)
	}
	if rec != nil {
		v, ok := g.refs.Load(rec.ref)
		if !ok {
			return status.Error(codes.Unavailable, "the deployment serving this call was replaced; retry")
		}
		r, ok := v.(*stageRuntime).stage.Method(info.FullMethod)
		if !ok {
			return gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, fmt.Sprintf("stage %s does not serve %s", v.(*stageRuntime).stage.Name, info.FullMethod))
		}
		route = r
	} else {
		var r *routing.Route
		var err error
		frames, _ := ss.(*h2relay.Stream)
		var authority string
		if frames != nil {
			// The stream's own, without a look through the context.
			md, authority = frames.Metadata(), frames.Authority()
		} else {
			md = incomingMetadata(ctx)
			authority = mdFirst(ctx, md, ":authority")
		}
		if st := webStage(ctx); st != nil {
			// A translated web client call, pinned to the stage that
			// matched its HTTP request.
			var ok bool
			if r, ok = st.Method(info.FullMethod); !ok {
				err = fmt.Errorf("%w: stage %s does not serve %s", routing.ErrNoRoute, st.Name, info.FullMethod)
			}
		} else {
			r, err = g.current.Load().table.ResolveGRPC(info.FullMethod, mdFirst(ctx, md, StageMetadataKey), authority)
		}
		switch {
		case errors.Is(err, routing.ErrAmbiguous):
			return status.Error(codes.FailedPrecondition, err.Error())
		case err != nil:
			return gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, err.Error())
		}
		route = r
	}
	// The call's record and its stream are allocated together.
	rc := &routedCall{routedStream: routedStream{ServerStream: ss}}
	call := &rc.call
	call.RouteFacts, call.Protocol, call.FullMethod = route.Facts(), callinfo.GRPC, info.FullMethod
	if rec != nil {
		call.Protocol = callinfo.REST
		call.HTTPMethod, call.HTTPPath, call.RawQuery = rec.method, rec.path, rec.rawQuery
		call.Header = rec.header
		call.SourceIP = rec.sourceIP
		call.UserAgent = rec.header.Get("User-Agent")
		call.ClientCert = rec.clientCert
		if ips := inProcessStreamOf(ctx); ips != nil && ips.md != nil {
			// The map in the context, as for gRPC calls: policies read
			// it without metadata.ValueFromIncomingContext's copies,
			// and restUnaryHandler sends it as is.
			call.Metadata = ips.md
		}
	} else {
		call.Metadata = md
		// The peer is looked up once, for both (forwardGRPC's context
		// carries the same one).
		p, ok := peer.FromContext(ctx)
		ctx = g.forwardGRPC(ctx, call, ss, p)
		if ok {
			call.ClientCert = clientCertOfPeer(p)
		}
		call.UserAgent = mdFirst(ctx, md, "user-agent")
	}
	ctx = routing.NewCallContext(&rc.callCtx, ctx, route, call)
	if webStage(ctx) != nil {
		return handler(srv, &webStream{routedStream{ServerStream: ss, ctx: ctx}})
	}
	rc.ctx = ctx
	rc.spare = &rc.counting
	return handler(srv, &rc.routedStream)
}

// forwardMetadataKeys are forwarded.Names as metadata keys.
var forwardMetadataKeys = func() []string {
	keys := make([]string, len(forwarded.Names))
	for i, n := range forwarded.Names {
		keys[i] = strings.ToLower(n)
	}
	return keys
}()

// forwardGRPC sets what the gateway asserts about a gRPC client's
// connection (its peer p, or nil): call.SourceIP, and call.Forwarded for
// the backend. A client's own forwarding entries are replaced in the
// returned context's metadata (and call.Metadata) too, so that
// authorizers and cache keys never see them unless the peer is a trusted
// proxy.
func (g *Gateway) forwardGRPC(ctx context.Context, call *callinfo.Call, ss grpc.ServerStream, p *peer.Peer) context.Context {
	frames, _ := ss.(*h2relay.Stream)
	req := forwarded.Request{}
	if frames != nil {
		req.Host = frames.Authority() // the :authority of its metadata
	} else {
		req.Host = mdFirst(ctx, call.Metadata, ":authority")
	}
	if p != nil && p.Addr != nil {
		req.TLS = p.AuthInfo != nil
	}
	// Key by key rather than FromIncomingContext, which copies the whole
	// map and every value: a client rarely sends any of these. A frame
	// stream's metadata (call.Metadata) holds a key if and only if its
	// request has a field of that name: its few fields are looked
	// through instead of five look-ups in the map.
	own := false
	if frames != nil {
		for _, f := range frames.Fields() {
			if slices.Contains(forwardMetadataKeys, f.Name) {
				own = true
				break
			}
		}
	} else {
		for _, k := range forwardMetadataKeys {
			if call.MetadataValues(ctx, k) != nil {
				own = true
				break
			}
		}
	}
	// Without entries of the client's own, the result depends on the
	// connection and :authority only: computed once per connection
	// (formatting and parsing addresses cost ~10 allocations).
	var key fwdKey
	if !own && p != nil {
		if ta, ok := p.Addr.(*net.TCPAddr); ok {
			key = fwdKey{addr: ta, host: req.Host, tls: req.TLS}
			if v, ok := g.forwards.Load(key); ok {
				r := v.(*fwdResult)
				call.SourceIP, call.Forwarded = r.clientIP, r.md
				return ctx
			}
		}
	}
	if p != nil && p.Addr != nil {
		req.Peer = p.Addr.String()
	}
	if own {
		req.XForwardedFor = call.MetadataValues(ctx, "x-forwarded-for")
		req.XForwardedHost = call.MetadataValues(ctx, "x-forwarded-host")
		req.XForwardedProto = call.MetadataValues(ctx, "x-forwarded-proto")
		req.Forwarded = call.MetadataValues(ctx, "forwarded")
	}
	res := g.proxies.Resolve(req)
	call.SourceIP = res.ClientIP
	// One backing array for the five values (capped, so an append
	// copies): one allocation instead of five on every call.
	vals := []string{res.XForwardedFor, res.XForwardedHost, res.XForwardedProto, res.Forwarded, res.ClientIP}
	call.Forwarded = metadata.MD{
		"x-forwarded-for":   vals[0:1:1],
		"x-forwarded-host":  vals[1:2:2],
		"x-forwarded-proto": vals[2:3:3],
		"forwarded":         vals[3:4:4],
		"x-real-ip":         vals[4:5:5],
	}
	if key.addr != nil {
		if g.numForwards.Add(1) > maxForwards {
			g.forwards.Clear()
			g.numForwards.Store(1)
		}
		// Shared read-only by the connection's calls, as the proxies
		// use it: entries are replaced, never appended to in place.
		g.forwards.Store(key, &fwdResult{clientIP: res.ClientIP, md: call.Forwarded})
	}
	if !own {
		return ctx
	}
	out, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range call.Forwarded {
		out[k] = vs
	}
	if call.Metadata != nil {
		call.Metadata = out
	}
	return metadata.NewIncomingContext(ctx, out)
}

// maxForwards bounds Gateway.forwards: past it, the cache starts again.
const maxForwards = 4096

// fwdKey is what forwardGRPC's result depends on for a call without
// forwarding entries of its own: the connection (its remote address, one
// value per connection) and :authority.
type fwdKey struct {
	addr *net.TCPAddr
	host string
	tls  bool
}

// fwdResult is a cached forwardGRPC result.
type fwdResult struct {
	clientIP string
	md       metadata.MD // read-only
}

// setForwarded replaces r's forwarding headers with the gateway's own
// (X-Real-Ip is the client IP) before anything reads them: routing,
// policies, cache keys, the transcoder and the HTTP proxy see only these.
func (g *Gateway) setForwarded(r *http.Request) {
	h := r.Header
	res := g.proxies.Resolve(forwarded.Request{
		Peer: r.RemoteAddr, Host: r.Host, TLS: r.TLS != nil,
		XForwardedFor: h.Values(forwarded.XForwardedFor), XForwardedHost: h.Values(forwarded.XForwardedHost),
		XForwardedProto: h.Values(forwarded.XForwardedProto), Forwarded: h.Values(forwarded.Forwarded),
	})
	// One backing array for the five values, each header clipped to its
	// own entry (an Add to one reallocates rather than overwrite the next).
	vals := [...]string{res.XForwardedFor, res.XForwardedHost, res.XForwardedProto, res.Forwarded, res.ClientIP}
	all := vals[:]
	h[forwarded.XForwardedFor] = all[0:1:1]
	h[forwarded.XForwardedHost] = all[1:2:2]
	h[forwarded.XForwardedProto] = all[2:3:3]
	h[forwarded.Forwarded] = all[3:4:4]
	h[forwarded.XRealIP] = all[4:5:5]
}

// clientIP is the client's address of an HTTP request after setForwarded.
func clientIP(r *http.Request) string {
	if ip := r.Header.Get(forwarded.XRealIP); ip != "" {
		return ip
	}
	return hostOf(r.RemoteAddr)
}

// newCall describes a routed call for the policy interceptors: the
// route's shared facts and the call's own request.
func newCall(r *routing.Route, fullMethod string) *callinfo.Call {
	return &callinfo.Call{RouteFacts: r.Facts(), Request: callinfo.Request{Protocol: callinfo.GRPC, FullMethod: fullMethod}}
}

// hostOf returns the host of a host:port address.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// direct is the proxy's director: the route chosen by routeInterceptor.
func (g *Gateway) direct(ctx context.Context, fullMethod string) (grpcproxy.Call, error) {
	pc, err := g.decide(ctx, fullMethod)
	if err == nil {
		pc.Metadata = backendMetadata(callinfo.FromContext(ctx), requestid.FromContext(ctx))
	}
	return pc, err
}

// decide is direct without the backend's metadata, which the frame relay
// sends from the call's parts (relayParts) rather than from a map.
func (g *Gateway) decide(ctx context.Context, fullMethod string) (grpcproxy.Call, error) {
	r := routing.FromContext(ctx)
	if r == nil {
		return grpcproxy.Call{}, status.Errorf(codes.Internal, "no route for %s", fullMethod)
	}
	in := r.Integration.GetGrpc()
	if in == nil {
		kind := "no"
		switch {
		case r.Integration.GetHttp() != nil:
			kind = "an HTTP"
		case r.Integration.GetMock() != nil:
			kind = "a mock"
		}
		return grpcproxy.Call{}, status.Errorf(codes.Unimplemented, "%s has %s integration; gRPC calls need a gRPC integration", r.Label(), kind)
	}
	pc := grpcproxy.Call{
		Timeout: r.Timeout,
		// Without descriptors the kind of call is unknown: treated as a
		// stream, the route timeout still bounds the wait for an answer
		// but never cuts a long stream.
		Streaming:         !r.Unary,
		StreamIdleTimeout: r.StreamIdleTimeout,
		MaxStreamDuration: r.MaxStreamDuration,
	}
	b, done, release, first, err := g.pickGRPC(ctx, r, in)
	if err != nil {
		return grpcproxy.Call{}, err
	}
	// The circuit breaker's slot is held until the last attempt ends.
	pc.Backend, pc.Done, pc.Finally = b, done, release
	if r.Unary && r.Config.GetRetryPolicy().GetAttempts() > 1 {
		pc.Retry = g.upstreams.retryPolicy(r)
		if first != nil {
			pc.Retarget = g.upstreams.retargetGRPC(ctx, in, first)
		}
	}
	// An in-process unary call's request is in memory already.
	pc.RequestsBuffered = ctx.Value(inProcessKey{}) != nil
	// A method the descriptor says takes one request is relayed without
	// a goroutine for the request side.
	pc.SingleRequest = r.Method != nil && !r.Method.IsStreamingClient()
	return pc, nil
}

// grpcBackend picks the backend of one call of a gRPC integration: its
// target, or one endpoint of its targets, then busy until done (nil for a
// single target) is called.
func (g *Gateway) grpcBackend(ctx context.Context, r *routing.Route, in *adminv1.GrpcIntegration) (grpcproxy.Backend, func(error), error) {
	b, done, release, _, err := g.pickGRPC(ctx, r, in)
	if err != nil {
		return b, nil, err
	}
	return b, func(err error) {
		if done != nil {
			done(err)
		}
		release()
	}, nil
}

// pickGRPC is grpcBackend with the endpoint's done (nil for a single
// target) apart from the release of the circuit breaker's slot (never
// nil), and the endpoint picked among the integration's targets (nil for a
// single target).
func (g *Gateway) pickGRPC(ctx context.Context, r *routing.Route, in *adminv1.GrpcIntegration) (grpcproxy.Backend, func(error), func(), *upstream.Endpoint, error) {
	release, err := g.upstreams.admit(ctx, in, in.GetCircuitBreaker(), r.Timeout)
	if err != nil {
		return grpcproxy.Backend{}, nil, nil, nil, err
	}
	if len(in.GetTargets()) == 0 {
		return g.backendOf(in), nil, release, nil, nil
	}
	set, err := g.upstreams.grpcSet(in)
	var ep *upstream.Endpoint
	if err == nil {
		ep, err = set.Pick(grpcHashKey(ctx, in.GetLoadBalancing()))
	}
	if err != nil {
		release()
		g.logger.WarnContext(ctx, "gateway: no target", "route", r.Label(), "error", err)
		return grpcproxy.Backend{}, nil, nil, nil, gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable")
	}
	return g.endpointBackend(in, ep), func(err error) {
		ep.Done()
		set.Report(ep, grpcFailure(err))
	}, release, ep, nil
}

// backendMetadata is what a gRPC backend call carries in place of the
// client's entries of the same keys: what the gateway asserts about the
// call (call may be nil) and its request ID.
func backendMetadata(call *callinfo.Call, requestID string) metadata.MD {
	if call == nil {
		if requestID == "" {
			return nil
		}
		return metadata.MD{requestid.MetadataKey: {requestID}}
	}
	return call.BackendMetadata(requestid.MetadataKey, requestID)
}

// fromClient reports, without a look through the context, whether ss is
// the frame-level server's stream: a call a client made over ServeGRPC's
// listener, never the gateway's own (inProcess) nor a transcoded REST
// call.
func fromClient(ss grpc.ServerStream) bool {
	_, ok := ss.(*h2relay.Stream)
	return ok
}

// inProcess reports whether a call came from the gateway's own transcoder.
func inProcess(ctx context.Context) bool {
	if ctx.Value(inProcessKey{}) != nil {
		return true
	}
	p, ok := peer.FromContext(ctx)
	return ok && p.Addr != nil && p.Addr.Network() == "bufconn"
}

// firstValue returns the first value of a lowercase key of the call's
// incoming metadata, or "", without copying the metadata (as
// metadata.FromIncomingContext would).
func firstValue(ctx context.Context, key string) string {
	if v := metadata.ValueFromIncomingContext(ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// mdFirst is firstValue from md when it is not nil.
func mdFirst(ctx context.Context, md metadata.MD, key string) string {
	if md == nil {
		return firstValue(ctx, key)
	}
	if vs := md[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// incomingMetadata is a gRPC call's incoming metadata for the call record
// (callinfo.Call.Metadata), read-only, when it can be had without a copy:
// the frame-level server's own map, so that the policies read keys
// without copying values (metadata.ValueFromIncomingContext copies) or
// scanning the whole map for keys the client did not send. Nil for
// grpc-go's server, whose map only comes as a copy of the whole:
// readers fall back on the context's key by key.
func incomingMetadata(ctx context.Context) metadata.MD {
	if st := h2relay.FromContext(ctx); st != nil {
		return st.Metadata()
	}
	return nil
}

// routedStream carries the routed context.
type routedStream struct {
	grpc.ServerStream
	ctx context.Context
	// spare is a counting stream allocated with the call, for the
	// integration interceptor to take (nil once taken, or when none).
	spare *countingStream
}

// Context returns the routed context.
func (s *routedStream) Context() context.Context { return s.ctx }

// SetHeaderField adds one response header entry: without a metadata map
// when the stream below takes it so (h2relay.Stream).
func (s *routedStream) SetHeaderField(key, value string) error {
	if hs, ok := s.ServerStream.(interface{ SetHeaderField(k, v string) error }); ok {
		return hs.SetHeaderField(key, value)
	}
	return s.ServerStream.SetHeader(metadata.MD{key: []string{value}})
}

// routedCall is a routed call's stream with its call record and the
// context carrying them, so that one allocation serves all three.
type routedCall struct {
	routedStream
	call     callinfo.Call
	callCtx  callinfo.Context // carries the route and call
	counting countingStream   // routedStream.spare
}

// newRef returns a fresh stage reference.
func (g *Gateway) newRef() *stageRef {
	return &stageRef{id: strconv.FormatUint(g.nextRef.Add(1), 36)}
}

// stageRef is the reference by which in-process (transcoded) calls find
// the runtime that matched them, in Gateway.refs. It is registered while
// a table serves it or a call matched on an older table runs, and not a
// moment longer, so that a retired runtime (its compiled stage and
// transcoder) is freed as soon as its last call ends.
type stageRef struct {
	id    string
	mu    sync.Mutex
	calls int  // REST calls dispatched and not yet ended
	live  bool // served by the current table
}

// serve registers the reference for rt, served by the current table.
func (r *stageRef) serve(refs *sync.Map, rt *stageRuntime) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = true
	refs.Store(r.id, rt)
}

// retire unregisters the reference, now or when its last call ends.
func (r *stageRef) retire(refs *sync.Map) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = false
	if r.calls == 0 {
		refs.Delete(r.id)
	}
}

// acquire keeps the reference registered for rt until release: a call
// matched on a table replaced meanwhile registers it again.
func (r *stageRef) acquire(refs *sync.Map, rt *stageRuntime) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if !r.live && r.calls == 1 {
		refs.Store(r.id, rt)
	}
}

// release ends a call of acquire.
func (r *stageRef) release(refs *sync.Map) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls--
	if r.calls == 0 && !r.live {
		refs.Delete(r.id)
	}
}

// isGRPC reports whether an HTTP request is a gRPC call.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}
