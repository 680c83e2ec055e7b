// Package h2relay relays gRPC calls at the HTTP/2 frame level.
//
// grpc-go's server and client each parse every call into messages: the
// server decodes the request headers into metadata and re-frames each
// message, the client builds a stream object per call, re-encodes the
// headers with its own HPACK state and frames each message again. For a
// call whose policies read only its headers, that work buys nothing: the
// gateway could pass the bytes on as they come, as HAProxy does.
//
// A [Server] serves the gRPC connections the data port hands it with its
// own HTTP/2 implementation (golang.org/x/net/http2's Framer and HPACK).
// Each request's HEADERS become a [Stream], handed to the server's
// [Handler] on a goroutine of its own: the gateway runs its interceptor
// chain on it, as a grpc.ServerStream. A handler then either
//
//   - relays the call at the frame level ([Relay]): the request headers,
//     filtered and completed by the gateway, go to the backend over a
//     pooled HTTP/2 connection of this package ([Pool]); DATA frames go
//     through in both directions without decoding gRPC messages (only
//     their 5-byte prefixes are followed, to enforce the size limit and
//     count bytes); the backend's headers and trailers come back filtered
//     but otherwise verbatim, status details included; or
//   - uses the Stream as an ordinary grpc.ServerStream (RecvMsg, SendMsg
//     of length-prefixed messages), for calls whose policies need the
//     messages (the response cache, request validation, retries).
//
// Flow control is end to end per stream: the client's DATA is
// acknowledged with a stream WINDOW_UPDATE only once it has been written
// to the backend, and the backend's only once written to the client, so
// what a call buffers in the gateway is bounded by the window the gateway
// advertises per stream (the gateway's --stream-window), never by how fast
// either side is; connection windows (16 times larger) are given back on
// receipt, as grpc-go does, so that one stalled stream cannot starve the
// others. Received bytes wait in pooled buffers held only while bytes
// wait. A connection's reader starts streams and wakes the goroutines
// its frames concern once it has handled the whole frames one read
// brought (a unary request's HEADERS and DATA, a response's HEADERS, DATA
// and trailers), not frame by frame, so that a call is handed between
// goroutines, and threads, once per read; the goroutines one read wakes
// share their flushes (the last of them to write flushes for all), so that
// concurrent calls on a connection leave in one write system call rather
// than one each. A backend
// connection's reader reads its socket inside syscall.RawConn.Read, so
// that it waits for the poller without first reading the socket it has
// just emptied (Go's Read makes that empty read). Header blocks are
// encoded by the package's own HPACK
// encoder, which indexes what repeats from call to call and sends per-call
// values (grpc-timeout, request IDs, trace context) as literals that leave
// the dynamic table alone.
// Once a response's headers went
// to the client, a backend connection's reader passes the response's DATA
// frames on itself, into the client connection's outbox (one copy, no
// hand-off), as long as the client's windows and the outbox have room;
// the connection's writers move the outbox into their buffer before
// anything else they write, each stream's DATA in it coalesced into as
// few frames as the client's maximum frame size allows (a backend's frame
// per message would be a frame per message for the client to handle), and
// one relay per client connection is woken per read to flush it. The reader never writes to a client's socket: a
// client that stops reading fills its outbox, its frames then wait in
// their streams for their relays, and the other calls on the backend
// connection go on. Deadlines (grpc-timeout), RST_STREAM
// in both directions and GOAWAY are honoured; a stream the backend refused
// (GOAWAY or REFUSED_STREAM) before it saw any of the request's data is
// retried once on a new connection.
//
// A [Pool] connection is ready at the backend's first SETTINGS frame,
// within the call's connect timeout; an address whose attempt failed is
// backed off from as grpc-go backs off (exponential, with jitter), calls
// in between failing at once with [ErrBackendUnavailable]. On the message
// path, gzip (any compressor registered with grpc-go) request messages are
// inflated as grpc-go's server inflates them, bounded by the message size
// limit.
//
// [Pool.Unary] is the Pool's client for a unary call whose request is in
// memory already rather than on a server-side Stream (the gateway's
// transcoded REST calls): one message each way over the same pooled
// connections, windows and deadlines, the response's metadata and status
// (details included) returned as grpc-go's client returns them, a gzip
// response inflated within the size limit.
package h2relay
