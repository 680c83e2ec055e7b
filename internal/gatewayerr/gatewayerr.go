package gatewayerr

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of errors raised by the data plane.
const Domain = "gateway.tollgate.dev"

// Reasons of data-plane errors.
const (
	// ReasonBackendUnavailable: the gateway could not reach the backend,
	// or the backend's connection or stream broke before it answered.
	// REST clients get 502 Bad Gateway (grpc-gateway would say 503).
	ReasonBackendUnavailable = "BACKEND_UNAVAILABLE"
	// ReasonBackendTimeout: the backend did not answer within the route
	// timeout. REST clients get 504 Gateway Timeout.
	ReasonBackendTimeout = "BACKEND_TIMEOUT"
	// ReasonIPDenied: the client's address is not admitted by an IP policy
	// (of the API, stage, route or API key). 403 Forbidden.
	ReasonIPDenied = "IP_DENIED"
	// ReasonStreamIdleTimeout: a streaming call carried no message in
	// either direction for the route's stream idle timeout. REST clients
	// get 504 Gateway Timeout.
	ReasonStreamIdleTimeout = "STREAM_IDLE_TIMEOUT"
	// ReasonMaxStreamDuration: a streaming call reached the route's
	// maximum stream duration. REST clients get 504 Gateway Timeout.
	ReasonMaxStreamDuration = "MAX_STREAM_DURATION"
	// ReasonUpstreamOverflow: the integration's circuit breaker refused
	// the call (too many calls in flight and waiting). REST clients get
	// 503 Service Unavailable.
	ReasonUpstreamOverflow = "UPSTREAM_OVERFLOW"
	// ReasonRateLimitBackendUnavailable: a throttle or quota of a stage
	// that fails closed (Stage.redis_failure_mode) could not be checked,
	// because the Redis the nodes share fails. 503 Service Unavailable,
	// with a RetryInfo of one second (Retry-After for REST clients).
	ReasonRateLimitBackendUnavailable = "RATE_LIMIT_BACKEND_UNAVAILABLE"
)

// LimitBackendUnavailable is the error of a call refused because a limit
// of its stage, which fails closed, could not be checked in Redis: code
// Unavailable, a RetryInfo of one second and an ErrorInfo with reason
// ReasonRateLimitBackendUnavailable and the kind of limit ("throttle" or
// "quota") in its "limit" metadata entry.
func LimitBackendUnavailable(limit string) error {
	st := status.New(codes.Unavailable, "the "+limit+" of this stage cannot be checked: the shared rate-limit store (Redis) is unavailable and the stage fails closed (redis_failure_mode FAIL_CLOSED); retry later")
	d, err := st.WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)},
		&errdetails.ErrorInfo{Reason: ReasonRateLimitBackendUnavailable, Domain: Domain, Metadata: map[string]string{"limit": limit}},
	)
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// New returns a status error with code, message and an ErrorInfo with
// reason (in Domain). Errors about backends never name the backend's
// address or the dial error: clients see the reason, the gateway's log the
// details.
func New(code codes.Code, reason, msg string) error {
	st := status.New(code, msg)
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// AnyReason returns the reason of the first google.rpc.ErrorInfo of err in
// any domain (the gateway's, or one a backend or authorizer chose), or "".
func AnyReason(err error) string {
	st, ok := status.FromError(err)
	if !ok || st.Proto().GetDetails() == nil {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// Reason returns the data-plane reason of err, or "" when err is not a
// data-plane error (for example a backend's own status).
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return info.GetReason()
		}
	}
	return ""
}

// HTTPStatus returns the HTTP status of a data-plane error, or 0 when the
// standard gRPC → HTTP mapping applies.
func HTTPStatus(err error) int {
	switch Reason(err) {
	case ReasonBackendUnavailable:
		return http.StatusBadGateway
	case ReasonBackendTimeout, ReasonStreamIdleTimeout, ReasonMaxStreamDuration:
		return http.StatusGatewayTimeout
	case ReasonUpstreamOverflow:
		return http.StatusServiceUnavailable
	}
	return 0
}

// RetryAfterSeconds returns the whole seconds (rounded up, at least 1) of an
// error's google.rpc.RetryInfo detail, for the HTTP Retry-After header of a
// throttled call.
func RetryAfterSeconds(err error) (int, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			delay := ri.GetRetryDelay().AsDuration()
			secs := int((delay + time.Second - 1) / time.Second)
			return max(secs, 1), true
		}
	}
	return 0, false
}

// HTTPStatusOf is the HTTP status of err: 502 or 504 for the gateway's own
// backend errors (HTTPStatus), otherwise the one of its gRPC code, as
// grpc-gateway maps them.
func HTTPStatusOf(err error) int {
	if code := HTTPStatus(err); code != 0 {
		return code
	}
	return runtime.HTTPStatusFromCode(status.Code(err))
}

// errorJSON writes every field of a status, details as [] when it has none,
// so that every error body of the data plane has the same shape.
var errorJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// WriteHTTP writes st as the data plane's HTTP error: a compact
// google.rpc.Status JSON body with every detail the status carries
// (ErrorInfo, RetryInfo, QuotaFailure, ...), Retry-After when it has a
// RetryInfo, and httpStatus. It is the one writer of HTTP errors, whatever
// the route kind. With WithResponses, a refusal whose type (ResponseType)
// the API customised gets that response instead.
func WriteHTTP(w http.ResponseWriter, httpStatus int, st *status.Status, opts ...WriteOption) {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if writeCustom(w, httpStatus, st, o) {
		return
	}
	if secs, ok := RetryAfterSeconds(st.Err()); ok {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeStatusBody(w, httpStatus, st)
}

// writeStatusBody writes st as a compact google.rpc.Status JSON body.
func writeStatusBody(w http.ResponseWriter, httpStatus int, st *status.Status) {
	b, err := errorJSON.Marshal(st.Proto())
	if err != nil {
		b = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(b, '\n'))
}

func itoa(n int) string { return strconv.Itoa(n) }
