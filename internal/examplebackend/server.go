package examplebackend

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// stopGrace is how long Stop lets calls in flight finish before it closes
// them.
const stopGrace = 5 * time.Second

// Register registers b as the BookstoreService and e as the EchoService on
// s, together with the gRPC health service (reporting SERVING for the whole
// server and for both services) and server reflection (v1 and v1alpha).
// It installs no interceptor: an Echo "panic" then really panics unless s
// recovers it.
func Register(s *grpc.Server, b *Bookstore, e *Echo) {
	register(s, b, e)
}

func register(s *grpc.Server, b *Bookstore, e *Echo) *health.Server {
	examplev1.RegisterBookstoreServiceServer(s, b)
	examplev1.RegisterEchoServiceServer(s, e)
	hs := health.NewServer()
	for _, name := range []string{"", examplev1.BookstoreService_ServiceDesc.ServiceName, examplev1.EchoService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	return hs
}

// Server is a running backend on a TCP listener, made by [Start].
type Server struct {
	grpc      *grpc.Server
	lis       net.Listener
	bookstore *Bookstore
	health    *health.Server
	served    chan struct{} // closed when Serve has returned

	stopOnce sync.Once
}

// Start listens on addr ("127.0.0.1:0" picks a free loopback port) and
// serves a new [Bookstore], a new [Echo], health and reflection there, with
// opts passed to grpc.NewServer. It returns once the listener is open, so
// the address can be dialled at once. Start adds recovery interceptors that
// turn a handler panic into an INTERNAL error instead of killing the
// process; they run inside any interceptor given in opts.
func Start(addr string, opts ...grpc.ServerOption) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("examplebackend: listening on %q: %w", addr, err)
	}
	all := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recoverUnary),
		grpc.ChainStreamInterceptor(recoverStream),
	}, opts...)
	gs := grpc.NewServer(all...)
	b := NewBookstore()
	s := &Server{
		grpc:      gs,
		lis:       lis,
		bookstore: b,
		health:    register(gs, b, NewEcho()),
		served:    make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		// Serve returns nil after Stop or GracefulStop; any other error
		// means the listener broke, and calls then fail on the client side.
		_ = gs.Serve(lis)
	}()
	return s, nil
}

// Health returns the server's gRPC health service, for tests that change
// what it reports.
func (s *Server) Health() *health.Server { return s.health }

// Addr returns the address the server listens on, as host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Bookstore returns the Bookstore the server serves, for tests that want to
// look at or change its state directly.
func (s *Server) Bookstore() *Bookstore { return s.bookstore }

// Stop reports NOT_SERVING on health, ends open WatchBooks calls with
// UNAVAILABLE, and stops gracefully, waiting up to 5 seconds for other calls
// in flight before closing them. It returns when the server has stopped.
// Calling Stop again does nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.health.Shutdown()
		s.bookstore.shutdown()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			s.grpc.Stop()
			<-done
		}
		<-s.served
	})
}

func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, panicError(info.FullMethod, r)
		}
	}()
	return handler(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(info.FullMethod, r)
		}
	}()
	return handler(srv, ss)
}

func panicError(method string, r any) error {
	return status.Errorf(codes.Internal, "examplebackend: %s panicked: %v", method, r)
}
