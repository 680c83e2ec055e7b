package gateway_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

func TestGRPCAllKindsThroughStage(t *testing.T) { bothRelays(t, testGRPCAllKindsThroughStage) }

func testGRPCAllKindsThroughStage(t *testing.T, relay gateway.Option) {
	b := backend(t)
	tg := startGateway(t, relay)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	c := ctx(t)

	resp, err := echo.Echo(c, &examplev1.EchoRequest{Message: "hi"})
	if err != nil || resp.GetMessage() != "hi" {
		t.Fatalf("unary: %v, %v", resp, err)
	}
	ss, err := echo.EchoServerStream(c, &examplev1.EchoRequest{Message: "s", Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("server stream: %d messages, want 3", n)
	}
	cs, err := echo.EchoClientStream(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b"} {
		if err := cs.Send(&examplev1.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	cr, err := cs.CloseAndRecv()
	if err != nil || cr.GetMessage() != "ab" {
		t.Fatalf("client stream: %v, %v", cr, err)
	}
	bidi, err := echo.EchoBidiStream(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := bidi.Send(&examplev1.EchoRequest{Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		r, err := bidi.Recv()
		if err != nil || r.GetMessage() != fmt.Sprint(i) {
			t.Fatalf("bidi %d: %v, %v", i, r, err)
		}
	}
	_ = bidi.CloseSend()
	if _, err := bidi.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi end: %v", err)
	}
	if got := tg.calls.Load(); got != 4 {
		t.Errorf("policy interceptor saw %d calls, want 4", got)
	}
}

func TestStageSelection(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t,
		entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil),
		entry("shop", "beta", deployment(t, "shop", "v1", b.Addr()), nil),
	)
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	tests := []struct {
		name string
		hint string
		want codes.Code
	}{
		{"ambiguous without a hint", "", codes.FailedPrecondition},
		{"stage resource name", "apis/shop/stages/prod", codes.OK},
		{"api/stage", "shop/beta", codes.OK},
		{"stage id of one API", "prod", codes.OK},
		{"unknown stage", "shop/nope", codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx(t)
			if tt.hint != "" {
				c = metadata.AppendToOutgoingContext(c, "x-tollgate-stage", tt.hint)
			}
			_, err := echo.Echo(c, &examplev1.EchoRequest{Message: "x"})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
	err := tg.grpcConn(t).Invoke(ctx(t), "/no.Such/Method", &examplev1.EchoRequest{}, &examplev1.EchoResponse{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestRouteOverridesAndTimeout(t *testing.T) { bothRelays(t, testRouteOverridesAndTimeout) }

func testRouteOverridesAndTimeout(t *testing.T, relay gateway.Option) {
	b := backend(t)
	tg := startGateway(t, relay)
	routes := []*adminv1.Route{
		{
			Name:    "apis/shop/routes/echo",
			Match:   &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
			Timeout: durationpb.New(200 * time.Millisecond),
		},
		{
			Name:        "apis/shop/routes/down",
			Match:       &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "${stageVariables.down}"}}},
		},
	}
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr(), routes...), map[string]string{"down": "127.0.0.1:1"}))
	conn := tg.grpcConn(t)
	echo := examplev1.NewEchoServiceClient(conn)
	_, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "sleep:2s"})
	if status.Code(err) != codes.DeadlineExceeded || gatewayerr.Reason(err) != gatewayerr.ReasonBackendTimeout {
		t.Fatalf("route timeout: %v; want DEADLINE_EXCEEDED, BACKEND_TIMEOUT", err)
	}
	_, err = examplev1.NewBookstoreServiceClient(conn).ListShelves(ctx(t), &examplev1.ListShelvesRequest{})
	if status.Code(err) != codes.Unavailable || strings.Contains(err.Error(), "127.0.0.1:1") || gatewayerr.Reason(err) != gatewayerr.ReasonBackendUnavailable {
		t.Fatalf("backend down: %v; want BACKEND_UNAVAILABLE without the backend's address", err)
	}
	_, err = echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "fail:NOT_FOUND"})
	if status.Code(err) != codes.NotFound || len(status.Convert(err).Details()) == 0 {
		t.Fatalf("backend status with details: %v", err)
	}
}

// TestDeployUnderLoad swaps deployments while calls run: none may fail.
func TestDeployUnderLoad(t *testing.T) {
	b1, b2 := backend(t), backend(t)
	tg := startGateway(t)
	d1 := deployment(t, "shop", "v1", b1.Addr())
	d2 := deployment(t, "shop", "v2", b2.Addr())
	tg.load(t, entry("shop", "prod", d1, nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	client := &http.Client{Timeout: 10 * time.Second}

	stop := make(chan struct{})
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if w%2 == 0 {
					_, err = echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "load"})
				} else {
					var resp *http.Response
					resp, err = client.Post(tg.url("/prod/v1/echo"), "application/json", strings.NewReader(`{"message":"load"}`))
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("REST status %d", resp.StatusCode)
						}
					}
				}
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	// At least 40 swaps, and on until enough calls ran across them (a
	// loaded machine runs few calls per swap).
	deadline := time.Now().Add(time.Minute)
	for i := 0; i < 40 || (calls.Load() < 200 && time.Now().Before(deadline)); i++ {
		d := d1
		if i%2 == 0 {
			d = d2
		}
		tg.load(t, entry("shop", "prod", d, nil))
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d calls failed during deployments; first: %v", failures.Load(), calls.Load(), firstErr.Load())
	}
	if calls.Load() < 100 {
		t.Fatalf("only %d calls ran", calls.Load())
	}
}

// TestRESTAndGRPCPassTheSameChain calls one method both ways and checks
// that the same interceptor saw both.
func TestRESTAndGRPCPassTheSameChain(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))
	book, err := examplev1.NewBookstoreServiceClient(tg.grpcConn(t)).GetBook(ctx(t), &examplev1.GetBookRequest{Name: "shelves/fiction/books/b1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-tg.seen; got != "/tollgate.example.v1.BookstoreService/GetBook" {
		t.Fatalf("gRPC call seen as %q", got)
	}
	resp, err := http.Get(tg.url("/prod/v1/shelves/fiction/books/b1"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST: %d %v %v", resp.StatusCode, got, err)
	}
	if got["title"] != book.GetTitle() {
		t.Fatalf("REST title %v, gRPC %q", got["title"], book.GetTitle())
	}
	if seen := <-tg.seen; seen != "/tollgate.example.v1.BookstoreService/GetBook" {
		t.Fatalf("REST call seen as %q", seen)
	}
	if resp.Header.Get("X-Request-Id") == "" && resp.Header.Get("Grpc-Metadata-X-Request-Id") == "" {
		t.Errorf("REST response has no request id: %v", resp.Header)
	}
}

// TestHTTPIntegration proxies plain HTTP routes and checks what the backend
// received, including requests that try to escape the matched path.
func TestHTTPIntegration(t *testing.T) {
	type received struct {
		path, rawPath, query, xff, host string
	}
	got := make(chan received, 16)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- received{r.URL.EscapedPath(), "", r.URL.RawQuery, r.Header.Get("X-Forwarded-For"), r.Host}
		if strings.Contains(r.URL.Path, "slow") {
			time.Sleep(2 * time.Second)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(upstream.Close)
	tg := startGateway(t)
	d := deployment(t, "files", "v1", "127.0.0.1:1",
		&adminv1.Route{
			Name:        "apis/files/routes/files",
			Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/files/{path=**}"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: "${stageVariables.base}/base"}}},
			Timeout:     durationpb.New(300 * time.Millisecond),
		},
		&adminv1.Route{
			Name:        "apis/files/routes/down",
			Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "*", Path: "/down"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: "http://127.0.0.1:1"}}},
		},
		&adminv1.Route{
			Name:        "apis/files/routes/mock",
			Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/status"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 418, Body: "teapot", Headers: map[string]string{"X-Mock": "1"}}}},
		},
	)
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, map[string]string{"base": upstream.URL}))

	tests := []struct {
		name       string
		target     string // raw request target
		wantStatus int
		wantPath   string // path the backend must see; "" = must not be called
		wantQuery  string
	}{
		{"plain", "/prod/files/a/b.txt?x=1", 200, "/base/files/a/b.txt", "x=1"},
		{"encoded slash refused by default", "/prod/files/a%2Fb", 400, "", ""},
		{"dot segments refused", "/prod/files/../../etc/passwd", 400, "", ""},
		{"encoded dot segments refused", "/prod/files/%2e%2e/secret", 400, "", ""},
		{"double encoding passes literally", "/prod/files/%252e%252e/x", 200, "/base/files/%252e%252e/x", ""},
		{"empty segment", "/prod/files//x", 404, "", ""},
		{"absolute-form target", "http://internal/prod/files/x", 400, "", ""},
		{"opaque target", "http:http://internal/x", 400, "", ""},
		{"encoded stage", "/pr%6fd/files/x", 404, "", ""},
		{"mock", "/prod/status", 418, "", ""},
		{"backend refuses connection", "/prod/down", 502, "", ""},
		{"backend exceeds route timeout", "/prod/files/slow", 504, "/base/files/slow", ""},
		{"unknown stage", "/nope/files/x", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, tg.addr, "GET", tt.target, "X-Forwarded-For: 6.6.6.6\r\n")
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			if tt.wantPath == "" {
				select {
				case r := <-got:
					t.Fatalf("backend was called with %+v", r)
				default:
				}
				return
			}
			r := <-got
			path := r.path // as sent on the wire
			if path != tt.wantPath || r.query != tt.wantQuery {
				t.Errorf("backend got path %q query %q, want %q %q", path, r.query, tt.wantPath, tt.wantQuery)
			}
			if strings.Contains(r.xff, "6.6.6.6") || r.xff == "" {
				t.Errorf("X-Forwarded-For = %q: the client's copy must be replaced by the gateway's", r.xff)
			}
		})
	}
}

// TestRESTBackendFailures checks the HTTP statuses of backend failures on
// transcoded calls: the gateway's own errors read as a gateway's.
func TestRESTBackendFailures(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	routes := []*adminv1.Route{{
		Name:    "apis/shop/routes/echo",
		Match:   &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Timeout: durationpb.New(200 * time.Millisecond),
	}}
	tg.load(t,
		entry("shop", "prod", deployment(t, "shop", "v1", b.Addr(), routes...), nil),
		entry("down", "down", deployment(t, "down", "v1", "127.0.0.1:1"), nil),
	)
	tests := []struct {
		name, path, body string
		want             int
		wantCode         float64
	}{
		{"backend refuses connection", "/down/v1/echo", `{"message":"x"}`, http.StatusBadGateway, float64(codes.Unavailable)},
		{"backend exceeds route timeout", "/prod/v1/echo", `{"message":"sleep:2s"}`, http.StatusGatewayTimeout, float64(codes.DeadlineExceeded)},
		{"backend status passes with its own mapping", "/prod/v1/echo", `{"message":"fail:UNAVAILABLE"}`, http.StatusServiceUnavailable, float64(codes.Unavailable)},
		{"backend panic", "/prod/v1/echo", `{"message":"panic"}`, http.StatusInternalServerError, float64(codes.Internal)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(tg.url(tt.path), "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var st map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want || st["code"] != tt.wantCode {
				t.Fatalf("status %d body %v, want %d code %v", resp.StatusCode, st, tt.want, tt.wantCode)
			}
		})
	}
	// The gateway still serves after all of that.
	resp, err := http.Post(tg.url("/prod/v1/echo"), "application/json", strings.NewReader(`{"message":"ok"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after failures: %v %v", resp, err)
	}
	_ = resp.Body.Close()
}

func TestDomainMappings(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	prod := entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil)
	beta := entry("shop", "beta", deployment(t, "shop", "v1", b.Addr()), nil)
	errs := tg.gw.Load(routing.Config{
		Stages: []routing.Entry{prod, beta},
		DomainMappings: []*adminv1.DomainMapping{
			{Name: "domainMappings/shop", Domain: "shop.example.com", Stage: "apis/shop/stages/beta"},
			{Name: "domainMappings/books", Domain: "api.example.com", BasePath: "/books", Stage: "apis/shop/stages/prod"},
		},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name, host, target string
		want               int
	}{
		{"whole domain", "shop.example.com", "/v1/shelves/fiction/books/b1", 200},
		{"with port", "shop.example.com:8080", "/v1/shelves/fiction/books/b1", 200},
		{"base path", "api.example.com", "/books/v1/shelves/fiction/books/b1", 200},
		{"base path must be whole segments", "api.example.com", "/booksv1/shelves", 404},
		{"mapped domain, other path", "api.example.com", "/prod/v1/shelves/fiction/books/b1", 404},
		{"unmapped host uses stage prefixes", "localhost", "/prod/v1/shelves/fiction/books/b1", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", tg.url(tt.target), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
	// gRPC: the :authority picks the stage that would otherwise be ambiguous.
	conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("shop.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := examplev1.NewEchoServiceClient(conn).Echo(ctx(t), &examplev1.EchoRequest{Message: "x"}); err != nil {
		t.Fatalf("gRPC through a mapped authority: %v", err)
	}
	if _, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(ctx(t), &examplev1.EchoRequest{Message: "x"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("unmapped authority with two stages: %v", err)
	}
}

// TestRouteTimeoutDeafBackend: a backend that ignores its grpc-timeout
// and never answers is cut off at the route timeout by the gateway
// itself, with the route timeout's status, on both relays.
func TestRouteTimeoutDeafBackend(t *testing.T) { bothRelays(t, testRouteTimeoutDeafBackend) }

func testRouteTimeoutDeafBackend(t *testing.T, relay gateway.Option) {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	reset := make(chan struct{}, 1)
	deaf := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // only the gateway's reset ends the call
		reset <- struct{}{}
	}))
	deaf.Config.Protocols = &protocols
	deaf.Start()
	t.Cleanup(deaf.Close)
	tg := startGateway(t, relay)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", strings.TrimPrefix(deaf.URL, "http://"), &adminv1.Route{
		Name:    "apis/shop/routes/echo",
		Match:   &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Timeout: durationpb.New(200 * time.Millisecond),
	}), nil))
	_, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(ctx(t), &examplev1.EchoRequest{Message: "x"})
	if status.Code(err) != codes.DeadlineExceeded || gatewayerr.Reason(err) != gatewayerr.ReasonBackendTimeout {
		t.Fatalf("route timeout: %v; want DEADLINE_EXCEEDED, BACKEND_TIMEOUT", err)
	}
	<-reset // the backend's stream was reset
}

// TestBackendResetsTheStream: a backend that resets its streams (here an
// HTTP/2 server aborting every request) gives the client 502 / UNAVAILABLE,
// and the gateway keeps serving.
func TestBackendResetsTheStream(t *testing.T) { bothRelays(t, testBackendResetsTheStream) }

func testBackendResetsTheStream(t *testing.T, relay gateway.Option) {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	resetting := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler) // sends RST_STREAM
	}))
	resetting.Config.Protocols = &protocols
	resetting.Start()
	t.Cleanup(resetting.Close)
	good := backend(t)
	tg := startGateway(t, relay)
	tg.load(t,
		entry("reset", "reset", deployment(t, "reset", "v1", strings.TrimPrefix(resetting.URL, "http://")), nil),
		entry("shop", "prod", deployment(t, "shop", "v1", good.Addr()), nil),
	)
	_, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(
		metadata.AppendToOutgoingContext(ctx(t), "x-tollgate-stage", "reset/reset"), &examplev1.EchoRequest{Message: "x"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC through a resetting backend: %v", err)
	}
	resp, err := http.Post(tg.url("/reset/v1/echo"), "application/json", strings.NewReader(`{"message":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("REST through a resetting backend: %d %s", resp.StatusCode, body)
	}
	if _, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(
		metadata.AppendToOutgoingContext(ctx(t), "x-tollgate-stage", "shop/prod"), &examplev1.EchoRequest{Message: "x"}); err != nil {
		t.Fatalf("the gateway stopped serving: %v", err)
	}
}

// TestMethodNotAllowedSaysWhatIs: a known REST path with another method is
// 405 with an Allow header listing the bound methods.
func TestMethodNotAllowedSaysWhatIs(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))
	tests := []struct{ method, path, allow string }{
		{"GET", "/prod/v1/echo", "POST"},
		{"PUT", "/prod/v1/shelves/fiction/books/b1", "DELETE, GET"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, tg.url(tt.path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q, want 405 and %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.allow)
		}
	}
}

// TestIdleGRPCConnectionsClosed: a cleartext HTTP/2 connection that makes
// no call (here: one that sends only the preface and SETTINGS, and so is
// handed to the gRPC transport) is closed after the idle timeout, so such
// connections cannot pile up; a connection with calls in between is not.
// (grpc-go sends GOAWAY with a ping and closes once the ping is answered
// or after about 5 s: this raw client never answers.)
func TestIdleGRPCConnectionsClosed(t *testing.T) {
	gw, err := gateway.New(gateway.WithIdleTimeout(300 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)

	c, err := net.Dial("tcp", tg.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client preface and an empty SETTINGS frame.
	if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("idle connection: %v (want it closed by the gateway, not a read timeout)", err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", waited)
	}

	// Calls keep a connection open past the idle timeout.
	conn := tg.grpcConn(t)
	for range 4 {
		_, err := examplev1.NewEchoServiceClient(conn).Echo(ctx(t), &examplev1.EchoRequest{})
		if status.Code(err) != codes.Unimplemented { // no stage is deployed
			t.Fatalf("call: %v, want UNIMPLEMENTED", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
