package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

// wsFrame is a frame from the gateway's WebSocket bridge.
type wsFrame struct {
	Headers  map[string][]string `json:"headers"`
	Message  json.RawMessage     `json:"message"`
	Status   *wsStatus           `json:"status"`
	Trailers map[string][]string `json:"trailers"`
}

// wsStatus is a google.rpc.Status in JSON.
type wsStatus struct {
	Code    codes.Code `json:"code"`
	Message string     `json:"message"`
	Details []struct {
		Type   string `json:"@type"`
		Reason string `json:"reason"`
	} `json:"details"`
}

// wsEnv is a gateway serving the example API on stage prod, whose policy
// interceptor reports how each call ended.
type wsEnv struct {
	tg    *testGateway
	ended chan error // the chain's result, once per call
}

func newWSEnv(t *testing.T, target string) *wsEnv {
	t.Helper()
	e := &wsEnv{ended: make(chan error, 16)}
	policy := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		e.ended <- err
		return err
	}
	gw, err := gateway.New(gateway.WithInterceptors(policy))
	if err != nil {
		t.Fatal(err)
	}
	e.tg = serveGateway(t, gw)
	e.tg.load(t, entry("shop", "prod", deployment(t, "shop", "d1", target), nil))
	return e
}

// dial opens a WebSocket to a method of EchoService.
func (e *wsEnv) dial(t *testing.T, method string, header http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx(t), "ws://"+e.tg.addr+"/prod"+echoService+method, &websocket.DialOptions{
		Subprotocols: []string{webclients.Subprotocol}, HTTPHeader: header,
	})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if c.Subprotocol() != webclients.Subprotocol {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	return c
}

func wsSend(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(ctx(t), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("send %s: %v", frame, err)
	}
}

func wsRead(t *testing.T, c *websocket.Conn) wsFrame {
	t.Helper()
	typ, b, err := c.Read(ctx(t))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f wsFrame
	if typ != websocket.MessageText || json.Unmarshal(b, &f) != nil {
		t.Fatalf("frame %q is not JSON text", b)
	}
	return f
}

// wsMessage decodes a message frame.
func wsMessage(t *testing.T, f wsFrame) (msg string, index int) {
	t.Helper()
	var m struct {
		Message string `json:"message"`
		Index   int    `json:"index"`
	}
	if f.Message == nil || json.Unmarshal(f.Message, &m) != nil {
		t.Fatalf("want a message frame, got %+v", f)
	}
	return m.Message, m.Index
}

// wsClosed checks that the gateway closed the connection normally.
func wsClosed(t *testing.T, c *websocket.Conn) {
	t.Helper()
	_, _, err := c.Read(ctx(t))
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after the status: %v, want a normal closure", err)
	}
}

// TestWebSocketBridge: client-streaming, bidi-streaming and unary calls
// over a WebSocket, with metadata, headers, half-close, the final status
// and trailers, each passing the chain once.
func TestWebSocketBridge(t *testing.T) {
	b := backend(t)
	e := newWSEnv(t, b.Addr())

	t.Run("client stream", func(t *testing.T) {
		c := e.dial(t, "EchoClientStream", nil)
		wsSend(t, c, `{"metadata":{"x-echo-lang":"go"}}`)
		for _, m := range []string{"a", "b", "c"} {
			wsSend(t, c, `{"message":{"message":"`+m+`"}}`)
		}
		wsSend(t, c, `{"halfClose":true}`)
		if f := wsRead(t, c); f.Headers == nil || f.Headers["x-echo-lang"][0] != "go" {
			t.Errorf("headers frame %+v", f)
		}
		if msg, n := wsMessage(t, wsRead(t, c)); msg != "abc" || n != 3 {
			t.Errorf("got %q, %d", msg, n)
		}
		f := wsRead(t, c)
		if f.Status == nil || f.Status.Code != codes.OK || f.Trailers["x-echo-trailer"][0] != "done" {
			t.Errorf("status frame %+v", f)
		}
		wsClosed(t, c)
		if err := <-e.ended; err != nil {
			t.Errorf("chain: %v", err)
		}
	})

	t.Run("bidi stream", func(t *testing.T) {
		c := e.dial(t, "EchoBidiStream", nil)
		for i, m := range []string{"x", "y", "z"} {
			wsSend(t, c, `{"message":{"message":"`+m+`"}}`)
			f := wsRead(t, c)
			if f.Headers != nil {
				f = wsRead(t, c)
			}
			if msg, n := wsMessage(t, f); msg != m || n != i {
				t.Errorf("got %q at %d, want %q at %d", msg, n, m, i)
			}
		}
		wsSend(t, c, `{"halfClose":true}`)
		if f := wsRead(t, c); f.Status == nil || f.Status.Code != codes.OK {
			t.Errorf("status frame %+v", f)
		}
		wsClosed(t, c)
		if err := <-e.ended; err != nil {
			t.Errorf("chain: %v", err)
		}
	})

	t.Run("unary half-closes after its request", func(t *testing.T) {
		c := e.dial(t, "Echo", nil)
		wsSend(t, c, `{"message":{"message":"one","payload":"AAEC"}}`)
		f := wsRead(t, c)
		if f.Headers != nil {
			f = wsRead(t, c)
		}
		if msg, _ := wsMessage(t, f); msg != "one" || !strings.Contains(string(f.Message), `"payload":"AAEC"`) {
			t.Errorf("got %s", f.Message)
		}
		if f := wsRead(t, c); f.Status == nil || f.Status.Code != codes.OK {
			t.Errorf("status frame %+v", f)
		}
		wsClosed(t, c)
		<-e.ended
	})

	t.Run("backend error with details", func(t *testing.T) {
		c := e.dial(t, "EchoBidiStream", nil)
		wsSend(t, c, `{"message":{"message":"fail:NOT_FOUND"}}`)
		f := wsRead(t, c)
		if f.Headers != nil {
			f = wsRead(t, c)
		}
		if f.Status == nil || f.Status.Code != codes.NotFound || f.Status.Message != examplebackend.FailureMessage ||
			len(f.Status.Details) != 1 || f.Status.Details[0].Reason != examplebackend.FailureReason {
			t.Errorf("status frame %+v", f.Status)
		}
		if f.Trailers["x-echo-trailer"][0] != "done" {
			t.Errorf("trailers %v", f.Trailers)
		}
		wsClosed(t, c)
		if status.Code(<-e.ended) != codes.NotFound {
			t.Error("the chain did not see the failure")
		}
	})

	for _, tc := range []struct {
		name, method string
		frames       []string
		want         codes.Code
	}{
		{"not JSON", "EchoBidiStream", []string{`{"message":`}, codes.InvalidArgument},
		{"unknown field", "EchoBidiStream", []string{`{"mesage":{}}`}, codes.InvalidArgument},
		{"bad request message", "EchoBidiStream", []string{`{"message":{"repeat":"many"}}`}, codes.InvalidArgument},
		{"metadata twice", "EchoClientStream", []string{`{"metadata":{}}`, `{"metadata":{}}`}, codes.InvalidArgument},
		{"metadata with a message", "EchoClientStream", []string{`{"metadata":{},"message":{}}`}, codes.InvalidArgument},
		{"reserved metadata", "EchoBidiStream", []string{`{"metadata":{"grpc-timeout":"1S"}}`}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t, tc.method, nil)
			for _, f := range tc.frames {
				wsSend(t, c, f)
			}
			f := wsRead(t, c)
			if f.Headers != nil {
				f = wsRead(t, c)
			}
			if f.Status == nil || f.Status.Code != tc.want {
				t.Errorf("got %+v, want status %v", f, tc.want)
			}
			wsClosed(t, c)
		})
	}
	for len(e.ended) > 0 {
		<-e.ended
	}

	t.Run("another origin is refused", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx(t), "ws://"+e.tg.addr+"/prod"+echoService+"EchoBidiStream", &websocket.DialOptions{
			Subprotocols: []string{webclients.Subprotocol}, HTTPHeader: http.Header{"Origin": {"https://evil.example"}},
		})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("got %v, %v; want 403", err, resp)
		}
	})
}

// TestWebSocketBridgeCancel: a client that goes away mid-call cancels it.
func TestWebSocketBridgeCancel(t *testing.T) {
	b := backend(t)
	e := newWSEnv(t, b.Addr())
	c := e.dial(t, "EchoBidiStream", nil)
	wsSend(t, c, `{"message":{"message":"x"}}`)
	if f := wsRead(t, c); f.Headers == nil {
		t.Fatalf("want headers first, got %+v", f)
	}
	wsMessage(t, wsRead(t, c))
	_ = c.CloseNow()
	select {
	case err := <-e.ended:
		if status.Code(err) != codes.Canceled {
			t.Errorf("the call ended with %v, want CANCELED", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
}

// streamCountingEcho counts the messages its server stream has sent.
type streamCountingEcho struct {
	examplev1.UnimplementedEchoServiceServer
	sent atomic.Int64
}

func (e *streamCountingEcho) EchoServerStream(req *examplev1.EchoRequest, stream grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	for i := range req.GetRepeat() {
		if err := stream.Send(&examplev1.EchoResponse{Payload: req.GetPayload(), Index: i}); err != nil {
			return err
		}
		e.sent.Add(1)
	}
	return nil
}

// TestWebSocketBridgeFlowControl: a client that reads nothing holds the
// backend's server stream back (the bridge's queue is bounded, and the
// call waits for it), instead of the gateway buffering the whole stream.
func TestWebSocketBridgeFlowControl(t *testing.T) {
	be := &streamCountingEcho{}
	addr := startServerTB(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, be) })
	e := newWSEnv(t, addr)
	c := e.dial(t, "EchoServerStream", nil)
	const n, size = 10000, 12 << 10 // 120 MiB in all
	wsSend(t, c, `{"message":{"repeat":10000,"payload":"`+strings.Repeat("A", size/3*4)+`"}}`)
	// Wait for the stream to stall.
	var last int64 = -1
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cur := be.sent.Load()
		if cur == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backend's stream never stalled: %d messages sent", cur)
		}
		last = cur
	}
	// Socket buffers and HTTP/2 windows hold some; far from all of it.
	if last >= n/4 {
		t.Errorf("%d of %d messages sent to a client that reads nothing", last, n)
	}
	t.Logf("%d messages (%d MiB) sent before the stream stalled", last, last*size>>20)
	// Reading lets the stream go on.
	got := 0
	for got < 200 {
		if f := wsRead(t, c); f.Message != nil {
			got++
		}
	}
	if be.sent.Load() <= last {
		t.Error("reading did not resume the stream")
	}
	_ = c.CloseNow()
	select {
	case err := <-e.ended:
		// A proxy blocked sending to the client may see the translated
		// call's transport close before its context's cancellation.
		if c := status.Code(err); c != codes.Canceled && c != codes.Unavailable {
			t.Errorf("the call ended with %v, want CANCELED", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
}
