package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// TestIPPolicies (issue 19): IP policies on the API, the stage, the stage's
// route settings, a route and an API key, over real sockets. The test
// client is a trusted proxy (127.0.0.1), so X-Forwarded-For stands for
// the client's address, IPv4 or IPv6. Deny wins, an allow list refuses the
// rest, every level must admit, and a refusal is 403 / PERMISSION_DENIED
// with the reason IP_DENIED on gRPC, REST and plain HTTP routes alike.
func TestIPPolicies(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	cfg.TrustedProxies = "127.0.0.1"
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.UpdateApi(actx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: "apis/bookstore", IpPolicy: &adminv1.IpPolicy{Deny: []string{"203.0.113.0/24", "2001:db8:bad::/48"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ip_policy"}},
	}))
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "get-book", Route: &adminv1.Route{
		Match:    &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/GetBook"},
		IpPolicy: &adminv1.IpPolicy{Allow: []string{"2001:db8::/32"}},
	}}))
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "teapot", Route: &adminv1.Route{
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/teapot"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 418}}},
	}}))
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}, ApiKeyRequired: true,
	}}))
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(d, err)
	must(admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{
		Name: "apis/bookstore/stages/demo", Deployment: d.GetName(),
		IpPolicy: &adminv1.IpPolicy{
			Allow: []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"},
			Deny:  []string{"192.0.2.99"},
		},
		RouteSettings: map[string]*adminv1.RouteSettings{"teapot": {IpPolicy: &adminv1.IpPolicy{Deny: []string{"198.51.100.0/24"}}}},
	}}))
	key, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "office", ApiKey: &adminv1.ApiKey{
		IpPolicy: &adminv1.IpPolicy{Allow: []string{"192.0.2.0/25", "2001:db8:1::/48"}},
	}})
	must(key, err)
	must(admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
	}}))
	must(admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))

	rest := http1Client(t)
	httpGet := func(path, clientIP string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", clientIP)
		res, err := rest.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	conn := dial(t, ts.DataAddr())
	books := examplev1.NewBookstoreServiceClient(conn)
	echo := examplev1.NewEchoServiceClient(conn)
	grpcCtx := func(clientIP string, kv ...string) []string {
		return append([]string{"x-forwarded-for", clientIP}, kv...)
	}

	for _, tc := range []struct {
		name     string
		clientIP string
		call     func(ip string) (ok bool, reason string) // ok: admitted and answered
		want     bool
	}{
		// REST, a method served by the API's default integration: the
		// API's and the stage's policies.
		{"rest admitted v4", "192.0.2.1", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), true},
		{"rest admitted v6", "2001:db8::1", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), true},
		{"rest stage deny entry wins", "192.0.2.99", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), false},
		{"rest outside the stage's allow list", "10.1.2.3", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), false},
		{"rest v6 outside the allow list", "2001:db9::1", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), false},
		{"rest API deny wins over the stage's allow", "203.0.113.7", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), false},
		{"rest API deny v6", "2001:db8:bad::1", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), false},
		// A plain HTTP route with a route-settings policy on the stage.
		{"http route admitted", "192.0.2.1", restCall(httpGet, "/demo/teapot", 418), true},
		{"http route refused by its route settings", "198.51.100.7", restCall(httpGet, "/demo/teapot", 418), false},
		{"other routes keep the stage's policy", "198.51.100.7", restCall(httpGet, "/demo/v1/shelves/fiction/books", 200), true},
		// A route's own policy: IPv6 only, over gRPC and REST.
		{"grpc route admitted v6", "2001:db8::5", func(ip string) (bool, string) {
			_, err := books.GetBook(metadata.AppendToOutgoingContext(t.Context(), grpcCtx(ip)...), &examplev1.GetBookRequest{Name: "shelves/fiction/books/b1"})
			return grpcOutcome(t, err)
		}, true},
		{"grpc route refuses v4", "192.0.2.1", func(ip string) (bool, string) {
			_, err := books.GetBook(metadata.AppendToOutgoingContext(t.Context(), grpcCtx(ip)...), &examplev1.GetBookRequest{Name: "shelves/fiction/books/b1"})
			return grpcOutcome(t, err)
		}, false},
		{"rest route refuses v4", "192.0.2.1", restCall(httpGet, "/demo/v1/shelves/fiction/books/b1", 200), false},
		// An API key usable only from some networks.
		{"key from its network", "192.0.2.1", func(ip string) (bool, string) {
			_, err := echo.Echo(metadata.AppendToOutgoingContext(t.Context(), grpcCtx(ip, "x-api-key", key.GetValue())...), &examplev1.EchoRequest{Message: "hi"})
			return grpcOutcome(t, err)
		}, true},
		{"key from another network the stage admits", "192.0.2.200", func(ip string) (bool, string) {
			_, err := echo.Echo(metadata.AppendToOutgoingContext(t.Context(), grpcCtx(ip, "x-api-key", key.GetValue())...), &examplev1.EchoRequest{Message: "hi"})
			return grpcOutcome(t, err)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := tc.call(tc.clientIP)
			if ok != tc.want {
				t.Fatalf("from %s: admitted = %v (reason %q), want %v", tc.clientIP, ok, reason, tc.want)
			}
			if !ok && reason != gatewayerr.ReasonIPDenied {
				t.Fatalf("from %s: refused with reason %q, want %s", tc.clientIP, reason, gatewayerr.ReasonIPDenied)
			}
		})
	}

	// Refusals are counted per API, stage and route.
	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	if !strings.Contains(res.body, "tollgate_ip_denied_total{") {
		t.Errorf("/metrics has no tollgate_ip_denied_total:\n%s", res.body)
	}
}

// restCall returns a test call of GET path that is admitted when it gets
// want, and otherwise reports the refusal's ErrorInfo reason (403 only).
func restCall(get func(path, ip string) (int, string), path string, want int) func(ip string) (bool, string) {
	return func(ip string) (bool, string) {
		code, body := get(path, ip)
		if code == want {
			return true, ""
		}
		if code != http.StatusForbidden || !strings.Contains(body, `"reason":"`) {
			return false, "status " + http.StatusText(code) + ": " + body
		}
		r := body[strings.Index(body, `"reason":"`)+len(`"reason":"`):]
		return false, r[:strings.IndexByte(r, '"')]
	}
}

// grpcOutcome reports whether a gRPC call succeeded, or its refusal's
// reason (PERMISSION_DENIED "Forbidden" only).
func grpcOutcome(t *testing.T, err error) (bool, string) {
	if err == nil {
		return true, ""
	}
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || st.Message() != "Forbidden" {
		return false, "status " + st.String()
	}
	return false, gatewayerr.Reason(err)
}

// TestIPPolicyValidation: bad CIDRs are refused at write time with a field
// violation naming the entry, at every level.
func TestIPPolicyValidation(t *testing.T) {
	ts := startServer(t, testConfig(t))
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	bad := &adminv1.IpPolicy{Allow: []string{"10.0.0.0/8", "10.0.0.0/33"}, Deny: []string{"example.com"}}
	for _, tc := range []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"api", func() error {
			_, err := admin.CreateApi(actx, &adminv1.CreateApiRequest{ApiId: "a", Api: &adminv1.Api{IpPolicy: bad}})
			return err
		}, []string{"api.ip_policy.allow[1]", "api.ip_policy.deny[0]"}},
		{"api key", func() error {
			_, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k", ApiKey: &adminv1.ApiKey{IpPolicy: bad}})
			return err
		}, []string{"api_key.ip_policy.allow[1]", "api_key.ip_policy.deny[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("err = %v, want INVALID_ARGUMENT", err)
			}
			got := map[string]bool{}
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						got[v.GetField()] = true
					}
				}
			}
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("no violation of %s in %v", f, got)
				}
			}
		})
	}
}
