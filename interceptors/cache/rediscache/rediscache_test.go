package rediscache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/interceptors/cache/rediscache"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

func newStore(tb testing.TB, url string, opts ...rediscache.Option) *rediscache.Store {
	tb.Helper()
	c, err := redisconn.Open(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return rediscache.New(c, opts...)
}

const stage = "apis/shop/stages/live"

// TestSharedAcrossStores: what one store (node) sets, another gets, with
// its remaining TTL; a flush on either hides it from both; a set made with
// the generation read before the flush stores nothing.
func TestSharedAcrossStores(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	a, b := newStore(t, r.URL), newStore(t, r.URL)
	k := sha256.Sum256([]byte("key"))

	v, _, gen, err := a.Get(ctx, stage, k)
	if err != nil || v != nil {
		t.Fatalf("Get on an empty store = %q, %v; want a miss", v, err)
	}
	if err := a.Set(ctx, stage, k, gen, []byte("value:with:colons"), time.Minute); err != nil {
		t.Fatal(err)
	}
	v, ttl, gen2, err := b.Get(ctx, stage, k)
	if err != nil || string(v) != "value:with:colons" || gen2 != gen {
		t.Fatalf("Get on the other node = %q, %s, %q, %v; want the value", v, ttl, gen2, err)
	}
	if ttl <= 0 || ttl > time.Minute {
		t.Errorf("remaining TTL %s, want (0, 1m]", ttl)
	}
	if v, _, _, _ := b.Get(ctx, "apis/shop/stages/other", k); v != nil {
		t.Error("another stage sees the entry")
	}

	if err := b.Flush(ctx, stage); err != nil {
		t.Fatal(err)
	}
	v, _, gen3, err := a.Get(ctx, stage, k)
	if err != nil || v != nil || gen3 == gen {
		t.Fatalf("Get after a flush = %q, generation %q (was %q), %v; want a miss in a new generation", v, gen3, gen, err)
	}
	// A backend call that started before the flush does not fill it.
	if err := a.Set(ctx, stage, k, gen, []byte("stale"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _, _, _ := b.Get(ctx, stage, k); v != nil {
		t.Fatalf("a set with the generation before the flush stored %q", v)
	}
	if err := a.Set(ctx, stage, k, gen3, []byte("fresh"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _, _, _ := b.Get(ctx, stage, k); string(v) != "fresh" {
		t.Fatalf("Get = %q, want fresh", v)
	}
}

// TestMaxEntryBytes: a value above the limit is not stored.
func TestMaxEntryBytes(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	s := newStore(t, r.URL, rediscache.WithMaxEntryBytes(100))
	k := sha256.Sum256([]byte("big"))
	_, _, gen, _ := s.Get(ctx, stage, k)
	if err := s.Set(ctx, stage, k, gen, bytes.Repeat([]byte("x"), 101), time.Minute); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("Set of 101 bytes with a limit of 100: %v, want cache.ErrTooLarge", err)
	}
	if v, _, _, _ := s.Get(ctx, stage, k); v != nil || s.TooLarge() != 1 {
		t.Fatalf("an entry above the limit: stored %d bytes, TooLarge %d", len(v), s.TooLarge())
	}
}

// TestRedisDown: with Redis killed every operation fails fast, and the
// breaker then skips Redis; Flush reports the failure (a flush that did
// not happen must not look done).
func TestRedisDown(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	// The default breaker, seen from the test: while Redis stays down it
	// opens once and stays open (a failed probe keeps it open).
	b := &redisconn.Breaker{}
	s := newStore(t, r.URL, rediscache.WithBreaker(b))
	k := sha256.Sum256([]byte("k"))
	r.Stop(t)
	for range 50 {
		if _, _, _, err := s.Get(ctx, stage, k); err == nil {
			t.Fatal("Get with Redis down succeeded")
		}
	}
	if err := s.Flush(ctx, stage); err == nil {
		t.Fatal("Flush with Redis down succeeded")
	}
	if !b.Open() || b.Opened() != 1 {
		t.Errorf("breaker open %v, opened %d times; want it open once: the breaker should skip Redis", b.Open(), b.Opened())
	}
}

// BenchmarkGet is one lookup of a 1 KiB entry on loopback: what a hit
// in the shared tier costs, against a hit in the node's memory.
func BenchmarkGet(b *testing.B) {
	r := redistest.Start(b)
	ctx := context.Background()
	s := newStore(b, r.URL)
	k := sha256.Sum256([]byte("k"))
	_, _, gen, _ := s.Get(ctx, stage, k)
	if err := s.Set(ctx, stage, k, gen, bytes.Repeat([]byte("x"), 1024), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, _, _, err := s.Get(ctx, stage, k); err != nil || v == nil {
			b.Fatalf("Get = %d bytes, %v", len(v), err)
		}
	}
}
