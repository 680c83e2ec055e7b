// Package grpcproxy forwards gRPC calls to gRPC backends as raw frames.
//
// The gateway's data-plane grpc.Server registers no services. Every call
// arrives at one generic handler, [Proxy.Handler], installed with
// grpc.UnknownServiceHandler behind the gateway's stream interceptors. The
// proxy never decodes a payload: [Codec] hands each received message over
// as a [Frame] of raw bytes and sends a Frame as it is, so one handler
// serves every method of every API, including methods whose descriptors the
// gateway has never seen.
//
//	pool := grpcproxy.NewPool()
//	defer pool.Close()
//	proxy := grpcproxy.New(pool, director)
//	srv := grpc.NewServer(
//		grpc.ForceServerCodecV2(grpcproxy.Codec()),
//		grpc.UnknownServiceHandler(proxy.Handler()),
//		grpc.ChainStreamInterceptor(policies...),
//	)
//
// # Routing and connections
//
// A [Director] picks the [Backend] and the route timeout of each call from
// its full method name. A [Pool] keeps one shared grpc.ClientConn per
// distinct Backend, made on first use; [Pool.Retain] retires the
// connections of backends that the current deployments no longer use, after
// a grace period that lets calls in flight finish.
//
// # What the backend receives
//
// The backend sees the client's metadata as filtered by [OutgoingMetadata]
// (hop-by-hop headers, gRPC's reserved keys and gateway-internal
// "x-tollgate-*" keys are dropped; authorization is kept), the client's
// content-subtype (so "application/grpc+json" stays JSON), and, for a
// unary call, the earlier of the client's deadline and the route timeout.
// Cancelling the client call cancels the backend call.
//
// # Streams
//
// The route timeout never cuts a stream ([Call.Streaming]): it bounds how
// long the call may stay silent before the backend's first response (its
// headers, a message or its status). After that, [Call.StreamIdleTimeout]
// ends a stream that carries no message either way, and
// [Call.MaxStreamDuration], the backend's deadline too, ends any stream.
// A client's own earlier deadline always applies.
//
// # Retries and reconnection
//
// A unary call with a [RetryPolicy] is read whole, then tried again (on
// the backend [Call.Retarget] picks) while it fails with a retryable
// status before the backend answered, within a [RetryBudget]. A [Pool]'s
// connections back off between reconnection attempts for at most 2 s, and
// [Pool.Wake] makes a failing connection reconnect at once when a call
// needs it, so that a restarted backend serves the next call.
//
// # What the client receives
//
// Response headers are forwarded as soon as the backend sends them, then the
// messages, then the backend's trailers and its status with all its details,
// verbatim. The gateway itself answers with:
//
//   - the Director's error, as it is (it should be a status error such as
//     UNIMPLEMENTED for an unknown method);
//   - UNAVAILABLE (reason BACKEND_UNAVAILABLE, without the backend's
//     address) when the backend cannot be reached;
//   - DEADLINE_EXCEEDED saying so when the route timeout (BACKEND_TIMEOUT),
//     the stream idle timeout (STREAM_IDLE_TIMEOUT) or the maximum stream
//     duration (MAX_STREAM_DURATION), not the client's deadline, ended the
//     call;
//   - RESOURCE_EXHAUSTED when a message exceeds the size limits (4 MiB by
//     default on the data-plane server and in the [Pool]).
//
// # Keepalive
//
// Pool connections ping a backend after 5 minutes without activity while
// calls are open, and give up on it 10 seconds later. Five minutes is the
// most frequent ping a grpc-go backend accepts under its default enforcement
// policy; pinging more often makes such backends answer GOAWAY
// "too_many_pings" and end long idle streams. Against backends that permit
// more frequent pings (keepalive.EnforcementPolicy{MinTime: ...}), a
// shorter interval set with [WithKeepalive] detects dead hosts sooner.
package grpcproxy
