// Package redisconn connects to the Redis that several gateway nodes share,
// and guards the calls made to it with a circuit breaker, so that a slow
// or dead Redis never holds up a call for long.
//
// [Open] builds a go-redis UniversalClient from one URL: a single server,
// a Redis Cluster (several addresses) or a Sentinel-managed primary (a
// master name), with short timeouts, since every use of Redis on the data
// plane has a local fallback.
//
// [Breaker] counts consecutive failures: after a few it opens and callers
// skip Redis (using their fallback) for a cool-down, after which one call
// at a time probes Redis until one succeeds.
package redisconn
