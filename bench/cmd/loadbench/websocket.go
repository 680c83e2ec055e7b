package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// WebSocket scenarios.
const (
	// scenarioWSEcho: each worker holds one WebSocket connection and does
	// round trips (a message out, its echo back).
	scenarioWSEcho = "ws-echo"
	// scenarioWSFanout: fanoutConns connections; one caller broadcasts
	// messages to all of them, and the cell counts deliveries.
	scenarioWSFanout = "ws-fanout"
)

const (
	benchWSAPIID   = "benchws"
	benchWSStageID = "ws"
	// fanoutWindow is how many broadcasts may be undelivered at once: well
	// under a connection's send queue (64), so no client is dropped as a
	// slow consumer while the gateway is kept busy.
	fanoutWindow = 8
)

// wsIntegration is the bench backend's WebSocket integration: it echoes
// every message body (the $default route returns it to the client).
type wsIntegration struct {
	datav1.UnimplementedWebSocketIntegrationServiceServer
}

func (wsIntegration) HandleMessage(_ context.Context, req *datav1.HandleMessageRequest) (*datav1.HandleMessageResponse, error) {
	return &datav1.HandleMessageResponse{Body: req.GetBody()}, nil
}

// deployWebSocket creates the WebSocket API "benchws" whose $default route
// echoes through the backend's HandleMessage, deployed to the stage "ws".
func deployWebSocket(ctx context.Context, admin adminv1.AdminServiceClient, backend string) error {
	api, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: benchWSAPIID, Api: &adminv1.Api{
		Protocol:                 adminv1.Api_PROTOCOL_WEBSOCKET,
		RouteSelectionExpression: "$request.body.action",
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Target: backend, Method: "/tollgate.data.v1.WebSocketIntegrationService/HandleMessage",
		}}},
	}})
	if err != nil {
		return fmt.Errorf("create WebSocket api: %w", err)
	}
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "default", Route: &adminv1.Route{
		Match:          &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: "$default"},
		ReturnResponse: true,
	}}); err != nil {
		return fmt.Errorf("create $default route: %w", err)
	}
	dep, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: api.GetName()})
	if err != nil {
		return fmt.Errorf("create WebSocket deployment: %w", err)
	}
	if _, err := admin.CreateStage(ctx, &adminv1.CreateStageRequest{
		Parent: api.GetName(), StageId: benchWSStageID,
		Stage: &adminv1.Stage{Deployment: dep.GetName(), Websocket: &adminv1.WebSocketSettings{
			IdleTimeout: durationpb.New(10 * time.Minute),
		}},
	}); err != nil {
		return fmt.Errorf("create WebSocket stage: %w", err)
	}
	return nil
}

// wsDirect is the physical limit of the WebSocket scenarios: a plain
// coder/websocket server in the bench process that echoes messages (/echo)
// and broadcasts POST /broadcast bodies to every /fanout connection through
// per-connection queues, as the gateway does.
type wsDirect struct {
	mu    sync.Mutex
	conns map[*websocket.Conn]chan []byte
}

func startWSDirect() (addr string, stop func(), err error) {
	d := &wsDirect{conns: map[*websocket.Conn]chan []byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, b); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/fanout", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := make(chan []byte, 64)
		d.mu.Lock()
		d.conns[c] = q
		d.mu.Unlock()
		defer func() {
			d.mu.Lock()
			delete(d.conns, c)
			d.mu.Unlock()
		}()
		ctx := c.CloseRead(r.Context())
		for {
			select {
			case b := <-q:
				if err := c.Write(ctx, websocket.MessageText, b); err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d.mu.Lock()
		for _, q := range d.conns {
			select {
			case q <- b:
			default:
			}
		}
		d.mu.Unlock()
	})
	return serveHTTP(mux)
}

// wsURLs returns where a target's WebSocket clients connect.
func wsURLs(t, addr string) (echo, fanout string) {
	if t == targetDirect {
		return "ws://" + addr + "/echo", "ws://" + addr + "/fanout"
	}
	return "ws://" + addr + "/" + benchWSStageID, "ws://" + addr + "/" + benchWSStageID
}

// wsEcho returns a callFunc doing one round trip on one of conc
// connections, and a function closing them.
func wsEcho(ctx context.Context, url string, conc int, payload []byte) (callFunc, func(), error) {
	msg := []byte(`{"action":"echo","data":"` + strings.Repeat("x", len(payload)) + `"}`)
	pool := make(chan *websocket.Conn, conc)
	closeAll := func() {
		for {
			select {
			case c := <-pool:
				c.Close(websocket.StatusNormalClosure, "")
			default:
				return
			}
		}
	}
	for range conc {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("dial %s: %w", url, err)
		}
		c.SetReadLimit(1 << 20)
		pool <- c
	}
	fn := func(ctx context.Context) (int, error) {
		c := <-pool
		defer func() { pool <- c }()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			return 0, err
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			return 0, err
		}
		if len(b) != len(msg) {
			return 0, fmt.Errorf("echo of %d bytes, want %d: %.100s", len(b), len(msg), b)
		}
		return 1, nil
	}
	return fn, closeAll, nil
}

// fanout holds fanoutConns connections that count what they receive.
type fanout struct {
	delivered atomic.Int64
	conns     []*websocket.Conn
	done      sync.WaitGroup
}

func dialFanout(ctx context.Context, url string, n int) (*fanout, error) {
	f := &fanout{}
	for i := range n {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("dial connection %d of %d: %w", i+1, n, err)
		}
		f.conns = append(f.conns, c)
		f.done.Go(func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
				f.delivered.Add(1)
			}
		})
	}
	return f, nil
}

func (f *fanout) close() {
	for _, c := range f.conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	f.done.Wait()
}

// broadcaster returns a callFunc that broadcasts one message and reports
// it as len(f.conns) messages, after waiting until at most fanoutWindow
// broadcasts are undelivered.
func broadcaster(f *fanout, post func(ctx context.Context, body []byte) error, payload []byte) callFunc {
	var sent atomic.Int64
	n := int64(len(f.conns))
	body := []byte(strings.Repeat("x", len(payload)))
	return func(ctx context.Context) (int, error) {
		k := sent.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for f.delivered.Load() < (k-fanoutWindow)*n {
			if time.Now().After(deadline) {
				return 0, errors.New("broadcasts not delivered within 10 s")
			}
			time.Sleep(50 * time.Microsecond)
		}
		if err := post(ctx, body); err != nil {
			sent.Add(-1)
			return 0, err
		}
		return int(n), nil
	}
}

// tollgatePost broadcasts to the bench WebSocket stage through the gRPC
// callback API with the admin token.
func tollgatePost(conn *grpc.ClientConn) func(ctx context.Context, body []byte) error {
	c := datav1.NewConnectionsServiceClient(conn)
	stage := "apis/" + benchWSAPIID + "/stages/" + benchWSStageID
	return func(ctx context.Context, body []byte) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+benchAdminToken)
		resp, err := c.PostToStage(ctx, &datav1.PostToStageRequest{Stage: stage, Data: body})
		if err != nil {
			return err
		}
		if resp.GetDropped() > 0 {
			return fmt.Errorf("%d connections dropped the broadcast", resp.GetDropped())
		}
		return nil
	}
}

// directPost broadcasts through the direct server's /broadcast.
func directPost(client *http.Client, addr string) func(ctx context.Context, body []byte) error {
	return func(ctx context.Context, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/broadcast", strings.NewReader(string(body)))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("broadcast: HTTP %d", resp.StatusCode)
		}
		return nil
	}
}

// raiseFileLimit lifts the soft open-files limit to the hard one, for the
// fan-out's thousands of sockets; best effort.
func raiseFileLimit() {
	var l syscall.Rlimit
	err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	if err == nil {
		l.Cur = l.Max
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench: could not raise the open-files limit:", err)
	}
}
