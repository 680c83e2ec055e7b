// Package boltstore is Tollgate's default [store.Store] implementation: an
// embedded, single-file database built on bbolt (go.etcd.io/bbolt).
//
// It was chosen as the default because a self-hosted gateway should run
// without an external database: bbolt gives serializable transactions with a
// single writer, crash-safe copy-on-write commits, and an exclusive file lock
// that stops two Tollgate processes from sharing a data dir.
//
// Each [store.Kind] maps to one top-level bucket, created lazily on the first
// Put, and each key to one entry in that bucket. Every committed Update is
// fsync'd before it returns, so acknowledged writes survive a crash. Values
// handed out are always copies, because bbolt's memory is only valid while
// its transaction is open.
package boltstore
