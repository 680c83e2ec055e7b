package gateway

import (
	"google.golang.org/grpc"
)

// OpenGRPCStreams returns the gRPC calls in flight on natively served
// connections (not the gateway's own in-process calls of transcoded REST
// calls, nor gRPC calls that came on an HTTP connection: the HTTP server
// counts those as requests).
func (g *Gateway) OpenGRPCStreams() int64 { return g.openStreams.Load() }

// countStreams is the first interceptor of the gRPC server: it counts the
// calls in flight that a client made.
func (g *Gateway) countStreams(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !fromClient(ss) && inProcess(ss.Context()) {
		return handler(srv, ss)
	}
	g.openStreams.Add(1)
	defer g.openStreams.Add(-1)
	return handler(srv, ss)
}
