package gateway

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

// upstreamIdle is how long a target set no call uses is kept (checked at
// each Load) before its DNS refreshes stop and its state is dropped.
const upstreamIdle = 10 * time.Minute

// upstreams finds the target set of an integration with several targets.
// Sets are shared by key (the targets and the policy) across routes and
// deployments, so their state survives reloads; each compiled integration
// message remembers its set, so that a call does one map lookup.
type upstreams struct {
	registry upstream.Registry
	byMsg    atomic.Pointer[sync.Map] // *adminv1.GrpcIntegration or *adminv1.HttpIntegration → *upstream.Set
}

func newUpstreams() *upstreams {
	u := &upstreams{}
	u.byMsg.Store(new(sync.Map))
	return u
}

// reload forgets the integrations of the previous tables and drops the
// sets no call has used for a while. Called by Load.
func (u *upstreams) reload() {
	u.byMsg.Store(new(sync.Map))
	u.registry.Sweep(upstreamIdle)
}

func (u *upstreams) close() { u.registry.Close() }

// set returns the target set of an integration message (msg is the
// *GrpcIntegration or *HttpIntegration that holds targets and lb).
func (u *upstreams) set(msg proto.Message, targets []*adminv1.Target, lb *adminv1.LoadBalancing) (*upstream.Set, error) {
	m := u.byMsg.Load()
	if s, ok := m.Load(msg); ok {
		return s.(*upstream.Set), nil
	}
	// Only what shapes the set is its key: targets (with stage variables
	// substituted) and the balancing settings.
	spec := &adminv1.HttpIntegration{Targets: targets, LoadBalancing: lb}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("keying the targets: %w", err)
	}
	s, err := u.registry.Get(string(b), func() upstream.Config {
		cfg := upstream.Config{Policy: policyOf(lb.GetPolicy()), RefreshInterval: durationOr(lb.GetDnsRefreshInterval(), 0)}
		for _, t := range targets {
			cfg.Targets = append(cfg.Targets, upstream.Target{Address: t.GetAddress(), Weight: t.GetWeight()})
		}
		return cfg
	})
	if err != nil {
		return nil, err
	}
	m.Store(msg, s)
	return s, nil
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
func endpointBackend(in *adminv1.GrpcIntegration, e *upstream.Endpoint) grpcproxy.Backend {
	b := grpcproxy.Backend{Target: e.Address, TLS: in.GetTls(), Authority: in.GetAuthority(), ConnectTimeout: in.GetConnectTimeout().AsDuration()}
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
