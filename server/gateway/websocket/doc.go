// Package websocket holds the connections of WebSocket APIs: a sharded
// registry of live connections (by ID, by stage and by group), one Conn per
// client with a bounded send queue, idle, maximum-duration and keepalive
// timers, and the callback API (tollgate.data.v1.ConnectionsService over
// gRPC, and the AWS-style "@connections" HTTP API) through which backends
// send messages, inspect and close connections, and broadcast to a group or
// a whole stage.
//
// The package does not route or call backends: the data plane (package
// gateway) registers a connection before the upgrade completes
// ([Registry.Register]), accepts the upgrade after the $connect policies,
// hands the connection to [Registry.Start] with callbacks for messages and
// for the single disconnect, and runs every message through the
// interceptor chain.
//
// Resources per idle connection: one goroutine (the reader, started by
// Start, so the HTTP handler returns after the upgrade and its request is
// freed), the hijacked connection's 4 KiB read and
// write buffers, the Conn and three runtime timers (time.AfterFunc, no
// goroutine until one fires). A writer goroutine exists only while
// messages are queued for the client; a message handler goroutine only
// while a message is being processed.
package websocket
