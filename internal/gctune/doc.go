// Package gctune sets the garbage collector's target for the gateway
// process.
//
// A gateway's live heap is small (routing tables, caches, buffers in
// flight) while it allocates for every call, so with Go's default
// (GOGC=100) the collector runs often and costs a large share of the CPU
// per call. Tollgate defaults to a collection every 400 % of heap growth
// instead: measured on the load harness (docs/performance.md), about a
// quarter less CPU per proxied call for some tens of MiB more memory. An
// explicit GOGC in the environment always wins; GOMEMLIMIT (which Go
// honours by itself) caps the heap in memory-limited containers.
package gctune
