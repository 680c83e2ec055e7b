package redisquota

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
)

// DefaultPrefix starts the Redis keys of a Store.
const DefaultPrefix = "tollgate:quota:"

// Timeout bounds each operation in Redis unless WithTimeout says
// otherwise.
const Timeout = 500 * time.Millisecond

// Option configures a Store.
type Option func(*Store)

// WithTimeout bounds each operation in Redis to d instead of Timeout (a
// test sharing two loaded cores with a hundred concurrent takes needs
// longer; a gateway should keep the short default).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// ErrBreakerOpen is returned while the circuit breaker skips Redis.
var ErrBreakerOpen = errors.New("redisquota: redis is failing; skipped by the circuit breaker")

// init creates the count KEYS[1] with ARGV[1] expiring at ARGV[2] (Unix
// milliseconds) when missing, and reports whether it existed (1) or not (0).
const initCount = `
local existed = 1
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  existed = 0
end
`

// take: ARGV[3] the limit, ARGV[4] pending calls to add to an existing count.
var take = redis.NewScript(initCount + `
if existed == 1 and tonumber(ARGV[4]) ~= 0 then
  redis.call('INCRBY', KEYS[1], ARGV[4])
end
local used = tonumber(redis.call('GET', KEYS[1]))
if used >= tonumber(ARGV[3]) then return {0, used} end
return {1, redis.call('INCR', KEYS[1])}
`)

// add: ARGV[3] the delta.
var add = redis.NewScript(initCount + `
return redis.call('INCRBY', KEYS[1], ARGV[3])
`)

// set: ARGV[3] the new value; returns the old one.
var set = redis.NewScript(initCount + `
local old = tonumber(redis.call('GET', KEYS[1]))
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return old
`)

// Store is a quota.Shared on Redis. Build it with New.
type Store struct {
	client  redis.UniversalClient
	breaker *redisconn.Breaker
	prefix  string
	timeout time.Duration
}

var _ quota.Shared = (*Store)(nil)

// New returns a Store keeping counts in client, guarded by breaker (nil:
// a breaker of its own). It panics when client is nil.
func New(client redis.UniversalClient, breaker *redisconn.Breaker, opts ...Option) *Store {
	if client == nil {
		panic("redisquota: nil client")
	}
	if breaker == nil {
		breaker = &redisconn.Breaker{}
	}
	s := &Store{client: client, breaker: breaker, prefix: DefaultPrefix, timeout: Timeout}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// run runs a script under the breaker and the timeout.
func (s *Store) run(ctx context.Context, script *redis.Script, key string, args ...any) (any, error) {
	if !s.breaker.Allow() {
		return nil, ErrBreakerOpen
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	v, err := script.Run(ctx, s.client, []string{s.prefix + key}, args...).Result()
	s.breaker.Done(err == nil)
	return v, err
}

// Take implements quota.Shared.
func (s *Store) Take(ctx context.Context, key string, limit, seed, pending int64, expireAt time.Time) (int64, bool, error) {
	v, err := s.run(ctx, take, key, seed, expireAt.UnixMilli(), limit, pending)
	if err != nil {
		return 0, false, err
	}
	r, ok := v.([]any)
	if !ok || len(r) != 2 {
		return 0, false, errors.New("redisquota: unexpected answer to take")
	}
	taken, _ := r[0].(int64)
	used, _ := r[1].(int64)
	return used, taken == 1, nil
}

// Add implements quota.Shared.
func (s *Store) Add(ctx context.Context, key string, delta, seed int64, expireAt time.Time) (int64, error) {
	v, err := s.run(ctx, add, key, seed, expireAt.UnixMilli(), delta)
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return n, nil
}

// Set implements quota.Shared.
func (s *Store) Set(ctx context.Context, key string, value, seed int64, expireAt time.Time) (int64, error) {
	v, err := s.run(ctx, set, key, seed, expireAt.UnixMilli(), value)
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return n, nil
}
