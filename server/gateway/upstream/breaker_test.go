package upstream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

func TestBreaker(t *testing.T) {
	b := upstream.NewBreaker(2, 1)
	ctx := context.Background()
	for range 2 {
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	admitted := make(chan error, 1)
	go func() { admitted <- b.Acquire(ctx) }() // pending
	time.Sleep(20 * time.Millisecond)
	if err := b.Acquire(ctx); !errors.Is(err, upstream.ErrOverflow) {
		t.Fatalf("fourth call: %v, want overflow", err)
	}
	b.Release()
	if err := <-admitted; err != nil {
		t.Fatalf("pending call: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pending call past its deadline: %v", err)
	}
	if upstream.NewBreaker(0, 5) != nil {
		t.Error("a breaker without a limit")
	}
	var none *upstream.Breaker
	if err := none.Acquire(ctx); err != nil {
		t.Error(err)
	}
	none.Release()
}
