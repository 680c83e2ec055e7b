package gateway_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// A route's timeout applies to its unary calls; its streams last as long
// as they carry messages, until the stream idle timeout (issue 17). The
// margins are wide for a loaded machine: the stream's messages come 100 ms
// apart, and only a pause of a whole second before the first answer (the
// route timeout) or 1.5 s between two messages (the idle timeout) would end
// it early.
func TestRouteStreamTimeouts(t *testing.T) { bothRelays(t, testRouteStreamTimeouts) }

func testRouteStreamTimeouts(t *testing.T, relay gateway.Option) {
	b := backend(t)
	tg := startGateway(t, relay)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr(), &adminv1.Route{
		Name:              "apis/shop/routes/echo",
		Match:             &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
		Timeout:           durationpb.New(time.Second),
		StreamIdleTimeout: durationpb.New(1500 * time.Millisecond),
	}), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))

	_, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "sleep:3s"})
	if status.Code(err) != codes.DeadlineExceeded || gatewayerr.Reason(err) != gatewayerr.ReasonBackendTimeout {
		t.Fatalf("unary call past the route timeout: %v, want BACKEND_TIMEOUT", err)
	}

	stream, err := echo.EchoBidiStream(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// 2 s of traffic: longer than the route timeout and the idle timeout.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if err := stream.Send(&examplev1.EchoRequest{Message: "m"}); err != nil {
			t.Fatalf("send: %v", err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("recv: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Then silence, with both sides open: the idle timeout ends it.
	_, err = stream.Recv()
	if errors.Is(err, io.EOF) || status.Code(err) != codes.DeadlineExceeded || gatewayerr.Reason(err) != gatewayerr.ReasonStreamIdleTimeout {
		t.Fatalf("idle stream: %v, want STREAM_IDLE_TIMEOUT", err)
	}
}
