package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// unannotated returns the example API's descriptors without any
// google.api.http option, as a proto written without annotations.
func unannotated(t *testing.T) []byte {
	t.Helper()
	set := examplebackend.FileDescriptorSet()
	for _, f := range set.GetFile() {
		for _, s := range f.GetService() {
			for _, m := range s.GetMethod() {
				if m.GetOptions() != nil {
					proto.ClearExtension(m.GetOptions(), annotations.E_Http)
				}
			}
		}
	}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const bookstoreServiceConfig = `
type: google.api.Service
config_version: 3
name: bookstore.example.com
http:
  rules:
  - selector: tollgate.example.v1.BookstoreService.ListShelves
    get: /v1/shelves
  - selector: tollgate.example.v1.BookstoreService.GetBook
    get: /v1/{name=shelves/*/books/*}
  - selector: tollgate.example.v1.EchoService.Echo
    post: /v2/echo
    body: "*"
    additional_bindings:
    - get: /v2/echo/{message}
    - post: /v2/echo:shout:loud
      body: "*"
`

// TestServiceConfigRules uploads a proto without annotations with HTTP
// rules from a google.api.Service YAML: REST calls are routed by them over
// a socket, the OpenAPI export shows them, every deployment keeps the rules
// it was created with, and rules that cannot be served are refused with
// INVALID_ARGUMENT naming the rule (issue 18).
func TestServiceConfigRules(t *testing.T) {
	ts := startServer(t, testConfig(t))
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	fds := unannotated(t)

	api := &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: b.Addr()}}},
		ServiceConfigYaml:  bookstoreServiceConfig,
	}
	if _, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: "shop", Api: api}); err != nil {
		t.Fatal(err)
	}
	v1, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop", DeploymentId: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: "apis/shop", StageId: "prod", Stage: &adminv1.Stage{Deployment: v1.GetName()}}); err != nil {
		t.Fatal(err)
	}

	client := http1Client(t)
	base := "http://" + ts.DataAddr() + "/prod"
	for _, tt := range []struct {
		method, path, body string
		wantStatus         int
		want               string // a substring of the body
	}{
		{"GET", "/v1/shelves", "", 200, `"shelves"`},
		// Routed by the rule to the backend, which knows no such shelf.
		{"GET", "/v1/shelves/1/books/1", "", 404, `bookstore: shelf \"shelves/1\" not found`},
		{"POST", "/v2/echo", `{"message":"hi"}`, 200, `"message":"hi"`},
		{"GET", "/v2/echo/hello", "", 200, `"message":"hello"`},
		{"POST", "/v2/echo:shout:loud", `{"message":"verb"}`, 200, `"message":"verb"`},
		// A method the file does not name keeps its default binding only.
		{"POST", "/tollgate.example.v1.EchoService/EchoServerStream", `{"message":"s","repeat":1}`, 200, `"message":"s"`},
		{"GET", "/v1/echo", "", 404, ""},
	} {
		res := doHTTP(t, client, tt.method, base+tt.path, "", tt.body)
		if res.status != tt.wantStatus || !strings.Contains(res.body, tt.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tt.method, tt.path, res.status, res.body, tt.wantStatus, tt.want)
		}
	}

	// The OpenAPI export reads the deployment's rules.
	doc, err := admin.ExportDeployment(ctx, &adminv1.ExportDeploymentRequest{Name: v1.GetName(), Format: "openapi3", Output: "json"})
	if err != nil {
		t.Fatal(err)
	}
	var oas struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc.GetData(), &oas); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/shelves", "/v2/echo", "/v2/echo/{message}", "/v1/{name}"} {
		if oas.Paths[p] == nil {
			t.Errorf("OpenAPI export has no path %s; has %v", p, keys(oas.Paths))
		}
	}

	// A new config applies to the next deployment; the served one keeps
	// the rules it was created with.
	if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: "apis/shop", ServiceConfigYaml: "type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    post: /v3/echo\n    body: '*'\n"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config_yaml"}},
	}); err != nil {
		t.Fatal(err)
	}
	if res := doHTTP(t, client, "POST", base+"/v2/echo", "", `{"message":"old"}`); res.status != 200 {
		t.Errorf("the served deployment lost its rules: %d %s", res.status, res.body)
	}
	v2, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop", DeploymentId: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/prod", Deployment: v2.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if res := doHTTP(t, client, "POST", base+"/v3/echo", "", `{"message":"new"}`); res.status != 200 || !strings.Contains(res.body, `"new"`) {
		t.Errorf("POST /v3/echo after the redeploy: %d %s", res.status, res.body)
	}
	if res := doHTTP(t, client, "POST", base+"/v2/echo", "", `{"message":"old"}`); res.status != 404 {
		t.Errorf("POST /v2/echo after the redeploy: %d %s, want 404", res.status, res.body)
	}

	// Rules that cannot be served are refused on write, naming the rule.
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown selector", "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    get: /a/{message}\n  - selector: tollgate.example.v1.EchoService.Nope\n    get: /b\n",
			`http.rules[1].selector: "tollgate.example.v1.EchoService.Nope" names no method`},
		{"bad template", "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    get: /a/{message\n",
			"http.rules[0]: (selector tollgate.example.v1.EchoService.Echo) binding GET /a/{message"},
		{"no such field", "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    get: /a/{nope}\n",
			"tollgate.example.v1.EchoService.Echo"},
		{"wildcard", "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.*\n    get: /a\n", "without wildcards"},
		{"unknown field", "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Echo\n    gett: /a\n", `unknown field "gett"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := proto.Clone(api).(*adminv1.Api)
			api.ServiceConfigYaml = tt.yaml
			_, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: "bad", Api: api})
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("CreateApi: %v, want INVALID_ARGUMENT", err)
			}
			var got []string
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						got = append(got, fv.GetField()+": "+fv.GetDescription())
						if fv.GetField() == "api.service_config_yaml" && strings.Contains(fv.GetDescription(), tt.want) {
							return
						}
					}
				}
			}
			t.Errorf("violations %q, want api.service_config_yaml with %q", got, tt.want)
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
