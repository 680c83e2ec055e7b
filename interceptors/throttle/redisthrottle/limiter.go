package redisthrottle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
)

// DefaultPrefix starts the Redis keys of a Limiter, unless WithPrefix.
const DefaultPrefix = "tollgate:throttle:"

// DefaultTimeout bounds one check in Redis, unless WithTimeout.
const DefaultTimeout = 500 * time.Millisecond

// gcra is the check: KEYS[1] holds the theoretical arrival time (TAT) in
// microseconds; ARGV[1] is the emission interval (1/rate) in microseconds
// and ARGV[2] the burst. It returns {1, 0} when the call is admitted and
// {0, microseconds until it would be} when refused. Times come from the
// server's clock, so every node sees one clock. (Redis 7 replicates a
// script's effects, not the script, so reading TIME is allowed.)
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + interval
local allowAt = newTat - burst * interval
if allowAt > now then
  return {0, math.ceil(allowAt - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.ceil((newTat - now) / 1000) + 1)
return {1, 0}
`)

// Limiter is a throttle.Limiter on Redis. Build it with New. It is safe
// for concurrent use.
type Limiter struct {
	client   redis.UniversalClient
	local    *throttle.LocalLimiter
	breaker  *redisconn.Breaker
	prefix   string
	timeout  time.Duration
	failOpen bool
	log      *slog.Logger
	leases   *leases // batch mode's tokens, or nil

	fallbacks atomic.Int64 // checks decided without Redis
	refused   atomic.Int64 // checks refused without Redis (failing closed)
	down      atomic.Bool  // Redis failed and has not answered since (for logs)
	// closedLog is when a refusal for failing closed was last logged
	// (Unix nanoseconds), so that an outage logs one line per interval.
	closedLog atomic.Int64
}

var _ throttle.FallibleLimiter = (*Limiter)(nil)

// closedLogInterval is the least time between two log lines about calls
// refused for failing closed.
const closedLogInterval = 10 * time.Second

// New returns a Limiter keeping buckets in client. It accepts WithPrefix,
// WithTimeout, WithLogger, WithBreaker, WithFailClosed and WithBatch. It panics when
// client is nil.
func New(client redis.UniversalClient, opts ...Option) *Limiter {
	if client == nil {
		panic("redisthrottle: nil client")
	}
	o := options{prefix: DefaultPrefix, timeout: DefaultTimeout, failOpen: true, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.breaker == nil {
		o.breaker = &redisconn.Breaker{}
	}
	l := &Limiter{client: client, local: throttle.NewLocalLimiter(), breaker: o.breaker, prefix: o.prefix,
		timeout: o.timeout, failOpen: o.failOpen, log: o.log}
	if o.batch > 0 {
		l.leases = newLeases(o.batch)
	}
	return l
}

// Allow implements throttle.Limiter: one round trip to Redis, or the local
// fallback (see the package documentation). The time now is used only by
// the fallback: Redis uses its own clock. Unlimited and blocking limits
// are decided without Redis.
func (l *Limiter) Allow(key string, limit throttle.Limit, now time.Time) (bool, time.Duration) {
	ok, retry, err := l.allow(key, limit)
	if err == nil {
		return ok, retry
	}
	if !l.failOpen {
		l.refusedClosed()
		return false, time.Second
	}
	l.fallbacks.Add(1)
	return l.local.Allow(key, limit, now)
}

// AllowOrFail implements throttle.FallibleLimiter: Allow, but a check that
// Redis cannot answer (or that the circuit breaker keeps from it) returns
// an error wrapping throttle.ErrUnavailable instead of falling back. The
// interceptors use it for stages that fail closed.
func (l *Limiter) AllowOrFail(key string, limit throttle.Limit, _ time.Time) (bool, time.Duration, error) {
	ok, retry, err := l.allow(key, limit)
	if err != nil {
		l.refusedClosed()
		return false, 0, fmt.Errorf("redisthrottle: %w: %w", throttle.ErrUnavailable, err)
	}
	return ok, retry, nil
}

// errBreakerOpen is allow's error while the breaker keeps checks from Redis.
var errBreakerOpen = errors.New("redis is failing; skipped by the circuit breaker")

// allow decides in Redis, or fails when Redis cannot answer. Unlimited and
// blocking limits are decided without Redis.
func (l *Limiter) allow(key string, limit throttle.Limit) (bool, time.Duration, error) {
	if limit.Rate > math.MaxFloat64 {
		return true, 0, nil
	}
	if !(limit.Rate > 0) || limit.Burst < 1 {
		return false, throttle.BlockedRetryAfter, nil
	}
	if l.leases != nil {
		return l.allowBatched(key, limit)
	}
	if !l.breaker.Allow() {
		return false, 0, errBreakerOpen
	}
	ok, retry, err := l.check(key, limit)
	l.breaker.Done(err == nil)
	if err == nil {
		l.answered()
		return ok, retry, nil
	}
	l.failed(err)
	return false, 0, err
}

// answered records an answer of Redis, logging the end of an outage.
func (l *Limiter) answered() {
	if l.down.Load() && l.down.CompareAndSwap(true, false) {
		l.log.Info("redis answers again: throttling is shared by the nodes again")
	}
}

// failed records a failure of Redis, logging the start of an outage.
func (l *Limiter) failed(err error) {
	if !l.down.Load() && l.down.CompareAndSwap(false, true) {
		l.log.Warn("redis failed: throttling falls back to this node's local limits until it answers, except on stages that fail closed, whose calls are refused (503)", "error", err.Error())
	}
}

// refusedClosed counts a check refused for failing closed, and logs it at
// most once per closedLogInterval.
func (l *Limiter) refusedClosed() {
	l.refused.Add(1)
	now := time.Now().UnixNano()
	last := l.closedLog.Load()
	if now-last >= int64(closedLogInterval) && l.closedLog.CompareAndSwap(last, now) {
		l.log.Warn("redis is unavailable: calls of stages that fail closed are refused with 503 RATE_LIMIT_BACKEND_UNAVAILABLE", "refused_total", l.refused.Load())
	}
}

// check runs the script.
func (l *Limiter) check(key string, limit throttle.Limit) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	interval := 1e6 / limit.Rate
	res, err := gcra.Run(ctx, l.client, []string{l.prefix + key}, interval, limit.Burst).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) == 2 && res[0] == 1 {
		return true, 0, nil
	}
	var wait int64 = 1
	if len(res) == 2 {
		wait = max(res[1], 1)
	}
	return false, time.Duration(wait) * time.Microsecond, nil
}

// Fallbacks returns how many checks were decided by the local limiter
// because Redis failed (failing open).
func (l *Limiter) Fallbacks() int64 { return l.fallbacks.Load() }

// FailedClosed returns how many checks were refused because Redis failed
// and they fail closed (WithFailClosed, or AllowOrFail).
func (l *Limiter) FailedClosed() int64 { return l.refused.Load() }

// Degraded reports whether Redis failed at the last attempt: checks are
// then decided locally.
func (l *Limiter) Degraded() bool { return l.down.Load() }
