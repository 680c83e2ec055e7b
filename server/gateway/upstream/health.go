package upstream

import (
	"context"
	"time"
)

// Defaults of passive outlier detection and active health checks.
const (
	DefaultConsecutiveFailures = 5
	DefaultBaseEjection        = 30 * time.Second
	DefaultMaxEjectionPercent  = 50
	// maxEjectionFactor caps how many base times an ejection lasts.
	maxEjectionFactor = 10

	DefaultHealthInterval     = 10 * time.Second
	DefaultHealthTimeout      = time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3
)

// OutlierDetection ejects endpoints whose calls keep failing, as Envoy's
// outlier detection does. Zero fields take the defaults.
type OutlierDetection struct {
	// ConsecutiveFailures ejects an endpoint after this many failed calls
	// in a row (default 5).
	ConsecutiveFailures int
	// BaseEjection is how long the first ejection lasts; the n-th lasts n
	// times as long, at most 10 times (default 30 s).
	BaseEjection time.Duration
	// MaxEjectionPercent is the largest share of the endpoints ejected at
	// once (default 50).
	MaxEjectionPercent int
}

// HealthCheck probes every endpoint in the background. Zero fields take
// the defaults.
type HealthCheck struct {
	// Check probes one endpoint; nil means healthy.
	Check func(ctx context.Context, e *Endpoint) error
	// Interval between two probes of an endpoint (default 10 s).
	Interval time.Duration
	// Timeout of one probe (default 1 s).
	Timeout time.Duration
	// HealthyThreshold and UnhealthyThreshold are the successes and
	// failures in a row that change an endpoint's health (defaults 2, 3).
	HealthyThreshold, UnhealthyThreshold int
}

// Health is what the gateway knows of an endpoint's health.
type Health struct {
	// Healthy is false after the active health check failed
	// UnhealthyThreshold times in a row, until it passes HealthyThreshold
	// times.
	Healthy bool
	// EjectedUntil is when an outlier ejection ends, zero if none.
	EjectedUntil time.Time
	// Ejections counts the endpoint's ejections so far.
	Ejections int64
	// LastCheckError is the last failed probe's error, "" after a pass.
	LastCheckError string
}

// endpointHealth is an Endpoint's health state.
type endpointHealth struct {
	consecutive  int64 // failed calls in a row
	ejectedUntil int64 // Unix nanoseconds
	ejections    int64
	unhealthy    bool
	passes       int // probes in a row with the current outcome
	fails        int
	lastErr      string
}

// Health returns e's health.
func (e *Endpoint) Health() Health {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := Health{Healthy: !e.h.unhealthy, Ejections: e.h.ejections, LastCheckError: e.h.lastErr}
	if u := e.h.ejectedUntil; u > time.Now().UnixNano() {
		h.EjectedUntil = time.Unix(0, u)
	}
	return h
}

// available reports whether e may take calls now.
func (e *Endpoint) available(now int64) bool {
	return !e.unhealthy.Load() && e.ejectedUntil.Load() <= now
}

// Report records the outcome of a call to e (failed: a 5xx, UNAVAILABLE,
// an unreachable backend), for outlier detection. It does nothing unless
// the set detects outliers.
func (s *Set) Report(e *Endpoint, failed bool) {
	od := s.cfg.Outlier
	if od == nil {
		return
	}
	if !failed {
		if e.consecutive.Load() != 0 {
			e.consecutive.Store(0)
		}
		return
	}
	if e.consecutive.Add(1) < int64(od.ConsecutiveFailures) {
		return
	}
	s.ejectMu.Lock()
	defer s.ejectMu.Unlock()
	now := time.Now().UnixNano()
	if e.ejectedUntil.Load() > now {
		return // already ejected
	}
	eps := s.snap.Load().endpoints
	ejected := 0
	for _, o := range eps {
		if o.ejectedUntil.Load() > now {
			ejected++
		}
	}
	if (ejected+1)*100 > od.MaxEjectionPercent*len(eps) {
		return // too many out already: keep it, as Envoy does
	}
	e.mu.Lock()
	e.h.ejections++
	n := min(e.h.ejections, maxEjectionFactor)
	until := now + int64(od.BaseEjection)*n
	e.h.ejectedUntil = until
	e.mu.Unlock()
	e.ejectedUntil.Store(until)
	e.consecutive.Store(0)
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(e)
	}
}

// checkLoop probes the endpoints every interval until ctx ends.
func (s *Set) checkLoop(ctx context.Context) {
	defer close(s.checkDone)
	hc := s.cfg.Health
	t := time.NewTicker(hc.Interval)
	defer t.Stop()
	for {
		for _, e := range s.snap.Load().endpoints {
			s.probe(ctx, e)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe checks one endpoint and moves it between healthy and unhealthy
// after enough outcomes in a row.
func (s *Set) probe(ctx context.Context, e *Endpoint) {
	hc := s.cfg.Health
	pctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	err := hc.Check(pctx, e)
	cancel()
	if ctx.Err() != nil {
		return
	}
	e.mu.Lock()
	changed := false
	if err == nil {
		e.h.lastErr = ""
		e.h.fails = 0
		e.h.passes++
		if e.h.unhealthy && e.h.passes >= hc.HealthyThreshold {
			e.h.unhealthy, changed = false, true
		}
	} else {
		e.h.lastErr = err.Error()
		e.h.passes = 0
		e.h.fails++
		if !e.h.unhealthy && e.h.fails >= hc.UnhealthyThreshold {
			e.h.unhealthy, changed = true, true
		}
	}
	e.unhealthy.Store(e.h.unhealthy)
	e.mu.Unlock()
	if changed && s.cfg.OnChange != nil {
		s.cfg.OnChange(e)
	}
}
