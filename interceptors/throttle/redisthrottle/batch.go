package redisthrottle

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-gw/tollgate/interceptors/throttle"
)

// lease takes up to ARGV[3] tokens at once from the GCRA bucket KEYS[1]
// (ARGV[1] the emission interval in microseconds, ARGV[2] the burst): as
// many as the bucket holds, at most that many. It returns {n, 0} when n ≥ 1
// tokens were taken, and {0, microseconds until one will be} otherwise.
// Taking n tokens moves the theoretical arrival time by n intervals, so a
// node's lease leaves the bucket exactly as n single checks would.
var leaseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local avail = math.floor((now + burst * interval - tat) / interval + 1e-9)
if avail < 1 then
  return {0, math.max(math.ceil(tat + interval - burst * interval - now), 1)}
end
local n = math.min(want, avail)
local newTat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.ceil((newTat - now) / 1000) + 1)
return {n, 0}
`)

// minLeaseLife is the least time a lease's tokens stay usable.
const minLeaseLife = time.Second

// leases are the tokens a Limiter in batch mode took from Redis and has
// not spent yet, by bucket key, in shards.
type leases struct {
	seed   maphash.Seed
	batch  time.Duration
	shards [64]leaseShard
}

// leaseShard is one part of leases.
type leaseShard struct {
	mu        sync.Mutex
	m         map[string]*lease
	nextSweep time.Time
	_         [64]byte
}

// lease is one bucket's tokens on this node. Its fields are guarded by mu.
type lease struct {
	mu sync.Mutex
	// tokens were taken from Redis and are spent here until expires,
	// after which the rest is dropped (so that a node's unspent tokens
	// do not pile up: a node admits at most one lease more than the
	// bucket would within a lease's life).
	tokens  int64
	expires time.Time
	// blockedUntil is when Redis said the next token would be available:
	// until then calls are refused here, without a round trip.
	blockedUntil time.Time
	// demand counts calls since the last fetch (at lastFetch), to size
	// the next lease to this node's share of the traffic.
	demand    int64
	lastFetch time.Time
	// fetching is the round trip in progress, which the other calls of
	// the bucket wait for rather than making their own.
	fetching *fetch
}

// fetch is one lease round trip; err is set before done is closed.
type fetch struct {
	done chan struct{}
	err  error
}

// newLeases returns empty leases of batch.
func newLeases(batch time.Duration) *leases {
	ls := &leases{seed: maphash.MakeSeed(), batch: batch}
	for i := range ls.shards {
		ls.shards[i].m = map[string]*lease{}
	}
	return ls
}

// get returns the lease of key, created empty, sweeping the shard of
// leases idle for a while on the way.
func (ls *leases) get(key string, now time.Time) *lease {
	s := &ls.shards[maphash.String(ls.seed, key)%uint64(len(ls.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.nextSweep) {
		for k, l := range s.m {
			if l.idleSince(now) {
				delete(s.m, k)
			}
		}
		s.nextSweep = now.Add(time.Minute)
	}
	l := s.m[key]
	if l == nil {
		l = &lease{}
		s.m[key] = l
	}
	return l
}

// idleSince reports whether the lease holds nothing worth keeping: no
// usable token, no refusal to remember, no fetch in progress, and no use
// for a minute.
func (l *lease) idleSince(now time.Time) bool {
	if !l.mu.TryLock() {
		return false
	}
	defer l.mu.Unlock()
	return l.fetching == nil && now.After(l.expires) && now.After(l.blockedUntil) && now.Sub(l.lastFetch) > time.Minute
}

// size is how many tokens to ask for: what this node used during the last
// lease's time, scaled to the batch interval, at least one, at most the
// fleet's rate over the batch interval and the burst.
func (ls *leases) size(l *lease, limit throttle.Limit, now time.Time) int64 {
	most := min(math.Ceil(limit.Rate*ls.batch.Seconds()), float64(limit.Burst))
	want := most
	if el := now.Sub(l.lastFetch); !l.lastFetch.IsZero() && el > 0 {
		want = math.Ceil(float64(l.demand) / el.Seconds() * ls.batch.Seconds())
	}
	return int64(max(1, min(want, most)))
}

// allowBatched is allow in batch mode: a token of the node's lease when it
// has one, else a refusal remembered from Redis, else one round trip
// taking a new lease (shared by the calls that arrive meanwhile).
func (l *Limiter) allowBatched(key string, limit throttle.Limit) (bool, time.Duration, error) {
	now := time.Now()
	le := l.leases.get(key, now)
	le.mu.Lock()
	le.demand++
	for {
		if le.tokens > 0 && now.Before(le.expires) {
			le.tokens--
			le.mu.Unlock()
			return true, 0, nil
		}
		if now.Before(le.blockedUntil) {
			wait := le.blockedUntil.Sub(now)
			le.mu.Unlock()
			return false, wait, nil
		}
		if f := le.fetching; f != nil {
			le.mu.Unlock()
			<-f.done
			if f.err != nil {
				return false, 0, f.err
			}
			now = time.Now()
			le.mu.Lock()
			continue
		}
		break
	}
	f := &fetch{done: make(chan struct{})}
	le.fetching = f
	want := l.leases.size(le, limit, now)
	le.mu.Unlock()

	n, wait, err := l.fetchLease(key, limit, want)

	le.mu.Lock()
	defer func() {
		le.fetching = nil
		le.mu.Unlock()
		close(f.done)
	}()
	if err != nil {
		f.err = err
		return false, 0, err
	}
	now = time.Now()
	le.demand, le.lastFetch = 0, now
	if n == 0 {
		le.blockedUntil = now.Add(wait)
		return false, wait, nil
	}
	le.tokens = n - 1
	le.expires = now.Add(max(l.leases.batch, minLeaseLife))
	return true, 0, nil
}

// fetchLease runs the lease script under the breaker.
func (l *Limiter) fetchLease(key string, limit throttle.Limit, want int64) (int64, time.Duration, error) {
	if !l.breaker.Allow() {
		return 0, 0, errBreakerOpen
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	res, err := leaseScript.Run(ctx, l.client, []string{l.prefix + key}, 1e6/limit.Rate, limit.Burst, want).Int64Slice()
	l.breaker.Done(err == nil)
	if err != nil {
		l.failed(err)
		return 0, 0, err
	}
	l.answered()
	if len(res) != 2 {
		return 0, time.Second, nil
	}
	if res[0] > 0 {
		return res[0], 0, nil
	}
	return 0, time.Duration(max(res[1], 1)) * time.Microsecond, nil
}
