package upstream

import (
	"context"
	"errors"
	"sync"
)

// ErrOverflow is returned by [Breaker.Acquire] when a call would exceed the
// breaker's limits.
var ErrOverflow = errors.New("upstream: too many calls to the backend")

// Breaker bounds the calls to one integration, as Envoy's circuit
// breakers do: at most MaxConcurrent in flight, and at most MaxPending
// more waiting for one of them to end; any call beyond is refused at once,
// so that a slow backend cannot pile up calls in the gateway. A nil
// *Breaker admits everything.
type Breaker struct {
	maxConcurrent, maxPending int

	mu      sync.Mutex
	active  int
	pending int
	wake    chan struct{} // closed and replaced when a call ends while calls wait
}

// NewBreaker returns a Breaker, or nil (no limit) when maxConcurrent is
// not positive.
func NewBreaker(maxConcurrent, maxPending int) *Breaker {
	if maxConcurrent <= 0 {
		return nil
	}
	return &Breaker{maxConcurrent: maxConcurrent, maxPending: max(maxPending, 0), wake: make(chan struct{})}
}

// Acquire admits a call, waiting while it is pending, until ctx ends. It
// fails with ErrOverflow when the call can neither run nor wait, and with
// ctx's error when ctx ends while it waits. An admitted call must call
// Release once.
func (b *Breaker) Acquire(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if b.active < b.maxConcurrent {
		b.active++
		b.mu.Unlock()
		return nil
	}
	if b.pending >= b.maxPending {
		b.mu.Unlock()
		return ErrOverflow
	}
	b.pending++
	for {
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.pending--
			b.mu.Unlock()
			return ctx.Err()
		case <-wake:
		}
		b.mu.Lock()
		if b.active < b.maxConcurrent {
			b.active++
			b.pending--
			b.mu.Unlock()
			return nil
		}
	}
}

// Release ends an admitted call.
func (b *Breaker) Release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.active--
	if b.pending > 0 {
		close(b.wake)
		b.wake = make(chan struct{})
	}
	b.mu.Unlock()
}
