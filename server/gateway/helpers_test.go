package gateway_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// testGateway is a gateway serving on a real loopback listener.
type testGateway struct {
	gw    *gateway.Gateway
	addr  string
	calls atomic.Int64 // calls seen by the test's policy interceptor
	seen  chan string  // full methods seen by the policy interceptor
}

// startGateway starts a data plane with a policy interceptor that counts
// calls, on a listener speaking HTTP/1.1 and h2c as the real server does.
func startGateway(t testing.TB, opts ...gateway.Option) *testGateway {
	t.Helper()
	tg := &testGateway{seen: make(chan string, 1024)}
	policy := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		tg.calls.Add(1)
		if routing.FromContext(ss.Context()) == nil {
			t.Errorf("policy interceptor ran without a route in the context")
		}
		select {
		case tg.seen <- info.FullMethod:
		default:
		}
		return handler(srv, ss)
	}
	gw, err := gateway.New(append([]gateway.Option{gateway.WithInterceptors(policy)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	served := serveGateway(t, gw)
	tg.gw, tg.addr = served.gw, served.addr
	return tg
}

// serveGateway serves gw on a loopback listener speaking HTTP/1.1, h2c and
// gRPC (native transport), as the real data port does. wrap, if any, wraps
// the HTTP handler.
func serveGateway(t testing.TB, gw *gateway.Gateway, wrap ...func(http.Handler) http.Handler) *testGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	var h http.Handler = gw
	for _, w := range wrap {
		h = w(h)
	}
	srv := &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: 5 * time.Second}
	split := connsplit.New(ln)
	go func() { _ = split.Serve() }()
	go func() { _ = srv.Serve(split.HTTP()) }()
	go func() { _ = gw.ServeGRPC(split.GRPC()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = gw.Close()
	})
	return &testGateway{gw: gw, addr: ln.Addr().String(), seen: make(chan string, 1)}
}

// backend starts the example backend.
func backend(t testing.TB) *examplebackend.Server {
	t.Helper()
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// deployment builds a deployment of the example API named api, with the
// default integration to target and the given routes.
func deployment(t testing.TB, api, id, target string, routes ...*adminv1.Route) *adminv1.Deployment {
	t.Helper()
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Name == "" {
			t.Fatal("routes need names")
		}
	}
	return &adminv1.Deployment{
		Name: "apis/" + api + "/deployments/" + id,
		Snapshot: &adminv1.ApiSnapshot{
			Api: &adminv1.Api{
				Name:               "apis/" + api,
				Protocol:           adminv1.Api_PROTOCOL_GRPC_REST,
				DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
				DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: target}}},
			},
			Routes: routes,
		},
	}
}

// entry pairs a stage with a deployment.
func entry(api, stage string, d *adminv1.Deployment, vars map[string]string) routing.Entry {
	return routing.Entry{
		Stage:      &adminv1.Stage{Name: "apis/" + api + "/stages/" + stage, Deployment: d.GetName(), Variables: vars},
		Deployment: d,
	}
}

// load loads entries and fails on compile errors.
func (tg *testGateway) load(t testing.TB, entries ...routing.Entry) {
	t.Helper()
	if errs := tg.gw.Load(routing.Config{Stages: entries}); len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
}

// loadDelta loads a change: entries added or changed, the stages named
// in removed no longer served; the other stages are served as they are.
func (tg *testGateway) loadDelta(t testing.TB, changed ...routing.Entry) {
	t.Helper()
	tg.loadChange(t, changed, nil)
}

// loadChange is loadDelta with removed stages.
func (tg *testGateway) loadChange(t testing.TB, changed []routing.Entry, removed []string) {
	t.Helper()
	if errs := tg.gw.Load(routing.Config{Stages: changed, Removed: removed, Delta: true}); len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
}

// grpcConn dials the gateway's data port.
func (tg *testGateway) grpcConn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (tg *testGateway) url(path string) string { return "http://" + tg.addr + path }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

// bothRelays runs test on each gRPC relay of the data port.
func bothRelays(t *testing.T, test func(t *testing.T, relay gateway.Option)) {
	for _, r := range []gateway.GRPCRelay{gateway.RelayGRPC, gateway.RelayFrames} {
		t.Run(string(r), func(t *testing.T) { test(t, gateway.WithGRPCRelay(r)) })
	}
}
