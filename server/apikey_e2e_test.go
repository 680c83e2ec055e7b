package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// TestAPIKeys: a route that requires an API key refuses, over gRPC and
// REST alike, every call without an enabled key of a plan covering the
// stage, with the same 403 / PERMISSION_DENIED "Forbidden" and the same
// ErrorInfo reason on every protocol and route kind; disabling a key
// takes effect within a second.
func TestAPIKeys(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "get-book", Route: &adminv1.Route{
		Match:          &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/GetBook"},
		ApiKeyRequired: true,
	}})
	must(err)
	_, err = admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "teapot", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/teapot"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 418}}},
		ApiKeyRequired: true,
	}})
	must(err)
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(err)
	_, err = admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}})
	must(err)
	covered, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "covered"})
	must(err)
	uncovered, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "uncovered"})
	must(err)
	_, err = admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
	}})
	must(err)
	_, err = admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: covered.GetName()}})
	must(err)

	books := examplev1.NewBookstoreServiceClient(dial(t, ts.DataAddr()))
	lastReason := ""
	grpcCall := func(key string) codes.Code {
		ctx := t.Context()
		if key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", key)
		}
		_, err := books.GetBook(ctx, &examplev1.GetBookRequest{Name: "shelves/fiction/books/b1"})
		if err != nil && status.Convert(err).Message() != "Forbidden" && status.Code(err) == codes.PermissionDenied {
			t.Errorf("refusal reveals more than Forbidden: %v", err)
		}
		lastReason = gatewayerr.Reason(err)
		return status.Code(err)
	}
	httpCall := func(path, key string) int {
		req, err := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+path, nil)
		must(err)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		must(err)
		body, err := io.ReadAll(resp.Body)
		must(err)
		_ = resp.Body.Close()
		var st struct {
			Message string `json:"message"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		lastReason = ""
		if resp.StatusCode == http.StatusForbidden {
			if err := json.Unmarshal(body, &st); err != nil || st.Message != "Forbidden" || len(st.Details) != 1 {
				t.Errorf("%s: body %s, want the Forbidden status with its ErrorInfo (%v)", path, body, err)
			} else {
				lastReason = st.Details[0].Reason
			}
		}
		return resp.StatusCode
	}
	restCall := func(key string) int { return httpCall("/demo/v1/shelves/fiction/books/b1", key) }
	plainCall := func(key string) int { return httpCall("/demo/teapot", key) }
	tests := []struct {
		name       string
		key        string
		wantGRPC   codes.Code
		wantREST   int
		wantPlain  int    // a plain HTTP route with a mock integration
		wantReason string // on every protocol
	}{
		{"no key", "", codes.PermissionDenied, http.StatusForbidden, http.StatusForbidden, apikey.ReasonMissing},
		{"unknown key", "tgk_not-a-key-at-all-0123456789", codes.PermissionDenied, http.StatusForbidden, http.StatusForbidden, apikey.ReasonInvalid},
		{"key in no plan for the stage", uncovered.GetValue(), codes.PermissionDenied, http.StatusForbidden, http.StatusForbidden, apikey.ReasonNotInPlan},
		{"key of a plan covering the stage", covered.GetValue(), codes.OK, http.StatusOK, http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grpcCall(tt.key); got != tt.wantGRPC || lastReason != tt.wantReason {
				t.Errorf("gRPC: %v %q, want %v %q", got, lastReason, tt.wantGRPC, tt.wantReason)
			}
			if got := restCall(tt.key); got != tt.wantREST || lastReason != tt.wantReason {
				t.Errorf("REST: %d %q, want %d %q", got, lastReason, tt.wantREST, tt.wantReason)
			}
			if got := plainCall(tt.key); got != tt.wantPlain || lastReason != tt.wantReason {
				t.Errorf("plain HTTP route: %d %q, want %d %q", got, lastReason, tt.wantPlain, tt.wantReason)
			}
		})
	}
	// Routes without the requirement stay open.
	if _, err := books.ListShelves(t.Context(), &examplev1.ListShelvesRequest{}); err != nil {
		t.Fatalf("open route: %v", err)
	}

	_, err = admin.UpdateApiKey(actx, &adminv1.UpdateApiKeyRequest{
		ApiKey:     &adminv1.ApiKey{Name: covered.GetName(), Enabled: proto.Bool(false)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}},
	})
	must(err)
	disabledAt := time.Now()
	for grpcCall(covered.GetValue()) != codes.PermissionDenied {
		if time.Since(disabledAt) > 15*time.Second {
			t.Fatal("a disabled key was still accepted after 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("disabled key refused after %v", time.Since(disabledAt).Round(time.Millisecond))
	if got := restCall(covered.GetValue()); got != http.StatusForbidden {
		t.Fatalf("REST with a disabled key: %d", got)
	}
}
