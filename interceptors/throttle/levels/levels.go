package levels

import (
	"context"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Bucket key prefixes, one per level, so that levels never share a bucket.
const (
	accountBucket = "account"
	planPrefix    = callinfo.PlanBucketPrefix
)

// PlanNeeds is what UsagePlan reads from the call record (see package
// interceptors/chain): the caller's API key and its usage plan.
var PlanNeeds = []callinfo.Fact{callinfo.FactAPIKey}

// limitOf converts configured throttle settings.
func limitOf(t *adminv1.ThrottleSettings) throttle.Limit {
	return throttle.Limit{Rate: t.GetRateLimit(), Burst: int(t.GetBurstLimit())}
}

// AccountAndStage returns the levels every call passes before
// authorization, in Amazon API Gateway's order: the account (account
// returns the account-wide throttle in effect, or nil), then the stage —
// the route's override on the stage if it has one, else the stage's
// default. A level that is not configured does not apply. Bucket keys were
// computed when the deployment was compiled, so the checks allocate
// nothing.
func AccountAndStage(account func() *adminv1.ThrottleSettings) throttle.Checks {
	return func(ctx context.Context, dst []throttle.Check) []throttle.Check {
		call := callinfo.FromContext(ctx)
		if call == nil {
			return dst
		}
		closed := failsClosed(call)
		if t := account(); t != nil {
			dst = append(dst, throttle.Check{Level: throttle.LevelAccount, Key: accountBucket, Limit: limitOf(t), FailClosed: closed})
		}
		if rs, ok := call.StageConfig.GetRouteSettings()[call.RouteKey]; ok && rs.GetThrottle() != nil {
			dst = append(dst, throttle.Check{Level: throttle.LevelRoute, Key: call.ThrottleKey, Limit: limitOf(rs.GetThrottle()), FailClosed: closed})
		} else if t := call.StageConfig.GetDefaultThrottle(); t != nil {
			dst = append(dst, throttle.Check{Level: throttle.LevelStage, Key: call.ThrottleKey, Limit: limitOf(t), FailClosed: closed})
		}
		return dst
	}
}

// UsagePlan lists the usage-plan levels of a call with a resolved API key,
// after authorization: the plan's per-route override on the stage if it
// has one, else the plan's throttle, per API key. It needs PlanNeeds.
func UsagePlan(ctx context.Context, dst []throttle.Check) []throttle.Check {
	call := callinfo.FromContext(ctx)
	if call == nil || call.APIKey == nil || call.APIKey.Plan == nil {
		return dst
	}
	plan := call.APIKey.Plan
	for _, as := range plan.GetApiStages() {
		if as.GetStage() != call.Stage {
			continue
		}
		if t, ok := as.GetRouteThrottles()[call.RouteKey]; ok {
			return append(dst, throttle.Check{Level: throttle.LevelPlanRoute, Key: planPrefix + call.APIKey.Name + "|" + call.ThrottleKey, Limit: limitOf(t), FailClosed: failsClosed(call)})
		}
	}
	if t := plan.GetThrottle(); t != nil {
		key := call.APIKey.PlanBucket
		if key == "" {
			key = callinfo.PlanBucket(call.APIKey.Name, plan.GetName())
		}
		dst = append(dst, throttle.Check{Level: throttle.LevelPlan, Key: key, Limit: limitOf(t), FailClosed: failsClosed(call)})
	}
	return dst
}

// failsClosed reports whether a call's stage refuses calls whose limits
// cannot be checked in Redis (Stage.redis_failure_mode), every level's
// (the account's included) alike.
func failsClosed(call *callinfo.Call) bool {
	return call.StageConfig.GetRedisFailureMode() == adminv1.Stage_REDIS_FAILURE_MODE_FAIL_CLOSED
}

var _ throttle.Checks = UsagePlan
