package throttle

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// numShards is the number of independently locked parts of a LocalLimiter.
const numShards = 64

// LocalLimiter is an in-memory Limiter, for one gateway node, built on
// golang.org/x/time/rate. Its zero value is not usable; call
// NewLocalLimiter.
//
// Buckets are created on first use in a map split into 64 shards, each with
// its own mutex, so that calls on different buckets rarely wait for each
// other. A bucket nobody has used for longer than it takes to refill
// completely (Burst/Rate), and at least the idle timeout (WithIdleTimeout,
// one minute by default), is removed: a removed bucket was full, so
// recreating it full on the next call changes nothing. Removal needs no
// goroutine: a call that finds its shard not swept for an idle timeout
// sweeps that shard first, so the work is amortized over calls and each
// sweep covers 1/64 of the buckets. Memory is therefore bounded by the
// number of distinct keys used within about two idle timeouts, whatever the
// number of keys used over the process's life. Sweep removes idle buckets
// of every shard at once, for callers that want to run it on a timer.
//
// A LocalLimiter is safe for concurrent use. Allow does not allocate for an
// existing bucket.
type LocalLimiter struct {
	seed        maphash.Seed
	idleTimeout time.Duration
	shards      [numShards]shard
}

var _ Limiter = (*LocalLimiter)(nil)

// shard is one part of a LocalLimiter's buckets.
type shard struct {
	mu sync.Mutex
	m  map[string]*bucket
	// nextSweep is when the shard is next swept, in Unix nanoseconds of
	// the callers' clock.
	nextSweep int64
	// peak is the largest size of m since it was last allocated; the map
	// is reallocated when a sweep leaves it much smaller, because Go maps
	// never give memory back.
	peak int
	_    [64]byte // keeps shards on separate cache lines
}

// bucket is one token bucket. Its fields are guarded by the shard's mutex.
type bucket struct {
	lim   *rate.Limiter
	limit Limit
	// idle is how long the bucket is kept unused.
	idle time.Duration
	// last is the latest time the bucket was used. Calls never move a
	// bucket's clock backwards, so concurrent callers whose clocks were
	// read out of order cannot count the same interval twice.
	last time.Time
}

// NewLocalLimiter returns an empty LocalLimiter. It accepts WithIdleTimeout.
func NewLocalLimiter(opts ...Option) *LocalLimiter {
	o := evaluate(opts)
	l := &LocalLimiter{seed: maphash.MakeSeed(), idleTimeout: o.idleTimeout}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*bucket)
	}
	return l
}

// Allow implements Limiter. A limit that refuses every call (Rate 0,
// Burst 0) or admits every call (Rate +Inf) is decided without a bucket:
// none is created, and an existing bucket of the key is left as it is, to
// be removed when idle.
//
// The time now may come from any clock, as long as all callers use the
// same one; a now earlier than the bucket's last use counts as that last
// use.
func (l *LocalLimiter) Allow(key string, limit Limit, now time.Time) (bool, time.Duration) {
	if limit.unlimited() {
		return true, 0
	}
	if limit.blocks() {
		return false, BlockedRetryAfter
	}
	s := &l.shards[maphash.String(l.seed, key)%numShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := now.UnixNano(); n >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = n + int64(l.idleTimeout)
	}
	b := s.m[key]
	switch {
	case b == nil:
		b = &bucket{lim: rate.NewLimiter(rate.Limit(limit.Rate), limit.Burst), limit: limit, idle: l.idleFor(limit), last: now}
		s.m[key] = b
		s.peak = max(s.peak, len(s.m))
	case now.Before(b.last):
		now = b.last
	}
	if b.limit != limit {
		if b.limit.Rate != limit.Rate {
			b.lim.SetLimitAt(now, rate.Limit(limit.Rate))
		}
		if b.limit.Burst != limit.Burst {
			b.lim.SetBurstAt(now, limit.Burst)
		}
		b.limit, b.idle = limit, l.idleFor(limit)
	}
	b.last = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, untilToken(b.lim.TokensAt(now), limit.Rate)
}

// untilToken returns how long a bucket holding tokens (fewer than one)
// takes to hold one at rate, rounded up to the nanosecond and at least one
// nanosecond.
func untilToken(tokens, r float64) time.Duration {
	ns := math.Ceil((1 - tokens) / r * float64(time.Second))
	switch {
	case !(ns < math.MaxInt64): // also NaN
		return math.MaxInt64
	case ns < 1:
		return 1
	}
	return time.Duration(ns)
}

// idleFor returns how long a bucket of limit is kept unused: the time it
// takes to refill completely, and at least the idle timeout.
func (l *LocalLimiter) idleFor(limit Limit) time.Duration {
	refill := float64(limit.Burst) / limit.Rate * float64(time.Second)
	if refill >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(l.idleTimeout, time.Duration(refill))
}

// sweep removes the buckets of s unused since longer than their idle time
// at now. It requires s.mu.
func (s *shard) sweep(now time.Time) int {
	removed := 0
	for k, b := range s.m {
		if now.Sub(b.last) > b.idle {
			delete(s.m, k)
			removed++
		}
	}
	// Reallocate a map that has shrunk to under a quarter of its peak, so
	// that a burst of keys does not hold memory for ever.
	if s.peak > 1024 && len(s.m) < s.peak/4 {
		m := make(map[string]*bucket, len(s.m))
		for k, b := range s.m {
			m[k] = b
		}
		s.m, s.peak = m, len(m)
	}
	return removed
}

// Sweep removes every bucket unused for longer than its idle time at now,
// in all shards, and returns how many it removed. Calling it is never
// needed, since Allow sweeps as it goes; it lets a server that wants
// removal to happen off the request path run it on a timer.
func (l *LocalLimiter) Sweep(now time.Time) int {
	removed := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		removed += s.sweep(now)
		s.nextSweep = now.UnixNano() + int64(l.idleTimeout)
		s.mu.Unlock()
	}
	return removed
}

// Len returns the number of buckets held, including idle buckets not yet
// removed.
func (l *LocalLimiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
