package throttle

import (
	"context"
	"errors"
	"time"
)

// Limit is a token bucket: Rate tokens are added per second, up to Burst
// tokens, and every call takes one.
//
// A Rate of +Inf admits every call, whatever the Burst. Otherwise a Rate of
// zero (or a negative or NaN rate) and a Burst below one refuse every call:
// such a bucket never holds a token.
type Limit struct {
	// Rate is the number of tokens added per second, the sustained rate.
	Rate float64
	// Burst is the most tokens the bucket holds, the number of calls that
	// may arrive at once after a quiet period.
	Burst int
}

// blocks reports whether l refuses every call.
func (l Limit) blocks() bool {
	return !(l.Rate > 0) || l.Burst < 1
}

// unlimited reports whether l admits every call.
func (l Limit) unlimited() bool {
	return l.Rate > maxRate
}

// maxRate is the largest finite float64; a rate above it is +Inf.
const maxRate = 1.7976931348623157e308

// BlockedRetryAfter is the retry delay Limiter implementations report for a
// limit that refuses every call (Rate 0 or Burst 0): no token will ever be
// available, so the client is told to come back much later rather than
// immediately.
const BlockedRetryAfter = time.Hour

// Limiter admits calls against named buckets. [LocalLimiter] keeps buckets
// in memory, per gateway node; a shared implementation (for example on
// Redis, for several gateway nodes) can replace it without touching the
// interceptors.
//
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Allow takes one token from the bucket key at time now and reports
	// whether there was one. The bucket is created full, with limit, on
	// first use. When the bucket exists with another limit, its limit is
	// changed in place, keeping its tokens (capped to the new burst), so
	// that a configuration change takes effect at once without resetting
	// the bucket.
	//
	// When the call is refused, retryAfter is how long until a token will
	// be available; it is never zero, and it is BlockedRetryAfter for a
	// limit that refuses every call. When the call is admitted, retryAfter
	// is zero.
	Allow(key string, limit Limit, now time.Time) (ok bool, retryAfter time.Duration)
}

// ErrUnavailable is returned by a FallibleLimiter that could not decide.
var ErrUnavailable = errors.New("throttle: the shared limiter is unavailable")

// FallibleLimiter is a Limiter on a shared store (for example Redis, see
// package redisthrottle) that can say it could not decide instead of
// deciding from a local fallback. The interceptors use it for the checks
// marked Check.FailClosed.
type FallibleLimiter interface {
	Limiter
	// AllowOrFail is Allow, except that when the shared store cannot
	// decide it returns ErrUnavailable (wrapped) rather than falling
	// back; the call is then neither admitted nor charged.
	AllowOrFail(key string, limit Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Levels of the checks the gateway makes, from the widest to the narrowest.
// They appear in the "level" metadata entry of a refusal's ErrorInfo.
const (
	// LevelAccount is the gateway-wide (per account) limit.
	LevelAccount = "account"
	// LevelStage is the stage's default limit.
	LevelStage = "stage"
	// LevelRoute is the stage's per-route override.
	LevelRoute = "route"
	// LevelPlan is the limit of the caller's usage plan.
	LevelPlan = "plan"
	// LevelPlanRoute is the usage plan's per-route override.
	LevelPlanRoute = "plan-route"
)

// Check is one level a call must pass: a token from the bucket Key, whose
// limit is Limit.
type Check struct {
	// Level names the check in refusals, for example LevelRoute. It is
	// reported in the ErrorInfo detail, never in the message.
	Level string
	// Key is the bucket, for example "stage|apis/a/stages/prod|route|r1".
	// Two checks with the same key share one bucket, whatever their
	// levels, so the key should name the level too.
	Key string
	// Limit is the bucket's limit.
	Limit Limit
	// FailClosed refuses the call (Unavailable, reason
	// RATE_LIMIT_BACKEND_UNAVAILABLE) when the Limiter is a
	// FallibleLimiter that cannot decide, rather than letting it decide
	// from its fallback. Other Limiters ignore it.
	FailClosed bool
}

// Checks appends to dst the checks of the call in ctx, in the order they
// are made, and returns the extended slice; the first check that refuses
// decides the call. Returning dst unchanged lets the call through.
//
// The interceptors pass a dst with room for eight checks. Implementations
// must not allocate when dst has capacity: the keys should be built once
// (per deployment, per API key) rather than per call.
type Checks func(ctx context.Context, dst []Check) []Check
