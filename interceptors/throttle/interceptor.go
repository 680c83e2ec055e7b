package throttle

import (
	"context"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// ReasonThrottled is the ErrorInfo reason of a refusal, in the domain
// gatewayerr.Domain ("gateway.tollgate.dev").
const ReasonThrottled = "THROTTLED"

// Message is the status message of a refusal, whatever the level.
const Message = "Too Many Requests"

// RetryAfterHeader is the response header metadata entry that carries a
// refusal's retry delay in whole seconds, for HTTP edges to send as
// Retry-After.
const RetryAfterHeader = "retry-after"

// maxChecks is the number of checks the interceptors make room for without
// allocating; Checks may return more.
const maxChecks = 8

// checkBufs holds buffers for Checks. A stack array would escape to the
// heap, since Checks is called through a function value, so buffers are
// pooled instead.
var checkBufs = sync.Pool{New: func() any { return new([maxChecks]Check) }}

// interceptor makes the checks of calls.
type interceptor struct {
	limiter  Limiter
	fallible FallibleLimiter // limiter, when it is one
	checks   Checks
	now      func() time.Time
}

// newInterceptor validates the arguments of the constructors.
func newInterceptor(l Limiter, checks Checks, opts []Option) *interceptor {
	if l == nil {
		panic("throttle: nil Limiter")
	}
	if checks == nil {
		panic("throttle: nil Checks")
	}
	o := evaluate(opts)
	in := &interceptor{limiter: l, checks: checks, now: o.now}
	in.fallible, _ = l.(FallibleLimiter)
	return in
}

// check makes the checks of the call in ctx, in order, and returns the
// first refusal: its level and retry delay. It returns ok for a call that
// passed every check, or that has none.
//
// A call refused at one level keeps the tokens it took at the levels before
// it: they are not given back. This is what AWS API Gateway does, it keeps
// Limiter to a single operation that a shared store can do in one round
// trip, and it charges a client that keeps calling past a narrow limit
// against its wider limits too, which is fair: the gateway did the work of
// refusing those calls.
//
// A check marked FailClosed that a FallibleLimiter cannot decide fails
// the call with the error of gatewayerr.LimitBackendUnavailable.
func (i *interceptor) check(ctx context.Context) (level string, retryAfter time.Duration, ok bool, err error) {
	buf := checkBufs.Get().(*[maxChecks]Check)
	cs := i.checks(ctx, buf[:0])
	ok = true
	if len(cs) > 0 {
		now := i.now()
		for j := range cs {
			c := &cs[j]
			var allowed bool
			var d time.Duration
			if c.FailClosed && i.fallible != nil {
				allowed, d, err = i.fallible.AllowOrFail(c.Key, c.Limit, now)
				if err != nil {
					level, retryAfter, ok = c.Level, time.Second, false
					err = gatewayerr.LimitBackendUnavailable("throttle")
					break
				}
			} else {
				allowed, d = i.limiter.Allow(c.Key, c.Limit, now)
			}
			if !allowed {
				level, retryAfter, ok = c.Level, d, false
				break
			}
		}
	}
	// Drop the references to keys before pooling the buffer.
	clear(buf[:min(len(cs), maxChecks)])
	checkBufs.Put(buf)
	return level, retryAfter, ok, err
}

// StreamServerInterceptor returns an interceptor that makes the checks of
// every streaming call (and so of every data-plane call, whose proxy is one
// stream handler) against l before the handler runs. A refused call fails
// with the error of Refusal, after the retry-after response header was set.
// A call whose context is already done — the client reset the stream or
// its deadline passed before the checks — is not charged: it fails with
// its context's status, so that streams opened and reset at once cannot
// drain buckets other clients share.
// It accepts WithClock. It panics when l or checks is nil.
func StreamServerInterceptor(l Limiter, checks Checks, opts ...Option) grpc.StreamServerInterceptor {
	in := newInterceptor(l, checks, opts)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := ss.Context().Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		if level, d, ok, err := in.check(ss.Context()); !ok {
			// The header cannot have been sent yet: no handler ran.
			_ = ss.SetHeader(metadata.Pairs(RetryAfterHeader, strconv.FormatInt(retrySeconds(d), 10)))
			if err != nil {
				return err
			}
			return Refusal(level, d)
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

// Refusal returns the error of a call refused at level, to be retried after
// retryAfter: code ResourceExhausted, message "Too Many Requests", a
// google.rpc.RetryInfo detail whose delay is retryAfter rounded up to whole
// seconds (at least one), and a google.rpc.ErrorInfo detail with reason
// ReasonThrottled, domain gatewayerr.Domain and the level in the "level"
// metadata entry.
func Refusal(level string, retryAfter time.Duration) error {
	st := status.New(codes.ResourceExhausted, Message)
	d, err := st.WithDetails(
		&errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: retrySeconds(retryAfter)}},
		&errdetails.ErrorInfo{Reason: ReasonThrottled, Domain: gatewayerr.Domain, Metadata: map[string]string{"level": level}},
	)
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// RetryAfter returns the delay of the google.rpc.RetryInfo detail of err,
// for the REST edge's Retry-After header. It reports false when err is not
// a status error or has no RetryInfo.
func RetryAfter(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// Level returns the level that refused the call of err, and false when err
// is not a refusal of this package.
func Level(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.ResourceExhausted {
		return "", false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == gatewayerr.Domain && info.GetReason() == ReasonThrottled {
			return info.GetMetadata()["level"], true
		}
	}
	return "", false
}
