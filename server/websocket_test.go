package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// TestWebSocketAPIEndToEnd creates a WebSocket API for the example chat
// backend through the admin API, deploys it, and chats through the data
// port: rooms fanned out through the callback API, a two-way route, the
// stage's route throttle applied per message, the callback API with the
// admin token, and connections closed with 1001 at shutdown.
func TestWebSocketAPIEndToEnd(t *testing.T) {
	be, err := examplebackend.StartChat("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(be.Stop)
	ts := startServer(t, testConfig(t))
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	integration := &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
		Target: be.Addr(), Method: "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage",
	}}}
	if _, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: "chat", Api: &adminv1.Api{
		Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action", DefaultIntegration: integration,
	}}); err != nil {
		t.Fatal(err)
	}
	for id, r := range map[string]*adminv1.Route{
		"connect":    {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$connect"}},
		"disconnect": {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$disconnect"}},
		"send":       {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "send"}},
		"whoami":     {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "whoami"}, ReturnResponse: true},
		"default":    {Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$default"}, ReturnResponse: true},
	} {
		if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/chat", RouteId: id, Route: r}); err != nil {
			t.Fatalf("route %s: %v", id, err)
		}
	}
	// Only $connect may be authorized.
	_, err = admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/chat", RouteId: "bad", Route: &adminv1.Route{
		Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "bad"}, ApiKeyRequired: true,
	}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("api_key_required on a message route: %v, want INVALID_ARGUMENT", err)
	}
	d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: "apis/chat", StageId: "live", Stage: &adminv1.Stage{
		Deployment: d.GetName(),
		RouteSettings: map[string]*adminv1.RouteSettings{
			"whoami":  {Throttle: &adminv1.ThrottleSettings{RateLimit: 0.001, BurstLimit: 1}},
			"connect": {Throttle: &adminv1.ThrottleSettings{RateLimit: 0.001, BurstLimit: 3}},
		},
		Websocket: &adminv1.WebSocketSettings{IdleTimeout: durationpb.New(time.Minute)},
	}}); err != nil {
		t.Fatal(err)
	}
	dialWS := func(query string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws://"+ts.DataAddr()+"/live"+query, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	readMsg := func(c *websocket.Conn) string {
		rc, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, b, err := c.Read(rc)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	ann, bob, eve := dialWS("?room=r1&name=ann"), dialWS("?room=r1&name=bob"), dialWS("?room=r2&name=eve")
	// The $connect route's throttle refuses the fourth upgrade.
	if _, resp, err := websocket.Dial(ctx, "ws://"+ts.DataAddr()+"/live", nil); err == nil || resp == nil ||
		resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("fourth connect: %v %v, want 429 with Retry-After", err, resp)
	}

	if err := ann.Write(ctx, websocket.MessageText, []byte(`{"action":"send","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{ann, bob} {
		if got := readMsg(c); got != `{"from":"ann","room":"r1","text":"hi"}` {
			t.Errorf("room r1 got %s", got)
		}
	}
	// eve (room r2) got nothing: her next message is her own echo.
	_ = eve.Write(ctx, websocket.MessageText, []byte(`plain`))
	if got := readMsg(eve); got != "plain" {
		t.Errorf("eve got %q", got)
	}

	_ = bob.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`))
	var who struct{ ConnectionID, Name, Room string }
	if err := json.Unmarshal([]byte(readMsg(bob)), &who); err != nil || who.Name != "bob" || who.ConnectionID == "" {
		t.Fatalf("whoami: %+v %v", who, err)
	}
	_ = bob.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`))
	if got := readMsg(bob); !strings.Contains(got, `"message":"Too Many Requests"`) || !strings.Contains(got, who.ConnectionID) || !strings.Contains(got, `"reason":"THROTTLED"`) {
		t.Errorf("throttled whoami: %s", got)
	}

	res := doHTTP(t, http.DefaultClient, http.MethodGet, "http://"+ts.DataAddr()+"/live/@connections/"+who.ConnectionID, "Bearer "+ts.AdminToken(), "")
	if res.status != http.StatusOK || !strings.Contains(res.body, `"groups":["room-r1"]`) {
		t.Errorf("GET connection with the admin token: %d %s", res.status, res.body)
	}
	if res := doHTTP(t, http.DefaultClient, http.MethodGet, "http://"+ts.DataAddr()+"/live/@connections/"+who.ConnectionID, "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d", res.status)
	}

	// Every message is metered as a call of its route.
	metrics := doHTTP(t, http.DefaultClient, http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	for _, want := range []string{`protocol="websocket"`, `route="whoami"`, `route="send"`, `route="connect"`} {
		if !strings.Contains(metrics.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	ts.stop(t)
	for _, c := range []*websocket.Conn{ann, bob, eve} {
		rc, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		for err == nil {
			_, _, err = c.Read(rc)
		}
		cancel()
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("at shutdown: %v, want 1001", err)
		}
	}
}
