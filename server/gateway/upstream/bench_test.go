package upstream_test

import (
	"fmt"
	"testing"

	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

// BenchmarkPick is the balancing cost per call: Pick and Done over 1 and
// 10 targets, for each policy (issue 17).
func BenchmarkPick(b *testing.B) {
	policies := []struct {
		name string
		p    upstream.Policy
	}{{"round_robin", upstream.RoundRobin}, {"random", upstream.Random}, {"least_request", upstream.LeastRequest}, {"consistent_hash", upstream.ConsistentHash}}
	for _, pol := range policies {
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/targets=%d", pol.name, n), func(b *testing.B) {
				var targets []upstream.Target
				for i := range n {
					targets = append(targets, upstream.Target{Address: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: uint32(i%3 + 1)})
				}
				s, err := upstream.New(upstream.Config{Targets: targets, Policy: pol.p,
					Outlier: &upstream.OutlierDetection{}})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(s.Close)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						e, err := s.Pick("user-42")
						if err != nil {
							b.Fatal(err)
						}
						e.Done()
						s.Report(e, false)
					}
				})
			})
		}
	}
}
