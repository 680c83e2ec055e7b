package customauth_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

const (
	authorizerName = "apis/shop/authorizers/users"
	headerSource   = "$request.header.Authorization"
	tenantSource   = "$request.header.X-Tenant"
)

// respondFunc is the behaviour of a fake authorizer.
type respondFunc func(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error)

// fakeAuthorizer is a scripted AuthorizerService that counts its calls and
// keeps the last request.
type fakeAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer

	calls atomic.Int64

	mu      sync.Mutex
	respond respondFunc
	last    *datav1.AuthorizeRequest
}

// Authorize implements datav1.AuthorizerServiceServer.
func (f *fakeAuthorizer) Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.last = req
	respond := f.respond
	f.mu.Unlock()
	return respond(ctx, req)
}

// setRespond replaces the behaviour.
func (f *fakeAuthorizer) setRespond(respond respondFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = respond
}

// lastRequest returns the last request received.
func (f *fakeAuthorizer) lastRequest() *datav1.AuthorizeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// startGRPC serves a fake authorizer on a loopback port for the test and
// returns it with a gRPC Caller connected to it.
func startGRPC(t testing.TB, respond respondFunc) (*fakeAuthorizer, customauth.Caller) {
	t.Helper()
	fake := &fakeAuthorizer{respond: respond}
	srv := grpc.NewServer()
	datav1.RegisterAuthorizerServiceServer(srv, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return fake, dial(t, lis.Addr().String())
}

// dial returns a gRPC Caller for addr, closed with the test.
func dial(t testing.TB, addr string) customauth.Caller {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return customauth.NewGRPCCaller(conn)
}

// respondWith always answers resp.
func respondWith(resp *datav1.AuthorizeResponse) respondFunc {
	return func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		return proto.CloneOf(resp), nil
	}
}

// allow returns a response allowing resources for principal.
func allow(principal string, resources ...string) *datav1.AuthorizeResponse {
	return &datav1.AuthorizeResponse{
		PrincipalId: principal,
		Policy:      []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: resources}},
	}
}

// deny returns a response denying resources.
func deny(resources ...string) *datav1.AuthorizeResponse {
	return &datav1.AuthorizeResponse{
		Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_DENY, Resources: resources}},
	}
}

// tokenRequest returns a TOKEN request for token calling resource.
func tokenRequest(token, resource string) customauth.Request {
	return customauth.Request{
		AuthorizerName: authorizerName,
		Generation:     "deployments/d1;etag=1",
		Type:           datav1.AuthorizeRequest_TYPE_TOKEN,
		IdentitySources: []string{
			headerSource,
		},
		IdentityValues: []string{token},
		MethodResource: resource,
		Proto: &datav1.AuthorizeRequest{
			Type:               datav1.AuthorizeRequest_TYPE_TOKEN,
			AuthorizationToken: token,
			MethodResource:     resource,
			Api:                "shop",
			Stage:              "prod",
			Deployment:         "d1",
		},
	}
}

// requestRequest returns a REQUEST request with a token and a tenant as
// identity sources.
func requestRequest(token, tenant, resource string) customauth.Request {
	return customauth.Request{
		AuthorizerName:  authorizerName,
		Generation:      "deployments/d1;etag=1",
		Type:            datav1.AuthorizeRequest_TYPE_REQUEST,
		IdentitySources: []string{headerSource, tenantSource},
		IdentityValues:  []string{token, tenant},
		MethodResource:  resource,
		Proto: &datav1.AuthorizeRequest{
			Type:           datav1.AuthorizeRequest_TYPE_REQUEST,
			MethodResource: resource,
			Api:            "shop",
			Stage:          "prod",
			Deployment:     "d1",
			Headers:        map[string]string{"authorization": token, "x-tenant": tenant},
			HttpMethod:     "GET",
			Path:           "/v1/pets/1",
			SourceIp:       "127.0.0.1",
			RequestId:      "r-1",
		},
	}
}

// newFakeClock returns a clock at a fixed instant.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// countingCaller counts the callouts of a Caller, for authorizers that
// cannot count themselves (an unreachable one).
type countingCaller struct {
	next  customauth.Caller
	calls atomic.Int64
}

// Authorize counts and calls next.
func (c *countingCaller) Authorize(ctx context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	c.calls.Add(1)
	return c.next.Authorize(ctx, req)
}

// decide calls Decide and fails the test on an error.
func decide(t *testing.T, a *customauth.Authorizer, req customauth.Request) customauth.Decision {
	t.Helper()
	d, err := a.Decide(t.Context(), req)
	if err != nil {
		t.Fatalf("Decide(%q): %v", req.MethodResource, err)
	}
	return d
}
