package gateway_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// heapInUse is the process's live heap after a collection.
func heapInUse() uint64 {
	// Twice: buffers idle in sync.Pools (a previous subtest's) survive one
	// collection in the pools' victim caches.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// A fast backend streaming to a client that stops reading must not make
// the gateway buffer the stream: what the gateway holds per stream is
// bounded by its flow-control window towards the backend and its write
// quota towards the client, whatever the backend's speed. Client, gateway
// and backend share this process, so the client's own window is fixed
// (no BDP growth) and counted in the bound.
func TestSlowClientFastStreamHeapBounded(t *testing.T) {
	for _, relay := range []gateway.GRPCRelay{gateway.RelayGRPC, gateway.RelayFrames} {
		t.Run(string(relay), func(t *testing.T) { testSlowClientFastStreamHeapBounded(t, relay) })
	}
}

func testSlowClientFastStreamHeapBounded(t *testing.T, relay gateway.GRPCRelay) {
	const (
		streams = 32
		window  = 64 << 10
	)
	be := backend(t)
	gw, err := gateway.New(gateway.WithStreamWindow(window), gateway.WithGRPCRelay(relay))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", be.Addr()), nil))
	conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(int32(streams*window)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := examplev1.NewEchoServiceClient(conn)
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx(t), "x-tollgate-stage", "prod"))
	// Cancelled before the connection closes (defers run last-in first-out).
	defer cancel()

	before := heapInUse()
	// Each stream would be 10,000 × 1 KiB = ~10 MiB: 320 MiB in all if the
	// gateway buffered what the backend can send.
	payload := bytes.Repeat([]byte("x"), 1024)
	for range streams {
		s, err := client.EchoServerStream(ctx, &examplev1.EchoRequest{Payload: payload, Repeat: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		// The client reads nothing more until the test ends.
	}
	// Let the backend push as far as flow control lets it: sample the heap
	// until it stops growing.
	var peak uint64
	for i, last := 0, uint64(0); i < 40; i++ {
		time.Sleep(50 * time.Millisecond)
		h := heapInUse()
		peak = max(peak, h)
		if i >= 10 && h < last+(256<<10) {
			break
		}
		last = h
	}
	grown := int64(peak) - int64(before)
	// The heap is the client's, the gateway's and the backend's. Per
	// stalled stream, measured: ~160 KiB in the gateway (its 64 KiB window
	// towards the backend, grpc-go's 64 KiB write quota towards the client,
	// pooled-buffer rounding), ~300 KiB in the client (its window, in
	// buffers of a frame each) and ~480 KiB in the backend (its write
	// quota, each 1 KiB message in a 2 KiB buffer): ~0.85 MiB in all. With
	// grpc-go's BDP-estimated windows (up to 16 MiB a stream) the gateway
	// alone held ~3 MiB a stream here, and more the longer the stream.
	bound := int64(streams*(1<<20) + 8<<20)
	t.Logf("heap grew %.1f MiB with %d stalled streams (bound %.1f MiB)", float64(grown)/(1<<20), streams, float64(bound)/(1<<20))
	if grown > bound {
		t.Errorf("the heap grew by %.1f MiB with %d stalled streams; want at most %.1f MiB", float64(grown)/(1<<20), streams, float64(bound)/(1<<20))
	}
}
