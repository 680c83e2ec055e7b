package webclients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"connectrpc.com/vanguard"

	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// The translated request's body is the client's messages, converted as the
// gRPC server reads them. When a conversion fails (a message over the size
// limit, JSON that is not the request type), the gRPC server only sees a
// failed or ended body, which it would report as UNAVAILABLE, or as a
// half-close that sends the backend a call without its request. The
// handler therefore records why in the call's context, and RequestError
// lets the data plane's chain report the real status instead.

// requestStateKey is the context key of a call's *requestState.
type requestStateKey struct{}

// requestState is what is known about a translated request's body.
type requestState struct {
	mu   sync.Mutex
	err  error // why the body failed, as a status error
	read int64
}

// RequestError returns why the request of a translated call failed, as a
// status error (INVALID_ARGUMENT for a message that cannot be decoded,
// RESOURCE_EXHAUSTED for one over the size limit), or nil. The data plane
// returns it in place of the error its gRPC server reports for the
// request side of such a call.
func RequestError(ctx context.Context) error {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// trackRequests wraps next so that the body of each request it gets is
// watched: see RequestError. single reports whether a method takes exactly
// one request message.
func trackRequests(next http.Handler, single func(path string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{}
		r = r.WithContext(context.WithValue(r.Context(), requestStateKey{}, st))
		r.Body = &trackedBody{ReadCloser: r.Body, st: st, single: single(r.URL.Path)}
		next.ServeHTTP(w, r)
		// The gRPC server answered the failed body with a status of its
		// own (UNAVAILABLE) before the chain returned the real one; the
		// transcoder reads the status from the headers once next returns.
		h := w.Header()
		if err := RequestError(r.Context()); err != nil && h.Get("Grpc-Status") != "" && h.Get("Grpc-Status") != "0" {
			s := status.Convert(err)
			h.Set("Grpc-Status", strconv.Itoa(int(s.Code())))
			h.Set("Grpc-Message", encodeGRPCMessage(s.Message()))
			h.Del("Grpc-Status-Details-Bin")
		}
	})
}

// encodeGRPCMessage percent-encodes a grpc-message value as the gRPC
// protocol says: bytes outside printable ASCII, and '%'.
func encodeGRPCMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// trackedBody records why a request body failed.
type trackedBody struct {
	io.ReadCloser
	st     *requestState
	single bool
}

// Read reads, recording a conversion error, or the end of a body without
// the one message a unary or server-streaming method needs (the
// transcoder ends the body so when it could not decode that message, and
// has told the client why).
func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	b.st.read += int64(n)
	if err == nil || b.st.err != nil {
		return n, err
	}
	var ce *connect.Error
	switch {
	case errors.Is(err, io.EOF):
		if b.single && b.st.read == 0 {
			b.st.err = status.Error(codes.InvalidArgument, "the request message is missing or cannot be decoded")
		}
	case errors.As(err, &ce):
		b.st.err = status.Error(codes.Code(ce.Code()), ce.Message())
	default:
		if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
			b.st.err = err
		}
	}
	return n, err
}

// Decoding errors are the client's: the transcoder reports them with their
// code (INVALID_ARGUMENT, HTTP 400) only when the codec says so.

// jsonCodec is vanguard's JSON codec with INVALID_ARGUMENT decoding errors.
type jsonCodec struct{ *vanguard.JSONCodec }

// Unmarshal decodes a message.
func (c jsonCodec) Unmarshal(b []byte, m proto.Message) error {
	if err := c.JSONCodec.Unmarshal(b, m); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return nil
}

// protoCodec is vanguard's protobuf codec with INVALID_ARGUMENT decoding
// errors.
type protoCodec struct{ *vanguard.ProtoCodec }

// Unmarshal decodes a message.
func (c protoCodec) Unmarshal(b []byte, m proto.Message) error {
	if err := safeproto.Guard(func() error { return c.ProtoCodec.Unmarshal(b, m) }); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return nil
}
