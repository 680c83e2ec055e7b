// Package netguard keeps the gateway's outbound connections (to backends,
// authorizers, JWKS endpoints) away from link-local and cloud metadata
// addresses, where a target written by an API owner could read the
// instance's credentials (server-side request forgery).
//
// The admin API checks targets when they are written ([CheckHost]: literal
// addresses and well-known metadata host names); the dialers check the
// address actually dialled, after name resolution ([Control]), so a name
// that resolves to such an address, or a stage variable that holds one, is
// refused too.
package netguard
