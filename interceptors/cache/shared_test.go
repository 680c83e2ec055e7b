package cache_test

import (
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/interceptors/cache/rediscache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

// sharedEnvs returns two caches (two nodes) whose stage shares its cache
// in one real Redis, each in front of its own backend.
func sharedEnvs(tb testing.TB, localTTL time.Duration, opts ...rediscache.Option) (a, b *env) {
	tb.Helper()
	r := redistest.Start(tb)
	c, err := redisconn.Open(r.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	store := rediscache.New(c, opts...)
	a = newEnv(tb, &backend{}, cache.WithShared(store, localTTL))
	b = newEnv(tb, &backend{}, cache.WithShared(store, localTTL))
	for _, e := range []*env{a, b} {
		e.configure(func(c *callinfo.Call) { c.StageConfig.SharedCache = true })
	}
	return a, b
}

// TestSharedTier: a response cached by node A is served by node B from
// the shared tier, headers, message and trailers alike, without B's
// backend; callers stay apart; a stage without shared_cache keeps its
// entries per node.
func TestSharedTier(t *testing.T) {
	a, b := sharedEnvs(t, 0)
	first := a.get("r", mdPrincipal, "alice")
	if first.cache != "miss" || first.body != "r#1" {
		t.Fatalf("first call on A: %+v", first)
	}
	got := b.get("r", mdPrincipal, "alice")
	if got.cache != "hit" || got.body != "r#1" || b.be.calls.Load() != 0 {
		t.Fatalf("same call on B: %q %q (B's backend called %d times); want A's entry", got.cache, got.body, b.be.calls.Load())
	}
	if got.header.Get("x-backend")[0] != "yes" || got.trailer.Get("x-backend-trailer")[0] != "t" {
		t.Errorf("the shared entry lost the backend's metadata: %v %v", got.header, got.trailer)
	}
	a.configure(func(c *callinfo.Call) {
		c.Route.ApiKeyRequired = true
	})
	b.configure(func(c *callinfo.Call) {
		c.Route.ApiKeyRequired = true
	})
	if r := a.get("k", mdAPIKey, "key-x"); r.cache != "miss" {
		t.Fatalf("X on A: %q", r.cache)
	}
	if r := b.get("k", mdAPIKey, "key-y"); r.cache != "miss" {
		t.Fatalf("Y on B got %q: another caller's entry", r.cache)
	}
	if r := b.get("k", mdAPIKey, "key-x"); r.cache != "hit" {
		t.Fatalf("X on B: %q, want A's entry", r.cache)
	}

	for _, e := range []*env{a, b} {
		e.configure(func(c *callinfo.Call) { c.StageConfig.SharedCache = false })
	}
	a.get("own", mdPrincipal, "alice")
	if r := b.get("own", mdPrincipal, "alice"); r.cache != "miss" {
		t.Fatalf("without shared_cache B got %q, want its own miss", r.cache)
	}
}

// TestSharedTierTooLarge: an entry above the shared tier's size limit
// stays in the node's memory for its whole TTL (not the shared entries'
// second), and the other node does not see it.
func TestSharedTierTooLarge(t *testing.T) {
	a, b := sharedEnvs(t, time.Second, rediscache.WithMaxEntryBytes(100))
	a.be.pad, b.be.pad = 200, 200
	if r := a.get("big"); r.cache != "miss" {
		t.Fatalf("first call: %q", r.cache)
	}
	a.clock.Advance(30 * time.Second)
	if r := a.get("big"); r.cache != "hit" {
		t.Fatalf("30 s later on A: %q, want a hit from A's memory (TTL 60 s)", r.cache)
	}
	if r := b.get("big"); r.cache != "miss" {
		t.Fatalf("on B: %q, want a miss: the entry was not shared", r.cache)
	}
}

// BenchmarkHitLocal is a cache hit from the node's memory, through a gRPC
// server on loopback: the baseline of BenchmarkHitShared.
func BenchmarkHitLocal(b *testing.B) {
	e := newEnv(b, &backend{pad: 1000})
	e.get("r")
	b.ReportAllocs()
	for b.Loop() {
		if r := e.get("r"); r.cache != "hit" {
			b.Fatalf("x-tollgate-cache %q", r.cache)
		}
	}
}

// BenchmarkHitShared is a cache hit that node B reads from Redis (an
// entry of 1 KiB that node A stored), through the same gRPC server on
// loopback: B's memory is made to expire before every call.
func BenchmarkHitShared(b *testing.B) {
	a, n := sharedEnvs(b, time.Nanosecond)
	a.be.pad, n.be.pad = 1000, 1000
	a.get("r")
	b.ReportAllocs()
	for b.Loop() {
		n.clock.Advance(time.Millisecond)
		if r := n.get("r"); r.cache != "hit" {
			b.Fatalf("x-tollgate-cache %q", r.cache)
		}
	}
	if n.be.calls.Load() != 0 {
		b.Fatalf("node B called its backend %d times", n.be.calls.Load())
	}
}
