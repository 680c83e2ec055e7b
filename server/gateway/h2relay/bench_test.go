package h2relay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// TestManyCalls makes many calls through the frame relay, one at a time
// and 64 at once: none may fail (no stream lost or broken).
func TestManyCalls(t *testing.T) {
	addr := interopBackend(t)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	client := testgrpc.NewTestServiceClient(relayServer(t, frameHandler(pool, addr)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := &testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}}
	for i := range 2000 {
		if _, err := client.UnaryCall(ctx, req); err != nil {
			t.Fatalf("serial call %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for range 100 {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkRelayUnary measures a unary call of 1 KiB each way: straight
// to the backend, through the frame relay and through the message relay
// on the same server (client, relay and backend in this process).
func BenchmarkRelayUnary(b *testing.B) {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	direct, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = direct.Close() })
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
	}{
		{"direct", direct},
		{"frames", relayServer(b, frameHandler(pool, addr))},
		{"messages", relayServer(b, messageHandler(b, addr))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			req := &testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRelayServerStream measures a server stream of 100 × 1 KiB.
func BenchmarkRelayServerStream(b *testing.B) {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	direct, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = direct.Close() })
	params := make([]*testpb.ResponseParameters, 100)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1024}
	}
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
	}{
		{"direct", direct},
		{"frames", relayServer(b, frameHandler(pool, addr))},
		{"messages", relayServer(b, messageHandler(b, addr))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := s.Recv(); err != nil {
						break
					}
				}
			}
		})
	}
}

// BenchmarkRelayServerStream64 measures 64 concurrent server streams of
// 1,000 × 1 KiB on one client connection (loadbench's grpc-stream cell at
// c=64); an op is one message.
func BenchmarkRelayServerStream64(b *testing.B) {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	direct, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = direct.Close() })
	params := make([]*testpb.ResponseParameters, 1000)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1024}
	}
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
	}{
		{"direct", direct},
		{"frames", relayServer(b, frameHandler(pool, addr))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(32) // 64 streams on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for {
					ctx, cancel := context.WithCancel(ctx)
					s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
					if err != nil {
						cancel()
						b.Error(err)
						return
					}
					for {
						if _, err := s.Recv(); err != nil {
							break
						}
						if !pb.Next() {
							cancel()
							return
						}
					}
					cancel()
				}
			})
		})
	}
}
