package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/demo"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newService opens a store in dir and returns an admin service over it;
// both are closed with the test.
func newService(t *testing.T, dir string) adminv1.AdminServiceServer {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := store.Migrate(context.Background(), st, store.Migrations); err != nil {
		t.Fatal(err)
	}
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// state is what the demo set up, read back through the admin service.
type state struct {
	api         *adminv1.Api
	stage       *adminv1.Stage
	apis        int
	deployments []string
}

func readState(t *testing.T, ctx context.Context, svc adminv1.AdminServiceServer) state {
	t.Helper()
	api, err := svc.GetApi(ctx, &adminv1.GetApiRequest{Name: demo.APIName})
	if err != nil {
		t.Fatalf("GetApi: %v", err)
	}
	stage, err := svc.GetStage(ctx, &adminv1.GetStageRequest{Name: demo.StageName})
	if err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	apis, err := svc.ListApis(ctx, &adminv1.ListApisRequest{})
	if err != nil {
		t.Fatal(err)
	}
	deps, err := svc.ListDeployments(ctx, &adminv1.ListDeploymentsRequest{Parent: demo.APIName})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range deps.GetDeployments() {
		names = append(names, d.GetName())
	}
	return state{api: api, stage: stage, apis: len(apis.GetApis()), deployments: names}
}

func TestRunKeepsWhatTheUserChanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	svc := newService(t, dir)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	run := func() state {
		t.Helper()
		stop, err := demo.Run(ctx, svc, logger,
			demo.WithAdminURL("http://127.0.0.1:1234"), demo.WithTokenHint("$(cat token)"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		got := readState(t, ctx, svc)
		// The stage's variable points at a live backend that serves the bookstore.
		callBackend(t, ctx, got.stage.GetVariables()["backend"])
		if got.apis != 2 {
			t.Errorf("%d apis, want 2 (bookstore and chat)", got.apis)
		}
		chatStage, err := svc.GetStage(ctx, &adminv1.GetStageRequest{Name: demo.ChatStageName})
		if err != nil || chatStage.GetDeployment() == "" || chatStage.GetVariables()["backend"] == "" {
			t.Errorf("chat stage = %v (%v), want a deployment and a backend variable", chatStage, err)
		}
		return got
	}

	first := run()
	if got := first.api.GetDefaultIntegration().GetGrpc().GetTarget(); got != "${stageVariables.backend}" {
		t.Errorf("api target = %q, want the stage variable", got)
	}
	fds := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(first.api.GetFileDescriptorSet(), fds); err != nil || !hasService(fds, "BookstoreService") {
		t.Errorf("the api's descriptor set lacks BookstoreService (%v)", err)
	}
	if len(first.deployments) != 1 || first.stage.GetDeployment() != first.deployments[0] {
		t.Fatalf("stage serves %q, deployments %v; want the only deployment", first.stage.GetDeployment(), first.deployments)
	}

	// The user deploys on their own, adds a variable and renames the API.
	mine, err := svc.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: demo.APIName, Deployment: &adminv1.Deployment{Description: "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"backend": first.stage.GetVariables()["backend"], "color": "blue"}
	if _, err := svc.UpdateStage(ctx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: demo.StageName, Deployment: mine.GetName(), Variables: vars},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment", "variables"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: demo.APIName, DisplayName: "My bookstore"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	}); err != nil {
		t.Fatal(err)
	}

	second := run()
	if second.stage.GetDeployment() != mine.GetName() || len(second.deployments) != 2 {
		t.Errorf("after a restart the stage serves %q of %v; want the user's %q, and no deployment deleted", second.stage.GetDeployment(), second.deployments, mine.GetName())
	}
	if second.stage.GetVariables()["color"] != "blue" || second.stage.GetVariables()["backend"] == first.stage.GetVariables()["backend"] {
		t.Errorf("variables = %v; want the user's kept and backend moved to the new backend", second.stage.GetVariables())
	}
	if second.api.GetDisplayName() != "My bookstore" || second.api.GetUid() != first.api.GetUid() || second.stage.GetUid() != first.stage.GetUid() {
		t.Errorf("the restart replaced or changed the user's api or stage: %v, %v", second.api, second.stage)
	}

	out := logs.String()
	for _, want := range []string{"created the bookstore API's stage", "kept the bookstore API", `curl -H \"Authorization: Bearer $(cat token)\" http://127.0.0.1:1234/v1/apis/bookstore/stages/demo`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// An API an older demo pointed at a literal address moves to the stage
// variable, with a new deployment.
func TestRunMovesAnOlderDemoToTheStageVariable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := newService(t, t.TempDir())
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: "bookstore", Api: &adminv1.Api{
		Protocol:           adminv1.Api_PROTOCOL_GRPC_REST,
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "127.0.0.1:1"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	old, err := svc.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: demo.APIName, Deployment: &adminv1.Deployment{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateStage(ctx, &adminv1.CreateStageRequest{Parent: demo.APIName, StageId: demo.StageID, Stage: &adminv1.Stage{Deployment: old.GetName()}}); err != nil {
		t.Fatal(err)
	}
	stop, err := demo.Run(ctx, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got := readState(t, ctx, svc)
	if got.api.GetDefaultIntegration().GetGrpc().GetTarget() != "${stageVariables.backend}" || got.stage.GetDeployment() == old.GetName() {
		t.Fatalf("api %v, stage %v: want the variable target and a new deployment", got.api.GetDefaultIntegration(), got.stage)
	}
	callBackend(t, ctx, got.stage.GetVariables()["backend"])
}

func TestRunFailsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // every store call fails
	svc := newService(t, t.TempDir())
	stop, err := demo.Run(ctx, svc, nil)
	if err == nil {
		stop()
		t.Fatal("Run succeeded with a cancelled context")
	}
	if stop != nil {
		t.Error("Run returned a stop func with an error")
	}
}

func TestRunNeedsService(t *testing.T) {
	if _, err := demo.Run(context.Background(), nil, nil); err == nil {
		t.Fatal("Run(nil service) succeeded")
	}
}

func callBackend(t *testing.T, ctx context.Context, target string) {
	t.Helper()
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = examplev1.NewBookstoreServiceClient(conn).ListShelves(ctx, &examplev1.ListShelvesRequest{})
	if err != nil {
		t.Fatalf("backend %s: ListShelves: %v", target, err)
	}
}

func hasService(fds *descriptorpb.FileDescriptorSet, name string) bool {
	for _, f := range fds.GetFile() {
		for _, s := range f.GetService() {
			if s.GetName() == name {
				return true
			}
		}
	}
	return false
}
