// Package redisthrottle is a [throttle.Limiter] whose buckets live in
// Redis, so that every gateway node sharing one Redis admits calls from
// the same buckets.
//
// Each check is one round trip: a Lua script (EVALSHA) applying the
// generic cell rate algorithm (GCRA) to one key. The key holds the
// bucket's theoretical arrival time, in microseconds of the Redis server's
// clock (so the nodes' clocks do not matter), and expires when the bucket
// would be full again, so idle buckets cost no memory. GCRA admits exactly
// what a token bucket of the same rate and burst admits: Burst calls at
// once after a quiet period, then Rate calls per second. A changed limit
// applies to the next call, keeping the bucket's state.
//
// # When Redis fails
//
// A check that Redis does not answer in time (redisconn.IOTimeout, or the
// limiter's WithTimeout) or answers with an error fails open: it is made
// by a local limiter ([throttle.LocalLimiter]) with the same limit, which
// is what one node would do alone, so while Redis is down a fleet of N
// nodes admits up to N times the limit. Failures are logged (once per
// outage) and counted ([Limiter.Fallbacks]). After three consecutive
// failures a circuit breaker sends every check to the local limiter for a
// second, then lets one check at a time probe Redis until one succeeds:
// a dead Redis costs calls no waiting. WithFailClosed refuses calls
// instead of falling back.
package redisthrottle
