package quota

import (
	"context"
	"strconv"
	"testing"
)

func BenchmarkTake(b *testing.B) {
	ctx := context.Background()
	plan := dailyPlan(1 << 62)
	b.Run("one key", func(b *testing.B) {
		c, _, _ := newTestCounter(b)
		mustTake(b, c, plan, key) // warm: the period is loaded
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := c.Take(ctx, plan, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel keys", func(b *testing.B) {
		c, _, _ := newTestCounter(b)
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = "apiKeys/k" + strconv.Itoa(i)
			mustTake(b, c, plan, keys[i])
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, _, _, err := c.Take(ctx, plan, keys[i%len(keys)]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
}

func BenchmarkFlush(b *testing.B) {
	ctx := context.Background()
	plan := dailyPlan(1 << 62)
	c, _, _ := newTestCounter(b)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "apiKeys/k" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			mustTake(b, c, plan, k)
		}
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
