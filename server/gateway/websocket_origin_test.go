package gateway_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// connectCount counts the $connect calls that reached the chain.
func connectCount() (*atomic.Int64, grpc.StreamServerInterceptor) {
	var n atomic.Int64
	return &n, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if c := callinfo.FromContext(ss.Context()); c != nil && c.RouteKey == "connect" {
			n.Add(1)
		}
		return handler(srv, ss)
	}
}

// TestIssue13WebSocketOrigins: an upgrade from an origin the stage does not
// allow (cross-site WebSocket hijacking) is refused with 403 before the
// chain runs; clients without Origin, same-host pages and allowed origins
// connect.
func TestIssue13WebSocketOrigins(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string // "self": the gateway's own host
		wantOK  bool
	}{
		{"no Origin (not a browser)", nil, "", true},
		{"same host", nil, "self", true},
		{"other site, nothing allowed", nil, "https://evil.example", false},
		{"null origin", nil, "null", false},
		{"allowed exactly", []string{"https://app.example.com"}, "https://app.example.com", true},
		{"allowed, other case", []string{"https://app.example.com"}, "HTTPS://App.Example.Com", true},
		{"other scheme", []string{"https://app.example.com"}, "http://app.example.com", false},
		{"other port", []string{"https://app.example.com"}, "https://app.example.com:8443", false},
		{"wildcard subdomain", []string{"https://*.example.org"}, "https://a.b.example.org", true},
		{"wildcard does not match the apex", []string{"https://*.example.org"}, "https://example.org", false},
		{"wildcard does not match a suffix", []string{"https://*.example.org"}, "https://evil-example.org", false},
		{"not in the list", []string{"https://app.example.com"}, "https://evil.example", false},
		{"star allows every origin", []string{"*"}, "https://evil.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, count := connectCount()
			g := startWSGateway(t, &adminv1.WebSocketSettings{AllowedOrigins: tt.allowed}, []grpc.StreamServerInterceptor{count})
			h := http.Header{}
			switch tt.origin {
			case "":
			case "self":
				h.Set("Origin", "http://"+g.addr)
			default:
				h.Set("Origin", tt.origin)
			}
			c, resp, err := g.dial(t, "/prod", h)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
					t.Errorf("echo: %q", got)
				}
				return
			}
			if err == nil {
				t.Fatal("connected from a refused origin")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial: %v, want 403", err)
			}
			if n.Load() != 0 {
				t.Errorf("the $connect chain ran %d times for a refused origin", n.Load())
			}
		})
	}
}

// TestIssue13WebSocketAuthorizerCachePerOrigin: a custom authorizer's
// answer at $connect is cached per Origin, so an Allow given to the
// trusted page is not reused for another allowed origin the authorizer
// refuses; a REQUEST authorizer sees the Origin header.
func TestIssue13WebSocketAuthorizerCachePerOrigin(t *testing.T) {
	fa, authAddr := startAuthorizer(t, func(req *datav1.AuthorizeRequest) *datav1.AuthorizeResponse {
		if req.GetHeaders()["origin"] == "https://app.example.com" {
			return allowAll("cookie-user")
		}
		return denyAll("cookie-user")
	})
	be := newWSBackend()
	target := startServer(t, func(s *grpc.Server) { datav1.RegisterWebSocketIntegrationServiceServer(s, be) })
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	gw, err := gateway.New(gateway.WithInterceptors(authz.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	connect := wsRoute("connect", "$connect", false)
	connect.Authorization = &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/chat/authorizers/a"}
	d := wsDeployment(target, connect, wsRoute("echo", "echo", true))
	d.Snapshot.Authorizers = []*adminv1.Authorizer{{
		Name: "apis/chat/authorizers/a", Uid: "uid", Etag: "etag",
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:             adminv1.CustomAuthorizer_TYPE_REQUEST,
			Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
			IdentitySources:  []string{"$request.header.Cookie"},
			ResultTtlSeconds: proto.Int32(300),
			Timeout:          durationpb.New(5 * time.Second),
		}},
	}}
	tg.load(t, routing.Entry{Stage: &adminv1.Stage{Name: "apis/chat/stages/prod", Deployment: d.GetName(),
		Websocket: &adminv1.WebSocketSettings{AllowedOrigins: []string{"https://app.example.com", "https://partner.example.com"}}}, Deployment: d})
	g := &wsGateway{testGateway: tg, backend: be, target: target}

	tests := []struct {
		origin string
		wantOK bool
	}{
		{"https://app.example.com", true},
		{"https://partner.example.com", false}, // not the cached Allow of app
		{"https://app.example.com", true},      // cached
	}
	for _, tt := range tests {
		h := http.Header{"Cookie": {"session=s1"}, "Origin": {tt.origin}}
		c, resp, err := g.dial(t, "/prod", h)
		if tt.wantOK != (err == nil) {
			t.Fatalf("origin %s: connected %v (%v), want %v", tt.origin, err == nil, err, tt.wantOK)
		}
		if !tt.wantOK && (resp == nil || resp.StatusCode != http.StatusForbidden) {
			t.Fatalf("origin %s: %v, want 403", tt.origin, err)
		}
		if c != nil {
			_ = c.Close(websocket.StatusNormalClosure, "")
		}
	}
	if got := fa.calls.Load(); got != 2 {
		t.Errorf("%d callouts for two origins, want 2", got)
	}
}

// TestIssue13WebSocketInvalidUTF8: a text message that is not UTF-8 closes
// the connection with 1007 and never reaches the backend; binary messages
// carry any bytes.
func TestIssue13WebSocketInvalidUTF8(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	wc, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(wc, websocket.MessageBinary, []byte{0xff, 0xfe}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(wc); err != nil || string(got) != "$default:\xff\xfe" {
		t.Fatalf("binary message: %q %v", got, err)
	}
	if err := c.Write(wc, websocket.MessageText, []byte(`{"action":"echo","x":"`+"\xc3\x28"+`"}`)); err != nil {
		t.Fatal(err)
	}
	if code, reason := closeStatus(t, c); code != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("close %d %q, want 1007", code, reason)
	}
	d := g.backend.waitDisconnect(t, id, int(websocket.StatusInvalidFramePayloadData))
	if d.Reason == "" {
		t.Errorf("no close reason")
	}
	g.backend.mu.Lock()
	defer g.backend.mu.Unlock()
	for _, e := range g.backend.events {
		if e.RouteKey == "echo" {
			t.Errorf("the invalid message reached the backend: %q", e.Body)
		}
	}
}
