package redisthrottle_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/interceptors/throttle/redisthrottle"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

func newLimiter(tb testing.TB, url string, opts ...redisthrottle.Option) *redisthrottle.Limiter {
	tb.Helper()
	c, err := redisconn.Open(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return redisthrottle.New(c, opts...)
}

// TestBurstThenRate: two limiters (two nodes) share one bucket: together
// they admit the burst, then refuse with a retry delay of about 1/rate.
func TestBurstThenRate(t *testing.T) {
	r := redistest.Start(t)
	a, b := newLimiter(t, r.URL), newLimiter(t, r.URL)
	lim := throttle.Limit{Rate: 1, Burst: 5} // slow enough that no token comes back during the test
	admitted := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if ok, _ := l.Allow("k", lim, time.Now()); ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("admitted %d of 10 calls at once with burst 5, want 5", admitted)
	}
	ok, retry := b.Allow("k", lim, time.Now())
	if ok || retry <= 0 || retry > time.Second {
		t.Fatalf("Allow on an empty bucket = %v, %s; want refused, retry in (0, 1s]", ok, retry)
	}
	if ok, _ := a.Allow("other", lim, time.Now()); !ok {
		t.Fatal("another key was refused")
	}
	if a.Fallbacks()+b.Fallbacks() != 0 {
		t.Fatalf("fallbacks with Redis up: %d", a.Fallbacks()+b.Fallbacks())
	}
	// Blocking and unlimited limits never reach Redis.
	if ok, d := a.Allow("k", throttle.Limit{Rate: 0, Burst: 1}, time.Now()); ok || d != throttle.BlockedRetryAfter {
		t.Fatalf("blocking limit = %v %s", ok, d)
	}
}

// TestConcurrentExact: 50 goroutines over three limiters race for a burst
// of 100 at a negligible rate; exactly 100 are admitted.
func TestConcurrentExact(t *testing.T) {
	r := redistest.Start(t)
	ls := []*redisthrottle.Limiter{newLimiter(t, r.URL), newLimiter(t, r.URL), newLimiter(t, r.URL)}
	lim := throttle.Limit{Rate: 0.001, Burst: 100}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			for range 20 {
				if ok, _ := ls[g%3].Allow("race", lim, time.Now()); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 100 {
		t.Fatalf("admitted %d of 1000 racing calls against a burst of 100, want exactly 100", got)
	}
}

// TestRedisDownFailsOpen: with Redis killed, checks fall back to the local
// limiter at once (the breaker opens) and never wait long; with Redis back
// the limiter uses it again.
func TestRedisDownFailsOpen(t *testing.T) {
	r := redistest.Start(t)
	// The default breaker, seen from the test: while Redis stays down it
	// opens once and stays open (a failed probe keeps it open), whatever
	// the machine's speed.
	b := &redisconn.Breaker{}
	l := newLimiter(t, r.URL, redisthrottle.WithBreaker(b))
	lim := throttle.Limit{Rate: 1000, Burst: 1000}
	if ok, _ := l.Allow("k", lim, time.Now()); !ok {
		t.Fatal("refused with Redis up")
	}
	r.Stop(t)
	for i := range 200 {
		if ok, _ := l.Allow("k", lim, time.Now()); !ok {
			t.Fatalf("call %d refused with Redis down; want the local limiter's answer", i)
		}
	}
	if !b.Open() || b.Opened() != 1 {
		t.Errorf("breaker open %v, opened %d times; want it open once: the breaker should skip Redis", b.Open(), b.Opened())
	}
	if l.Fallbacks() != 200 || !l.Degraded() {
		t.Errorf("Fallbacks = %d, Degraded = %v; want 200, true", l.Fallbacks(), l.Degraded())
	}
	r.Restart(t)
	time.Sleep(redisconn.DefaultCoolDown + 100*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for l.Degraded() {
		l.Allow("k", lim, time.Now())
		if time.Now().After(deadline) {
			t.Fatal("the limiter never used Redis again after it restarted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailClosed: WithFailClosed refuses when Redis is down.
func TestFailClosed(t *testing.T) {
	r := redistest.Start(t)
	l := newLimiter(t, r.URL, redisthrottle.WithFailClosed())
	r.Stop(t)
	if ok, d := l.Allow("k", throttle.Limit{Rate: 10, Burst: 10}, time.Now()); ok || d <= 0 {
		t.Fatalf("Allow with Redis down and fail closed = %v %s; want refused", ok, d)
	}
}

// BenchmarkAllow measures one check against Redis on loopback: the latency
// a shared throttle adds per level per call.
func BenchmarkAllow(b *testing.B) {
	r := redistest.Start(b)
	l := newLimiter(b, r.URL)
	lim := throttle.Limit{Rate: 1e9, Burst: 1e9}
	b.ReportAllocs()
	for b.Loop() {
		l.Allow("bench", lim, time.Now())
	}
	if l.Fallbacks() != 0 {
		b.Fatalf("%d fallbacks", l.Fallbacks())
	}
}

// BenchmarkAllowParallel is BenchmarkAllow from GOMAXPROCS goroutines.
func BenchmarkAllowParallel(b *testing.B) {
	r := redistest.Start(b)
	l := newLimiter(b, r.URL)
	lim := throttle.Limit{Rate: 1e9, Burst: 1e9}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow("bench", lim, time.Now())
		}
	})
}

// TestAllowOrFail: with Redis up AllowOrFail decides as Allow; with Redis
// down it fails with throttle.ErrUnavailable at once (the breaker opens)
// and counts the refusals, while Allow on the same limiter still falls
// back to the local limiter.
func TestAllowOrFail(t *testing.T) {
	r := redistest.Start(t)
	b := &redisconn.Breaker{CoolDown: time.Hour} // open for the test once opened
	l := newLimiter(t, r.URL, redisthrottle.WithBreaker(b))
	lim := throttle.Limit{Rate: 0.001, Burst: 2}
	for i, want := range []bool{true, true, false} {
		ok, _, err := l.AllowOrFail("k", lim, time.Now())
		if err != nil || ok != want {
			t.Fatalf("check %d with Redis up = %v, %v; want %v", i, ok, err, want)
		}
	}
	r.Stop(t)
	for i := range 100 {
		ok, _, err := l.AllowOrFail("k", lim, time.Now())
		if ok || !errors.Is(err, throttle.ErrUnavailable) {
			t.Fatalf("check %d with Redis down = %v, %v; want ErrUnavailable", i, ok, err)
		}
	}
	if !b.Open() || b.Opened() != 1 {
		t.Errorf("breaker open %v, opened %d times; want it open once: the breaker should skip Redis", b.Open(), b.Opened())
	}
	if ok, _ := l.Allow("k", lim, time.Now()); !ok {
		t.Error("Allow with Redis down refused; want the local limiter's answer (a full bucket)")
	}
	if l.FailedClosed() != 100 || l.Fallbacks() != 1 {
		t.Errorf("FailedClosed = %d, Fallbacks = %d; want 100, 1", l.FailedClosed(), l.Fallbacks())
	}
}

// TestBatchAccuracy: three limiters (three nodes) in batch mode share one
// bucket under load from all of them: the fleet admits within 2% of rate
// × time + burst (the figure is logged; docs/scaling.md reports it), and
// never more than that plus one lease per node.
func TestBatchAccuracy(t *testing.T) {
	r := redistest.Start(t)
	const rate, burst = 300, 300
	const batch = 20 * time.Millisecond
	ls := []*redisthrottle.Limiter{
		newLimiter(t, r.URL, redisthrottle.WithBatch(batch)),
		newLimiter(t, r.URL, redisthrottle.WithBatch(batch)),
		newLimiter(t, r.URL, redisthrottle.WithBatch(batch)),
	}
	lim := throttle.Limit{Rate: rate, Burst: burst}
	var admitted, calls atomic.Int64
	var first, last atomic.Int64
	stop := make(chan struct{})
	time.AfterFunc(3*time.Second, func() { close(stop) })
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				now := time.Now().UnixNano()
				first.CompareAndSwap(0, now)
				if ok, _ := ls[g%3].Allow("acct", lim, time.Now()); ok {
					admitted.Add(1)
				}
				calls.Add(1)
				last.Store(max(last.Load(), now))
				time.Sleep(time.Millisecond) // 12 callers × ≈1,000/s: far above the rate
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(last.Load() - first.Load())
	want := rate*elapsed.Seconds() + burst
	got := float64(admitted.Load())
	t.Logf("batch %s, 3 nodes, %s: %d of %d calls admitted; rate × time + burst = %.0f (%+.2f%%)",
		batch, elapsed.Round(time.Millisecond), admitted.Load(), calls.Load(), want, 100*(got-want)/want)
	if calls.Load() < 3*int64(want) {
		t.Fatalf("the load (%d calls) did not reach the limit", calls.Load())
	}
	lease := float64(rate) * batch.Seconds()
	if got > want+3*lease || got < 0.98*want {
		t.Errorf("admitted %.0f, want %.0f within -2%% and +3 leases (%.0f)", got, want, 3*lease)
	}
	for _, l := range ls {
		if l.Fallbacks() != 0 {
			t.Errorf("%d fallbacks with Redis up", l.Fallbacks())
		}
	}
}

// TestBatchRedisDown: in batch mode too, a dead Redis costs no waiting and
// falls back (or fails, with AllowOrFail).
func TestBatchRedisDown(t *testing.T) {
	r := redistest.Start(t)
	b := &redisconn.Breaker{CoolDown: time.Hour} // open for the test once opened
	l := newLimiter(t, r.URL, redisthrottle.WithBatch(10*time.Millisecond), redisthrottle.WithBreaker(b))
	lim := throttle.Limit{Rate: 1, Burst: 1}
	if ok, _ := l.Allow("k", lim, time.Now()); !ok {
		t.Fatal("refused with Redis up")
	}
	r.Stop(t)
	for i := range 100 {
		if _, _, err := l.AllowOrFail("other", lim, time.Now()); !errors.Is(err, throttle.ErrUnavailable) {
			t.Fatalf("check %d with Redis down: %v, want ErrUnavailable", i, err)
		}
	}
	if ok, _ := l.Allow("other", lim, time.Now()); !ok {
		t.Fatal("Allow with Redis down refused; want the local limiter's full bucket")
	}
	if !b.Open() || b.Opened() != 1 {
		t.Errorf("breaker open %v, opened %d times; want it open once: the breaker should skip Redis", b.Open(), b.Opened())
	}
}

// BenchmarkAllowBatched is BenchmarkAllowParallel in batch mode (10 ms
// leases of a bucket of 1,000,000/s): most checks spend a leased token
// without a round trip.
func BenchmarkAllowBatched(b *testing.B) {
	r := redistest.Start(b)
	l := newLimiter(b, r.URL, redisthrottle.WithBatch(10*time.Millisecond))
	lim := throttle.Limit{Rate: 1e6, Burst: 1e6}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow("bench", lim, time.Now())
		}
	})
}

// BenchmarkAllowBatchedSerial is BenchmarkAllow in batch mode.
func BenchmarkAllowBatchedSerial(b *testing.B) {
	r := redistest.Start(b)
	l := newLimiter(b, r.URL, redisthrottle.WithBatch(10*time.Millisecond))
	lim := throttle.Limit{Rate: 1e6, Burst: 1e6}
	b.ReportAllocs()
	for b.Loop() {
		l.Allow("bench", lim, time.Now())
	}
}
