package quota

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// Shared keeps the quota counts of the current periods in a store that
// every gateway node shares (for example Redis, see package redisquota),
// so that a quota is exact across nodes. A Counter given one with
// WithShared decides quotas there and still counts calls itself, to
// flush them to its Store for usage reports.
//
// Every method names a count by key and creates it, when missing, with
// the value seed and an expiry at expireAt; an existing count keeps its
// value and expiry. Implementations must be safe for concurrent use, and
// should fail fast: the Counter falls back to its own counts on an error.
type Shared interface {
	// Take adds pending to the count of key when it exists (calls counted
	// while the shared store failed, which a new count's seed already
	// includes), then takes one call when the count is below limit. It
	// returns the count afterwards and whether the call was taken.
	Take(ctx context.Context, key string, limit, seed, pending int64, expireAt time.Time) (used int64, ok bool, err error)
	// Add adds delta to the count of key and returns the count afterwards.
	// A delta of zero reads the count.
	Add(ctx context.Context, key string, delta, seed int64, expireAt time.Time) (used int64, err error)
	// Set sets the count of key to value and returns the count before.
	Set(ctx context.Context, key string, value, seed int64, expireAt time.Time) (old int64, err error)
}

// sharedExpirySlack keeps a shared count a day past its period's end, so
// that nodes whose clocks lag still find it.
const sharedExpirySlack = 24 * time.Hour

// WithShared makes the Counter decide quotas in s, shared by every node,
// rather than in its own memory. See the package documentation ("Several
// nodes") for what happens when s fails. Nil means no shared store, which
// is also the default.
func WithShared(s Shared) Option { return func(o *options) { o.shared = s } }

// sharedKey names the count of a key's period in the shared store.
func sharedKey(e *entry) string {
	return e.plan + "|" + e.apiKey + "|" + strconv.FormatInt(e.from.Unix(), 10)
}

// sharedStats are the Counter's dealings with its Shared store.
type sharedStats struct {
	fallbacks atomic.Int64 // decisions made locally because the shared store failed
	refused   atomic.Int64 // calls refused because it failed and they fail closed
	down      atomic.Bool  // the last attempt failed
	closedLog atomic.Int64 // when a refusal was last logged, Unix nanoseconds
}

// SharedFallbacks returns how many quota decisions were made from this
// node's own counts because the Shared store failed.
func (c *Counter) SharedFallbacks() int64 { return c.shared.fallbacks.Load() }

// takeShared is Take for a plan with quota q when the Counter has a Shared
// store. It is called with s locked and e loaded for the period containing
// now, and returns with s unlocked.
func (c *Counter) takeShared(ctx context.Context, s *shard, e *entry, limit int64, now time.Time, failClosed bool) (bool, int64, time.Time, error) {
	key, seed, pending, to := sharedKey(e), e.used, e.unsynced, e.to
	e.unsynced = 0
	s.mu.Unlock()

	used, ok, err := c.opts.shared.Take(ctx, key, limit, seed, pending, to.Add(sharedExpirySlack))

	s.mu.Lock()
	defer s.mu.Unlock()
	// e may have been dropped by a sweep or moved to a later period
	// meanwhile: its counts still go to the Store with the next flush,
	// and only the current period's usage is updated.
	current := e.loaded && e.to.Equal(to)
	if err != nil {
		c.sharedFailed(err)
		if current {
			e.unsynced += pending
		}
		if failClosed {
			c.refusedClosed()
			return false, 0, to, fmt.Errorf("quota: %w: %w", ErrSharedUnavailable, err)
		}
		if current && e.used >= limit {
			return false, 0, to, nil
		}
		s.count(e, dayOf(now), 1)
		if current {
			e.unsynced++
		}
		return true, max(limit-e.used, 0), to, nil
	}
	c.sharedAnswered()
	if current {
		e.used = used
	}
	if !ok {
		return false, 0, to, nil
	}
	// count adds the call to used, which already holds it.
	s.count(e, dayOf(now), 1)
	if current {
		e.used = used
	}
	return true, limit - used, to, nil
}

// ErrSharedUnavailable is the error of a quota decision that the Shared
// store could not make, for a stage that fails closed
// (Stage.redis_failure_mode): the call is refused with 503, not counted.
var ErrSharedUnavailable = errors.New("the shared quota store is unavailable")

// closedLogInterval is the least time between two log lines about calls
// refused for failing closed.
const closedLogInterval = 10 * time.Second

// FailedClosed returns how many calls were refused because the Shared
// store failed and their stage fails closed.
func (c *Counter) FailedClosed() int64 { return c.shared.refused.Load() }

// refusedClosed counts a call refused for failing closed, and logs it at
// most once per closedLogInterval.
func (c *Counter) refusedClosed() {
	n := c.shared.refused.Add(1)
	now := time.Now().UnixNano()
	last := c.shared.closedLog.Load()
	if now-last >= int64(closedLogInterval) && c.shared.closedLog.CompareAndSwap(last, now) {
		c.opts.logger.Warn("quota: the shared store is unavailable: calls of stages that fail closed are refused with 503 RATE_LIMIT_BACKEND_UNAVAILABLE", "refused_total", n)
	}
}

// sharedFailed records a failure of the Shared store.
func (c *Counter) sharedFailed(err error) {
	c.shared.fallbacks.Add(1)
	if c.shared.down.CompareAndSwap(false, true) {
		c.opts.logger.Warn("quota: the shared store failed; quotas are decided from this node's counts until it answers", "error", err.Error())
	}
}

// sharedAnswered records an answer of the Shared store.
func (c *Counter) sharedAnswered() {
	if c.shared.down.Load() && c.shared.down.CompareAndSwap(true, false) {
		c.opts.logger.Info("quota: the shared store answers again; quotas are exact across nodes again")
	}
}

// usedShared is Used with a Shared store: the shared count, or this node's
// when the shared store fails. It is called with s locked and returns
// with s unlocked.
func (c *Counter) usedShared(ctx context.Context, s *shard, e *entry) (int64, error) {
	key, seed, to, local := sharedKey(e), e.used, e.to, e.used
	s.mu.Unlock()
	used, err := c.opts.shared.Add(ctx, key, 0, seed, to.Add(sharedExpirySlack))
	if err != nil {
		c.sharedFailed(err)
		return local, nil
	}
	c.sharedAnswered()
	return used, nil
}

// adjustShared is Adjust with a Shared store: it sets the shared count to
// target, which every node decides from, and counts the difference here,
// for the Store. When the shared store fails it changes nothing and
// returns an error wrapping ErrSharedUnavailable. It is called with s
// locked and returns with s unlocked.
func (c *Counter) adjustShared(ctx context.Context, s *shard, e *entry, target int64, now time.Time) error {
	key, seed, to := sharedKey(e), e.used, e.to
	s.mu.Unlock()
	old, err := c.opts.shared.Set(ctx, key, target, seed, to.Add(sharedExpirySlack))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		c.sharedFailed(err)
		return fmt.Errorf("quota: adjust: %w: %w", ErrSharedUnavailable, err)
	}
	c.sharedAnswered()
	if delta := target - old; delta != 0 {
		s.count(e, dayOf(now), delta)
	}
	if e.loaded && e.to.Equal(to) {
		e.used = target
	}
	return nil
}
