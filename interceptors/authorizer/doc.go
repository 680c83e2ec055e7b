// Package authorizer enforces a route's authorizer: a JWT authorizer
// (internal/jwtauth) or a custom authorizer callout with its policy
// cache (internal/customauth), for every call of the data plane, gRPC
// and transcoded REST alike.
//
// Outcomes, the same on both protocols:
//
//   - an identity source is missing, or a header used as one is repeated:
//     401 / UNAUTHENTICATED "Unauthorized", without calling an authorizer;
//   - a JWT that does not verify: 401 / UNAUTHENTICATED "Unauthorized";
//   - a valid JWT without a required scope, or a custom policy that does not
//     allow the call: 403 / PERMISSION_DENIED "Forbidden";
//   - a custom authorizer that fails: 500 / INTERNAL, or 504 /
//     DEADLINE_EXCEEDED when it is slower than its timeout (never cached).
//
// A custom authorizer's policy cache is per stage (and per callout target,
// which the data plane resolves with the stage's variables when it compiles
// the stage): an answer given on one stage is never reused on another, and
// [Interceptor.FlushStage] empties one stage's caches. A WebSocket upgrade's
// answer is also cached per Origin header. Callouts and JWKS downloads
// refuse link-local and cloud metadata addresses unless
// [WithLinkLocalTargets] allows them.
//
// An allowed caller's principal reaches the backend as the
// x-tollgate-principal metadata entry (HTTP header), and a custom
// authorizer's context as x-tollgate-ctx-<key> entries; the client's own
// x-tollgate-* entries are removed by the proxy before these are added.
package authorizer
