package quota

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

const key = "apiKeys/k1"

func TestTakeExactUnderConcurrency(t *testing.T) {
	tests := []struct {
		name   string
		stored int64 // calls already stored today
		limit  int64
		calls  int
		want   int
	}{
		{"cold key", 0, 100, 1000, 100},
		{"with stored usage", 40, 100, 1000, 60},
		{"quota used up", 100, 100, 1000, 0},
		{"limit above calls", 0, 5000, 1000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, st, _ := newTestCounter(t)
			today := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
			plan := dailyPlan(tt.limit)
			st.set(plan.GetName(), key, today, tt.stored)
			var admitted atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tt.calls {
				wg.Go(func() {
					<-start
					ok, _, _, err := c.Take(context.Background(), plan, key)
					if err != nil {
						t.Error(err)
					}
					if ok {
						admitted.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := admitted.Load(); got != int64(tt.want) {
				t.Fatalf("admitted %d calls, want %d", got, tt.want)
			}
			if reads, _ := st.stats(); reads != 1 {
				t.Errorf("DayCounts called %d times, want once", reads)
			}
			if err := c.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := st.get(plan.GetName(), key, today), tt.stored+int64(tt.want); got != want {
				t.Errorf("stored count = %d, want %d", got, want)
			}
		})
	}
}

func TestTakeRemainingAndResetAt(t *testing.T) {
	tests := []struct {
		name      string
		plan      *adminv1.UsagePlan
		stored    int64 // stored on the epoch's day
		takes     int
		wantOK    []bool
		wantRem   []int64
		wantReset string
	}{
		{"day", dailyPlan(3), 0, 4, []bool{true, true, true, false}, []int64{2, 1, 0, 0}, "2026-11-26T00:00:00Z"},
		{"day with stored usage", dailyPlan(3), 2, 2, []bool{true, false}, []int64{0, 0}, "2026-11-26T00:00:00Z"},
		{"week", newPlan("usagePlans/w", 2, adminv1.QuotaSettings_PERIOD_WEEK, 0), 0, 3, []bool{true, true, false}, []int64{1, 0, 0}, "2026-11-30T00:00:00Z"},
		{"week with offset", newPlan("usagePlans/w", 10, adminv1.QuotaSettings_PERIOD_WEEK, 4), 5, 1, []bool{true}, []int64{4}, "2026-11-27T00:00:00Z"},
		{"month", newPlan("usagePlans/m", 1000, adminv1.QuotaSettings_PERIOD_MONTH, 0), 999, 2, []bool{true, false}, []int64{0, 0}, "2026-12-01T00:00:00Z"},
		{"month with offset", newPlan("usagePlans/m", 50, adminv1.QuotaSettings_PERIOD_MONTH, 27), 0, 1, []bool{true}, []int64{49}, "2026-11-28T00:00:00Z"},
		{"used over the limit", dailyPlan(3), 7, 1, []bool{false}, []int64{0}, "2026-11-26T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, st, _ := newTestCounter(t)
			st.set(tt.plan.GetName(), key, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), tt.stored)
			var gotOK []bool
			var gotRem []int64
			for range tt.takes {
				ok, rem, reset := mustTake(t, c, tt.plan, key)
				gotOK, gotRem = append(gotOK, ok), append(gotRem, rem)
				if !reset.Equal(at(t, tt.wantReset)) {
					t.Errorf("resetAt = %v, want %s", reset, tt.wantReset)
				}
			}
			if diff := cmp.Diff(tt.wantOK, gotOK); diff != "" {
				t.Errorf("ok (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRem, gotRem); diff != "" {
				t.Errorf("remaining (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollover(t *testing.T) {
	tests := []struct {
		name     string
		plan     *adminv1.UsagePlan
		start    string
		boundary string
	}{
		{"day", dailyPlan(2), "2026-11-25T23:59:58Z", "2026-11-26T00:00:00Z"},
		{"day across a year", dailyPlan(2), "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z"},
		{"week", newPlan("usagePlans/w", 2, adminv1.QuotaSettings_PERIOD_WEEK, 0), "2026-11-29T23:00:00Z", "2026-11-30T00:00:00Z"},
		{"week with offset", newPlan("usagePlans/w", 2, adminv1.QuotaSettings_PERIOD_WEEK, 3), "2026-11-25T15:00:00Z", "2026-11-26T00:00:00Z"},
		{"month", newPlan("usagePlans/m", 2, adminv1.QuotaSettings_PERIOD_MONTH, 0), "2026-12-31T12:00:00Z", "2027-01-01T00:00:00Z"},
		{"month with offset", newPlan("usagePlans/m", 2, adminv1.QuotaSettings_PERIOD_MONTH, 9), "2026-12-01T00:00:00Z", "2026-12-10T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, st, clk := newTestCounter(t)
			clk.Set(at(t, tt.start))
			for range 2 {
				if ok, _, _ := mustTake(t, c, tt.plan, key); !ok {
					t.Fatal("call within quota refused")
				}
			}
			ok, _, reset := mustTake(t, c, tt.plan, key)
			if ok {
				t.Fatal("call over quota admitted")
			}
			if !reset.Equal(at(t, tt.boundary)) {
				t.Fatalf("resetAt = %v, want %s", reset, tt.boundary)
			}
			clk.Set(at(t, tt.boundary).Add(-time.Nanosecond))
			if ok, _, _ := mustTake(t, c, tt.plan, key); ok {
				t.Fatal("call admitted a nanosecond before the reset")
			}
			clk.Set(at(t, tt.boundary))
			ok, rem, _ := mustTake(t, c, tt.plan, key)
			if !ok || rem != 1 {
				t.Fatalf("first call of the new period: ok %v, remaining %d; want true, 1", ok, rem)
			}
			if err := c.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := st.get(tt.plan.GetName(), key, at(t, tt.boundary)); got != 1 {
				t.Errorf("count stored on the new period's first day = %d, want 1", got)
			}
		})
	}
}

func TestRolloverIncludesEarlierDaysOfPeriod(t *testing.T) {
	// A weekly quota counts every day of the week: a new day does not reset it.
	c, _, clk := newTestCounter(t)
	plan := newPlan("usagePlans/w", 3, adminv1.QuotaSettings_PERIOD_WEEK, 0)
	for range 2 {
		mustTake(t, c, plan, key)
	}
	clk.Advance(24 * time.Hour) // Thursday, same week
	if ok, rem, _ := mustTake(t, c, plan, key); !ok || rem != 0 {
		t.Fatalf("ok %v, remaining %d; want true, 0", ok, rem)
	}
	if ok, _, _ := mustTake(t, c, plan, key); ok {
		t.Fatal("call over the weekly quota admitted on a new day")
	}
}

func TestNoQuotaStillCounted(t *testing.T) {
	c, st, clk := newTestCounter(t)
	plan := newPlan("usagePlans/free", 0, adminv1.QuotaSettings_PERIOD_UNSPECIFIED, 0)
	for range 5 {
		ok, rem, reset := mustTake(t, c, plan, key)
		if !ok || rem != -1 || !reset.IsZero() {
			t.Fatalf("Take = %v, %d, %v; want true, -1, zero time", ok, rem, reset)
		}
	}
	clk.Advance(12 * time.Hour) // the next day
	mustTake(t, c, plan, key)
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := st.get(plan.GetName(), key, at(t, "2026-11-25T00:00:00Z")); got != 5 {
		t.Errorf("stored count of day 1 = %d, want 5", got)
	}
	if got := st.get(plan.GetName(), key, at(t, "2026-11-26T00:00:00Z")); got != 1 {
		t.Errorf("stored count of day 2 = %d, want 1", got)
	}
	if reads, _ := st.stats(); reads != 0 {
		t.Errorf("DayCounts called %d times for a plan without quota, want 0", reads)
	}
	if _, err := c.Used(context.Background(), plan, key); !errors.Is(err, ErrNoQuota) {
		t.Errorf("Used = %v, want ErrNoQuota", err)
	}
}

func TestQuotaAddedLater(t *testing.T) {
	// Counts made while a plan had no quota, not yet flushed, count when
	// a quota appears.
	c, _, _ := newTestCounter(t)
	free := newPlan("usagePlans/p", 0, adminv1.QuotaSettings_PERIOD_UNSPECIFIED, 0)
	for range 3 {
		mustTake(t, c, free, key)
	}
	limited := newPlan("usagePlans/p", 4, adminv1.QuotaSettings_PERIOD_WEEK, 0)
	if ok, rem, _ := mustTake(t, c, limited, key); !ok || rem != 0 {
		t.Fatalf("ok %v, remaining %d; want true, 0", ok, rem)
	}
	// Changing the period reloads, still counting the pending calls.
	monthly := newPlan("usagePlans/p", 5, adminv1.QuotaSettings_PERIOD_MONTH, 0)
	used, err := c.Used(context.Background(), monthly, key)
	if err != nil || used != 4 {
		t.Fatalf("Used = %d, %v; want 4", used, err)
	}
}

func TestFlushBatches(t *testing.T) {
	c, st, clk := newTestCounter(t)
	gold, silver := dailyPlan(100), newPlan("usagePlans/silver", 0, adminv1.QuotaSettings_PERIOD_UNSPECIFIED, 0)
	ctx := context.Background()

	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.stats(); writes != 0 {
		t.Fatalf("empty flush made %d AddCounts calls, want 0", writes)
	}

	for range 3 {
		mustTake(t, c, gold, "apiKeys/a")
	}
	mustTake(t, c, gold, "apiKeys/b")
	for range 2 {
		mustTake(t, c, silver, "apiKeys/a")
	}
	clk.Advance(10 * time.Hour) // 2026-11-26T01:00
	mustTake(t, c, gold, "apiKeys/a")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.stats(); writes != 1 {
		t.Fatalf("flush made %d AddCounts calls, want 1", writes)
	}
	d1, d2 := at(t, "2026-11-25T00:00:00Z"), at(t, "2026-11-26T00:00:00Z")
	want := []Delta{
		{Plan: "usagePlans/gold", APIKey: "apiKeys/a", Day: d1, Calls: 3},
		{Plan: "usagePlans/gold", APIKey: "apiKeys/a", Day: d2, Calls: 1},
		{Plan: "usagePlans/gold", APIKey: "apiKeys/b", Day: d1, Calls: 1},
		{Plan: "usagePlans/silver", APIKey: "apiKeys/a", Day: d1, Calls: 2},
	}
	got := st.batches[0]
	sort.Slice(got, func(i, j int) bool {
		a, b := got[i], got[j]
		if a.Plan != b.Plan {
			return a.Plan < b.Plan
		}
		if a.APIKey != b.APIKey {
			return a.APIKey < b.APIKey
		}
		return a.Day.Before(b.Day)
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flushed deltas (-want +got):\n%s", diff)
	}

	// Nothing new: no write.
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.stats(); writes != 1 {
		t.Errorf("flush without new calls wrote; %d AddCounts calls, want 1", writes)
	}
}

func TestFailedFlushRetried(t *testing.T) {
	c, st, _ := newTestCounter(t)
	plan := dailyPlan(100)
	ctx := context.Background()
	day := at(t, "2026-11-25T00:00:00Z")
	for range 4 {
		mustTake(t, c, plan, key)
	}
	st.setFail(false, true)
	if err := c.Flush(ctx); !errors.Is(err, errStore) {
		t.Fatalf("Flush = %v, want %v", err, errStore)
	}
	for range 3 {
		mustTake(t, c, plan, key)
	}
	if err := c.Flush(ctx); !errors.Is(err, errStore) {
		t.Fatalf("second Flush = %v, want %v", err, errStore)
	}
	if got := st.get(plan.GetName(), key, day); got != 0 {
		t.Fatalf("failed flushes stored %d calls", got)
	}
	// Usage is unaffected by failed flushes.
	if used, err := c.Used(ctx, plan, key); err != nil || used != 7 {
		t.Fatalf("Used = %d, %v; want 7", used, err)
	}
	st.setFail(false, false)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.get(plan.GetName(), key, day); got != 7 {
		t.Errorf("stored count = %d, want 7", got)
	}
	if _, writes := st.stats(); writes != 1 {
		t.Errorf("%d successful AddCounts calls, want 1", writes)
	}
	if diff := cmp.Diff([]Delta{{Plan: plan.GetName(), APIKey: key, Day: day, Calls: 7}}, st.batches[0]); diff != "" {
		t.Errorf("retried deltas (-want +got):\n%s", diff)
	}
}

func TestFlushConcurrentWithTakes(t *testing.T) {
	// Flushes racing with Takes and period loads neither lose nor double
	// count calls.
	c, st, clk := newTestCounter(t)
	plan := newPlan("usagePlans/w", 1_000_000, adminv1.QuotaSettings_PERIOD_WEEK, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	done := make(chan struct{})
	var flushes sync.WaitGroup
	flushes.Go(func() {
		fail := false
		for {
			select {
			case <-done:
				return
			default:
			}
			fail = !fail
			st.setFail(false, fail)
			_ = c.Flush(ctx)
		}
	})
	keys := []string{"apiKeys/a", "apiKeys/b", "apiKeys/c"}
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				if _, _, _, err := c.Take(ctx, plan, keys[(i+j)%len(keys)]); err != nil {
					t.Error(err)
				}
				if j == 250 && i == 0 {
					clk.Advance(24 * time.Hour) // a new day, same week
				}
			}
		})
	}
	wg.Wait()
	close(done)
	flushes.Wait()
	st.setFail(false, false)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, k := range keys {
		used, err := c.Used(ctx, plan, k)
		if err != nil {
			t.Fatal(err)
		}
		total += used
	}
	if total != 8*500 {
		t.Errorf("used %d calls in all, want %d", total, 8*500)
	}
	// A new Counter over the same Store sees the same.
	c2 := NewCounter(st, WithClock(clk.Now))
	var stored int64
	for _, k := range keys {
		used, err := c2.Used(ctx, plan, k)
		if err != nil {
			t.Fatal(err)
		}
		stored += used
	}
	if stored != 8*500 {
		t.Errorf("stored %d calls in all, want %d", stored, 8*500)
	}
}

func TestRestart(t *testing.T) {
	st, clk := newFakeStore(), newFakeClock(epoch)
	plan := newPlan("usagePlans/m", 10, adminv1.QuotaSettings_PERIOD_MONTH, 0)
	ctx := context.Background()
	c1 := NewCounter(st, WithClock(clk.Now))
	for range 4 {
		mustTake(t, c1, plan, key)
	}
	if err := c1.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour) // same month, another day
	c2 := NewCounter(st, WithClock(clk.Now))
	ok, rem, _ := mustTake(t, c2, plan, key)
	if !ok || rem != 5 {
		t.Fatalf("after restart: ok %v, remaining %d; want true, 5", ok, rem)
	}
}

func TestRunFlushesOnShutdown(t *testing.T) {
	st, clk := newFakeStore(), newFakeClock(epoch)
	c := NewCounter(st, WithClock(clk.Now), WithFlushInterval(time.Hour))
	plan := dailyPlan(10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	for range 3 {
		mustTake(t, c, plan, key)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if got := st.get(plan.GetName(), key, at(t, "2026-11-25T00:00:00Z")); got != 3 {
		t.Errorf("stored count after shutdown = %d, want 3", got)
	}
}

func TestRunFlushesPeriodically(t *testing.T) {
	st, clk := newFakeStore(), newFakeClock(epoch)
	c := NewCounter(st, WithClock(clk.Now), WithFlushInterval(5*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	mustTake(t, c, dailyPlan(10), key)
	deadline := time.Now().Add(5 * time.Second)
	for st.get("usagePlans/gold", key, at(t, "2026-11-25T00:00:00Z")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not flush within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAdjust(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		stored    int64 // on an earlier day of the week
		taken     int
		remaining int64
		wantDelta int64 // today's stored count after the flush
		wantTakes int   // calls admitted after Adjust
	}{
		{"use up", 2, 3, 0, 8, 0},       // used 5 of 10 → 10: today 3+5 = 8
		{"give back", 2, 3, 10, -2, 10}, // used 5 → 0: today 3-5 = -2
		{"partial", 0, 4, 3, 7, 3},      // used 4 → 7
		{"no change", 1, 2, 7, 2, 7},    // used 3 → 3
		{"above the limit", 0, 0, 12, -2, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, st, _ := newTestCounter(t)
			ctx := context.Background()
			plan := newPlan("usagePlans/w", 10, adminv1.QuotaSettings_PERIOD_WEEK, 0)
			st.set(plan.GetName(), key, day.AddDate(0, 0, -1), tt.stored)
			for range tt.taken {
				mustTake(t, c, plan, key)
			}
			if err := c.Adjust(ctx, plan, key, tt.remaining); err != nil {
				t.Fatal(err)
			}
			if used, err := c.Used(ctx, plan, key); err != nil || used != 10-tt.remaining {
				t.Fatalf("Used = %d, %v; want %d", used, err, 10-tt.remaining)
			}
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got := st.get(plan.GetName(), key, day); got != tt.wantDelta {
				t.Errorf("today's stored count = %d, want %d", got, tt.wantDelta)
			}
			admitted := 0
			for range 20 {
				if ok, _, _ := mustTake(t, c, plan, key); ok {
					admitted++
				}
			}
			if admitted != tt.wantTakes {
				t.Errorf("admitted %d calls after Adjust, want %d", admitted, tt.wantTakes)
			}
		})
	}
}

func TestAdjustErrors(t *testing.T) {
	c, _, _ := newTestCounter(t)
	ctx := context.Background()
	if err := c.Adjust(ctx, newPlan("usagePlans/free", 0, adminv1.QuotaSettings_PERIOD_UNSPECIFIED, 0), key, 1); !errors.Is(err, ErrNoQuota) {
		t.Errorf("Adjust without quota = %v, want ErrNoQuota", err)
	}
	if err := c.Adjust(ctx, dailyPlan(10), key, -1); err == nil {
		t.Error("Adjust with a negative remaining succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	c, st, _ := newTestCounter(t)
	ctx := context.Background()
	plan := dailyPlan(2)
	st.setFail(true, false)
	ok, _, _, err := c.Take(ctx, plan, key)
	if !errors.Is(err, errStore) || ok {
		t.Fatalf("Take = %v, %v; want false, %v", ok, err, errStore)
	}
	st.setFail(false, false)
	for i, want := range []bool{true, true, false} {
		if ok, _, _ := mustTake(t, c, plan, key); ok != want {
			t.Fatalf("Take #%d after the store recovered = %v, want %v", i, ok, want)
		}
	}
	if _, writes := st.stats(); writes != 0 {
		t.Fatal("unexpected write")
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.get(plan.GetName(), key, at(t, "2026-11-25T00:00:00Z")); got != 2 {
		t.Errorf("stored %d calls, want 2 (the failed Take is not counted)", got)
	}
}

func TestLoadOnceAndShared(t *testing.T) {
	for _, fail := range []bool{false, true} {
		c, st, _ := newTestCounter(t)
		st.readDelay = 20 * time.Millisecond
		st.setFail(fail, false)
		plan := dailyPlan(1000)
		var wg sync.WaitGroup
		var errs atomic.Int64
		for range 50 {
			wg.Go(func() {
				if _, _, _, err := c.Take(context.Background(), plan, key); err != nil {
					errs.Add(1)
				}
			})
		}
		wg.Wait()
		reads, _ := st.stats()
		if !fail && (reads != 1 || errs.Load() != 0) {
			t.Errorf("%d reads and %d errors, want 1 read and no error", reads, errs.Load())
		}
		if fail && errs.Load() != 50 {
			t.Errorf("%d errors with a failing store, want 50", errs.Load())
		}
		if fail && reads >= 50 {
			t.Errorf("%d reads with a failing store: waiters did not share the leader's error", reads)
		}
	}
}

func TestLoadWaitHonoursContext(t *testing.T) {
	c, st, _ := newTestCounter(t)
	st.readDelay = 200 * time.Millisecond
	plan := dailyPlan(10)
	go c.Take(context.Background(), plan, key) //nolint:errcheck // the leader of the load
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := c.Take(ctx, plan, key); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Take waiting for a load = %v, want DeadlineExceeded", err)
	}
}

func TestEviction(t *testing.T) {
	c, st, clk := newTestCounter(t)
	ctx := context.Background()
	daily, monthly := dailyPlan(10), newPlan("usagePlans/m", 10, adminv1.QuotaSettings_PERIOD_MONTH, 0)
	mustTake(t, c, daily, "apiKeys/a")
	mustTake(t, c, monthly, "apiKeys/b")
	st.setFail(false, true)
	clk.Advance(3 * 24 * time.Hour)
	_ = c.Flush(ctx)
	if n := c.entries(); n != 2 {
		t.Fatalf("%d entries after a failed flush, want 2: entries with pending counts are kept", n)
	}
	st.setFail(false, false)
	clk.Advance(2 * time.Minute)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Both have been idle for 3 days.
	if n := c.entries(); n != 0 {
		t.Fatalf("%d entries after idle days, want 0", n)
	}
	// A dropped key's usage is read again.
	used, err := c.Used(ctx, monthly, "apiKeys/b")
	if err != nil || used != 1 {
		t.Fatalf("Used after eviction = %d, %v; want 1", used, err)
	}

	// A key used recently is kept.
	clk.Advance(2 * time.Minute)
	mustTake(t, c, monthly, "apiKeys/b")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.entries(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}
