// Package tracing creates OpenTelemetry server spans for data-plane calls
// and propagates the W3C trace context to backends.
//
// Tracer.StreamServerInterceptor runs after the routing step, which puts a
// callinfo.Call in the context. A call is traced only when its stage has
// tracing enabled (Stage.Tracing.Enabled); an incoming sampled traceparent
// alone does not turn tracing on, so clients cannot make the gateway record
// spans for a stage whose operator left tracing off. When a stage is not
// traced, the interceptor costs a context lookup and the client's
// traceparent, tracestate and baggage reach the backend untouched, so the
// trace still continues across the gateway, just without a gateway span.
//
// For a traced call the interceptor extracts the parent context from the
// incoming metadata (traceparent, tracestate, baggage; for transcoded REST
// calls the HTTP headers of the same names), starts a server span named
// after the method ("pkg.Service/Method", as RPC semantic conventions
// require), and puts the gateway span's context in the call's
// TraceMetadata (callinfo), which the proxy sends in place of the client's
// traceparent and tracestate: the backend gets the gateway span as parent.
// The incoming metadata is read without copying and left as it is. An
// unsampled call gets neither span attributes nor child spans. The span
// ends when the handler returns, with the call's gRPC status code.
//
// Later interceptors and the proxy create child spans (authorizer callouts,
// backend calls) with StartChild. NewProvider builds the tracer provider
// from the standard OTEL_* environment variables.
package tracing
