package quota

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// callCtx returns a context whose call has the API key of plan, or no key
// when plan is nil.
func callCtx(plan *adminv1.UsagePlan) context.Context {
	call := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{API: "apis/shop"}, Request: callinfo.Request{FullMethod: "/shop.v1.Shop/List"}}
	if plan != nil {
		call.APIKey = &callinfo.APIKey{Name: key, UsagePlan: plan.GetName(), Plan: plan}
	}
	return callinfo.NewContext(context.Background(), call)
}

// runStream runs the stream interceptor of c on a call in ctx and reports
// whether the handler ran.
func runStream(c *Counter, ctx context.Context) (*testkit.ServerStream, bool, error) {
	ss := testkit.NewServerStream(ctx)
	ran := false
	err := StreamServerInterceptor(c)(nil, ss, &grpc.StreamServerInfo{FullMethod: "/shop.v1.Shop/List"}, func(any, grpc.ServerStream) error {
		ran = true
		return nil
	})
	return ss, ran, err
}

func TestStreamServerInterceptor(t *testing.T) {
	c, st, clk := newTestCounter(t)
	plan := dailyPlan(2)
	for i := range 2 {
		if _, ran, err := runStream(c, callCtx(plan)); err != nil || !ran {
			t.Fatalf("call %d: ran %v, err %v; want the handler run", i, ran, err)
		}
	}
	clk.Set(at(t, "2026-11-25T23:59:58.5Z")) // 1.5s before the reset
	ss, ran, err := runStream(c, callCtx(plan))
	if ran {
		t.Fatal("the handler of a call over quota ran")
	}
	st2 := status.Convert(err)
	if st2.Code() != codes.ResourceExhausted || st2.Message() != "Limit Exceeded" {
		t.Fatalf("status = %v %q, want ResourceExhausted \"Limit Exceeded\"", st2.Code(), st2.Message())
	}
	want := []any{
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject:     key,
			Description: `quota of usage plan "usagePlans/gold" used up: 2 calls per day`,
		}}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Second)},
		&errdetails.ErrorInfo{Reason: ReasonQuotaExceeded, Domain: gatewayerr.Domain, Metadata: map[string]string{
			"usage_plan": "usagePlans/gold", "api_key": key,
		}},
	}
	if diff := cmp.Diff(want, st2.Details(), protocmp.Transform()); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	if got := ss.Header().Get(RetryAfterHeader); len(got) != 1 || got[0] != "2" {
		t.Errorf("retry-after header = %q, want [\"2\"]", got)
	}
	if secs, ok := gatewayerr.RetryAfterSeconds(err); !ok || secs != 2 {
		t.Errorf("gatewayerr.RetryAfterSeconds = %d, %v; want 2", secs, ok)
	}

	// Refused calls are not counted.
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := st.get(plan.GetName(), key, at(t, "2026-11-25T00:00:00Z")); got != 2 {
		t.Errorf("stored %d calls, want 2", got)
	}

	// A new day resets the quota.
	clk.Set(at(t, "2026-11-26T00:00:00Z"))
	if _, ran, err := runStream(c, callCtx(plan)); err != nil || !ran {
		t.Fatalf("call after the reset: ran %v, err %v", ran, err)
	}
}

func TestInterceptorDescriptions(t *testing.T) {
	tests := []struct {
		plan *adminv1.UsagePlan
		want string
	}{
		{newPlan("usagePlans/w", 7, adminv1.QuotaSettings_PERIOD_WEEK, 2), `quota of usage plan "usagePlans/w" used up: 7 calls per week`},
		{newPlan("usagePlans/m", 9, adminv1.QuotaSettings_PERIOD_MONTH, 0), `quota of usage plan "usagePlans/m" used up: 9 calls per month`},
	}
	for _, tt := range tests {
		t.Run(tt.plan.GetName(), func(t *testing.T) {
			err := Refusal(key, tt.plan, 0)
			var qf *errdetails.QuotaFailure
			var ri *errdetails.RetryInfo
			for _, d := range status.Convert(err).Details() {
				switch d := d.(type) {
				case *errdetails.QuotaFailure:
					qf = d
				case *errdetails.RetryInfo:
					ri = d
				}
			}
			if got := qf.GetViolations()[0].GetDescription(); got != tt.want {
				t.Errorf("description = %q, want %q", got, tt.want)
			}
			if got := ri.GetRetryDelay().AsDuration(); got != time.Second {
				t.Errorf("retry delay = %v, want at least 1s", got)
			}
		})
	}
}

func TestInterceptorPassesCallsWithoutKey(t *testing.T) {
	c, st, _ := newTestCounter(t)
	for name, ctx := range map[string]context.Context{
		"no call":       context.Background(),
		"no key":        callCtx(nil),
		"key sans plan": callinfo.NewContext(context.Background(), &callinfo.Call{RouteFacts: &callinfo.RouteFacts{}, APIKey: &callinfo.APIKey{Name: key}}),
	} {
		if _, ran, err := runStream(c, ctx); err != nil || !ran {
			t.Errorf("%s: ran %v, err %v; want the handler run", name, ran, err)
		}
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, writes := st.stats(); writes != 0 || c.entries() != 0 {
		t.Errorf("calls without key were counted")
	}
}

func TestInterceptorStoreFailure(t *testing.T) {
	st, clk := newFakeStore(), newFakeClock(epoch)
	var logs strings.Builder
	c := NewCounter(st, WithClock(clk.Now), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	st.setFail(true, false)
	_, ran, err := runStream(c, callCtx(dailyPlan(5)))
	if ran || status.Code(err) != codes.Unavailable {
		t.Fatalf("ran %v, err %v; want Unavailable", ran, err)
	}
	if strings.Contains(status.Convert(err).Message(), errStore.Error()) {
		t.Error("the store's error reached the client")
	}
	if !strings.Contains(logs.String(), errStore.Error()) {
		t.Errorf("log %q does not name the store's error", logs.String())
	}

	// A cancelled call gets its context's status.
	st.setFail(false, false)
	ctx, cancel := context.WithCancel(callCtx(dailyPlan(5)))
	cancel()
	if _, ran, err := runStream(c, ctx); ran || status.Code(err) != codes.Canceled {
		t.Errorf("cancelled call: ran %v, err %v; want Canceled", ran, err)
	}
}

func TestNilArguments(t *testing.T) {
	for name, f := range map[string]func(){
		"NewCounter":              func() { NewCounter(nil) },
		"StreamServerInterceptor": func() { StreamServerInterceptor(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(nil) did not panic", name)
				}
			}()
			f()
		}()
	}
}
