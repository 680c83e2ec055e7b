package grpcproxy

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// A backend that ends the call at the deadline the gateway gave it, before
// the gateway's own timer has set the context's cause, still gets the
// client the gateway's reason: the clock decides (the flake of
// TestProxyStreamTimeouts/max_stream_duration). The context here never
// ends, as the gateway's is at that moment.
func TestBackendErrorAtTheGatewayDeadline(t *testing.T) {
	p := &Proxy{logger: discardLogger}
	past, future := time.Now().Add(-time.Millisecond), time.Now().Add(time.Hour)
	rst := status.Error(codes.DeadlineExceeded, "stream terminated by RST_STREAM with error code: CANCEL")
	backendDeadline := status.Error(codes.DeadlineExceeded, "context deadline exceeded")
	for _, tt := range []struct {
		name     string
		deadline gatewayDeadline
		err      error
		want     string // the reason; "" for the backend's status as it sent it
	}{
		{"max stream duration, RST_STREAM", gatewayDeadline{past, errMaxStreamDuration}, rst, gatewayerr.ReasonMaxStreamDuration},
		{"max stream duration, backend status", gatewayDeadline{past, errMaxStreamDuration}, backendDeadline, gatewayerr.ReasonMaxStreamDuration},
		{"route timeout", gatewayDeadline{past, errRouteTimeout}, backendDeadline, gatewayerr.ReasonBackendTimeout},
		{"gateway deadline not reached", gatewayDeadline{future, errMaxStreamDuration}, backendDeadline, ""},
		{"the client's deadline, not the gateway's", gatewayDeadline{}, backendDeadline, ""},
		{"another status past the deadline", gatewayDeadline{past, errMaxStreamDuration}, status.Error(codes.NotFound, "no"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := p.backendError(context.Background(), "/m", Call{MaxStreamDuration: time.Second, Timeout: time.Second}, tt.deadline, tt.err, false)
			if r := gatewayerr.Reason(got); r != tt.want {
				t.Errorf("reason %q (%v), want %q", r, got, tt.want)
			}
			if tt.want == "" && got != tt.err {
				t.Errorf("got %v, want the backend's status %v", got, tt.err)
			}
		})
	}
}
