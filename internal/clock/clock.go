package clock

import "time"

// Clock tells the time and arms timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, as
	// time.AfterFunc does, unless the returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer armed by a Clock. *time.Timer is one.
type Timer interface {
	// Stop prevents the timer from firing. It reports whether it did so
	// (false: the timer had already fired or been stopped).
	Stop() bool
	// Reset re-arms the timer to fire d from now, and reports whether it
	// was still armed.
	Reset(d time.Duration) bool
}

// Real is the system clock: time.Now and time.AfterFunc.
var Real Clock = realClock{}

// realClock is the system clock.
type realClock struct{}

// Now returns time.Now().
func (realClock) Now() time.Time { return time.Now() }

// AfterFunc returns time.AfterFunc(d, f).
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
