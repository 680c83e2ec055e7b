package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// denyAuthorizer allows every caller on every resource except the ones of
// its Deny statement, and remembers the resources it was asked about.
type denyAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
	deny []string
	mu   sync.Mutex
	seen []string
}

func (d *denyAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	d.mu.Lock()
	d.seen = append(d.seen, req.GetMethodResource())
	d.mu.Unlock()
	return &datav1.AuthorizeResponse{
		PrincipalId: "user-1",
		Policy: []*datav1.Statement{
			{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"*"}},
			{Effect: datav1.Effect_EFFECT_DENY, Resources: d.deny},
		},
		Context: map[string]string{"tier": "gold"},
	}, nil
}

// seenRequest is what an HTTP backend received.
type seenRequest struct {
	path      string // escaped, as on the wire
	principal []string
	tier      []string
	headers   http.Header
}

// hardeningEnv is a gateway on loopback serving the stage "prod" of the API
// "shop": the example bookstore (REST and gRPC) and plain HTTP routes to a
// recording backend, /admin/** behind a custom authorizer.
type hardeningEnv struct {
	tg       *testGateway
	authz    *denyAuthorizer
	upstream chan seenRequest
}

func newHardeningEnv(t *testing.T, opts ...gateway.Option) *hardeningEnv {
	t.Helper()
	env := &hardeningEnv{
		authz:    &denyAuthorizer{deny: []string{"shop/prod/GET/admin/secret*", "shop/prod/GET/v1/shelves/fiction*"}},
		upstream: make(chan seenRequest, 16),
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.upstream <- seenRequest{r.URL.EscapedPath(), r.Header.Values("X-Tollgate-Principal"), r.Header.Values("X-Tollgate-Ctx-Tier"), r.Header.Clone()}
		_, _ = w.Write([]byte("ok " + r.Header.Get("X-Forwarded-Host")))
	}))
	t.Cleanup(up.Close)
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, env.authz) })
	az := authorizer.New()
	t.Cleanup(func() { _ = az.Close() })
	gw, err := gateway.New(append([]gateway.Option{gateway.WithInterceptors(az.StreamServerInterceptor())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	env.tg = serveGateway(t, gw)
	authz := &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"}
	httpTo := func(name, path string, auth *adminv1.RouteAuthorization, allowSlashes bool) *adminv1.Route {
		return &adminv1.Route{
			Name:                "apis/shop/routes/" + name,
			Match:               &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "*", Path: path}},
			Integration:         &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: up.URL + "/base"}}},
			Authorization:       auth,
			AllowEncodedSlashes: allowSlashes,
		}
	}
	d := deployment(t, "shop", "v1", backend(t).Addr(),
		httpTo("admin", "/admin/{p=**}", authz, false),
		httpTo("public", "/public/{p=**}", nil, false),
		httpTo("raw", "/raw/{p=**}", nil, true),
		&adminv1.Route{
			Name:          "apis/shop/routes/books",
			Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
			Authorization: authz,
		},
	)
	d.Snapshot.Authorizers = []*adminv1.Authorizer{{
		Name: "apis/shop/authorizers/a", Uid: "uid-1", Etag: "etag-1",
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
			Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
			IdentitySources:  []string{"$request.header.X-Token"},
			ResultTtlSeconds: proto.Int32(300),
			Timeout:          durationpb.New(2 * time.Second),
		}},
	}}
	env.tg.load(t, entry("shop", "prod", d, nil))
	return env
}

// backendCall returns what the HTTP backend received for the last call, or
// false when it was not called.
func (e *hardeningEnv) backendCall() (seenRequest, bool) {
	select {
	case r := <-e.upstream:
		return r, true
	default:
		return seenRequest{}, false
	}
}

// TestIssue13PathsAreCanonicalForAuthorizersAndBackends sends percent-encoding
// tricks over a socket: a Deny statement holds however the path is encoded
// (plain HTTP and transcoded REST routes), and paths a backend could read
// as another path are refused with 400 INVALID_PATH before routing.
func TestIssue13PathsAreCanonicalForAuthorizersAndBackends(t *testing.T) {
	env := newHardeningEnv(t)
	tests := []struct {
		name        string
		target      string
		wantStatus  int
		wantBackend string // escaped path the HTTP backend must see; "" = not called
	}{
		{"denied path", "/prod/admin/secret", 403, ""},
		{"denied path, encoded letter", "/prod/admin/%73ecret", 403, ""},
		{"denied path, encoded letters", "/prod/admin/%73%65cret/x", 403, ""},
		{"allowed path", "/prod/admin/other", 200, "/base/admin/other"},
		{"allowed path, encoded letter", "/prod/admin/%6fther", 200, "/base/admin/%6fther"},
		{"REST denied", "/prod/v1/shelves/fiction/books", 403, ""},
		{"REST denied, encoded letter", "/prod/v1/shelves/fict%69on/books", 403, ""},
		{"REST allowed", "/prod/v1/shelves/science/books", 200, ""},
		{"encoded slashes on a public route", "/prod/public/..%2Fadmin%2Fsecret", 400, ""},
		{"encoded slash in a REST path", "/prod/v1/shelves/a%2Fb/books", 400, ""},
		{"encoded backslash", "/prod/public/..%5cadmin%5csecret", 400, ""},
		{"encoded NUL", "/prod/public/a%00.txt", 400, ""},
		{"encoded CRLF", "/prod/public/a%0d%0aX-Injected:%201", 400, ""},
		{"encoded dot-segment", "/prod/public/%2e%2e/admin/secret", 400, ""},
		{"dot-segment", "/prod/public/../admin/secret", 400, ""},
		{"dot-segment with a path parameter", "/prod/public/..;/admin/secret", 400, ""},
		{"encoded slash on a route that allows it", "/prod/raw/a%2Fb", 200, "/base/raw/a%2Fb"},
		{"encoded dot-segment behind an allowed slash", "/prod/raw/..%2F..%2Fadmin", 400, ""},
		{"encoded NUL on a route that allows slashes", "/prod/raw/a%2Fb%00", 400, ""},
		{"bad path before any stage", "/%00/x", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, env.tg.addr, "GET", tt.target, "X-Token: t\r\n")
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			if status == 400 && (!strings.Contains(body, `"reason":"INVALID_PATH"`) || !strings.Contains(body, `"code":3`)) {
				t.Errorf("body %s: want INVALID_ARGUMENT with reason INVALID_PATH", body)
			}
			got, called := env.backendCall()
			if tt.wantBackend == "" {
				if called {
					t.Fatalf("backend was called with %q", got.path)
				}
				return
			}
			if !called || got.path != tt.wantBackend {
				t.Fatalf("backend got %q (called %v), want %q", got.path, called, tt.wantBackend)
			}
		})
	}
	// The authorizer saw canonical resources only.
	env.authz.mu.Lock()
	defer env.authz.mu.Unlock()
	for _, r := range env.authz.seen {
		if strings.Contains(r, "%") {
			t.Errorf("the authorizer was asked about %q: not the canonical (decoded) path", r)
		}
	}
}

// TestIssue13HTTPBackendsGetTheGatewaysIdentity checks over a socket that an
// HTTP integration receives the principal and context the authorizer
// established, and never a client's forged copy.
func TestIssue13HTTPBackendsGetTheGatewaysIdentity(t *testing.T) {
	env := newHardeningEnv(t)
	tests := []struct {
		name          string
		target        string
		wantPrincipal []string
		wantTier      []string
	}{
		{"authorized route", "/prod/admin/other", []string{"user-1"}, []string{"gold"}},
		{"route without authorizer", "/prod/public/x", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, env.tg.addr, "GET", tt.target,
				"X-Token: t\r\nX-Tollgate-Principal: admin\r\nX-Tollgate-Ctx-Tier: platinum\r\nX-Tollgate-Ctx-Role: root\r\n")
			if status != 200 {
				t.Fatalf("status %d (%s)", status, body)
			}
			got, ok := env.backendCall()
			if !ok {
				t.Fatal("backend not called")
			}
			if !equalStrings(got.principal, tt.wantPrincipal) || !equalStrings(got.tier, tt.wantTier) {
				t.Errorf("backend saw principal %q tier %q, want %q %q", got.principal, got.tier, tt.wantPrincipal, tt.wantTier)
			}
			if v := got.headers.Values("X-Tollgate-Ctx-Role"); len(v) > 0 {
				t.Errorf("a forged context entry reached the backend: %q", v)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
