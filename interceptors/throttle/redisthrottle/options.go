package redisthrottle

import (
	"log/slog"
	"time"

	"github.com/tollgate-gw/tollgate/internal/redisconn"
)

// options are the settings of a Limiter.
type options struct {
	prefix   string
	timeout  time.Duration
	failOpen bool
	log      *slog.Logger
	breaker  *redisconn.Breaker
	batch    time.Duration
}

// Option configures a Limiter.
type Option func(*options)

// WithPrefix sets the prefix of the Limiter's Redis keys, so that several
// fleets can share one Redis. Default DefaultPrefix ("tollgate:throttle:").
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithTimeout bounds each check in Redis; a check that takes longer falls
// back. Zero or negative means DefaultTimeout (500ms).
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithLogger sets where Redis outages are logged. Nil discards the logs,
// which is also the default.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithBreaker sets the circuit breaker guarding Redis, so that several
// users of one Redis can share it. Nil means a breaker of the Limiter's
// own with the defaults of redisconn.Breaker, which is also the default.
func WithBreaker(b *redisconn.Breaker) Option { return func(o *options) { o.breaker = b } }

// WithBatch switches the Limiter to batch mode: rather than one round
// trip per check, a node takes tokens from a Redis bucket in leases and
// spends them locally. A lease is sized to what the node used over the
// last lease's time, scaled to d, and at most the bucket's rate × d (and
// its burst); a bucket that Redis says is empty is not asked again before
// its next token is due. Unspent tokens are dropped after max(d, 1s).
// Zero or negative d means one round trip per check, which is also the
// default. See the package documentation for the accuracy this costs.
func WithBatch(d time.Duration) Option { return func(o *options) { o.batch = d } }

// WithFailClosed makes checks that Redis cannot answer refuse the call
// (retry after one second) rather than fall back to the local limiter.
func WithFailClosed() Option { return func(o *options) { o.failOpen = false } }
