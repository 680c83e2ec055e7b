// Package throttle limits the rate of data-plane calls with token buckets,
// as gRPC server interceptors.
//
// The data plane proxies every call (gRPC, transcoded REST, plain HTTP)
// through one generic stream handler, so [StreamServerInterceptor] sees
// every call.
//
// A call must pass several levels, given per call by a [Checks] function:
// typically the account, the stage, the stage's route override, the
// caller's usage plan and the plan's route override. Each [Check] names a
// bucket (its Key) and the bucket's [Limit]; the checks are made in order,
// each taking one token, and the first that finds its bucket empty refuses
// the call. A call refused at one level keeps the tokens it took at the
// levels before: they are not given back (as in AWS API Gateway), so a
// client calling past a narrow limit also spends its wider limits.
//
// A refused call fails with code ResourceExhausted and the message "Too
// Many Requests", whatever the level, with two error details: a
// google.rpc.RetryInfo whose delay is the time until the refusing bucket
// has a token, rounded up to whole seconds, and a google.rpc.ErrorInfo with
// reason "THROTTLED", domain "gateway.tollgate.dev" and the level in its
// "level" metadata entry. The stream interceptor also sets the response
// header "retry-after" to the same number of seconds, for HTTP edges; the
// REST edge can read the delay back with [RetryAfter].
//
// Buckets live in a [Limiter]. [LocalLimiter] keeps them in memory, per
// gateway node, and removes idle ones; a shared implementation can replace
// it for several nodes. A change of a bucket's limit takes effect on the
// next call and keeps the bucket's tokens.
//
// With warm buckets and a Checks function that writes into the slice it is
// given, an admitted call does not allocate.
package throttle
