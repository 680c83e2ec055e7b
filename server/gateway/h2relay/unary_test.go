package h2relay_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/testkit"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

const unaryMethod = "/grpc.testing.TestService/UnaryCall"

// unaryBackend is a TestService whose UnaryCall does what the request's
// "behave" metadata says, and reports what it saw.
type unaryBackend struct {
	testgrpc.UnimplementedTestServiceServer
	seen  chan metadata.MD // each call's incoming metadata
	ended chan error       // the context error of a call that waited
}

func (b *unaryBackend) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	select {
	case b.seen <- md:
	default:
	}
	resp := &testpb.SimpleResponse{Payload: &testpb.Payload{Body: bytes.Repeat([]byte{'r'}, int(in.GetResponseSize()))}}
	switch first(md, "behave") {
	case "echo":
		_ = grpc.SetHeader(ctx, metadata.Pairs("h", "1", "h-bin", "\x00\x01\xff"))
		_ = grpc.SetTrailer(ctx, metadata.Pairs("t", "2"))
		resp.Username = string(in.GetPayload().GetBody()[:min(8, len(in.GetPayload().GetBody()))])
		return resp, nil
	case "details":
		_ = grpc.SetHeader(ctx, metadata.Pairs("h", "1"))
		st, _ := status.New(codes.FailedPrecondition, "not now").WithDetails(&errdetails.ErrorInfo{Reason: "BUSY", Domain: "test"})
		return nil, st.Err()
	case "trailers-only":
		_ = grpc.SetTrailer(ctx, metadata.Pairs("t", "3"))
		return nil, status.Error(codes.NotFound, "no such thing")
	case "wait":
		<-ctx.Done()
		b.ended <- ctx.Err()
		return nil, ctx.Err()
	case "deadline":
		if dl, ok := ctx.Deadline(); ok {
			resp.Username = time.Until(dl).Round(time.Hour).String()
		}
		return resp, nil
	case "gzip":
		if err := grpc.SetSendCompressor(ctx, gzip.Name); err != nil {
			return nil, err
		}
		return resp, nil
	}
	return resp, nil
}

func first(md metadata.MD, k string) string {
	if vs := md.Get(k); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// startUnaryBackend serves a unaryBackend on loopback.
func startUnaryBackend(t *testing.T) (*unaryBackend, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &unaryBackend{seen: make(chan metadata.MD, 1), ended: make(chan error, 1)}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, b)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return b, ln.Addr().String()
}

func newPool(t *testing.T) *h2relay.Pool {
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	return pool
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnary: Pool.Unary against grpc-go's server on loopback — request
// and response metadata, both messages past the stream window, the
// status with its details, trailers-only responses, compressed responses
// and the size limits.
func TestUnary(t *testing.T) {
	be, addr := startUnaryBackend(t)
	pool := newPool(t)
	big := bytes.Repeat([]byte{'q'}, 1<<20) // 16 stream windows
	tests := []struct {
		name     string
		behave   string
		req      *testpb.SimpleRequest
		maxMsg   int
		wantCode codes.Code
		wantMsg  string
		check    func(t *testing.T, res h2relay.UnaryResult, err error)
	}{
		{name: "echo", behave: "echo", req: &testpb.SimpleRequest{ResponseSize: 10, Payload: &testpb.Payload{Body: []byte("hello there")}},
			check: func(t *testing.T, res h2relay.UnaryResult, _ error) {
				var resp testpb.SimpleResponse
				if err := proto.Unmarshal(res.Response, &resp); err != nil || resp.GetUsername() != "hello th" || len(resp.GetPayload().GetBody()) != 10 {
					t.Fatalf("response %v (%v)", &resp, err)
				}
				if got := res.Header; first(got, "h") != "1" || first(got, "h-bin") != "\x00\x01\xff" || len(got["content-type"]) != 0 {
					t.Fatalf("header %v", got)
				}
				if got := res.Trailer; first(got, "t") != "2" || len(got["grpc-status"]) != 0 {
					t.Fatalf("trailer %v", got)
				}
				if !res.Answered || res.RequestBytes == 0 || res.ResponseBytes != int64(len(res.Response)) {
					t.Fatalf("result %+v", res)
				}
			}},
		{name: "large both ways", req: &testpb.SimpleRequest{ResponseSize: 1 << 20, Payload: &testpb.Payload{Body: big}}, maxMsg: 2 << 20,
			check: func(t *testing.T, res h2relay.UnaryResult, _ error) {
				var resp testpb.SimpleResponse
				if err := proto.Unmarshal(res.Response, &resp); err != nil || len(resp.GetPayload().GetBody()) != 1<<20 {
					t.Fatalf("response of %d bytes (%v)", len(resp.GetPayload().GetBody()), err)
				}
			}},
		{name: "details", behave: "details", req: &testpb.SimpleRequest{}, wantCode: codes.FailedPrecondition, wantMsg: "not now",
			check: func(t *testing.T, res h2relay.UnaryResult, err error) {
				d := status.Convert(err).Details()
				if len(d) != 1 || d[0].(*errdetails.ErrorInfo).GetReason() != "BUSY" {
					t.Fatalf("details %v", d)
				}
				if first(res.Header, "h") != "1" || res.Response != nil {
					t.Fatalf("result %+v", res)
				}
			}},
		{name: "trailers only", behave: "trailers-only", req: &testpb.SimpleRequest{}, wantCode: codes.NotFound, wantMsg: "no such thing",
			check: func(t *testing.T, res h2relay.UnaryResult, _ error) {
				if res.Header != nil || first(res.Trailer, "t") != "3" || !res.Answered {
					t.Fatalf("result %+v", res)
				}
			}},
		{name: "gzip response", behave: "gzip", req: &testpb.SimpleRequest{ResponseSize: 100_000},
			check: func(t *testing.T, res h2relay.UnaryResult, _ error) {
				var resp testpb.SimpleResponse
				if err := proto.Unmarshal(res.Response, &resp); err != nil || len(resp.GetPayload().GetBody()) != 100_000 {
					t.Fatalf("response of %d bytes (%v)", len(resp.GetPayload().GetBody()), err)
				}
				if res.ResponseBytes >= 100_000 {
					t.Fatalf("%d response bytes on the wire: not compressed", res.ResponseBytes)
				}
			}},
		// About 1 KiB compressed, 16 times over the limit inflated.
		{name: "gzip bomb", behave: "gzip", req: &testpb.SimpleRequest{ResponseSize: 1 << 20}, maxMsg: 64 << 10,
			wantCode: codes.ResourceExhausted, wantMsg: "after decompression"},
		{name: "response over the limit", req: &testpb.SimpleRequest{ResponseSize: 100_000}, maxMsg: 50_000,
			wantCode: codes.ResourceExhausted, wantMsg: "received message larger than max"},
		{name: "request over the limit", req: &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 100_000)}}, maxMsg: 50_000,
			wantCode: codes.ResourceExhausted, wantMsg: "trying to send message larger than max"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			md := metadata.Pairs("behave", tc.behave, "client-key", "kept", "grpc-foo", "dropped", "x-tollgate-principal", "forged",
				"user-agent", "dropped", "asserted", "by-client", "blob-bin", "\xff\x00")
			call := h2relay.Call{Addr: addr, MaxMsgSize: tc.maxMsg, Metadata: metadata.Pairs("asserted", "by-gateway", "x-tollgate-principal", "alice")}
			res, err := pool.Unary(ctx, call, unaryMethod, md, marshal(t, tc.req))
			if status.Code(err) != tc.wantCode || !strings.Contains(status.Convert(err).Message(), tc.wantMsg) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.wantCode, tc.wantMsg)
			}
			if tc.name == "echo" {
				seen := <-be.seen
				for k, want := range map[string]string{
					"client-key": "kept", "asserted": "by-gateway", "x-tollgate-principal": "alice",
					"blob-bin": "\xff\x00", "user-agent": h2relay.UnaryUserAgent, ":authority": addr,
				} {
					if got := seen.Get(k); len(got) != 1 || !strings.HasPrefix(got[0], want) {
						t.Errorf("the backend got %s %q, want %q", k, got, want)
					}
				}
				if len(seen.Get("grpc-foo")) != 0 || len(seen.Get("grpc-timeout")) != 0 {
					t.Errorf("the backend got %v", seen)
				}
			}
			if tc.check != nil {
				tc.check(t, res, err)
			}
			select {
			case <-be.seen:
			default:
			}
		})
	}
}

// TestUnaryDeadlineAndCancel: the caller's deadline (the earlier of the
// context's and Call.Deadline) reaches the backend as grpc-timeout, and
// the end of the caller's context (deadline or cancellation) or
// Call.Deadline ends the backend's call (RST_STREAM) and the caller's.
func TestUnaryDeadlineAndCancel(t *testing.T) {
	be, addr := startUnaryBackend(t)
	pool := newPool(t)
	md := metadata.Pairs("behave", "wait")
	req := marshal(t, &testpb.SimpleRequest{})
	for _, tc := range []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		deadline time.Duration // Call.Deadline from now, if not zero
		want     codes.Code
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, 0, codes.DeadlineExceeded},
		{"call deadline", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, 300 * time.Millisecond, codes.DeadlineExceeded},
		{"call deadline after the context's", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, time.Hour, codes.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-be.seen; cancel() }()
			return ctx, cancel
		}, 0, codes.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			call := h2relay.Call{Addr: addr}
			if tc.deadline != 0 {
				call.Deadline = time.Now().Add(tc.deadline)
			}
			_, err := pool.Unary(ctx, call, unaryMethod, md, req)
			if status.Code(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			select {
			case berr := <-be.ended:
				if berr == nil {
					t.Fatal("the backend's call did not end")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the backend's call goes on")
			}
			select {
			case <-be.seen:
			default:
			}
		})
	}
	// grpc-timeout: the backend sees the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, metadata.Pairs("behave", "deadline"), req)
	if err != nil {
		t.Fatal(err)
	}
	var resp testpb.SimpleResponse
	if err := proto.Unmarshal(res.Response, &resp); err != nil || resp.GetUsername() != "1h0m0s" {
		t.Fatalf("the backend's deadline was %q from now (%v), want 1h", resp.GetUsername(), err)
	}
	// Call.Deadline, when it comes first.
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	res, err = pool.Unary(ctx, h2relay.Call{Addr: addr, Deadline: time.Now().Add(time.Hour)}, unaryMethod, metadata.Pairs("behave", "deadline"), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Reset()
	if err := proto.Unmarshal(res.Response, &resp); err != nil || resp.GetUsername() != "1h0m0s" {
		t.Fatalf("the backend's deadline was %q from now (%v), want 1h (Call.Deadline)", resp.GetUsername(), err)
	}
}

func hf(k, v string) hpack.HeaderField { return hpack.HeaderField{Name: k, Value: v} }

// TestUnaryBackendFailures: a backend that is not there, resets the
// stream, is not a gRPC server or answers a unary call with two messages.
func TestUnaryBackendFailures(t *testing.T) {
	ok200 := []hpack.HeaderField{hf(":status", "200"), hf("content-type", "application/grpc")}
	tests := []struct {
		name    string
		answer  func(a *testkit.HTTP2Answer)
		wantErr error
		want    codes.Code
		wantMsg string
	}{
		{name: "reset", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Reset(http2.ErrCodeInternal)
		}, wantErr: h2relay.ErrBackendBroke},
		{name: "reset after headers", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(false, ok200...)
			_ = a.Reset(http2.ErrCodeCancel)
		}, wantErr: h2relay.ErrBackendBroke},
		{name: "not gRPC", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(true, hf(":status", "404"), hf("content-type", "text/html"))
		}, want: codes.Unimplemented, wantMsg: "404"},
		{name: "two messages", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(false, ok200...)
			_ = a.Message([]byte{8})
			_ = a.Message([]byte{8})
			_ = a.Headers(true, hf("grpc-status", "0"))
		}, want: codes.Internal, wantMsg: "more than one response message"},
		{name: "no message", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(false, ok200...)
			_ = a.Headers(true, hf("grpc-status", "0"))
		}, want: codes.Internal, wantMsg: "no response message"},
		{name: "no trailers", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(false, ok200...)
			_ = a.Framer.WriteData(a.StreamID, true, []byte{0, 0, 0, 0, 1, 8})
		}, wantErr: h2relay.ErrBackendBroke},
		{name: "details from the raw trailers", answer: func(a *testkit.HTTP2Answer) {
			d, _ := proto.Marshal(status.New(codes.NotFound, "x").Proto())
			_ = a.Headers(true, append(ok200, hf("grpc-status", "5"), hf("grpc-status-details-bin", base64.RawStdEncoding.EncodeToString(d)))...)
		}, want: codes.NotFound},
		{name: "malformed binary header", answer: func(a *testkit.HTTP2Answer) {
			_ = a.Headers(false, append(ok200, hf("x-bin", "!!"))...)
		}, want: codes.Internal, wantMsg: "malformed x-bin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := testkit.HTTP2Backend(t, tc.answer)
			pool := newPool(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, nil, []byte{8, 1})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if status.Code(err) != tc.want || !strings.Contains(status.Convert(err).Message(), tc.wantMsg) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.wantMsg)
			}
		})
	}

	t.Run("unavailable", func(t *testing.T) {
		pool := newPool(t)
		_, err := pool.Unary(context.Background(), h2relay.Call{Addr: testkit.ClosedAddr(t)}, unaryMethod, nil, nil)
		if !errors.Is(err, h2relay.ErrBackendUnavailable) {
			t.Fatalf("got %v, want %v", err, h2relay.ErrBackendUnavailable)
		}
	})
}

// BenchmarkPoolUnary: one unary call of 1 KiB each way over Pool.Unary to
// grpc-go's interop server.
func BenchmarkPoolUnary(b *testing.B) {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	req, err := proto.Marshal(&testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	md := metadata.Pairs("x-request-id", "r1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, md, req); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzUnaryResponse: whatever a backend answers (headers, DATA that may
// not be gRPC messages, trailers with any status, details and binary
// values), Pool.Unary returns without a panic or a hang, and a success
// carries exactly one whole message.
func FuzzUnaryResponse(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1}, "0", []byte(nil), "AAE")
	f.Add([]byte{1, 0, 0, 0, 2, 8, 1}, "0", []byte(nil), "")
	f.Add([]byte{0, 0, 0, 0, 1}, "0", []byte{8, 5}, "!")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "5", []byte{8, 5, 18, 1, 'x'}, "AAE=")
	f.Add([]byte{}, "x", []byte{0xff}, "AA")
	type answer struct {
		data            []byte
		code, binHeader string
		details         []byte
	}
	var cur atomic.Pointer[answer]
	addr := testkit.HTTP2Backend(f, func(a *testkit.HTTP2Answer) {
		in := cur.Load()
		_ = a.Headers(false, hf(":status", "200"), hf("content-type", "application/grpc"), hf("grpc-encoding", "gzip"), hf("h-bin", in.binHeader))
		if len(in.data) > 0 {
			_ = a.Framer.WriteData(a.StreamID, false, in.data)
		}
		_ = a.Headers(true, hf("grpc-status", in.code), hf("grpc-status-details-bin", base64.RawStdEncoding.EncodeToString(in.details)))
	})
	pool := h2relay.NewPool(nil, 64<<10)
	f.Cleanup(pool.Close)
	f.Fuzz(func(t *testing.T, data []byte, code string, details []byte, binHeader string) {
		if len(data) > 32<<10 || !validHeaderValue(code) || !validHeaderValue(binHeader) {
			return
		}
		cur.Store(&answer{data: data, code: code, details: details, binHeader: binHeader})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := pool.Unary(ctx, h2relay.Call{Addr: addr, MaxMsgSize: 16 << 10}, unaryMethod, nil, []byte{8, 1})
		if ctx.Err() != nil {
			t.Fatalf("the call hung: %v", err)
		}
		if err == nil && res.ResponseBytes+5 != int64(len(data)) {
			t.Fatalf("success with %d response bytes from %d bytes of DATA", res.ResponseBytes, len(data))
		}
	})
}

// validHeaderValue reports whether v can be sent as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
