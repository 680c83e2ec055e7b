// Package gctune sets the garbage collector's target for the gateway
// process.
//
// A gateway's live heap is small (routing tables, caches, buffers in
// flight) while it allocates for every call, so with Go's default
// (GOGC=100) the collector runs often and costs a large share of the CPU
// per call: measured on the load harness (docs/performance.md), GOGC=400
// costs about a quarter less CPU per proxied call. But GOGC=400 lets the
// heap grow to five times what is live, which for a heap holding a few MiB
// of stream buffers is most of the process's memory. So Tollgate uses
// GOGC=400 only while the heap that allows stays under a soft target
// (DefaultSoftTarget); a larger live heap is collected at the soft target,
// and once that would mean collecting more often than GOGC=100 does, at
// GOGC=100 (Go's default, whose CPU cost is known). A tuner re-reads the
// live heap after every collection and sets GOGC accordingly.
//
// An explicit GOGC in the environment always wins (and turns the tuner
// off). So does GOMEMLIMIT: Go honours it by itself, holding the heap under
// the limit, and Tollgate then runs at GOGC=400 below it as before.
package gctune
