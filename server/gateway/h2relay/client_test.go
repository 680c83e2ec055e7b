package h2relay_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/testkit"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// unavailableHandler relays every call to addr at the frame level, as
// frameHandler does, and reports a backend that could not be reached as
// UNAVAILABLE with the relay's error (as the gateway does).
func unavailableHandler(pool *h2relay.Pool, call h2relay.Call) h2relay.Handler {
	return func(st *h2relay.Stream) {
		_, err := h2relay.Relay(st.Context(), st, pool, call)
		if errors.Is(err, h2relay.ErrBackendUnavailable) {
			err = status.Error(codes.Unavailable, err.Error())
		}
		st.Finish(err)
	}
}

// countingDialer dials TCP and counts the attempts.
func countingDialer(n *atomic.Int64) h2relay.Dialer {
	var d net.Dialer
	return func(ctx context.Context, addr string) (net.Conn, error) {
		n.Add(1)
		return d.DialContext(ctx, "tcp", addr)
	}
}

// serveInterop starts grpc-go's interop server on addr, or skips the test
// if another process took the port meanwhile.
func serveInterop(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken in the meantime: %v", err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
}

func wantUnavailable(t *testing.T, err error, contains string) {
	t.Helper()
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("got %v, want UNAVAILABLE mentioning %q", err, contains)
	}
}

// TestPoolBackoff: a backend that is down is dialled once per backoff;
// calls in between fail at once without dialling; once the backend is up,
// the first call after the backoff (or, with WithWake, after the wake
// interval) is served.
func TestPoolBackoff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   backoff.Config
		wake  time.Duration
		pause time.Duration // after the backend starts: longer than the backoff or the wake
	}{
		{name: "backoff", cfg: backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, MaxDelay: time.Second}, pause: 1200 * time.Millisecond},
		{name: "wake", cfg: backoff.Config{BaseDelay: time.Hour, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Hour}, wake: 100 * time.Millisecond, pause: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := testkit.ClosedAddr(t)
			var dials atomic.Int64
			pool := h2relay.NewPool(countingDialer(&dials), 64<<10, h2relay.WithBackoff(tc.cfg), h2relay.WithWake(tc.wake))
			t.Cleanup(pool.Close)
			client := testgrpc.NewTestServiceClient(relayServer(t, unavailableHandler(pool, h2relay.Call{Addr: addr})))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			_, err := client.EmptyCall(ctx, &testpb.Empty{})
			wantUnavailable(t, err, "refused")
			if n := dials.Load(); n != 1 {
				t.Fatalf("%d dials after the first call, want 1", n)
			}
			// Right behind it, within the backoff (and the wake interval
			// when there is one: the calls follow each other at once,
			// which the test cannot promise, so it only checks the error
			// when no dial happened).
			for range 5 {
				before := dials.Load()
				_, err := client.EmptyCall(ctx, &testpb.Empty{})
				if dials.Load() == before {
					wantUnavailable(t, err, "backing off")
				} else {
					wantUnavailable(t, err, "refused")
				}
			}
			if n := dials.Load(); n > 3 {
				t.Errorf("%d dials for 6 calls in a row to a backend that is down, want the backoff to spare most", n)
			}

			serveInterop(t, addr)
			time.Sleep(tc.pause)
			if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
				t.Fatalf("first call after the backend came up and the backoff passed: %v", err)
			}
			if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
				t.Fatalf("second call: %v", err)
			}
		})
	}
}

// TestConnectTimeout: a listener that never accepts (the kernel completes
// the TCP handshake, but no SETTINGS ever come) fails the call after the
// call's ConnectTimeout, not the default's 5 s or the client's deadline.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	call := h2relay.Call{Addr: ln.Addr().String(), ConnectTimeout: 150 * time.Millisecond}
	client := testgrpc.NewTestServiceClient(relayServer(t, unavailableHandler(pool, call)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = client.EmptyCall(ctx, &testpb.Empty{})
	wantUnavailable(t, err, "connect timeout of 150ms")
	if ctx.Err() != nil {
		t.Fatalf("the call outlived the client's deadline")
	}
}
