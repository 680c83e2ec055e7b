package authorizer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// httpAuthorizer allows the token "t" on everything and records requests.
func httpAuthorizer(t testing.TB, calls *atomic.Int64, last *atomic.Value) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req datav1.AuthorizeRequest
		var raw json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&raw)
		_ = protojson.Unmarshal(raw, &req)
		last.Store(&req)
		resp := &datav1.AuthorizeResponse{PrincipalId: "p", Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"*"}}}}
		b, _ := protojson.Marshal(resp)
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func customCall(url string, typ adminv1.CustomAuthorizer_Type, sources ...string) *callinfo.Call {
	a := &adminv1.Authorizer{Name: "apis/shop/authorizers/a", Uid: "u", Etag: "e", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
		Type: typ, Callout: &adminv1.CustomAuthorizer_Http{Http: &adminv1.HttpIntegration{Uri: url}},
		IdentitySources: sources, ResultTtlSeconds: proto.Int32(300), Timeout: durationpb.New(5 * time.Second),
	}}}
	return &callinfo.Call{
		RouteFacts: &callinfo.RouteFacts{
			API:        "apis/shop",
			Stage:      "apis/shop/stages/prod",
			Deployment: "apis/shop/deployments/d1",
			Route: &adminv1.Route{Name: "apis/shop/routes/r", Authorization: &adminv1.RouteAuthorization{
				Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: a.GetName()}},
			Authorizers:    map[string]*adminv1.Authorizer{a.GetName(): a},
			StageVariables: map[string]string{"v": "1"},
		},
		Request: callinfo.Request{FullMethod: "/a.B/C"},
	}
}

func run(i *authorizer.Interceptor, call *callinfo.Call, md metadata.MD) error {
	ctx := callinfo.NewContext(metadata.NewIncomingContext(context.Background(), md), call)
	return i.StreamServerInterceptor()(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{FullMethod: call.FullMethod},
		func(any, grpc.ServerStream) error { return nil })
}

func TestIdentitySources(t *testing.T) {
	var calls atomic.Int64
	var last atomic.Value
	url := httpAuthorizer(t, &calls, &last)
	i := authorizer.New()
	t.Cleanup(func() { _ = i.Close() })
	tests := []struct {
		name     string
		protocol callinfo.Protocol
		sources  []string
		query    string
		md       metadata.MD
		header   http.Header // a REST call's
		want     codes.Code
	}{
		{"gRPC header", callinfo.GRPC, []string{"$request.header.X-Token"}, "", metadata.Pairs("x-token", "t"), nil, codes.OK},
		{"gRPC header missing", callinfo.GRPC, []string{"$request.header.X-Token"}, "", nil, nil, codes.Unauthenticated},
		{"repeated header refused", callinfo.GRPC, []string{"$request.header.X-Token"}, "", metadata.Pairs("x-token", "t", "x-token", "u"), nil, codes.Unauthenticated},
		{"REST header comes from the HTTP request", callinfo.REST, []string{"$request.header.X-Token"}, "", nil, http.Header{"X-Token": {"t"}}, codes.OK},
		{"REST ignores metadata", callinfo.REST, []string{"$request.header.X-Token"}, "", metadata.Pairs("x-token", "t"), nil, codes.Unauthenticated},
		{"query string", callinfo.REST, []string{"$request.querystring.token"}, "token=t", nil, nil, codes.OK},
		{"repeated query parameter refused", callinfo.REST, []string{"$request.querystring.token"}, "token=t&token=u", nil, nil, codes.Unauthenticated},
		{"all sources must be present", callinfo.REST, []string{"$request.querystring.token", "$request.header.X-Other"}, "token=t", nil, nil, codes.Unauthenticated},
		{"stage variable", callinfo.GRPC, []string{"$stageVariables.v"}, "", nil, nil, codes.OK},
		{"source ip", callinfo.GRPC, []string{"$context.sourceIp"}, "", nil, nil, codes.OK},
		{"REST ignores a forged gateway entry", callinfo.REST, []string{"$request.header.X-Token"}, "", metadata.Pairs("x-tollgate-header-x-token", "t"), nil, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := customCall(url, adminv1.CustomAuthorizer_TYPE_REQUEST, tt.sources...)
			call.Protocol, call.RawQuery, call.SourceIP, call.Header = tt.protocol, tt.query, "10.0.0.1", tt.header
			if err := run(i, call, tt.md); status.Code(err) != tt.want {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tt.want)
			}
		})
	}
	// A REQUEST authorizer hears the call's details.
	call := customCall(url, adminv1.CustomAuthorizer_TYPE_REQUEST, "$request.header.X-Token")
	call.Protocol, call.HTTPMethod, call.HTTPPath, call.RawQuery, call.SourceIP = callinfo.REST, "GET", "/v1/pets/1", "a=b", "10.0.0.9"
	call.Deployment = "apis/shop/deployments/d2" // a new deployment: not cached
	call.Header = http.Header{"X-Token": {"t"}, "Accept": {"json"}, "X-Tollgate-Admin-Token": {"secret"}}
	if err := run(i, call, nil); err != nil {
		t.Fatal(err)
	}
	req := last.Load().(*datav1.AuthorizeRequest)
	if req.GetMethodResource() != "shop/prod/GET/v1/pets/1" || req.GetHeaders()["accept"] != "json" || req.GetHeaders()["x-tollgate-admin-token"] != "" || req.GetQueryStringParameters()["a"] != "b" ||
		req.GetSourceIp() != "10.0.0.9" || req.GetStageVariables()["v"] != "1" {
		t.Fatalf("authorizer got %v", req)
	}
}

// BenchmarkCachedDecision is the cost the authorizer interceptor adds to a
// call whose authorization is cached: a custom TOKEN authorizer's policy
// (policy cache) with a short opaque token and with 600- and 1,200-byte
// ones (the identity is hashed on every call, so its length counts), and a
// JWT authorizer's verified token (an RS256 token of ~600 bytes). The call
// record is filled as the data plane fills it (the request's metadata and
// the route's precomputed resource).
func BenchmarkCachedDecision(b *testing.B) {
	custom := func(token string) func(b *testing.B) (*callinfo.Call, metadata.MD, *atomic.Int64) {
		return func(b *testing.B) (*callinfo.Call, metadata.MD, *atomic.Int64) {
			var calls atomic.Int64
			var last atomic.Value
			call := customCall(httpAuthorizer(b, &calls, &last), adminv1.CustomAuthorizer_TYPE_TOKEN, "$request.header.Authorization")
			return call, metadata.Pairs("authorization", token), &calls
		}
	}
	for _, bb := range []struct {
		name  string
		setup func(b *testing.B) (*callinfo.Call, metadata.MD, *atomic.Int64)
	}{
		{"opaque", custom("some-opaque-token-0123456789")},
		{"custom600", custom(longToken(600))},
		{"custom1200", custom(longToken(1200))},
		{"jwt", func(b *testing.B) (*callinfo.Call, metadata.MD, *atomic.Int64) {
			call, token := jwtCall(b)
			return call, metadata.Pairs("authorization", "Bearer "+token), nil
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			i := authorizer.New()
			b.Cleanup(func() { _ = i.Close() })
			call, md, calls := bb.setup(b)
			call.Protocol = callinfo.GRPC
			call.Metadata = md
			call.GRPCResource = "shop/prod/GRPC" + call.FullMethod
			base := metadata.NewIncomingContext(context.Background(), md)
			next := func(any, grpc.ServerStream) error { return nil }
			intercept := i.StreamServerInterceptor()
			info := &grpc.StreamServerInfo{FullMethod: call.FullMethod}
			if err := run(i, call, md); err != nil {
				b.Fatal(err)
			}
			stream := testkit.NewServerStream(callinfo.NewContext(base, call))
			b.ReportAllocs()
			for b.Loop() {
				call.Principal, call.AuthorizerContext = "", nil
				if err := intercept(nil, stream, info, next); err != nil {
					b.Fatal(err)
				}
			}
			if calls != nil && calls.Load() != 1 {
				b.Fatalf("%d callouts", calls.Load())
			}
		})
	}
}

// longToken returns an n-byte bearer token shaped like a JSON Web Token.
func longToken(n int) string {
	s := "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
	for len(s) < n*2/3 {
		s += "eyJzdWIiOiJ1c2VyLTEifQ"
	}
	s += "."
	for len(s) < n {
		s += "c2lnbmF0dXJl"
	}
	return s[:n]
}

// jwtCall returns a call to a route with a JWT authorizer (RS256, inline
// key set) and a token it accepts.
func jwtCall(tb testing.TB) (*callinfo.Call, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	token, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": "https://issuer.test", "aud": "shop", "sub": "alice", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"scope": "pets:read pets:write", "tenant": "t1",
	}).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	call := customCall("", adminv1.CustomAuthorizer_TYPE_TOKEN)
	a := &adminv1.Authorizer{Name: "apis/shop/authorizers/a", Uid: "u", Etag: "e", Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{
		Issuer: "https://issuer.test", Audiences: []string{"shop"},
		Keys:            &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: string(jwks)},
		IdentitySources: []string{"$request.header.Authorization"},
	}}}
	call.Authorizers = map[string]*adminv1.Authorizer{a.GetName(): a}
	call.Route.Authorization.Scopes = []string{"pets:read"}
	return call, token
}
