package testkit

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ServerStream is a grpc.ServerStream for calling a stream interceptor
// directly: it carries a context, records the header and trailer metadata
// the interceptor sets, and has no messages (SendMsg succeeds, RecvMsg
// reports the end of the stream). It is safe for concurrent use.
type ServerStream struct {
	ctx context.Context

	mu      sync.Mutex
	header  metadata.MD
	trailer metadata.MD
}

var _ grpc.ServerStream = (*ServerStream)(nil)

// NewServerStream returns a ServerStream with ctx.
func NewServerStream(ctx context.Context) *ServerStream {
	return &ServerStream{ctx: ctx}
}

// Context returns the stream's context.
func (s *ServerStream) Context() context.Context { return s.ctx }

// SetHeader adds md to the header.
func (s *ServerStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header = metadata.Join(s.header, md)
	return nil
}

// SendHeader adds md to the header.
func (s *ServerStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

// SetTrailer adds md to the trailer.
func (s *ServerStream) SetTrailer(md metadata.MD) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = metadata.Join(s.trailer, md)
}

// Header returns a copy of the header metadata set so far, nil when none
// was set.
func (s *ServerStream) Header() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.header == nil {
		return nil
	}
	return s.header.Copy()
}

// Trailer returns a copy of the trailer metadata set so far, nil when none
// was set.
func (s *ServerStream) Trailer() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trailer == nil {
		return nil
	}
	return s.trailer.Copy()
}

// SendMsg discards m.
func (s *ServerStream) SendMsg(any) error { return nil }

// RecvMsg reports the end of the stream.
func (s *ServerStream) RecvMsg(any) error { return io.EOF }
