package admin_test

import (
	"context"
	"path/filepath"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// TestDeployedReadsOnlyNewDeployments checks Deployed's cache of decoded
// deployments (issue 23): a deployment already returned is not decoded
// again, equal descriptor sets share their bytes, and a deployment deleted
// and created again under the same name is read afresh.
func TestDeployedReadsOnlyNewDeployments(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := ctx(t)
	if _, err := store.Migrate(c, st, store.Migrations); err != nil {
		t.Fatal(err)
	}
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	api := must[*adminv1.Api](t)(svc.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)},
		DefaultIntegration: grpcIntegration("localhost:50051"),
	}}))
	deploy := func(id, description string) *adminv1.Deployment {
		return must[*adminv1.Deployment](t)(svc.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: id,
			Deployment: &adminv1.Deployment{Description: description}}))
	}
	v1, v2 := deploy("v1", "first"), deploy("v2", "second")
	for _, id := range []string{"a", "b"} {
		must[*adminv1.Stage](t)(svc.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: id, Stage: &adminv1.Stage{Deployment: v1.GetName()}}))
	}
	must[*adminv1.Stage](t)(svc.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "c", Stage: &adminv1.Stage{Deployment: v2.GetName()}}))
	deployed := func() map[string]*adminv1.Deployment {
		t.Helper()
		d, err := svc.Deployed(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*adminv1.Deployment{}
		for _, s := range d.Stages {
			out[s.Stage.GetName()] = s.Deployment
		}
		return out
	}
	first := deployed()
	if first["apis/shop/stages/a"] != first["apis/shop/stages/b"] {
		t.Error("two stages serving one deployment got two decoded copies")
	}
	set := func(d *adminv1.Deployment) *byte { return &d.GetSnapshot().GetApi().GetFileDescriptorSet()[0] }
	if set(first["apis/shop/stages/a"]) != set(first["apis/shop/stages/c"]) {
		t.Error("equal descriptor sets of two deployments do not share their bytes")
	}
	second := deployed()
	if second["apis/shop/stages/a"] != first["apis/shop/stages/a"] {
		t.Error("an unchanged deployment was decoded again")
	}

	// Stage a moves off v2's name; v2 is deleted, created again with
	// another description, and served again.
	must[*adminv1.Stage](t)(svc.UpdateStage(c, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/c", Deployment: v1.GetName()}}))
	deployed()
	if _, err := svc.DeleteDeployment(c, &adminv1.DeleteDeploymentRequest{Name: v2.GetName()}); err != nil {
		t.Fatal(err)
	}
	deploy("v2", "again")
	must[*adminv1.Stage](t)(svc.UpdateStage(c, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/c", Deployment: v2.GetName()}}))
	if got := deployed()["apis/shop/stages/c"].GetDescription(); got != "again" {
		t.Errorf("recreated deployment: description %q, want %q", got, "again")
	}
}
