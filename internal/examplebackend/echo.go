package examplebackend

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

const (
	// maxRepeat is the largest EchoRequest.repeat EchoServerStream accepts.
	maxRepeat = 10000

	echoHeaderPrefix = "x-echo-"

	// FailureReason is the google.rpc.ErrorInfo reason of a failure
	// requested with a "fail:<code>" message.
	FailureReason = "REQUESTED_FAILURE"
	// FailureDomain is the google.rpc.ErrorInfo domain of a failure
	// requested with a "fail:<code>" message.
	FailureDomain = "example.tollgate.dev"
	// FailureMessage is the status message of a failure requested with a
	// "fail:<code>" message.
	FailureMessage = "echo: requested failure"
)

// Echo implements examplev1.EchoServiceServer. It has no state and is safe
// for concurrent use. Make one with [NewEcho]; the package documentation
// lists the metadata it echoes and the directives it obeys.
type Echo struct {
	examplev1.UnimplementedEchoServiceServer
}

// NewEcho returns an Echo.
func NewEcho() *Echo { return &Echo{} }

// Echo returns the request's message and payload.
func (e *Echo) Echo(ctx context.Context, req *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	// Without a server stream in ctx (a direct, in-process call) there is no
	// metadata to set.
	if grpc.ServerTransportStreamFromContext(ctx) != nil {
		if err := setEchoMetadata(ctx, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) },
			func(md metadata.MD) error { return grpc.SetTrailer(ctx, md) }); err != nil {
			return nil, err
		}
	}
	if err := obey(ctx, req.GetMessage()); err != nil {
		return nil, err
	}
	return &examplev1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload()}, nil
}

// EchoServerStream sends the request's message and payload req.Repeat times
// (1 if it is 0) with index 0, 1, ...; repeat must be between 0 and 10000.
// It stops with the context's error if the call ends early.
func (e *Echo) EchoServerStream(req *examplev1.EchoRequest, stream grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	ctx := stream.Context()
	if err := setStreamMetadata(stream); err != nil {
		return err
	}
	n := req.GetRepeat()
	switch {
	case n == 0:
		n = 1
	case n < 0 || n > maxRepeat:
		return invalidField("repeat", "repeat must be between 0 and %d (0 means 1), got %d", maxRepeat, n)
	}
	if err := obey(ctx, req.GetMessage()); err != nil {
		return err
	}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Index: i}); err != nil {
			return err
		}
	}
	return nil
}

// EchoClientStream receives messages until the client closes its side, then
// returns one response whose message and payload are those of every request
// concatenated and whose index is the number of requests.
func (e *Echo) EchoClientStream(stream grpc.ClientStreamingServer[examplev1.EchoRequest, examplev1.EchoResponse]) error {
	ctx := stream.Context()
	if err := setStreamMetadata(stream); err != nil {
		return err
	}
	var (
		msg     strings.Builder
		payload []byte
		count   int32
	)
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := obey(ctx, req.GetMessage()); err != nil {
			return err
		}
		msg.WriteString(req.GetMessage())
		payload = append(payload, req.GetPayload()...)
		count++
	}
	return stream.SendAndClose(&examplev1.EchoResponse{Message: msg.String(), Payload: payload, Index: count})
}

// EchoBidiStream sends back each request's message and payload as it
// arrives, with index 0, 1, ..., until the client closes its side.
func (e *Echo) EchoBidiStream(stream grpc.BidiStreamingServer[examplev1.EchoRequest, examplev1.EchoResponse]) error {
	ctx := stream.Context()
	if err := setStreamMetadata(stream); err != nil {
		return err
	}
	for i := int32(0); ; i++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := obey(ctx, req.GetMessage()); err != nil {
			return err
		}
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Index: i}); err != nil {
			return err
		}
	}
}

func setStreamMetadata(stream grpc.ServerStream) error {
	return setEchoMetadata(stream.Context(), stream.SetHeader, func(md metadata.MD) error {
		stream.SetTrailer(md)
		return nil
	})
}

// setEchoMetadata sets the "x-echo-*" response headers and the
// "x-echo-trailer: done" trailer.
func setEchoMetadata(ctx context.Context, setHeader, setTrailer func(metadata.MD) error) error {
	if err := setTrailer(metadata.Pairs("x-echo-trailer", "done")); err != nil {
		return status.Errorf(codes.Internal, "echo: setting the trailer: %v", err)
	}
	in, _ := metadata.FromIncomingContext(ctx)
	out := metadata.MD{}
	for k, v := range in {
		if strings.HasPrefix(k, echoHeaderPrefix) {
			out[k] = append([]string(nil), v...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := setHeader(out); err != nil {
		return status.Errorf(codes.Internal, "echo: setting the response headers: %v", err)
	}
	return nil
}

// obey carries out the directive in msg, if any: "fail:<code>",
// "sleep:<duration>" or "panic".
func obey(ctx context.Context, msg string) error {
	switch {
	case msg == "panic":
		panic("echo: requested panic")
	case strings.HasPrefix(msg, "fail:"):
		return requestedFailure(strings.TrimPrefix(msg, "fail:"))
	case strings.HasPrefix(msg, "sleep:"):
		arg := strings.TrimPrefix(msg, "sleep:")
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return invalidField("message", `"sleep:%s": want "sleep:<duration>" with a non-negative Go duration such as "250ms" or "2s"`, arg)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return nil
}

// requestedFailure returns the error for "fail:<arg>", where arg is a code
// name such as "NOT_FOUND" (any case) or number such as "5".
func requestedFailure(arg string) error {
	code, ok := parseCode(arg)
	if !ok {
		return invalidField("message", `"fail:%s": want "fail:<code>" with a gRPC code name such as "NOT_FOUND" or a number from 1 to 16`, arg)
	}
	st, err := status.New(code, FailureMessage).WithDetails(&errdetails.ErrorInfo{
		Reason: FailureReason,
		Domain: FailureDomain,
	})
	if err != nil {
		return status.Error(code, FailureMessage)
	}
	return st.Err()
}

// parseCode parses a non-OK gRPC code given by name or number.
func parseCode(s string) (codes.Code, bool) {
	var c codes.Code
	var err error
	if _, numErr := strconv.ParseUint(s, 10, 32); numErr == nil {
		err = c.UnmarshalJSON([]byte(s))
	} else {
		err = c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(s))))
	}
	if err != nil || c == codes.OK {
		return 0, false
	}
	return c, true
}
