package admin_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// countingStore is a real store that counts the records read of each kind.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	reads map[store.Kind]int
}

func (s *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, s: s}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, s: s}) })
}

func (s *countingStore) take() map[store.Kind]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reads
	s.reads = map[store.Kind]int{}
	return out
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (t *countingTx) count(kind store.Kind, n int) {
	t.s.mu.Lock()
	t.s.reads[kind] += n
	t.s.mu.Unlock()
}

func (t *countingTx) Get(kind store.Kind, key string) ([]byte, error) {
	t.count(kind, 1)
	return t.Tx.Get(kind, key)
}

func (t *countingTx) List(kind store.Kind, prefix, after string, limit int) ([]store.Record, error) {
	recs, err := t.Tx.List(kind, prefix, after, limit)
	t.count(kind, len(recs))
	return recs, err
}

// TestDeployedChangesReadsOnlyWhatChanged checks that the read of what is
// deployed after a write reads the records the write changed, not every
// stage (issue 23): a PATCH of one stage of 50 reads that stage; a new
// deployment and its stage read those two; a deleted stage is reported
// removed; a forced API deletion removes its stages; a write to another
// kind reads nothing.
func TestDeployedChangesReadsOnlyWhatChanged(t *testing.T) {
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	c := ctx(t)
	if _, err := store.Migrate(c, bolt, store.Migrations); err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: bolt, reads: map[store.Kind]int{}}
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	api := must[*adminv1.Api](t)(svc.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)},
		DefaultIntegration: grpcIntegration("localhost:50051"),
	}}))
	v1 := must[*adminv1.Deployment](t)(svc.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: "v1"}))
	const n = 50
	for i := range n {
		must[*adminv1.Stage](t)(svc.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "s" + string(rune('a'+i/26)) + string(rune('a'+i%26)),
			Stage: &adminv1.Stage{Deployment: v1.GetName()}}))
	}
	changes := func() (admin.DeployedConfig, map[store.Kind]int) {
		t.Helper()
		st.take()
		d, err := svc.DeployedChanges(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return d, st.take()
	}
	names := func(d admin.DeployedConfig) []string {
		var out []string
		for _, s := range d.Stages {
			out = append(out, s.Stage.GetName())
		}
		return out
	}
	first, _ := changes()
	if first.Delta || len(first.Stages) != n {
		t.Fatalf("first read: delta %v, %d stages; want every stage", first.Delta, len(first.Stages))
	}
	if d, reads := changes(); !d.Delta || len(d.Stages)+len(d.Removed) != 0 || len(reads) != 0 {
		t.Fatalf("nothing written: %v stages, %v removed, reads %v", names(d), d.Removed, reads)
	}

	// A PATCH of one stage.
	must[*adminv1.Stage](t)(svc.UpdateStage(c, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/saa", Variables: map[string]string{"v": "1"}}}))
	d, reads := changes()
	if !d.Delta || !slices.Equal(names(d), []string{"apis/shop/stages/saa"}) || d.Stages[0].Stage.GetVariables()["v"] != "1" {
		t.Fatalf("after a PATCH: delta %v, stages %v", d.Delta, names(d))
	}
	if reads["stages"] != 1 || reads["deployments"] != 0 {
		t.Errorf("after a PATCH: reads %v, want the stage only", reads)
	}

	// A new deployment served by one stage.
	v2 := must[*adminv1.Deployment](t)(svc.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: "v2"}))
	must[*adminv1.Stage](t)(svc.UpdateStage(c, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/sab", Deployment: v2.GetName()}}))
	d, reads = changes()
	if !slices.Equal(names(d), []string{"apis/shop/stages/sab"}) || d.Stages[0].Deployment.GetName() != v2.GetName() {
		t.Fatalf("after a deploy: stages %v", names(d))
	}
	if reads["stages"] != 1 || reads["deployments"] != 1 {
		t.Errorf("after a deploy: reads %v, want the stage and its deployment", reads)
	}
	set := func(ds admin.DeployedStage) *byte {
		return &ds.Deployment.GetSnapshot().GetApi().GetFileDescriptorSet()[0]
	}
	if set(d.Stages[0]) != set(first.Stages[0]) {
		t.Error("the new deployment's equal descriptor set does not share the served one's bytes")
	}

	// A write of another kind reads nothing.
	must[*adminv1.ApiKey](t)(svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}))
	if d, reads := changes(); len(d.Stages)+len(d.Removed) != 0 || reads["stages"]+reads["deployments"] != 0 {
		t.Errorf("after another write: %v, %v, reads %v", names(d), d.Removed, reads)
	}

	// A deleted stage.
	if _, err := svc.DeleteStage(c, &adminv1.DeleteStageRequest{Name: "apis/shop/stages/sac"}); err != nil {
		t.Fatal(err)
	}
	if d, _ := changes(); len(d.Stages) != 0 || !slices.Equal(d.Removed, []string{"apis/shop/stages/sac"}) {
		t.Fatalf("after a delete: stages %v removed %v", names(d), d.Removed)
	}

	// Deployed still returns everything, in name order.
	all, err := svc.Deployed(c)
	if err != nil || len(all.Stages) != n-1 || !slices.IsSortedFunc(all.Stages, func(a, b admin.DeployedStage) int {
		return strings.Compare(a.Stage.GetName(), b.Stage.GetName())
	}) {
		t.Fatalf("Deployed: %d stages, %v", len(all.Stages), err)
	}

	// The API deleted with its stages.
	if _, err := svc.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Force: true}); err != nil {
		t.Fatal(err)
	}
	if d, _ := changes(); len(d.Stages) != 0 || len(d.Removed) != n-1 {
		t.Fatalf("after the API's deletion: stages %v, %d removed", names(d), len(d.Removed))
	}

	// After ForgetDeployed, everything.
	svc.ForgetDeployed()
	if d, _ := changes(); d.Delta || len(d.Stages) != 0 {
		t.Fatalf("after ForgetDeployed: delta %v", d.Delta)
	}
}
