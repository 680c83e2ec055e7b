package server_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// GetStageHealth (issue 17) shows each target of a stage's integrations,
// over gRPC and REST, and the metric tollgate_upstream_target_healthy
// reports them.
func TestGetStageHealth(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	api, err := admin.GetApi(actx, &adminv1.GetApiRequest{Name: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	// The demo's target is a stage variable: it works in targets too.
	up := api.GetDefaultIntegration().GetGrpc().GetTarget()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := lis.Addr().String()
	_ = lis.Close()
	if _, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Targets:          []*adminv1.Target{{Address: up}, {Address: down}},
			OutlierDetection: &adminv1.OutlierDetection{ConsecutiveFailures: 1},
		}}},
		RetryPolicy: &adminv1.RetryPolicy{Attempts: 2},
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}
	echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
	for range 4 {
		if _, err := echo.Echo(context.Background(), &examplev1.EchoRequest{Message: "hi"}); err != nil {
			t.Fatalf("with one target down and a retry: %v", err)
		}
	}
	h, err := admin.GetStageHealth(actx, &adminv1.GetStageHealthRequest{Name: "apis/bookstore/stages/demo"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, th := range h.GetTargets() {
		got[th.GetAddress()] = th.GetEjectedUntil() == nil
		if len(th.GetRoutes()) != 1 || th.GetRoutes()[0] != "apis/bookstore/routes/echo" {
			t.Errorf("routes %v", th.GetRoutes())
		}
	}
	if in, ok := got[down]; len(got) != 2 || !ok || in {
		t.Errorf("health %v: want the other target in and %s ejected", h, down)
	}
	for addr, in := range got {
		if addr != down && (!in || strings.Contains(addr, "$")) {
			t.Errorf("target %s (from %s): in %v", addr, up, in)
		}
	}
	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/v1/apis/bookstore/stages/demo:health", "Bearer "+ts.AdminToken(), "")
	if res.status != http.StatusOK || !strings.Contains(res.body, down) || !strings.Contains(res.body, "ejectedUntil") {
		t.Errorf("REST: %d %s", res.status, res.body)
	}
	metrics := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	if !strings.Contains(metrics.body, "tollgate_upstream_target_healthy") {
		t.Error("/metrics has no tollgate_upstream_target_healthy")
	}
}
