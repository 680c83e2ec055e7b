package gateway

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// integrationInterceptor is the last of the chain, around the backend call
// itself: it times the integration (callinfo.Call.IntegrationLatency, for
// metrics and access logs) and, when the call is traced, wraps the backend
// call in a child span.
func integrationInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	call := callinfo.FromContext(ss.Context())
	if call == nil {
		return handler(srv, ss)
	}
	ctx := ss.Context()
	// A backend span only in a recorded call (StartChild's rule), checked
	// first: its name and options cost allocations on every call.
	if trace.SpanFromContext(ctx).IsRecording() {
		var span trace.Span
		ctx, span = tracing.StartChild(ctx, "backend "+backendName(routing.FromContext(ctx)), trace.WithSpanKind(trace.SpanKindClient))
		defer span.End()
		if span.IsRecording() && call.TraceMetadata != nil {
			// The backend's parent is this span rather than the server span.
			propagation.TraceContext{}.Inject(ctx, tracing.Entries{E: &call.TraceMetadata})
		}
	}
	start := time.Now()
	// The routed call's own counting stream, below the streams the chain
	// wrapped it in: one allocation fewer.
	cs := takeSpare(ss)
	if cs == nil {
		cs = new(countingStream)
	}
	cs.ServerStream, cs.ctx, cs.call = ss, ctx, call
	err := handler(srv, cs)
	call.IntegrationLatency = time.Since(start)
	// The proxy's request relay may still receive a message after the
	// handler returned (the backend ended the call while the client was
	// sending): it counts into requestBytes, never into the call record,
	// which the interceptors read from now on.
	call.RequestBytes += cs.requestBytes.Load()
	return err
}

// takeSpare takes the spare counting stream of the routed stream below
// ss, looking through the wrappers that unwrap (Unwrap, as the tracing
// interceptor's stream does); nil when there is none or it was taken.
func takeSpare(ss grpc.ServerStream) *countingStream {
	for range 8 { // a chain wraps a call's stream a few times at most
		switch s := ss.(type) {
		case *routedStream:
			cs := s.spare
			s.spare = nil
			return cs
		case interface{ Unwrap() grpc.ServerStream }:
			ss = s.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// countingStream counts the raw message bytes a proxied call carries.
type countingStream struct {
	grpc.ServerStream
	ctx          context.Context
	call         *callinfo.Call
	requestBytes atomic.Int64 // written by the proxy's request relay goroutine
}

// Context returns the call's context with the backend span.
func (s *countingStream) Context() context.Context { return s.ctx }

// RecvMsg counts a message from the client.
func (s *countingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if f, ok := m.(*grpcproxy.Frame); ok && err == nil {
		s.requestBytes.Add(int64(f.Len()))
	}
	return err
}

// SendMsg counts a message to the client.
func (s *countingStream) SendMsg(m any) error {
	if f, ok := m.(*grpcproxy.Frame); ok {
		s.call.ResponseBytes += int64(f.Len())
	}
	return s.ServerStream.SendMsg(m)
}

// backendName names a route's backend for spans.
func backendName(r *routing.Route) string {
	if r == nil {
		return ""
	}
	if g := r.Integration.GetGrpc(); g != nil {
		return g.GetTarget()
	}
	if h := r.Integration.GetHttp(); h != nil {
		return h.GetUri()
	}
	return "mock"
}
