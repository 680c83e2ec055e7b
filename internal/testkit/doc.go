// Package testkit holds the doubles the tests of many packages share, so
// that each test does not grow its own copy: a manual clock for code that
// takes a `now func() time.Time` or a clock.Clock (its timers fire when the test moves it), and a grpc.ServerStream for calling a
// stream interceptor directly. Everything that talks over a network in
// tests uses real servers on loopback instead (see internal/examplebackend).
package testkit
