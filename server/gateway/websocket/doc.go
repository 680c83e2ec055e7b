// Package websocket holds the connections of WebSocket APIs: a sharded
// registry of live connections (by ID, by stage and by group), one Conn per
// client with a bounded send queue, idle, maximum-duration and keepalive
// timers, and the callback API (tollgate.data.v1.ConnectionsService over
// gRPC, and the AWS-style "@connections" HTTP API) through which backends
// send messages, inspect and close connections, and broadcast to a group or
// a whole stage.
//
// It is the data plane's whole WebSocket part: [Handler] serves a
// WebSocket stage's upgrade as the $connect call through the data plane's
// interceptor chain, registers the connection before the upgrade completes
// ([Registry.Register]), runs every message through the chain and the
// route's integration (gRPC, HTTP or mock), and $disconnect exactly once.
// What it needs of the data plane (the chain, the routing table, backend
// connections) it gets through [Host] functions: it imports routing for
// compiled routes (route keys and selection stay in routing, compiled with
// the table) and no interceptor; the gateway package imports it, never the
// other way.
//
// With a [Fleet] (package wsredis, on Redis), the callback API of every
// node reaches the connections of every other: connections are recorded
// with their node, and a call for another node's connection is run there
// by its registry ([Registry.Apply], the path local calls take too).
//
// Time comes from a clock.Clock ([WithClock], [Config].Clock): timers are
// armed when a connection is registered, so tests move a testkit.Clock
// instead of sleeping.
//
// Resources per idle connection: one goroutine (the reader, started by
// Start, so the HTTP handler returns after the upgrade and its request is
// freed), which waits for the client's next bytes on the socket's
// readiness, a few frames deep, so that its stack stays at 2 KiB: after a
// message it hands over to a fresh goroutine, and it takes keepalive
// pongs itself (see idleWait; over TLS, which may hold a decrypted record,
// it blocks in the library's Read with a 4 KiB stack as before); a 1 KiB
// write buffer (net/http's 4 KiB ones are replaced at the hijack) and a
// 16 B read buffer, the 512 B one being borrowed from a pool only while
// bytes are read; the library's Conn, ours and one runtime timer
// (time.AfterFunc, no goroutine until it fires; a keepalive ping runs in a
// goroutine until its pong). A writer goroutine exists only while messages
// are queued for the client; a message handler goroutine only while a
// message is being processed.
package websocket
