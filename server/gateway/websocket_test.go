package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/testkit"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

func TestWebSocketRouteSelection(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	tests := []struct {
		name, msg, want string
	}{
		{"custom key, two-way", `{"action":"echo","n":1}`, `echo:{"action":"echo","n":1}`},
		{"unknown key goes to $default", `{"action":"nope"}`, `$default:{"action":"nope"}`},
		{"no key goes to $default", `{"other":1}`, `$default:{"other":1}`},
		{"not JSON goes to $default", `hello`, `$default:hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roundTrip(t, c, tt.msg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("one-way route sends nothing back", func(t *testing.T) {
		if err := c.Write(ctx(t), websocket.MessageText, []byte(`{"action":"quiet"}`)); err != nil {
			t.Fatal(err)
		}
		// The next answer is the echo's: the quiet route answered nothing.
		if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
			t.Errorf("got %q", got)
		}
	})
	ev := g.backend.lastConnect(t)
	if ev.ConnectionID != id || len(id) != 22 {
		t.Errorf("connection id %q", id)
	}
	if want := "http://" + g.addr + "/prod/@connections"; ev.CallbackURL != want {
		t.Errorf("callback URL %q, want %q", ev.CallbackURL, want)
	}
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	d := g.backend.waitDisconnect(t, id, 1000)
	if d.Reason != "bye" {
		t.Errorf("$disconnect reason %q", d.Reason)
	}
}

func TestWebSocketCallbackURLIgnoresClientHost(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, _, err := websocket.Dial(ctx(t), "ws://"+g.addr+"/prod", &websocket.DialOptions{Host: "attacker.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// The callback token goes to this URL: never to a host a client named.
	if got, want := g.backend.lastConnect(t).CallbackURL, "http://"+g.addr+"/prod/@connections"; got != want {
		t.Errorf("callback URL %q, want %q", got, want)
	}
}

func TestWebSocketNoDefaultRoute(t *testing.T) {
	g := startWSGateway(t, nil, nil, wsRoute("echo", "echo", true))
	c, _, err := g.dial(t, "/prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, connID, _ := errorFrame(t, roundTrip(t, c, `{"action":"nope"}`))
	if msg != "Forbidden" || connID == "" {
		t.Errorf("error frame %q %q", msg, connID)
	}
	if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
		t.Errorf("the connection did not survive: %q", got)
	}
}

func TestWebSocketUpgradeRequired(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	resp, err := http.Get(g.url("/prod"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d, want 426", resp.StatusCode)
	}
}

func TestWebSocketConnectRejectedByIntegration(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	_, resp, err := g.dial(t, "/prod?reject=1", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial: %v, %v; want 403", err, resp)
	}
	if g.gw.Connections() != 0 {
		t.Errorf("%d connections after a refused upgrade", g.gw.Connections())
	}
}

// refusing is a policy interceptor refusing messages whose route is
// "echo" with RESOURCE_EXHAUSTED (as the throttle does) every other call,
// and $connect calls with a "deny" header.
func refusing() grpc.StreamServerInterceptor {
	var mu sync.Mutex
	n := 0
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		r := routing.FromContext(ss.Context())
		md, _ := metadata.FromIncomingContext(ss.Context())
		if len(md.Get("x-deny")) > 0 {
			return status.Error(codes.ResourceExhausted, "Too Many Requests")
		}
		if r.Key == "echo" {
			mu.Lock()
			n++
			refuse := n%2 == 0
			mu.Unlock()
			if refuse {
				return status.Error(codes.ResourceExhausted, "Too Many Requests")
			}
		}
		return handler(srv, ss)
	}
}

func TestWebSocketPolicyRefusals(t *testing.T) {
	g := startWSGateway(t, nil, []grpc.StreamServerInterceptor{refusing()})
	_, resp, err := g.dial(t, "/prod", http.Header{"X-Deny": {"1"}})
	if err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("refused $connect: %v %v, want 429", err, resp)
	}
	c, id := g.mustDial(t, "/prod")
	if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
		t.Fatalf("first: %q", got)
	}
	msg, connID, reqID := errorFrame(t, roundTrip(t, c, `{"action":"echo"}`))
	if msg != "Too Many Requests" || connID != id || reqID == "" {
		t.Errorf("throttled frame: %q %q %q", msg, connID, reqID)
	}
	if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
		t.Errorf("after a refusal the connection must stay open: %q", got)
	}
}

func TestWebSocketCallbackAPI(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	token := g.backend.lastConnect(t).CallbackToken
	if token == "" {
		t.Fatal("no callback token sent to the backend")
	}
	for _, tok := range []string{testAdminToken, token} {
		if code, body := g.callback(t, http.MethodPost, "/"+id, tok, "pushed"); code != http.StatusOK {
			t.Fatalf("POST: %d %s", code, body)
		}
		if got := read(t, c); got != "pushed" {
			t.Errorf("client got %q", got)
		}
	}
	code, body := g.callback(t, http.MethodGet, "/"+id, token, "")
	var conn struct {
		ConnectionID, ConnectedAt, LastActiveAt string
		Identity                                struct{ SourceIP, UserAgent string }
	}
	if err := json.Unmarshal([]byte(body), &conn); code != http.StatusOK || err != nil {
		t.Fatalf("GET: %d %s", code, body)
	}
	if conn.ConnectionID != id || conn.ConnectedAt == "" || conn.LastActiveAt == "" || conn.Identity.SourceIP != "127.0.0.1" {
		t.Errorf("GET: %s", body)
	}
	for _, tt := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", http.MethodPost, "/" + id, "", http.StatusUnauthorized},
		{"bad token", http.MethodPost, "/" + id, "tgcb1.x.1.y", http.StatusUnauthorized},
		{"wrong admin token", http.MethodGet, "/" + id, "admin-token-wrong-0000", http.StatusUnauthorized},
		{"unknown connection", http.MethodPost, "/AAAAAAAAAAAAAAAAAAAAAA", token, http.StatusGone},
		{"unknown connection GET", http.MethodGet, "/AAAAAAAAAAAAAAAAAAAAAA", token, http.StatusGone},
		{"bad method", http.MethodPatch, "/" + id, token, http.StatusMethodNotAllowed},
		{"bad group", http.MethodPut, "/" + id + "/groups/a%20b", token, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := g.callback(t, tt.method, tt.path, tt.token, "x"); code != tt.want {
				t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, code, body, tt.want)
			}
		})
	}
	if code, body := g.callback(t, http.MethodDelete, "/"+id, token, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, reason := closeStatus(t, c); code != websocket.StatusNormalClosure {
		t.Errorf("client saw close %d %q, want 1000", code, reason)
	}
	g.backend.waitDisconnect(t, id, 1000)
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if code, _ := g.callback(t, m, "/"+id, token, "late"); code != http.StatusGone {
			t.Errorf("%s after close: %d, want 410", m, code)
		}
	}
}

func TestWebSocketCallbackTokenScope(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	_, id := g.mustDial(t, "/prod")
	// A token for another stage reaches none of this stage's connections.
	other := startWSGateway(t, nil, nil)
	_, _ = other.mustDial(t, "/prod")
	foreign := other.backend.lastConnect(t).CallbackToken
	if code, _ := g.callback(t, http.MethodPost, "/"+id, foreign, "x"); code != http.StatusUnauthorized {
		t.Errorf("a token minted by another gateway: %d, want 401", code)
	}
}

func TestWebSocketConnectionsServiceGRPC(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	token := g.backend.lastConnect(t).CallbackToken
	client := datav1.NewConnectionsServiceClient(g.grpcConn(t))
	authed := metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+token)
	if _, err := client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: id, Data: []byte("over grpc")}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "over grpc" {
		t.Errorf("client got %q", got)
	}
	got, err := client.GetConnection(authed, &datav1.GetConnectionRequest{ConnectionId: id})
	if err != nil || got.GetConnectionId() != id || got.GetStage() != "apis/chat/stages/prod" {
		t.Fatalf("GetConnection: %v %v", got, err)
	}
	if _, err := client.PostToConnection(ctx(t), &datav1.PostToConnectionRequest{ConnectionId: id}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without a token: %v", err)
	}
	_, err = client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: "unknown"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown connection: %v, want NOT_FOUND", err)
	}
	if d := status.Convert(err).Details(); len(d) != 1 || !strings.Contains(fmt.Sprint(d[0]), "GONE") {
		t.Errorf("details %v, want an ErrorInfo GONE", d)
	}
	if _, err := client.PostToStage(authed, &datav1.PostToStageRequest{Stage: "apis/other/stages/prod", Data: []byte("x")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("broadcast to another stage: %v, want PERMISSION_DENIED", err)
	}
	if _, err := client.DeleteConnection(authed, &datav1.DeleteConnectionRequest{ConnectionId: id}); err != nil {
		t.Fatal(err)
	}
	g.backend.waitDisconnect(t, id, 1000)
	if _, err := client.GetConnection(authed, &datav1.GetConnectionRequest{ConnectionId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("after delete: %v", err)
	}
}

func TestWebSocketGroupsAndBroadcast(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	a, _ := g.mustDial(t, "/prod?groups=red,blue")
	b, idB := g.mustDial(t, "/prod?groups=blue")
	c, idC := g.mustDial(t, "/prod")
	code, body := g.callback(t, http.MethodPut, "/"+idC+"/groups/red", testAdminToken, "")
	if code != http.StatusNoContent {
		t.Fatalf("join: %d %s", code, body)
	}
	code, body = g.callback(t, http.MethodPost, "/@groups/red", testAdminToken, "to red")
	if code != http.StatusOK || !strings.Contains(body, `"sent":2`) {
		t.Fatalf("post to red: %d %s", code, body)
	}
	if got := read(t, a); got != "to red" {
		t.Errorf("a got %q", got)
	}
	if got := read(t, c); got != "to red" {
		t.Errorf("c got %q", got)
	}
	if code, _ := g.callback(t, http.MethodDelete, "/"+idC+"/groups/red", testAdminToken, ""); code != http.StatusNoContent {
		t.Fatalf("leave: %d", code)
	}
	code, body = g.callback(t, http.MethodPost, "", testAdminToken, "to all")
	if code != http.StatusOK || !strings.Contains(body, `"sent":3`) {
		t.Fatalf("post to stage: %d %s", code, body)
	}
	for _, conn := range []*websocket.Conn{a, b, c} {
		if got := read(t, conn); got != "to all" {
			t.Errorf("got %q", got)
		}
	}
	code, body = g.callback(t, http.MethodPost, "/@groups/blue", testAdminToken, "to blue")
	if code != http.StatusOK || !strings.Contains(body, `"sent":2`) {
		t.Fatalf("post to blue: %d %s", code, body)
	}
	if got := read(t, b); got != "to blue" {
		t.Errorf("b got %q", got)
	}
	_, gb := g.callback(t, http.MethodGet, "/"+idB, testAdminToken, "")
	if !strings.Contains(gb, `"groups":["blue"]`) {
		t.Errorf("GET b: %s", gb)
	}
}

// TestWebSocketTimeouts drives the connection timers with a fake clock:
// the timers are armed before the client sees the upgrade succeed, and a
// timer's effect (Close) has started when Advance returns, so nothing here
// depends on how fast the machine is.
func TestWebSocketTimeouts(t *testing.T) {
	withClock := func(t *testing.T, s *adminv1.WebSocketSettings) (*wsGateway, *testkit.Clock) {
		clk := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		return startWSGatewayWith(t, []gateway.Option{gateway.WithWebSocketClock(clk)}, s, nil), clk
	}
	t.Run("idle", func(t *testing.T) {
		g, clk := withClock(t, settings(300*time.Millisecond, time.Hour, 0, 0))
		c, id := g.mustDial(t, "/prod")
		clk.Advance(299 * time.Millisecond)
		if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
			t.Fatalf("before the idle timeout: %q", got)
		}
		clk.Advance(300 * time.Millisecond) // idle since the message
		code, reason := closeStatus(t, c)
		if code != websocket.StatusGoingAway || reason != "idle timeout" {
			t.Errorf("close %d %q", code, reason)
		}
		g.backend.waitDisconnect(t, id, 1001)
	})
	t.Run("activity keeps a connection open", func(t *testing.T) {
		g, clk := withClock(t, settings(400*time.Millisecond, time.Hour, 0, 0))
		c, _ := g.mustDial(t, "/prod")
		for range 8 {
			clk.Advance(300 * time.Millisecond)
			if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
				t.Fatalf("got %q", got)
			}
		}
	})
	t.Run("keepalive", func(t *testing.T) {
		s := settings(time.Hour, time.Hour, 0, 0)
		s.PingInterval = durationpb.New(200 * time.Millisecond)
		g, clk := withClock(t, s)
		// A client that never reads never answers a ping. (A client that
		// answers is covered by the websocket package's own tests.)
		deaf, id := g.mustDial(t, "/prod")
		clk.Advance(200 * time.Millisecond) // ping
		clk.Advance(200 * time.Millisecond) // still unanswered
		if code, reason := closeStatus(t, deaf); code != websocket.StatusGoingAway || reason != "keepalive ping unanswered" {
			t.Errorf("deaf client: close %d %q", code, reason)
		}
		g.backend.waitDisconnect(t, id, 1001)
	})
	t.Run("maximum duration", func(t *testing.T) {
		g, clk := withClock(t, settings(time.Hour, 500*time.Millisecond, 0, 0))
		c, id := g.mustDial(t, "/prod")
		// Busy, yet closed at the maximum duration.
		clk.Advance(250 * time.Millisecond)
		if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
			t.Fatalf("got %q", got)
		}
		clk.Advance(250 * time.Millisecond)
		if code, reason := closeStatus(t, c); code != websocket.StatusGoingAway || reason != "maximum connection duration" {
			t.Errorf("close %d %q", code, reason)
		}
		g.backend.waitDisconnect(t, id, 1001)
	})
}

func TestWebSocketOversizeMessage(t *testing.T) {
	g := startWSGateway(t, settings(0, 0, 1024, 0), nil)
	c, id := g.mustDial(t, "/prod")
	if got := roundTrip(t, c, `{"action":"echo","pad":"`+strings.Repeat("x", 900)+`"}`); !strings.HasPrefix(got, "echo:") {
		t.Fatalf("under the limit: %q", got)
	}
	_ = c.Write(ctx(t), websocket.MessageText, []byte(strings.Repeat("y", 1025)))
	if code, _ := closeStatus(t, c); code != websocket.StatusMessageTooBig {
		t.Errorf("close %d, want 1009", code)
	}
	g.backend.waitDisconnect(t, id, 1009)
}

func TestWebSocketFrameLimit(t *testing.T) {
	s := settings(0, 0, 4096, 0)
	s.MaxFrameBytes = 256
	g := startWSGateway(t, s, nil)
	c, id := g.mustDial(t, "/prod")
	// A 600-byte message in frames of at most 200 bytes is fine.
	msg := `{"action":"echo","pad":"` + strings.Repeat("x", 570) + `"}`
	w, err := c.Writer(ctx(t), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for rest := msg; rest != ""; {
		n := min(200, len(rest))
		if _, err := w.Write([]byte(rest[:n])); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != "echo:"+msg {
		t.Fatalf("fragmented message: %q", got)
	}
	// One frame of 300 bytes is not.
	_ = c.Write(ctx(t), websocket.MessageText, []byte(strings.Repeat("y", 300)))
	if code, reason := closeStatus(t, c); code != websocket.StatusMessageTooBig || reason != "frame too big" {
		t.Errorf("close %d %q, want 1009 frame too big", code, reason)
	}
	g.backend.waitDisconnect(t, id, 1009)
}

func TestWebSocketSlowConsumer(t *testing.T) {
	g := startWSGateway(t, settings(0, 0, 64<<10, 4), nil)
	slow, slowID := g.mustDial(t, "/prod")
	_ = slow
	fast, fastID := g.mustDial(t, "/prod")
	client := datav1.NewConnectionsServiceClient(g.grpcConn(t))
	authed := metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+testAdminToken)
	big := []byte(strings.Repeat("z", 60<<10))
	var gone error
	for i := 0; i < 2000 && gone == nil; i++ {
		_, gone = client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: slowID, Data: big})
	}
	if status.Code(gone) != codes.NotFound {
		t.Fatalf("a client that never reads was not disconnected: %v", gone)
	}
	g.backend.waitDisconnect(t, slowID, 1008)
	// The other client is unaffected.
	if _, err := client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: fastID, Data: []byte("still here")}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fast); got != "still here" {
		t.Errorf("fast client got %q", got)
	}
}

func TestWebSocketConcurrentSenders(t *testing.T) {
	g := startWSGateway(t, settings(0, 0, 0, 4096), nil)
	c, id := g.mustDial(t, "/prod")
	client := datav1.NewConnectionsServiceClient(g.grpcConn(t))
	authed := metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+testAdminToken)
	const senders, each = 20, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("%d-%d", s, i)
				if _, err := client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: id, Data: []byte(msg)}); err != nil {
					t.Errorf("post %s: %v", msg, err)
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	last := map[int]int{}
	for range senders * each {
		m := read(t, c)
		var s, i int
		if _, err := fmt.Sscanf(m, "%d-%d", &s, &i); err != nil || seen[m] {
			t.Fatalf("bad or duplicate message %q", m)
		}
		seen[m] = true
		// Each sender's messages arrive in the order it sent them.
		if prev, ok := last[s]; ok && i <= prev {
			t.Fatalf("sender %d: %d after %d", s, i, prev)
		}
		last[s] = i
	}
	wg.Wait()
}

func TestWebSocketDisconnectOnceOnAbruptClose(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	// Messages in flight, then the client vanishes without a close frame.
	_ = c.Write(ctx(t), websocket.MessageText, []byte(`{"action":"sleep"}`))
	time.Sleep(50 * time.Millisecond)
	_ = c.CloseNow()
	g.backend.waitDisconnect(t, id, 1006)
}

func TestWebSocketGracefulShutdown(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	var conns []*websocket.Conn
	var ids []string
	for range 5 {
		c, id := g.mustDial(t, "/prod")
		conns = append(conns, c)
		ids = append(ids, id)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.gw.GracefulStop(sc)
	}()
	for i, c := range conns {
		if code, reason := closeStatus(t, c); code != websocket.StatusGoingAway {
			t.Errorf("close %d %q, want 1001", code, reason)
		}
		g.backend.waitDisconnect(t, ids[i], 1001)
	}
	<-done
}

func TestWebSocketStageUndeployed(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	c, id := g.mustDial(t, "/prod")
	g.load(t) // nothing deployed any more
	if code, reason := closeStatus(t, c); code != websocket.StatusGoingAway || reason != "stage no longer deployed" {
		t.Errorf("close %d %q", code, reason)
	}
	// $disconnect still reaches the backend of the stage it connected to.
	g.backend.waitDisconnect(t, id, 1001)
}

func TestWebSocketDomainMapping(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	d := wsDeployment(g.target, defaultWSRoutes()...)
	st := wsStage(d, nil)
	if errs := g.gw.Load(routing.Config{Stages: []routing.Entry{st}, DomainMappings: []*adminv1.DomainMapping{
		{Name: "domainMappings/chat", Domain: "chat.example.com", BasePath: "/v1", Stage: st.Stage.GetName()},
	}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, _, err := websocket.Dial(ctx(t), "ws://"+g.addr+"/v1", &websocket.DialOptions{Host: "chat.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := roundTrip(t, c, `{"action":"echo"}`); got != `echo:{"action":"echo"}` {
		t.Errorf("got %q", got)
	}
	if want := "http://chat.example.com/v1/@connections"; g.backend.lastConnect(t).CallbackURL != want {
		t.Errorf("callback URL %q, want %q", g.backend.lastConnect(t).CallbackURL, want)
	}
}

func TestWebSocketMockIntegrations(t *testing.T) {
	mock := func(code int32, body string) *adminv1.Integration {
		return &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: code, Body: body}}}
	}
	for _, tt := range []struct {
		name    string
		connect *adminv1.Integration
		want    int
	}{
		{"mock refuses $connect", mock(403, "nope"), http.StatusForbidden},
		{"mock accepts $connect", mock(200, ""), http.StatusSwitchingProtocols},
	} {
		t.Run(tt.name, func(t *testing.T) {
			connect := wsRoute("connect", "$connect", false)
			connect.Integration = tt.connect
			pong := wsRoute("ping", "ping", true)
			pong.Integration = mock(0, `{"pong":true}`)
			g := startWSGateway(t, nil, nil, connect, pong)
			c, resp, err := g.dial(t, "/prod", nil)
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("dial: %v %v, want %d", err, resp, tt.want)
			}
			if err == nil {
				if got := roundTrip(t, c, `{"action":"ping"}`); got != `{"pong":true}` {
					t.Errorf("mock two-way route: %q", got)
				}
			}
		})
	}
}

// TestWebSocketDisconnectOnceUnderRacingCloses closes connections from
// both ends at once (client close frame, client vanishing, callback
// DELETE, queue overflow, shutdown) and checks $disconnect ran exactly once
// for each.
func TestWebSocketDisconnectOnceUnderRacingCloses(t *testing.T) {
	g := startWSGateway(t, settings(0, 0, 0, 1), nil)
	client := datav1.NewConnectionsServiceClient(g.grpcConn(t))
	authed := metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+testAdminToken)
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		c, _, err := g.dial(t, "/prod", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = g.backend.lastConnect(t).ConnectionID
		wg.Go(func() {
			var inner sync.WaitGroup
			inner.Go(func() {
				if i%2 == 0 {
					_ = c.Close(websocket.StatusNormalClosure, "")
				} else {
					_ = c.CloseNow()
				}
			})
			inner.Go(func() { _, _ = client.DeleteConnection(authed, &datav1.DeleteConnectionRequest{ConnectionId: ids[i]}) })
			inner.Go(func() {
				for range 3 { // a queue of one overflows
					_, _ = client.PostToConnection(authed, &datav1.PostToConnectionRequest{ConnectionId: ids[i], Data: []byte("x")})
				}
			})
			inner.Wait()
		})
	}
	wg.Wait()
	sc, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.gw.GracefulStop(sc)
	for _, id := range ids {
		deadline := time.Now().Add(10 * time.Second)
		for len(g.backend.disconnects(id)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if d := g.backend.disconnects(id); len(d) != 1 {
			t.Errorf("%s: $disconnect ran %d times", id, len(d))
		}
	}
	if g.gw.Connections() != 0 {
		t.Errorf("%d connections left", g.gw.Connections())
	}
}

func TestWebSocketSubprotocol(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	for _, tt := range []struct {
		offered []string
		want    string
	}{
		{[]string{"other", "chat.v1"}, "chat.v1"},
		{[]string{"other"}, ""},
		{nil, ""},
	} {
		c, _, err := websocket.Dial(ctx(t), "ws://"+g.addr+"/prod", &websocket.DialOptions{Subprotocols: tt.offered})
		if err != nil {
			t.Fatal(err)
		}
		if c.Subprotocol() != tt.want {
			t.Errorf("offered %v: got %q, want %q (chosen by the $connect integration)", tt.offered, c.Subprotocol(), tt.want)
		}
		_ = c.CloseNow()
	}
}

// TestWebSocketConnectRefusals: a refused upgrade is plain HTTP, so the
// API's gateway responses apply to the gateway's own refusals (here the
// route timeout of a $connect integration that never answers, with its
// reason), while a backend's own refusal is written as the backend gave
// it (issue 18).
func TestWebSocketConnectRefusals(t *testing.T) {
	be := newWSBackend()
	target := startServer(t, func(s *grpc.Server) { datav1.RegisterWebSocketIntegrationServiceServer(s, be) })
	gw, err := gateway.New()
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	connect := wsRoute("connect", "$connect", false)
	connect.Timeout = durationpb.New(50 * time.Millisecond)
	d := wsDeployment(target, connect, wsRoute("default", "$default", true))
	d.Snapshot.Api.GatewayResponses = map[string]*adminv1.GatewayResponse{
		gatewayerr.ResponseIntegrationTimeout: {StatusCode: 503, ResponseHeaders: map[string]string{"X-Custom": "timeout"}, BodyTemplate: `{"reason":"$context.error.reason","id":"$context.requestId"}`},
		gatewayerr.ResponseDefault4XX:         {BodyTemplate: `{"custom":true}`},
	}
	tg.load(t, wsStage(d, nil))
	g := &wsGateway{testGateway: tg, backend: be, target: target}

	_, resp, err := g.dial(t, "/prod?hang=1", nil)
	if err == nil || resp == nil {
		t.Fatalf("dial: %v, want a refusal", err)
	}
	b, _ := io.ReadAll(resp.Body)
	var body struct{ Reason, ID string }
	_ = json.Unmarshal(b, &body)
	if resp.StatusCode != 503 || resp.Header.Get("X-Custom") != "timeout" || body.Reason != gatewayerr.ReasonBackendTimeout || body.ID == "" {
		t.Errorf("a $connect integration that never answers: %d %v %s", resp.StatusCode, resp.Header, b)
	}

	_, resp, err = g.dial(t, "/prod?reject=1", nil)
	if err == nil || resp == nil {
		t.Fatalf("dial: %v, want a refusal", err)
	}
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "rejected by the backend") {
		t.Errorf("a backend's refusal: %d %s, want its own 403", resp.StatusCode, b)
	}
	if g.gw.Connections() != 0 {
		t.Errorf("%d connections after refused upgrades", g.gw.Connections())
	}
}

// waitingWSReaders returns how many WebSocket connection readers wait for
// their client on the socket, rather than inside a read.
func waitingWSReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "websocket.waitReadable(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestWebSocketOverTLS serves a connection over TLS through connsplit,
// with a frame limit (whose scanner reads between the library and the
// tls.Conn): messages small and larger than a read buffer or a TLS record,
// a burst, each answered while the connection's reader waits for the
// client on the socket between messages rather than inside the tls.Conn;
// then the client's close.
func TestWebSocketOverTLS(t *testing.T) {
	s := settings(0, 0, 64<<10, 0)
	s.MaxFrameBytes = 48 << 10
	g := startWSGatewayOver(t, true, nil, s, nil)
	c, id := g.mustDial(t, "/prod")
	waits := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for waitingWSReaders() != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("the reader does not wait for the client: %d waiting", waitingWSReaders())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waits()
	for _, n := range []int{10, 600, 20000} {
		msg := `{"action":"echo","pad":"` + strings.Repeat("x", n) + `"}`
		if got := roundTrip(t, c, msg); got != "echo:"+msg {
			t.Fatalf("%d-byte pad: %.40q...", n, got)
		}
		waits()
	}
	const burst = 30
	for i := range burst {
		if err := c.Write(ctx(t), websocket.MessageText, fmt.Appendf(nil, `{"action":"echo","i":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for range burst {
		got[read(t, c)] = true
	}
	for i := range burst {
		if want := fmt.Sprintf(`echo:{"action":"echo","i":%d}`, i); !got[want] {
			t.Errorf("no %s", want)
		}
	}
	waits()
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	if d := g.backend.waitDisconnect(t, id, 1000); d.Reason != "bye" {
		t.Errorf("$disconnect reason %q", d.Reason)
	}
}
