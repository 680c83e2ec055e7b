package server_test

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestFleetAdjustQuotaOnRedis: AdjustQuota made on node A applies on node
// B, whose calls are decided from the count in Redis: after 10 calls of a
// quota of 10 through B, A gives 4 back and B admits exactly 4 more. With
// Redis down, AdjustQuota fails with UNAVAILABLE (reason
// QUOTA_BACKEND_UNAVAILABLE) rather than adjusting one node only.
func TestFleetAdjustQuotaOnRedis(t *testing.T) {
	f := startRedisFleet(t)
	a := f.admin
	if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "keyed"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	key, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "adj"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUsagePlan(a.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "small", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/live"}},
		Quota:     &adminv1.QuotaSettings{Limit: 10, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}); err != nil {
		t.Fatal(err)
	}
	member, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/small", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.serveDeployment(a.deployMock(t, "v2")); err != nil {
		t.Fatal(err)
	}
	nodeB := f.nodes[1]
	waitServes(t, f.client, nodeB, "v2", 5*time.Second)

	admitted := func(n int) int {
		t.Helper()
		ok := 0
		for range n {
			code, body, err := get(f.client, nodeB, "/live/keyed", key.GetValue())
			switch {
			case err != nil:
				t.Fatal(err)
			case code == http.StatusOK:
				ok++
			case code != http.StatusTooManyRequests:
				t.Fatalf("GET /live/keyed: %d %s", code, body)
			}
		}
		return ok
	}
	if got := admitted(12); got != 10 {
		t.Fatalf("node B admitted %d of 12 calls against a quota of 10", got)
	}
	if _, err := a.AdjustQuota(a.ctx, &adminv1.AdjustQuotaRequest{Name: member.GetName(), RemainingQuota: 4}); err != nil {
		t.Fatal(err)
	}
	if got := admitted(6); got != 4 {
		t.Fatalf("after AdjustQuota(remaining 4) on node A, node B admitted %d of 6; want 4", got)
	}

	f.redis.Stop(t)
	_, err = a.AdjustQuota(a.ctx, &adminv1.AdjustQuotaRequest{Name: member.GetName(), RemainingQuota: 8})
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.Unavailable || reason != "QUOTA_BACKEND_UNAVAILABLE" {
		t.Fatalf("AdjustQuota with Redis down: %v (reason %q); want UNAVAILABLE, QUOTA_BACKEND_UNAVAILABLE", err, reason)
	}
}
