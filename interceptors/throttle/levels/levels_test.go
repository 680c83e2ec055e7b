package levels_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/interceptors/throttle/levels"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// TestThrottleChecks pins which levels apply to a call and with which
// buckets: per-route overrides replace the stage default and the plan's
// throttle; unset levels do not apply.
func TestThrottleChecks(t *testing.T) {
	stage := &adminv1.Stage{
		Name:            "apis/shop/stages/prod",
		DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 100, BurstLimit: 50},
		RouteSettings:   map[string]*adminv1.RouteSettings{"hot": {Throttle: &adminv1.ThrottleSettings{RateLimit: 5, BurstLimit: 5}}},
	}
	plan := &adminv1.UsagePlan{
		Name:     "usagePlans/gold",
		Throttle: &adminv1.ThrottleSettings{RateLimit: 10, BurstLimit: 20},
		ApiStages: []*adminv1.ApiStage{{Stage: stage.GetName(), RouteThrottles: map[string]*adminv1.ThrottleSettings{
			"hot": {RateLimit: 1, BurstLimit: 1},
		}}},
	}
	call := func(route string, withKey bool, st *adminv1.Stage) *callinfo.Call {
		c := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage.GetName(), StageConfig: st, RouteKey: route, ThrottleKey: stage.GetName() + "|" + route}}
		if withKey {
			c.APIKey = &callinfo.APIKey{Name: "apiKeys/k", UsagePlan: plan.GetName(), Plan: plan}
		}
		return c
	}
	account := throttle.Check{Level: "account", Key: "account", Limit: throttle.Limit{Rate: 10000, Burst: 5000}}
	tests := []struct {
		name          string
		call          *callinfo.Call
		account       *adminv1.AccountSettings
		wantCall      []throttle.Check
		wantPlanCheck []throttle.Check
	}{
		{"stage default", call("cold", false, stage), defaultSettingsForTest(), []throttle.Check{account,
			{Level: "stage", Key: "apis/shop/stages/prod|cold", Limit: throttle.Limit{Rate: 100, Burst: 50}}}, nil},
		{"route override on the stage", call("hot", false, stage), defaultSettingsForTest(), []throttle.Check{account,
			{Level: "route", Key: "apis/shop/stages/prod|hot", Limit: throttle.Limit{Rate: 5, Burst: 5}}}, nil},
		{"no stage throttle, no account throttle", call("cold", false, &adminv1.Stage{Name: stage.GetName()}), &adminv1.AccountSettings{}, nil, nil},
		{"plan throttle per key", call("cold", true, stage), &adminv1.AccountSettings{}, []throttle.Check{
			{Level: "stage", Key: "apis/shop/stages/prod|cold", Limit: throttle.Limit{Rate: 100, Burst: 50}}},
			[]throttle.Check{{Level: "plan", Key: "plan|apiKeys/k|usagePlans/gold", Limit: throttle.Limit{Rate: 10, Burst: 20}}}},
		{"plan throttle, bucket named by the API-key policy", func() *callinfo.Call {
			c := call("cold", true, stage)
			c.APIKey.PlanBucket = "plan|made once" // read, not made again
			return c
		}(), &adminv1.AccountSettings{}, []throttle.Check{
			{Level: "stage", Key: "apis/shop/stages/prod|cold", Limit: throttle.Limit{Rate: 100, Burst: 50}}},
			[]throttle.Check{{Level: "plan", Key: "plan|made once", Limit: throttle.Limit{Rate: 10, Burst: 20}}}},
		{"plan route override", call("hot", true, stage), &adminv1.AccountSettings{}, []throttle.Check{
			{Level: "route", Key: "apis/shop/stages/prod|hot", Limit: throttle.Limit{Rate: 5, Burst: 5}}},
			[]throttle.Check{{Level: "plan-route", Key: "plan|apiKeys/k|apis/shop/stages/prod|hot", Limit: throttle.Limit{Rate: 1, Burst: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := levels.AccountAndStage(tt.account.GetThrottle)
			ctx := callinfo.NewContext(context.Background(), tt.call)
			if diff := cmp.Diff(tt.wantCall, checks(ctx, nil)); diff != "" {
				t.Errorf("call checks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPlanCheck, levels.UsagePlan(ctx, nil)); diff != "" {
				t.Errorf("plan checks (-want +got):\n%s", diff)
			}
		})
	}
}

func defaultSettingsForTest() *adminv1.AccountSettings {
	return &adminv1.AccountSettings{Throttle: &adminv1.ThrottleSettings{RateLimit: 10000, BurstLimit: 5000}}
}

// TestFailClosed: a stage whose Redis failure mode is FAIL_CLOSED marks
// every level of its calls, the account's and the plan's included.
func TestFailClosed(t *testing.T) {
	stage := &adminv1.Stage{
		Name:             "apis/shop/stages/prod",
		DefaultThrottle:  &adminv1.ThrottleSettings{RateLimit: 100, BurstLimit: 50},
		RedisFailureMode: adminv1.Stage_REDIS_FAILURE_MODE_FAIL_CLOSED,
	}
	plan := &adminv1.UsagePlan{Name: "usagePlans/gold", Throttle: &adminv1.ThrottleSettings{RateLimit: 10, BurstLimit: 20}}
	call := &callinfo.Call{
		RouteFacts: &callinfo.RouteFacts{Stage: stage.GetName(), StageConfig: stage, RouteKey: "r", ThrottleKey: stage.GetName() + "|r"},
		APIKey:     &callinfo.APIKey{Name: "apiKeys/k", UsagePlan: plan.GetName(), Plan: plan},
	}
	ctx := callinfo.NewContext(context.Background(), call)
	checks := append(levels.AccountAndStage(defaultSettingsForTest().GetThrottle)(ctx, nil), levels.UsagePlan(ctx, nil)...)
	if len(checks) != 3 {
		t.Fatalf("checks %v, want account, stage and plan", checks)
	}
	for _, c := range checks {
		if !c.FailClosed {
			t.Errorf("level %s does not fail closed", c.Level)
		}
	}
}
