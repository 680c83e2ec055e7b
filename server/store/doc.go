// Package store defines the storage interface behind Tollgate's admin
// services.
//
// Tollgate keeps its configuration (APIs, routes, API key hashes, ...) as
// protobuf-encoded resources addressed by a [Kind] (one collection) and a
// resource name (the key). The admin services only see the small [Store] and
// [Tx] interfaces defined here, so the default embedded implementation
// (package boltstore) can later be joined by a PostgreSQL implementation
// without touching them. Package storetest holds a conformance suite that
// every implementation must pass, which is what keeps the implementations
// interchangeable.
//
// All access happens inside transactions: [Store.View] for consistent
// read-only snapshots and [Store.Update] for atomic, durable writes. There
// is deliberately no non-transactional Get or Put, because nearly every admin
// operation reads before it writes (uniqueness checks, etags, counters) and
// must not race with a concurrent request.
//
// Schema changes to stored data are expressed as ordered [Migration] steps
// and applied with [Migrate]; the product's own list is [Migrations].
//
// Kinds that start with an underscore (such as [MetaKind]) are reserved for
// this package.
package store
