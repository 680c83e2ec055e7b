package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestCORS (issue 19): a browser-like sequence over real sockets against
// transcoded REST and plain HTTP routes: the gateway answers preflights
// itself (no authorizer, API key, throttle or backend), actual responses —
// the gateway's refusals included — carry the headers for an allowed
// origin and none for another, and a stage's CORS policy replaces the
// API's.
func TestCORS(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
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
		Api: &adminv1.Api{Name: "apis/bookstore", Cors: &adminv1.CorsConfiguration{
			AllowOrigins:  []string{"https://app.example.com", "https://*.partner.example"},
			AllowMethods:  []string{"GET", "POST", "PUT", "DELETE"},
			AllowHeaders:  []string{"Content-Type", "Authorization", "X-Api-Key"},
			ExposeHeaders: []string{"X-Request-Id"}, MaxAgeSeconds: 600, AllowCredentials: true,
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"cors"}},
	}))
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}, ApiKeyRequired: true,
	}}))
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "teapot", Route: &adminv1.Route{
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "PUT", Path: "/teapot"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 418, Body: "short and stout"}}},
	}}))
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(d, err)
	stage := &adminv1.Stage{
		Name: "apis/bookstore/stages/demo", Deployment: d.GetName(),
		// A throttle that refuses every API call on one route: preflights
		// are not API calls.
		RouteSettings: map[string]*adminv1.RouteSettings{"teapot": {Throttle: &adminv1.ThrottleSettings{RateLimit: 0, BurstLimit: 0}}},
	}
	must(admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: stage}))

	client := http1Client(t)
	send := func(method, path, origin string, hdr ...string) (int, http.Header, string) {
		t.Helper()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"message":"hi"}`)
		}
		req, err := http.NewRequest(method, "http://"+ts.DataAddr()+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	preflight := func(path, origin, method, headers string) (int, http.Header) {
		code, h, _ := send(http.MethodOptions, path, origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
		return code, h
	}
	const app, partner, evil = "https://app.example.com", "https://shop.partner.example", "https://evil.example"

	for _, tc := range []struct {
		name           string
		path, method   string
		reqHeaders     string
		actualHeaders  []string
		wantStatus     int // of the actual request
		origin         string
		allowed        bool
		wantBodyPrefix string
	}{
		{"transcoded GET", "/demo/v1/shelves/fiction/books", http.MethodGet, "authorization", nil, 200, app, true, ""},
		{"transcoded GET, wildcard origin", "/demo/v1/shelves/fiction/books", http.MethodGet, "", nil, 200, partner, true, ""},
		{"transcoded GET, other origin", "/demo/v1/shelves/fiction/books", http.MethodGet, "", nil, 200, evil, false, ""},
		// The preflight of a keyed route is answered without the key; the
		// refusal of the actual call without one is readable by the page.
		{"keyed POST without a key", "/demo/v1/echo", http.MethodPost, "content-type,x-api-key", []string{"Content-Type", "application/json"}, 403, app, true, `{"code":7`},
		// A plain HTTP route whose every API call is throttled.
		{"plain HTTP PUT, throttled", "/demo/teapot", http.MethodPut, "content-type", nil, 429, app, true, ""},
		{"plain HTTP PUT, other origin", "/demo/teapot", http.MethodPut, "content-type", nil, 429, evil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h := preflight(tc.path, tc.origin, tc.method, tc.reqHeaders)
			if code != http.StatusNoContent {
				t.Fatalf("preflight: %d, want 204 (answered by the gateway)", code)
			}
			if got := h.Get("Access-Control-Allow-Origin"); tc.allowed != (got == tc.origin) || !tc.allowed && got != "" {
				t.Fatalf("preflight Access-Control-Allow-Origin %q (allowed %v)", got, tc.allowed)
			}
			if tc.allowed {
				if h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Max-Age") != "600" ||
					!strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.method) {
					t.Fatalf("preflight headers %v", h)
				}
				if tc.reqHeaders != "" && !strings.Contains(h.Get("Access-Control-Allow-Headers"), "content-type") {
					t.Fatalf("preflight Access-Control-Allow-Headers %q", h.Get("Access-Control-Allow-Headers"))
				}
			}
			code, h, body := send(tc.method, tc.path, tc.origin, tc.actualHeaders...)
			if code != tc.wantStatus || !strings.HasPrefix(body, tc.wantBodyPrefix) {
				t.Fatalf("actual request: %d %s, want %d", code, body, tc.wantStatus)
			}
			got := h.Get("Access-Control-Allow-Origin")
			if tc.allowed && (got != tc.origin || h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Expose-Headers") != "X-Request-Id") {
				t.Fatalf("actual response headers %v", h)
			}
			if !tc.allowed && (got != "" || h.Get("Access-Control-Allow-Credentials") != "") {
				t.Fatalf("actual response to another origin carries CORS headers: %v", h)
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Fatalf("actual response without Vary: Origin: %v", h)
			}
		})
	}

	// A method or header the policy does not allow: no CORS headers.
	if _, h := preflight("/demo/teapot", app, http.MethodPatch, ""); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of PATCH allowed: %v", h)
	}
	if _, h := preflight("/demo/teapot", app, http.MethodPut, "x-secret"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of header x-secret allowed: %v", h)
	}
	// A same-origin or non-browser OPTIONS without Access-Control-Request-Method
	// is no preflight: routed as before.
	if code, h, _ := send(http.MethodOptions, "/demo/v1/shelves/fiction/books", app); code == http.StatusNoContent {
		t.Errorf("OPTIONS without Access-Control-Request-Method answered as a preflight: %d %v", code, h)
	}

	// Connect and gRPC-Web calls from browsers get the same headers.
	connect := func(origin string) (int, http.Header) {
		code, h, _ := send(http.MethodPost, "/demo/tollgate.example.v1.BookstoreService/ListShelves", origin,
			"Content-Type", "application/json", "Connect-Protocol-Version", "1")
		return code, h
	}
	if code, h := connect(app); code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != app {
		t.Errorf("Connect call from an allowed origin: %d %v", code, h)
	}
	if code, h := connect(evil); code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("Connect call from another origin: %d %v, want no CORS headers", code, h)
	}

	// The stage's policy replaces the API's.
	stage.Cors = &adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}}
	must(admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: stage}))
	if _, h := preflight("/demo/v1/shelves/fiction/books", evil, http.MethodDelete, ""); h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("stage policy: preflight headers %v", h)
	}
	if _, h, _ := send(http.MethodGet, "/demo/v1/shelves/fiction/books", evil); h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Expose-Headers") != "" {
		t.Errorf("stage policy: actual response headers %v", h)
	}
}

// TestCORSValidation: "*" with credentials, bad origins and a max age out
// of range are refused at write time, each naming its field.
func TestCORSValidation(t *testing.T) {
	ts := startServer(t, testConfig(t))
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	_, err := admin.CreateApi(actx, &adminv1.CreateApiRequest{ApiId: "a", Api: &adminv1.Api{Cors: &adminv1.CorsConfiguration{
		AllowOrigins: []string{"*", "app.example.com"}, AllowCredentials: true, MaxAgeSeconds: -1,
	}}})
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
	for _, f := range []string{"api.cors.allow_credentials", "api.cors.allow_origins[1]", "api.cors.max_age_seconds"} {
		if !got[f] {
			t.Errorf("no violation of %s in %v", f, got)
		}
	}
}
