package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// TestHTTPRouteRefusalCarriesRequestID: a plain HTTP route's call refused
// by a policy gets the API's gateway response with the call's request ID
// ($context.requestId), the one the client receives in X-Request-Id.
func TestHTTPRouteRefusalCarriesRequestID(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(be.Close)
	refuse := func(_ any, _ grpc.ServerStream, _ *grpc.StreamServerInfo, _ grpc.StreamHandler) error {
		return gatewayerr.New(codes.PermissionDenied, "TEST_REFUSAL", "refused")
	}
	gw, err := gateway.New(gateway.WithInterceptors(refuse))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	d := deployment(t, "files", "v1", "127.0.0.1:1", &adminv1.Route{
		Name:        "apis/files/routes/items",
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/items"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: be.URL}}},
	})
	d.Snapshot.Api.DescriptorSource = nil
	d.Snapshot.Api.GatewayResponses = map[string]*adminv1.GatewayResponse{
		gatewayerr.ResponseDefault4XX: {BodyTemplate: `{"requestId":"$context.requestId"}`},
	}
	tg.load(t, entry("files", "prod", d, nil))
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tg.url("/prod/items"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ RequestID string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || body.RequestID == "" || body.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("status %d, body request ID %q, header %q: want 403 and the same non-empty ID", resp.StatusCode, body.RequestID, resp.Header.Get("X-Request-Id"))
	}
}
