package examplebackend_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// checkRequestedFailure fails the test unless err is a "fail:<code>" error
// with code want.
func checkRequestedFailure(t *testing.T, err error, want codes.Code) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != want || st.Message() != examplebackend.FailureMessage {
		t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), want, examplebackend.FailureMessage)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != "REQUESTED_FAILURE" || info.GetDomain() != "example.tollgate.dev" {
				t.Errorf("ErrorInfo = %v, want reason REQUESTED_FAILURE domain example.tollgate.dev", info)
			}
			return
		}
	}
	t.Errorf("no ErrorInfo detail in %v", st.Details())
}

// checkEchoMetadata fails the test unless header has the x-echo-* keys of
// the request and trailer has x-echo-trailer: done.
func checkEchoMetadata(t *testing.T, header, trailer metadata.MD) {
	t.Helper()
	if got := header.Get("x-echo-color"); !slices.Equal(got, []string{"red", "green"}) {
		t.Errorf("header x-echo-color = %q, want [red green]", got)
	}
	if got := header.Get("x-other"); got != nil {
		t.Errorf("header x-other = %q, want it not echoed", got)
	}
	if got := trailer.Get("x-echo-trailer"); !slices.Equal(got, []string{"done"}) {
		t.Errorf("trailer x-echo-trailer = %q, want [done]", got)
	}
}

func echoContext(t *testing.T) context.Context {
	return metadata.AppendToOutgoingContext(testContext(t), "x-echo-color", "red", "x-echo-color", "green", "x-other", "no")
}

func TestEcho(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	tests := []struct {
		name        string
		req         *examplev1.EchoRequest
		timeout     time.Duration
		wantCode    codes.Code
		wantFailure bool // a "fail:<code>" error
		wantField   string
		minDuration time.Duration
	}{
		{name: "message and payload", req: &examplev1.EchoRequest{Message: "hello", Payload: []byte{0, 1, 2, 255}}},
		{name: "empty", req: &examplev1.EchoRequest{}},
		{name: "fail by name", req: &examplev1.EchoRequest{Message: "fail:NOT_FOUND"}, wantCode: codes.NotFound, wantFailure: true},
		{name: "fail by lower-case name", req: &examplev1.EchoRequest{Message: "fail:unavailable"}, wantCode: codes.Unavailable, wantFailure: true},
		{name: "fail by number", req: &examplev1.EchoRequest{Message: "fail:5"}, wantCode: codes.NotFound, wantFailure: true},
		{name: "fail with CANCELLED", req: &examplev1.EchoRequest{Message: "fail:CANCELLED"}, wantCode: codes.Canceled, wantFailure: true},
		{name: "fail with unknown name", req: &examplev1.EchoRequest{Message: "fail:NOPE"}, wantCode: codes.InvalidArgument, wantField: "message"},
		{name: "fail with OK", req: &examplev1.EchoRequest{Message: "fail:OK"}, wantCode: codes.InvalidArgument, wantField: "message"},
		{name: "fail with 17", req: &examplev1.EchoRequest{Message: "fail:17"}, wantCode: codes.InvalidArgument, wantField: "message"},
		{name: "not quite fail", req: &examplev1.EchoRequest{Message: " fail:5"}},
		{name: "sleep", req: &examplev1.EchoRequest{Message: "sleep:50ms"}, minDuration: 50 * time.Millisecond},
		{name: "sleep past deadline", req: &examplev1.EchoRequest{Message: "sleep:1m"}, timeout: 100 * time.Millisecond, wantCode: codes.DeadlineExceeded},
		{name: "sleep with bad duration", req: &examplev1.EchoRequest{Message: "sleep:soon"}, wantCode: codes.InvalidArgument, wantField: "message"},
		{name: "sleep with negative duration", req: &examplev1.EchoRequest{Message: "sleep:-1s"}, wantCode: codes.InvalidArgument, wantField: "message"},
		{name: "panic", req: &examplev1.EchoRequest{Message: "panic"}, wantCode: codes.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := echoContext(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			var header, trailer metadata.MD
			began := time.Now()
			resp, err := ec.Echo(ctx, tc.req, grpc.Header(&header), grpc.Trailer(&trailer))
			if tc.wantFailure {
				checkRequestedFailure(t, err, tc.wantCode)
			} else {
				checkStatus(t, err, tc.wantCode, tc.wantField)
			}
			if tc.wantCode != codes.DeadlineExceeded { // the client gives up before any metadata arrives
				checkEchoMetadata(t, header, trailer)
			}
			if err != nil {
				return
			}
			if resp.GetMessage() != tc.req.GetMessage() || !bytes.Equal(resp.GetPayload(), tc.req.GetPayload()) || resp.GetIndex() != 0 {
				t.Errorf("Echo = %v, want message %q payload %x index 0", resp, tc.req.GetMessage(), tc.req.GetPayload())
			}
			if d := time.Since(began); d < tc.minDuration {
				t.Errorf("Echo took %v, want at least %v", d, tc.minDuration)
			}
		})
	}
}

// TestEchoSleepCancel checks that a sleeping call ends when the client
// cancels it.
func TestEchoSleepCancel(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	ctx, cancel := context.WithCancel(testContext(t))
	time.AfterFunc(50*time.Millisecond, cancel)
	began := time.Now()
	_, err := ec.Echo(ctx, &examplev1.EchoRequest{Message: "sleep:1m"})
	checkStatus(t, err, codes.Canceled, "")
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("cancelled sleep took %v", d)
	}
}

// TestEchoPanicKeepsServing checks that Start's recovery turns a panic into
// INTERNAL in every kind of call and that the server goes on serving.
func TestEchoPanicKeepsServing(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	ctx := testContext(t)

	_, err := ec.Echo(ctx, &examplev1.EchoRequest{Message: "panic"})
	checkStatus(t, err, codes.Internal, "")

	ss, err := ec.EchoServerStream(ctx, &examplev1.EchoRequest{Message: "panic"})
	if err != nil {
		t.Fatalf("EchoServerStream: %v", err)
	}
	_, err = ss.Recv()
	checkStatus(t, err, codes.Internal, "")

	bidi, err := ec.EchoBidiStream(ctx)
	if err != nil {
		t.Fatalf("EchoBidiStream: %v", err)
	}
	if err := bidi.Send(&examplev1.EchoRequest{Message: "panic"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, err = bidi.Recv()
	checkStatus(t, err, codes.Internal, "")

	resp, err := ec.Echo(ctx, &examplev1.EchoRequest{Message: "still here"})
	if err != nil || resp.GetMessage() != "still here" {
		t.Fatalf("Echo after panics = %v, %v", resp, err)
	}
}

func TestEchoServerStream(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	tests := []struct {
		name        string
		req         *examplev1.EchoRequest
		wantN       int
		wantCode    codes.Code
		wantFailure bool
		wantField   string
	}{
		{name: "default repeat", req: &examplev1.EchoRequest{Message: "once", Payload: []byte("p")}, wantN: 1},
		{name: "repeat 3", req: &examplev1.EchoRequest{Message: "thrice", Repeat: 3}, wantN: 3},
		{name: "repeat max", req: &examplev1.EchoRequest{Message: "many", Repeat: 10000}, wantN: 10000},
		{name: "repeat too many", req: &examplev1.EchoRequest{Message: "x", Repeat: 10001}, wantCode: codes.InvalidArgument, wantField: "repeat"},
		{name: "repeat negative", req: &examplev1.EchoRequest{Message: "x", Repeat: -1}, wantCode: codes.InvalidArgument, wantField: "repeat"},
		{name: "fail", req: &examplev1.EchoRequest{Message: "fail:PERMISSION_DENIED", Repeat: 3}, wantCode: codes.PermissionDenied, wantFailure: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := ec.EchoServerStream(echoContext(t), tc.req)
			if err != nil {
				t.Fatalf("EchoServerStream: %v", err)
			}
			var got []*examplev1.EchoResponse
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					err = nil
				}
				if err != nil || resp == nil {
					if tc.wantFailure {
						checkRequestedFailure(t, err, tc.wantCode)
					} else {
						checkStatus(t, err, tc.wantCode, tc.wantField)
					}
					break
				}
				got = append(got, resp)
			}
			header, err := stream.Header()
			if err != nil {
				t.Fatalf("Header: %v", err)
			}
			checkEchoMetadata(t, header, stream.Trailer())
			if len(got) != tc.wantN {
				t.Fatalf("got %d responses, want %d", len(got), tc.wantN)
			}
			for i, resp := range got {
				if resp.GetIndex() != int32(i) || resp.GetMessage() != tc.req.GetMessage() || !bytes.Equal(resp.GetPayload(), tc.req.GetPayload()) {
					t.Fatalf("response %d = %v", i, resp)
				}
			}
		})
	}
}

// TestEchoServerStreamCancel checks that a long stream stops when the client
// cancels it.
func TestEchoServerStreamCancel(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	ctx, cancel := context.WithCancel(testContext(t))
	stream, err := ec.EchoServerStream(ctx, &examplev1.EchoRequest{Message: "x", Payload: make([]byte, 64<<10), Repeat: 10000})
	if err != nil {
		t.Fatalf("EchoServerStream: %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	cancel()
	n := 1
	for {
		_, err := stream.Recv()
		if err != nil {
			checkStatus(t, err, codes.Canceled, "")
			break
		}
		n++
	}
	if n == 10000 {
		t.Errorf("received all %d responses despite cancelling", n)
	}
}

func TestEchoClientStream(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	tests := []struct {
		name        string
		reqs        []*examplev1.EchoRequest
		want        *examplev1.EchoResponse
		wantCode    codes.Code
		wantFailure bool
	}{
		{name: "none", want: &examplev1.EchoResponse{}},
		{
			name: "three",
			reqs: []*examplev1.EchoRequest{{Message: "a", Payload: []byte{1}}, {Message: "bc"}, {Message: "d", Payload: []byte{2, 3}}},
			want: &examplev1.EchoResponse{Message: "abcd", Payload: []byte{1, 2, 3}, Index: 3},
		},
		{
			name:        "fail in the middle",
			reqs:        []*examplev1.EchoRequest{{Message: "a"}, {Message: "fail:ABORTED"}, {Message: "c"}},
			wantCode:    codes.Aborted,
			wantFailure: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := ec.EchoClientStream(echoContext(t))
			if err != nil {
				t.Fatalf("EchoClientStream: %v", err)
			}
			for _, req := range tc.reqs {
				if err := stream.Send(req); err != nil {
					break // the server ended the call; CloseAndRecv has the status
				}
			}
			resp, err := stream.CloseAndRecv()
			if tc.wantFailure {
				checkRequestedFailure(t, err, tc.wantCode)
			} else {
				checkStatus(t, err, tc.wantCode, "")
			}
			header, herr := stream.Header()
			if herr != nil {
				t.Fatalf("Header: %v", herr)
			}
			checkEchoMetadata(t, header, stream.Trailer())
			if err != nil {
				return
			}
			if resp.GetMessage() != tc.want.GetMessage() || !bytes.Equal(resp.GetPayload(), tc.want.GetPayload()) || resp.GetIndex() != tc.want.GetIndex() {
				t.Errorf("EchoClientStream = %v, want %v", resp, tc.want)
			}
		})
	}
}

func TestEchoBidiStream(t *testing.T) {
	_, conn := start(t)
	_, ec := clients(conn)
	tests := []struct {
		name     string
		msgs     []string
		wantCode codes.Code // the status after the messages
	}{
		{name: "none"},
		{name: "three", msgs: []string{"one", "two", "three"}},
		{name: "sleep then more", msgs: []string{"a", "sleep:10ms", "b"}},
		{name: "fail after two", msgs: []string{"one", "two", "fail:RESOURCE_EXHAUSTED"}, wantCode: codes.ResourceExhausted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := ec.EchoBidiStream(echoContext(t))
			if err != nil {
				t.Fatalf("EchoBidiStream: %v", err)
			}
			// Lockstep: each response must arrive before the next request
			// is sent.
			for i, msg := range tc.msgs {
				if err := stream.Send(&examplev1.EchoRequest{Message: msg, Payload: []byte(msg)}); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				resp, err := stream.Recv()
				if tc.wantCode != codes.OK && i == len(tc.msgs)-1 {
					checkRequestedFailure(t, err, tc.wantCode)
					break
				}
				if err != nil {
					t.Fatalf("Recv %d: %v", i, err)
				}
				if resp.GetIndex() != int32(i) || resp.GetMessage() != msg || string(resp.GetPayload()) != msg {
					t.Fatalf("response %d = %v", i, resp)
				}
			}
			if tc.wantCode == codes.OK {
				if err := stream.CloseSend(); err != nil {
					t.Fatalf("CloseSend: %v", err)
				}
				if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
					t.Fatalf("Recv after CloseSend: %v, want io.EOF", err)
				}
			}
			header, err := stream.Header()
			if err != nil {
				t.Fatalf("Header: %v", err)
			}
			checkEchoMetadata(t, header, stream.Trailer())
		})
	}
}

// TestEchoPanicsWithoutRecovery checks that "panic" is a real panic when
// nothing recovers it, as on a server set up with Register alone. It calls
// Echo directly: a real panic in a server goroutine would end the test
// binary.
func TestEchoPanicsWithoutRecovery(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error(`Echo("panic") did not panic`)
		}
	}()
	_, _ = examplebackend.NewEcho().Echo(context.Background(), &examplev1.EchoRequest{Message: "panic"})
}
