package quota

import (
	"log/slog"
	"time"
)

// DefaultFlushInterval is how often Run flushes pending counts when
// WithFlushInterval is not given.
const DefaultFlushInterval = time.Second

// options are the settings of a Counter, fixed by NewCounter.
type options struct {
	flushInterval time.Duration
	now           func() time.Time
	logger        *slog.Logger
	shared        Shared
}

// Option configures a Counter. Options are applied once, by NewCounter.
type Option func(*options)

// evaluate applies opts over the defaults.
func evaluate(opts []Option) options {
	o := options{flushInterval: DefaultFlushInterval, now: time.Now, logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithFlushInterval sets how often Run writes pending counts to the Store.
// It bounds what a crash loses: at most the calls counted during one
// interval. Zero or a negative duration means DefaultFlushInterval (one
// second), which is also the default.
func WithFlushInterval(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultFlushInterval
		}
		o.flushInterval = d
	}
}

// WithClock sets the clock that decides the day a call is counted on and
// the quota period it falls in, for tests. A nil clock means time.Now,
// which is also the default. Run's ticker uses real time whatever the
// clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			now = time.Now
		}
		o.now = now
	}
}

// WithLogger sets the logger of failed flushes and failed quota checks. A
// nil logger means slog.Default(), which is also the default.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l == nil {
			l = slog.Default()
		}
		o.logger = l
	}
}
