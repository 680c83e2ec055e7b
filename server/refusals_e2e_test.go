package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// connectDetails returns the ErrorInfo reason of a Connect or gRPC-Web
// error and whether it carries a RetryInfo.
func connectDetails(err error) (reason string, retryInfo bool) {
	ce, ok := err.(*connect.Error)
	if !ok {
		return "", false
	}
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			reason = v.GetReason()
		case *errdetails.RetryInfo:
			retryInfo = true
		}
	}
	return reason, retryInfo
}

// statusBody is the google.rpc.Status JSON of an HTTP refusal.
type statusBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type   string `json:"@type"`
		Reason string `json:"reason"`
	} `json:"details"`
}

func (b statusBody) reason() string {
	for _, d := range b.Details {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

// upgrade dials a WebSocket stage; on a refusal it returns the response.
func upgrade(t *testing.T, url string, header http.Header) (status int, hdr http.Header, body string) {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		_ = c.CloseNow()
		return http.StatusSwitchingProtocols, resp.Header, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRefusalsOnEveryProtocol checks that the gateway's refusals carry
// their ErrorInfo reason in each protocol's native error form (Connect
// error details, gRPC-Web's grpc-status-details-bin trailer, the JSON body
// of a refused WebSocket upgrade), that an API's gateway responses apply
// to WebSocket upgrade refusals as to REST, and that no protocol tells a
// client the address of a backend it could not reach (issue 18).
func TestRefusalsOnEveryProtocol(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	const tpl = `{"reason":"$context.error.reason","type":"$context.error.responseType","requestId":"$context.requestId"}`
	responses := map[string]*adminv1.GatewayResponse{
		gatewayerr.ResponseMissingAuthenticationToken: {StatusCode: 401, ResponseHeaders: map[string]string{"WWW-Authenticate": "ApiKey"}, BodyTemplate: tpl},
		gatewayerr.ResponseThrottled:                  {ResponseHeaders: map[string]string{"X-Throttled": "yes"}},
		gatewayerr.ResponseAccessDenied:               {ResponseHeaders: map[string]string{"X-Denied": "yes"}},
	}
	for _, api := range []string{"apis/bookstore", "apis/chat"} {
		if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
			Api: &adminv1.Api{Name: api, GatewayResponses: responses}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"gateway_responses"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A plain HTTP route refused by the chain.
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "ok"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	deployKeyedEcho(t, admin, ctx) // Echo needs an API key; deploys the bookstore

	// Plain HTTP: the customised response, its template's request ID the
	// one the response carries.
	var custom struct{ Reason, Type, RequestID string }
	res := doHTTP(t, http1Client(t), "GET", "http://"+ts.DataAddr()+"/demo/keyed", "", "")
	_ = json.Unmarshal([]byte(res.body), &custom)
	if res.status != 401 || custom.Reason != "API_KEY_MISSING" || custom.RequestID == "" || custom.RequestID != res.header.Get("X-Request-Id") {
		t.Errorf("plain HTTP route without a key: %d %v %s", res.status, res.header, res.body)
	}

	// gRPC-Web and Connect: the reason in the protocol's error details;
	// gateway responses are for HTTP clients, not RPC ones.
	hc := http1Client(t)
	echoURL := "http://" + ts.DataAddr() + "/demo/tollgate.example.v1.EchoService/Echo"
	clients := map[string]*connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]{
		"Connect":  connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](hc, echoURL),
		"gRPC-Web": connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](hc, echoURL, connect.WithGRPCWeb()),
	}
	call := func(c *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse], key string) error {
		req := connect.NewRequest(&examplev1.EchoRequest{Message: "hi"})
		if key != "" {
			req.Header().Set("X-Api-Key", key)
		}
		_, err := c.CallUnary(t.Context(), req)
		return err
	}
	for _, name := range []string{"Connect", "gRPC-Web"} {
		for _, tt := range []struct {
			key, reason string
			code        connect.Code
		}{
			{"", "API_KEY_MISSING", connect.CodePermissionDenied},
			{"nope", "API_KEY_INVALID", connect.CodePermissionDenied},
		} {
			err := call(clients[name], tt.key)
			if reason, _ := connectDetails(err); connect.CodeOf(err) != tt.code || reason != tt.reason {
				t.Errorf("%s with key %q: %v (reason %q), want %v with %s", name, tt.key, err, reason, tt.code, tt.reason)
			}
		}
	}

	// Throttled: RetryInfo and the reason on both; REST gets the customised
	// response with Retry-After.
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", RouteSettings: map[string]*adminv1.RouteSettings{"echo": {Throttle: &adminv1.ThrottleSettings{RateLimit: 0.001, BurstLimit: 1}}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"route_settings"}},
	}); err != nil {
		t.Fatal(err)
	}
	_ = call(clients["Connect"], "") // the bucket's one token
	for _, name := range []string{"Connect", "gRPC-Web"} {
		err := call(clients[name], "")
		if reason, retry := connectDetails(err); connect.CodeOf(err) != connect.CodeResourceExhausted || reason != "THROTTLED" || !retry {
			t.Errorf("%s throttled: %v (reason %q, RetryInfo %v)", name, err, reason, retry)
		}
	}
	res = doHTTP(t, hc, "POST", "http://"+ts.DataAddr()+"/demo/v1/echo", "", `{"message":"hi"}`)
	var rb statusBody
	_ = json.Unmarshal([]byte(res.body), &rb)
	if res.status != 429 || res.header.Get("X-Throttled") != "yes" || res.header.Get("Retry-After") == "" || rb.reason() != "THROTTLED" {
		t.Errorf("REST throttled: %d %v %s", res.status, res.header, res.body)
	}

	// WebSocket upgrades: the $connect call's refusals are HTTP responses,
	// customised like REST's.
	if _, err := admin.UpdateRoute(ctx, &adminv1.UpdateRouteRequest{
		Route: &adminv1.Route{Name: "apis/chat/routes/connect", ApiKeyRequired: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_key_required"}},
	}); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{
		Stage: &adminv1.Stage{Name: "apis/chat/stages/live", Deployment: d.GetName(),
			RouteSettings: map[string]*adminv1.RouteSettings{"connect": {Throttle: &adminv1.ThrottleSettings{RateLimit: 0.001, BurstLimit: 2}}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment", "route_settings"}},
	}); err != nil {
		t.Fatal(err)
	}
	wsURL := "ws://" + ts.DataAddr() + "/live?room=lobby&name=ann"
	code, hdr, body := upgrade(t, wsURL, nil)
	custom.RequestID = ""
	_ = json.Unmarshal([]byte(body), &custom)
	if code != 401 || hdr.Get("WWW-Authenticate") != "ApiKey" || custom.Reason != "API_KEY_MISSING" || custom.Type != "MISSING_AUTHENTICATION_TOKEN" || custom.RequestID == "" || custom.RequestID != hdr.Get("X-Request-Id") {
		t.Errorf("upgrade without a key: %d %v %s", code, hdr, body)
	}
	code, _, body = upgrade(t, wsURL, http.Header{"X-Api-Key": {"nope"}})
	var sb statusBody
	_ = json.Unmarshal([]byte(body), &sb)
	if code != 403 || sb.reason() != "API_KEY_INVALID" || sb.Message != "Forbidden" {
		t.Errorf("upgrade with an invalid key: %d %s", code, body)
	}
	code, hdr, body = upgrade(t, wsURL, nil)
	sb = statusBody{}
	_ = json.Unmarshal([]byte(body), &sb)
	if code != 429 || hdr.Get("X-Throttled") != "yes" || hdr.Get("Retry-After") == "" || sb.reason() != "THROTTLED" {
		t.Errorf("throttled upgrade: %d %v %s", code, hdr, body)
	}
	code, hdr, body = upgrade(t, wsURL, http.Header{"Origin": {"https://evil.example"}})
	sb = statusBody{}
	_ = json.Unmarshal([]byte(body), &sb)
	if code != 403 || hdr.Get("X-Denied") != "yes" || sb.reason() != gatewayerr.ReasonOriginNotAllowed {
		t.Errorf("upgrade from another origin: %d %v %s", code, hdr, body)
	}

	// A backend the gateway cannot reach: the reason, never its address
	// or the dial error, on every protocol.
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	const dead = "127.0.0.1:1"
	deployDead := func(id string, api *adminv1.Api) {
		t.Helper()
		if _, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: id, Api: api}); err != nil {
			t.Fatal(err)
		}
		if api.GetProtocol() == adminv1.Api_PROTOCOL_WEBSOCKET {
			if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/" + id, RouteId: "connect", Route: &adminv1.Route{
				Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$connect"},
			}}); err != nil {
				t.Fatal(err)
			}
		}
		d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/" + id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: "apis/" + id, StageId: id, Stage: &adminv1.Stage{Deployment: d.GetName()}}); err != nil {
			t.Fatal(err)
		}
	}
	deployDead("dead", &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: dead}}},
	})
	deployDead("deadws", &adminv1.Api{
		Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action",
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Target: dead, Method: "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage",
		}}},
	})
	leaks := func(s string) bool {
		return strings.Contains(s, "127.0.0.1") || strings.Contains(s, "dial") || strings.Contains(s, "refused")
	}
	deadURL := "http://" + ts.DataAddr() + "/dead/tollgate.example.v1.EchoService/Echo"
	for name, c := range map[string]*connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]{
		"Connect":  connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](hc, deadURL),
		"gRPC-Web": connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](hc, deadURL, connect.WithGRPCWeb()),
	} {
		err := call(c, "")
		if reason, _ := connectDetails(err); connect.CodeOf(err) != connect.CodeUnavailable || reason != gatewayerr.ReasonBackendUnavailable || leaks(err.Error()) {
			t.Errorf("%s to a dead backend: %v (reason %q)", name, err, reason)
		}
	}
	_, err = examplev1.NewEchoServiceClient(dial(t, ts.DataAddr())).Echo(metadata.AppendToOutgoingContext(t.Context(), "x-tollgate-stage", "dead"), &examplev1.EchoRequest{Message: "hi"})
	if status.Code(err) != codes.Unavailable || gatewayerr.Reason(err) != gatewayerr.ReasonBackendUnavailable || leaks(err.Error()) {
		t.Errorf("gRPC to a dead backend: %v", err)
	}
	res = doHTTP(t, hc, "POST", "http://"+ts.DataAddr()+"/dead/v1/echo", "", `{"message":"hi"}`)
	if res.status != 502 || leaks(res.body) || !strings.Contains(res.body, gatewayerr.ReasonBackendUnavailable) {
		t.Errorf("REST to a dead backend: %d %s", res.status, res.body)
	}
	code, _, body = upgrade(t, "ws://"+ts.DataAddr()+"/deadws", nil)
	sb = statusBody{}
	_ = json.Unmarshal([]byte(body), &sb)
	if code != 502 || leaks(body) || sb.reason() != gatewayerr.ReasonBackendUnavailable {
		t.Errorf("WebSocket upgrade to a dead backend: %d %s", code, body)
	}
}
