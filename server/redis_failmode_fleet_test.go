package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestFleetRedisFailureMode: with Redis killed, a stage that fails closed
// answers 503 with reason RATE_LIMIT_BACKEND_UNAVAILABLE and Retry-After
// for its throttle and for its plans' quotas (the calls are not counted),
// while a stage that fails open (the default) keeps admitting calls from
// each node's local limiter; a rate-limited log line says so; once Redis
// is back, the closed stage admits calls again.
func TestFleetRedisFailureMode(t *testing.T) {
	f := startRedisFleet(t)
	a := f.admin
	if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "keyed"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	dep := a.deployMock(t, "v2")
	if err := a.serveDeployment(dep); err != nil {
		t.Fatal(err)
	}
	throttle := &adminv1.ThrottleSettings{RateLimit: 10000, BurstLimit: 10000}
	closed := adminv1.Stage_REDIS_FAILURE_MODE_FAIL_CLOSED
	for _, st := range []struct {
		id       string
		throttle *adminv1.ThrottleSettings
		mode     adminv1.Stage_RedisFailureMode
	}{
		{"closed", throttle, closed}, // throttled, fails closed
		{"open", throttle, 0},        // throttled, fails open (default)
		{"quota", nil, closed},       // a plan's quota only, fails closed
		{"quotaopen", nil, adminv1.Stage_REDIS_FAILURE_MODE_FAIL_OPEN},
	} {
		if _, err := a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: "apis/shop", StageId: st.id, Stage: &adminv1.Stage{
			Deployment: dep, DefaultThrottle: st.throttle, RedisFailureMode: st.mode,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUsagePlan(a.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "p", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/quota"}, {Stage: "apis/shop/stages/quotaopen"}},
		Quota:     &adminv1.QuotaSettings{Limit: 1000, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/p", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}); err != nil {
		t.Fatal(err)
	}
	node := f.nodes[2] // not the one written to
	call := func(path, apiKey string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+node.DataAddr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if apiKey != "" {
			req.Header.Set("X-Api-Key", apiKey)
		}
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header, b.String()
	}
	paths := []struct{ path, key string }{
		{"/closed/hello", ""}, {"/open/hello", ""}, {"/quota/keyed", key.GetValue()}, {"/quotaopen/keyed", key.GetValue()},
	}
	for _, p := range paths {
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, _, body := call(p.path, p.key)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s with Redis up: %d %s", p.path, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	f.redis.Stop(t)
	for i := range 5 {
		for _, p := range paths {
			code, hdr, body := call(p.path, p.key)
			failClosed := p.path == "/closed/hello" || p.path == "/quota/keyed"
			switch {
			case failClosed && (code != http.StatusServiceUnavailable || !strings.Contains(body, "RATE_LIMIT_BACKEND_UNAVAILABLE") || hdr.Get("Retry-After") != "1"):
				t.Errorf("call %d %s with Redis down: %d Retry-After %q %s; want 503 RATE_LIMIT_BACKEND_UNAVAILABLE, Retry-After 1", i, p.path, code, hdr.Get("Retry-After"), body)
			case !failClosed && code != http.StatusOK:
				t.Errorf("call %d %s with Redis down: %d %s; want 200 (fail open)", i, p.path, code, body)
			}
		}
	}
	if logs := f.logs.String(); !strings.Contains(logs, "calls of stages that fail closed are refused") {
		t.Error("no log line says calls are refused for failing closed")
	}

	f.redis.Restart(t)
	for _, p := range paths[:3:3] {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _, body := call(p.path, p.key)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after Redis restarted: %d %s", p.path, code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
