package throttle

import (
	"context"
	"math"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// benchChecks are five levels with prebuilt keys and limits that never
// refuse in a benchmark.
var benchChecks = func() []Check {
	big := Limit{Rate: 1e12, Burst: math.MaxInt32}
	return []Check{
		{Level: LevelAccount, Key: "account", Limit: big},
		{Level: LevelStage, Key: "stage|apis/a/stages/prod", Limit: big},
		{Level: LevelRoute, Key: "stage|apis/a/stages/prod|route|r1", Limit: big},
		{Level: LevelPlan, Key: "plan|usagePlans/gold|apiKeys/k1", Limit: big},
		{Level: LevelPlanRoute, Key: "plan|usagePlans/gold|apiKeys/k1|route|r1", Limit: big},
	}
}()

// benchSetup returns an interceptor making benchChecks against l, warmed
// up, and what to call it with.
func benchSetup(l Limiter) (grpc.StreamServerInterceptor, grpc.ServerStream, *grpc.StreamServerInfo, grpc.StreamHandler) {
	checks := func(_ context.Context, dst []Check) []Check { return append(dst, benchChecks...) }
	si := StreamServerInterceptor(l, checks)
	ss := testkit.NewServerStream(context.Background())
	info := &grpc.StreamServerInfo{FullMethod: "/test.v1.Test/Call"}
	handler := func(any, grpc.ServerStream) error { return nil }
	_ = si(nil, ss, info, handler)
	return si, ss, info, handler
}

func BenchmarkInterceptorAllLevels(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		si, ss, info, handler := benchSetup(NewLocalLimiter())
		b.ReportAllocs()
		for b.Loop() {
			if err := si(nil, ss, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		si, ss, info, handler := benchSetup(NewLocalLimiter())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := si(nil, ss, info, handler); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkLocalLimiterAllow(b *testing.B) {
	limit := Limit{Rate: 1e12, Burst: math.MaxInt32}
	b.Run("one key", func(b *testing.B) {
		l := NewLocalLimiter()
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			l.Allow("stage|apis/a/stages/prod|route|r1", limit, now)
		}
	})
	b.Run("one key parallel", func(b *testing.B) {
		l := NewLocalLimiter()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow("stage|apis/a/stages/prod|route|r1", limit, time.Now())
			}
		})
	})
	b.Run("10k keys parallel", func(b *testing.B) {
		l := NewLocalLimiter()
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = "plan|usagePlans/gold|apiKeys/" + strconv.Itoa(i)
			l.Allow(keys[i], limit, time.Now())
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(7919))
			for pb.Next() {
				i++
				l.Allow(keys[i%len(keys)], limit, time.Now())
			}
		})
	})
	b.Run("refused", func(b *testing.B) {
		l := NewLocalLimiter()
		tight := Limit{Rate: 1, Burst: 1}
		now := time.Now()
		l.Allow("k", tight, now)
		b.ReportAllocs()
		for b.Loop() {
			l.Allow("k", tight, now)
		}
	})
}
