// Package fleetbus carries notices between the gateway nodes sharing one
// Redis, over Redis Pub/Sub: for example "flush the response cache of this
// stage", so that an admin call made on one node applies on all of them.
//
// Delivery is at most once and only to nodes connected at the time: a
// node that is disconnected (or a Redis that is down) misses notices,
// which is acceptable for cache flushes, whose entries expire anyway. A
// node ignores its own notices: it has applied them already.
package fleetbus
