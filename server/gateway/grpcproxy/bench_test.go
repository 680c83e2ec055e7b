package grpcproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// payload1K is the load-test payload: 1 KiB.
var payload1K = bytes.Repeat([]byte{'p'}, 1024)

func benchUnary(b *testing.B, c examplev1.EchoServiceClient) {
	ctx := context.Background()
	req := &examplev1.EchoRequest{Payload: payload1K}
	// One call first, so that connection setup is not measured.
	if _, err := c.Echo(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload1K)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Echo(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryDirect is the baseline for BenchmarkUnaryProxy: the same
// call straight to the backend.
func BenchmarkUnaryDirect(b *testing.B) {
	be := startBackend(b)
	benchUnary(b, examplev1.NewEchoServiceClient(dial(b, be.Addr())))
}

// BenchmarkUnaryProxy measures a unary call through the proxy. The
// allocations include the client's and both servers', as all run in this
// process; the proxy's own share is the difference from
// BenchmarkUnaryDirect.
func BenchmarkUnaryProxy(b *testing.B) {
	c, _, _ := echoVia(b, gatewayConfig{})
	benchUnary(b, c)
}

// BenchmarkServerStream measures a server stream of 100 responses of 1 KiB,
// directly and through the proxy.
func BenchmarkServerStream(b *testing.B) {
	const n = 100
	run := func(b *testing.B, c examplev1.EchoServiceClient) {
		ctx := context.Background()
		req := &examplev1.EchoRequest{Payload: payload1K, Repeat: n}
		stream := func() {
			s, err := c.EchoServerStream(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for {
				_, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != n {
				b.Fatalf("got %d responses, want %d", got, n)
			}
		}
		stream()
		b.SetBytes(n * int64(len(payload1K)))
		b.ReportAllocs()
		for b.Loop() {
			stream()
		}
	}
	b.Run("direct", func(b *testing.B) {
		be := startBackend(b)
		run(b, examplev1.NewEchoServiceClient(dial(b, be.Addr())))
	})
	b.Run("proxy", func(b *testing.B) {
		c, _, _ := echoVia(b, gatewayConfig{})
		run(b, c)
	})
}
