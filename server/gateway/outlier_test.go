package gateway_test

import (
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// One of three targets is killed under load: without retries, the calls
// that fail are the few before outlier detection ejects it; it is used
// again once it is back and its ejection is over (issue 17).
func TestOutlierDetectionEjectsKilledTarget(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t), startCounted(t)}
	var targets []*adminv1.Target
	for _, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr()})
	}
	route := grpcTargets(targets, nil)
	route.GetIntegration().GetGrpc().OutlierDetection = &adminv1.OutlierDetection{
		ConsecutiveFailures: 3, BaseEjectionTime: durationpb.New(3 * time.Second),
	}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", route), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	call := func() error {
		_, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"})
		return err
	}
	for range 30 {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	killed := bs[1].Addr()
	bs[1].Stop()
	// Three failures in a row eject it; calls are spread over three
	// targets, so those three come within the first ten or so calls.
	failures := 0
	for i := 0; failures < 3; i++ {
		if i == 30 {
			t.Fatalf("only %d of 30 calls failed after the kill", failures)
		}
		if call() != nil {
			failures++
		}
	}
	ejectedAt := time.Now()
	// Then none fails while the ejection lasts.
	for range 60 {
		if err := call(); err != nil && time.Since(ejectedAt) < 3*time.Second {
			t.Fatalf("a call failed after the target was ejected: %v", err)
		}
	}
	health, ok := tg.gw.StageHealth("apis/shop/stages/prod")
	if !ok || len(health) != 3 {
		t.Fatalf("stage health: %v, %v", health, ok)
	}
	for _, h := range health {
		if (h.GetAddress() == killed) != (h.GetEjectedUntil() != nil) {
			t.Errorf("target %s: ejected until %v", h.GetAddress(), h.GetEjectedUntil())
		}
	}

	// Back on the same address: used again once the ejection is over.
	be, err := examplebackend.Start(killed)
	if err != nil {
		t.Skipf("the port was taken in the meantime: %v", err)
	}
	t.Cleanup(be.Stop)
	time.Sleep(time.Until(ejectedAt.Add(3100 * time.Millisecond)))
	failures = 0
	for range 60 {
		if call() != nil {
			failures++
		}
	}
	if failures > 0 {
		t.Errorf("%d calls failed after the target came back", failures)
	}
	if health, _ := tg.gw.StageHealth("apis/shop/stages/prod"); health[1].GetActiveCalls() != 0 || health[1].GetEjectedUntil() != nil {
		t.Errorf("the returned target: %v", health[1])
	}
}

// An active gRPC health check takes a NOT_SERVING target out of rotation.
func TestGRPCHealthCheck(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t)}
	var targets []*adminv1.Target
	for _, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr()})
	}
	route := grpcTargets(targets, nil)
	route.GetIntegration().GetGrpc().HealthCheck = &adminv1.HealthCheck{
		Interval: durationpb.New(20 * time.Millisecond), HealthyThreshold: 1, UnhealthyThreshold: 1,
	}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", route), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	bs[0].Health().SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := tg.gw.StageHealth("apis/shop/stages/prod")
		if len(h) == 2 && !h[0].GetHealthy() && h[1].GetHealthy() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never showed the first target down: %v", h)
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := bs[0].calls.Load()
	for range 50 {
		if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := bs[0].calls.Load() - before; n != 0 {
		t.Errorf("the NOT_SERVING target got %d calls", n)
	}
}
