package customauth

import (
	"log/slog"
	"time"
)

// Defaults and limits of the options.
const (
	// DefaultTTL is how long a response is cached when WithTTL is not given.
	DefaultTTL = 300 * time.Second
	// MaxTTL is the longest a response is cached; longer TTLs are lowered
	// to it.
	MaxTTL = 3600 * time.Second
	// DefaultTimeout is the deadline of a callout when WithTimeout is not
	// given.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxEntries is the size of the cache when WithMaxEntries is not
	// given.
	DefaultMaxEntries = 10000
)

// options are the settings of an Authorizer, fixed by New.
type options struct {
	ttl        time.Duration
	timeout    time.Duration
	maxEntries int
	now        func() time.Time // nil: the real clock
	logger     *slog.Logger
}

// Option configures an Authorizer. Options are applied once, by New.
type Option func(*options)

// WithTTL sets how long a response is cached per identity. Zero (or a
// negative duration) disables caching, and with it the collapsing of
// concurrent callouts: every call calls out. Durations above MaxTTL are
// lowered to MaxTTL. The default is DefaultTTL (300 s).
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = min(max(d, 0), MaxTTL) }
}

// WithTimeout sets the deadline of a callout. A callout slower than that
// fails with ErrAuthorizerTimeout. Zero or a negative duration means
// DefaultTimeout (10 s), which is also the default.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultTimeout
		}
		o.timeout = d
	}
}

// WithMaxEntries bounds the cache to n entries; when it is full, storing a
// new entry evicts the least recently used one. Zero or a negative n means
// DefaultMaxEntries (10,000), which is also the default.
func WithMaxEntries(n int) Option {
	return func(o *options) {
		if n <= 0 {
			n = DefaultMaxEntries
		}
		o.maxEntries = n
	}
}

// WithClock sets the clock the cache expiry is measured with, for tests. A
// nil clock means time.Now, which is also the default. The callout timeout
// always runs on the real clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		o.now = now
	}
}

// WithLogger sets where failed callouts are logged, once per callout (not
// once per waiting call), with the authorizer name and the error; identity
// values are never logged. A nil logger discards, which is also the default.
func WithLogger(logger *slog.Logger) Option {
	return func(o *options) {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		o.logger = logger
	}
}
