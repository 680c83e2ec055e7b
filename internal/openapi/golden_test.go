package openapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/internal/openapi"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCase is a deployment rendered into testdata/golden/NAME.*.
type goldenCase struct {
	name string
	snap func(t *testing.T) *adminv1.ApiSnapshot
	opts openapi.Options
}

// goldenCases are deployments that, together, use every feature of the
// renderer: path and query parameters, "*" and field bodies,
// response_body, streaming, repeated, map, enum, oneof and well-known
// types, field_behavior, expanded path templates, comments, plain HTTP
// routes, authorizers and API keys, and servers (absolute, relative and
// none).
var goldenCases = []goldenCase{
	{
		// Every binding shape and field type, with rules from both the
		// annotations and a service config YAML.
		name: "transcoding",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			snap := snapshotOf(t, testingv1.File_tollgate_testing_v1_transcoding_proto)
			src, err := os.ReadFile(filepath.Join("..", "..", "proto", "tollgate", "testing", "v1", "transcoding_api_config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			merged, err := serviceconfig.ApplySet(snap.GetApi().GetFileDescriptorSet(), string(src))
			if err != nil {
				t.Fatal(err)
			}
			snap.Api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: merged}
			snap.Api.DisplayName = "Transcoding"
			snap.Api.Description = "The transcoder's test service."
			return snap
		},
		opts: openapi.Options{ServerURL: "https://api.example.com/prod", Version: "d-7"},
	},
	{
		// Authorizers of every identity source, API keys on routes and
		// as a route's authorization, plain HTTP routes (one method, "*",
		// patterned variables, a collision with a gRPC binding's shape).
		name: "security",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			snap := snapshotOf(t, examplev1.File_tollgate_example_v1_bookstore_proto, examplev1.File_tollgate_example_v1_echo_proto)
			snap.Authorizers = []*adminv1.Authorizer{
				{Name: "apis/test/authorizers/jwt", DisplayName: "Corporate SSO", Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Issuer: "https://issuer.example"}}},
				{Name: "apis/test/authorizers/jwthdr", Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{
					Issuer: "https://other.example", IdentitySources: []string{"$context.identity.sourceIp", "$request.header.X-Token"}}}},
				{Name: "apis/test/authorizers/custom", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
					Type: adminv1.CustomAuthorizer_TYPE_TOKEN, IdentitySources: []string{"$request.querystring.token"}}}},
				{Name: "apis/test/authorizers/customhdr", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
					Type: adminv1.CustomAuthorizer_TYPE_REQUEST, IdentitySources: []string{"$request.header.Authorization"}}}},
				{Name: "apis/test/authorizers/unused", Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{}}},
			}
			snap.Routes = []*adminv1.Route{
				{Name: "apis/test/routes/books", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
					Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/jwt"}},
				{Name: "apis/test/routes/create", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/CreateBook"},
					ApiKeyRequired: true,
					Authorization:  &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/custom"}},
				{Name: "apis/test/routes/echo", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
					Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_API_KEY}},
				{Name: "apis/test/routes/hello", Description: "Says hello.", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/hello/{who}"}},
					Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/jwthdr"}},
				{Name: "apis/test/routes/files", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "*", Path: "/files/{path=**}"}},
					Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/test/authorizers/customhdr"}},
				{Name: "apis/test/routes/shelfinfo", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "POST", Path: "/v1/{name=racks/*}"}}},
			}
			return snap
		},
		opts: openapi.Options{ServerURL: "/demo"},
	},
	{
		// The API key read from an authorizer; no server.
		name: "keysource",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			snap := snapshotOf(t, examplev1.File_tollgate_example_v1_echo_proto)
			snap.Api.ApiKeySource = adminv1.Api_API_KEY_SOURCE_AUTHORIZER
			snap.Routes = []*adminv1.Route{
				{Name: "apis/test/routes/all", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"}, ApiKeyRequired: true},
			}
			return snap
		},
	},
	{
		// SourceCodeInfo comments (a buf-built descriptor set).
		name: "comments",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			raw, err := os.ReadFile(filepath.Join("testdata", "bookstore.binpb"))
			if err != nil {
				t.Fatal(err)
			}
			return &adminv1.ApiSnapshot{Api: &adminv1.Api{Name: "apis/test", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: raw}}}
		},
		opts: openapi.Options{ServerURL: "http://localhost:8080/v"},
	},
	{
		// field_behavior (REQUIRED, OUTPUT_ONLY), recursive messages and
		// templates that differ only in their patterns (expanded).
		name: "admin",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			return snapshotOf(t, adminv1.File_tollgate_admin_v1_admin_service_proto)
		},
		opts: openapi.Options{ServerURL: "https://admin.example.com", Version: "v1"},
	},
	{
		// Plain HTTP routes only, no descriptors.
		name: "routes",
		snap: func(t *testing.T) *adminv1.ApiSnapshot {
			return &adminv1.ApiSnapshot{
				Api: &adminv1.Api{Name: "apis/plain"},
				Routes: []*adminv1.Route{
					{Name: "apis/plain/routes/root", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/"}}},
					{Name: "apis/plain/routes/item", Description: "An item.", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "delete", Path: "/items/{id}"}}, ApiKeyRequired: true},
					{Name: "apis/plain/routes/grpc", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/x.Y/Z"}},
				},
			}
		},
	},
}

// goldenOutputs are the four encodings of each case.
var goldenOutputs = []struct {
	suffix string
	f      openapi.Format
	o      openapi.Output
}{
	{"openapi3.json", openapi.OpenAPI3, openapi.JSON},
	{"openapi3.yaml", openapi.OpenAPI3, openapi.YAML},
	{"openapi2.json", openapi.OpenAPI2, openapi.JSON},
	{"openapi2.yaml", openapi.OpenAPI2, openapi.YAML},
}

// TestGolden renders the cases in both formats and both encodings and
// compares them with testdata/golden as parsed values (key order and
// formatting aside), and reports when the bytes differ too. The documents
// also validate (kin-openapi). Run with -update to rewrite the files.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		for _, out := range goldenOutputs {
			t.Run(c.name+"."+out.suffix, func(t *testing.T) {
				got, err := openapi.Render(c.snap(t), out.f, out.o, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "golden", c.name+"."+out.suffix)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(parsed(t, out.o, want), parsed(t, out.o, got)); diff != "" {
					t.Fatalf("%s differs (-want +got):\n%s", path, diff)
				}
				if !bytes.Equal(want, got) {
					t.Errorf("%s: same document, different bytes", path)
				}
				doc := parsed(t, out.o, got)
				for _, ref := range refs(doc, nil) {
					if !resolves(doc, ref) {
						t.Errorf("%s: $ref %q points nowhere in the document", path, ref)
					}
				}
				j := got
				if out.o == openapi.YAML {
					if j, err = yaml.YAMLToJSON(got); err != nil {
						t.Fatal(err)
					}
				}
				validate(t, out.f, j)
			})
		}
	}
}

// parsed decodes a document into plain values.
func parsed(t *testing.T, o openapi.Output, b []byte) any {
	t.Helper()
	var v any
	var err error
	if o == openapi.YAML {
		err = yaml.Unmarshal(b, &v)
	} else {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatalf("decode: %v\n%.300s", err, b)
	}
	return v
}

// refs returns the "$ref" values in a parsed document.
func refs(v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = refs(x, out)
		}
	case []any:
		for _, x := range v {
			out = refs(x, out)
		}
	}
	return out
}

// resolves reports whether ref, a local JSON pointer ("#/a/b"), names a
// value of doc. (kin-openapi's validation of a 2.0 document, after its
// conversion to 3, does not notice a reference to a 3.1 component.)
func resolves(doc any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	for _, tok := range strings.Split(path, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		if doc, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}
