package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// metadataEcho is a backend whose Echo returns, as its message, the JSON of
// the metadata it received, so tests see what the gateway forwarded.
type metadataEcho struct {
	examplev1.UnimplementedEchoServiceServer
}

func (metadataEcho) Echo(ctx context.Context, _ *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	b, _ := json.Marshal(md)
	return &examplev1.EchoResponse{Message: string(b)}, nil
}

// policyAuthorizer allows the token "allow" on Echo only, denies "deny",
// and fails on "fail". It counts callouts.
type policyAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
	calls atomic.Int64
}

func (p *policyAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	p.calls.Add(1)
	switch req.GetAuthorizationToken() {
	case "allow":
		return &datav1.AuthorizeResponse{
			PrincipalId: "user-1",
			Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{
				"shop/prod/GRPC/tollgate.example.v1.EchoService/Echo", "shop/prod/POST/v1/echo",
			}}},
			Context: map[string]string{"tier": "gold"},
		}, nil
	case "deny":
		return &datav1.AuthorizeResponse{PrincipalId: "user-2", Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"*"}}}}, nil
	}
	return nil, status.Error(codes.Internal, "authorizer broke")
}

func startServer(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// authGateway starts a gateway with the authorizer interceptor, a
// metadata-echoing backend and the given authorizer and route authorization
// on the Echo method.
func authGateway(t *testing.T, a *adminv1.Authorizer, auth *adminv1.RouteAuthorization) *testGateway {
	t.Helper()
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, metadataEcho{}) })
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	gw, err := gateway.New(gateway.WithInterceptors(authz.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	d := deployment(t, "shop", "v1", be, &adminv1.Route{
		Name:          "apis/shop/routes/echo",
		Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Authorization: auth,
	})
	a.Name = "apis/shop/authorizers/a"
	a.Uid, a.Etag = "uid-1", "etag-1"
	d.Snapshot.Authorizers = []*adminv1.Authorizer{a}
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{entry("shop", "prod", d, nil)}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	return tg
}

// callBoth calls Echo over gRPC and REST with the given headers and returns
// both outcomes and what the backend received (from the gRPC call).
func callBoth(t *testing.T, tg *testGateway, headers map[string]string) (codes.Code, int, map[string][]string) {
	t.Helper()
	c := ctx(t)
	for k, v := range headers {
		c = metadata.AppendToOutgoingContext(c, strings.ToLower(k), v)
	}
	resp, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{})
	var got map[string][]string
	if err == nil {
		_ = json.Unmarshal([]byte(resp.GetMessage()), &got)
	}
	req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/v1/echo"), strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	hr, herr := http.DefaultClient.Do(req)
	if herr != nil {
		t.Fatal(herr)
	}
	_ = hr.Body.Close()
	return status.Code(err), hr.StatusCode, got
}

func TestCustomAuthorizer(t *testing.T) {
	pa := &policyAuthorizer{}
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, pa) })
	a := &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
		Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
		Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
		IdentitySources:  []string{"$request.header.X-Token"},
		ResultTtlSeconds: proto.Int32(300),
		Timeout:          durationpb.New(2 * time.Second),
	}}}
	tg := authGateway(t, a, &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"})
	tests := []struct {
		name     string
		headers  map[string]string
		wantGRPC codes.Code
		wantREST int
	}{
		{"missing identity", nil, codes.Unauthenticated, http.StatusUnauthorized},
		{"allowed", map[string]string{"X-Token": "allow"}, codes.OK, http.StatusOK},
		{"denied", map[string]string{"X-Token": "deny"}, codes.PermissionDenied, http.StatusForbidden},
		{"authorizer fails", map[string]string{"X-Token": "fail"}, codes.Internal, http.StatusInternalServerError},
		{"spoofed principal is replaced", map[string]string{"X-Token": "allow", "X-Tollgate-Principal": "admin"}, codes.OK, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, r, got := callBoth(t, tg, tt.headers)
			if g != tt.wantGRPC || r != tt.wantREST {
				t.Fatalf("gRPC %v REST %d, want %v %d", g, r, tt.wantGRPC, tt.wantREST)
			}
			if g == codes.OK {
				if p := got["x-tollgate-principal"]; len(p) != 1 || p[0] != "user-1" {
					t.Errorf("backend saw principal %v, want [user-1]", p)
				}
				if c := got["x-tollgate-ctx-tier"]; len(c) != 1 || c[0] != "gold" {
					t.Errorf("backend saw context %v", c)
				}
			}
		})
	}
	// "allow" was cached after its first callout; "fail" was never cached.
	before := pa.calls.Load()
	_, _, _ = callBoth(t, tg, map[string]string{"X-Token": "allow"})
	if pa.calls.Load() != before {
		t.Errorf("a cached token called the authorizer again")
	}
	_, _, _ = callBoth(t, tg, map[string]string{"X-Token": "fail"})
	if pa.calls.Load() != before+2 {
		t.Errorf("failures were cached: %d callouts for 2 calls", pa.calls.Load()-before)
	}
}

func TestCustomAuthorizerOneCalloutForConcurrentCalls(t *testing.T) {
	pa := &policyAuthorizer{}
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, pa) })
	a := &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
		Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
		Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
		IdentitySources:  []string{"$request.header.X-Token"},
		ResultTtlSeconds: proto.Int32(300),
		Timeout:          durationpb.New(5 * time.Second),
	}}}
	tg := authGateway(t, a, &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"})
	client := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 200 {
		wg.Go(func() {
			c := metadata.AppendToOutgoingContext(ctx(t), "x-token", "allow")
			if _, err := client.Echo(c, &examplev1.EchoRequest{}); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || pa.calls.Load() != 1 {
		t.Fatalf("%d failed, %d callouts for 200 concurrent calls with one new token", failed.Load(), pa.calls.Load())
	}
}

func TestJWTAuthorizer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(aud string, scope string, exp time.Time) string {
		claims := map[string]any{"iss": "https://issuer.test", "aud": aud, "sub": "alice", "exp": exp.Unix(), "iat": time.Now().Unix(), "scope": scope}
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := &adminv1.Authorizer{Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{
		Issuer: "https://issuer.test", Audiences: []string{"shop"},
		Keys:            &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: string(jwks)},
		IdentitySources: []string{"$request.header.Authorization"},
		Leeway:          durationpb.New(time.Minute),
	}}}
	tg := authGateway(t, a, &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a", Scopes: []string{"echo"}})
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name     string
		auth     string
		wantGRPC codes.Code
		wantREST int
	}{
		{"missing token", "", codes.Unauthenticated, http.StatusUnauthorized},
		{"not a bearer token", "Basic Zm9vOmJhcg==", codes.Unauthenticated, http.StatusUnauthorized},
		{"garbage", "Bearer not.a.jwt", codes.Unauthenticated, http.StatusUnauthorized},
		{"expired", "Bearer " + mint("shop", "echo", time.Now().Add(-time.Hour)), codes.Unauthenticated, http.StatusUnauthorized},
		{"wrong audience", "Bearer " + mint("other", "echo", hour), codes.Unauthenticated, http.StatusUnauthorized},
		{"lacking the scope", "Bearer " + mint("shop", "read", hour), codes.PermissionDenied, http.StatusForbidden},
		{"valid", "Bearer " + mint("shop", "read echo", hour), codes.OK, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			g, r, got := callBoth(t, tg, h)
			if g != tt.wantGRPC || r != tt.wantREST {
				t.Fatalf("gRPC %v REST %d, want %v %d", g, r, tt.wantGRPC, tt.wantREST)
			}
			if g == codes.OK {
				if p := got["x-tollgate-principal"]; len(p) != 1 || p[0] != "alice" {
					t.Errorf("backend saw principal %v, want [alice]", p)
				}
			}
		})
	}
}

// TestRequestIDReachesBackend checks that the backend receives exactly the
// request ID the client gets back, over gRPC and REST: the client's when it
// is acceptable, a generated one in its place otherwise.
func TestRequestIDReachesBackend(t *testing.T) {
	tg := authGateway(t, &adminv1.Authorizer{Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Issuer: "i", Audiences: []string{"a"}, Keys: &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: `{"keys":[]}`}}}},
		&adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_NONE})
	for _, tt := range []struct {
		name     string
		clientID string
		kept     bool
	}{
		{"client's ID", "client-id-1", true},
		{"no ID", "", false},
		{"too long", strings.Repeat("a", 200), false},
	} {
		t.Run(tt.name+"/grpc", func(t *testing.T) {
			c := ctx(t)
			if tt.clientID != "" {
				c = metadata.AppendToOutgoingContext(c, "x-request-id", tt.clientID)
			}
			var header metadata.MD
			resp, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{}, grpc.Header(&header))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string][]string
			_ = json.Unmarshal([]byte(resp.GetMessage()), &got)
			checkForwardedID(t, got["x-request-id"], header.Get("x-request-id"), tt.clientID, tt.kept)
		})
		t.Run(tt.name+"/rest", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/v1/echo"), strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.clientID != "" {
				req.Header.Set("X-Request-Id", tt.clientID)
			}
			hr, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer hr.Body.Close()
			var body struct{ Message string }
			_ = json.NewDecoder(hr.Body).Decode(&body)
			var got map[string][]string
			_ = json.Unmarshal([]byte(body.Message), &got)
			checkForwardedID(t, got["x-request-id"], hr.Header.Values("X-Request-Id"), tt.clientID, tt.kept)
		})
	}
}

func checkForwardedID(t *testing.T, atBackend, returned []string, clientID string, kept bool) {
	t.Helper()
	if len(atBackend) != 1 || len(returned) != 1 || atBackend[0] != returned[0] {
		t.Fatalf("backend saw request IDs %q, client got %q: want the same one ID", atBackend, returned)
	}
	if (atBackend[0] == clientID) != kept {
		t.Fatalf("backend saw %q for client ID %q; kept = %v, want %v", atBackend[0], clientID, !kept, kept)
	}
}
