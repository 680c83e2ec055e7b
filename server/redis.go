package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tollgate-gw/tollgate/interceptors/cache/rediscache"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/interceptors/quota/redisquota"
	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/interceptors/throttle/redisthrottle"
	"github.com/tollgate-gw/tollgate/internal/fleetbus"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/websocket/wsredis"
)

// validateRedis checks Config.Redis without connecting. Its errors never
// quote the URL, which may hold a password.
func validateRedis(u string) error {
	if u == "" {
		return nil
	}
	return redisconn.Validate(u)
}

// redisState is what the server keeps in Redis when Config.Redis is set:
// the client and the users of it, each falling back to local state.
type redisState struct {
	client  redis.UniversalClient
	limiter *redisthrottle.Limiter
	quotas  *redisquota.Store
	cache   *rediscache.Store // the response caches of stages that share theirs
	bus     *fleetbus.Bus     // cache flushes made on one node, for the others
	breaker *redisconn.Breaker
}

// openRedis connects the shared state to Config.Redis, or leaves it nil.
// It does not wait for Redis to answer: a node starts (and serves, from
// local state) while Redis is down.
func (s *Server) openRedis() error {
	if s.cfg.Redis == "" {
		return nil
	}
	c, err := redisconn.Open(s.cfg.Redis, redisconn.WithTimeout(s.cfg.redisTimeout))
	if err != nil {
		return fmt.Errorf("server: redis: %w", err)
	}
	log := s.log.With("component", "redis")
	// One breaker for every use of this Redis: when it fails, all of them
	// fall back at once rather than each waiting to find out.
	breaker := &redisconn.Breaker{}
	s.redis = &redisState{
		client:  c,
		limiter: redisthrottle.New(c, redisthrottle.WithLogger(log), redisthrottle.WithBreaker(breaker), redisthrottle.WithBatch(s.cfg.RedisThrottleBatch)),
		quotas:  redisquota.New(c, breaker, redisquota.WithTimeout(s.cfg.redisTimeout)),
		cache:   rediscache.New(c, rediscache.WithBreaker(breaker)),
		bus:     fleetbus.New(c, log),
		breaker: breaker,
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.redisDialTimeout())
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		s.log.Warn("redis does not answer; limits are per node until it does", "error", err.Error())
	} else {
		s.log.Info("redis connected: throttles and quotas are shared by the nodes")
	}
	return nil
}

// redisDialTimeout bounds the first exchanges with Redis at startup.
func (s *Server) redisDialTimeout() time.Duration {
	if s.cfg.redisTimeout > 0 {
		return s.cfg.redisTimeout
	}
	return redisconn.DialTimeout
}

// webSocketFleet returns the gateway option sharing WebSocket connections
// through Redis, or nil without Redis. Callback tokens are signed with the
// key the fleet keeps in Redis; if Redis cannot give it now, this node
// signs with its own (its tokens are then accepted by it alone).
func (s *Server) webSocketFleet() gateway.Option {
	if s.redis == nil {
		return nil
	}
	log := s.log.With("component", "websocket-fleet")
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.redisDialTimeout())
	defer cancel()
	key, err := wsredis.CallbackKey(ctx, s.redis.client, "")
	if err != nil {
		log.Warn("no shared callback token key; this node's callback tokens work on this node only", "error", err.Error())
		key = nil
	}
	f := wsredis.New(s.redis.client, wsredis.WithTTL(s.cfg.WebSocketEntryTTL), wsredis.WithLogger(log),
		wsredis.WithBreaker(s.redis.breaker))
	return gateway.WithWebSocketFleet(f, key)
}

// limiter returns the throttle's Limiter: Redis's when configured, else a
// local one.
func (s *Server) limiter() throttle.Limiter {
	if s.redis != nil {
		return s.redis.limiter
	}
	return throttle.NewLocalLimiter()
}

// quotaOptions returns the quota counter's options for Redis: counts
// decided in Redis when configured.
func (s *Server) quotaOptions() []quota.Option {
	if s.redis == nil {
		return nil
	}
	return []quota.Option{quota.WithShared(s.redis.quotas)}
}

// listenFleet applies the notices of the other nodes sharing the Redis. It
// is called once the data plane is built, since the notices flush its
// caches.
func (s *Server) listenFleet() {
	if s.redis == nil {
		return
	}
	s.redis.bus.Handle(topicFlushCache, func(_, stage string) { s.flushCacheLocal(stage) })
	s.redis.bus.Handle(topicFlushAuthorizers, func(_, payload string) {
		stage, authorizer, _ := strings.Cut(payload, "\n")
		s.flushAuthorizersCacheLocal(stage, authorizer)
	})
}

// Topics of the notices the nodes send each other through Redis.
const (
	// topicFlushCache carries a stage name whose response cache was
	// flushed.
	topicFlushCache = "flush-cache"
	// topicFlushAuthorizers carries a stage and an authorizer name (empty:
	// all), separated by a newline, whose policy caches were flushed.
	topicFlushAuthorizers = "flush-authorizers"
)

// tellFleet sends a notice to the other nodes when they share a Redis. A
// failure is logged: the other nodes' entries then expire by their TTL.
func (s *Server) tellFleet(topic, payload string) {
	if s.redis == nil {
		return
	}
	if err := s.redis.bus.Publish(context.Background(), topic, payload); err != nil {
		s.log.Warn("could not tell the other nodes through redis; their cache entries expire by their TTL", "topic", topic, "error", err.Error())
	}
}

// closeRedis closes the Redis client, if any.
func (s *Server) closeRedis() error {
	if s.redis == nil {
		return nil
	}
	return errors.Join(s.redis.bus.Close(), s.redis.client.Close())
}

// registerRedisMetrics reports the checks decided without Redis (the
// fail-open fallback) and whether Redis is failing, read at collection
// time.
func (s *Server) registerRedisMetrics(mp metric.MeterProvider) error {
	if s.redis == nil {
		return nil
	}
	meter := mp.Meter("github.com/tollgate-gw/tollgate/server")
	fallbacks, err1 := meter.Int64ObservableCounter("tollgate.redis.throttle_fallbacks", metric.WithUnit("{check}"),
		metric.WithDescription("Throttle checks decided by this node's local limiter because Redis failed or its circuit breaker was open."))
	degraded, err2 := meter.Int64ObservableGauge("tollgate.redis.degraded", metric.WithUnit("1"),
		metric.WithDescription("1 while Redis fails (limits fall back to per-node state), else 0."))
	quotaFallbacks, err3 := meter.Int64ObservableCounter("tollgate.redis.quota_fallbacks", metric.WithUnit("{decision}"),
		metric.WithDescription("Quota decisions made from this node's own counts because Redis failed or its circuit breaker was open."))
	failedClosed, err4 := meter.Int64ObservableCounter("tollgate.redis.fail_closed_refusals", metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused with 503 RATE_LIMIT_BACKEND_UNAVAILABLE because Redis failed and their stage fails closed (limit: throttle or quota)."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(fallbacks, s.redis.limiter.Fallbacks())
		var d int64
		if s.redis.limiter.Degraded() {
			d = 1
		}
		o.ObserveInt64(degraded, d)
		o.ObserveInt64(failedClosed, s.redis.limiter.FailedClosed(), metric.WithAttributes(attribute.String("limit", "throttle")))
		if s.quota != nil {
			o.ObserveInt64(quotaFallbacks, s.quota.SharedFallbacks())
			o.ObserveInt64(failedClosed, s.quota.FailedClosed(), metric.WithAttributes(attribute.String("limit", "quota")))
		}
		return nil
	}, fallbacks, degraded, quotaFallbacks, failedClosed)
	if err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	return nil
}
