package throttle

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// call runs one streaming call through si and returns its error and the
// response header it set.
func call(si grpc.StreamServerInterceptor) (err error, header metadata.MD, handled bool) {
	ss := testkit.NewServerStream(context.Background())
	err = si(nil, ss, &grpc.StreamServerInfo{FullMethod: "/test.v1.Test/Call"}, func(any, grpc.ServerStream) error {
		handled = true
		return nil
	})
	return err, ss.Header(), handled
}

// wantRefusal returns the details of a refusal at level after secs seconds.
func wantRefusal(level string, secs int64) []any {
	return []any{
		&errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: secs}},
		&errdetails.ErrorInfo{Reason: "THROTTLED", Domain: "gateway.tollgate.dev", Metadata: map[string]string{"level": level}},
	}
}

func checkRefusal(t *testing.T, err error, header metadata.MD, level string, secs int64) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a status", err)
	}
	if st.Code() != codes.ResourceExhausted || st.Message() != "Too Many Requests" {
		t.Errorf("status = %v %q, want ResourceExhausted \"Too Many Requests\"", st.Code(), st.Message())
	}
	if diff := cmp.Diff(wantRefusal(level, secs), st.Details(), protocmp.Transform()); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	if got, want := header.Get(RetryAfterHeader), []string{fmt.Sprint(secs)}; !cmp.Equal(got, want) {
		t.Errorf("retry-after header = %q, want %q", got, want)
	}
	if d, ok := RetryAfter(err); !ok || d != time.Duration(secs)*time.Second {
		t.Errorf("RetryAfter = %v, %v; want %ds, true", d, ok, secs)
	}
	if got, ok := Level(err); !ok || got != level {
		t.Errorf("Level = %q, %v; want %q, true", got, ok, level)
	}
}

func TestLevels(t *testing.T) {
	account := Check{Level: LevelAccount, Key: "account", Limit: Limit{Rate: 100, Burst: 100}}
	stage := Check{Level: LevelStage, Key: "stage|s", Limit: Limit{Rate: 10, Burst: 10}}
	route := Check{Level: LevelRoute, Key: "stage|s|route|r", Limit: Limit{Rate: 1, Burst: 3}}
	plan := Check{Level: LevelPlan, Key: "plan|p|key|k", Limit: Limit{Rate: 2, Burst: 5}}
	planRoute := Check{Level: LevelPlanRoute, Key: "plan|p|key|k|route|r", Limit: Limit{Rate: 0.1, Burst: 2}}
	tests := []struct {
		name      string
		checks    []Check
		admitted  int
		level     string
		retrySecs int64
	}{
		{"no checks", nil, 1000, "", 0},
		{"one level", []Check{stage}, 10, LevelStage, 1},
		{"route tightest", []Check{account, stage, route, plan}, 3, LevelRoute, 1},
		{"plan-route tightest, last", []Check{account, stage, route, plan, planRoute}, 2, LevelPlanRoute, 10},
		{"plan tighter than stage", []Check{account, stage, plan}, 5, LevelPlan, 1},
		{"account tightest, first", []Check{{Level: LevelAccount, Key: "account", Limit: Limit{Rate: 1, Burst: 1}}, stage}, 1, LevelAccount, 1},
		{"rate 0", []Check{account, {Level: LevelRoute, Key: "r0", Limit: Limit{Rate: 0, Burst: 10}}}, 0, LevelRoute, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			si := StreamServerInterceptor(NewLocalLimiter(), fixedChecks(tt.checks...), WithClock(clock.Now))
			for i := range tt.admitted {
				if err, header, handled := call(si); err != nil || !handled || header != nil {
					t.Fatalf("call %d: err %v, handled %v, header %v; want admitted", i, err, handled, header)
				}
			}
			if tt.level == "" {
				return
			}
			err, header, handled := call(si)
			if handled {
				t.Fatal("refused call reached the handler")
			}
			checkRefusal(t, err, header, tt.level, tt.retrySecs)
		})
	}
}

// TestTokensNotReturned pins the documented choice: a call refused at a
// later level keeps the tokens it took at earlier levels.
func TestTokensNotReturned(t *testing.T) {
	l := NewLocalLimiter()
	wide := Check{Level: LevelStage, Key: "wide", Limit: Limit{Rate: 1, Burst: 10}}
	narrow := Check{Level: LevelRoute, Key: "narrow", Limit: Limit{Rate: 1, Burst: 2}}
	si := StreamServerInterceptor(l, fixedChecks(wide, narrow), WithClock(func() time.Time { return epoch }))
	for range 5 {
		call(si) // 2 admitted, 3 refused at the route
	}
	if n := drain(l, "wide", wide.Limit, epoch); n != 5 {
		t.Errorf("wide bucket has %d tokens, want 5 (10 − 5 calls)", n)
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		limit Limit
		wait  time.Duration // after draining
		secs  int64
	}{
		{Limit{Rate: 1, Burst: 1}, 0, 1},
		{Limit{Rate: 0.1, Burst: 1}, 0, 10},
		{Limit{Rate: 0.1, Burst: 1}, 500 * time.Millisecond, 10}, // 9.5 s rounded up
		{Limit{Rate: 0.4, Burst: 1}, 0, 3},                       // 2.5 s rounded up
		{Limit{Rate: 1000, Burst: 5}, 0, 1},                      // 1 ms, at least 1 s
		{Limit{Rate: 1.0 / 3600, Burst: 1}, 0, 3600},
		{Limit{Rate: 0, Burst: 1}, 0, 3600},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("rate %g wait %v", tt.limit.Rate, tt.wait), func(t *testing.T) {
			clock := newFakeClock()
			l := NewLocalLimiter()
			drain(l, "k", tt.limit, clock.Now())
			clock.Advance(tt.wait)
			si := StreamServerInterceptor(l, fixedChecks(Check{Level: LevelRoute, Key: "k", Limit: tt.limit}), WithClock(clock.Now))
			err, header, _ := call(si)
			checkRefusal(t, err, header, LevelRoute, tt.secs)
		})
	}
}

func TestManyChecks(t *testing.T) {
	var cs []Check
	for i := range 12 {
		cs = append(cs, Check{Level: fmt.Sprint("level", i), Key: fmt.Sprint("k", i), Limit: Limit{Rate: 1, Burst: 20 - i}})
	}
	clock := newFakeClock()
	si := StreamServerInterceptor(NewLocalLimiter(), fixedChecks(cs...), WithClock(clock.Now))
	for range 9 {
		if err, _, _ := call(si); err != nil {
			t.Fatal(err)
		}
	}
	err, header, _ := call(si)
	checkRefusal(t, err, header, "level11", 1)
}

// TestChecksSeeContext checks that the Checks function gets the call's
// context.
func TestChecksSeeContext(t *testing.T) {
	type key struct{}
	checks := func(ctx context.Context, dst []Check) []Check {
		if ctx.Value(key{}) == "blocked" {
			dst = append(dst, Check{Level: LevelPlan, Key: "p", Limit: Limit{}})
		}
		return dst
	}
	si := StreamServerInterceptor(NewLocalLimiter(), checks)
	ss := testkit.NewServerStream(context.WithValue(context.Background(), key{}, "blocked"))
	err := si(nil, ss, &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error { return nil })
	checkRefusal(t, err, ss.Header(), LevelPlan, 3600)
	if err, _, _ := call(si); err != nil {
		t.Errorf("call without the value: %v", err)
	}
}

func TestRetryAfterOtherErrors(t *testing.T) {
	for _, err := range []error{
		nil,
		errors.New("plain"),
		status.Error(codes.ResourceExhausted, "no details"),
		status.Error(codes.Unavailable, "x"),
	} {
		if d, ok := RetryAfter(err); ok {
			t.Errorf("RetryAfter(%v) = %v, true; want false", err, d)
		}
		if l, ok := Level(err); ok {
			t.Errorf("Level(%v) = %q, true; want false", err, l)
		}
	}
	wrapped := fmt.Errorf("calling: %w", Refusal(LevelRoute, 2500*time.Millisecond))
	if d, ok := RetryAfter(wrapped); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter(wrapped) = %v, %v; want 3s", d, ok)
	}
}

func TestConstructorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"nil limiter": func() { StreamServerInterceptor(nil, fixedChecks()) },
		"nil checks":  func() { StreamServerInterceptor(NewLocalLimiter(), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestAllowedCallDoesNotAllocate guards the hot path: five checks on warm
// buckets, a Checks function that appends prebuilt keys.
func TestAllowedCallDoesNotAllocate(t *testing.T) {
	si, ss, info, handler := benchSetup(NewLocalLimiter())
	allocs := testing.AllocsPerRun(1000, func() {
		if err := si(nil, ss, info, handler); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per allowed call, want 0", allocs)
	}
}

// TestDoneCallsNotCharged: a call whose client already reset the stream
// (or whose deadline passed) takes no token (issue 13: rapid reset drained
// the account-wide bucket).
func TestDoneCallsNotCharged(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), epoch)
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		code codes.Code
	}{
		{"reset by the client", cancelled, codes.Canceled},
		{"deadline passed", expired, codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLocalLimiter()
			c := Check{Level: LevelAccount, Key: "account", Limit: Limit{Rate: 1, Burst: 3}}
			si := StreamServerInterceptor(l, fixedChecks(c), WithClock(func() time.Time { return epoch }))
			ss := testkit.NewServerStream(tt.ctx)
			handled := false
			err := si(nil, ss, &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error { handled = true; return nil })
			if status.Code(err) != tt.code || handled {
				t.Errorf("stream: %v (handled %v), want %v without the handler", err, handled, tt.code)
			}
			if n := drain(l, "account", c.Limit, epoch); n != 3 {
				t.Errorf("the bucket has %d tokens, want all 3", n)
			}
		})
	}
}
