package gateway_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/interceptors/ippolicy"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestAccessBeforeAuthorizer (issue 19): a caller an IP policy refuses and
// a CORS preflight never reach the route's custom authorizer.
func TestAccessBeforeAuthorizer(t *testing.T) {
	pa := &policyAuthorizer{}
	authAddr := startServer(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, pa) })
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, metadataEcho{}) })
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	gw, err := gateway.New(gateway.WithInterceptors(ippolicy.StreamServerInterceptor(), authz.StreamServerInterceptor()),
		gateway.WithTrustedProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	d := deployment(t, "shop", "v1", be, &adminv1.Route{
		Name:          "apis/shop/routes/echo",
		Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"},
		IpPolicy:      &adminv1.IpPolicy{Allow: []string{"192.0.2.0/24"}},
	})
	d.Snapshot.Api.Cors = &adminv1.CorsConfiguration{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"POST"}, AllowHeaders: []string{"x-token", "content-type"}}
	d.Snapshot.Authorizers = []*adminv1.Authorizer{{Name: "apis/shop/authorizers/a", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
		Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
		Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
		IdentitySources:  []string{"$request.header.X-Token"},
		ResultTtlSeconds: proto.Int32(0),
		Timeout:          durationpb.New(2 * time.Second),
	}}}}
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{entry("shop", "prod", d, nil)}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	rest := func(method, clientIP string, hdr ...string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, tg.url("/prod/v1/echo"), strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Token", "allow")
		req.Header.Set("X-Forwarded-For", clientIP)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	if code, _ := rest(http.MethodPost, "198.51.100.1"); code != http.StatusForbidden || pa.calls.Load() != 0 {
		t.Fatalf("refused address: %d, %d authorizer calls; want 403 and none", code, pa.calls.Load())
	}
	c := metadata.AppendToOutgoingContext(ctx(t), "x-token", "allow", "x-forwarded-for", "2001:db8::1")
	if _, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{}); status.Code(err) != codes.PermissionDenied || pa.calls.Load() != 0 {
		t.Fatalf("refused address over gRPC: %v, %d authorizer calls", err, pa.calls.Load())
	}
	code, h := rest(http.MethodOptions, "198.51.100.1", "Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-token,content-type")
	if code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" || pa.calls.Load() != 0 {
		t.Fatalf("preflight: %d %v, %d authorizer calls", code, h, pa.calls.Load())
	}
	code, h = rest(http.MethodPost, "192.0.2.1", "Origin", "https://app.example")
	if code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://app.example" || pa.calls.Load() != 1 {
		t.Fatalf("admitted address: %d %v, %d authorizer calls; want 200 and one", code, h, pa.calls.Load())
	}
}
