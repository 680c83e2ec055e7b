package gateway_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// TestRequestBytesAfterTheCallEnds: when the backend ends a bidi call while
// the client still sends, the proxy's request relay may receive a message
// after the handler returned. What it counts must not race with the
// interceptors that read the call record once the handler is done (as
// metrics and access logs do); run with -race.
func TestRequestBytesAfterTheCallEnds(t *testing.T) {
	var read atomic.Int64
	meter := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if c := callinfo.FromContext(ss.Context()); c != nil {
			read.Add(c.RequestBytes) // what metrics.go and accesslog.go do
		}
		return err
	}
	gw, err := gateway.New(gateway.WithInterceptors(meter))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	b := backend(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	for range 30 {
		c, cancel := context.WithCancel(ctx(t))
		stream, err := echo.EchoBidiStream(c)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 200; i++ {
				if stream.Send(&examplev1.EchoRequest{Message: "more"}) != nil {
					return
				}
			}
		}()
		if err := stream.Send(&examplev1.EchoRequest{Message: "fail:NOT_FOUND"}); err == nil {
			_, _ = stream.Recv()
		}
		<-done
		cancel()
	}
	if read.Load() == 0 {
		t.Error("no request bytes were counted")
	}
}
