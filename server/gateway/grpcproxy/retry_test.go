package grpcproxy_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// retryTo returns a Director whose calls go first to first, then, on
// retries, to next; retargets counts the retries.
func retryTo(first, next string, pol *grpcproxy.RetryPolicy, retargets *atomic.Int64) grpcproxy.Director {
	return func(context.Context, string) (grpcproxy.Call, error) {
		return grpcproxy.Call{
			Backend: grpcproxy.Backend{Target: first},
			Retry:   pol,
			Retarget: func() (grpcproxy.Backend, func(error), error) {
				retargets.Add(1)
				return grpcproxy.Backend{Target: next}, nil, nil
			},
		}, nil
	}
}

func TestProxyRetries(t *testing.T) {
	t.Parallel()
	up := startBackend(t).Addr()
	down := closedPort(t)
	noWait := gatewayConfig{poolOpts: []grpcproxy.PoolOption{grpcproxy.WithReconnect(0, 0)}}
	tests := []struct {
		name         string
		first, next  string
		msg          string
		attempts     int
		wantCode     codes.Code
		wantRetarget int64
	}{
		{name: "unreachable target, retried elsewhere", first: down, next: up, msg: "hi", attempts: 2, wantCode: codes.OK, wantRetarget: 1},
		{name: "no retry policy attempts", first: down, next: up, msg: "hi", attempts: 1, wantCode: codes.Unavailable},
		{name: "UNAVAILABLE from the backend is retried", first: up, next: up, msg: "fail:UNAVAILABLE", attempts: 3, wantCode: codes.Unavailable, wantRetarget: 2},
		{name: "other codes are not", first: up, next: up, msg: "fail:NOT_FOUND", attempts: 3, wantCode: codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var retargets atomic.Int64
			pol := &grpcproxy.RetryPolicy{Attempts: tt.attempts}
			c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, retryTo(tt.first, tt.next, pol, &retargets), noWait).addr))
			_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: tt.msg})
			if tt.wantCode == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantCode(t, err, tt.wantCode)
			}
			if got := retargets.Load(); got != tt.wantRetarget {
				t.Errorf("%d retries, want %d", got, tt.wantRetarget)
			}
		})
	}
}

// Under a backend that always fails, retries stay within the budget:
// at most 20% of calls (and at least 3) (issue 17).
func TestProxyRetryBudget(t *testing.T) {
	t.Parallel()
	up := startBackend(t).Addr()
	var retargets atomic.Int64
	pol := &grpcproxy.RetryPolicy{Attempts: 3, Budget: grpcproxy.NewRetryBudget(20, 3)}
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, retryTo(up, up, pol, &retargets), gatewayConfig{}).addr))
	const calls = 200
	for range calls {
		_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "fail:UNAVAILABLE"})
		wantCode(t, err, codes.Unavailable)
	}
	if got := retargets.Load(); got > calls*20/100 || got < 3 {
		t.Errorf("%d retries over %d calls, want at least 3 and at most 20%%", got, calls)
	}
}
