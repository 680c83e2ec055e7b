package customauth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// Caller performs one callout to an authorizer. Implementations must be safe
// for concurrent use. They return the authorizer's response as it is: the
// Authorizer validates it.
type Caller interface {
	// Authorize sends req and returns the authorizer's response, or an
	// error if there is none (the authorizer is unreachable, answered with
	// an error or could not be understood). The context carries the
	// callout's deadline.
	Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error)
}

// CallerFunc adapts a function to a Caller, e.g. an authorizer running in the
// gateway's own process, or a fake in tests.
type CallerFunc func(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error)

// Authorize calls f.
func (f CallerFunc) Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	return f(ctx, req)
}

// Interface guards.
var (
	_ Caller = CallerFunc(nil)
	_ Caller = (*grpcCaller)(nil)
	_ Caller = (*httpCaller)(nil)
)

// grpcCaller calls tollgate.data.v1.AuthorizerService/Authorize.
type grpcCaller struct {
	client datav1.AuthorizerServiceClient
}

// NewGRPCCaller returns a Caller that calls
// tollgate.data.v1.AuthorizerService/Authorize on conn. Any status but OK is
// an error. The call does not wait for the connection to become ready, so an
// unreachable authorizer fails at once (UNAVAILABLE) rather than at the
// deadline. The caller owns conn and closes it.
func NewGRPCCaller(conn grpc.ClientConnInterface) Caller {
	return &grpcCaller{client: datav1.NewAuthorizerServiceClient(conn)}
}

// Authorize implements Caller.
func (c *grpcCaller) Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	// A larger message is refused by the client before it is decoded.
	resp, err := c.client.Authorize(ctx, req, grpc.MaxCallRecvMsgSize(MaxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("calling authorizer over gRPC: %w", err)
	}
	return resp, nil
}

// maxHTTPResponseBytes bounds the body of an HTTP authorizer's response; a
// larger one is an error.
const maxHTTPResponseBytes = MaxResponseBytes

// httpCaller POSTs the request as JSON.
type httpCaller struct {
	url    string
	client *http.Client
}

// NewHTTPCaller returns a Caller that POSTs the request to url as JSON (the
// proto3 JSON mapping, Content-Type application/json) and expects a 200
// response whose body is an AuthorizeResponse in JSON, at most
// MaxResponseBytes (64 KiB) long. Any other status, a longer body, or a body that
// is not an AuthorizeResponse (unknown fields included: a misspelt field is
// reported rather than dropped) is an error. A nil client means
// http.DefaultClient. An invalid url is reported by every call.
func NewHTTPCaller(url string, client *http.Client) Caller {
	if client == nil {
		client = http.DefaultClient
	}
	return &httpCaller{url: url, client: client}
}

// Authorize implements Caller.
func (c *httpCaller) Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding authorizer request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building authorizer request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hresp, err := c.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("calling authorizer over HTTP: %w", err)
	}
	defer func() {
		// Drain a little so that the connection can be reused; a larger
		// rest is not worth reading.
		_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, 64<<10))
		_ = hresp.Body.Close()
	}()
	if hresp.StatusCode != http.StatusOK {
		// The body is left out of the error: it may echo the token.
		return nil, fmt.Errorf("authorizer answered HTTP %d %s, want 200", hresp.StatusCode, http.StatusText(hresp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxHTTPResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading authorizer response: %w", err)
	}
	if len(data) > maxHTTPResponseBytes {
		return nil, fmt.Errorf("authorizer response is longer than %d bytes", maxHTTPResponseBytes)
	}
	resp := new(datav1.AuthorizeResponse)
	if err := protojson.Unmarshal(data, resp); err != nil {
		return nil, fmt.Errorf("decoding authorizer response: %w", err)
	}
	return resp, nil
}
