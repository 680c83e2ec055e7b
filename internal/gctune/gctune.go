package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

const (
	// DefaultPercent is the GOGC Tollgate uses while the heap goal stays
	// under the soft target.
	DefaultPercent = 400
	// MinPercent is the lowest GOGC the tuner sets: below Go's default the
	// collector's CPU cost grows faster than the memory it saves.
	MinPercent = 100
	// DefaultSoftTarget is the heap size (live and garbage, bytes) the
	// tuner keeps the collector's goal under while GOGC stays between
	// MinPercent and DefaultPercent.
	DefaultSoftTarget = 24 << 20
)

// Apply sets the collector's target unless getenv("GOGC") is set, and
// returns the GOGC in effect (-1 when collection is off). Without GOGC and
// GOMEMLIMIT it starts the tuner (for the life of the process), which
// adjusts GOGC after every collection (see the package documentation);
// with GOMEMLIMIT, it sets DefaultPercent and leaves the limit to Go.
func Apply(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		// Go has applied it at startup; reading it back leaves it as is.
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	if getenv("GOMEMLIMIT") != "" {
		debug.SetGCPercent(DefaultPercent)
		return DefaultPercent
	}
	start(DefaultSoftTarget)
	return DefaultPercent
}

// Percent returns the GOGC whose heap goal is soft bytes, clamped to
// [MinPercent, DefaultPercent], for a heap of live bytes whose collection
// also scans roots bytes of stacks and globals. Go's goal is live +
// (live + roots) × GOGC/100.
func Percent(live, roots, soft uint64) int {
	if live >= soft {
		return MinPercent
	}
	p := float64(soft-live) * 100 / float64(max(live+roots, 1))
	return int(math.Max(MinPercent, math.Min(DefaultPercent, p)))
}

// tuner re-arms a finalizer on a sentinel object: finalizers run once the
// collection that found the object unreachable is over, so fn runs after
// every cycle.
type tuner struct {
	soft    uint64
	stopped atomic.Bool
	samples []metrics.Sample
	percent int // the GOGC last set
}

// sentinel has a pointer and is larger than the tiny allocator's blocks,
// whose finalizers may never run.
type sentinel struct {
	t *tuner
	_ [16]byte
}

// start sets GOGC for the current heap and re-sets it after every
// collection until stop is called.
func start(soft uint64) (stop func()) {
	t := &tuner{soft: soft, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
	t.tune()
	runtime.SetFinalizer(&sentinel{t: t}, afterGC)
	return func() { t.stopped.Store(true) }
}

func afterGC(s *sentinel) {
	if s.t.stopped.Load() {
		return
	}
	s.t.tune()
	runtime.SetFinalizer(s, afterGC)
}

// tune sets GOGC for the live heap of the last collection (only the
// finalizer goroutine, or start before it exists, calls it).
func (t *tuner) tune() {
	metrics.Read(t.samples)
	var v [3]uint64
	for i, s := range t.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if p := Percent(v[0], v[1]+v[2], t.soft); p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
}
