package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestLinkLocalTargetsRefused (issue 13): the admin API refuses, over REST,
// integration, reflection, authorizer and JWKS targets on link-local and
// cloud metadata addresses with 400 INVALID_ARGUMENT naming the field, and
// accepts them when the gateway allows link-local targets.
func TestLinkLocalTargetsRefused(t *testing.T) {
	tests := []struct {
		name, path, body, field string
	}{
		{"gRPC integration on the metadata IP", "/v1/apis/bookstore/routes?routeId=r1",
			`{"http":{"method":"GET","path":"/r1"},"integration":{"grpc":{"target":"169.254.169.254:80"}}}`, "route.integration.grpc.target"},
		{"gRPC integration, dns URI", "/v1/apis/bookstore/routes?routeId=r2",
			`{"http":{"method":"GET","path":"/r2"},"integration":{"grpc":{"target":"dns:///169.254.170.2:443"}}}`, "route.integration.grpc.target"},
		{"HTTP integration on the metadata IP", "/v1/apis/bookstore/routes?routeId=r3",
			`{"http":{"method":"GET","path":"/r3"},"integration":{"http":{"uri":"http://169.254.169.254/latest/meta-data"}}}`, "route.integration.http.uri"},
		{"HTTP integration on IPv6 link-local", "/v1/apis/bookstore/routes?routeId=r4",
			`{"http":{"method":"GET","path":"/r4"},"integration":{"http":{"uri":"http://[fe80::1]:8080/x"}}}`, "route.integration.http.uri"},
		{"HTTP integration on AWS IPv6 metadata", "/v1/apis/bookstore/routes?routeId=r5",
			`{"http":{"method":"GET","path":"/r5"},"integration":{"http":{"uri":"http://[fd00:ec2::254]/latest"}}}`, "route.integration.http.uri"},
		{"HTTP integration on GCP metadata name", "/v1/apis/bookstore/routes?routeId=r6",
			`{"http":{"method":"GET","path":"/r6"},"integration":{"http":{"uri":"http://Metadata.Google.Internal/computeMetadata/v1"}}}`, "route.integration.http.uri"},
		{"custom authorizer over gRPC", "/v1/apis/bookstore/authorizers?authorizerId=a1",
			`{"custom":{"type":"TYPE_TOKEN","grpc":{"target":"169.254.169.254:50051"},"identitySources":["$request.header.X-Token"]}}`, "authorizer.custom.grpc.target"},
		{"custom authorizer over HTTP", "/v1/apis/bookstore/authorizers?authorizerId=a2",
			`{"custom":{"type":"TYPE_TOKEN","http":{"uri":"http://instance-data/latest"},"identitySources":["$request.header.X-Token"]}}`, "authorizer.custom.http.uri"},
		{"JWKS URI", "/v1/apis/bookstore/authorizers?authorizerId=a3",
			`{"jwt":{"issuer":"https://i.example","audiences":["a"],"jwksUri":"https://metadata/jwks"}}`, "authorizer.jwt.jwks_uri"},
		{"API default integration and reflection", "/v1/apis?apiId=meta",
			`{"reflection":{"target":"169.254.169.254:50051"},"defaultIntegration":{"grpc":{"target":"169.254.169.254:50051"}}}`, "api.reflection.target"},
		{"WebSocket API integration", "/v1/apis?apiId=ws-meta",
			`{"protocol":"PROTOCOL_WEBSOCKET","routeSelectionExpression":"$request.body.action","defaultIntegration":{"http":{"uri":"http://169.254.169.254/"}}}`, "api.default_integration.http.uri"},
	}
	for _, allow := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "allowed"}[allow], func(t *testing.T) {
			linkLocalTargets(t, allow, tests)
		})
	}
}

// linkLocalTargets creates each target on a fresh server with or without
// the allow setting.
func linkLocalTargets(t *testing.T, allow bool, tests []struct{ name, path, body, field string }) {
	cfg := testConfig(t)
	cfg.Demo = true
	cfg.AllowLinkLocalTargets = allow
	ts := startServer(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+tt.path, "Bearer "+ts.AdminToken(), tt.body)
			if allow {
				if res.status != http.StatusOK {
					t.Fatalf("allowed: %d %s", res.status, res.body)
				}
				return
			}
			if res.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", res.status, res.body)
			}
			var st struct {
				Code    int
				Details []struct {
					FieldViolations []struct{ Field, Description string }
				}
			}
			if err := json.Unmarshal([]byte(res.body), &st); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range st.Details {
				for _, fv := range d.FieldViolations {
					found = found || fv.Field == tt.field
				}
			}
			if st.Code != 3 || !found {
				t.Errorf("code %d, no violation of %s: %s", st.Code, tt.field, res.body)
			}
		})
	}
}
