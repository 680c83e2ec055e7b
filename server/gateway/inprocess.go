package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/safeproto"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// inProcessConn is the connection the transcoders call. A unary call runs
// the data plane's interceptor chain and proxy directly on the caller's
// goroutine, with the request and response handed over as messages: no
// HTTP/2 framing, no second transport, no extra goroutines, which is most
// of what a REST call would otherwise cost on top of a gRPC one. Streaming
// calls go through the in-process gRPC connection (bufconn), which gives
// them flow control. Either way the call passes the same interceptors as a
// gRPC call from the network.
type inProcessConn struct {
	g      *Gateway
	stream grpc.ClientConnInterface
	// final is the chain's last handler for unary calls: the message
	// relay (grpcproxy), or with the frame relay on, restUnaryHandler.
	final grpc.StreamHandler
}

var _ grpc.ClientConnInterface = (*inProcessConn)(nil)

// inProcessKey marks the context of a call made by inProcessConn, which
// routeInterceptor trusts as it trusts calls over bufconn.
type inProcessKey struct{}

// Invoke runs a unary call through the chain and the proxy.
func (c *inProcessConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	req, ok := args.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "in-process call: request %T is not a protobuf message", args)
	}
	resp, ok := reply.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "in-process call: response %T is not a protobuf message", reply)
	}
	var md metadata.MD
	own := false
	for _, o := range opts {
		if o, ok := o.(*transcode.OutgoingMetadata); ok {
			// The transcoder's map, made for this call: no copy.
			md, own = o.MD, true
			break
		}
	}
	if !own {
		md, _ = metadata.FromOutgoingContext(ctx)
	}
	ss := &inProcessStream{req: req, resp: resp, md: md}
	// The transport and the server info live in the stream: one allocation
	// for the three.
	ss.transport = inProcessTransport{ss, method}
	ss.info.FullMethod = method
	ctx = metadata.NewIncomingContext(context.WithValue(ctx, inProcessKey{}, true), md)
	// grpc.Method, grpc.SetHeader and the like read the call from here.
	ss.ctx = grpc.NewContextWithServerTransportStream(ctx, &ss.transport)
	err := chain(c.g.serverChain, ss, &ss.info, c.final)
	ss.mu.Lock()
	header, trailer, sent := ss.header, ss.trailer, ss.sent
	ss.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = trailer
		}
	}
	if err != nil {
		return toStatusError(err)
	}
	if !sent {
		return status.Errorf(codes.Internal, "%s: the backend sent no response message", method)
	}
	return nil
}

// NewStream starts a streaming call over the in-process gRPC connection.
// The call's restRequest cannot cross that transport in its context: it is
// registered in Gateway.restCalls under a fresh random token, which the
// call carries as metadata and routeInterceptor takes back (once). The
// entry is removed when the call's context ends, if routing never took it.
func (c *inProcessConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	rec, ok := ctx.Value(restRequestKey{}).(*restRequest)
	if !ok {
		return c.stream.NewStream(ctx, desc, method, opts...)
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	token := hex.EncodeToString(b[:])
	c.g.restCalls.Store(token, rec)
	context.AfterFunc(ctx, func() { c.g.restCalls.Delete(token) })
	ctx = metadata.AppendToOutgoingContext(ctx, callTokenMetadataKey, token)
	s, err := c.stream.NewStream(ctx, desc, method, opts...)
	if err != nil {
		c.g.restCalls.Delete(token)
	}
	return s, err
}

// toStatusError converts what a handler returned as gRPC's server would:
// a context error to its code, any other non-status error to UNKNOWN.
func toStatusError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.FromContextError(err).Err()
}

// inProcessStream is the server side of an in-process unary call: one
// request message in, one response message out. The proxy receives on one
// goroutine while it sends on another, hence the lock.
type inProcessStream struct {
	ctx  context.Context
	req  proto.Message
	resp proto.Message
	// md is the incoming metadata the call's context started with,
	// lowercase keys: read-only.
	md        metadata.MD
	transport inProcessTransport
	info      grpc.StreamServerInfo

	mu       sync.Mutex
	received bool
	sent     bool
	header   metadata.MD
	trailer  metadata.MD
}

var _ grpc.ServerStream = (*inProcessStream)(nil)

// Context returns the call's context.
func (s *inProcessStream) Context() context.Context { return s.ctx }

// SetHeader adds header metadata.
func (s *inProcessStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header = joinInto(s.header, md)
	return nil
}

// SendHeader adds header metadata; the headers are returned with the call.
func (s *inProcessStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

// SetTrailer adds trailer metadata.
func (s *inProcessStream) SetTrailer(md metadata.MD) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = joinInto(s.trailer, md)
}

// joinInto adds md's entries to dst, which the stream owns, as
// metadata.Join(dst, md) would but without copying dst again on every
// call: the request ID's header, then the backend's, then its trailer. A
// key new to dst takes md's values as they are, clipped (an append to
// either copies), rather than a copy of them: metadata values are not
// changed in place once set, and the copy was an allocation per key.
func joinInto(dst, md metadata.MD) metadata.MD {
	if dst == nil {
		dst = make(metadata.MD, len(md))
	}
	for k, vs := range md {
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vs...)
		} else {
			dst[k] = vs[:len(vs):len(vs)]
		}
	}
	return dst
}

// RecvMsg hands over the request once, then io.EOF (the client's half-close).
func (s *inProcessStream) RecvMsg(m any) error {
	s.mu.Lock()
	done := s.received
	s.received = true
	s.mu.Unlock()
	if done {
		return io.EOF
	}
	switch m := m.(type) {
	case *grpcproxy.Frame:
		b, err := proto.Marshal(s.req)
		if err != nil {
			return status.Errorf(codes.Internal, "encoding the request: %v", err)
		}
		*m = *grpcproxy.NewFrame(b)
	case proto.Message:
		proto.Merge(m, s.req)
	default:
		return status.Errorf(codes.Internal, "in-process call: cannot receive into %T", m)
	}
	return nil
}

// SendMsg takes the response. A unary call has exactly one.
func (s *inProcessStream) SendMsg(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent {
		return status.Error(codes.Internal, "the backend sent more than one response message to a unary call")
	}
	switch m := m.(type) {
	case *grpcproxy.Frame:
		if err := safeproto.Unmarshal(m.Bytes(), s.resp); err != nil {
			return status.Errorf(codes.Internal, "decoding the backend's response: %v", err)
		}
	case proto.Message:
		proto.Merge(s.resp, m)
	default:
		return status.Errorf(codes.Internal, "in-process call: cannot send %T", m)
	}
	s.sent = true
	return nil
}

// inProcessTransport is the grpc.ServerTransportStream of an in-process
// call, through which grpc.Method and grpc.SetHeader reach it.
type inProcessTransport struct {
	s      *inProcessStream
	method string
}

// Method returns the full method name.
func (t *inProcessTransport) Method() string { return t.method }

// SetHeader adds header metadata.
func (t *inProcessTransport) SetHeader(md metadata.MD) error { return t.s.SetHeader(md) }

// SendHeader adds header metadata.
func (t *inProcessTransport) SendHeader(md metadata.MD) error { return t.s.SetHeader(md) }

// SetTrailer adds trailer metadata.
func (t *inProcessTransport) SetTrailer(md metadata.MD) error {
	t.s.SetTrailer(md)
	return nil
}
