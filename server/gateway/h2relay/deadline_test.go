package h2relay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// deafBackend starts a cleartext HTTP/2 backend that never answers a
// call and ignores its grpc-timeout: only the caller's reset ends it. It
// reports each call's grpc-timeout on the channel it returns, and that
// the call was reset on the other.
func deafBackend(t *testing.T) (addr string, timeouts <-chan string, reset <-chan struct{}) {
	t.Helper()
	tc, rc := make(chan string, 8), make(chan struct{}, 8)
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tc <- r.Header.Get("grpc-timeout")
		<-r.Context().Done()
		rc <- struct{}{}
	}))
	srv.Config.Protocols = &protocols
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), tc, rc
}

// TestRelayDeadline: a call's own deadline (Call.Deadline, the route
// timeout) ends it with DEADLINE_EXCEEDED when the backend does not
// answer in time, and resets the backend's stream; the backend gets the
// earlier of the call's and the client's deadlines as grpc-timeout.
func TestRelayDeadline(t *testing.T) {
	addr, timeouts, reset := deafBackend(t)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	tests := []struct {
		name        string
		own, client time.Duration // zero: none
		wantAtMost  time.Duration // the grpc-timeout the backend gets
	}{
		{name: "call's deadline", own: 150 * time.Millisecond, wantAtMost: 150 * time.Millisecond},
		{name: "client's deadline first", own: time.Hour, client: 150 * time.Millisecond, wantAtMost: 150 * time.Millisecond},
		{name: "call's deadline first", own: 150 * time.Millisecond, client: time.Hour, wantAtMost: 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var own time.Time
			conn := relayServer(t, func(st *h2relay.Stream) {
				if tt.own > 0 {
					own = time.Now().Add(tt.own)
				}
				_, err := h2relay.Relay(st.Context(), st, pool, h2relay.Call{Addr: addr, Deadline: own})
				st.Finish(err)
			})
			ctx := context.Background()
			if tt.client > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.client)
				defer cancel()
			}
			_, err := testgrpc.NewTestServiceClient(conn).EmptyCall(ctx, &testpb.Empty{})
			if status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("call: %v, want DEADLINE_EXCEEDED", err)
			}
			got, ok := h2relay.ParseTimeout(<-timeouts)
			if !ok || got <= 0 || got > tt.wantAtMost {
				t.Errorf("the backend got grpc-timeout %v, want at most %v", got, tt.wantAtMost)
			}
			<-reset // the relay reset the backend's stream
		})
	}
}
