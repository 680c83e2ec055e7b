package quota

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// epoch is where fake clocks start: Wednesday 25 November 2026, 15:00 UTC.
var epoch = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// at parses an RFC 3339 time.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newFakeClock(t time.Time) *testkit.Clock { return testkit.NewClock(t) }

// errStore is the error of a failing fakeStore.
var errStore = errors.New("store unavailable")

// storeKey identifies one stored daily count.
type storeKey struct {
	plan, apiKey string
	day          time.Time
}

// fakeStore is an in-memory Store that can be told to fail.
type fakeStore struct {
	mu         sync.Mutex
	counts     map[storeKey]int64
	failReads  bool
	failWrites bool
	reads      int
	writes     int       // successful AddCounts calls
	batches    [][]Delta // deltas of successful AddCounts calls
	readDelay  time.Duration
}

func newFakeStore() *fakeStore { return &fakeStore{counts: make(map[storeKey]int64)} }

func (s *fakeStore) DayCounts(ctx context.Context, plan, apiKey string, from, to time.Time) (int64, error) {
	if s.readDelay > 0 {
		time.Sleep(s.readDelay)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.failReads {
		return 0, errStore
	}
	var n int64
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		n += s.counts[storeKey{plan, apiKey, d}]
	}
	return n, nil
}

func (s *fakeStore) AddCounts(ctx context.Context, deltas []Delta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWrites {
		return errStore
	}
	s.writes++
	s.batches = append(s.batches, append([]Delta(nil), deltas...))
	for _, d := range deltas {
		if !d.Day.Equal(d.Day.UTC().Truncate(24 * time.Hour)) {
			panic("delta day is not a UTC midnight: " + d.Day.String())
		}
		s.counts[storeKey{d.Plan, d.APIKey, d.Day}] += d.Calls
	}
	return nil
}

func (s *fakeStore) set(plan, apiKey string, day time.Time, n int64) {
	s.mu.Lock()
	s.counts[storeKey{plan, apiKey, day}] = n
	s.mu.Unlock()
}

func (s *fakeStore) get(plan, apiKey string, day time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[storeKey{plan, apiKey, day}]
}

func (s *fakeStore) setFail(reads, writes bool) {
	s.mu.Lock()
	s.failReads, s.failWrites = reads, writes
	s.mu.Unlock()
}

func (s *fakeStore) stats() (reads, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.writes
}

// newPlan returns a usage plan with a quota, or without one when period is
// PERIOD_UNSPECIFIED.
func newPlan(name string, limit int64, period adminv1.QuotaSettings_Period, offset int32) *adminv1.UsagePlan {
	p := &adminv1.UsagePlan{Name: name}
	if period != adminv1.QuotaSettings_PERIOD_UNSPECIFIED {
		p.Quota = &adminv1.QuotaSettings{Limit: limit, Period: period, Offset: offset}
	}
	return p
}

// dailyPlan returns the daily plan "usagePlans/gold" of limit calls.
func dailyPlan(limit int64) *adminv1.UsagePlan {
	return newPlan("usagePlans/gold", limit, adminv1.QuotaSettings_PERIOD_DAY, 0)
}

// newTestCounter returns a Counter over a fake store and clock.
func newTestCounter(t testing.TB) (*Counter, *fakeStore, *testkit.Clock) {
	t.Helper()
	st, clk := newFakeStore(), newFakeClock(epoch)
	return NewCounter(st, WithClock(clk.Now)), st, clk
}

// mustTake takes one call and fails the test on error.
func mustTake(t testing.TB, c *Counter, plan *adminv1.UsagePlan, key string) (bool, int64, time.Time) {
	t.Helper()
	ok, rem, reset, err := c.Take(context.Background(), plan, key)
	if err != nil {
		t.Fatalf("Take(%s): %v", key, err)
	}
	return ok, rem, reset
}

// entries returns the number of entries the Counter keeps.
func (c *Counter) entries() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
