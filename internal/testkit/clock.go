package testkit

import (
	"slices"
	"sync"
	"time"

	"github.com/tollgate-gw/tollgate/internal/clock"
)

// Clock is a clock that moves only when told to. It is safe for
// concurrent use; its Now method fits every `now func() time.Time` option,
// and it is a clock.Clock whose timers fire only when the clock is moved
// past their deadline.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*Timer // armed
}

var _ clock.Clock = (*Clock)(nil)

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and fires the timers that are due,
// as Set does.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	t := c.t.Add(d)
	c.mu.Unlock()
	c.Set(t)
}

// Set sets the clock to t. Timers whose deadline is not after t fire in
// deadline order, each in the calling goroutine with the clock reading its
// deadline (as a real timer's function runs when it is due), before Set
// returns: what a timer does is done when the clock has moved. A timer
// re-armed by its function for a deadline still due fires again.
func (c *Clock) Set(t time.Time) {
	for {
		c.mu.Lock()
		i := -1
		for j, tm := range c.timers {
			if !tm.when.After(t) && (i < 0 || tm.when.Before(c.timers[i].when)) {
				i = j
			}
		}
		if i < 0 {
			c.t = t
			c.mu.Unlock()
			return
		}
		tm := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		if tm.when.After(c.t) {
			c.t = tm.when
		}
		c.mu.Unlock()
		tm.f()
	}
}

// AfterFunc arms a timer calling f once the clock reaches d from now.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	tm := &Timer{c: c, f: f}
	tm.Reset(d)
	return tm
}

// Armed returns how many timers are armed: a test waits for a timer to be
// armed before moving the clock past it.
func (c *Clock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Timer is a timer of a Clock.
type Timer struct {
	c    *Clock
	f    func()
	when time.Time // guarded by c.mu
}

// Stop disarms the timer and reports whether it was armed.
func (tm *Timer) Stop() bool {
	tm.c.mu.Lock()
	defer tm.c.mu.Unlock()
	return tm.disarm()
}

// Reset re-arms the timer for d from the clock's time, and reports whether
// it was armed.
func (tm *Timer) Reset(d time.Duration) bool {
	tm.c.mu.Lock()
	defer tm.c.mu.Unlock()
	was := tm.disarm()
	tm.when = tm.c.t.Add(d)
	tm.c.timers = append(tm.c.timers, tm)
	return was
}

// disarm removes the timer from the armed ones; c.mu is held.
func (tm *Timer) disarm() bool {
	i := slices.Index(tm.c.timers, tm)
	if i < 0 {
		return false
	}
	tm.c.timers = slices.Delete(tm.c.timers, i, i+1)
	return true
}
