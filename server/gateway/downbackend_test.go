package gateway_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// TestBackendDownThenUp: calls to a backend that is down fail with
// UNAVAILABLE / BACKEND_UNAVAILABLE without waiting for their deadline,
// and once it is up, calls are served again within the reconnect backoff
// (cut short by calls, as grpcproxy's Wake does), on both relays.
func TestBackendDownThenUp(t *testing.T) { bothRelays(t, testBackendDownThenUp) }

func testBackendDownThenUp(t *testing.T, relay gateway.Option) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	tg := startGateway(t, relay)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", addr), nil))
	client := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	// Long enough for several attempts and a grown backoff.
	for range 8 {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.Echo(c, &examplev1.EchoRequest{Message: "x"})
		cancel()
		if status.Code(err) != codes.Unavailable || gatewayerr.Reason(err) != gatewayerr.ReasonBackendUnavailable {
			t.Fatalf("call to a backend that is down: %v, want UNAVAILABLE %s", err, gatewayerr.ReasonBackendUnavailable)
		}
		time.Sleep(50 * time.Millisecond)
	}
	be, err := examplebackend.Start(addr)
	if err != nil {
		t.Skipf("the port was taken in the meantime: %v", err)
	}
	t.Cleanup(be.Stop)
	// Calls are let through to a new attempt every 100 ms (WakeInterval).
	time.Sleep(300 * time.Millisecond)
	if _, err := client.Echo(ctx(t), &examplev1.EchoRequest{Message: "x"}); err != nil {
		t.Fatalf("first call after the backend came up: %v", err)
	}
}

// TestBackendConnectTimeout: an integration's connect_timeout bounds the
// connection attempt to a backend that accepts no connection (a listener
// whose owner never calls accept: the kernel completes the TCP handshake,
// but no HTTP/2 SETTINGS ever come), on both relays; ignored, the default
// 5 s would outlast the client's 3 s deadline.
func TestBackendConnectTimeout(t *testing.T) { bothRelays(t, testBackendConnectTimeout) }

func testBackendConnectTimeout(t *testing.T, relay gateway.Option) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	d := deployment(t, "shop", "v1", ln.Addr().String())
	d.Snapshot.Api.DefaultIntegration = &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
		Target: ln.Addr().String(), ConnectTimeout: durationpb.New(200 * time.Millisecond),
	}}}
	tg := startGateway(t, relay)
	tg.load(t, entry("shop", "prod", d, nil))
	c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{Message: "x"})
	if status.Code(err) != codes.Unavailable || gatewayerr.Reason(err) != gatewayerr.ReasonBackendUnavailable {
		t.Fatalf("call to a backend that accepts nothing: %v, want UNAVAILABLE %s within the connect timeout", err, gatewayerr.ReasonBackendUnavailable)
	}
}
