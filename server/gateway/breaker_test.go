package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// A call beyond the circuit breaker's limits is refused at once with
// UNAVAILABLE / UPSTREAM_OVERFLOW and never reaches the backend (issue 17).
func TestCircuitBreakerGRPC(t *testing.T) {
	b := startCounted(t)
	route := &adminv1.Route{
		Name:  "apis/shop/routes/echo",
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Target: b.Addr(), CircuitBreaker: &adminv1.CircuitBreaker{MaxConcurrentCalls: 1},
		}}},
	}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", route), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	slow := make(chan error, 1)
	go func() {
		_, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "sleep:1s"})
		slow <- err
	}()
	for b.calls.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	_, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"})
	if status.Code(err) != codes.Unavailable || gatewayerr.Reason(err) != gatewayerr.ReasonUpstreamOverflow {
		t.Fatalf("second call: %v, want UPSTREAM_OVERFLOW", err)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if n := b.calls.Load(); n != 1 {
		t.Errorf("the backend got %d calls, want 1", n)
	}
	if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatalf("after the first call ended: %v", err)
	}
	if n := tg.gw.Overflows(); n != 1 {
		t.Errorf("Overflows() = %d, want 1", n)
	}
}

func TestCircuitBreakerHTTP(t *testing.T) {
	var hits atomic.Int64
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	t.Cleanup(func() { close(release) })
	tg := startGateway(t)
	d := deployment(t, "files", "v1", "127.0.0.1:1", &adminv1.Route{
		Name:  "apis/files/routes/items",
		Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/items"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{
			Uri: be.URL, CircuitBreaker: &adminv1.CircuitBreaker{MaxConcurrentCalls: 1},
		}}},
	})
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, nil))
	go func() {
		if resp, err := http.Get(tg.url("/prod/items")); err == nil {
			_ = resp.Body.Close()
		}
	}()
	for hits.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(tg.url("/prod/items"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d (%s), want 503", resp.StatusCode, body)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the backend got %d calls, want 1", n)
	}
}
