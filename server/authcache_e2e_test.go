package server_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// countingAuthorizer allows every token on every resource and counts its
// callouts.
type countingAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
	calls atomic.Int64
}

func (a *countingAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	a.calls.Add(1)
	return &datav1.AuthorizeResponse{PrincipalId: req.GetAuthorizationToken(), Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"*"}}}}, nil
}

// TestFlushStageAuthorizersCache (issue 13): the admin API empties a
// stage's authorizer policy cache, over gRPC and REST, for every authorizer
// or one; the next call asks the authorizer again. Bad requests say which
// field is wrong.
func TestFlushStageAuthorizersCache(t *testing.T) {
	ca := &countingAuthorizer{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as := grpc.NewServer()
	datav1.RegisterAuthorizerServiceServer(as, ca)
	go func() { _ = as.Serve(lis) }()
	t.Cleanup(as.Stop)

	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	if _, err := admin.CreateAuthorizer(actx, &adminv1.CreateAuthorizerRequest{Parent: "apis/bookstore", AuthorizerId: "tok", Authorizer: &adminv1.Authorizer{
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
			Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: lis.Addr().String()}},
			IdentitySources:  []string{"$request.header.X-Token"},
			ResultTtlSeconds: proto.Int32(300),
		}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo", Route: &adminv1.Route{
		Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
		Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/bookstore/authorizers/tok"},
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}

	echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
	call := func(step string, wantCallouts int64) {
		t.Helper()
		c := metadata.AppendToOutgoingContext(context.Background(), "x-token", "alice")
		if _, err := echo.Echo(c, &examplev1.EchoRequest{Message: "hi"}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := ca.calls.Load(); got != wantCallouts {
			t.Fatalf("%s: %d callouts, want %d", step, got, wantCallouts)
		}
	}
	call("first call", 1)
	call("cached", 1)

	steps := []struct {
		name       string
		flush      func() error
		wantCalled bool
	}{
		{"gRPC, every authorizer", func() error {
			_, err := admin.FlushStageAuthorizersCache(actx, &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/demo"})
			return err
		}, true},
		{"gRPC, this authorizer", func() error {
			_, err := admin.FlushStageAuthorizersCache(actx, &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/demo", Authorizer: "apis/bookstore/authorizers/tok"})
			return err
		}, true},
		{"gRPC, another authorizer", func() error {
			_, err := admin.FlushStageAuthorizersCache(actx, &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/demo", Authorizer: "apis/bookstore/authorizers/other"})
			return err
		}, false},
		{"response cache only", func() error {
			_, err := admin.FlushStageCache(actx, &adminv1.FlushStageCacheRequest{Name: "apis/bookstore/stages/demo"})
			return err
		}, false},
		{"REST", func() error {
			res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+"/v1/apis/bookstore/stages/demo:flushAuthorizersCache", "Bearer "+ts.AdminToken(), `{"authorizer":"apis/bookstore/authorizers/tok"}`)
			if res.status != http.StatusOK {
				t.Fatalf("REST flush: %d %s", res.status, res.body)
			}
			return nil
		}, true},
	}
	want := ca.calls.Load()
	for _, s := range steps {
		if err := s.flush(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.wantCalled {
			want++
		}
		call("after flush: "+s.name, want)
	}

	bad := []struct {
		name      string
		req       *adminv1.FlushStageAuthorizersCacheRequest
		wantCode  codes.Code
		wantField string
	}{
		{"missing stage", &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/nope"}, codes.NotFound, ""},
		{"not a stage", &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore"}, codes.InvalidArgument, "name"},
		{"authorizer of another API", &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/demo", Authorizer: "apis/other/authorizers/tok"}, codes.InvalidArgument, "authorizer"},
		{"not an authorizer", &adminv1.FlushStageAuthorizersCacheRequest{Name: "apis/bookstore/stages/demo", Authorizer: "tok"}, codes.InvalidArgument, "authorizer"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := admin.FlushStageAuthorizersCache(actx, tt.req)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("%v, want %v", err, tt.wantCode)
			}
			if tt.wantField == "" {
				return
			}
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 && br.GetFieldViolations()[0].GetField() == tt.wantField {
					return
				}
			}
			t.Errorf("%v: no BadRequest naming %q", err, tt.wantField)
		})
	}
}
