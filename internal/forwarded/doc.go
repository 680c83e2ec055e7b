// Package forwarded computes the forwarding headers the gateway asserts to
// backends (X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Forwarded,
// X-Real-IP) and the client's IP, from the connection and, only when the
// peer is a trusted proxy, from what that proxy forwarded.
//
// A client's own forwarding headers are never believed: with no trusted
// proxies (the default), every value comes from the connection. When the
// peer is a trusted proxy, the received X-Forwarded-For and Forwarded are
// appended to, its X-Forwarded-Host and X-Forwarded-Proto are kept, and the
// client IP is the right-most address of X-Forwarded-For that is not itself
// a trusted proxy.
package forwarded
