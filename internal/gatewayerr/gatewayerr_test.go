package gatewayerr_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

func withRetry(d time.Duration) error {
	st, _ := status.New(codes.ResourceExhausted, "Too Many Requests").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	return st.Err()
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantHTTP   int
		wantRetry  int
	}{
		{"unavailable backend", gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "down"), gatewayerr.ReasonBackendUnavailable, http.StatusBadGateway, 0},
		{"route timeout", gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonBackendTimeout, "slow"), gatewayerr.ReasonBackendTimeout, http.StatusGatewayTimeout, 0},
		{"a backend's own status", status.Error(codes.Unavailable, "busy"), "", 0, 0},
		{"not a status", errors.New("plain"), "", 0, 0},
		{"retry rounded up", withRetry(1500 * time.Millisecond), "", 0, 2},
		{"retry at least one second", withRetry(time.Millisecond), "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatewayerr.Reason(tt.err); got != tt.wantReason {
				t.Errorf("Reason = %q, want %q", got, tt.wantReason)
			}
			if got := gatewayerr.HTTPStatus(tt.err); got != tt.wantHTTP {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.wantHTTP)
			}
			got, ok := gatewayerr.RetryAfterSeconds(tt.err)
			if got != tt.wantRetry || ok != (tt.wantRetry > 0) {
				t.Errorf("RetryAfterSeconds = %d, %v, want %d", got, ok, tt.wantRetry)
			}
		})
	}
}
