package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// TestGatewayResponses customises the demo API's responses to the
// gateway's own refusals and observes them over REST, a plain HTTP route
// and gRPC, which keeps its status and reason (issue 18).
func TestGatewayResponses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	const tpl = `{"message":$context.error.messageString,"type":"$context.error.responseType","reason":"$context.error.reason","requestId":"$context.requestId"}`
	if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api: &adminv1.Api{Name: "apis/bookstore", GatewayResponses: map[string]*adminv1.GatewayResponse{
			gatewayerr.ResponseMissingAuthenticationToken: {StatusCode: 401, ResponseHeaders: map[string]string{"WWW-Authenticate": "ApiKey"}, BodyTemplate: tpl},
			gatewayerr.ResponseInvalidAPIKey:              {BodyTemplate: tpl},
			gatewayerr.ResponseIntegrationFailure:         {StatusCode: 503, BodyTemplate: "backend down ($context.requestId)", ContentType: "text/plain"},
			gatewayerr.ResponseResourceNotFound:           {BodyTemplate: `{"error":"no such resource"}`},
			gatewayerr.ResponseDefault4XX:                 {ResponseHeaders: map[string]string{"X-Default": "4xx"}},
			gatewayerr.ResponseBadRequestBody:             {StatusCode: 422, BodyTemplate: `{"bad":"$context.error.responseType"}`},
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"gateway_responses"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "dead", Route: &adminv1.Route{
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/dead"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: "http://127.0.0.1:1"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	deployKeyedEcho(t, admin, ctx) // Echo requires an API key; deploys

	base := "http://" + ts.DataAddr() + "/demo"
	type body struct{ Message, Type, Reason, RequestID string }
	tests := []struct {
		name, method, path, key string
		body                    string // default {"message":"hi"}
		wantStatus              int
		wantType, wantReason    string // for the JSON template
		wantBody                string // else: a substring of the body
		wantHeader              [2]string
	}{
		{name: "REST missing key", method: "POST", path: "/v1/echo", wantStatus: 401, wantType: "MISSING_AUTHENTICATION_TOKEN", wantReason: "API_KEY_MISSING", wantHeader: [2]string{"WWW-Authenticate", "ApiKey"}},
		{name: "REST invalid key", method: "POST", path: "/v1/echo", key: "nope", wantStatus: 403, wantType: "INVALID_API_KEY", wantReason: "API_KEY_INVALID"},
		{name: "HTTP route backend down", method: "GET", path: "/dead", wantStatus: 503, wantBody: "backend down (", wantHeader: [2]string{"Content-Type", "text/plain"}},
		{name: "REST malformed body", method: "POST", path: "/v1/echo", body: "{bad", wantStatus: 422, wantBody: `{"bad":"BAD_REQUEST_BODY"}`},
		{name: "no route", method: "GET", path: "/nowhere", wantStatus: 404, wantBody: `{"error":"no such resource"}`},
		{name: "default 4xx", method: "GET", path: "/a%2Fb", wantStatus: 400, wantBody: `"INVALID_PATH"`, wantHeader: [2]string{"X-Default", "4xx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqBody := tt.body
			if reqBody == "" {
				reqBody = `{"message":"hi"}`
			}
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(reqBody))
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "" {
				req.Header.Set("X-Api-Key", tt.key)
			}
			resp, err := http1Client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var sb strings.Builder
			_, _ = io.Copy(&sb, resp.Body)
			got := sb.String()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, got)
			}
			if h := tt.wantHeader; h[0] != "" && !strings.HasPrefix(resp.Header.Get(h[0]), h[1]) {
				t.Errorf("%s: %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
			if tt.wantType != "" {
				var b body
				if err := json.Unmarshal([]byte(got), &b); err != nil {
					t.Fatalf("body %s: %v", got, err)
				}
				if b.Type != tt.wantType || b.Reason != tt.wantReason || b.Message != "Forbidden" || b.RequestID == "" {
					t.Errorf("body %s", got)
				}
				return
			}
			if !strings.Contains(got, tt.wantBody) {
				t.Errorf("body %q, want %q in it", got, tt.wantBody)
			}
		})
	}

	// gRPC callers keep the status and its reason.
	_, err := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr())).Echo(t.Context(), &examplev1.EchoRequest{Message: "hi"})
	if status.Code(err) != codes.PermissionDenied || gatewayerr.Reason(err) != "API_KEY_MISSING" {
		t.Errorf("gRPC: %v (reason %q)", err, gatewayerr.Reason(err))
	}

	// Unknown types and impossible statuses are refused.
	_, err = admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: "apis/bookstore", GatewayResponses: map[string]*adminv1.GatewayResponse{"WAF_FILTERED": {}, "THROTTLED": {StatusCode: 42}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"gateway_responses"}},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("invalid gateway responses: %v", err)
	}
}
