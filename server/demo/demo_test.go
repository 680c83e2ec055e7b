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

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
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

func TestRunIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	svc := newService(t, dir)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	var previous state
	for run := 1; run <= 2; run++ {
		stop, err := demo.Run(ctx, svc, logger,
			demo.WithAdminURL("http://127.0.0.1:1234"), demo.WithTokenHint("$(cat token)"))
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		got := readState(t, ctx, svc)
		target := got.api.GetDefaultIntegration().GetGrpc().GetTarget()

		// The API points at a live backend that serves the bookstore.
		callBackend(t, ctx, target)
		if got.api.GetDisplayName() != "Bookstore demo" || got.api.GetProtocol() != adminv1.Api_PROTOCOL_GRPC_REST {
			t.Errorf("run %d: api = %v", run, got.api)
		}
		fds := &descriptorpb.FileDescriptorSet{}
		if err := proto.Unmarshal(got.api.GetFileDescriptorSet(), fds); err != nil || !hasService(fds, "BookstoreService") {
			t.Errorf("run %d: the api's descriptor set lacks BookstoreService (%v)", run, err)
		}
		if got.apis != 2 {
			t.Errorf("run %d: %d apis, want 2 (bookstore and chat)", run, got.apis)
		}
		chatStage, err := svc.GetStage(ctx, &adminv1.GetStageRequest{Name: demo.ChatStageName})
		chatDeps, derr := svc.ListDeployments(ctx, &adminv1.ListDeploymentsRequest{Parent: demo.ChatAPIName})
		if err != nil || derr != nil || len(chatDeps.GetDeployments()) != 1 || chatStage.GetDeployment() != chatDeps.GetDeployments()[0].GetName() {
			t.Errorf("run %d: the chat stage %v does not serve its only deployment (%v, %v)", run, chatStage, err, derr)
		}
		// The stage serves the one current deployment; older ones are gone.
		if len(got.deployments) != 1 || got.stage.GetDeployment() != got.deployments[0] {
			t.Errorf("run %d: stage serves %q, deployments %v; want the only deployment", run, got.stage.GetDeployment(), got.deployments)
		}
		if run == 2 {
			if got.stage.GetDeployment() == previous.stage.GetDeployment() {
				t.Error("second run did not deploy anew")
			}
			if got.api.GetUid() != previous.api.GetUid() || got.stage.GetUid() != previous.stage.GetUid() {
				t.Error("second run replaced the api or stage instead of updating them")
			}
		}
		stop()
		previous = got
	}

	out := logs.String()
	for _, want := range []string{"created the bookstore API", "updated the bookstore API", `curl -H \"Authorization: Bearer $(cat token)\" http://127.0.0.1:1234/v1/apis/bookstore/stages/demo`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
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
