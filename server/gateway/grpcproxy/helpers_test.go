package grpcproxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// startBackend starts the example backend on loopback for the test.
func startBackend(tb testing.TB, opts ...grpc.ServerOption) *examplebackend.Server {
	tb.Helper()
	s, err := examplebackend.Start("127.0.0.1:0", opts...)
	if err != nil {
		tb.Fatalf("starting the example backend: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// to returns a Director that sends every call to target. As the gateway's
// does, it marks methods that take one request (unary, server streaming)
// Call.SingleRequest when their descriptor is known.
func to(target string, timeout time.Duration) grpcproxy.Director {
	return func(_ context.Context, method string) (grpcproxy.Call, error) {
		return grpcproxy.Call{Backend: grpcproxy.Backend{Target: target}, Timeout: timeout, SingleRequest: singleRequest(method)}, nil
	}
}

// toRelayed is to without Call.SingleRequest: every call's requests are
// relayed by a goroutine of their own, as for a method without descriptor.
func toRelayed(target string, timeout time.Duration) grpcproxy.Director {
	return func(context.Context, string) (grpcproxy.Call, error) {
		return grpcproxy.Call{Backend: grpcproxy.Backend{Target: target}, Timeout: timeout}, nil
	}
}

// singleRequest reports whether the registered method "/pkg.Service/Method"
// takes one request message.
func singleRequest(method string) bool {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return false
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	return ok && !md.IsStreamingClient()
}

// gateway is a data-plane server with the proxy and no services, as the
// gateway runs it.
type gateway struct {
	pool *grpcproxy.Pool
	addr string
}

type gatewayConfig struct {
	poolOpts   []grpcproxy.PoolOption
	serverOpts []grpc.ServerOption
}

// startGateway starts a data-plane server on loopback that proxies every
// call with director.
func startGateway(tb testing.TB, director grpcproxy.Director, cfg gatewayConfig) *gateway {
	tb.Helper()
	pool := grpcproxy.NewPool(cfg.poolOpts...)
	proxy := grpcproxy.New(pool, director)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening: %v", err)
	}
	opts := append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(grpcproxy.Codec()),
		grpc.UnknownServiceHandler(proxy.Handler()),
	}, cfg.serverOpts...)
	srv := grpc.NewServer(opts...)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-served
		if err := pool.Close(); err != nil {
			tb.Errorf("closing the pool: %v", err)
		}
	})
	return &gateway{pool: pool, addr: lis.Addr().String()}
}

// dial returns a plaintext client connection to addr, closed with the test.
func dial(tb testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		tb.Fatalf("dialling %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// echoVia starts the example backend and a gateway in front of it and
// returns an Echo client of the gateway.
func echoVia(tb testing.TB, cfg gatewayConfig) (examplev1.EchoServiceClient, *gateway, *examplebackend.Server) {
	tb.Helper()
	be := startBackend(tb)
	gw := startGateway(tb, to(be.Addr(), 0), cfg)
	return examplev1.NewEchoServiceClient(dial(tb, gw.addr)), gw, be
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// closedPort returns a loopback address nothing listens on.
func closedPort(tb testing.TB) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening: %v", err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

// recorder is a tiny Echo backend that records what its calls saw. Its Echo
// blocks until the call ends when the message is "block".
type recorder struct {
	examplev1.UnimplementedEchoServiceServer

	addr    string
	accepts atomic.Int32  // TCP connections accepted
	started chan struct{} // a "block" call has started
	ended   chan error    // a "block" call has ended, with ctx.Err()

	mu          sync.Mutex
	md          metadata.MD
	deadline    time.Time
	hasDeadline bool
}

func (r *recorder) Echo(ctx context.Context, req *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	dl, ok := ctx.Deadline()
	r.mu.Lock()
	r.md, r.deadline, r.hasDeadline = md, dl, ok
	r.mu.Unlock()
	if req.GetMessage() == "block" {
		r.started <- struct{}{}
		<-ctx.Done()
		r.ended <- ctx.Err()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &examplev1.EchoResponse{Message: req.GetMessage()}, nil
}

// EchoBidiStream sends its headers before reading anything, then echoes.
func (r *recorder) EchoBidiStream(stream grpc.BidiStreamingServer[examplev1.EchoRequest, examplev1.EchoResponse]) error {
	if err := stream.SendHeader(metadata.Pairs("x-early", "yes")); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage()}); err != nil {
			return err
		}
	}
}

func (r *recorder) seen() (metadata.MD, time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.md, r.deadline, r.hasDeadline
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startRecorder(tb testing.TB) *recorder {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening: %v", err)
	}
	r := &recorder{addr: lis.Addr().String(), started: make(chan struct{}, 1), ended: make(chan error, 1)}
	srv := grpc.NewServer()
	examplev1.RegisterEchoServiceServer(srv, r)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(countingListener{Listener: lis, n: &r.accepts})
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return r
}

func wantCode(tb testing.TB, err error, want codes.Code) *status.Status {
	tb.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		tb.Fatalf("got error %v, want code %v", err, want)
	}
	return st
}
