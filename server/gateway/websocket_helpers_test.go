package gateway_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// handleMethod is the integration method of the test WebSocket backend.
const handleMethod = "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage"

// wsEvent is one event a test backend received.
type wsEvent struct {
	RouteKey, ConnectionID, Principal, Body, CallbackURL, CallbackToken string
	Context, Headers, Query                                             map[string]string
	Code                                                                int32
	Reason                                                              string
}

// wsBackend is a gRPC WebSocket backend recording every event. $connect is
// refused with PERMISSION_DENIED for a "reject" query parameter, never
// answered for "hang", and joins the groups of a "groups" query
// parameter; messages are echoed with the route key in front; a message
// {"action":"sleep"} sleeps 300 ms.
type wsBackend struct {
	datav1.UnimplementedWebSocketIntegrationServiceServer
	mu     sync.Mutex
	events []wsEvent
	notify chan wsEvent
}

func newWSBackend() *wsBackend { return &wsBackend{notify: make(chan wsEvent, 10000)} }

func (b *wsBackend) HandleMessage(ctx context.Context, req *datav1.HandleMessageRequest) (*datav1.HandleMessageResponse, error) {
	ev := wsEvent{
		RouteKey: req.GetRouteKey(), ConnectionID: req.GetConnectionId(), Principal: req.GetPrincipal(), Body: string(req.GetBody()),
		CallbackURL: req.GetCallbackUrl(), CallbackToken: req.GetCallbackToken(), Context: req.GetAuthorizerContext(),
		Headers: req.GetHeaders(), Query: req.GetQueryStringParameters(), Code: req.GetDisconnectStatusCode(), Reason: req.GetDisconnectReason(),
	}
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	b.notify <- ev
	switch req.GetRouteKey() {
	case routing.ConnectKey:
		if req.GetQueryStringParameters()["reject"] != "" {
			return nil, status.Error(codes.PermissionDenied, "rejected by the backend")
		}
		if req.GetQueryStringParameters()["hang"] != "" {
			<-ctx.Done() // until the gateway's route timeout ends the call
			return nil, ctx.Err()
		}
		var groups []string
		if g := req.GetQueryStringParameters()["groups"]; g != "" {
			groups = strings.Split(g, ",")
		}
		var sub string
		if strings.Contains(req.GetHeaders()["sec-websocket-protocol"], "chat.v1") {
			sub = "chat.v1"
		}
		return &datav1.HandleMessageResponse{Groups: groups, Subprotocol: sub}, nil
	case routing.DisconnectKey:
		return &datav1.HandleMessageResponse{}, nil
	}
	if strings.Contains(string(req.GetBody()), `"sleep"`) {
		time.Sleep(300 * time.Millisecond)
	}
	return &datav1.HandleMessageResponse{Body: []byte(req.GetRouteKey() + ":" + string(req.GetBody()))}, nil
}

// disconnects returns the $disconnect events of a connection.
func (b *wsBackend) disconnects(id string) []wsEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []wsEvent
	for _, e := range b.events {
		if e.RouteKey == routing.DisconnectKey && e.ConnectionID == id {
			out = append(out, e)
		}
	}
	return out
}

// waitDisconnect waits for the $disconnect of a connection and checks it
// ran exactly once (also a little later) with the wanted code.
func (b *wsBackend) waitDisconnect(t *testing.T, id string, code int) wsEvent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(b.disconnects(id)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no $disconnect for %s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	d := b.disconnects(id)
	if len(d) != 1 {
		t.Fatalf("$disconnect ran %d times for %s, want once", len(d), id)
	}
	if int(d[0].Code) != code {
		t.Errorf("$disconnect code = %d (%q), want %d", d[0].Code, d[0].Reason, code)
	}
	return d[0]
}

// connectEvent returns the $connect event of the last connection.
func (b *wsBackend) lastConnect(t *testing.T) wsEvent {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.events) - 1; i >= 0; i-- {
		if b.events[i].RouteKey == routing.ConnectKey {
			return b.events[i]
		}
	}
	t.Fatal("no $connect event")
	return wsEvent{}
}

// wsRoute is a WebSocket route with the test backend's gRPC integration
// (or none, to use the API's default integration).
func wsRoute(id, key string, twoWay bool) *adminv1.Route {
	return &adminv1.Route{Name: "apis/chat/routes/" + id, Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: key}, ReturnResponse: twoWay}
}

// wsDeployment is a WebSocket API "chat" with the default integration to
// target and routes.
func wsDeployment(target string, routes ...*adminv1.Route) *adminv1.Deployment {
	return &adminv1.Deployment{
		Name: "apis/chat/deployments/d1",
		Snapshot: &adminv1.ApiSnapshot{
			Api: &adminv1.Api{
				Name: "apis/chat", Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action",
				DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: target, Method: handleMethod}}},
			},
			Routes: routes,
		},
	}
}

// defaultWSRoutes are $connect, $disconnect, a two-way "echo" route, a
// one-way "quiet" route and a two-way $default.
func defaultWSRoutes() []*adminv1.Route {
	return []*adminv1.Route{
		wsRoute("connect", "$connect", false), wsRoute("disconnect", "$disconnect", false),
		wsRoute("echo", "echo", true), wsRoute("quiet", "quiet", false), wsRoute("sleep", "sleep", true), wsRoute("default", "$default", true),
	}
}

// wsStage is the stage "prod" of a deployment with WebSocket settings.
func wsStage(d *adminv1.Deployment, settings *adminv1.WebSocketSettings) routing.Entry {
	return routing.Entry{Stage: &adminv1.Stage{Name: "apis/chat/stages/prod", Deployment: d.GetName(), Websocket: settings}, Deployment: d}
}

// wsGateway serves a gateway with interceptors, the test backend, and a
// WebSocket API with the given routes and settings on stage prod.
type wsGateway struct {
	*testGateway
	backend *wsBackend
	target  string
	tls     bool // served over TLS (wss://)
}

const testAdminToken = "admin-token-0123456789"

func startWSGateway(t *testing.T, settings *adminv1.WebSocketSettings, interceptors []grpc.StreamServerInterceptor, routes ...*adminv1.Route) *wsGateway {
	t.Helper()
	return startWSGatewayWith(t, nil, settings, interceptors, routes...)
}

// startWSGatewayWith is startWSGateway with more gateway options (a fake
// clock).
func startWSGatewayWith(t *testing.T, opts []gateway.Option, settings *adminv1.WebSocketSettings, interceptors []grpc.StreamServerInterceptor, routes ...*adminv1.Route) *wsGateway {
	t.Helper()
	return startWSGatewayOver(t, false, opts, settings, interceptors, routes...)
}

// startWSGatewayOver is startWSGatewayWith, over TLS if useTLS (through
// connsplit, as a data port with a certificate).
func startWSGatewayOver(t *testing.T, useTLS bool, opts []gateway.Option, settings *adminv1.WebSocketSettings, interceptors []grpc.StreamServerInterceptor, routes ...*adminv1.Route) *wsGateway {
	t.Helper()
	be := newWSBackend()
	target := startServer(t, func(s *grpc.Server) { datav1.RegisterWebSocketIntegrationServiceServer(s, be) })
	opts = append([]gateway.Option{gateway.WithInterceptors(interceptors...), gateway.WithCallbackAdminToken(func(tok string) bool { return tok == testAdminToken })}, opts...)
	gw, err := gateway.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var tg *testGateway
	if useTLS {
		tg = serveGatewayTLS(t, gw)
	} else {
		tg = serveGateway(t, gw)
	}
	if routes == nil {
		routes = defaultWSRoutes()
	}
	tg.load(t, wsStage(wsDeployment(target, routes...), settings))
	return &wsGateway{testGateway: tg, backend: be, target: target, tls: useTLS}
}

// dial connects a WebSocket client to path with headers.
func (g *wsGateway) dial(t *testing.T, path string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	url, opts := "ws://"+g.addr+path, &websocket.DialOptions{HTTPHeader: header}
	if g.tls {
		url = "wss://" + g.addr + path
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test's throwaway certificate
		}}
	}
	c, resp, err := websocket.Dial(ctx(t), url, opts)
	if c != nil {
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, resp, err
}

// mustDial connects and returns the connection and its ID (from the
// backend's $connect event).
func (g *wsGateway) mustDial(t *testing.T, path string) (*websocket.Conn, string) {
	t.Helper()
	c, _, err := g.dial(t, path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return c, g.backend.lastConnect(t).ConnectionID
}

// roundTrip sends a text message and reads the next one.
func roundTrip(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.Write(ctx(t), websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	return read(t, c)
}

// read reads one message within 5 s.
func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	rc, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// errorFrame decodes an error frame.
func errorFrame(t *testing.T, s string) (msg, connID, reqID string) {
	t.Helper()
	var f struct{ Message, ConnectionID, RequestID string }
	if err := json.Unmarshal([]byte(s), &f); err != nil || f.Message == "" {
		t.Fatalf("not an error frame: %s", s)
	}
	return f.Message, f.ConnectionID, f.RequestID
}

// closeStatus reads until the connection closes and returns the close code
// and reason.
func closeStatus(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	rc, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(rc)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

// callback calls the HTTP callback API.
func (g *wsGateway) callback(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), method, g.url("/prod/@connections"+path), strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

// settings returns WebSocketSettings.
func settings(idle, maxDur time.Duration, maxMsg int64, queue int32) *adminv1.WebSocketSettings {
	s := &adminv1.WebSocketSettings{MaxMessageBytes: maxMsg, SendQueueSize: queue}
	if idle > 0 {
		s.IdleTimeout = durationpb.New(idle)
	}
	if maxDur > 0 {
		s.MaxConnectionDuration = durationpb.New(maxDur)
	}
	return s
}

var _ = proto.Clone
var _ = httptest.NewServer
