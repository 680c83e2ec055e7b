package admin_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// env is an admin service on a real store and a real loopback gRPC server.
type env struct {
	t      *testing.T
	dir    string
	st     *boltstore.Store
	srv    *grpc.Server
	conn   *grpc.ClientConn
	client adminv1.AdminServiceClient
}

// newEnv starts an admin service on a fresh data dir.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	st, err := boltstore.Open(filepath.Join(e.dir, "tollgate.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := store.Migrate(context.Background(), st, store.Migrations); err != nil {
		e.t.Fatal(err)
	}
	svc, err := admin.New(st)
	if err != nil {
		e.t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := grpc.NewServer()
	adminv1.RegisterAdminServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.srv, e.conn, e.client = st, srv, conn, adminv1.NewAdminServiceClient(conn)
}

func (e *env) stop() {
	if e.conn == nil {
		return
	}
	_ = e.conn.Close()
	e.srv.GracefulStop()
	_ = e.st.Close()
	e.conn = nil
}

// restart stops the service and starts a new one on the same data dir.
func (e *env) restart() {
	e.stop()
	e.start()
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// must fails the test on err and returns v.
func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantCode checks the gRPC code of err.
func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("code = %v (%v), want %v", st.Code(), err, want)
	}
	return st
}

// violationFields returns the BadRequest field names of an error.
func violationFields(err error) []string {
	st, _ := status.FromError(err)
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out = append(out, fv.GetField())
			}
		}
	}
	return out
}

// descriptorSet is the example backend's schema, as a user would upload it.
func descriptorSet(t *testing.T) []byte {
	b, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// grpcIntegration is an integration to a gRPC backend.
func grpcIntegration(target string) *adminv1.Integration {
	return &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: target}}}
}

// seedAPI creates an API "shop" with the example schema and a deployment
// and stage "prod".
func seedAPI(t *testing.T, e *env) (*adminv1.Api, *adminv1.Deployment, *adminv1.Stage) {
	t.Helper()
	c := ctx(t)
	api := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DisplayName:        "Shop",
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)},
		DefaultIntegration: grpcIntegration("localhost:50051"),
	}}))
	dep := must[*adminv1.Deployment](t)(e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: "v1"}))
	stage := must[*adminv1.Stage](t)(e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "prod", Stage: &adminv1.Stage{Deployment: dep.GetName()}}))
	return api, dep, stage
}
