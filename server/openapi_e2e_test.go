package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// loadOpenAPI validates an OpenAPI 3 document with kin-openapi.
func loadOpenAPI(t *testing.T, b []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, b)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v\n%s", err, b)
	}
	return doc
}

// TestExportDeployment exports the demo's deployment over the admin API's
// REST and gRPC, and serves it on the data plane once the stage enables it
// (issue 18).
func TestExportDeployment(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	st, err := admin.GetStage(ctx, &adminv1.GetStageRequest{Name: "apis/bookstore/stages/demo"})
	if err != nil {
		t.Fatal(err)
	}

	// REST, as the issue writes it.
	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/v1/"+st.GetDeployment()+":export?format=openapi3&output=json&stage=demo&serverUrl=https://api.example.com", "Bearer "+ts.AdminToken(), "")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Fatalf("export: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	doc := loadOpenAPI(t, []byte(res.body))
	if doc.Paths.Find("/v1/{parent}/books") == nil {
		t.Errorf("no /v1/{parent}/books in %v", doc.Paths.InMatchingOrder())
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.example.com/demo" {
		t.Errorf("servers = %v", doc.Servers)
	}

	// gRPC, OpenAPI 2.0 as YAML.
	body, err := admin.ExportDeployment(ctx, &adminv1.ExportDeploymentRequest{Name: st.GetDeployment(), Format: "openapi2", Output: "yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if body.GetContentType() != "application/yaml" || !strings.Contains(string(body.GetData()), "swagger: \"2.0\"") {
		t.Errorf("openapi2 yaml: %s %.200s", body.GetContentType(), body.GetData())
	}
	if _, err := yaml.YAMLToJSON(body.GetData()); err != nil {
		t.Errorf("not YAML: %v", err)
	}
	for _, bad := range []*adminv1.ExportDeploymentRequest{
		{Name: st.GetDeployment(), Format: "raml"},
		{Name: st.GetDeployment(), ServerUrl: "ftp://x"},
		{Name: st.GetDeployment(), Stage: "apis/other/stages/demo"},
	} {
		if _, err := admin.ExportDeployment(ctx, bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v, want INVALID_ARGUMENT", bad, err)
		}
	}

	// The data plane serves it only when the stage asks.
	url := "http://" + ts.DataAddr() + "/demo/openapi.json"
	if res := doHTTP(t, http1Client(t), http.MethodGet, url, "", ""); res.status != http.StatusNotFound {
		t.Fatalf("before enabling: %d %s", res.status, res.body)
	}
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: st.GetName(), OpenapiDocumentEnabled: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"openapi_document_enabled"}},
	}); err != nil {
		t.Fatal(err)
	}
	res = doHTTP(t, http1Client(t), http.MethodGet, url, "", "")
	if res.status != http.StatusOK {
		t.Fatalf("openapi.json: %d %s", res.status, res.body)
	}
	doc = loadOpenAPI(t, []byte(res.body))
	if want := "http://" + ts.DataAddr() + "/demo"; len(doc.Servers) != 1 || doc.Servers[0].URL != want {
		t.Errorf("servers = %v, want %s", doc.Servers, want)
	}
	// It is the deployment's export with the data plane's URL as its
	// server.
	exp, err := admin.ExportDeployment(ctx, &adminv1.ExportDeploymentRequest{Name: st.GetDeployment(), Stage: "demo", ServerUrl: "http://" + ts.DataAddr()})
	if err != nil {
		t.Fatal(err)
	}
	var served, exported any
	if err := json.Unmarshal([]byte(res.body), &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(exp.GetData(), &exported); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(exported, served); diff != "" {
		t.Errorf("openapi.json differs from the export (-export +served):\n%s", diff)
	}
	// The document's paths are served there.
	if res := doHTTP(t, http1Client(t), http.MethodGet, doc.Servers[0].URL+"/v1/shelves", "", ""); res.status != http.StatusOK {
		t.Errorf("GET /v1/shelves under the document's server: %d %s", res.status, res.body)
	}
}
