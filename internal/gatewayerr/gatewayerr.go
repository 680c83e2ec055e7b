// Package gatewayerr defines the errors the data plane raises itself, as
// opposed to errors a backend returned, so that every protocol edge maps
// them the same way: a gRPC status with a google.rpc.ErrorInfo detail whose
// reason says what went wrong, and the HTTP status that REST clients get.
package gatewayerr

import (
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
)

// New returns a status error with code, message and an ErrorInfo with
// reason and the backend target in its metadata.
func New(code codes.Code, reason, target, msg string) error {
	st := status.New(code, msg)
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: map[string]string{"backend": target}})
	if err != nil {
		return st.Err()
	}
	return d.Err()
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
	case ReasonBackendTimeout:
		return http.StatusGatewayTimeout
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
