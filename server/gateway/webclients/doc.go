// Package webclients serves the gRPC methods of a deployed API to clients
// that cannot speak gRPC: browsers and other HTTP/1.1 clients using
// gRPC-Web (binary and text) or the Connect protocol, and browsers calling
// streaming methods over a WebSocket.
//
// A [Handler] translates each call into a gRPC call (with
// connectrpc.com/vanguard's transcoder, from the API's descriptors) and
// hands it to the data plane's own grpc.Server through its ServeHTTP, in
// process. The call therefore passes the same interceptor chain as a call
// from a gRPC client — routing, authorization, throttling, usage plans,
// metering, caching, logging — and the same raw-frame proxy; only the
// framing on the client's side differs. Errors raised before the chain
// runs are written in the client's protocol by [WriteError].
//
// [Classify] tells these requests apart from gRPC, REST and plain HTTP
// requests by their Content-Type, Connect headers and query, and WebSocket
// subprotocol, without reading the body.
package webclients
