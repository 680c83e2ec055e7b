package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// linkLocalListener listens on an IPv6 link-local address of this host
// (fe80::/10, with its zone), standing in for a metadata service: traffic
// to it never leaves the machine. The test is skipped where the host has
// none. addr is the listener's address with its zone.
func linkLocalListener(t *testing.T) (ln net.Listener, addr string) {
	t.Helper()
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() != nil || !ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(ipn.IP.String()+"%"+ifc.Name, "0"))
			if err == nil {
				t.Cleanup(func() { _ = ln.Close() })
				_, port, _ := net.SplitHostPort(ln.Addr().String())
				return ln, net.JoinHostPort(ipn.IP.String()+"%"+ifc.Name, port)
			}
		}
	}
	t.Skip("no IPv6 link-local address to listen on")
	return nil, ""
}

// countingEcho is an Echo backend counting its calls.
type countingEcho struct {
	examplev1.UnimplementedEchoServiceServer
	calls atomic.Int64
}

func (c *countingEcho) Echo(_ context.Context, req *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	c.calls.Add(1)
	return &examplev1.EchoResponse{Message: req.GetMessage()}, nil
}

// TestIssue13LinkLocalBackendsRefused: a stage variable (which the admin
// API cannot check when a target is written) pointing a gRPC or HTTP
// integration at a link-local address is refused when the gateway dials,
// unless the gateway allows link-local targets.
func TestIssue13LinkLocalBackendsRefused(t *testing.T) {
	be := &countingEcho{}
	grpcLn, grpcAddr := linkLocalListener(t)
	gs := grpc.NewServer()
	examplev1.RegisterEchoServiceServer(gs, be)
	go func() { _ = gs.Serve(grpcLn) }()
	t.Cleanup(gs.Stop)
	var httpCalls atomic.Int64
	httpLn, httpAddr := linkLocalListener(t)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpCalls.Add(1)
		_, _ = io.WriteString(w, "credentials")
	})}
	go func() { _ = hs.Serve(httpLn) }()
	t.Cleanup(func() { _ = hs.Close() })

	tests := []struct {
		name     string
		allow    bool
		wantGRPC codes.Code
		wantHTTP int
	}{
		{"refused by default", false, codes.Unavailable, http.StatusBadGateway},
		{"allowed", true, codes.OK, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw, err := gateway.New(gateway.WithLinkLocalTargets(tt.allow))
			if err != nil {
				t.Fatal(err)
			}
			tg := serveGateway(t, gw)
			d := deployment(t, "shop", "v1", "${stageVariables.backend}", &adminv1.Route{
				Name:        "apis/shop/routes/meta",
				Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/meta"}},
				Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: "http://${stageVariables.web}/latest"}}},
			})
			tg.load(t, entry("shop", "prod", d, map[string]string{
				// grpc-go parses targets as URLs: the zone's % is escaped.
				"backend": "passthrough:///" + strings.Replace(grpcAddr, "%", "%25", 1),
				"web":     strings.Replace(httpAddr, "%", "%25", 1),
			}))
			grpcBefore, httpBefore := be.calls.Load(), httpCalls.Load()

			_, err = examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"})
			if status.Code(err) != tt.wantGRPC {
				t.Errorf("gRPC integration on %s: %v, want %v", grpcAddr, err, tt.wantGRPC)
			}
			resp, err := http.Get(tg.url("/prod/meta"))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.wantHTTP {
				t.Errorf("HTTP integration on %s: %d, want %d", httpAddr, resp.StatusCode, tt.wantHTTP)
			}
			reached := be.calls.Load() > grpcBefore || httpCalls.Load() > httpBefore
			if reached != tt.allow {
				t.Errorf("a link-local backend was reached: %v, want %v", reached, tt.allow)
			}
		})
	}
}

// TestIssue13LinkLocalAuthorizerRefused: a custom authorizer whose target
// (through a stage variable) is a link-local address is not called unless
// link-local targets are allowed; the call fails as with a failing
// authorizer.
func TestIssue13LinkLocalAuthorizerRefused(t *testing.T) {
	fa := &funcAuthorizer{answer: func(*datav1.AuthorizeRequest) *datav1.AuthorizeResponse { return allowAll("u") }}
	grpcLn, grpcAddr := linkLocalListener(t)
	gs := grpc.NewServer()
	datav1.RegisterAuthorizerServiceServer(gs, fa)
	go func() { _ = gs.Serve(grpcLn) }()
	t.Cleanup(gs.Stop)
	var httpCalls atomic.Int64
	httpLn, httpAddr := linkLocalListener(t)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpCalls.Add(1)
		b, _ := protojson.Marshal(allowAll("u"))
		_, _ = w.Write(b)
	})}
	go func() { _ = hs.Serve(httpLn) }()
	t.Cleanup(func() { _ = hs.Close() })
	vars := map[string]string{
		"grpcauth": "passthrough:///" + strings.Replace(grpcAddr, "%", "%25", 1),
		"httpauth": strings.Replace(httpAddr, "%", "%25", 1),
	}
	tests := []struct {
		name    string
		callout callout
		calls   func() int64
	}{
		{"grpc", grpcCallout("${stageVariables.grpcauth}"), fa.calls.Load},
		{"http", httpCallout("http://${stageVariables.httpauth}/authorize"), httpCalls.Load},
	}
	for _, tt := range tests {
		for _, allow := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/refused by default", true: "/allowed"}[allow], func(t *testing.T) {
				e := newIssue13Env(t, nil, authorizer.WithLinkLocalTargets(allow))
				e.load(t, tokenAuthz(tt.callout), map[string]map[string]string{"prod": vars})
				before := tt.calls()
				want := codes.Internal
				if allow {
					want = codes.OK
				}
				if r := e.echoGRPC(t, "prod", map[string]string{"X-Token": "t"}); r.code != want {
					t.Fatalf("%v, want %v", r.code, want)
				}
				if called := tt.calls() > before; called != allow {
					t.Errorf("link-local authorizer called: %v, want %v", called, allow)
				}
			})
		}
	}
}
