// Package recovery turns a panic in a gRPC handler or interceptor into an
// INTERNAL status for that one call, logged with its stack, so that one bad
// request cannot take the gateway down with every other call in flight.
package recovery
