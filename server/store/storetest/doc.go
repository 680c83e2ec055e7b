// Package storetest is the conformance suite for [store.Store]
// implementations.
//
// Every implementation (the embedded boltstore today, PostgreSQL later) runs
// [Run] from its own tests. The admin services are written against the
// behaviour checked here, not against any one implementation, so a new
// implementation is interchangeable exactly when it passes this suite
// under -race.
package storetest
