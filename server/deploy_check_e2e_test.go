package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// withListBooksRule returns the demo API's descriptors with the
// google.api.http rule of BookstoreService.ListBooks replaced by rule.
func withListBooksRule(t *testing.T, set []byte, rule *annotations.HttpRule) []byte {
	t.Helper()
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fds.GetFile() {
		for _, svc := range f.GetService() {
			if f.GetPackage()+"."+svc.GetName() != "tollgate.example.v1.BookstoreService" {
				continue
			}
			for _, m := range svc.GetMethod() {
				if m.GetName() == "ListBooks" {
					if m.Options == nil {
						m.Options = &descriptorpb.MethodOptions{}
					}
					proto.SetExtension(m.Options, annotations.E_Http, rule)
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatal("no BookstoreService.ListBooks in the descriptors")
	}
	b, err := proto.Marshal(&fds)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setDescriptors replaces the file descriptor set of an API.
func setDescriptors(t *testing.T, ctx context.Context, admin adminv1.AdminServiceClient, api string, set []byte) {
	t.Helper()
	if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: api, DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: set}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"file_descriptor_set"}},
	}); err != nil {
		t.Fatal(err)
	}
}

// wantUnservable checks that err is INVALID_ARGUMENT with a BadRequest
// violation of field whose description names the method and the binding.
func wantUnservable(t *testing.T, err error, field, method, binding string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("error %v, want INVALID_ARGUMENT", err)
	}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, fv := range br.GetFieldViolations() {
			if fv.GetField() == field && strings.Contains(fv.GetDescription(), method) && strings.Contains(fv.GetDescription(), binding) {
				return
			}
		}
	}
	t.Fatalf("no BadRequest violation of %q naming %s and %q in %v (details %v)", field, method, binding, err, st.Details())
}

// unservableRule is a binding no data plane can serve: its path variable
// names no field of ListBooksRequest.
var unservableRule = &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/shelves/{nope}/books"}}

// TestIssue18DeployChecks covers issue 18: a binding whose verb holds a
// ':' (grpc-gateway's own a_bit_of_everything.proto has one) is deployed
// and served like any other, and a deployment with a binding that cannot
// be served is refused over gRPC and REST, naming the method and the
// binding, while the stage keeps serving its deployment.
func TestIssue18DeployChecks(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	data := "http://" + ts.DataAddr()
	client := http1Client(t)

	api, err := admin.GetApi(ctx, &adminv1.GetApiRequest{Name: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	setDescriptors(t, ctx, admin, "apis/bookstore", withListBooksRule(t, api.GetFileDescriptorSet(), &annotations.HttpRule{
		Pattern: &annotations.HttpRule_Get{Get: "/v1/{parent=shelves/*}/books:custom:custom"},
	}))
	good, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatalf("CreateDeployment with a ':' in a verb: %v", err)
	}
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: good.GetName()}}); err != nil {
		t.Fatal(err)
	}
	serving := func(when string) {
		t.Helper()
		for _, path := range []string{"/demo/v1/shelves/fiction/books:custom:custom", "/demo/v1/shelves"} {
			if res := doHTTP(t, client, http.MethodGet, data+path, "", ""); res.status != http.StatusOK {
				t.Fatalf("%s: GET %s: %d %s", when, path, res.status, res.body)
			}
		}
	}
	serving("deployed")

	setDescriptors(t, ctx, admin, "apis/bookstore", withListBooksRule(t, api.GetFileDescriptorSet(), unservableRule))
	before, err := admin.ListDeployments(ctx, &adminv1.ListDeploymentsRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore", DeploymentId: "broken"})
	wantUnservable(t, err, "parent", "tollgate.example.v1.BookstoreService.ListBooks", "GET /v1/shelves/{nope}/books")

	a := newRESTAPI(t, ts)
	st := a.fail(t, http.MethodPost, "/v1/apis/bookstore/deployments?deploymentId=broken", `{}`, http.StatusBadRequest, codes.InvalidArgument)
	if f := violatedFields(t, st); len(f) != 1 || f[0] != "parent" {
		t.Errorf("REST: violated fields %q, want [parent]", f)
	}
	if !strings.Contains(st.Message, "tollgate.example.v1.BookstoreService.ListBooks") || !strings.Contains(st.Message, "GET /v1/shelves/{nope}/books") {
		t.Errorf("REST: message %q does not name the method and the binding", st.Message)
	}

	after, err := admin.ListDeployments(ctx, &adminv1.ListDeploymentsRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.GetDeployments()) != len(before.GetDeployments()) {
		t.Errorf("%d deployments after refused creates, want %d", len(after.GetDeployments()), len(before.GetDeployments()))
	}
	serving("after the refused deploys")
	if res := doHTTP(t, client, http.MethodGet, data+"/readyz", "", ""); res.status != http.StatusOK || res.body != "ok\n" {
		t.Errorf("/readyz: %d %q, want 200 ok", res.status, res.body)
	}
}

// TestDeployPreflightIsTheDataPlanesCompile checks bindings that
// grpc-gateway's generator refuses are refused at deploy time too, each
// naming its method and binding.
func TestDeployPreflightIsTheDataPlanesCompile(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	api, err := admin.GetApi(ctx, &adminv1.GetApiRequest{Name: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		rule    *annotations.HttpRule
		binding string
	}{
		{"two deep wildcards", &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/{parent=**}/books/**"}}, "GET /v1/{parent=**}/books/**"},
		{"GET with a body", &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1/{parent=shelves/*}/books"}, Body: "*"}, "GET /v1/{parent=shelves/*}/books"},
		{"unknown body field", &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/{parent=shelves/*}/books"}, Body: "nope"}, "POST /v1/{parent=shelves/*}/books"},
		{"empty segment", &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v1//books"}}, "GET /v1//books"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setDescriptors(t, ctx, admin, "apis/bookstore", withListBooksRule(t, api.GetFileDescriptorSet(), tc.rule))
			_, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
			wantUnservable(t, err, "parent", "tollgate.example.v1.BookstoreService.ListBooks", tc.binding)
		})
	}
}
