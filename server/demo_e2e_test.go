package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestDemoServesThroughTheGateway is the README's promise: `tollgate serve
// --demo` serves the example API over gRPC and REST through a deployed
// stage.
func TestDemoServesThroughTheGateway(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)

	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/demo/v1/shelves/fiction/books", "", "")
	if res.status != http.StatusOK {
		t.Fatalf("REST: %d %s", res.status, res.body)
	}
	var books struct {
		Books []struct{ Name, Title string } `json:"books"`
	}
	if err := json.Unmarshal([]byte(res.body), &books); err != nil || len(books.Books) == 0 {
		t.Fatalf("REST body %s: %v", res.body, err)
	}

	conn := dial(t, ts.DataAddr())
	shelves, err := examplev1.NewBookstoreServiceClient(conn).ListShelves(t.Context(), &examplev1.ListShelvesRequest{})
	if err != nil || len(shelves.GetShelves()) == 0 {
		t.Fatalf("gRPC: %v %v", shelves, err)
	}
	var header metadata.MD
	if _, err := examplev1.NewEchoServiceClient(conn).Echo(t.Context(), &examplev1.EchoRequest{Message: "hi"}, grpcHeader(&header)); err != nil {
		t.Fatal(err)
	}
	if len(header.Get("x-request-id")) == 0 {
		t.Errorf("no x-request-id response header: %v", header)
	}

	// A change to the live API is not served until it is deployed; a new
	// deployment is served as soon as the stage points at it.
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	if _, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "teapot", Route: &adminv1.Route{
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/teapot"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 418, Body: "short and stout"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/demo/teapot", "", ""); res.status != http.StatusNotFound {
		t.Fatalf("undeployed route answered %d", res.status)
	}
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/demo/teapot", "", ""); res.status != 418 || res.body != "short and stout" {
		t.Fatalf("deployed route answered %d %q", res.status, res.body)
	}
}

// grpcHeader captures response headers.
func grpcHeader(md *metadata.MD) grpc.CallOption { return grpc.Header(md) }
