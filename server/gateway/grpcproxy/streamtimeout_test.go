package grpcproxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// ticker is an Echo backend for stream timeouts. EchoServerStream sends
// Repeat responses 100 ms apart, or, for the message "silent", sends
// nothing (not even headers) until the call ends. EchoBidiStream echoes
// each message as it comes.
type ticker struct {
	examplev1.UnimplementedEchoServiceServer
}

const tick = 100 * time.Millisecond

func (ticker) EchoServerStream(req *examplev1.EchoRequest, stream grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	if req.GetMessage() == "silent" {
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	for i := range req.GetRepeat() {
		if i > 0 {
			time.Sleep(tick)
		}
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage(), Index: i}); err != nil {
			return err
		}
	}
	return nil
}

func (ticker) EchoBidiStream(stream grpc.BidiStreamingServer[examplev1.EchoRequest, examplev1.EchoResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage()}); err != nil {
			return err
		}
	}
}

func startTicker(tb testing.TB) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening: %v", err)
	}
	srv := grpc.NewServer()
	examplev1.RegisterEchoServiceServer(srv, ticker{})
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// streamTo returns a Director that sends every call to target as a stream
// with the given timeouts.
func streamTo(target string, routeTimeout, idle, maxDuration time.Duration) grpcproxy.Director {
	return func(context.Context, string) (grpcproxy.Call, error) {
		return grpcproxy.Call{
			Backend: grpcproxy.Backend{Target: target}, Timeout: routeTimeout,
			Streaming: true, StreamIdleTimeout: idle, MaxStreamDuration: maxDuration,
		}, nil
	}
}

// wantReason fails unless err is DEADLINE_EXCEEDED with the gateway's reason.
func wantReason(tb testing.TB, err error, code codes.Code, reason string) {
	tb.Helper()
	st := wantCode(tb, err, code)
	if got := gatewayerr.Reason(err); got != reason {
		tb.Errorf("reason %q (message %q), want %q", got, st.Message(), reason)
	}
}

// Streams outlive the route timeout: a 1.5 s server stream and bidi stream
// through a route with a 300 ms timeout complete (issue 17).
func TestProxyStreamsOutliveRouteTimeout(t *testing.T) {
	t.Parallel()
	target := startTicker(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, streamTo(target, 300*time.Millisecond, time.Second, 0), gatewayConfig{}).addr))

	t.Run("server stream", func(t *testing.T) {
		t.Parallel()
		stream, err := c.EchoServerStream(testContext(t), &examplev1.EchoRequest{Message: "tick", Repeat: 16})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("after %d responses: %v", n, err)
			}
			n++
		}
		if n != 16 {
			t.Errorf("got %d responses, want 16", n)
		}
	})
	t.Run("bidi stream", func(t *testing.T) {
		t.Parallel()
		stream, err := c.EchoBidiStream(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 15 {
			if err := stream.Send(&examplev1.EchoRequest{Message: "m"}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatalf("recv %d: %v", i, err)
			}
			time.Sleep(tick)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("end of stream: %v, want EOF", err)
		}
	})
}

func TestProxyStreamTimeouts(t *testing.T) {
	t.Parallel()
	target := startTicker(t)
	tests := []struct {
		name                   string
		route, idle, maxStream time.Duration
		clientDeadline         time.Duration
		silentServer           bool // a server stream whose backend never answers
		wantReason             string
		wantMessage            string
	}{
		{name: "idle bidi stream", route: 300 * time.Millisecond, idle: 300 * time.Millisecond,
			wantReason: gatewayerr.ReasonStreamIdleTimeout, wantMessage: "stream idle timeout of 300ms"},
		{name: "no first response within the route timeout", route: 200 * time.Millisecond, idle: time.Minute, silentServer: true,
			wantReason: gatewayerr.ReasonBackendTimeout, wantMessage: "route timeout of 200ms"},
		{name: "max stream duration", route: 300 * time.Millisecond, idle: time.Minute, maxStream: 500 * time.Millisecond,
			wantReason: gatewayerr.ReasonMaxStreamDuration, wantMessage: "maximum stream duration of 500ms"},
		{name: "shorter client deadline wins", route: 300 * time.Millisecond, idle: time.Minute, clientDeadline: 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, streamTo(target, tt.route, tt.idle, tt.maxStream), gatewayConfig{}).addr))
			ctx := testContext(t)
			if tt.clientDeadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.clientDeadline)
				defer cancel()
			}
			var err error
			if tt.silentServer {
				var stream grpc.ServerStreamingClient[examplev1.EchoResponse]
				if stream, err = c.EchoServerStream(ctx, &examplev1.EchoRequest{Message: "silent"}); err == nil {
					_, err = stream.Recv()
				}
			} else {
				err = chatter(ctx, c)
			}
			if tt.wantReason == "" {
				st := wantCode(t, err, codes.DeadlineExceeded)
				if gatewayerr.Reason(err) != "" {
					t.Errorf("the gateway claimed the client's deadline: %q", st.Message())
				}
			} else {
				wantReason(t, err, codes.DeadlineExceeded, tt.wantReason)
				if msg := err.Error(); !strings.Contains(msg, tt.wantMessage) || strings.Contains(msg, target) {
					t.Errorf("message %q, want it to name %q and not the backend", msg, tt.wantMessage)
				}
			}
		})
	}
}

// chatter runs a bidi stream that exchanges one message every 100 ms for
// 600 ms, then falls silent with its side open, until the call ends.
func chatter(ctx context.Context, c examplev1.EchoServiceClient) error {
	stream, err := c.EchoBidiStream(ctx)
	if err != nil {
		return err
	}
	for range 6 {
		if err := stream.Send(&examplev1.EchoRequest{Message: "m"}); err != nil {
			break // the status comes from Recv
		}
		if _, err := stream.Recv(); err != nil {
			return err
		}
		time.Sleep(tick)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}
