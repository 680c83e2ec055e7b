package redisconn

import (
	"sync/atomic"
	"time"
)

// Defaults of a Breaker.
const (
	// DefaultFailures is how many consecutive failures open a Breaker.
	DefaultFailures = 3
	// DefaultCoolDown is how long an open Breaker refuses calls before
	// letting one probe through.
	DefaultCoolDown = time.Second
)

// Breaker is a circuit breaker: after Failures consecutive failures it
// opens, and [Breaker.Allow] says no for CoolDown; then it lets one call
// at a time through until one succeeds, which closes it again. The zero
// value uses DefaultFailures and DefaultCoolDown. A Breaker is safe for
// concurrent use and never blocks: Allow and Done are a few atomic
// operations.
type Breaker struct {
	// Failures is how many consecutive failures open the breaker; zero
	// means DefaultFailures.
	Failures int64
	// CoolDown is how long an open breaker refuses calls; zero means
	// DefaultCoolDown.
	CoolDown time.Duration

	failures  atomic.Int64
	openUntil atomic.Int64 // Unix nanoseconds; 0 while closed
	probing   atomic.Bool
	opened    atomic.Int64 // times the breaker opened
}

// Allow reports whether a call may go to Redis now. A true answer must be
// followed by Done with the call's outcome.
func (b *Breaker) Allow() bool {
	until := b.openUntil.Load()
	if until == 0 {
		return true
	}
	if time.Now().UnixNano() < until {
		return false
	}
	// Half open: one probe at a time.
	return b.probing.CompareAndSwap(false, true)
}

// Done records the outcome of a call Allow let through.
func (b *Breaker) Done(ok bool) {
	if ok {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		if b.openUntil.Load() != 0 {
			b.openUntil.Store(0)
		}
		b.probing.Store(false)
		return
	}
	n := b.failures.Add(1)
	limit := b.Failures
	if limit <= 0 {
		limit = DefaultFailures
	}
	if n >= limit {
		cool := b.CoolDown
		if cool <= 0 {
			cool = DefaultCoolDown
		}
		if b.openUntil.Swap(time.Now().Add(cool).UnixNano()) == 0 {
			b.opened.Add(1)
		}
	}
	b.probing.Store(false)
}

// Open reports whether the breaker is open (or half open).
func (b *Breaker) Open() bool { return b.openUntil.Load() != 0 }

// Opened returns how many times the breaker opened.
func (b *Breaker) Opened() int64 { return b.opened.Load() }
