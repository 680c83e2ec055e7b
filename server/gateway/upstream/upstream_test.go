package upstream_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

func newSet(t *testing.T, cfg upstream.Config) *upstream.Set {
	t.Helper()
	s, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// counts picks n times and counts the addresses picked.
func counts(t *testing.T, s *upstream.Set, n int, key func(i int) string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		e, err := s.Pick(key(i))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Address]++
		e.Done()
	}
	return got
}

func TestWeightedSplit(t *testing.T) {
	targets := []upstream.Target{{Address: "10.0.0.1:80", Weight: 1}, {Address: "10.0.0.2:80", Weight: 3}, {Address: "10.0.0.3:80", Weight: 6}}
	// Round robin is exact over 10,000 calls; the random policies get
	// 100,000, where 5% of the smallest share is five standard deviations.
	for _, p := range []struct {
		name   string
		policy upstream.Policy
		n      int
	}{{"round robin", upstream.RoundRobin, 10_000}, {"random", upstream.Random, 100_000}, {"least request", upstream.LeastRequest, 100_000}} {
		t.Run(p.name, func(t *testing.T) {
			s := newSet(t, upstream.Config{Targets: targets, Policy: p.policy})
			n := p.n
			got := counts(t, s, n, func(int) string { return "" })
			for _, tg := range targets {
				want := float64(n) * float64(tg.Weight) / 10
				if d := math.Abs(float64(got[tg.Address]) - want); d > 0.05*want {
					t.Errorf("%s: %d calls, want %.0f ± 5%%", tg.Address, got[tg.Address], want)
				}
			}
		})
	}
}

func TestLeastRequestAvoidsBusyTarget(t *testing.T) {
	s := newSet(t, upstream.Config{Targets: []upstream.Target{{Address: "10.0.0.1:80"}, {Address: "10.0.0.2:80"}}, Policy: upstream.LeastRequest})
	busy, _ := s.Pick("")
	for range 20 { // keep it busy
		if e, _ := s.Pick(""); e != busy {
			e.Done()
		}
	}
	got := map[string]int{}
	for range 1000 {
		e, _ := s.Pick("")
		got[e.Address]++
		e.Done()
	}
	if got[busy.Address] > 300 {
		t.Errorf("the busy endpoint got %d of 1000 calls", got[busy.Address])
	}
}

func TestConsistentHash(t *testing.T) {
	var targets []upstream.Target
	for i := range 4 {
		targets = append(targets, upstream.Target{Address: fmt.Sprintf("10.0.0.%d:80", i+1)})
	}
	s := newSet(t, upstream.Config{Targets: targets, Policy: upstream.ConsistentHash})
	const keys = 10_000
	key := func(i int) string { return fmt.Sprintf("user-%d", i) }
	first := map[string]string{}
	for i := range keys {
		e, _ := s.Pick(key(i))
		first[key(i)] = e.Address
		e.Done()
	}
	// Sticky while the targets are unchanged.
	for i := range keys {
		if e, _ := s.Pick(key(i)); e.Address != first[key(i)] {
			t.Fatalf("%s moved from %s to %s", key(i), first[key(i)], e.Address)
		}
	}
	// A fifth target takes about 1/5 of the keys, all from the others.
	grown := newSet(t, upstream.Config{Targets: append(targets, upstream.Target{Address: "10.0.0.5:80"}), Policy: upstream.ConsistentHash})
	moved := 0
	for i := range keys {
		e, _ := grown.Pick(key(i))
		if e.Address != first[key(i)] {
			moved++
			if e.Address != "10.0.0.5:80" {
				t.Fatalf("%s moved between old targets (%s → %s)", key(i), first[key(i)], e.Address)
			}
		}
	}
	if frac := float64(moved) / keys; frac < 0.13 || frac > 0.27 {
		t.Errorf("%.1f%% of keys moved, want about 20%%", 100*frac)
	}
}

func TestPickSkipsEarlierTarget(t *testing.T) {
	for _, p := range []upstream.Policy{upstream.RoundRobin, upstream.Random, upstream.LeastRequest, upstream.ConsistentHash} {
		s := newSet(t, upstream.Config{Targets: []upstream.Target{{Address: "10.0.0.1:80"}, {Address: "10.0.0.2:80"}}, Policy: p})
		for range 50 {
			first, _ := s.Pick("k")
			second, _ := s.Pick("k", first)
			if first == second {
				t.Fatalf("policy %d: the retry got the same endpoint", p)
			}
			first.Done()
			second.Done()
		}
	}
}

func TestDNSResolution(t *testing.T) {
	var mu sync.Mutex
	records := []string{"10.1.0.1", "10.1.0.2"}
	lookup := func(_ context.Context, host string) ([]string, error) {
		if host != "backend.internal" {
			return nil, fmt.Errorf("no such host %s", host)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), records...), nil
	}
	s := newSet(t, upstream.Config{
		Targets:         []upstream.Target{{Address: "backend.internal:9000", Weight: 2}, {Address: "10.9.9.9:9000"}},
		LookupHost:      lookup,
		RefreshInterval: 20 * time.Millisecond,
	})
	addrs := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range s.Endpoints() {
			out[e.Address] = true
		}
		return out
	}
	if got := addrs(); len(got) != 3 || !got["10.1.0.1:9000"] || !got["10.1.0.2:9000"] || !got["10.9.9.9:9000"] {
		t.Fatalf("endpoints %v", got)
	}
	mu.Lock()
	records = []string{"10.1.0.3"}
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !addrs()["10.1.0.3:9000"] || addrs()["10.1.0.1:9000"] {
		if time.Now().After(deadline) {
			t.Fatalf("endpoints after the records changed: %v", addrs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
