package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/pgtest"
	"github.com/tollgate-gw/tollgate/internal/redistest"
	"github.com/tollgate-gw/tollgate/server"
)

// startWSNode starts a gateway on a shared store and Redis with a short
// WebSocket entry TTL, and returns it with a function stopping it (also
// called when the test ends).
func startWSNode(t *testing.T, pgURL, redisURL string, logs io.Writer) (*server.Server, func()) {
	t.Helper()
	ts := startServer(t, server.Config{
		DataDir:           t.TempDir(),
		AdminAddr:         "127.0.0.1:0",
		ListenAddr:        "127.0.0.1:0",
		ShutdownTimeout:   10 * time.Second,
		Store:             pgURL,
		Redis:             redisURL,
		WebSocketEntryTTL: 900 * time.Millisecond,
		AdminToken:        nodeToken,
		Logger:            slog.New(slog.NewTextHandler(logs, nil)),
		Stderr:            io.Discard,
	})
	return ts.Server, func() { ts.stop(t) }
}

// TestFleetWebSocketCallbacks runs three gateways on one PostgreSQL and
// one Redis: a client connected to node A is reached by a POST sent to
// node B (with the admin token, with the callback token A gave its
// backend, and over gRPC), described by a GET on B, grouped and broadcast
// to through C,
// and closed by a DELETE on B; once A stops, B answers 410 for the
// connections A held.
func TestFleetWebSocketCallbacks(t *testing.T) {
	pg := pgtest.Start(t)
	rd := redistest.Start(t)
	url := pg.NewDatabase(t)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	a, stopA := startWSNode(t, url, rd.URL, logs)
	b, _ := startWSNode(t, url, rd.URL, logs)
	c, _ := startWSNode(t, url, rd.URL, logs)

	admin := newFleetAdmin(t, a)
	mock := &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{}}}
	if _, err := admin.CreateApi(admin.ctx, &adminv1.CreateApiRequest{ApiId: "chat", Api: &adminv1.Api{
		Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action", DefaultIntegration: mock,
	}}); err != nil {
		t.Fatal(err)
	}
	// $connect calls an HTTP backend, which keeps the callback token the
	// gateway sends it. No $default route: a message is answered with an
	// error frame naming the connection's ID.
	tokens := make(chan string, 10)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens <- r.Header.Get("X-Tollgate-Callback-Token")
	}))
	t.Cleanup(backend.Close)
	if _, err := admin.CreateRoute(admin.ctx, &adminv1.CreateRouteRequest{Parent: "apis/chat", RouteId: "connect",
		Route: &adminv1.Route{Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$connect"},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: backend.URL}}}}}); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDeployment(admin.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateStage(admin.ctx, &adminv1.CreateStageRequest{Parent: "apis/chat", StageId: "live",
		Stage: &adminv1.Stage{Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// connect dials node A (once it serves the stage) and learns the
	// connection's ID.
	connect := func() (*websocket.Conn, string) {
		t.Helper()
		var conn *websocket.Conn
		waitUntil(t, "node A serves the WebSocket stage", func() bool {
			var err error
			conn, _, err = websocket.Dial(ctx, "ws://"+a.DataAddr()+"/live", nil)
			return err == nil
		})
		t.Cleanup(func() { _ = conn.CloseNow() })
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"who"}`)); err != nil {
			t.Fatal(err)
		}
		_, b, err := conn.Read(ctx)
		var frame struct{ ConnectionID string }
		if err != nil || json.Unmarshal(b, &frame) != nil || frame.ConnectionID == "" {
			t.Fatalf("error frame: %s %v", b, err)
		}
		return conn, frame.ConnectionID
	}
	callback := func(s *server.Server, method, path, body string) (int, string) {
		t.Helper()
		res := doHTTP(t, http.DefaultClient, method, "http://"+s.DataAddr()+"/live/@connections"+path, "Bearer "+nodeToken, body)
		return res.status, res.body
	}
	read := func(conn *websocket.Conn) string {
		t.Helper()
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	conn, id := connect()
	waitUntil(t, "node B serves the stage's callback API", func() bool {
		code, _ := callback(b, http.MethodGet, "/"+id, "")
		return code == http.StatusOK
	})
	if code, body := callback(b, http.MethodPost, "/"+id, "via B"); code != http.StatusOK {
		t.Fatalf("POST via B: %d %s", code, body)
	}
	if got := read(conn); got != "via B" {
		t.Fatalf("the client on A got %q", got)
	}
	// The callback token node A gave its backend works on node B (the
	// nodes share the signing key), over gRPC too.
	token := <-tokens
	if res := doHTTP(t, http.DefaultClient, http.MethodPost, "http://"+b.DataAddr()+"/live/@connections/"+id, "Bearer "+token, "token via B"); res.status != http.StatusOK {
		t.Fatalf("POST via B with A's callback token: %d %s", res.status, res.body)
	}
	if got := read(conn); got != "token via B" {
		t.Fatalf("the client on A got %q", got)
	}
	grpcB := datav1.NewConnectionsServiceClient(dialTB(t, b.DataAddr()))
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := grpcB.PostToConnection(gctx, &datav1.PostToConnectionRequest{ConnectionId: id, Data: []byte("grpc via B")}); err != nil {
		t.Fatalf("ConnectionsService.PostToConnection via B: %v", err)
	}
	if got := read(conn); got != "grpc via B" {
		t.Fatalf("the client on A got %q", got)
	}
	code, body := callback(b, http.MethodGet, "/"+id, "")
	if code != http.StatusOK || !strings.Contains(body, `"connectionId":"`+id+`"`) || !strings.Contains(body, `"stage":"apis/chat/stages/live"`) {
		t.Fatalf("GET via B: %d %s", code, body)
	}
	waitUntil(t, "node C serves the stage's callback API", func() bool {
		code, _ := callback(c, http.MethodPut, "/"+id+"/groups/room", "")
		return code == http.StatusNoContent
	})
	if code, body := callback(c, http.MethodPost, "/@groups/room", "to the room"); code != http.StatusOK || !strings.Contains(body, `"sent":1`) {
		t.Fatalf("group broadcast via C: %d %s", code, body)
	}
	if got := read(conn); got != "to the room" {
		t.Fatalf("the client on A got %q", got)
	}
	if code, body := callback(b, http.MethodPost, "", "to the stage"); code != http.StatusOK || !strings.Contains(body, `"sent":1`) {
		t.Fatalf("stage broadcast via B: %d %s", code, body)
	}
	if got := read(conn); got != "to the stage" {
		t.Fatalf("the client on A got %q", got)
	}
	if code, body := callback(b, http.MethodDelete, "/"+id, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE via B: %d %s", code, body)
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after DELETE via B: %v, want a 1000 close", err)
	}
	waitUntil(t, "the deleted connection is gone on B", func() bool {
		code, _ := callback(b, http.MethodGet, "/"+id, "")
		return code == http.StatusGone
	})

	// Node A stops: its connections are gone for B too.
	_, id2 := connect()
	if code, body := callback(b, http.MethodGet, "/"+id2, ""); code != http.StatusOK {
		t.Fatalf("GET via B: %d %s", code, body)
	}
	stopA()
	waitUntil(t, "B answers 410 for a connection of the stopped node", func() bool {
		code, _ := callback(b, http.MethodGet, "/"+id2, "")
		return code == http.StatusGone
	})
	if code, body := callback(b, http.MethodPost, "/"+id2, "x"); code != http.StatusGone {
		t.Errorf("POST via B to the stopped node's connection: %d %s, want 410", code, body)
	}
}

// waitUntil polls cond until it holds, failing the test after a generous
// deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
