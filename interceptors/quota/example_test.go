package quota_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
)

// memStore is a Store in memory, for the example.
type memStore struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (s *memStore) DayCounts(_ context.Context, plan, apiKey string, from, to time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		n += s.counts[plan+"/"+apiKey+"/"+d.Format(time.DateOnly)]
	}
	return n, nil
}

func (s *memStore) AddCounts(_ context.Context, deltas []quota.Delta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range deltas {
		s.counts[d.Plan+"/"+d.APIKey+"/"+d.Day.Format(time.DateOnly)] += d.Calls
	}
	return nil
}

func ExampleCounter_Take() {
	counter := quota.NewCounter(&memStore{counts: map[string]int64{}})
	plan := &adminv1.UsagePlan{
		Name:  "usagePlans/basic",
		Quota: &adminv1.QuotaSettings{Limit: 2, Period: adminv1.QuotaSettings_PERIOD_MONTH},
	}
	for range 3 {
		ok, remaining, _, err := counter.Take(context.Background(), plan, "apiKeys/k1")
		fmt.Println(ok, remaining, err)
	}
	// Output:
	// true 1 <nil>
	// true 0 <nil>
	// false 0 <nil>
}

func ExampleStreamServerInterceptor() {
	counter := quota.NewCounter(&memStore{counts: map[string]int64{}})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		counter.Run(ctx) // flushes every second, and once more on stop
		close(done)
	}()
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(
		// The API key and throttle interceptors come first.
		quota.StreamServerInterceptor(counter),
	))
	// Register the proxy's unknown-service handler, listen and serve; then:
	srv.Stop()
	stop()
	<-done
	fmt.Println("stopped")
	// Output: stopped
}
