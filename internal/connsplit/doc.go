// Package connsplit serves gRPC and HTTP on one port without giving up
// grpc-go's native transport.
//
// The data port speaks HTTP/1.1, cleartext HTTP/2 REST and gRPC. Serving
// gRPC through net/http (grpc.Server.ServeHTTP) works but costs a system
// call per frame and a goroutine per stream; grpc-go's own transport
// batches writes and is several times cheaper per call. A Splitter looks at
// the first bytes of each connection — the HTTP/2 preface and the
// content-type of the first request, decoded from its HPACK header block —
// and hands gRPC connections to a grpc.Server and all others to an
// http.Server, replaying the bytes it read.
//
// The choice is per connection, as with TLS ALPN: gRPC clients do not mix
// REST requests into their connections. An HTTP/2 connection that sends no
// request within a short wait (DefaultFirstRequestWait: gRPC channels
// connect ahead of their first call, and some wait for the server's
// SETTINGS) is gRPC. On a connection that later mixes kinds, a gRPC request
// on an HTTP connection is still served (the HTTP side hands it to
// grpc.Server.ServeHTTP), but a REST request on a gRPC connection gets
// grpc-go's 415 Unsupported Media Type: a cleartext HTTP/2 REST client must
// send its first request within the wait, as HTTP/2 clients do when they
// connect on demand.
//
// With WithTLS, a Splitter terminates TLS first. ALPN settles HTTP/1.1 (the
// *tls.Conn goes to the HTTP listener untouched), but "h2" is negotiated by
// gRPC clients and browsers alike, so HTTP/2 connections are classified on
// their decrypted bytes as above; TLSConnectionState and ConnContext tell
// the servers that such a wrapped connection is TLS.
package connsplit
