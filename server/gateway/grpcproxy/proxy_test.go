package grpcproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// The four kinds of gRPC call.
const (
	unary        = "unary"
	serverStream = "server stream"
	clientStream = "client stream"
	bidiStream   = "bidi stream"
)

// result is what a client saw of one call.
type result struct {
	header, trailer metadata.MD
	msgs            []*examplev1.EchoResponse
	err             error
}

// callKind makes one call of the given kind with the request messages msgs
// (for unary and server-stream calls, only msgs[0]; a server stream asks
// for 3 responses).
func callKind(ctx context.Context, c examplev1.EchoServiceClient, kind string, msgs []string) result {
	var r result
	switch kind {
	case unary:
		resp, err := c.Echo(ctx, &examplev1.EchoRequest{Message: msgs[0]}, grpc.Header(&r.header), grpc.Trailer(&r.trailer))
		if err == nil {
			r.msgs = append(r.msgs, resp)
		}
		r.err = err
	case serverStream:
		s, err := c.EchoServerStream(ctx, &examplev1.EchoRequest{Message: msgs[0], Repeat: 3})
		if err != nil {
			r.err = err
			return r
		}
		r.msgs, r.err = recvAll(s.Recv)
		r.header, _ = s.Header()
		r.trailer = s.Trailer()
	case clientStream:
		s, err := c.EchoClientStream(ctx)
		if err != nil {
			r.err = err
			return r
		}
		for _, m := range msgs {
			if err := s.Send(&examplev1.EchoRequest{Message: m}); err != nil {
				break // the status comes from CloseAndRecv
			}
		}
		resp, err := s.CloseAndRecv()
		if err == nil {
			r.msgs = append(r.msgs, resp)
		}
		r.err = err
		r.header, _ = s.Header()
		r.trailer = s.Trailer()
	case bidiStream:
		s, err := c.EchoBidiStream(ctx)
		if err != nil {
			r.err = err
			return r
		}
		for _, m := range msgs {
			if err := s.Send(&examplev1.EchoRequest{Message: m}); err != nil {
				break
			}
			resp, err := s.Recv()
			if err != nil {
				r.err = err
				break
			}
			r.msgs = append(r.msgs, resp)
		}
		if r.err == nil {
			_ = s.CloseSend()
			more, err := recvAll(s.Recv)
			r.msgs, r.err = append(r.msgs, more...), err
		}
		r.header, _ = s.Header()
		r.trailer = s.Trailer()
	}
	return r
}

func recvAll(recv func() (*examplev1.EchoResponse, error)) ([]*examplev1.EchoResponse, error) {
	var msgs []*examplev1.EchoResponse
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return msgs, nil
		}
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

// echoKeys keeps the "x-echo-" keys of md, the ones the backend sets.
func echoKeys(md metadata.MD) metadata.MD {
	out := metadata.MD{}
	for k, v := range md {
		if strings.HasPrefix(k, "x-echo-") {
			out[k] = v
		}
	}
	return out
}

func requestedFailure(t *testing.T, code codes.Code) *status.Status {
	t.Helper()
	st, err := status.New(code, examplebackend.FailureMessage).WithDetails(&errdetails.ErrorInfo{
		Reason: examplebackend.FailureReason,
		Domain: examplebackend.FailureDomain,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestProxyCallKinds(t *testing.T) {
	t.Parallel()
	client, _, _ := echoVia(t, gatewayConfig{})
	resp := func(msg string, index int32) *examplev1.EchoResponse {
		return &examplev1.EchoResponse{Message: msg, Index: index}
	}
	tests := []struct {
		kind     string
		msgs     []string
		want     []*examplev1.EchoResponse
		wantCode codes.Code
	}{
		{kind: unary, msgs: []string{"hello"}, want: []*examplev1.EchoResponse{resp("hello", 0)}},
		{kind: serverStream, msgs: []string{"hello"}, want: []*examplev1.EchoResponse{resp("hello", 0), resp("hello", 1), resp("hello", 2)}},
		{kind: clientStream, msgs: []string{"a", "b", "c"}, want: []*examplev1.EchoResponse{resp("abc", 3)}},
		{kind: bidiStream, msgs: []string{"a", "b", "c"}, want: []*examplev1.EchoResponse{resp("a", 0), resp("b", 1), resp("c", 2)}},
		{kind: unary, msgs: []string{"fail:NOT_FOUND"}, wantCode: codes.NotFound},
		{kind: serverStream, msgs: []string{"fail:PERMISSION_DENIED"}, wantCode: codes.PermissionDenied},
		{kind: clientStream, msgs: []string{"a", "fail:FAILED_PRECONDITION"}, wantCode: codes.FailedPrecondition},
		{kind: bidiStream, msgs: []string{"a", "fail:ABORTED"}, want: []*examplev1.EchoResponse{resp("a", 0)}, wantCode: codes.Aborted},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.wantCode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := metadata.AppendToOutgoingContext(testContext(t), "x-echo-one", "1", "x-echo-two", "a", "x-echo-two", "b")
			got := callKind(ctx, client, tt.kind, tt.msgs)

			if tt.wantCode == codes.OK {
				if got.err != nil {
					t.Fatalf("call failed: %v", got.err)
				}
			} else {
				st, ok := status.FromError(got.err)
				if !ok {
					t.Fatalf("got error %v, want a status", got.err)
				}
				// The status passes verbatim: code, message and the
				// ErrorInfo detail.
				if diff := cmp.Diff(requestedFailure(t, tt.wantCode).Proto(), st.Proto(), protocmp.Transform()); diff != "" {
					t.Errorf("status mismatch (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.want, got.msgs, protocmp.Transform()); diff != "" {
				t.Errorf("responses mismatch (-want +got):\n%s", diff)
			}
			wantHeader := metadata.MD{"x-echo-one": {"1"}, "x-echo-two": {"a", "b"}}
			if diff := cmp.Diff(wantHeader, echoKeys(got.header)); diff != "" {
				t.Errorf("headers mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"done"}, got.trailer.Get("x-echo-trailer")); diff != "" {
				t.Errorf("trailer mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProxyHeadersBeforeMessages checks that headers a backend sends before
// its first message reach the client at once, not with the first message.
func TestProxyHeadersBeforeMessages(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(rec.addr, 0), gatewayConfig{}).addr))
	s, err := c.EchoBidiStream(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	// The backend sends its headers on entry, while the client has sent
	// nothing.
	md, err := s.Header()
	if err != nil {
		t.Fatalf("Header: %v", err)
	}
	if diff := cmp.Diff([]string{"yes"}, md.Get("x-early")); diff != "" {
		t.Errorf("header x-early mismatch (-want +got):\n%s", diff)
	}
	if err := s.Send(&examplev1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	msgs, err := recvAll(s.Recv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*examplev1.EchoResponse{{Message: "hi"}}, msgs, protocmp.Transform()); diff != "" {
		t.Errorf("responses mismatch (-want +got):\n%s", diff)
	}
}

func TestProxyErrors(t *testing.T) {
	t.Parallel()
	be := startBackend(t)
	unknown := status.Error(codes.Unimplemented, "no route for /tollgate.example.v1.BookstoreService/ListShelves")
	director := func(_ context.Context, method string) (grpcproxy.Call, error) {
		if strings.HasPrefix(method, "/tollgate.example.v1.BookstoreService/") {
			return grpcproxy.Call{}, unknown
		}
		return grpcproxy.Call{Backend: grpcproxy.Backend{Target: be.Addr()}}, nil
	}
	cc := dial(t, startGateway(t, director, gatewayConfig{}).addr)

	t.Run("director error returned as is", func(t *testing.T) {
		_, err := examplev1.NewBookstoreServiceClient(cc).ListShelves(testContext(t), &examplev1.ListShelvesRequest{})
		if diff := cmp.Diff(status.Convert(unknown).Proto(), status.Convert(err).Proto(), protocmp.Transform()); diff != "" {
			t.Errorf("status mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("backend panic is INTERNAL and the proxy keeps serving", func(t *testing.T) {
		c := examplev1.NewEchoServiceClient(cc)
		_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "panic"})
		wantCode(t, err, codes.Internal)
		if _, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "still here"}); err != nil {
			t.Fatalf("call after the panic: %v", err)
		}
	})
	t.Run("backend status with a number code", func(t *testing.T) {
		_, err := examplev1.NewEchoServiceClient(cc).Echo(testContext(t), &examplev1.EchoRequest{Message: "fail:14"})
		// A backend's own UNAVAILABLE passes verbatim, unlike the
		// gateway's "backend ... is unavailable".
		st := wantCode(t, err, codes.Unavailable)
		if st.Message() != examplebackend.FailureMessage || len(st.Details()) != 1 {
			t.Errorf("got %v with details %v, want the backend's status", st.Message(), st.Details())
		}
	})
}

func TestProxyBackendDown(t *testing.T) {
	t.Parallel()
	target := closedPort(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(target, 0), gatewayConfig{}).addr))
	for _, kind := range []string{unary, serverStream, clientStream, bidiStream} {
		t.Run(kind, func(t *testing.T) {
			got := callKind(testContext(t), c, kind, []string{"hello"})
			st := wantCode(t, got.err, codes.Unavailable)
			if want := "the backend is unavailable"; st.Message() != want || strings.Contains(st.Message(), target) {
				t.Errorf("message %q, want %q without the backend address", st.Message(), want)
			}
		})
	}
}

func TestProxyDeadlines(t *testing.T) {
	t.Parallel()
	be := startBackend(t)

	t.Run("route timeout", func(t *testing.T) {
		t.Parallel()
		c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(be.Addr(), 100*time.Millisecond), gatewayConfig{}).addr))
		for _, kind := range []string{unary, serverStream, clientStream, bidiStream} {
			// The backend would answer after 5 s: DEADLINE_EXCEEDED naming
			// the route timeout shows the gateway ended the call first.
			got := callKind(testContext(t), c, kind, []string{"sleep:5s"})
			st := wantCode(t, got.err, codes.DeadlineExceeded)
			if !strings.Contains(st.Message(), "route timeout of 100ms") || strings.Contains(st.Message(), be.Addr()) {
				t.Errorf("%s: message %q, want it to name the route timeout, not the backend", kind, st.Message())
			}
		}
	})
	t.Run("client deadline shorter than the route timeout", func(t *testing.T) {
		t.Parallel()
		c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(be.Addr(), time.Minute), gatewayConfig{}).addr))
		ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
		defer cancel()
		_, err := c.Echo(ctx, &examplev1.EchoRequest{Message: "sleep:5s"})
		st := wantCode(t, err, codes.DeadlineExceeded)
		if strings.Contains(st.Message(), "route timeout") {
			t.Errorf("message %q blames the route timeout, but the client's deadline ended the call", st.Message())
		}
	})

	rec := startRecorder(t)
	tests := []struct {
		name         string
		routeTimeout time.Duration
		clientTO     time.Duration
		wantDeadline bool
		wantWithin   time.Duration
	}{
		{name: "no deadline", wantDeadline: false},
		{name: "client deadline propagates", clientTO: 30 * time.Second, wantDeadline: true, wantWithin: 30 * time.Second},
		{name: "route timeout caps the client deadline", routeTimeout: 2 * time.Second, clientTO: time.Minute, wantDeadline: true, wantWithin: 2 * time.Second},
		{name: "route timeout without a client deadline", routeTimeout: 3 * time.Second, wantDeadline: true, wantWithin: 3 * time.Second},
		{name: "earlier client deadline wins", routeTimeout: time.Minute, clientTO: 4 * time.Second, wantDeadline: true, wantWithin: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(rec.addr, tt.routeTimeout), gatewayConfig{}).addr))
			ctx := context.Background()
			if tt.clientTO > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.clientTO)
				defer cancel()
			}
			start := time.Now()
			if _, err := c.Echo(ctx, &examplev1.EchoRequest{Message: "hi"}); err != nil {
				t.Fatal(err)
			}
			_, dl, ok := rec.seen()
			if ok != tt.wantDeadline {
				t.Fatalf("backend saw a deadline: %v, want %v", ok, tt.wantDeadline)
			}
			// The backend computes its deadline from grpc-timeout on
			// receipt, a little later than the call started.
			const slack = 500 * time.Millisecond
			if ok && (dl.Before(start) || dl.After(start.Add(tt.wantWithin+slack))) {
				t.Errorf("backend deadline %v after the call started, want about %v", dl.Sub(start), tt.wantWithin)
			}
		})
	}
}

func TestProxyClientCancelCancelsBackend(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(rec.addr, 0), gatewayConfig{}).addr))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Echo(ctx, &examplev1.EchoRequest{Message: "block"})
		errc <- err
	}()
	select {
	case <-rec.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend never got the call")
	}
	cancel()
	select {
	case err := <-rec.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("backend context ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend call was not cancelled")
	}
	wantCode(t, <-errc, codes.Canceled)
}

func TestProxyMetadataReachesBackend(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	cc := dial(t, startGateway(t, to(rec.addr, 0), gatewayConfig{}).addr, grpc.WithUserAgent("client/1.0"))
	ctx := metadata.AppendToOutgoingContext(testContext(t),
		"authorization", "Bearer abc",
		"x-request-id", "r1",
		"x-tollgate-api-key-id", "forged",
		"trace-bin", string([]byte{0, 1, 2}),
	)
	if _, err := examplev1.NewEchoServiceClient(cc).Echo(ctx, &examplev1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	md, _, _ := rec.seen()
	for k, want := range map[string][]string{
		"authorization": {"Bearer abc"},
		"x-request-id":  {"r1"},
		"trace-bin":     {string([]byte{0, 1, 2})},
		"content-type":  {"application/grpc+proto"},
	} {
		if diff := cmp.Diff(want, md.Get(k)); diff != "" {
			t.Errorf("backend metadata %q mismatch (-want +got):\n%s", k, diff)
		}
	}
	if got := md.Get("x-tollgate-api-key-id"); got != nil {
		t.Errorf("backend got gateway-internal metadata x-tollgate-api-key-id = %q", got)
	}
	for _, ua := range md.Get("user-agent") {
		if strings.Contains(ua, "client/1.0") {
			t.Errorf("backend got the client's user-agent %q", ua)
		}
	}
}

// TestProxyContentSubtype checks that a non-proto payload keeps its
// content-type: the proxy relays bytes it never decodes.
func TestProxyContentSubtype(t *testing.T) {
	t.Parallel()
	// A raw backend, itself built on the codec: it records the content-type
	// and echoes each frame.
	gotCT := make(chan []string, 1)
	raw := func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		gotCT <- md.Get("content-type")
		var f grpcproxy.Frame
		defer f.Free()
		if err := ss.RecvMsg(&f); err != nil {
			return err
		}
		return ss.SendMsg(&f)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(grpcproxy.Codec()), grpc.UnknownServiceHandler(raw))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc := dial(t, startGateway(t, to(lis.Addr().String(), 0), gatewayConfig{}).addr)
	tests := []struct {
		name    string
		subtype string
		want    string
	}{
		{name: "default", subtype: "", want: "application/grpc+proto"},
		{name: "proto", subtype: "proto", want: "application/grpc+proto"},
		{name: "json", subtype: "json", want: "application/grpc+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"message":"hi"}`)
			opts := []grpc.CallOption{grpc.ForceCodecV2(grpcproxy.Codec())}
			if tt.subtype != "" {
				opts = append(opts, grpc.CallContentSubtype(tt.subtype))
			}
			var out grpcproxy.Frame
			defer out.Free()
			if err := cc.Invoke(testContext(t), "/any.Service/Method", grpcproxy.NewFrame(body), &out, opts...); err != nil {
				t.Fatal(err)
			}
			if got := out.Bytes(); !bytes.Equal(got, body) {
				t.Errorf("response %q, want %q", got, body)
			}
			if diff := cmp.Diff([]string{tt.want}, <-gotCT); diff != "" {
				t.Errorf("backend content-type mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProxyMessageSizes(t *testing.T) {
	t.Parallel()
	client, _, _ := echoVia(t, gatewayConfig{})
	big := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

	t.Run("3 MiB passes", func(t *testing.T) {
		payload := big(3 << 20)
		resp, err := client.Echo(testContext(t), &examplev1.EchoRequest{Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.GetPayload(), payload) {
			t.Errorf("payload of %d bytes came back as %d bytes", len(payload), len(resp.GetPayload()))
		}
	})
	t.Run("5 MiB request fails", func(t *testing.T) {
		_, err := client.Echo(testContext(t), &examplev1.EchoRequest{Payload: big(5 << 20)})
		wantCode(t, err, codes.ResourceExhausted)
	})
	t.Run("6 MiB response fails in the pool", func(t *testing.T) {
		// Two 3 MiB requests pass; the concatenated response exceeds the
		// Pool's default receive limit.
		s, err := client.EchoClientStream(testContext(t), grpc.MaxCallRecvMsgSize(64<<20))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Send(&examplev1.EchoRequest{Payload: big(3 << 20)}); err != nil {
				break
			}
		}
		_, err = s.CloseAndRecv()
		st := wantCode(t, err, codes.ResourceExhausted)
		if !strings.Contains(st.Message(), "larger than max") {
			t.Errorf("message %q, want grpc's size error", st.Message())
		}
	})
	t.Run("request over the pool's send limit fails", func(t *testing.T) {
		client, _, _ := echoVia(t, gatewayConfig{
			poolOpts:   []grpcproxy.PoolOption{grpcproxy.WithMaxRecvMsgSize(1 << 20)},
			serverOpts: []grpc.ServerOption{grpc.MaxRecvMsgSize(16 << 20)},
		})
		for _, kind := range []string{unary, bidiStream} {
			for range 20 {
				var err error
				if kind == unary {
					_, err = client.Echo(testContext(t), &examplev1.EchoRequest{Payload: big(2 << 20)})
				} else {
					s, serr := client.EchoBidiStream(testContext(t))
					if serr != nil {
						t.Fatal(serr)
					}
					_ = s.Send(&examplev1.EchoRequest{Payload: big(2 << 20)})
					_, err = s.Recv()
				}
				st := wantCode(t, err, codes.ResourceExhausted)
				if !strings.Contains(st.Message(), "larger than max") {
					t.Errorf("%s: message %q, want grpc's size error", kind, st.Message())
				}
			}
		}
	})
	t.Run("WithMaxRecvMsgSize raises the limit", func(t *testing.T) {
		client, _, _ := echoVia(t, gatewayConfig{
			poolOpts:   []grpcproxy.PoolOption{grpcproxy.WithMaxRecvMsgSize(16 << 20)},
			serverOpts: []grpc.ServerOption{grpc.MaxRecvMsgSize(16 << 20)},
		})
		s, err := client.EchoClientStream(testContext(t), grpc.MaxCallRecvMsgSize(16<<20))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Send(&examplev1.EchoRequest{Payload: big(3 << 20)}); err != nil {
				break
			}
		}
		resp, err := s.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(resp.GetPayload()); got != 6<<20 {
			t.Errorf("payload of %d bytes, want %d", got, 6<<20)
		}
	})
}

// TestProxyNoGoroutineLeak runs calls that succeed, fail on either side, or
// are cancelled, and checks that the proxy's goroutines all end. It is not
// parallel, so that other tests do not change the count.
func TestProxyNoGoroutineLeak(t *testing.T) {
	be := startBackend(t)
	gw := startGateway(t, to(be.Addr(), 200*time.Millisecond), gatewayConfig{})
	c := examplev1.NewEchoServiceClient(dial(t, gw.addr))
	kinds := []string{unary, serverStream, clientStream, bidiStream}
	// Warm up, so that connections and their goroutines exist before the
	// count.
	for _, kind := range kinds {
		if r := callKind(testContext(t), c, kind, []string{"warm"}); r.err != nil {
			t.Fatal(r.err)
		}
	}
	before := runtime.NumGoroutine()

	for range 5 {
		for _, kind := range kinds {
			for _, msgs := range [][]string{{"ok"}, {"fail:NOT_FOUND"}, {"panic"}, {"sleep:5s"}} {
				_ = callKind(testContext(t), c, kind, msgs)
			}
			// The client cancels mid-call.
			ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
			_ = callKind(ctx, c, kind, []string{"sleep:5s"})
			cancel()
		}
		// The backend fails while the client keeps its side open.
		ctx, cancel := context.WithCancel(testContext(t))
		s, err := c.EchoBidiStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Send(&examplev1.EchoRequest{Message: "fail:INTERNAL"})
		_, err = s.Recv()
		wantCode(t, err, codes.Internal)
		cancel()
	}

	deadline := time.Now().Add(5 * time.Second)
	after := runtime.NumGoroutine()
	for after > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestWithLogger(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	target := closedPort(t)
	pool := grpcproxy.NewPool(grpcproxy.WithLogger(logger))
	t.Cleanup(func() { _ = pool.Close() })
	proxy := grpcproxy.New(pool, to(target, 0), grpcproxy.WithLogger(logger))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(grpcproxy.Codec()), grpc.UnknownServiceHandler(proxy.Handler()))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	_, err = examplev1.NewEchoServiceClient(dial(t, lis.Addr().String())).Echo(testContext(t), &examplev1.EchoRequest{})
	wantCode(t, err, codes.Unavailable)
	logged := buf.String()
	for _, want := range []string{"made a backend connection", "backend unavailable", "target=" + target} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
	// A nil logger discards.
	_ = grpcproxy.New(pool, to(target, 0), grpcproxy.WithLogger(nil))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestProxyRelayedSingleRequest runs unary and server-streaming calls
// without Call.SingleRequest (a method without descriptor), so that their
// request goes through the relay goroutine as a streaming call's does.
func TestProxyRelayedSingleRequest(t *testing.T) {
	t.Parallel()
	// The other tests' director does mark them.
	if !singleRequest("/tollgate.example.v1.EchoService/Echo") || !singleRequest("/tollgate.example.v1.EchoService/EchoServerStream") || singleRequest("/tollgate.example.v1.EchoService/EchoClientStream") {
		t.Fatal("singleRequest misreads the echo service's methods")
	}
	be := startBackend(t)
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, toRelayed(be.Addr(), 200*time.Millisecond), gatewayConfig{}).addr))
	got := callKind(testContext(t), c, unary, []string{"hello"})
	if got.err != nil || len(got.msgs) != 1 || got.msgs[0].GetMessage() != "hello" {
		t.Errorf("unary: got %v, %v", got.msgs, got.err)
	}
	got = callKind(testContext(t), c, serverStream, []string{"hello"})
	if got.err != nil || len(got.msgs) != 3 {
		t.Errorf("server stream: got %d messages, %v", len(got.msgs), got.err)
	}
	got = callKind(testContext(t), c, unary, []string{"fail:NOT_FOUND"})
	wantCode(t, got.err, codes.NotFound)
	got = callKind(testContext(t), c, serverStream, []string{"sleep:5s"})
	wantCode(t, got.err, codes.DeadlineExceeded)
}
