package upstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

func threeTargets() []upstream.Target {
	return []upstream.Target{{Address: "10.0.0.1:80"}, {Address: "10.0.0.2:80"}, {Address: "10.0.0.3:80"}}
}

func TestOutlierDetection(t *testing.T) {
	s := newSet(t, upstream.Config{Targets: threeTargets(), Outlier: &upstream.OutlierDetection{BaseEjection: 200 * time.Millisecond}})
	eps := s.Endpoints()
	bad, worse := eps[0], eps[1]
	fail := func(e *upstream.Endpoint, n int) {
		for range n {
			s.Report(e, true)
		}
	}
	fail(bad, 4)
	s.Report(bad, false) // a success resets the count
	fail(bad, 4)
	if !bad.Health().EjectedUntil.IsZero() {
		t.Fatal("ejected before 5 failures in a row")
	}
	fail(bad, 1)
	first := bad.Health().EjectedUntil
	if first.IsZero() {
		t.Fatal("not ejected after 5 failures in a row")
	}
	// At most 50%: a second ejection of three would be 67%.
	fail(worse, 10)
	if !worse.Health().EjectedUntil.IsZero() {
		t.Error("a second of three endpoints was ejected")
	}
	got := counts(t, s, 300, func(int) string { return "" })
	if got[bad.Address] != 0 {
		t.Errorf("the ejected endpoint got %d calls", got[bad.Address])
	}
	// Back after its ejection; the second ejection lasts twice as long.
	time.Sleep(time.Until(first) + 10*time.Millisecond)
	if got := counts(t, s, 300, func(int) string { return "" }); got[bad.Address] == 0 {
		t.Error("the endpoint was not readmitted after its ejection")
	}
	start := time.Now()
	fail(bad, 5)
	if d := bad.Health().EjectedUntil.Sub(start); d < 350*time.Millisecond {
		t.Errorf("second ejection lasts %v, want about 400ms", d)
	}
}

func TestHealthCheck(t *testing.T) {
	var mu sync.Mutex
	down := map[string]bool{"10.0.0.2:80": true}
	changes := make(chan string, 16)
	s := newSet(t, upstream.Config{
		Targets: threeTargets(),
		Health: &upstream.HealthCheck{
			Interval: 10 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2,
			Check: func(_ context.Context, e *upstream.Endpoint) error {
				mu.Lock()
				defer mu.Unlock()
				if down[e.Address] {
					return errors.New("NOT_SERVING")
				}
				return nil
			},
		},
		OnChange: func(e *upstream.Endpoint) { changes <- e.Address },
	})
	wait := func(addr string, healthy bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, e := range s.Endpoints() {
				if e.Address == addr && e.Health().Healthy == healthy {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never became healthy=%v", addr, healthy)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("10.0.0.2:80", false)
	if got := counts(t, s, 300, func(int) string { return "" }); got["10.0.0.2:80"] != 0 {
		t.Errorf("the unhealthy endpoint got %d calls", got["10.0.0.2:80"])
	}
	mu.Lock()
	down = map[string]bool{}
	mu.Unlock()
	wait("10.0.0.2:80", true)
	if got := counts(t, s, 300, func(int) string { return "" }); got["10.0.0.2:80"] == 0 {
		t.Error("the endpoint got no calls once healthy again")
	}
	// All unhealthy: calls still go somewhere.
	mu.Lock()
	down = map[string]bool{"10.0.0.1:80": true, "10.0.0.2:80": true, "10.0.0.3:80": true}
	mu.Unlock()
	for _, a := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"} {
		wait(a, false)
	}
	if got := counts(t, s, 30, func(int) string { return "" }); len(got) == 0 {
		t.Error("no endpoint took calls when all were unhealthy")
	}
	if len(changes) == 0 {
		t.Error("OnChange was never called")
	}
}
