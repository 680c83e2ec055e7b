package throttle

import "time"

// DefaultIdleTimeout is the shortest time a LocalLimiter keeps an unused
// bucket when WithIdleTimeout is not given.
const DefaultIdleTimeout = time.Minute

// options are the settings of a LocalLimiter or of an interceptor, fixed
// by the constructor.
type options struct {
	idleTimeout time.Duration
	now         func() time.Time
}

// Option configures a LocalLimiter or an interceptor. Options are applied
// once, by the constructor; an option that does not concern what is being
// constructed is ignored.
type Option func(*options)

// evaluate applies opts over the defaults.
func evaluate(opts []Option) options {
	o := options{idleTimeout: DefaultIdleTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithIdleTimeout sets the shortest time a LocalLimiter keeps a bucket
// nobody uses; a bucket is kept at least as long as it takes to refill
// completely (Burst/Rate), since removing it earlier would hand the next
// caller tokens it has not earned. It is also the interval at which each
// shard of the limiter is swept. Zero or a negative duration means
// DefaultIdleTimeout (one minute), which is also the default. Interceptors
// ignore it.
func WithIdleTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultIdleTimeout
		}
		o.idleTimeout = d
	}
}

// WithClock sets the clock the interceptors pass to the Limiter, for tests.
// A nil clock means time.Now, which is also the default. A LocalLimiter
// ignores it: it is told the time by every call.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			now = time.Now
		}
		o.now = now
	}
}
