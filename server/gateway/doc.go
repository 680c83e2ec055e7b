// Package gateway is the data plane: it serves client calls for every
// deployed stage on one listener, for gRPC, HTTP/1.1 and HTTP/2 clients.
//
// Every call that reaches a backend enters one gRPC server and passes its
// interceptor chain: routing (which stage and route serve the call), then the
// request ID and access log, then the policy interceptors the server
// installs (authorization, throttling, metering), then the proxy.
//
//   - gRPC calls arrive on the listener and go straight into that server.
//   - REST/JSON calls are transcoded (server/gateway/transcode) and
//     dispatched into the same server in-process, over an in-memory
//     connection, so they pass exactly the same interceptors.
//   - Calls matching a plain HTTP route are proxied to HTTP backends.
//
// The routing table is compiled from deployment snapshots (package routing)
// and swapped atomically by Load; each call keeps the table it started with.
package gateway
