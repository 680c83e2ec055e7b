package cache

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"google.golang.org/grpc/metadata"
)

// errNotProto is ProtoCodec's error for a message that is not a proto.Message.
var errNotProto = errors.New("cache: the message is not a proto.Message")

// key identifies one cached response: the SHA-256 of its key parts, so that
// keys have a fixed size whatever the request, and that two requests never
// share an entry by accident.
type key [32]byte

// entry is one cached response: what the backend sent, to be replayed.
// Immutable once stored.
type entry struct {
	header  metadata.MD
	msg     []byte
	trailer metadata.MD
	// expires is when the entry stops being served, by the Cache's clock;
	// ttl is the lifetime it was stored with.
	expires time.Time
	ttl     time.Duration
}

// entryOverhead approximates the memory of an entry besides its message and
// metadata: the key, the struct, the map headers and otter's node.
const entryOverhead = 256

// weight is what an entry counts against its cache's capacity, in bytes.
func (e *entry) weight() uint32 {
	n := entryOverhead + len(e.msg) + mdSize(e.header) + mdSize(e.trailer)
	return uint32(min(n, 1<<31))
}

// mdSize is the size of metadata's keys and values.
func mdSize(md metadata.MD) int {
	n := 0
	for k, vs := range md {
		n += len(k) + 16
		for _, v := range vs {
			n += len(v) + 16
		}
	}
	return n
}

// stageCache is the cache of one stage serving one deployment, bounded by
// the stage's capacity, with the backend calls in progress.
type stageCache struct {
	entries *otter.Cache[key, *entry]
	// capacity is the maximum weight last applied to entries, read on
	// every call without otter's eviction lock.
	capacity atomic.Int64

	mu sync.Mutex
	// epoch counts flushes: a backend call that started in an older epoch
	// does not fill the cache.
	epoch   uint64
	flights map[key]*flight
}

// flight is one backend call that concurrent misses of the same key share.
// Its fields are written before done is closed and read only after.
type flight struct {
	done chan struct{}
	// res is the response, when it can be replayed to the waiting calls.
	res *entry
	// err is the backend's error, which the waiting calls get too.
	err error
	// hit says res came from the shared tier: the waiting calls are hits.
	hit bool
	// retry tells the waiting calls to make their own backend call: the
	// response could not be kept (too large) or the leading call ended
	// for a reason of its own (its client went away).
	retry bool
}

// otterClock is the Cache's clock as otter needs it. Without periodic ticks,
// expired entries are dropped when read or evicted by size.
type otterClock struct{ now func() time.Time }

// NowNano returns the clock's time in nanoseconds since the Unix epoch.
func (c otterClock) NowNano() int64 { return c.now().UnixNano() }

// Tick returns no ticks: tests drive the clock themselves.
func (otterClock) Tick(time.Duration) <-chan time.Time { return nil }

// newStageCache returns an empty cache of capacity bytes.
func newStageCache(capacity int64, o *options) (*stageCache, error) {
	opts := &otter.Options[key, *entry]{
		MaximumWeight: uint64(capacity),
		Weigher:       func(_ key, e *entry) uint32 { return e.weight() },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[key, *entry]) time.Duration {
			return e.Value.ttl
		}),
	}
	if o.fakeClock {
		opts.Clock = otterClock{now: o.now}
	}
	c, err := otter.New(opts)
	if err != nil {
		return nil, err
	}
	sc := &stageCache{entries: c, flights: map[key]*flight{}}
	sc.capacity.Store(capacity)
	return sc, nil
}

// get returns the live entry of k.
func (sc *stageCache) get(k key, now time.Time) (*entry, bool) {
	e, ok := sc.entries.GetIfPresent(k)
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e, true
}

// put stores e under k unless the cache was flushed since epoch.
func (sc *stageCache) put(k key, e *entry, epoch uint64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.epoch == epoch {
		sc.entries.Set(k, e)
	}
}

// flush empties the cache; backend calls in progress will not fill it.
func (sc *stageCache) flush() {
	sc.mu.Lock()
	sc.epoch++
	sc.mu.Unlock()
	sc.entries.InvalidateAll()
}

// close empties the cache and stops otter's goroutines.
func (sc *stageCache) close() {
	sc.flush()
	sc.entries.StopAllGoroutines()
}

// stageCaches are the caches of one stage, by deployment: the stage's and
// its canary's.
type stageCaches map[string]*stageCache

// stageCache returns the cache of a stage serving a deployment, creating
// it (empty) the first time, or nil for a deployment that Retain did not
// keep. capacity is the stage's capacity in bytes; a changed capacity
// applies to the existing cache.
func (c *Cache) stageCache(stage, deployment string, capacity int64) *stageCache {
	c.mu.RLock()
	sc := c.stages[stage][deployment]
	c.mu.RUnlock()
	if sc == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if sc = c.stages[stage][deployment]; sc == nil {
			if c.live != nil && !slices.Contains(c.live[stage], deployment) {
				return nil
			}
			var err error
			sc, err = newStageCache(capacity, &c.opts)
			if err != nil {
				// Only invalid options fail, and capacity is positive.
				c.opts.logger.Error("cache: cannot create a stage cache", "stage", stage, "error", err)
				return nil
			}
			if c.stages[stage] == nil {
				c.stages[stage] = stageCaches{}
			}
			c.stages[stage][deployment] = sc
			c.opts.logger.Debug("cache: new stage cache", slog.String("stage", stage), slog.String("deployment", deployment), slog.Int64("capacity", capacity))
		}
	}
	if sc.capacity.Load() != capacity {
		sc.entries.SetMaximum(uint64(capacity))
		sc.capacity.Store(capacity)
	}
	return sc
}
