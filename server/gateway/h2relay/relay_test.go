package h2relay_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// interopBackend starts grpc-go's interop test server on loopback.
func interopBackend(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// relayServer serves h on loopback and returns a client connection to it.
func relayServer(t testing.TB, h h2relay.Handler, opts ...h2relay.Option) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := h2relay.NewServer(h, opts...)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Close)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// frameHandler relays every call at the frame level to addr.
func frameHandler(pool *h2relay.Pool, addr string) h2relay.Handler {
	return func(st *h2relay.Stream) {
		_, err := h2relay.Relay(st.Context(), st, pool, h2relay.Call{Addr: addr})
		st.Finish(err)
	}
}

// messageHandler serves every call with grpcproxy's message relay on the
// Stream as a grpc.ServerStream.
func messageHandler(t testing.TB, addr string) h2relay.Handler {
	pool := grpcproxy.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	proxy := grpcproxy.New(pool, func(context.Context, string) (grpcproxy.Call, error) {
		return grpcproxy.Call{Backend: grpcproxy.Backend{Target: addr}, Streaming: true}, nil
	})
	h := proxy.Handler()
	return func(st *h2relay.Stream) { st.Finish(h(nil, st)) }
}

// TestInterop runs grpc-go's interoperability test cases through the
// server, relaying frames and messages.
func TestInterop(t *testing.T) {
	addr := interopBackend(t)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	for _, tc := range []struct {
		name string
		h    h2relay.Handler
	}{
		{"frames", frameHandler(pool, addr)},
		{"messages", messageHandler(t, addr)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := relayServer(t, tc.h)
			client := testgrpc.NewTestServiceClient(conn)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			interop.DoEmptyUnaryCall(ctx, client)
			interop.DoLargeUnaryCall(ctx, client)
			interop.DoClientStreaming(ctx, client)
			interop.DoServerStreaming(ctx, client)
			interop.DoPingPong(ctx, client)
			interop.DoEmptyStream(ctx, client)
			interop.DoTimeoutOnSleepingServer(ctx, client)
			interop.DoCancelAfterBegin(ctx, client)
			interop.DoCancelAfterFirstResponse(ctx, client)
			interop.DoCustomMetadata(ctx, client)
			interop.DoStatusCodeAndMessage(ctx, client)
			interop.DoSpecialStatusMessage(ctx, client)
			interop.DoUnimplementedMethod(ctx, conn)
		})
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// TestBurstSharesOneConnection: calls that arrive together before any
// backend connection exists share one connection attempt.
func TestBurstSharesOneConnection(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	client := testgrpc.NewTestServiceClient(relayServer(t, frameHandler(pool, inner.Addr().String())))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := ln.accepted.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections, want 1", n)
	}
}
