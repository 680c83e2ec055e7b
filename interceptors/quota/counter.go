package quota

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// numShards is the number of independently locked parts of a Counter.
const numShards = 64

// idleTimeout is how long a Counter keeps the state of a key nobody calls
// with. Dropping it loses nothing (its counts are in the Store, and the
// next call loads them again), so it only trades memory for one Store read.
const idleTimeout = 24 * time.Hour

// sweepInterval is how often, by the Counter's clock, a flush also drops
// idle state.
const sweepInterval = time.Minute

// finalFlushTimeout bounds the final flush of Run, retried until then.
const finalFlushTimeout = 10 * time.Second

// finalFlushRetry is the delay between attempts of Run's final flush.
const finalFlushRetry = 200 * time.Millisecond

// ErrNoQuota is returned by Used and Adjust for a usage plan without a
// quota: such a plan has no period, so no "used" nor "remaining" either.
var ErrNoQuota = errors.New("quota: usage plan has no quota")

// Store persists the daily call counts of API keys in usage plans. The
// admin service implements it over the gateway's store, under the keys
// that usage reports read.
type Store interface {
	// DayCounts returns the sum of the stored counts of one key in one
	// plan over the UTC days in [from, to); days without a record count 0.
	DayCounts(ctx context.Context, plan, apiKey string, from, to time.Time) (int64, error)
	// AddCounts adds the deltas to the stored daily counts atomically, in
	// one transaction: after an error, none of them was added.
	AddCounts(ctx context.Context, deltas []Delta) error
}

// Delta is a change of the stored count of one key in one plan on one day.
type Delta struct {
	// Plan is the usage plan's resource name, "usagePlans/{plan}".
	Plan string
	// APIKey is the API key's resource name, "apiKeys/{key}".
	APIKey string
	// Day is the UTC midnight that starts the day.
	Day time.Time
	// Calls is added to the day's count. It is negative after Adjust gave
	// calls back.
	Calls int64
}

// Counter counts calls per API key per UTC day, decides quotas from those
// counts, and writes them to a Store in batches. Its zero value is not
// usable; call NewCounter. A Counter is safe for concurrent use.
//
// State is kept per (plan, key) in a map split into 64 shards, each with
// its own mutex, so that calls of different keys rarely wait for each
// other, while the calls of one key are decided one after the other: a
// quota is never exceeded, however many calls race for its last unit.
type Counter struct {
	store    Store
	opts     options
	seed     maphash.Seed
	interval time.Duration

	// flushMu serializes flushes. Loads of stored counts never wait for
	// it (nor, so, for a flush waiting for the Store's write lock): a
	// load that a flush overlaps counts the calls the flush carries as
	// not stored, which can only overcount, and is redone later (see
	// load).
	flushMu sync.Mutex
	// flushSeq is odd while a flush has counts out of the pending state:
	// a load that sees it unchanged and even saw no flush.
	flushSeq atomic.Uint64
	// nextSweep is when a flush next drops idle state, in Unix
	// nanoseconds of the Counter's clock; guarded by flushMu.
	nextSweep int64
	// deltas and refs are the buffers of Flush, reused between flushes;
	// guarded by flushMu.
	deltas []Delta
	refs   []*entry

	shared sharedStats

	shards [numShards]shard
}

// shard is one part of a Counter's state.
type shard struct {
	mu sync.Mutex
	m  map[entryKey]*entry
	// dirty lists the entries with pending counts.
	dirty []*entry
	// recheck lists the entries to load again after the next flush.
	recheck []*entry
	_       [64]byte // keeps shards on separate cache lines
}

// entryKey identifies the state of one key in one plan.
type entryKey struct {
	plan, apiKey string
}

// entry is the state of one key in one plan. Its fields are guarded by the
// shard's mutex.
type entry struct {
	plan, apiKey string

	// loaded says that used counts the period [from, to) of the quota
	// settings period and offset.
	loaded   bool
	from, to time.Time
	period   adminv1.QuotaSettings_Period
	offset   int32
	// used is the number of calls in the period: the stored counts when
	// the period was loaded plus every call counted since.
	used int64

	// loading is the load in flight, or nil.
	loading *load

	// unsynced counts the calls of the period counted here while the
	// Shared store failed, to be added there by the next Take.
	unsynced int64

	// pending are the counts not yet written to the Store, by day.
	pending []dayCount
	// flushing are the counts a flush in progress is writing, which may
	// or may not be in the Store yet.
	flushing []dayCount
	// recheck says that used was loaded while a flush ran, so may
	// overcount: the entry is in its shard's recheck list, loaded again
	// after the next flush.
	recheck bool
	// dirty says that the entry is in its shard's dirty list.
	dirty bool

	// lastUsed is the last time the entry was used, in Unix nanoseconds.
	lastUsed int64
}

// dayCount is a pending count of one day.
type dayCount struct {
	day   int64
	calls int64
}

// load is one load of the stored counts of an entry's period, which the
// calls that need it while it is in flight wait for.
type load struct {
	done chan struct{}
	err  error // set before done is closed
	// flushed are the counts flushes wrote while the load was in flight
	// (guarded by the shard's mutex): its read may have missed them.
	flushed []dayCount
}

// NewCounter returns a Counter that persists counts in store. It accepts
// WithFlushInterval, WithClock and WithLogger. It panics when store is
// nil.
func NewCounter(store Store, opts ...Option) *Counter {
	if store == nil {
		panic("quota: nil Store")
	}
	o := evaluate(opts)
	c := &Counter{store: store, opts: o, seed: maphash.MakeSeed(), interval: o.flushInterval}
	for i := range c.shards {
		c.shards[i].m = make(map[entryKey]*entry)
	}
	return c
}

// shardOf returns the shard of an API key.
func (c *Counter) shardOf(apiKey string) *shard {
	return &c.shards[maphash.String(c.seed, apiKey)%numShards]
}

// Take counts one call of apiKey in plan if the plan's quota allows it. It
// refuses (ok false) when the calls already used in the current period
// reach the quota's limit, and does not count the refused call. It returns
// the calls left in the period after this one (0 when refused) and when the
// period ends, that is when the quota resets.
//
// A plan without a quota allows every call and still counts it, for usage
// reports; remaining is then -1 and resetAt the zero time. The first call
// of a key in a period reads the stored counts of the period (once, however
// many calls wait for it); an error reading them is returned, with ok
// false, and the call is not counted.
func (c *Counter) Take(ctx context.Context, plan *adminv1.UsagePlan, apiKey string) (ok bool, remaining int64, resetAt time.Time, err error) {
	return c.take(ctx, plan, apiKey, false)
}

// take is Take; with failClosed, a decision the Shared store cannot make
// returns ErrSharedUnavailable rather than being made from this node's
// counts.
func (c *Counter) take(ctx context.Context, plan *adminv1.UsagePlan, apiKey string, failClosed bool) (ok bool, remaining int64, resetAt time.Time, err error) {
	q := plan.GetQuota()
	s, e, now, err := c.acquire(ctx, q, plan.GetName(), apiKey)
	if err != nil {
		return false, 0, time.Time{}, err
	}
	if q == nil {
		s.count(e, dayOf(now), 1)
		s.mu.Unlock()
		return true, -1, time.Time{}, nil
	}
	limit, to := q.GetLimit(), e.to
	if c.opts.shared != nil {
		return c.takeShared(ctx, s, e, limit, now, failClosed)
	}
	if e.used >= limit {
		s.mu.Unlock()
		return false, 0, to, nil
	}
	s.count(e, dayOf(now), 1)
	remaining = limit - e.used
	s.mu.Unlock()
	return true, remaining, to, nil
}

// Used returns the calls of apiKey in the current period of plan's quota:
// the stored counts of the period, read once per period and kept, plus
// every call counted since. It returns ErrNoQuota for a plan without a
// quota.
func (c *Counter) Used(ctx context.Context, plan *adminv1.UsagePlan, apiKey string) (int64, error) {
	q := plan.GetQuota()
	if q == nil {
		return 0, ErrNoQuota
	}
	s, e, _, err := c.acquire(ctx, q, plan.GetName(), apiKey)
	if err != nil {
		return 0, err
	}
	if c.opts.shared != nil {
		return c.usedShared(ctx, s, e)
	}
	used := e.used
	s.mu.Unlock()
	return used, nil
}

// Adjust sets the calls apiKey has left in the current period of plan's
// quota to remaining, like AWS API Gateway's UpdateUsage: it adds the
// difference between the limit minus remaining and the calls used so far
// to today's count, which is persisted with the next flush. The difference
// is negative when calls are given back, and today's stored count may then
// become negative. A remaining above the limit grants extra calls for the
// rest of the period. It returns ErrNoQuota for a plan without a quota and
// an error for a negative remaining. With a Shared store the count is set
// there, for every node; when the Shared store fails nothing changes and
// the error wraps ErrSharedUnavailable, since adjusting this node alone
// would not hold across the fleet.
func (c *Counter) Adjust(ctx context.Context, plan *adminv1.UsagePlan, apiKey string, remaining int64) error {
	q := plan.GetQuota()
	if q == nil {
		return ErrNoQuota
	}
	if remaining < 0 {
		return fmt.Errorf("quota: adjust %s: remaining must not be negative (got %d)", apiKey, remaining)
	}
	s, e, now, err := c.acquire(ctx, q, plan.GetName(), apiKey)
	if err != nil {
		return err
	}
	if c.opts.shared != nil {
		return c.adjustShared(ctx, s, e, q.GetLimit()-remaining, now)
	}
	if delta := q.GetLimit() - remaining - e.used; delta != 0 {
		s.count(e, dayOf(now), delta)
	}
	s.mu.Unlock()
	return nil
}

// acquire returns the entry of apiKey in plan with its shard locked. For a
// plan with quota q, the entry counts the period containing the returned
// time, which is now unless the entry's period has already started later
// (concurrent callers may read the clock out of order around a period
// boundary; the entry's period never moves back).
func (c *Counter) acquire(ctx context.Context, q *adminv1.QuotaSettings, plan, apiKey string) (*shard, *entry, time.Time, error) {
	now := c.opts.now().UTC()
	s := c.shardOf(apiKey)
	k := entryKey{plan: plan, apiKey: apiKey}
	for {
		s.mu.Lock()
		e := s.m[k]
		if e == nil {
			e = &entry{plan: plan, apiKey: apiKey}
			s.m[k] = e
		}
		e.lastUsed = max(e.lastUsed, now.UnixNano())
		if q == nil {
			return s, e, now, nil
		}
		if e.loaded && e.period == q.GetPeriod() && e.offset == q.GetOffset() && now.Before(e.to) {
			if now.Before(e.from) {
				now = e.from
			}
			return s, e, now, nil
		}
		if err := c.load(ctx, s, e, q, now); err != nil {
			return nil, nil, now, err
		}
	}
}

// load makes e count the period of q containing now, reading the stored
// counts of the period, or waits for the load in flight. It is called with
// s locked and returns with s unlocked.
func (c *Counter) load(ctx context.Context, s *shard, e *entry, q *adminv1.QuotaSettings, now time.Time) error {
	if l := e.loading; l != nil {
		s.mu.Unlock()
		select {
		case <-l.done:
			return l.err
		case <-ctx.Done():
			return fmt.Errorf("quota: wait for the usage of %s: %w", e.apiKey, ctx.Err())
		}
	}
	l := &load{done: make(chan struct{})}
	e.loading = l
	s.mu.Unlock()

	from, to := Period(q, now)
	seq := c.flushSeq.Load()
	n, err := c.store.DayCounts(ctx, e.plan, e.apiKey, from, to)
	s.mu.Lock()
	if err == nil {
		// Counts not yet flushed are not in the Store. Without a flush
		// during the read, that is all: counts are pending or stored.
		// With one, the read may or may not include what it wrote, so
		// those counts are added too, which can only overcount, and the
		// entry is loaded again after the next flush.
		first, last := dayOf(from), dayOf(to)
		add := func(cs []dayCount) {
			for _, p := range cs {
				if p.day >= first && p.day < last {
					n += p.calls
				}
			}
		}
		add(e.pending)
		if seq%2 == 1 || c.flushSeq.Load() != seq {
			add(e.flushing)
			add(l.flushed)
			if !e.recheck {
				e.recheck = true
				s.recheck = append(s.recheck, e)
			}
		}
		e.loaded, e.from, e.to, e.period, e.offset, e.used = true, from, to, q.GetPeriod(), q.GetOffset(), n
	} else {
		err = fmt.Errorf("quota: read the usage of %s in %s: %w", e.apiKey, e.plan, err)
	}
	l.err = err
	e.loading = nil
	close(l.done)
	s.mu.Unlock()
	return err
}

// count adds calls to e's count of day and to its period's usage. It is
// called with s locked.
func (s *shard) count(e *entry, day, calls int64) {
	if e.loaded {
		e.used += calls
	}
	e.add(day, calls)
	if !e.dirty {
		e.dirty = true
		s.dirty = append(s.dirty, e)
	}
}

// add adds calls to the pending count of day.
func (e *entry) add(day, calls int64) {
	for i := range e.pending {
		if e.pending[i].day == day {
			e.pending[i].calls += calls
			return
		}
	}
	e.pending = append(e.pending, dayCount{day: day, calls: calls})
}

// Flush writes the pending counts to the Store in one AddCounts call, and
// makes none when nothing is pending. When AddCounts fails, the counts stay
// pending, to be written by the next flush: since AddCounts adds all of
// them or none, no call is ever counted twice. Flushes are serialized.
// Flush also drops the state of keys idle for a day, at most once a minute.
//
// Loads of stored counts (a key's first call in a period) do not wait for
// a flush, however long the Store makes it wait: the flushing counts stay
// visible to them (see load).
func (c *Counter) Flush(ctx context.Context) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.flushSeq.Add(1) // odd: counts leave the pending state
	deltas, refs := c.deltas[:0], c.refs[:0]
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for j, e := range s.dirty {
			for _, p := range e.pending {
				if p.calls != 0 {
					deltas = append(deltas, Delta{Plan: e.plan, APIKey: e.apiKey, Day: dayTime(p.day), Calls: p.calls})
					refs = append(refs, e)
					e.flushing = append(e.flushing, p)
				}
			}
			e.pending = e.pending[:0]
			e.dirty = false
			s.dirty[j] = nil
		}
		s.dirty = s.dirty[:0]
		s.mu.Unlock()
	}
	var err error
	if len(deltas) > 0 {
		err = c.store.AddCounts(ctx, deltas)
	}
	// The counts are stored, or (on failure) put back to pending. No
	// entry can have been dropped in the meantime: only flushes drop
	// entries. A load in flight may have read the Store before the
	// counts reached it: they are handed to it.
	for i, d := range deltas {
		e := refs[i]
		s := c.shardOf(e.apiKey)
		s.mu.Lock()
		if err != nil {
			e.add(dayOf(d.Day), d.Calls)
			if !e.dirty {
				e.dirty = true
				s.dirty = append(s.dirty, e)
			}
		} else if e.loading != nil {
			e.loading.flushed = append(e.loading.flushed, dayCount{day: dayOf(d.Day), calls: d.Calls})
		}
		e.flushing = e.flushing[:0]
		s.mu.Unlock()
	}
	c.flushSeq.Add(1) // even: every count is pending or stored
	if err != nil {
		err = fmt.Errorf("quota: flush %d counts: %w", len(deltas), err)
	}
	// Entries loaded during a flush may overcount: load them again (by
	// their next call), now that no flush runs.
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for j, e := range s.recheck {
			e.recheck = false
			if e.loading == nil {
				e.loaded = false
			}
			s.recheck[j] = nil
		}
		s.recheck = s.recheck[:0]
		s.mu.Unlock()
	}
	// Keep the buffers, without references to the entries.
	clear(refs)
	clear(deltas)
	c.deltas, c.refs = deltas[:0], refs[:0]
	c.sweep()
	return err
}

// sweep drops the state of keys unused for idleTimeout, or whose period has
// ended, when the last sweep was sweepInterval ago. It is called with
// flushMu held, after a flush. Dropping loses nothing: entries with pending
// counts or a load in flight are kept, and the next call of a dropped key
// reads its counts from the Store again.
func (c *Counter) sweep() {
	now := c.opts.now().UTC()
	if now.UnixNano() < c.nextSweep {
		return
	}
	c.nextSweep = now.Add(sweepInterval).UnixNano()
	idleSince := now.Add(-idleTimeout).UnixNano()
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if e.dirty || e.loading != nil {
				continue
			}
			if e.lastUsed < idleSince || (e.loaded && !now.Before(e.to)) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

// Run flushes the pending counts every flush interval until ctx is done,
// then flushes one last time, with a context that is not cancelled,
// retrying for up to ten seconds: a graceful shutdown loses no count unless
// the Store stays unavailable that long. Failed flushes are logged and
// retried at the next interval. Run returns after the final flush.
func (c *Counter) Run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.finalFlush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			if err := c.Flush(ctx); err != nil && ctx.Err() == nil {
				c.opts.logger.Warn("quota: flush failed; counts stay pending", slog.String("error", err.Error()))
			}
		}
	}
}

// finalFlush flushes until it succeeds or finalFlushTimeout has passed.
func (c *Counter) finalFlush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, finalFlushTimeout)
	defer cancel()
	for {
		err := c.Flush(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			c.opts.logger.Error("quota: final flush failed; pending counts are lost", slog.String("error", err.Error()))
			return
		case <-time.After(finalFlushRetry):
		}
	}
}
