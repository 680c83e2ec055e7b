package grpcproxy_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// A backend that is down when the gateway starts and comes up later serves
// the next call: the connection's reconnect backoff, grown by the failed
// attempts, does not keep failing calls once the backend is back (issue 17).
func TestProxyBackendComesUp(t *testing.T) {
	t.Parallel()
	target := closedPort(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(target, 0), gatewayConfig{}).addr))

	// Fail for a while, long enough for grpc-go's own backoff (1 s, then
	// 1.6 s, ...) to outlast the moment the backend comes up.
	for deadline := time.Now().Add(2500 * time.Millisecond); time.Now().Before(deadline); {
		_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "hello"})
		wantCode(t, err, codes.Unavailable)
		time.Sleep(100 * time.Millisecond)
	}
	be, err := examplebackend.Start(target)
	if err != nil {
		t.Skipf("the port was taken in the meantime: %v", err)
	}
	t.Cleanup(be.Stop)
	if _, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "hello"}); err != nil {
		t.Fatalf("first call after the backend came up: %v", err)
	}
}
