package redisquota_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/interceptors/quota/redisquota"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

// memStore is the configuration store the nodes share, in memory.
type memStore struct {
	mu    sync.Mutex
	calls int64
}

func (m *memStore) DayCounts(context.Context, string, string, time.Time, time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls, nil
}

func (m *memStore) AddCounts(_ context.Context, deltas []quota.Delta) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range deltas {
		m.calls += d.Calls
	}
	return nil
}

func (m *memStore) total() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func newCounter(tb testing.TB, url string, st quota.Store) *quota.Counter {
	tb.Helper()
	return newCounterWithBreaker(tb, url, st, nil)
}

// newCounterWithBreaker is newCounter with the test's view of the breaker
// (nil: a breaker of its own).
func newCounterWithBreaker(tb testing.TB, url string, st quota.Store, b *redisconn.Breaker) *quota.Counter {
	tb.Helper()
	c, err := redisconn.Open(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	// A generous timeout: these tests check counting, not Redis's speed,
	// and a loaded machine can hold a take past the 500 ms default.
	return quota.NewCounter(st, quota.WithShared(redisquota.New(c, b, redisquota.WithTimeout(10*time.Second))))
}

var plan = &adminv1.UsagePlan{Name: "usagePlans/p", Quota: &adminv1.QuotaSettings{Limit: 100, Period: adminv1.QuotaSettings_PERIOD_DAY}}

// TestExactAcrossCounters: 1,000 takes from 100 concurrent goroutines over
// three Counters (three nodes) against a limit of 100 admit exactly 100,
// and the three flush exactly 100 calls to the shared store.
func TestExactAcrossCounters(t *testing.T) {
	r := redistest.Start(t)
	st := &memStore{}
	cs := []*quota.Counter{newCounter(t, r.URL, st), newCounter(t, r.URL, st), newCounter(t, r.URL, st)}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 10 {
				ok, _, _, err := cs[(g+i)%3].Take(context.Background(), plan, "apiKeys/k")
				if err != nil {
					t.Error(err)
				}
				if ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 100 {
		t.Fatalf("admitted %d of 1000 takes over 3 counters against a limit of 100, want exactly 100", got)
	}
	for _, c := range cs {
		if err := c.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := c.SharedFallbacks(); n != 0 {
			t.Errorf("%d fallbacks with Redis up", n)
		}
	}
	if got := st.total(); got != 100 {
		t.Errorf("the counters flushed %d calls, want 100", got)
	}
	used, err := cs[1].Used(context.Background(), plan, "apiKeys/k")
	if err != nil || used != 100 {
		t.Errorf("Used = %d, %v; want 100", used, err)
	}
	// Adjust on one node gives calls back to all of them.
	if err := cs[0].Adjust(context.Background(), plan, "apiKeys/k", 5); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range 10 {
		if ok, _, _, _ := cs[i%3].Take(context.Background(), plan, "apiKeys/k"); ok {
			n++
		}
	}
	if n != 5 {
		t.Errorf("after Adjust(remaining 5), %d of 10 takes admitted; want 5", n)
	}
}

// TestRedisDown: with Redis killed, each Counter decides from its own
// counts (calls keep being admitted up to the limit as this node sees it)
// and fails fast; the calls counted meanwhile are added to Redis's count
// when it answers again.
func TestRedisDown(t *testing.T) {
	r := redistest.Start(t)
	st := &memStore{}
	// The default breaker, seen from the test: while Redis stays down it
	// opens once and stays open (a failed probe keeps it open).
	b := &redisconn.Breaker{}
	c := newCounterWithBreaker(t, r.URL, st, b)
	for range 10 {
		if ok, _, _, err := c.Take(context.Background(), plan, "apiKeys/k"); !ok || err != nil {
			t.Fatalf("Take = %v, %v", ok, err)
		}
	}
	r.Stop(t)
	for range 20 {
		if ok, _, _, err := c.Take(context.Background(), plan, "apiKeys/k"); !ok || err != nil {
			t.Fatalf("Take with Redis down = %v, %v; want admitted from local counts", ok, err)
		}
	}
	if !b.Open() || b.Opened() != 1 {
		t.Errorf("breaker open %v, opened %d times; want it open once: takes should skip Redis", b.Open(), b.Opened())
	}
	if c.SharedFallbacks() != 20 {
		t.Errorf("SharedFallbacks = %d, want 20", c.SharedFallbacks())
	}
	// Redis comes back empty: the count is seeded from what this node
	// knows (30 calls), and it admits the 70 left.
	r.Restart(t)
	time.Sleep(redisconn.DefaultCoolDown + 100*time.Millisecond)
	n := 0
	for range 100 {
		if ok, _, _, _ := c.Take(context.Background(), plan, "apiKeys/k"); ok {
			n++
		}
	}
	if n != 70 {
		t.Errorf("after Redis restarted, %d of 100 takes admitted; want the 70 left", n)
	}
}

// BenchmarkTake measures one quota decision in Redis on loopback.
func BenchmarkTake(b *testing.B) {
	r := redistest.Start(b)
	c := newCounter(b, r.URL, &memStore{})
	big := &adminv1.UsagePlan{Name: "usagePlans/big", Quota: &adminv1.QuotaSettings{Limit: 1 << 60, Period: adminv1.QuotaSettings_PERIOD_DAY}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, _, err := c.Take(context.Background(), big, "apiKeys/k"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
