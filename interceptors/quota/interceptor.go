package quota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// Message is the status message of a call refused because its key's quota
// is used up, as in AWS API Gateway.
const Message = "Limit Exceeded"

// ReasonQuotaExceeded is the google.rpc.ErrorInfo reason of a refusal, in
// the domain gatewayerr.Domain ("gateway.tollgate.dev").
const ReasonQuotaExceeded = "QUOTA_EXCEEDED"

// RetryAfterHeader is the response header metadata entry that carries a
// refusal's retry delay in whole seconds, for HTTP edges to send as
// Retry-After.
const RetryAfterHeader = "retry-after"

// unavailableMessage is the status message of a call whose quota could not
// be checked.
const unavailableMessage = "Quota Unavailable"

// check takes one unit of the quota of the call in ctx. It returns nil for
// a call without an API key or usage plan, which is not counted.
func check(ctx context.Context, c *Counter) (retryAfter time.Duration, err error) {
	call := callinfo.FromContext(ctx)
	if call == nil || call.APIKey == nil || call.APIKey.Plan == nil {
		return 0, nil
	}
	key, plan := call.APIKey.Name, call.APIKey.Plan
	failClosed := call.StageConfig.GetRedisFailureMode() == adminv1.Stage_REDIS_FAILURE_MODE_FAIL_CLOSED
	ok, _, resetAt, err := c.take(ctx, plan, key, failClosed)
	if errors.Is(err, ErrSharedUnavailable) {
		return time.Second, gatewayerr.LimitBackendUnavailable("quota")
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return 0, status.FromContextError(ctxErr).Err()
		}
		c.opts.logger.Error("quota: check failed", slog.String("api_key", key),
			slog.String("usage_plan", plan.GetName()), slog.String("error", err.Error()))
		return 0, status.Error(codes.Unavailable, unavailableMessage)
	}
	if ok {
		return 0, nil
	}
	d := resetAt.Sub(c.opts.now())
	return d, Refusal(key, plan, d)
}

// Needs is what the quota policy reads from the call record (see
// interceptors/chain): the caller's API key and its usage plan.
var Needs = []callinfo.Fact{callinfo.FactAPIKey}

// StreamServerInterceptor returns an interceptor that counts every
// streaming call (and so every data-plane call, whose proxy is one stream
// handler) made with an API key in a usage plan against the plan's quota,
// before the handler runs. Calls without a resolved API key (no
// callinfo.Call, or its APIKey or APIKey.Plan nil) pass uncounted.
//
// A call over quota fails with the error of Refusal, after the retry-after
// response header was set. A call whose quota cannot be checked because the
// Store failed fails with code Unavailable and the message "Quota
// Unavailable"; the cause is logged, not sent to the client. A call whose
// quota is decided in a Shared store that fails, on a stage that fails
// closed (Stage.redis_failure_mode), fails with
// gatewayerr.LimitBackendUnavailable (503, retry after a second), not
// counted. It panics when c is nil.
func StreamServerInterceptor(c *Counter) grpc.StreamServerInterceptor {
	if c == nil {
		panic("quota: nil Counter")
	}
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if d, err := check(ss.Context(), c); err != nil {
			if d > 0 {
				// The header cannot have been sent yet: no handler ran.
				_ = ss.SetHeader(metadata.Pairs(RetryAfterHeader, strconv.FormatInt(retrySeconds(d), 10)))
			}
			return err
		}
		return handler(srv, ss)
	}
}

// retrySeconds returns d in whole seconds, rounded up, at least one.
func retrySeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return max(s, 1)
}

// Refusal returns the error of a call of apiKey refused because the quota
// of plan is used up until retryAfter from now: code ResourceExhausted,
// message "Limit Exceeded", and three details: a google.rpc.QuotaFailure
// whose violation has the key's resource name as subject and a description
// naming the plan, its limit and its period; a google.rpc.RetryInfo whose
// delay is retryAfter rounded up to whole seconds (at least one); and a
// google.rpc.ErrorInfo with reason ReasonQuotaExceeded, domain
// gatewayerr.Domain and the plan and key in its metadata.
func Refusal(apiKey string, plan *adminv1.UsagePlan, retryAfter time.Duration) error {
	q := plan.GetQuota()
	st := status.New(codes.ResourceExhausted, Message)
	d, err := st.WithDetails(
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject: apiKey,
			Description: fmt.Sprintf("quota of usage plan %q used up: %d calls per %s",
				plan.GetName(), q.GetLimit(), periodName(q)),
		}}},
		&errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: retrySeconds(retryAfter)}},
		&errdetails.ErrorInfo{Reason: ReasonQuotaExceeded, Domain: gatewayerr.Domain, Metadata: map[string]string{
			"usage_plan": plan.GetName(),
			"api_key":    apiKey,
		}},
	)
	if err != nil {
		return st.Err()
	}
	return d.Err()
}
