package wsredis_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
	ws "github.com/tollgate-gw/tollgate/server/gateway/websocket"
	"github.com/tollgate-gw/tollgate/server/gateway/websocket/wsredis"
)

const (
	stage      = "apis/chat/stages/prod"
	adminToken = "admin-token-0123456789"
	waitFor    = 20 * time.Second
)

// node is one gateway node's WebSocket part: a registry shared through a
// Fleet, its callback API, and a loopback server upgrading every request
// to a connection of the stage.
type node struct {
	fleet *wsredis.Fleet
	reg   *ws.Registry
	svc   *ws.Service
	srv   *httptest.Server
	ids   chan string
	// limits of the connections made from now on
	limits ws.Limits
}

func startNode(t testing.TB, redisURL string, opts ...wsredis.Option) *node {
	t.Helper()
	client, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	n := &node{fleet: wsredis.New(client, opts...), ids: make(chan string, 10), limits: ws.LimitsOf(nil)}
	n.reg = ws.NewRegistry(ws.WithFleet(n.fleet))
	auth, err := ws.NewAuthenticator(func(tok string) bool { return tok == adminToken })
	if err != nil {
		t.Fatal(err)
	}
	n.svc = ws.NewService(n.reg, auth)
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/@connections"); ok {
			n.svc.ServeHTTPCallback(w, r, stage, rest)
			return
		}
		id, _ := ws.NewID()
		c := n.reg.Register(ws.Info{ID: id, Stage: stage, SourceIP: "192.0.2.1", ConnectedAt: time.Now()}, n.limits, nil, nil)
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			n.reg.Abort(c)
			return
		}
		n.ids <- id
		n.reg.Start(c, conn, ws.Handlers{})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		n.reg.Shutdown(ctx)
		n.srv.Close()
	})
	return n
}

// dial connects a client to the node and returns it with its ID.
func (n *node) dial(t testing.TB) (*websocket.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c, <-n.ids
}

// callback calls the node's @connections API with the admin token.
func (n *node) callback(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, "/@connections"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	n.srv.Config.Handler.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// read reads one message.
func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCallbacksAcrossNodes: a client on node A is reached, described,
// grouped, broadcast to and closed through node B's callback API.
func TestCallbacksAcrossNodes(t *testing.T) {
	r := redistest.Start(t)
	a, b := startNode(t, r.URL, wsredis.WithNode("a")), startNode(t, r.URL, wsredis.WithNode("b"))
	c, id := a.dial(t)
	local, _ := b.dial(t)

	if code, body := b.callback(t, http.MethodPost, "/"+id, "hello from b"); code != http.StatusOK {
		t.Fatalf("POST via b: %d %s", code, body)
	}
	if got := read(t, c); got != "hello from b" {
		t.Fatalf("client on a got %q", got)
	}
	if code, body := b.callback(t, http.MethodPut, "/"+id+"/groups/room1", ""); code != http.StatusNoContent {
		t.Fatalf("PUT group via b: %d %s", code, body)
	}
	code, body := b.callback(t, http.MethodGet, "/"+id, "")
	if code != http.StatusOK || !strings.Contains(body, `"connectionId":"`+id+`"`) || !strings.Contains(body, `"groups":["room1"]`) ||
		!strings.Contains(body, `"sourceIp":"192.0.2.1"`) {
		t.Fatalf("GET via b: %d %s", code, body)
	}
	if code, body := b.callback(t, http.MethodPost, "/@groups/room1", "to the room"); code != http.StatusOK || !strings.Contains(body, `"sent":1`) {
		t.Fatalf("group broadcast via b: %d %s", code, body)
	}
	if got := read(t, c); got != "to the room" {
		t.Fatalf("client on a got %q", got)
	}
	if code, body := b.callback(t, http.MethodPost, "", "to all"); code != http.StatusOK || !strings.Contains(body, `"sent":2`) {
		t.Fatalf("stage broadcast via b: %d %s", code, body)
	}
	for _, cl := range []*websocket.Conn{c, local} {
		if got := read(t, cl); got != "to all" {
			t.Fatalf("stage broadcast: got %q", got)
		}
	}
	if code, body := b.callback(t, http.MethodDelete, "/"+id, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE via b: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after DELETE via b the client read %v, want a 1000 close", err)
	}
	// Gone everywhere once a has unregistered it.
	poll(t, "a forgot the connection", func() bool {
		code, _ := b.callback(t, http.MethodGet, "/"+id, "")
		return code == http.StatusGone
	})
	if code, _ := b.callback(t, http.MethodPost, "/"+id, "x"); code != http.StatusGone {
		t.Errorf("POST to a closed connection via b: %d, want 410", code)
	}
	if code, _ := b.callback(t, http.MethodPost, "/nope", "x"); code != http.StatusGone {
		t.Errorf("POST to an unknown connection: %d, want 410", code)
	}
}

// TestNodeDies: the holding node's heartbeat keeps an entry alive; when
// node A stops heartbeating and listening (as a killed process would), B
// answers 410 for its connections: at once for a POST (nobody listens on
// A's channel), and for GET once the entry's TTL expired.
func TestNodeDies(t *testing.T) {
	r := redistest.Start(t)
	const ttl = 900 * time.Millisecond
	a, b := startNode(t, r.URL, wsredis.WithTTL(ttl)), startNode(t, r.URL, wsredis.WithTTL(ttl))
	_, id := a.dial(t)
	if code, body := b.callback(t, http.MethodPost, "/"+id, "ping"); code != http.StatusOK {
		t.Fatalf("POST via b while a lives: %d %s", code, body)
	}
	// The heartbeat (every ttl/3) sets the entry's TTL back up.
	client, err := redisconn.Open(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	key := wsredis.DefaultPrefix + "c:" + id
	low := time.Duration(1 << 62)
	poll(t, "a heartbeat refreshed the entry", func() bool {
		left, err := client.PTTL(ctx, key).Result()
		if err != nil || left <= 0 {
			t.Fatalf("entry TTL %v, %v", left, err)
		}
		if left > low {
			return true
		}
		low = left
		return false
	})
	if err := a.fleet.Close(); err != nil { // the connection stays registered on a
		t.Fatal(err)
	}
	if code, body := b.callback(t, http.MethodPost, "/"+id, "x"); code != http.StatusGone {
		t.Errorf("POST via b to a dead node's connection: %d %s, want 410", code, body)
	}
	poll(t, "the dead node's entry expired", func() bool {
		code, _ := b.callback(t, http.MethodGet, "/"+id, "")
		return code == http.StatusGone
	})
}

// TestForwardErrors: errors of the holding node come back as themselves.
func TestForwardErrors(t *testing.T) {
	r := redistest.Start(t)
	a, b := startNode(t, r.URL), startNode(t, r.URL)
	_, id := a.dial(t)
	big := strings.Repeat("x", int(ws.DefaultMaxMessageBytes)+1)
	if code, body := b.callback(t, http.MethodPost, "/"+id, big); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "MESSAGE_TOO_LARGE") {
		t.Errorf("oversize POST via b: %d %s", code, body)
	}
	if code, body := b.callback(t, http.MethodPut, "/"+id+"/groups/bad%20group", ""); code != http.StatusBadRequest {
		t.Errorf("bad group via b: %d %s", code, body)
	}
}

func TestCallbackKeyShared(t *testing.T) {
	r := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var keys [][]byte
	for range 2 {
		c, err := redisconn.Open(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		k, err := wsredis.CallbackKey(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys[0]) != 32 || string(keys[0]) != string(keys[1]) {
		t.Fatalf("keys %x and %x: want one shared 32-byte key", keys[0], keys[1])
	}
}

// poll waits until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisDown: without Redis a node still serves its own connections
// (upgrades and local callbacks), callbacks for other nodes' connections
// answer 503 rather than hang, and once Redis is back (empty) the
// heartbeats record the connections again and callbacks cross nodes.
func TestRedisDown(t *testing.T) {
	r := redistest.Start(t)
	a, b := startNode(t, r.URL, wsredis.WithTTL(900*time.Millisecond)), startNode(t, r.URL, wsredis.WithTTL(900*time.Millisecond))
	c, id := a.dial(t)
	if code, body := b.callback(t, http.MethodPost, "/"+id, "1"); code != http.StatusOK {
		t.Fatalf("POST via b: %d %s", code, body)
	}
	r.Stop(t)
	if code, body := a.callback(t, http.MethodPost, "/"+id, "2"); code != http.StatusOK {
		t.Errorf("local POST without redis: %d %s", code, body)
	}
	if code, body := b.callback(t, http.MethodPost, "/"+id, "x"); code != http.StatusServiceUnavailable || !strings.Contains(body, "NODE_UNAVAILABLE") {
		t.Errorf("POST via b without redis: %d %s, want 503 NODE_UNAVAILABLE", code, body)
	}
	_, id2 := a.dial(t) // upgrades go on
	r.Restart(t)
	for _, id := range []string{id, id2} {
		poll(t, "b reaches a's connection again", func() bool {
			code, _ := b.callback(t, http.MethodGet, "/"+id, "")
			return code == http.StatusOK
		})
	}
	poll(t, "a POST via b is delivered again", func() bool {
		code, _ := b.callback(t, http.MethodPost, "/"+id, "3")
		return code == http.StatusOK
	})
	for _, want := range []string{"1", "2", "3"} {
		if got := read(t, c); got != want {
			t.Fatalf("client got %q, want %q", got, want)
		}
	}
}
