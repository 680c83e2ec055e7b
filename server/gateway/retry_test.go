package gateway_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// One of three targets is killed under load: with retries, no unary call
// fails (issue 17).
func TestRetriesHideKilledTarget(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t), startCounted(t)}
	var targets []*adminv1.Target
	for _, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr()})
	}
	route := grpcTargets(targets, nil)
	route.GetIntegration().GetGrpc().OutlierDetection = &adminv1.OutlierDetection{BaseEjectionTime: durationpb.New(time.Minute)}
	route.RetryPolicy = &adminv1.RetryPolicy{Attempts: 3}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", route), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))

	var calls, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
					failures.Add(1)
					t.Logf("call failed: %v", err)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	t.Logf("%d calls before the kill", calls.Load())
	bs[1].Stop()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d calls failed", f, calls.Load())
	}
	t.Logf("%d calls", calls.Load())
}
