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
// instead of falling back, for every check; [Limiter.AllowOrFail] (a
// throttle.FallibleLimiter) returns an error instead, for the checks of
// stages that fail closed (throttle.Check.FailClosed), which the
// interceptors answer with 503 RATE_LIMIT_BACKEND_UNAVAILABLE. Refusals
// for failing closed are counted ([Limiter.FailedClosed]) and logged at
// most every ten seconds.
//
// # Batch mode
//
// WithBatch(d) trades a little accuracy for latency and Redis load: a node
// takes tokens from a bucket in leases (one script call taking as many
// tokens as the bucket holds, up to the lease size) and spends them
// locally; calls arriving during the round trip wait for it rather than
// making their own, and a bucket Redis reported empty is not asked again
// before its next token is due. A lease is sized to the node's own recent
// traffic over d, at most rate × d and the burst, so that nodes do not
// hoard tokens others need. Every token admitted was taken from the
// shared bucket, so the fleet never admits more than the bucket's
// rate × time + burst plus what nodes held unspent at the start of the
// window (at most one lease each); unspent tokens are dropped after
// max(d, 1s), which under-admits by at most one lease per node then.
// Measured (docs/scaling.md): three nodes at 200–300/s within 0.4% of
// rate × time + burst, and a check costs about 1 µs instead of a round
// trip.
package redisthrottle
