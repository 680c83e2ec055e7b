package server_test

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestQuotas: a usage plan's quota refuses calls over it with 429 /
// RESOURCE_EXHAUSTED "Limit Exceeded" and a QuotaFailure; usage reports
// count exactly; AdjustQuota grants more; counts survive a restart.
func TestQuotas(t *testing.T) {
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
	deployKeyedEcho(t, admin, actx)
	_, err := admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "small", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
		Quota:     &adminv1.QuotaSettings{Limit: 2, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}})
	must(err)
	key, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"})
	must(err)
	_, err = admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/small", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}})
	must(err)

	grpcCall := func(addr string) error {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "x-api-key", key.GetValue())
		_, err := examplev1.NewEchoServiceClient(dial(t, addr)).Echo(ctx, &examplev1.EchoRequest{Message: "x"})
		return err
	}
	restCall := func(addr string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/demo/v1/echo", nil)
		must(err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", key.GetValue())
		resp, err := http.DefaultClient.Do(req)
		must(err)
		_ = resp.Body.Close()
		return resp
	}
	must(grpcCall(ts.DataAddr()))
	if r := restCall(ts.DataAddr()); r.StatusCode != http.StatusOK {
		t.Fatalf("second call: %d", r.StatusCode)
	}
	err = grpcCall(ts.DataAddr())
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || st.Message() != "Limit Exceeded" {
		t.Fatalf("third call over gRPC: %v", err)
	}
	hasQuotaFailure := false
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.QuotaFailure); ok {
			hasQuotaFailure = true
		}
	}
	if !hasQuotaFailure {
		t.Errorf("no QuotaFailure detail in %v", st.Details())
	}
	if r := restCall(ts.DataAddr()); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third call over REST: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}

	today := time.Now().UTC().Format("2006-01-02")
	usage := func(ts *testServer) *adminv1.KeyUsage {
		c := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
		u, err := c.GetUsage(withToken(t, ts.AdminToken()), &adminv1.GetUsageRequest{UsagePlan: "usagePlans/small", StartDate: today, EndDate: today})
		must(err)
		if len(u.GetItems()) != 1 {
			t.Fatalf("usage items: %v", u)
		}
		return u.GetItems()[0]
	}
	if u := usage(ts); u.GetDays()[0].GetCalls() != 2 || u.GetRemainingQuota() != 0 {
		t.Fatalf("usage after 2 admitted calls: %v", u)
	}
	adj, err := admin.AdjustQuota(actx, &adminv1.AdjustQuotaRequest{Name: "usagePlans/small/keys/k", RemainingQuota: 1})
	must(err)
	if adj.GetRemainingQuota() != 1 {
		t.Fatalf("after AdjustQuota: %v", adj)
	}
	must(grpcCall(ts.DataAddr()))

	// Counts are flushed on shutdown and loaded again on restart.
	ts.stop(t)
	again := startServer(t, cfg)
	if err := grpcCall(again.DataAddr()); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("after restart the quota was reset: %v", err)
	}
	if u := usage(again); u.GetRemainingQuota() != 0 {
		t.Fatalf("usage after restart: %v", u)
	}
}
