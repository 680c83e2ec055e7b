package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// wsAuthorizer allows the token "allow" to connect to chat/prod, denies
// "deny", and for REQUEST authorizers reads the user from the X-User
// header and the token from the query string.
type wsAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
}

func (wsAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	token, user := req.GetAuthorizationToken(), "token-user"
	if req.GetType() == datav1.AuthorizeRequest_TYPE_REQUEST {
		token, user = req.GetQueryStringParameters()["token"], req.GetHeaders()["x-user"]
	}
	effect := datav1.Effect_EFFECT_DENY
	if token == "allow" {
		effect = datav1.Effect_EFFECT_ALLOW
	}
	return &datav1.AuthorizeResponse{
		PrincipalId: user,
		Policy:      []*datav1.Statement{{Effect: effect, Resources: []string{req.GetMethodResource()}}},
		Context:     map[string]string{"tier": "gold"},
	}, nil
}

// wsAuthGateway serves the chat API with the authorizer and API key
// interceptors, $connect authorized by a, or requiring an API key when a
// is nil.
func wsAuthGateway(t *testing.T, a *adminv1.Authorizer, auth *adminv1.RouteAuthorization) (*wsGateway, *sync.Map) {
	t.Helper()
	be := newWSBackend()
	target := startServer(t, func(s *grpc.Server) { datav1.RegisterWebSocketIntegrationServiceServer(s, be) })
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	keys := apikey.LookupFunc(func(_ context.Context, hash string) (*apikey.Key, error) {
		if hash != apikey.Hash("good-key") {
			return nil, nil
		}
		return &apikey.Key{Name: "apiKeys/k1", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{"apis/chat/stages/prod": {Name: "usagePlans/p"}}}, nil
	})
	var seen sync.Map // connection ID → API key name seen per message
	record := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if c := callinfo.FromContext(ss.Context()); c != nil && c.APIKey != nil && c.ConnectionID != "" {
			seen.Store(c.ConnectionID+"|"+c.RouteKey, c.APIKey.Name)
		}
		return handler(srv, ss)
	}
	gw, err := gateway.New(gateway.WithInterceptors(authz.StreamServerInterceptor(), apikey.StreamServerInterceptor(keys), record))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	connect := wsRoute("connect", "$connect", false)
	connect.Authorization = auth
	if a == nil {
		connect.ApiKeyRequired = true
	}
	d := wsDeployment(target, connect, wsRoute("echo", "echo", true), wsRoute("disconnect", "$disconnect", false))
	if a != nil {
		a.Name, a.Uid, a.Etag = "apis/chat/authorizers/a", "uid", "etag"
		d.Snapshot.Authorizers = []*adminv1.Authorizer{a}
	}
	tg.load(t, wsStage(d, nil))
	return &wsGateway{testGateway: tg, backend: be, target: target}, &seen
}

func TestWebSocketConnectAuthorizers(t *testing.T) {
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, wsAuthorizer{}) })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(aud string) string {
		s, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://issuer.test", "aud": aud, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	byAuthorizer := &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/chat/authorizers/a"}
	custom := func(typ adminv1.CustomAuthorizer_Type, sources ...string) *adminv1.Authorizer {
		return &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type: typ, Callout: &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
			IdentitySources: sources, Timeout: durationpb.New(5 * time.Second),
		}}}
	}
	jwtAuth := func(sources ...string) *adminv1.Authorizer {
		return &adminv1.Authorizer{Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{
			Issuer: "https://issuer.test", Audiences: []string{"chat"},
			Keys: &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: string(jwks)}, IdentitySources: sources,
		}}}
	}
	tests := []struct {
		name          string
		authorizer    *adminv1.Authorizer
		auth          *adminv1.RouteAuthorization
		path          string
		header        http.Header
		want          int // HTTP status of a refusal, or 101
		wantPrincipal string
	}{
		{"JWT header: missing", jwtAuth(), byAuthorizer, "/prod", nil, 401, ""},
		{"JWT header: wrong audience", jwtAuth(), byAuthorizer, "/prod", http.Header{"Authorization": {"Bearer " + mint("other")}}, 401, ""},
		{"JWT header: valid", jwtAuth(), byAuthorizer, "/prod", http.Header{"Authorization": {"Bearer " + mint("chat")}}, 101, "alice"},
		{"JWT query string: valid", jwtAuth("$request.querystring.access_token"), byAuthorizer, "/prod?access_token=" + mint("chat"), nil, 101, "alice"},
		{"JWT query string: missing", jwtAuth("$request.querystring.access_token"), byAuthorizer, "/prod", nil, 401, ""},
		{"custom TOKEN from the query string: allowed", custom(adminv1.CustomAuthorizer_TYPE_TOKEN, "$request.querystring.token"), byAuthorizer, "/prod?token=allow", nil, 101, "token-user"},
		{"custom TOKEN from the query string: denied", custom(adminv1.CustomAuthorizer_TYPE_TOKEN, "$request.querystring.token"), byAuthorizer, "/prod?token=deny", nil, 403, ""},
		{"custom TOKEN from a header: missing", custom(adminv1.CustomAuthorizer_TYPE_TOKEN, "$request.header.X-Token"), byAuthorizer, "/prod", nil, 401, ""},
		{"custom TOKEN from a header: allowed", custom(adminv1.CustomAuthorizer_TYPE_TOKEN, "$request.header.X-Token"), byAuthorizer, "/prod", http.Header{"X-Token": {"allow"}}, 101, "token-user"},
		{"custom REQUEST: allowed", custom(adminv1.CustomAuthorizer_TYPE_REQUEST, "$request.header.X-User", "$request.querystring.token"), byAuthorizer, "/prod?token=allow", http.Header{"X-User": {"bob"}}, 101, "bob"},
		{"custom REQUEST: denied", custom(adminv1.CustomAuthorizer_TYPE_REQUEST, "$request.header.X-User", "$request.querystring.token"), byAuthorizer, "/prod?token=deny", http.Header{"X-User": {"bob"}}, 403, ""},
		{"custom REQUEST: a source missing", custom(adminv1.CustomAuthorizer_TYPE_REQUEST, "$request.header.X-User", "$request.querystring.token"), byAuthorizer, "/prod?token=allow", nil, 401, ""},
		{"API key: missing", nil, nil, "/prod", nil, 403, ""},
		{"API key: unknown", nil, nil, "/prod", http.Header{"X-Api-Key": {"bad-key"}}, 403, ""},
		{"API key: valid", nil, nil, "/prod", http.Header{"X-Api-Key": {"good-key"}}, 101, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, seen := wsAuthGateway(t, tt.authorizer, tt.auth)
			c, resp, err := g.dial(t, tt.path, tt.header)
			if tt.want != 101 {
				if err == nil || resp == nil || resp.StatusCode != tt.want {
					t.Fatalf("dial: %v %v, want %d", err, resp, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			connect := g.backend.lastConnect(t)
			if connect.Principal != tt.wantPrincipal {
				t.Errorf("$connect principal %q, want %q", connect.Principal, tt.wantPrincipal)
			}
			// Every message keeps the identity of $connect.
			if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
				t.Fatalf("echo: %q", got)
			}
			var msg wsEvent
			for ev := range g.backend.notify {
				if ev.RouteKey == "echo" {
					msg = ev
					break
				}
			}
			if msg.Principal != tt.wantPrincipal {
				t.Errorf("message principal %q, want %q", msg.Principal, tt.wantPrincipal)
			}
			if tt.authorizer.GetCustom() != nil && msg.Context["tier"] != "gold" {
				t.Errorf("message authorizer context %v", msg.Context)
			}
			// A message of a connection opened with an API key is
			// counted against that key (usage plan throttles, quotas).
			if k, _ := seen.Load(connect.ConnectionID + "|echo"); tt.authorizer == nil && k != "apiKeys/k1" {
				t.Errorf("message call's API key %v, want apiKeys/k1", k)
			}
		})
	}
}

// httpWSBackend is an HTTP WebSocket backend: $connect with an X-Reject
// header is refused with 401, and joins the group "http"; messages are
// answered with "http:" and the body.
type httpWSBackend struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (b *httpWSBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.requests = append(b.requests, r)
	b.bodies = append(b.bodies, string(body))
	b.mu.Unlock()
	switch r.Header.Get("X-Tollgate-Route-Key") {
	case "$connect":
		if r.Header.Get("X-Reject") != "" {
			http.Error(w, "go away", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Tollgate-Groups", "http, other")
	case "$disconnect":
	default:
		_, _ = w.Write([]byte("http:" + string(body)))
	}
}

// find returns the requests with a route key.
func (b *httpWSBackend) find(key string) []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*http.Request
	for _, r := range b.requests {
		if r.Header.Get("X-Tollgate-Route-Key") == key {
			out = append(out, r)
		}
	}
	return out
}

func TestWebSocketHTTPIntegration(t *testing.T) {
	hb := &httpWSBackend{}
	hs := httptest.NewServer(hb)
	t.Cleanup(hs.Close)
	gw, err := gateway.New(gateway.WithCallbackAdminToken(func(tok string) bool { return tok == testAdminToken }))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	d := wsDeployment("unused:1", wsRoute("connect", "$connect", false), wsRoute("echo", "echo", true), wsRoute("disconnect", "$disconnect", false))
	d.Snapshot.Api.DefaultIntegration = &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: hs.URL + "/ws"}}}
	tg.load(t, wsStage(d, nil))
	g := &wsGateway{testGateway: tg}

	if _, resp, err := g.dial(t, "/prod", http.Header{"X-Reject": {"1"}}); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refused by the backend: %v %v, want 401", err, resp)
	}
	c, _, err := g.dial(t, "/prod?room=1", http.Header{"X-Custom": {"v"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, c, `{"action":"echo"}`); got != `http:{"action":"echo"}` {
		t.Errorf("two-way: %q", got)
	}
	connects := hb.find("$connect")
	cr := connects[len(connects)-1]
	id := cr.Header.Get("X-Tollgate-Connection-Id")
	if cr.Method != http.MethodPost || cr.URL.Path != "/ws" || cr.URL.Query().Get("room") != "1" || cr.Header.Get("X-Custom") != "v" ||
		id == "" || cr.Header.Get("X-Tollgate-Callback-Token") == "" || !strings.HasSuffix(cr.Header.Get("X-Tollgate-Callback-Url"), "/prod/@connections") {
		t.Errorf("$connect request: %s %s %v", cr.Method, cr.URL, cr.Header)
	}
	// Groups from the response header.
	code, body := g.callback(t, http.MethodPost, "/@groups/http", testAdminToken, "grouped")
	if code != http.StatusOK || !strings.Contains(body, `"sent":1`) {
		t.Fatalf("post to group: %d %s", code, body)
	}
	if got := read(t, c); got != "grouped" {
		t.Errorf("got %q", got)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for len(hb.find("$disconnect")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	ds := hb.find("$disconnect")
	if len(ds) != 1 || ds[0].Header.Get("X-Tollgate-Connection-Id") != id || ds[0].Header.Get("X-Tollgate-Disconnect-Status-Code") != "1000" {
		t.Fatalf("$disconnect requests: %d", len(ds))
	}
}
