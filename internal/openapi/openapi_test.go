package openapi_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/openapi"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
)

func snapshotOf(t *testing.T, files ...protoreflect.FileDescriptor) *adminv1.ApiSnapshot {
	t.Helper()
	raw, err := proto.Marshal(examplebackend.DescriptorSetOf(files...))
	if err != nil {
		t.Fatal(err)
	}
	return &adminv1.ApiSnapshot{Api: &adminv1.Api{
		Name:               "apis/test",
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: raw},
		DefaultIntegration: &adminv1.Integration{},
	}}
}

// validate checks a document with kin-openapi's validator, after a round
// trip through its loader (what a user's tool would read).
func validate(t *testing.T, f openapi.Format, b []byte) *openapi3.T {
	t.Helper()
	ctx := context.Background()
	var doc *openapi3.T
	switch f {
	case openapi.OpenAPI3:
		var err error
		if doc, err = openapi3.NewLoader().LoadFromData(b); err != nil {
			t.Fatalf("load the OpenAPI 3 document: %v", err)
		}
	case openapi.OpenAPI2:
		var d2 openapi2.T
		if err := json.Unmarshal(b, &d2); err != nil {
			t.Fatalf("load the OpenAPI 2 document: %v", err)
		}
		if d2.Swagger != "2.0" {
			t.Fatalf("swagger = %q, want 2.0", d2.Swagger)
		}
		var err error
		if doc, err = openapi2conv.ToV3(&d2); err != nil {
			t.Fatalf("convert the OpenAPI 2 document: %v", err)
		}
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the document does not validate: %v\n%s", err, b)
	}
	return doc
}

// numbered is grpc-gateway's suffix for path keys that collide.
var numbered = regexp.MustCompile(`\{([^}]+?)_\d+\}`)

func shape(p string) string { return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(p, "{}") }

// swaggerOps reads "METHOD path" per operation ID from a
// protoc-gen-openapiv2 document, with collision suffixes removed.
func swaggerOps(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for p, item := range doc.Paths {
		for m, op := range item {
			if op.OperationID != "" {
				out[op.OperationID] = strings.ToUpper(m) + " " + numbered.ReplaceAllString(p, "{$1}")
			}
		}
	}
	return out
}

// TestPathsMatchProtocGenOpenAPIv2 renders the repository's protos and
// compares every operation with what protoc-gen-openapiv2 generated for
// them (gen/**/*.swagger.json), and validates both formats.
func TestPathsMatchProtocGenOpenAPIv2(t *testing.T) {
	tests := []struct {
		name    string
		files   []protoreflect.FileDescriptor
		swagger []string
		// serviceConfig is the google.api.Service YAML buf.gen.yaml hands
		// protoc-gen-openapiv2 (grpc_api_configuration) for these files,
		// merged into the snapshot's descriptors as a deployment would.
		serviceConfig string
	}{
		{"transcoding", []protoreflect.FileDescriptor{testingv1.File_tollgate_testing_v1_transcoding_proto}, []string{"testing/v1/transcoding.swagger.json"}, "testing/v1/transcoding_api_config.yaml"},
		{"bookstore", []protoreflect.FileDescriptor{examplev1.File_tollgate_example_v1_bookstore_proto, examplev1.File_tollgate_example_v1_echo_proto}, []string{"example/v1/bookstore.swagger.json", "example/v1/echo.swagger.json"}, ""},
		{"admin", []protoreflect.FileDescriptor{adminv1.File_tollgate_admin_v1_admin_service_proto}, []string{"admin/v1/admin_service.swagger.json"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]string{}
			for _, f := range tt.swagger {
				b, err := os.ReadFile(filepath.Join("..", "..", "gen", "tollgate", f))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range swaggerOps(t, b) {
					want[k] = v
				}
			}
			snap := snapshotOf(t, tt.files...)
			if tt.serviceConfig != "" {
				src, err := os.ReadFile(filepath.Join("..", "..", "proto", "tollgate", tt.serviceConfig))
				if err != nil {
					t.Fatal(err)
				}
				merged, err := serviceconfig.ApplySet(snap.GetApi().GetFileDescriptorSet(), string(src))
				if err != nil {
					t.Fatal(err)
				}
				snap.Api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: merged}
			}
			b2, err := openapi.Render(snap, openapi.OpenAPI2, openapi.JSON, openapi.Options{})
			if err != nil {
				t.Fatal(err)
			}
			validate(t, openapi.OpenAPI2, b2)
			got := swaggerOps(t, b2)
			for id := range got {
				if _, ok := want[id]; !ok && strings.HasPrefix(got[id], "POST /"+string(tt.files[0].Package())) {
					delete(got, id) // the default binding of a method without a rule: served, not in grpc-gateway's output
				}
			}
			// grpc-gateway writes templates that differ only in their
			// patterns ("{name=apis/*}", "{name=apis/*/stages/*}") as one
			// path shape ("/v1/{name}", "/v1/{name_1}"), which OpenAPI
			// forbids; those are expanded here. Compare their methods only.
			shapes := map[string]map[string]bool{}
			for _, v := range want {
				m, p, _ := strings.Cut(v, " ")
				if shapes[shape(p)] == nil {
					shapes[shape(p)] = map[string]bool{}
				}
				shapes[shape(p)][m+" "+p] = true
			}
			expanded := 0
			for id, v := range want {
				m, p, _ := strings.Cut(v, " ")
				if len(shapes[shape(p)]) > 1 && got[id] != v {
					if gm, _, _ := strings.Cut(got[id], " "); gm != m {
						t.Errorf("%s: method %s, want %s", id, gm, m)
					}
					delete(want, id)
					delete(got, id)
					expanded++
				}
			}
			t.Logf("%d operations, %d expanded", len(want)+expanded, expanded)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("operations differ from protoc-gen-openapiv2's (-want +got):\n%s", diff)
			}
			b3, err := openapi.Render(snap, openapi.OpenAPI3, openapi.JSON, openapi.Options{ServerURL: "https://api.example.com/prod"})
			if err != nil {
				t.Fatal(err)
			}
			doc := validate(t, openapi.OpenAPI3, b3)
			if doc.OpenAPI != "3.1.0" {
				t.Errorf("openapi = %q", doc.OpenAPI)
			}
		})
	}
}

func TestYAML(t *testing.T) {
	snap := snapshotOf(t, examplev1.File_tollgate_example_v1_bookstore_proto)
	for _, f := range []openapi.Format{openapi.OpenAPI3, openapi.OpenAPI2} {
		b, err := openapi.Render(snap, f, openapi.YAML, openapi.Options{ServerURL: "/demo"})
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			t.Fatalf("not YAML: %v\n%s", err, b)
		}
		validate(t, f, j)
	}
}

// TestSecurityAndRoutes: authorizers become security schemes, routes'
// requirements reach their operations, plain HTTP routes are described,
// required fields and the server URL are kept.
func TestSecurityAndRoutes(t *testing.T) {
	snap := snapshotOf(t, examplev1.File_tollgate_example_v1_bookstore_proto)
	snap.Authorizers = []*adminv1.Authorizer{
		{Name: "apis/test/authorizers/jwt", Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Issuer: "https://issuer.example"}}},
		{Name: "apis/test/authorizers/custom", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type: adminv1.CustomAuthorizer_TYPE_TOKEN, IdentitySources: []string{"$request.querystring.token"}}}},
	}
	snap.Routes = []*adminv1.Route{
		{Name: "apis/test/routes/books", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
			Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/jwt"}},
		{Name: "apis/test/routes/create", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/CreateBook"},
			ApiKeyRequired: true,
			Authorization:  &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/custom"}},
		{Name: "apis/test/routes/hello", Description: "Says hello.", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/hello/{who}"}}},
	}
	b, err := openapi.Render(snap, openapi.OpenAPI3, openapi.JSON, openapi.Options{ServerURL: "https://api.example.com/prod"})
	if err != nil {
		t.Fatal(err)
	}
	doc := validate(t, openapi.OpenAPI3, b)
	var schemes []string
	for name := range doc.Components.SecuritySchemes {
		schemes = append(schemes, name)
	}
	sort.Strings(schemes)
	if diff := cmp.Diff([]string{"api_key", "custom", "jwt"}, schemes); diff != "" {
		t.Errorf("security schemes (-want +got):\n%s", diff)
	}
	if s := doc.Components.SecuritySchemes["jwt"].Value; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("jwt scheme = %+v", s)
	}
	if s := doc.Components.SecuritySchemes["custom"].Value; s.Type != "apiKey" || s.In != "query" || s.Name != "token" {
		t.Errorf("custom scheme = %+v", s)
	}
	list := doc.Paths.Find("/v1/shelves").Get
	if list.Security == nil || len(*list.Security) != 1 || (*list.Security)[0]["jwt"] == nil {
		t.Errorf("ListShelves security = %v, want jwt", list.Security)
	}
	create := doc.Paths.Find("/v1/{parent}/books").Post
	if create.Security == nil || len((*create.Security)[0]) != 2 {
		t.Errorf("CreateBook security = %v, want custom and api_key", create.Security)
	}
	hello := doc.Paths.Find("/hello/{who}")
	if hello == nil || hello.Get == nil || hello.Get.Description != "Says hello." || hello.Get.Security != nil {
		t.Errorf("plain HTTP route = %+v", hello)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.example.com/prod" {
		t.Errorf("servers = %v", doc.Servers)
	}
	book := doc.Components.Schemas["tollgate.example.v1.Book"]
	if book == nil || book.Value.Properties["title"] == nil {
		t.Fatalf("Book schema = %+v", book)
	}
}

func TestWebSocketAPIRefused(t *testing.T) {
	snap := &adminv1.ApiSnapshot{Api: &adminv1.Api{Name: "apis/chat", Protocol: adminv1.Api_PROTOCOL_WEBSOCKET}}
	if _, err := openapi.Render(snap, openapi.OpenAPI3, openapi.JSON, openapi.Options{}); err != openapi.ErrNotREST {
		t.Errorf("err = %v, want ErrNotREST", err)
	}
}

// TestComments: a descriptor set with source info (buf build's default)
// gives operations and schemas their comments.
func TestComments(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "bookstore.binpb")) // buf build --as-file-descriptor-set
	if err != nil {
		t.Fatal(err)
	}
	snap := &adminv1.ApiSnapshot{Api: &adminv1.Api{Name: "apis/test", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: raw}}}
	b, err := openapi.Render(snap, openapi.OpenAPI3, openapi.JSON, openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc := validate(t, openapi.OpenAPI3, b)
	if got := doc.Paths.Find("/v1/shelves").Get.Summary; got != "Lists the shelves." {
		t.Errorf("ListShelves summary = %q", got)
	}
	book := doc.Components.Schemas["tollgate.example.v1.Book"].Value
	if book.Description != "Book is a book on a shelf." {
		t.Errorf("Book description = %q", book.Description)
	}
	if got := doc.Components.Schemas["tollgate.example.v1.Shelf"].Value.Properties["name"].Value.Description; got != `"shelves/{shelf}".` {
		t.Errorf("Shelf.name description = %q", got)
	}
}
