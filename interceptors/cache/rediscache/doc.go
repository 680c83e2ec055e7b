// Package rediscache is a [cache.Shared] on Redis: the second tier of the
// response cache of the stages that set Stage.shared_cache, so that a
// response cached through one gateway node is served by every node
// sharing the Redis.
//
// Each stage has a generation number (one key) and its entries (one key
// each, the hex SHA-256 cache key, holding "generation:encoded entry").
// A lookup is one round trip (a Lua script reading both keys and the
// entry's remaining lifetime); an entry of an older generation is a miss.
// A flush is one INCR of the generation, whatever the number of entries:
// the older entries are never served again and expire by their TTL (or
// are overwritten). A store is one round trip too, made only if the
// generation is still the one the lookup saw, so that a backend call
// that started before a flush cannot bring back what it cleared.
//
// A stage's keys share a Redis Cluster hash tag (the stage's name in
// braces), so that the scripts touch one slot: one stage's shared cache
// lives on one shard.
//
// Entries larger than the store's limit (WithMaxEntryBytes, default 512
// KiB) are not stored: they stay in each node's memory. Every operation
// is bounded by a short timeout and guarded by a circuit breaker
// (redisconn.Breaker): while Redis fails, lookups are misses and nothing
// is stored, so calls are served from each node's memory and backends.
package rediscache
