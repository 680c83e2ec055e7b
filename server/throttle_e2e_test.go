package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestThrottling: the account, stage and usage-plan levels refuse calls
// over their limits with 429 / RESOURCE_EXHAUSTED, Retry-After and
// RetryInfo, over gRPC and REST alike; changing a limit takes effect at once.
func TestThrottling(t *testing.T) {
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
	echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
	grpcCall := func(key string) (codes.Code, int) {
		ctx := t.Context()
		if key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", key)
		}
		var header metadata.MD
		_, err := echo.Echo(ctx, &examplev1.EchoRequest{Message: "x"}, grpc.Header(&header))
		retry := 0
		for _, d := range status.Convert(err).Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				retry = int(ri.GetRetryDelay().AsDuration().Seconds())
			}
		}
		if err != nil && status.Code(err) == codes.ResourceExhausted && status.Convert(err).Message() != "Too Many Requests" {
			t.Errorf("throttled with message %q", status.Convert(err).Message())
		}
		return status.Code(err), retry
	}
	restCall := func(key string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+ts.DataAddr()+"/demo/v1/echo", nil)
		must(err)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		must(err)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	// Stage level: rate 0.1/s (10 s to refill one token), burst 2.
	_, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 0.1, BurstLimit: 2}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_throttle"}},
	})
	must(err)
	if c, _ := grpcCall(""); c != codes.OK {
		t.Fatalf("first call: %v", c)
	}
	if c, _ := restCall(""); c != http.StatusOK {
		t.Fatalf("second call (REST, same bucket): %d", c)
	}
	if c, retry := grpcCall(""); c != codes.ResourceExhausted || retry < 1 || retry > 10 {
		t.Fatalf("third call over gRPC: %v, RetryInfo %d s", c, retry)
	}
	if c, retry := restCall(""); c != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("third call over REST: %d, Retry-After %q", c, retry)
	} else if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 10 {
		t.Fatalf("Retry-After %q", retry)
	}

	// Raising the limit takes effect at once.
	_, err = admin.UpdateStage(actx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_throttle"}},
	})
	must(err)
	// The bucket keeps its (empty) tokens and refills at the new rate.
	deadline := time.Now().Add(time.Second)
	for c, _ := grpcCall(""); c != codes.OK; c, _ = grpcCall("") {
		if time.Now().After(deadline) {
			t.Fatalf("still refused a second after raising the stage limit: %v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Account level: rate 0 blocks every call, at once.
	_, err = admin.UpdateAccountSettings(actx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
		Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: 0, BurstLimit: 0},
	}})
	must(err)
	if c, _ := grpcCall(""); c != codes.ResourceExhausted {
		t.Fatalf("account rate 0: %v", c)
	}
	_, err = admin.UpdateAccountSettings(actx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
		Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: 10000, BurstLimit: 5000},
	}})
	must(err)

	// Usage plan level, per API key: burst 1 for the key, on a route that requires it.
	deployKeyedEcho(t, admin, actx)
	_, err = admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "tiny", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
		Throttle:  &adminv1.ThrottleSettings{RateLimit: 0.1, BurstLimit: 1},
	}})
	must(err)
	var keys []string
	for _, id := range []string{"one", "two"} {
		k, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: id})
		must(err)
		_, err = admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/tiny", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: k.GetName()}})
		must(err)
		keys = append(keys, k.GetValue())
	}
	if c, _ := grpcCall(keys[0]); c != codes.OK {
		t.Fatalf("key one, first call: %v", c)
	}
	if c, retry := restCall(keys[0]); c != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("key one, second call: %d %q", c, retry)
	}
	if c, _ := grpcCall(keys[1]); c != codes.OK {
		t.Fatalf("key two has its own bucket: %v", c)
	}
}
