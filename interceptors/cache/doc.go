// Package cache is the per-stage response cache of the data plane, as
// Amazon API Gateway's stage cache: repeated reads are answered by the
// gateway without reaching the backend, and one caller's response is never
// served to another who may not see it.
//
// A [Cache] holds one cache per stage and deployment, bounded in bytes by
// the stage's CacheSettings.capacity_bytes (default 64 MiB). Entries are
// kept by otter (github.com/maypok86/otter/v2), whose eviction policy is
// W-TinyLFU weighted by each entry's size, and expire after the route's
// TTL. A new deployment of a stage starts from an empty cache: the gateway
// calls [Cache.Retain] with what is deployed after every change, which
// drops the caches of deployments no stage serves any more, and
// [Cache.Flush] empties a stage's cache (the admin API's FlushStageCache).
//
// # What is cached
//
// [Cache.StreamServerInterceptor] considers a call when its stage's cache is
// enabled with a TTL above zero (CacheSettings.ttl_seconds, default 300 s,
// at most 3600 s; the stage's RouteSettings for the route may turn caching
// off or on and override the TTL), the call is unary (from the method's
// descriptor: APIs without descriptors and plain HTTP routes are never
// cached), and its method is a read: GET for a REST call, a method marked
// idempotency_level = NO_SIDE_EFFECTS for a gRPC call. A route with
// cache_all_methods lets every unary method of it be cached.
//
// A response is stored only when the backend answered OK with exactly one
// message no larger than CacheSettings.max_entry_bytes (default 1 MiB), and
// its headers do not say Cache-Control no-store, no-cache or private. What
// is stored, and replayed on a hit, is the backend's header metadata, the
// message's bytes (never decoded) and its trailer metadata.
//
// # The key
//
// An entry is found by the SHA-256 of length-prefixed parts: the API,
// stage, deployment, route and method; for a REST call, its HTTP method and
// path (so every path parameter); for a gRPC call, and a REST call other
// than GET (whose body matters), the request message's bytes; the values of
// the route's
// cache_key_parameters ("method.request.querystring.NAME" for REST query
// parameters, "method.request.header.NAME" for headers or gRPC metadata);
// and, when the route is authorized (an authorizer, or an API key), the
// caller's identity: a hash of the principal, the API key, a custom
// authorizer's context and identity source values and a JWT's claims (but
// exp, iat, nbf and jti), so that callers sharing a principal but told
// apart by anything else never share an entry. A route declaring cache_shared_by_callers
// leaves the identity out: every caller it authorizes shares entries. An
// authorized call without any identity is not cached. As in Amazon API
// Gateway, query parameters and headers not named as cache-key parameters
// do not vary the key of a REST GET.
//
// The interceptor runs after authorization and throttling, so a call that
// the policy refuses never reaches the cache.
//
// # Responses and refreshes
//
// Responses of cacheable calls carry the header [StatusHeader]
// (x-tollgate-cache) with "hit" or "miss"; the call's
// callinfo.Call.ResponseCache says the same to the metrics.
//
// A request with Cache-Control: max-age=0 (or no-cache) asks for a fresh
// response: the backend is called and the entry replaced. When the stage's
// CacheSettings.require_authorization_for_cache_control is set, only a
// caller allowed to is obeyed: a custom authorizer's policy granting
// execute-api:InvalidateCache on the call's resource
// (callinfo.Call.MayInvalidateCache), or the check of [WithAdminPermission]
// (the gateway's admin token in [AdminTokenHeader]). Another caller's
// header is ignored, ignored with the response header
// [ControlIgnoredHeader] ("x-tollgate-cache-control: ignored"), or refused
// with PERMISSION_DENIED (HTTP 403, ErrorInfo reason
// [ReasonCacheControlForbidden]), by the stage's unauthorized_cache_control.
//
// # Several nodes
//
// With [WithShared] (the gateway passes a Redis store, package rediscache,
// when it runs with --redis), a stage that sets Stage.shared_cache keeps
// its entries in the shared tier too: a node that misses in its memory
// looks there (once per key, however many calls miss together) and serves
// a hit from it; what its backend returns is stored there for the rest of
// the TTL, unless the stage was flushed since the lookup (a generation
// number per stage). The key is the one above, caller identity included,
// so a caller's entry is never served to another on any node. A node keeps
// a shared entry in memory for at most a second (WithShared's local TTL),
// so a flush made on another node ([Cache.FlushShared] there) reaches it
// within that even when the notice telling it is lost. A shared tier that
// fails is a miss: the call goes to the backend.
//
// # Concurrent misses
//
// Concurrent misses of one key share one backend call: the first makes it,
// the others wait and get its response (as misses) or its error. When its
// response cannot be shared (too large, no-store) or its caller went away,
// each waiting call makes its own backend call.
package cache
