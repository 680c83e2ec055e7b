package gateway

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// restUnaryHandler is the last handler of a transcoded unary call's chain
// when the frame relay is on: a call relayHandler would relay frame by
// frame (nothing in the chain needs its messages, a cleartext backend, no
// retries) goes to the backend over the frame relay's pool
// (h2relay.Pool.Unary) with its request as the transcoder encoded it,
// instead of through grpcproxy and grpc-go's client, which cost about a
// fifth of a REST call's CPU (stream creation, header encoding, its
// reader and writer goroutines). Any other call keeps grpcproxy. The
// limits, the error mapping, the breakers' and balancers' hooks and the
// call record's byte counts are the frame relay's.
func (g *Gateway) restUnaryHandler(srv any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	call := callinfo.FromContext(ctx)
	ips := inProcessStreamOf(ctx)
	if ips == nil || call == nil || call.NeedsMessages || call.RequestType != nil {
		return g.proxyHandler(srv, ss)
	}
	req, ok := ips.takeRequest()
	if !ok {
		// A policy read the request already: the message relay carries
		// on from there.
		return g.proxyHandler(srv, ss)
	}
	method := ips.info.FullMethod
	pc, err := g.decide(ctx, method)
	if err != nil {
		return err
	}
	addr, ok := relayAddr(pc.Backend)
	if !ok || pc.Retry != nil {
		ips.giveBack()
		pc.Metadata = backendMetadata(call, requestid.FromContext(ctx))
		return g.frames.proxy.Serve(ss, method, pc)
	}
	// The fast path's wire form as it is; any other message encoded
	// into a pooled buffer.
	request, fast := transcode.WireForm(req)
	if !fast {
		buf := restRequestPool.Get().(*[]byte)
		defer func() {
			if cap(*buf) <= maxPooledRequest {
				restRequestPool.Put(buf)
			}
		}()
		*buf, err = proto.MarshalOptions{}.MarshalAppend((*buf)[:0], req)
		if err != nil {
			err = status.Errorf(codes.Internal, "encoding the request: %v", err)
		}
		request = *buf
	}
	// Pool.Unary ends the call at the route timeout itself.
	lim := grpcproxy.StartRelayLimits(ctx, &pc)
	var res h2relay.UnaryResult
	if err == nil {
		// The context's metadata, which is the one the backend gets:
		// call.Metadata is that very map (the gateway replaces it along
		// with the context's, see forwardGRPC), which Pool.Unary only
		// reads; a copy of the context's otherwise, as grpcproxy makes.
		md := call.Metadata
		if md == nil {
			md, _ = metadata.FromIncomingContext(ctx)
		}
		res, err = g.frames.pool.Unary(lim.Context(), g.relayCall(ctx, addr, &pc, lim), method, md, request)
		call.RequestBytes += res.RequestBytes
		call.ResponseBytes += res.ResponseBytes
		if res.Header != nil {
			// As grpcproxy: an error means an interceptor sent the
			// headers already, which must not fail the call.
			_ = ss.SendHeader(res.Header)
		}
		if err != nil {
			if res.Trailer != nil {
				ss.SetTrailer(res.Trailer)
			}
			err = g.frames.proxy.Error(lim, method, pc, err, relayFailure(err))
		} else if err = ss.SendMsg(grpcproxy.NewFrame(res.Response)); err == nil && res.Trailer != nil {
			// A response the client could not take (an undecodable
			// message) is the client side's error, as in grpcproxy.
			ss.SetTrailer(res.Trailer)
		}
	}
	lim.Stop()
	pc.End(err)
	return err
}

// restRequestPool holds the buffers transcoded requests are encoded into
// for the backend; maxPooledRequest is the largest kept.
var restRequestPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledRequest = 64 << 10

// inProcessStreamOf returns the in-process stream of a transcoded unary
// call from its context (its transport stream), or nil.
func inProcessStreamOf(ctx context.Context) *inProcessStream {
	if t, ok := grpc.ServerTransportStreamFromContext(ctx).(*inProcessTransport); ok {
		return t.s
	}
	return nil
}

// takeRequest takes the call's request message, as RecvMsg would, unless
// it was received already.
func (s *inProcessStream) takeRequest() (proto.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received {
		return nil, false
	}
	s.received = true
	return s.req, true
}

// giveBack undoes takeRequest, for the message relay to receive it.
func (s *inProcessStream) giveBack() {
	s.mu.Lock()
	s.received = false
	s.mu.Unlock()
}
