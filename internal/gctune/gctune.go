package gctune

import "runtime/debug"

// DefaultPercent is the GOGC Tollgate uses when the environment sets none.
const DefaultPercent = 400

// Apply sets the collector's target to DefaultPercent unless getenv("GOGC")
// is set, and returns the target in effect (-1 when collection is off).
func Apply(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		// Go has applied it at startup; reading it back leaves it as is.
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultPercent)
	return DefaultPercent
}
