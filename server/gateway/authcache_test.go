package gateway_test

// Regression tests of issue 13: the custom authorizer's policy cache and
// the response cache never mix stages or callers, and authorizer responses
// are bounded. Every attack goes over a real socket: client → gateway on
// loopback → authorizer and backend on loopback.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// funcAuthorizer is an AuthorizerService answering with a function, and
// counting callouts.
type funcAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
	calls  atomic.Int64
	answer func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse
}

func (f *funcAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	f.calls.Add(1)
	return f.answer(req), nil
}

// startAuthorizer serves answer as a gRPC authorizer on loopback.
func startAuthorizer(t *testing.T, answer func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse) (*funcAuthorizer, string) {
	t.Helper()
	f := &funcAuthorizer{answer: answer}
	return f, startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, f) })
}

// allowAll and denyAll are policies for principal p.
func allowAll(p string) *datav1.AuthorizeResponse {
	return &datav1.AuthorizeResponse{PrincipalId: p, Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"*"}}}}
}

func denyAll(p string) *datav1.AuthorizeResponse {
	return &datav1.AuthorizeResponse{PrincipalId: p, Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"*"}}}}
}

// callout sets a custom authorizer's callout target.
type callout func(*adminv1.CustomAuthorizer)

func grpcCallout(target string) callout {
	return func(c *adminv1.CustomAuthorizer) {
		c.Callout = &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: target}}
	}
}

func httpCallout(uri string) callout {
	return func(c *adminv1.CustomAuthorizer) {
		c.Callout = &adminv1.CustomAuthorizer_Http{Http: &adminv1.HttpIntegration{Uri: uri}}
	}
}

// tokenAuthz is a TOKEN custom authorizer reading X-Token.
func tokenAuthz(set callout) *adminv1.Authorizer {
	c := &adminv1.CustomAuthorizer{
		Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
		IdentitySources:  []string{"$request.header.X-Token"},
		ResultTtlSeconds: proto.Int32(300),
		Timeout:          durationpb.New(5 * time.Second),
	}
	set(c)
	return &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: c}}
}

// issue13Env is a gateway with the authorizer and the response cache in
// its chain, in front of a metadata-echoing backend, serving the Echo
// route (authorized by "apis/shop/authorizers/a", cached for every
// caller) on the stages given to load.
type issue13Env struct {
	tg      *testGateway
	authz   *authorizer.Interceptor
	cache   *cache.Cache
	backend string
	conn    *grpc.ClientConn
}

func newIssue13Env(t *testing.T, logger *slog.Logger, opts ...authorizer.Option) *issue13Env {
	t.Helper()
	e := &issue13Env{backend: startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, metadataEcho{}) })}
	e.authz = authorizer.New(append([]authorizer.Option{authorizer.WithLogger(logger)}, opts...)...)
	t.Cleanup(func() { _ = e.authz.Close() })
	e.cache = cache.New(cache.WithCodec(grpcproxy.Messages{}))
	t.Cleanup(e.cache.Close)
	gw, err := gateway.New(gateway.WithInterceptors(e.authz.StreamServerInterceptor(), e.cache.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	e.tg = serveGateway(t, gw)
	e.conn = e.tg.grpcConn(t)
	return e
}

// load deploys one deployment with authorizer a on the given stages (stage
// ID → variables), with the response cache on.
func (e *issue13Env) load(t *testing.T, a *adminv1.Authorizer, stages map[string]map[string]string) {
	t.Helper()
	d := deployment(t, "shop", "v1", e.backend, &adminv1.Route{
		Name:            "apis/shop/routes/echo",
		Match:           &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Authorization:   &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"},
		CacheAllMethods: true,
	})
	a.Name, a.Uid, a.Etag = "apis/shop/authorizers/a", "uid-1", "etag-1"
	d.Snapshot.Authorizers = []*adminv1.Authorizer{a}
	var entries []routing.Entry
	live := map[string][]string{}
	for id, vars := range stages {
		en := entry("shop", id, d, vars)
		en.Stage.Cache = &adminv1.CacheSettings{Enabled: true, CapacityBytes: 1 << 20, TtlSeconds: proto.Int32(60), MaxEntryBytes: 64 << 10}
		entries = append(entries, en)
		live[en.Stage.GetName()] = []string{d.GetName()}
	}
	e.tg.load(t, entries...)
	e.cache.Retain(live)
}

// echoResult is what one Echo call through the gateway got.
type echoResult struct {
	code     codes.Code
	http     int
	metadata map[string][]string // what the backend received
	cache    string              // x-tollgate-cache
}

// echoGRPC calls Echo over gRPC on a stage with the headers.
func (e *issue13Env) echoGRPC(t *testing.T, stage string, headers map[string]string) echoResult {
	t.Helper()
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tollgate-stage", "shop/"+stage)
	for k, v := range headers {
		c = metadata.AppendToOutgoingContext(c, strings.ToLower(k), v)
	}
	var hdr metadata.MD
	resp, err := examplev1.NewEchoServiceClient(e.conn).Echo(c, &examplev1.EchoRequest{Message: "hi"}, grpc.Header(&hdr))
	r := echoResult{code: status.Code(err)}
	if err == nil {
		_ = json.Unmarshal([]byte(resp.GetMessage()), &r.metadata)
	}
	if vs := hdr.Get(cache.StatusHeader); len(vs) > 0 {
		r.cache = vs[0]
	}
	return r
}

// echoREST calls Echo over REST on a stage with the headers.
func (e *issue13Env) echoREST(t *testing.T, stage string, headers map[string]string) echoResult {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, e.tg.url("/"+stage+"/v1/echo"), strings.NewReader(`{"message":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := echoResult{http: resp.StatusCode, cache: resp.Header.Get(cache.StatusHeader)}
	var body struct{ Message string }
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&body)
		_ = json.Unmarshal([]byte(body.Message), &r.metadata)
	}
	return r
}

// TestIssue13AuthorizerCacheNotSharedBetweenStages: an Allow issued on the
// stage prod2 is not reused on prod, which serves the same deployment.
func TestIssue13AuthorizerCacheNotSharedBetweenStages(t *testing.T) {
	// A permissive test stage, a strict production stage: the authorizer
	// decides by the stage it is asked about.
	fa, addr := startAuthorizer(t, func(req *datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		if req.GetStage() == "prod2" {
			return allowAll("tester")
		}
		return denyAll("tester")
	})
	for _, proto := range []string{"grpc", "rest"} {
		t.Run(proto, func(t *testing.T) {
			e := newIssue13Env(t, nil)
			e.load(t, tokenAuthz(grpcCallout(addr)), map[string]map[string]string{"prod": nil, "prod2": nil})
			call := e.echoGRPC
			if proto == "rest" {
				call = e.echoREST
			}
			before := fa.calls.Load()
			h := map[string]string{"X-Token": "same-token-" + proto}
			if r := call(t, "prod2", h); r.code != codes.OK || (proto == "rest" && r.http != http.StatusOK) {
				t.Fatalf("prod2: %v %d, want allowed", r.code, r.http)
			}
			r := call(t, "prod", h)
			if r.code != codes.PermissionDenied && r.http != http.StatusForbidden {
				t.Fatalf("prod after prod2: %v %d, want 403: the Allow of prod2 was reused on prod", r.code, r.http)
			}
			if got := fa.calls.Load() - before; got != 2 {
				t.Errorf("%d callouts for one token on two stages, want 2", got)
			}
			// Each stage still caches its own answer.
			_ = call(t, "prod", h)
			if got := fa.calls.Load() - before; got != 2 {
				t.Errorf("%d callouts after a repeated call, want 2 (cached per stage)", got)
			}
		})
	}
}

// TestIssue13AuthorizerTargetResolvedPerStage: an authorizer target
// written with ${stageVariables.auth} calls each stage's own authorizer,
// whichever stage is called first.
func TestIssue13AuthorizerTargetResolvedPerStage(t *testing.T) {
	lenient, lenientAddr := startAuthorizer(t, func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse { return allowAll("u") })
	strict, strictAddr := startAuthorizer(t, func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse { return denyAll("u") })
	httpStrict := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, _ := protojson.Marshal(denyAll("u"))
		_, _ = w.Write(b)
	}))
	t.Cleanup(httpStrict.Close)
	httpLenient := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, _ := protojson.Marshal(allowAll("u"))
		_, _ = w.Write(b)
	}))
	t.Cleanup(httpLenient.Close)
	tests := []struct {
		name            string
		callout         callout
		lenient, strict string
	}{
		{"grpc", grpcCallout("${stageVariables.auth}"), lenientAddr, strictAddr},
		{"http", httpCallout("${stageVariables.auth}/authorize"), httpLenient.URL, httpStrict.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newIssue13Env(t, nil)
			e.load(t, tokenAuthz(tt.callout), map[string]map[string]string{
				"prod":  {"auth": tt.strict},
				"prod2": {"auth": tt.lenient},
			})
			h := map[string]string{"X-Token": "t-" + tt.name}
			if r := e.echoGRPC(t, "prod2", h); r.code != codes.OK {
				t.Fatalf("prod2 (lenient authorizer): %v, want OK", r.code)
			}
			if r := e.echoGRPC(t, "prod", h); r.code != codes.PermissionDenied {
				t.Fatalf("prod (strict authorizer): %v, want PermissionDenied: prod2's authorizer was called", r.code)
			}
			if r := e.echoREST(t, "prod", map[string]string{"X-Token": "rest-" + tt.name}); r.http != http.StatusForbidden {
				t.Fatalf("prod over REST: %d, want 403", r.http)
			}
		})
	}
	if lenient.calls.Load() != 1 || strict.calls.Load() != 2 {
		t.Errorf("gRPC callouts: lenient %d (want 1), strict %d (want 2)", lenient.calls.Load(), strict.calls.Load())
	}
}

// TestIssue13AuthorizerResponseTooLarge: a response beyond the limits
// fails closed (the call refused as a failed authorizer would be), with a
// log line saying why, and is not cached.
func TestIssue13AuthorizerResponseTooLarge(t *testing.T) {
	huge := func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		r := allowAll("u")
		r.Context = map[string]string{"blob": strings.Repeat("x", 100<<10)}
		return r
	}
	manyEntries := func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		r := allowAll("u")
		r.Context = map[string]string{}
		for i := range 100 {
			r.Context["k"+strings.Repeat("i", i)] = "v"
		}
		return r
	}
	bigContext := func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		r := allowAll("u")
		r.Context = map[string]string{"a": strings.Repeat("x", 5<<10), "b": strings.Repeat("y", 5<<10)}
		return r
	}
	hugeStatements := func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		r := allowAll("u")
		for range 5000 {
			r.Policy = append(r.Policy, &datav1.Statement{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"shop/prod/GRPC/none/of/these"}})
		}
		return r
	}
	httpHuge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, _ := protojson.Marshal(huge(nil))
		_, _ = w.Write(b)
	}))
	t.Cleanup(httpHuge.Close)
	tests := []struct {
		name    string
		callout func(t *testing.T) callout
	}{
		{"grpc huge context value", func(t *testing.T) callout {
			_, addr := startAuthorizer(t, huge)
			return grpcCallout(addr)
		}},
		{"grpc too many context entries", func(t *testing.T) callout {
			_, addr := startAuthorizer(t, manyEntries)
			return grpcCallout(addr)
		}},
		{"grpc context too large", func(t *testing.T) callout {
			_, addr := startAuthorizer(t, bigContext)
			return grpcCallout(addr)
		}},
		{"grpc huge policy", func(t *testing.T) callout {
			_, addr := startAuthorizer(t, hugeStatements)
			return grpcCallout(addr)
		}},
		{"http huge body", func(*testing.T) callout {
			return httpCallout(httpHuge.URL)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			e := newIssue13Env(t, slog.New(slog.NewTextHandler(&logs, nil)))
			e.load(t, tokenAuthz(tt.callout(t)), map[string]map[string]string{"prod": nil})
			h := map[string]string{"X-Token": "t"}
			if r := e.echoGRPC(t, "prod", h); r.code != codes.Internal {
				t.Errorf("gRPC: %v, want Internal (the authorizer failed)", r.code)
			}
			if r := e.echoREST(t, "prod", h); r.http != http.StatusInternalServerError {
				t.Errorf("REST: %d, want 500", r.http)
			}
			if !strings.Contains(logs.String(), "custom authorizer failed") ||
				!strings.Contains(logs.String(), "too large") && !strings.Contains(logs.String(), "longer than") && !strings.Contains(logs.String(), "larger than max") {
				t.Errorf("no log line saying why:\n%s", logs.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// TestIssue13ResponseCacheKeepsCallersApart: two callers with the same
// principal but a different authorizer context (tenant) get their own
// responses from the cache, over gRPC and REST.
func TestIssue13ResponseCacheKeepsCallersApart(t *testing.T) {
	_, addr := startAuthorizer(t, func(req *datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		// One service account, acting for the tenant named by its token.
		r := allowAll("service-account")
		r.Context = map[string]string{"tenant": strings.TrimPrefix(req.GetAuthorizationToken(), "tenant-")}
		return r
	})
	e := newIssue13Env(t, nil)
	e.load(t, tokenAuthz(grpcCallout(addr)), map[string]map[string]string{"prod": nil})
	for _, proto := range []string{"grpc", "rest"} {
		call := e.echoGRPC
		if proto == "rest" {
			call = e.echoREST
		}
		t.Run(proto, func(t *testing.T) {
			tests := []struct {
				token, wantTenant, wantCache string
			}{
				{"tenant-a", "a", "miss"},
				{"tenant-b", "b", "miss"}, // not a's body
				{"tenant-a", "a", "hit"},
				{"tenant-b", "b", "hit"},
			}
			for _, tt := range tests {
				r := call(t, "prod", map[string]string{"X-Token": tt.token})
				if got := r.metadata["x-tollgate-ctx-tenant"]; len(got) != 1 || got[0] != tt.wantTenant {
					t.Fatalf("%s got the body of tenant %v, want %s", tt.token, got, tt.wantTenant)
				}
				if r.cache != tt.wantCache {
					t.Errorf("%s: x-tollgate-cache %q, want %q", tt.token, r.cache, tt.wantCache)
				}
			}
		})
	}
}

// TestIssue13ResponseCacheKeepsJWTCallersApart: two tokens with the same
// subject but different claims (tenant) get their own responses; a
// refreshed token of the same caller still hits.
func TestIssue13ResponseCacheKeepsJWTCallersApart(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(tenant string, iat time.Time) string {
		claims := map[string]any{"iss": "https://issuer.test", "aud": "shop", "sub": "svc", "tenant": tenant, "exp": iat.Add(time.Hour).Unix(), "iat": iat.Unix()}
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	e := newIssue13Env(t, nil)
	e.load(t, &adminv1.Authorizer{Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{
		Issuer: "https://issuer.test", Audiences: []string{"shop"},
		Keys: &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: string(jwks)},
	}}}, map[string]map[string]string{"prod": nil})
	now := time.Now().Add(-10 * time.Second)
	tests := []struct {
		name, token, wantCache string
	}{
		{"tenant a", mint("a", now), "miss"},
		{"tenant b, same subject", mint("b", now), "miss"},
		{"tenant a again", mint("a", now), "hit"},
		{"tenant a, refreshed token", mint("a", now.Add(time.Second)), "hit"},
	}
	for _, tt := range tests {
		r := e.echoREST(t, "prod", map[string]string{"Authorization": tt.token})
		if r.http != http.StatusOK || r.cache != tt.wantCache {
			t.Fatalf("%s: HTTP %d, x-tollgate-cache %q, want 200 %q", tt.name, r.http, r.cache, tt.wantCache)
		}
	}
}
