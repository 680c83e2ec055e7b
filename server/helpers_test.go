package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a running Server with what tests need to reach it.
type testServer struct {
	*server.Server
	logs   *syncBuffer // everything logged
	stderr *syncBuffer // what was shown on Stderr (the token notice)
	cancel context.CancelFunc
	done   chan error // receives Serve's result
}

// testConfig returns a Config on loopback free ports and a fresh data dir.
func testConfig(t *testing.T) server.Config {
	return server.Config{
		DataDir:    t.TempDir(),
		AdminAddr:  "127.0.0.1:0",
		ListenAddr: "127.0.0.1:0",
		// Tests stop servers explicitly; a short timeout keeps a broken
		// shutdown from hanging the suite.
		ShutdownTimeout: 10 * time.Second,
	}
}

// startServer builds and serves a Server for cfg and waits until it is
// ready. The server is stopped at the end of the test or benchmark, which
// also checks that Serve returned nil. Every test kit function starting a
// server (fleet nodes, benchmark servers) goes through it.
func startServer(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	ts := &testServer{logs: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(ts.logs, t.Output()), nil))
	}
	if cfg.Stderr == nil {
		cfg.Stderr = ts.stderr
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts.Server = s
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-ts.done:
		cancel()
		t.Fatalf("Serve returned before ready: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server not ready after 30s")
	}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop cancels Serve and checks that it returns nil. It is idempotent.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	ts.cancel()
	select {
	case err, ok := <-ts.done:
		if ok && err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
		if ok {
			close(ts.done)
		}
	case <-time.After(30 * time.Second):
		t.Error("Serve did not return within 30s of cancellation")
	}
}

// dial returns a gRPC client connection to addr, closed with the test.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// withToken returns a context carrying "authorization: Bearer token", or
// no authorization at all when token is empty.
func withToken(t *testing.T, token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// httpResult is a finished HTTP exchange.
type httpResult struct {
	status int
	header http.Header
	body   string
}

// doHTTP sends a request with an optional Authorization header value.
func doHTTP(t *testing.T, client *http.Client, method, url, authorization, body string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// h2cClient is an HTTP client speaking unencrypted HTTP/2 with prior
// knowledge, as gRPC clients do.
func h2cClient(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// http1Client is a plain HTTP/1.1 client.
func http1Client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// deployKeyedEcho adds to the demo API a route requiring an API key on
// EchoService/Echo, deploys the API and points the demo stage at it.
func deployKeyedEcho(t *testing.T, admin adminv1.AdminServiceClient, ctx context.Context) {
	t.Helper()
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}, ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}
}
