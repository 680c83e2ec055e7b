package gateway

import (
	"time"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/callinfo"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
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
	ctx, span := tracing.StartChild(ss.Context(), "backend "+backendName(routing.FromContext(ss.Context())))
	defer span.End()
	start := time.Now()
	err := handler(srv, &routedStream{ServerStream: ss, ctx: ctx})
	call.IntegrationLatency = time.Since(start)
	return err
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
