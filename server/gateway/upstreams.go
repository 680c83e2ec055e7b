package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

// upstreamIdle is how long a target set no call uses is kept (checked at
// each Load) before its DNS refreshes stop and its state is dropped.
const upstreamIdle = 10 * time.Minute

// upstreams finds the target set of an integration with several targets.
// Sets are shared by key (the integration's settings, with stage variables
// substituted) across routes and deployments, so their state survives
// reloads; each compiled integration message remembers its set, so that a
// call does one map lookup.
type upstreams struct {
	registry upstream.Registry
	byMsg    atomic.Pointer[sync.Map] // *adminv1.GrpcIntegration or *adminv1.HttpIntegration → *upstream.Set
	breakers sync.Map                 // integration key → *upstream.Breaker
	brByMsg  atomic.Pointer[sync.Map] // integration message → *upstream.Breaker (nil: none)
	overflow atomic.Int64             // calls refused by circuit breakers
	policies atomic.Pointer[sync.Map] // *routing.Route → *grpcproxy.RetryPolicy, per table
	budgets  sync.Map                 // "{stage}|{route key}" → *grpcproxy.RetryBudget, across reloads
	pool     *grpcproxy.Pool          // gRPC health checks
	http     *httpIntegrations        // HTTP health checks
	logger   *slog.Logger
	// backendOf is the pooled-connection key of an integration (with its
	// backend TLS), from the gateway.
	backendOf func(*adminv1.GrpcIntegration) grpcproxy.Backend
}

func newUpstreams(pool *grpcproxy.Pool, logger *slog.Logger) *upstreams {
	u := &upstreams{pool: pool, logger: logger}
	u.byMsg.Store(new(sync.Map))
	u.brByMsg.Store(new(sync.Map))
	u.policies.Store(new(sync.Map))
	return u
}

// reload forgets the integrations of the previous tables and drops the
// sets no call has used for a while. Called by Load.
func (u *upstreams) reload() {
	u.byMsg.Store(new(sync.Map))
	u.brByMsg.Store(new(sync.Map))
	u.policies.Store(new(sync.Map))
	u.registry.Sweep(upstreamIdle)
}

// admit passes a call through its integration's circuit breaker (msg is
// the *GrpcIntegration or *HttpIntegration, cb its settings), waiting at
// most wait while it is pending. It returns the release function, or the
// error the client gets: UPSTREAM_OVERFLOW, or the client's own end.
func (u *upstreams) admit(ctx context.Context, msg proto.Message, cb *adminv1.CircuitBreaker, wait time.Duration) (func(), error) {
	if cb == nil {
		return func() {}, nil
	}
	m := u.brByMsg.Load()
	v, ok := m.Load(msg)
	if !ok {
		// Breakers are shared by integrations with the same settings (and
		// across reloads), as target sets are.
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			return nil, fmt.Errorf("keying the integration: %w", err)
		}
		v, _ = u.breakers.LoadOrStore(fmt.Sprintf("%T|%s", msg, b),
			upstream.NewBreaker(int(cb.GetMaxConcurrentCalls()), int(cb.GetMaxPendingCalls())))
		m.Store(msg, v)
	}
	br := v.(*upstream.Breaker)
	wctx, cancel := context.WithTimeout(ctx, wait)
	err := br.Acquire(wctx)
	cancel()
	switch {
	case err == nil:
		return br.Release, nil
	case ctx.Err() != nil:
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	u.overflow.Add(1)
	return nil, gatewayerr.New(codes.Unavailable, gatewayerr.ReasonUpstreamOverflow, "too many calls to the backend are in flight")
}

func (u *upstreams) close() { u.registry.Close() }

// grpcSet returns the target set of a gRPC integration with targets.
func (u *upstreams) grpcSet(in *adminv1.GrpcIntegration) (*upstream.Set, error) {
	return u.set("grpc", in, in.GetTargets(), in.GetLoadBalancing(), in.GetOutlierDetection(), in.GetHealthCheck(),
		func(ctx context.Context, e *upstream.Endpoint) error { return u.checkGRPC(ctx, in, e) })
}

// httpSet returns the target set of an HTTP integration with targets.
func (u *upstreams) httpSet(hi *adminv1.HttpIntegration) (*upstream.Set, error) {
	return u.set("http", hi, hi.GetTargets(), hi.GetLoadBalancing(), hi.GetOutlierDetection(), hi.GetHealthCheck(),
		func(ctx context.Context, e *upstream.Endpoint) error { return u.checkHTTP(ctx, hi, e) })
}

func (u *upstreams) set(kind string, msg proto.Message, targets []*adminv1.Target, lb *adminv1.LoadBalancing,
	od *adminv1.OutlierDetection, hc *adminv1.HealthCheck, check func(context.Context, *upstream.Endpoint) error,
) (*upstream.Set, error) {
	m := u.byMsg.Load()
	if s, ok := m.Load(msg); ok {
		return s.(*upstream.Set), nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("keying the targets: %w", err)
	}
	s, err := u.registry.Get(kind+"|"+string(b), func() upstream.Config {
		cfg := upstream.Config{
			Policy:          policyOf(lb.GetPolicy()),
			RefreshInterval: durationOr(lb.GetDnsRefreshInterval(), 0),
			OnChange: func(e *upstream.Endpoint) {
				h := e.Health()
				u.logger.Info("gateway: target health changed", "target", e.Target, "address", e.Address,
					"healthy", h.Healthy, "ejected_until", h.EjectedUntil, "ejections", h.Ejections, "check_error", h.LastCheckError)
			},
		}
		for _, t := range targets {
			cfg.Targets = append(cfg.Targets, upstream.Target{Address: t.GetAddress(), Weight: t.GetWeight()})
		}
		if od != nil {
			cfg.Outlier = &upstream.OutlierDetection{
				ConsecutiveFailures: int(od.GetConsecutiveFailures()),
				BaseEjection:        durationOr(od.GetBaseEjectionTime(), 0),
				MaxEjectionPercent:  int(od.GetMaxEjectionPercent()),
			}
		}
		if hc != nil {
			cfg.Health = &upstream.HealthCheck{
				Check:              check,
				Interval:           durationOr(hc.GetInterval(), 0),
				Timeout:            durationOr(hc.GetTimeout(), 0),
				HealthyThreshold:   int(hc.GetHealthyThreshold()),
				UnhealthyThreshold: int(hc.GetUnhealthyThreshold()),
			}
		}
		return cfg
	})
	if err != nil {
		return nil, err
	}
	m.Store(msg, s)
	return s, nil
}

// checkGRPC asks an endpoint's grpc.health.v1.Health service. It uses the
// endpoint's pooled connection (which calls reuse), waking it if it is
// failing, so that a recovered target is seen at the next probe.
func (u *upstreams) checkGRPC(ctx context.Context, in *adminv1.GrpcIntegration, e *upstream.Endpoint) error {
	cc, err := u.pool.Conn(u.endpointBackend(in, e))
	if err != nil {
		return err
	}
	u.pool.Wake(ctx, cc)
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: in.GetHealthCheck().GetGrpcService()})
	if err != nil {
		return err
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", st)
	}
	return nil
}

// checkHTTP GETs an endpoint's health path and expects the configured
// status (default 200).
func (u *upstreams) checkHTTP(ctx context.Context, hi *adminv1.HttpIntegration, e *upstream.Endpoint) error {
	base, err := url.Parse(hi.GetUri())
	if err != nil {
		return fmt.Errorf("integration URI: %w", err)
	}
	hc := hi.GetHealthCheck()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.Scheme+"://"+e.Address+hc.GetHttpPath(), nil)
	if err != nil {
		return err
	}
	req.Host = base.Host
	resp, err := u.http.transportFor(hi).RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	want := int(hc.GetHttpExpectedStatus())
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	return nil
}

// grpcFailure reports whether a gRPC call's result counts against its
// target for outlier detection: the target was unreachable, broke the
// call, answered UNAVAILABLE or did not answer within the route timeout.
func grpcFailure(err error) bool {
	return status.Code(err) == codes.Unavailable || gatewayerr.Reason(err) == gatewayerr.ReasonBackendTimeout
}

func policyOf(p adminv1.LoadBalancing_Policy) upstream.Policy {
	switch p {
	case adminv1.LoadBalancing_POLICY_RANDOM:
		return upstream.Random
	case adminv1.LoadBalancing_POLICY_LEAST_REQUEST:
		return upstream.LeastRequest
	case adminv1.LoadBalancing_POLICY_CONSISTENT_HASH:
		return upstream.ConsistentHash
	}
	return upstream.RoundRobin
}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}

// grpcHashKey is what consistent hashing hashes for a gRPC call: the
// configured metadata key's value, or the client's IP.
func grpcHashKey(ctx context.Context, lb *adminv1.LoadBalancing) string {
	if lb.GetPolicy() != adminv1.LoadBalancing_POLICY_CONSISTENT_HASH {
		return ""
	}
	if h := lb.GetHashHeader(); h != "" {
		if v := firstValue(ctx, lowerASCII(h)); v != "" {
			return v
		}
	}
	if c := callinfo.FromContext(ctx); c != nil {
		return c.SourceIP
	}
	return ""
}

// endpointBackend is the pooled-connection key of one endpoint of a gRPC
// integration's targets. A target named by DNS keeps its name as the
// authority (and TLS server name) while connecting to one of its addresses.
func (g *Gateway) endpointBackend(in *adminv1.GrpcIntegration, e *upstream.Endpoint) grpcproxy.Backend {
	return g.upstreams.endpointBackend(in, e)
}

// endpointBackend is the pooled-connection key of one endpoint of an
// integration's targets: the integration's, at the endpoint's address.
func (u *upstreams) endpointBackend(in *adminv1.GrpcIntegration, e *upstream.Endpoint) grpcproxy.Backend {
	b := u.backendOf(in)
	b.Target = e.Address
	if b.Authority == "" && e.Target != e.Address {
		if host, _, err := net.SplitHostPort(e.Target); err == nil && net.ParseIP(host) == nil {
			b.Authority = e.Target
		}
	}
	return b
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// StageHealth reports the health of the targets of a stage's integrations
// that name several targets (and of its canary's), as this instance sees
// them, for the admin API's GetStageHealth. ok is false when no stage of
// that name is served.
func (g *Gateway) StageHealth(stage string) (out []*adminv1.TargetHealth, ok bool) {
	var stages []*routing.Stage
	seen := map[*routing.Stage]bool{}
	for s := range g.current.Load().stages.All() {
		for _, st := range []*routing.Stage{s, s.Canary()} {
			if st != nil && st.Name == stage && !seen[st] {
				seen[st] = true
				stages = append(stages, st)
			}
		}
	}
	sort.Slice(stages, func(i, j int) bool { return !stages[i].IsCanary && stages[j].IsCanary })
	for _, st := range stages {
		type entry struct {
			set    *upstream.Set
			routes map[string]bool
		}
		var order []*upstream.Set
		bySet := map[*upstream.Set]*entry{}
		add := func(r *routing.Route) {
			var set *upstream.Set
			var err error
			switch {
			case len(r.Integration.GetGrpc().GetTargets()) > 0:
				set, err = g.upstreams.grpcSet(r.Integration.GetGrpc())
			case len(r.Integration.GetHttp().GetTargets()) > 0:
				set, err = g.upstreams.httpSet(r.Integration.GetHttp())
			default:
				return
			}
			if err != nil {
				return
			}
			e := bySet[set]
			if e == nil {
				e = &entry{set: set, routes: map[string]bool{}}
				bySet[set] = e
				order = append(order, set)
			}
			e.routes[r.Name()] = true
		}
		for _, m := range st.Methods() {
			r, _ := st.Method(m)
			add(r)
		}
		for _, r := range st.HTTPRoutes() {
			add(r)
		}
		if ws := st.WebSocket(); ws != nil {
			for _, r := range ws.Routes() {
				add(r)
			}
		}
		for _, set := range order {
			routes := make([]string, 0, len(bySet[set].routes))
			for r := range bySet[set].routes {
				routes = append(routes, r)
			}
			sort.Strings(routes)
			for _, e := range set.Endpoints() {
				h := e.Health()
				th := &adminv1.TargetHealth{
					Routes: routes, Canary: st.IsCanary, Target: e.Target, Address: e.Address,
					Healthy: h.Healthy, Ejections: h.Ejections, LastCheckError: h.LastCheckError, ActiveCalls: e.Active(),
				}
				if !h.EjectedUntil.IsZero() {
					th.EjectedUntil = timestamppb.New(h.EjectedUntil)
				}
				out = append(out, th)
			}
		}
	}
	return out, len(stages) > 0
}

// TargetStates calls f for every endpoint of every target set in use, for
// the tollgate_upstream_target_healthy metric: up is false while the
// endpoint is unhealthy or ejected.
func (g *Gateway) TargetStates(f func(target, address string, up bool)) {
	g.upstreams.registry.Range(func(s *upstream.Set) {
		for _, e := range s.Endpoints() {
			h := e.Health()
			f(e.Target, e.Address, h.Healthy && h.EjectedUntil.IsZero())
		}
	})
}

// Overflows returns how many calls circuit breakers have refused, for the
// tollgate_upstream_overflows_total metric.
func (g *Gateway) Overflows() int64 { return g.upstreams.overflow.Load() }

// retryPolicy returns the retry policy of a route with one, made once per
// compiled route. Its budget is the route's in its stage, kept across
// reloads.
func (u *upstreams) retryPolicy(r *routing.Route) *grpcproxy.RetryPolicy {
	m := u.policies.Load()
	if p, ok := m.Load(r); ok {
		return p.(*grpcproxy.RetryPolicy)
	}
	rp := r.Config.GetRetryPolicy()
	b, _ := u.budgets.LoadOrStore(r.Stage.Name+"|"+r.Key, grpcproxy.NewRetryBudget(int(rp.GetBudgetPercent()), int(rp.GetBudgetMinRetries())))
	p := &grpcproxy.RetryPolicy{
		Attempts:    int(rp.GetAttempts()),
		BaseBackoff: durationOr(rp.GetBaseBackoff(), 0),
		MaxBackoff:  durationOr(rp.GetMaxBackoff(), 0),
		Budget:      b.(*grpcproxy.RetryBudget),
	}
	for _, name := range rp.GetRetryableCodes() {
		var c codes.Code
		if err := c.UnmarshalJSON([]byte(`"` + name + `"`)); err == nil {
			p.Codes = append(p.Codes, c)
		}
	}
	m.Store(r, p)
	return p
}

// retargetGRPC picks the endpoints of a call's retries: each time one not
// tried yet, where there is one.
func (u *upstreams) retargetGRPC(ctx context.Context, in *adminv1.GrpcIntegration, first *upstream.Endpoint) func() (grpcproxy.Backend, func(error), error) {
	tried := []*upstream.Endpoint{first}
	return func() (grpcproxy.Backend, func(error), error) {
		set, err := u.grpcSet(in)
		if err != nil {
			return grpcproxy.Backend{}, nil, err
		}
		ep, err := set.Pick(grpcHashKey(ctx, in.GetLoadBalancing()), tried...)
		if err != nil {
			return grpcproxy.Backend{}, nil, err
		}
		tried = append(tried, ep)
		return u.endpointBackend(in, ep), func(err error) {
			ep.Done()
			set.Report(ep, grpcFailure(err))
		}, nil
	}
}
