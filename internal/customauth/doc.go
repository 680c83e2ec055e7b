// Package customauth decides calls with custom authorizers: services of the
// API owner's, implementing tollgate.data.v1.AuthorizerService, that return a
// principal and a policy for a caller's identity (what AWS calls a Lambda
// authorizer).
//
// An [Authorizer] serves one configured authorizer. The gateway extracts the
// identity source values of a call into a [Request] and asks
// [Authorizer.Decide] for a [Decision]; on a cache miss Decide calls the
// authorizer through a [Caller] ([NewGRPCCaller] or [NewHTTPCaller]).
//
// # Caching
//
// Responses are cached per identity for the TTL ([WithTTL], default 300 s),
// in an LRU cache bounded to [WithMaxEntries] entries. The cache key is the
// authorizer name, the stage, the callout target as resolved for that stage
// (so neither an Allow issued on one stage nor the answer of another
// stage's authorizer is reused on a stage serving the same deployment), the
// generation (which changes with the authorizer's configuration and the
// deployment), the type and the names and values of all identity sources,
// in a length-prefixed encoding that no two different tuples share. The
// identity values are hashed with SHA-256, so that an entry takes a fixed
// amount of memory whatever the size of the tokens and no token is kept in
// memory as it was received; the rest, configuration that is the same for
// every caller, is interned once as a number, so that a call hashes only
// its identity values. [Authorizer.Cached] answers a hit without the
// authorizer's request message, which only a miss needs. For a REQUEST authorizer the key is never the token
// alone: two calls with the same Authorization header and different values
// of another identity source are two identities.
//
// What is cached is the whole policy, not a yes or no: the policy is
// evaluated against [Request.MethodResource] on every call, so a cached
// policy allowing "shop/prod/GET/pets" does not allow "shop/prod/DELETE/pets/1".
// An explicit Deny statement wins over any Allow; a call no statement matches
// is denied. Policies that deny are cached like those that allow.
//
// A statement covers the actions it lists ([ActionInvoke],
// [ActionInvalidateCache], [ActionAll]); one without actions covers
// ActionInvoke only. [Decision.MayInvalidateCache] evaluates the
// InvalidateCache statements the same way, for allowed calls only: it lets
// the response cache honour the caller's Cache-Control: max-age=0.
//
// Concurrent misses for the same key are collapsed into one callout, whose
// result every waiting call gets. A caller that gives up (its context ends)
// does not cancel the shared callout, which runs to its own timeout
// ([WithTimeout], default 10 s) and fills the cache for later calls.
//
// With a TTL of 0, or a request without identity sources (whose key would be
// the same for every caller), nothing is cached or shared: every call calls
// out.
//
// # Failures
//
// A callout that fails — the authorizer is unreachable, returns an error
// status or a non-200 HTTP status, is slower than the timeout, or returns a
// malformed response — makes Decide return an error wrapping
// [ErrAuthorizerFailed] (and [ErrAuthorizerTimeout] too for a timeout), which
// the gateway turns into 500 INTERNAL (504 for a timeout). Failures are never
// cached: the next call calls out again.
//
// A response is also refused, as a failure, when it is larger than
// [MaxResponseBytes] (64 KiB, encoded) or its context has more than
// [MaxContextEntries] entries or more than [MaxContextBytes] of keys and
// values: the gateway fails closed rather than keep or forward an
// unbounded response, and logs why.
//
// A response is malformed when a statement has no effect or an unknown one,
// has no resources or an empty resource or an unknown action, or when the policy has an Allow
// statement but the principal ID is empty: a caller that is let in must be
// someone. A deny-only policy may leave the principal empty, as simple
// authorizers do when they reject a token. An empty policy is well formed
// and denies everything.
package customauth
