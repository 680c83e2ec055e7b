package rediscache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
)

// Defaults of a Store.
const (
	// DefaultPrefix starts the Redis keys of a Store.
	DefaultPrefix = "tollgate:cache:"
	// DefaultTimeout bounds each operation: a lookup that takes longer is a
	// miss, served by the backend.
	DefaultTimeout = 250 * time.Millisecond
	// DefaultMaxEntryBytes is the largest encoded entry stored: 512 KiB.
	// Larger values would hold Redis's single thread (and its network)
	// for long; they stay in each node's memory.
	DefaultMaxEntryBytes = 512 << 10
)

// ErrBreakerOpen is returned while the circuit breaker skips Redis.
var ErrBreakerOpen = errors.New("rediscache: redis is failing; skipped by the circuit breaker")

// get: KEYS[1] the stage's generation, KEYS[2] the entry. Returns {gen,
// value or false, pttl}.
var get = redis.NewScript(`
local g = redis.call('GET', KEYS[1]) or '0'
local v = redis.call('GET', KEYS[2])
if not v then return {g, false, 0} end
return {g, v, redis.call('PTTL', KEYS[2])}
`)

// set: KEYS as get; ARGV[1] the generation the value belongs to, ARGV[2]
// the value, ARGV[3] its lifetime in milliseconds. Returns 1 when stored.
var set = redis.NewScript(`
local g = redis.call('GET', KEYS[1]) or '0'
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], g .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
`)

// Store is a cache.Shared on Redis. Build it with New; it is safe for
// concurrent use.
type Store struct {
	client   redis.UniversalClient
	breaker  *redisconn.Breaker
	prefix   string
	timeout  time.Duration
	maxEntry int

	tooLarge atomic.Int64
}

var _ cache.Shared = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of the Store's keys, so that several fleets
// can share one Redis. Default DefaultPrefix.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithTimeout bounds each operation; zero or negative means
// DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithMaxEntryBytes sets the largest encoded entry stored; zero or
// negative means DefaultMaxEntryBytes.
func WithMaxEntryBytes(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxEntry = n
		}
	}
}

// WithBreaker sets the circuit breaker guarding Redis, shared with the
// other users of the same Redis; nil means one of the Store's own, which
// is also the default.
func WithBreaker(b *redisconn.Breaker) Option { return func(s *Store) { s.breaker = b } }

// New returns a Store keeping entries in client. It panics when client is
// nil.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("rediscache: nil client")
	}
	s := &Store{client: client, prefix: DefaultPrefix, timeout: DefaultTimeout, maxEntry: DefaultMaxEntryBytes}
	for _, o := range opts {
		o(s)
	}
	if s.breaker == nil {
		s.breaker = &redisconn.Breaker{}
	}
	return s
}

// keys returns the generation key of stage and, when key is not nil, the
// entry key.
func (s *Store) keys(stage string, key *[32]byte) []string {
	base := s.prefix + "{" + stage + "}:"
	if key == nil {
		return []string{base + "gen"}
	}
	return []string{base + "gen", base + hex.EncodeToString(key[:])}
}

// run runs f under the breaker and the timeout, detached from the call's
// cancellation: a client going away is not a Redis failure.
func (s *Store) run(ctx context.Context, f func(ctx context.Context) error) error {
	if !s.breaker.Allow() {
		return ErrBreakerOpen
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	err := f(ctx)
	s.breaker.Done(err == nil)
	return err
}

// Get implements cache.Shared.
func (s *Store) Get(ctx context.Context, stage string, key [32]byte) ([]byte, time.Duration, string, error) {
	var r []any
	err := s.run(ctx, func(ctx context.Context) error {
		v, err := get.Run(ctx, s.client, s.keys(stage, &key)).Slice()
		r = v
		return err
	})
	if err != nil {
		return nil, 0, "", fmt.Errorf("rediscache: get: %w", err)
	}
	if len(r) != 3 {
		return nil, 0, "", errors.New("rediscache: get: unexpected answer")
	}
	gen, _ := r[0].(string)
	v, _ := r[1].(string)
	pttl, _ := r[2].(int64)
	if v == "" || pttl <= 0 {
		return nil, 0, gen, nil
	}
	g, val, ok := strings.Cut(v, ":")
	if !ok || g != gen {
		return nil, 0, gen, nil // an entry of an older generation
	}
	return []byte(val), time.Duration(pttl) * time.Millisecond, gen, nil
}

// Set implements cache.Shared. A value larger than the Store's limit is
// not stored: the error wraps cache.ErrTooLarge (see TooLarge).
func (s *Store) Set(ctx context.Context, stage string, key [32]byte, gen string, value []byte, ttl time.Duration) error {
	if len(value) > s.maxEntry {
		s.tooLarge.Add(1)
		return fmt.Errorf("rediscache: %d bytes, above %d: %w", len(value), s.maxEntry, cache.ErrTooLarge)
	}
	ms := max(ttl.Milliseconds(), 1)
	return s.run(ctx, func(ctx context.Context) error {
		if err := set.Run(ctx, s.client, s.keys(stage, &key), gen, value, strconv.FormatInt(ms, 10)).Err(); err != nil {
			return fmt.Errorf("rediscache: set: %w", err)
		}
		return nil
	})
}

// Flush implements cache.Shared: one INCR of the stage's generation.
func (s *Store) Flush(ctx context.Context, stage string) error {
	return s.run(ctx, func(ctx context.Context) error {
		if err := s.client.Incr(ctx, s.keys(stage, nil)[0]).Err(); err != nil {
			return fmt.Errorf("rediscache: flush: %w", err)
		}
		return nil
	})
}

// TooLarge returns how many entries were not stored for their size.
func (s *Store) TooLarge() int64 { return s.tooLarge.Load() }
