// Package clock is the time source of code whose timers tests drive by
// hand: a Clock reads the time and arms timers. Real is the system's;
// internal/testkit.Clock is a manual one that fires timers only when moved.
package clock
