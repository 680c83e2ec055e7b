package websocket

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// The tests of this file serve real WebSocket connections on loopback with
// a registry timed by a testkit.Clock: a timer fires when the test moves
// the clock, never because the machine is slow or fast.

// waitFor bounds every wait of these tests: generous, as it only matters
// when a test fails.
const waitFor = 20 * time.Second

// disconnected is one $disconnect.
type disconnected struct {
	id     string
	code   int
	reason string
}

// harness serves connections of one registry over loopback.
type harness struct {
	t      *testing.T
	clk    *testkit.Clock
	reg    *Registry
	srv    *httptest.Server
	limits Limits
	// beforeStart runs between registration and the upgrade's 101.
	beforeStart func(c *Conn)
	// noWait makes readers read at once, instead of waiting for the
	// client first (see idleWait).
	noWait bool

	mu          sync.Mutex
	conns       map[string]*Conn
	disconnects chan disconnected
}

// newHarness starts a registry and a server upgrading every request to a
// connection of stage "s" with limits (defaults filled in); messages are
// echoed back.
func newHarness(t *testing.T, limits Limits) *harness {
	t.Helper()
	return startHarness(t, limits, false)
}

// newTLSHarness is newHarness serving wss:// (HTTP/1.1 over TLS).
func newTLSHarness(t *testing.T, limits Limits) *harness {
	t.Helper()
	return startHarness(t, limits, true)
}

// startHarness starts a harness, over TLS if useTLS.
func startHarness(t *testing.T, limits Limits, useTLS bool) *harness {
	t.Helper()
	def := LimitsOf(nil)
	if limits.IdleTimeout == 0 {
		limits.IdleTimeout = def.IdleTimeout
	}
	if limits.MaxDuration == 0 {
		limits.MaxDuration = def.MaxDuration
	}
	if limits.MaxMessageBytes == 0 {
		limits.MaxMessageBytes = def.MaxMessageBytes
	}
	if limits.SendQueueSize == 0 {
		limits.SendQueueSize = def.SendQueueSize
	}
	if limits.PingInterval == 0 {
		limits.PingInterval = def.PingInterval
	}
	h := &harness{
		t: t, clk: testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), limits: limits,
		conns: map[string]*Conn{}, disconnects: make(chan disconnected, 100),
	}
	h.reg = NewRegistry(WithClock(h.clk))
	if useTLS {
		h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	} else {
		h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.reg.Shutdown(ctx)
		h.srv.Close()
	})
	return h
}

// serve registers and upgrades a request, as the data plane does.
func (h *harness) serve(w http.ResponseWriter, r *http.Request) {
	id, _ := NewID()
	c := h.reg.Register(Info{ID: id, Stage: "s", ConnectedAt: h.clk.Now()}, h.limits, nil, r.URL.Query()["group"])
	h.mu.Lock()
	h.conns[id] = c
	h.mu.Unlock()
	if h.beforeStart != nil {
		h.beforeStart(c)
	}
	rw := w
	if h.limits.MaxFrameBytes > 0 {
		fl := NewFrameLimiter(h.limits.MaxFrameBytes)
		fl.Attach(c)
		rw = fl.Wrap(w)
	}
	w.Header().Set("X-Connection-Id", id)
	sb := smallBuffers(rw, &h.reg.readBufs)
	ws, err := websocket.Accept(sb, r, nil)
	if err != nil {
		h.reg.Abort(c)
		return
	}
	idle := sb.idle()
	if h.noWait {
		idle = nil
	}
	h.reg.start(c, ws, Handlers{
		Message: func(c *Conn, data []byte, binary bool) { _ = c.Send(append([]byte("echo:"), data...), binary) },
		Disconnect: func(c *Conn, code int, reason string) {
			h.disconnects <- disconnected{c.ID, code, reason}
		},
	}, idle)
}

// dial connects a client and returns its server-side Conn.
func (h *harness) dial(query string) (*websocket.Conn, *Conn) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// The server's client trusts its certificate (over TLS) and speaks
	// HTTP/1.1.
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/?"+query,
		&websocket.DialOptions{HTTPClient: h.srv.Client()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = ws.CloseNow() })
	h.mu.Lock()
	defer h.mu.Unlock()
	return ws, h.conns[resp.Header.Get("X-Connection-Id")]
}

// disconnect waits for the next $disconnect and checks that no other
// follows for the same connection once the registry has stopped.
func (h *harness) disconnect() disconnected {
	h.t.Helper()
	select {
	case d := <-h.disconnects:
		return d
	case <-time.After(waitFor):
		h.t.Fatal("no $disconnect")
	}
	return disconnected{}
}

// closeOf reads until the client's connection closes and returns the code
// and reason of the server's close frame.
func closeOf(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

// echo sends a message and reads the echo.
func echo(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || string(got) != "echo:"+msg {
		t.Fatalf("echo of %q: %q, %v", msg, got, err)
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
		time.Sleep(time.Millisecond)
	}
}

func TestTimers(t *testing.T) {
	const idle, maxDur, ping = time.Minute, time.Hour, 30 * time.Second
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Pings close a client that does not read (it answers them only while
	// reading): the cases not about pings ping less often than anything.
	noPing := 10 * maxDur
	cases := []struct {
		name   string
		limits Limits
		steps  func(h *harness, c *websocket.Conn)
		why    string
	}{
		{"idle", Limits{IdleTimeout: idle, MaxDuration: maxDur, PingInterval: noPing}, func(h *harness, c *websocket.Conn) {
			h.clk.Advance(idle - time.Second)
			echo(t, c, "still here") // activity at idle-1s
			h.clk.Advance(idle - time.Second)
			if h.reg.Len() != 1 {
				t.Error("closed before being idle for the timeout")
			}
			h.clk.Advance(time.Second)
		}, ReasonIdle},
		{"maximum duration, however busy", Limits{IdleTimeout: idle, MaxDuration: maxDur, PingInterval: noPing}, func(h *harness, c *websocket.Conn) {
			for {
				echo(t, c, "busy")
				if left := maxDur - h.clk.Now().Sub(start); left <= idle/2 {
					h.clk.Advance(left)
					return
				}
				h.clk.Advance(idle / 2)
			}
		}, ReasonMaxDuration},
		{"a ping unanswered for an interval", Limits{IdleTimeout: maxDur, MaxDuration: 2 * maxDur, PingInterval: ping}, func(h *harness, _ *websocket.Conn) {
			// The client never reads, so it never answers.
			h.clk.Advance(ping)
			if h.reg.Len() != 1 {
				t.Error("closed at the first ping")
			}
			h.clk.Advance(ping)
		}, ReasonPing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.limits)
			c, sc := h.dial("")
			tc.steps(h, c)
			if code, reason := closeOf(t, c); code != CloseGoingAway || reason != tc.why {
				t.Errorf("client saw close %d %q, want 1001 %q", code, reason, tc.why)
			}
			d := h.disconnect()
			if d.id != sc.ID || d.code != int(CloseGoingAway) || d.reason != tc.why {
				t.Errorf("$disconnect %+v", d)
			}
		})
	}
}

func TestKeepaliveAnswered(t *testing.T) {
	const ping = 30 * time.Second
	h := newHarness(t, Limits{PingInterval: ping})
	c, sc := h.dial("")
	readCtx := c.CloseRead(context.Background()) // answers pings
	for i := range int64(5) {
		h.clk.Advance(ping)
		poll(t, "the client answered the ping", func() bool { return sc.pongs.Load() == i+1 })
	}
	if readCtx.Err() != nil || h.reg.Len() != 1 {
		t.Fatal("a client answering every ping was disconnected")
	}
}

func TestSendQueue(t *testing.T) {
	t.Run("queued before the upgrade, delivered in order", func(t *testing.T) {
		h := newHarness(t, Limits{SendQueueSize: 3})
		h.beforeStart = func(c *Conn) {
			for _, m := range []string{"1", "2", "3"} {
				if err := c.Send([]byte(m), false); err != nil {
					t.Error(err)
				}
			}
		}
		c, _ := h.dial("")
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		for _, want := range []string{"1", "2", "3"} {
			if _, got, err := c.Read(ctx); err != nil || string(got) != want {
				t.Fatalf("read %q, %v; want %q", got, err, want)
			}
		}
	})
	t.Run("overflow closes with 1008", func(t *testing.T) {
		h := newHarness(t, Limits{SendQueueSize: 2})
		var errs []error
		h.beforeStart = func(c *Conn) {
			for range 3 {
				errs = append(errs, c.Send([]byte("x"), false))
			}
			errs = append(errs, c.Send([]byte("after"), false))
		}
		c, sc := h.dial("")
		if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrQueueFull) || !errors.Is(errs[3], ErrGone) {
			t.Errorf("sends: %v", errs)
		}
		if code, reason := closeOf(t, c); code != ClosePolicyViolation || reason != ReasonOverflow {
			t.Errorf("close %d %q", code, reason)
		}
		if d := h.disconnect(); d.id != sc.ID || d.code != int(ClosePolicyViolation) {
			t.Errorf("$disconnect %+v", d)
		}
	})
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name   string
		limits Limits
		send   func(ctx context.Context, c *websocket.Conn) error
		code   websocket.StatusCode
		reason string
	}{
		{"message over the maximum", Limits{MaxMessageBytes: 100}, func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 101)))
		}, websocket.StatusMessageTooBig, "message too big"},
		{"frame over the maximum", Limits{MaxMessageBytes: 1000, MaxFrameBytes: 100}, func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 101)))
		}, websocket.StatusMessageTooBig, ReasonFrameTooBig},
		{"text that is not UTF-8", Limits{}, func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte{0xff, 0xfe})
		}, CloseInvalidPayload, ReasonInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.limits)
			c, sc := h.dial("")
			echo(t, c, "under the limits")
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			if err := tc.send(ctx, c); err != nil {
				t.Fatal(err)
			}
			code, reason := closeOf(t, c)
			if code != tc.code || (tc.reason != "message too big" && reason != tc.reason) {
				t.Errorf("close %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
			if d := h.disconnect(); d.id != sc.ID || d.code != int(tc.code) {
				t.Errorf("$disconnect %+v", d)
			}
		})
	}
}

func TestClosePaths(t *testing.T) {
	cases := []struct {
		name  string
		close func(h *harness, c *websocket.Conn, sc *Conn)
		code  websocket.StatusCode
	}{
		{"client closes", func(_ *harness, c *websocket.Conn, _ *Conn) { _ = c.Close(4000, "bye") }, 4000},
		{"client vanishes", func(_ *harness, c *websocket.Conn, _ *Conn) { _ = c.CloseNow() }, CloseAbnormal},
		{"deleted", func(_ *harness, _ *websocket.Conn, sc *Conn) { sc.Close(CloseNormal, ReasonDeleted) }, CloseNormal},
		{"stage retired", func(h *harness, _ *websocket.Conn, _ *Conn) {
			h.reg.CloseStage("s", CloseGoingAway, ReasonStageGone)
		}, CloseGoingAway},
		{"racing closes", func(_ *harness, c *websocket.Conn, sc *Conn) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { sc.Close(CloseNormal, ReasonDeleted) })
			}
			wg.Go(func() { _ = c.CloseNow() })
			wg.Wait()
		}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Limits{})
			c, sc := h.dial("group=g")
			go func() { _, _, _ = c.Read(context.Background()) }() // answers the close handshake
			tc.close(h, c, sc)
			d := h.disconnect()
			if d.id != sc.ID || (tc.code != -1 && d.code != int(tc.code)) {
				t.Errorf("$disconnect %+v, want code %d", d, tc.code)
			}
			if _, ok := h.reg.Get(sc.ID); ok || len(h.reg.members("s", "g")) != 0 || h.reg.Len() != 0 {
				t.Error("a closed connection is still registered")
			}
			// Exactly once: the registry stops with nothing more.
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			h.reg.Shutdown(ctx)
			select {
			case d := <-h.disconnects:
				t.Errorf("a second $disconnect: %+v", d)
			default:
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, Limits{})
	var clients []*websocket.Conn
	for range 3 {
		c, _ := h.dial("")
		clients = append(clients, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	h.reg.Shutdown(ctx) // returns once every $disconnect ran
	if len(h.disconnects) != 3 {
		t.Fatalf("%d $disconnect after Shutdown, want 3", len(h.disconnects))
	}
	for range 3 {
		if d := <-h.disconnects; d.code != int(CloseGoingAway) || d.reason != ReasonShutdown {
			t.Errorf("$disconnect %+v", d)
		}
	}
	for _, c := range clients {
		if code, _ := closeOf(t, c); code != CloseGoingAway {
			t.Errorf("client saw %d", code)
		}
	}
	if !h.reg.Closing() {
		t.Error("not closing after Shutdown")
	}
}
