// Package redisquota keeps quota counts in Redis, as a [quota.Shared]
// store, so that every gateway node sharing one Redis decides quotas from
// one count: a quota is exact across nodes (a thousand concurrent calls
// over three nodes against a limit of 100 admit exactly 100).
//
// Each decision is one round trip: a Lua script that creates the count of
// the key's period when missing (from the count the node read from its
// configuration store), adds calls the node counted while Redis was down,
// and takes one call if the count is below the limit. Counts expire a day
// after their period ends.
//
// A circuit breaker (redisconn.Breaker) guards Redis: after three
// consecutive failures calls skip it for a second, failing at once, and
// the quota.Counter then decides from its own counts.
package redisquota
