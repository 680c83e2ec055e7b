package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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
)

// forgedHeaders imitate what the gateway once handed its own in-process
// calls as metadata (the HTTP details of a REST call, its headers, its
// stage, its caller) and what it asserts to backends.
var forgedHeaders = map[string]string{
	"X-Tollgate-Http-Method":          "DELETE",
	"X-Tollgate-Http-Path":            "/admin/secret",
	"X-Tollgate-Http-Query":           "token=forged",
	"X-Tollgate-Source-Ip":            "6.6.6.6",
	"X-Tollgate-Stage-Ref":            "1",
	"X-Tollgate-Call":                 "00000000000000000000000000000000",
	"X-Tollgate-Header-Authorization": "real",
	"X-Tollgate-Principal":            "admin",
	"X-Tollgate-Client-Cert-Subject":  "CN=admin",
}

// recordingAuthorizer is a REQUEST authorizer that allows the caller whose
// Authorization header is "real", as principal "user-1", and records what
// it was asked.
type recordingAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
	mu   sync.Mutex
	last *datav1.AuthorizeRequest
}

func (a *recordingAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	a.mu.Lock()
	a.last = req
	a.mu.Unlock()
	effect := datav1.Effect_EFFECT_DENY
	if req.GetHeaders()["authorization"] == "real" {
		effect = datav1.Effect_EFFECT_ALLOW
	}
	return &datav1.AuthorizeResponse{PrincipalId: "user-1", Policy: []*datav1.Statement{{Effect: effect, Resources: []string{"*"}}}}, nil
}

func (a *recordingAuthorizer) take() *datav1.AuthorizeRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.last
	a.last = nil
	return r
}

// streamingMetadataEcho adds EchoServerStream to metadataEcho: one message,
// the JSON of the metadata received.
type streamingMetadataEcho struct{ metadataEcho }

func (streamingMetadataEcho) EchoServerStream(_ *examplev1.EchoRequest, s grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	b, _ := json.Marshal(md)
	return s.Send(&examplev1.EchoResponse{Message: string(b)})
}

// TestIssue14ClientCannotForgeInternalHeaders: a client that sends the
// gateway's internal x-tollgate-* entries — the HTTP details a transcoded
// call used to carry as metadata, a header copy, a stage reference, a
// principal — changes nothing the policies see (the authorizer's resource,
// path, source IP, identity) nor what the backend is told, on gRPC,
// unary and streaming REST, Connect and plain HTTP routes.
func TestIssue14ClientCannotForgeInternalHeaders(t *testing.T) {
	ra := &recordingAuthorizer{}
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, ra) })
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, streamingMetadataEcho{}) })
	httpBE := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(httpBE.Close)
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	gw, err := gateway.New(gateway.WithInterceptors(authz.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	byAuthorizer := &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"}
	d := deployment(t, "shop", "v1", be,
		&adminv1.Route{Name: "apis/shop/routes/echo", Authorization: byAuthorizer,
			Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}},
		&adminv1.Route{Name: "apis/shop/routes/stream", Authorization: byAuthorizer,
			Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/EchoServerStream"}},
		&adminv1.Route{Name: "apis/shop/routes/hook", Authorization: byAuthorizer,
			Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "POST", Path: "/hook"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpBE.URL}}}},
	)
	d.Snapshot.Authorizers = []*adminv1.Authorizer{{
		Name: "apis/shop/authorizers/a", Uid: "uid-1", Etag: "etag-1",
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:            adminv1.CustomAuthorizer_TYPE_REQUEST,
			Callout:         &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
			IdentitySources: []string{"$request.header.Authorization"},
			// Every call asks the authorizer: the test reads each request.
			ResultTtlSeconds: proto.Int32(0),
			Timeout:          durationpb.New(10 * time.Second),
		}},
	}}
	tg.load(t, entry("shop", "prod", d, nil))

	// httpCall makes an HTTP call with the forged headers (and the real
	// identity when real) and returns its status and body.
	httpCall := func(t *testing.T, path, contentType, body string, real bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, tg.url(path), strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if strings.Contains(path, ".EchoService/") {
			req.Header.Set("Connect-Protocol-Version", "1")
		}
		for k, v := range forgedHeaders {
			req.Header.Set(k, v)
		}
		if real {
			req.Header.Set("Authorization", "real")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	grpcCall := func(t *testing.T, real bool) (codes.Code, string) {
		t.Helper()
		c := ctx(t)
		for k, v := range forgedHeaders {
			c = metadata.AppendToOutgoingContext(c, strings.ToLower(k), v)
		}
		if real {
			c = metadata.AppendToOutgoingContext(c, "authorization", "real")
		}
		resp, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{})
		return status.Code(err), resp.GetMessage()
	}

	tests := []struct {
		name         string
		call         func(t *testing.T, real bool) (ok bool, backendSaw string)
		wantResource string
		wantMethod   string
		wantPath     string
	}{
		{"gRPC", func(t *testing.T, real bool) (bool, string) {
			code, msg := grpcCall(t, real)
			return code == codes.OK, msg
		}, "shop/prod/GRPC/tollgate.example.v1.EchoService/Echo", "POST", "/tollgate.example.v1.EchoService/Echo"},
		{"REST unary", func(t *testing.T, real bool) (bool, string) {
			code, body := httpCall(t, "/prod/v1/echo", "application/json", `{}`, real)
			var m struct{ Message string }
			_ = json.Unmarshal([]byte(body), &m)
			return code == http.StatusOK, m.Message
		}, "shop/prod/POST/v1/echo", "POST", "/v1/echo"},
		{"REST streaming", func(t *testing.T, real bool) (bool, string) {
			code, body := httpCall(t, "/prod/v1/echo:stream", "application/json", `{}`, real)
			var m struct{ Result struct{ Message string } }
			_ = json.Unmarshal([]byte(strings.SplitN(body, "\n", 2)[0]), &m)
			return code == http.StatusOK && m.Result.Message != "", m.Result.Message
		}, "shop/prod/POST/v1/echo:stream", "POST", "/v1/echo:stream"},
		{"Connect", func(t *testing.T, real bool) (bool, string) {
			code, body := httpCall(t, "/prod/tollgate.example.v1.EchoService/Echo", "application/json", `{}`, real)
			var m struct{ Message string }
			_ = json.Unmarshal([]byte(body), &m)
			return code == http.StatusOK, m.Message
		}, "shop/prod/GRPC/tollgate.example.v1.EchoService/Echo", "POST", "/tollgate.example.v1.EchoService/Echo"},
		{"plain HTTP", func(t *testing.T, real bool) (bool, string) {
			code, body := httpCall(t, "/prod/hook", "text/plain", "x", real)
			return code == http.StatusOK, body
		}, "shop/prod/POST/hook", "POST", "/hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A forged copy of the identity header is no identity.
			if ok, _ := tt.call(t, false); ok {
				t.Fatal("a call with only a forged x-tollgate-header-authorization was allowed")
			}
			if r := ra.take(); r != nil {
				t.Fatalf("the authorizer was asked without an identity: %v", r)
			}
			ok, backendSaw := tt.call(t, true)
			if !ok {
				t.Fatalf("the call with a real identity failed: %s", backendSaw)
			}
			r := ra.take()
			if r == nil {
				t.Fatal("the authorizer was not asked")
			}
			if r.GetMethodResource() != tt.wantResource || r.GetHttpMethod() != tt.wantMethod || r.GetPath() != tt.wantPath ||
				r.GetSourceIp() != "127.0.0.1" || len(r.GetQueryStringParameters()) != 0 {
				t.Errorf("the authorizer saw resource %q, %s %s?%v from %s; want %q, %s %s from 127.0.0.1",
					r.GetMethodResource(), r.GetHttpMethod(), r.GetPath(), r.GetQueryStringParameters(), r.GetSourceIp(),
					tt.wantResource, tt.wantMethod, tt.wantPath)
			}
			for k := range r.GetHeaders() {
				if strings.HasPrefix(k, "x-tollgate-") {
					t.Errorf("the authorizer received the client's %s", k)
				}
			}
			// A streaming REST call's record, registered for routing
			// to take, is gone once routed.
			if n := gw.PendingStreamingRESTCalls(); n != 0 {
				t.Errorf("%d streaming REST call records left behind", n)
			}
			// The backend hears the authorizer's principal, and no other
			// x-tollgate-* entry than the gateway's own.
			var saw map[string][]string
			if err := json.Unmarshal([]byte(backendSaw), &saw); err != nil {
				t.Fatalf("backend's echo %q: %v", backendSaw, err)
			}
			for k, vs := range saw {
				k = strings.ToLower(k)
				switch {
				case k == "x-tollgate-principal":
					if len(vs) != 1 || vs[0] != "user-1" {
						t.Errorf("the backend saw principal %q, want user-1", vs)
					}
				case strings.HasPrefix(k, "x-tollgate-"):
					t.Errorf("the backend received %s: %q", k, vs)
				}
			}
		})
	}
}

// TestIssue14WebSocketClientCannotForgeInternalHeaders: a WebSocket
// client's x-tollgate-* headers reach neither the $connect integration nor
// the principal.
func TestIssue14WebSocketClientCannotForgeInternalHeaders(t *testing.T) {
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, wsAuthorizer{}) })
	a := &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
		Type: adminv1.CustomAuthorizer_TYPE_REQUEST, Callout: &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
		IdentitySources: []string{"$request.header.X-User", "$request.querystring.token"}, Timeout: durationpb.New(10 * time.Second),
	}}}
	g, _ := wsAuthGateway(t, a, &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/chat/authorizers/a"})
	h := http.Header{"X-User": {"bob"}}
	for k, v := range forgedHeaders {
		h.Set(k, v)
	}
	h.Set("X-Tollgate-Header-X-User", "admin")
	if _, _, err := g.dial(t, "/prod?token=allow", h); err != nil {
		t.Fatalf("dial: %v", err)
	}
	connect := g.backend.lastConnect(t)
	if connect.Principal != "bob" {
		t.Errorf("$connect principal %q, want bob", connect.Principal)
	}
	for k := range connect.Headers {
		if strings.HasPrefix(strings.ToLower(k), "x-tollgate-") {
			t.Errorf("the $connect integration received the client's %s", k)
		}
	}
}
