package admin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// viewCountingStore counts the read transactions of a store.
type viewCountingStore struct {
	store.Store
	views atomic.Int64
}

func (s *viewCountingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

// sharedStore makes an embedded store look shared (a store.Watcher), so
// that the admin writes keep the key change log that other processes
// follow; its Watch reports nothing.
type sharedStore struct{ store.Store }

func (sharedStore) Version(context.Context) (int64, error) { return 0, nil }

func (sharedStore) Watch(ctx context.Context, _ int64, _ func(store.Change)) error {
	<-ctx.Done()
	return ctx.Err()
}

// openStore opens a migrated embedded store.
func openStore(t *testing.T) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := store.Migrate(context.Background(), st, store.Migrations); err != nil {
		t.Fatal(err)
	}
	return st
}

// newService returns an admin service on st.
func newService(t *testing.T, st store.Store) *admin.Service {
	t.Helper()
	svc, err := admin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// seedShopStages creates the API "shop" with the stages prod and beta.
func seedShopStages(t *testing.T, svc *admin.Service) {
	t.Helper()
	c := ctx(t)
	api := must[*adminv1.Api](t)(svc.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)},
		DefaultIntegration: grpcIntegration("localhost:50051"),
	}}))
	dep := must[*adminv1.Deployment](t)(svc.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), DeploymentId: "v1"}))
	for _, id := range []string{"prod", "beta"} {
		must[*adminv1.Stage](t)(svc.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: id, Stage: &adminv1.Stage{Deployment: dep.GetName()}}))
	}
}

// keyView is what a test compares of an apikey.Key: stage → plan name.
type keyView struct {
	Name, CustomerID string
	Enabled          bool
	Plans            map[string]string
	IPPolicy         bool
}

func viewOf(k *apikey.Key) *keyView {
	if k == nil {
		return nil
	}
	v := &keyView{Name: k.Name, CustomerID: k.CustomerID, Enabled: k.Enabled, Plans: map[string]string{}, IPPolicy: k.IPPolicy != nil}
	for stage, p := range k.UsagePlans {
		v.Plans[stage] = p.GetName()
	}
	return v
}

const (
	prod      = "apis/shop/stages/prod"
	beta      = "apis/shop/stages/beta"
	valueOne  = "value-one-0123456789abcdef"
	valueTwo  = "value-two-0123456789abcdef"
	keyOne    = "apiKeys/one"
	keyTwo    = "apiKeys/two"
	planGold  = "usagePlans/gold"
	planSilvr = "usagePlans/silver"
)

// TestKeyIndexFollowsEveryWrite applies every kind of admin write that
// changes what a key resolves to, and checks after each that the index
// answers at once what the store holds: what a lookup in the store and a
// freshly loaded index answer.
func TestKeyIndexFollowsEveryWrite(t *testing.T) {
	st := openStore(t)
	svc := newService(t, st)
	seedShopStages(t, svc)
	c := ctx(t)
	if _, err := svc.LoadKeyIndex(c); err != nil {
		t.Fatal(err)
	}
	enabled := func(name string, plans map[string]string) *keyView {
		return &keyView{Name: name, Enabled: true, Plans: plans}
	}
	steps := []struct {
		name  string
		write func() error
		want  map[string]*keyView // key value → answer
	}{
		{"create plans", func() error {
			if _, err := svc.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
				ApiStages: []*adminv1.ApiStage{{Stage: prod}}}}); err != nil {
				return err
			}
			_, err := svc.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "silver", UsagePlan: &adminv1.UsagePlan{}})
			return err
		}, map[string]*keyView{valueOne: nil}},
		{"create keys", func() error {
			if _, err := svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "one", ApiKey: &adminv1.ApiKey{Value: valueOne, CustomerId: "c1"}}); err != nil {
				return err
			}
			_, err := svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "two", ApiKey: &adminv1.ApiKey{Value: valueTwo}})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, Plans: map[string]string{}},
			valueTwo: enabled(keyTwo, map[string]string{}),
		}},
		{"add keys to a plan", func() error {
			for _, k := range []string{keyOne, keyTwo} {
				if _, err := svc.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: planGold, UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: k}}); err != nil {
					return err
				}
			}
			return nil
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, Plans: map[string]string{prod: planGold}},
			valueTwo: enabled(keyTwo, map[string]string{prod: planGold}),
		}},
		{"add a stage to the plan", func() error {
			_, err := svc.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: planGold,
				ApiStages: []*adminv1.ApiStage{{Stage: prod}, {Stage: beta}}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, Plans: map[string]string{prod: planGold, beta: planGold}},
			valueTwo: enabled(keyTwo, map[string]string{prod: planGold, beta: planGold}),
		}},
		{"disable a key", func() error {
			_, err := svc.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: keyOne, Enabled: proto.Bool(false)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Plans: map[string]string{prod: planGold, beta: planGold}},
			valueTwo: enabled(keyTwo, map[string]string{prod: planGold, beta: planGold}),
		}},
		{"enable it with an IP policy", func() error {
			_, err := svc.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: keyOne, Enabled: proto.Bool(true),
				IpPolicy: &adminv1.IpPolicy{Allow: []string{"10.0.0.0/8"}}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled", "ip_policy"}}})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, IPPolicy: true, Plans: map[string]string{prod: planGold, beta: planGold}},
		}},
		{"remove a key from the plan", func() error {
			_, err := svc.DeleteUsagePlanKey(c, &adminv1.DeleteUsagePlanKeyRequest{Name: planGold + "/keys/one"})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, IPPolicy: true, Plans: map[string]string{}},
			valueTwo: enabled(keyTwo, map[string]string{prod: planGold, beta: planGold}),
		}},
		{"put it in another plan", func() error {
			if _, err := svc.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: planSilvr,
				ApiStages: []*adminv1.ApiStage{{Stage: beta}}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}}); err != nil {
				return err
			}
			_, err := svc.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: planSilvr, UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: keyOne}})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, IPPolicy: true, Plans: map[string]string{beta: planSilvr}},
		}},
		{"delete a plan", func() error {
			_, err := svc.DeleteUsagePlan(c, &adminv1.DeleteUsagePlanRequest{Name: planGold})
			return err
		}, map[string]*keyView{
			valueOne: {Name: keyOne, CustomerID: "c1", Enabled: true, IPPolicy: true, Plans: map[string]string{beta: planSilvr}},
			valueTwo: enabled(keyTwo, map[string]string{}),
		}},
		{"delete a key", func() error {
			_, err := svc.DeleteApiKey(c, &adminv1.DeleteApiKeyRequest{Name: keyOne})
			return err
		}, map[string]*keyView{valueOne: nil, valueTwo: enabled(keyTwo, map[string]string{})}},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		fresh := newService(t, st)
		if _, err := fresh.LoadKeyIndex(c); err != nil {
			t.Fatal(err)
		}
		for value, want := range step.want {
			got, err := svc.LookupAPIKey(c, apikey.Hash(value))
			if err != nil {
				t.Fatalf("%s: lookup %s: %v", step.name, value, err)
			}
			if diff := cmp.Diff(want, viewOf(got)); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", step.name, value, diff)
			}
			reloaded, err := fresh.LookupAPIKey(c, apikey.Hash(value))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, viewOf(reloaded)); diff != "" {
				t.Errorf("%s: %s, freshly loaded (-want +got):\n%s", step.name, value, diff)
			}
		}
	}
}

// TestKeyIndexAnswersWithoutTheStore: once loaded, neither a known key nor
// a flood of unknown ones reads the store.
func TestKeyIndexAnswersWithoutTheStore(t *testing.T) {
	cs := &viewCountingStore{Store: openStore(t)}
	svc := newService(t, cs)
	c := ctx(t)
	must[*adminv1.ApiKey](t)(svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "one", ApiKey: &adminv1.ApiKey{Value: valueOne}}))
	if n, err := svc.LoadKeyIndex(c); err != nil || n != 1 {
		t.Fatalf("LoadKeyIndex = %d, %v; want 1 key", n, err)
	}
	before := cs.views.Load()
	for i := range 1000 {
		k, err := svc.LookupAPIKey(c, apikey.Hash(fmt.Sprintf("random-%d-0123456789", i)))
		if err != nil || k != nil {
			t.Fatalf("unknown key: %v, %v", k, err)
		}
	}
	for _, h := range []string{"", "not hex", apikey.Hash(valueOne)[:10]} {
		if k, err := svc.LookupAPIKey(c, h); err != nil || k != nil {
			t.Fatalf("hash %q: %v, %v", h, k, err)
		}
	}
	if k, err := svc.LookupAPIKey(c, apikey.Hash(valueOne)); err != nil || k == nil || k.Name != keyOne {
		t.Fatalf("known key: %v, %v", k, err)
	}
	if n := cs.views.Load() - before; n != 0 {
		t.Errorf("lookups read the store %d times, want 0", n)
	}
}

// TestKeyIndexBeforeLoad: a service whose index is not loaded yet answers
// from the store.
func TestKeyIndexBeforeLoad(t *testing.T) {
	svc := newService(t, openStore(t))
	c := ctx(t)
	must[*adminv1.ApiKey](t)(svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "one", ApiKey: &adminv1.ApiKey{Value: valueOne}}))
	k, err := svc.LookupAPIKey(c, apikey.Hash(valueOne))
	if err != nil || k == nil || k.Name != keyOne {
		t.Fatalf("lookup before the index is loaded: %v, %v", k, err)
	}
}

// TestKeyIndexFollowsOtherProcesses: two services sharing a store (as two
// nodes share a PostgreSQL database) see each other's key writes through
// the change log, and a writer that keeps no log is caught by a full load.
func TestKeyIndexFollowsOtherProcesses(t *testing.T) {
	st := sharedStore{openStore(t)}
	a, b := newService(t, st), newService(t, st)
	seedShopStages(t, a)
	c := ctx(t)
	for _, s := range []*admin.Service{a, b} {
		if _, err := s.LoadKeyIndex(c); err != nil {
			t.Fatal(err)
		}
	}
	lookupB := func() *keyView {
		t.Helper()
		k, err := b.LookupAPIKey(c, apikey.Hash(valueOne))
		if err != nil {
			t.Fatal(err)
		}
		return viewOf(k)
	}
	must[*adminv1.UsagePlan](t)(a.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: prod}}}}))
	must[*adminv1.ApiKey](t)(a.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "one", ApiKey: &adminv1.ApiKey{Value: valueOne}}))
	must[*adminv1.UsagePlanKey](t)(a.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: planGold, UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: keyOne}}))
	if got := lookupB(); got != nil {
		t.Fatalf("before following: %+v, want unknown", got)
	}
	if err := b.ApplyKeyChanges(c, []store.Kind{"apiKeys", admin.KeyChangesKind}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&keyView{Name: keyOne, Enabled: true, Plans: map[string]string{prod: planGold}}, lookupB()); diff != "" {
		t.Fatalf("after following (-want +got):\n%s", diff)
	}
	steps := []struct {
		name  string
		write func() error
		want  *keyView
	}{
		{"disable", func() error {
			_, err := a.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: keyOne, Enabled: proto.Bool(false)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
			return err
		}, &keyView{Name: keyOne, Plans: map[string]string{prod: planGold}}},
		{"enable", func() error {
			_, err := a.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: keyOne, Enabled: proto.Bool(true)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
			return err
		}, &keyView{Name: keyOne, Enabled: true, Plans: map[string]string{prod: planGold}}},
		{"plan covers another stage", func() error {
			_, err := a.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: planGold,
				ApiStages: []*adminv1.ApiStage{{Stage: beta}}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}})
			return err
		}, &keyView{Name: keyOne, Enabled: true, Plans: map[string]string{beta: planGold}}},
		{"remove from plan", func() error {
			_, err := a.DeleteUsagePlanKey(c, &adminv1.DeleteUsagePlanKeyRequest{Name: planGold + "/keys/one"})
			return err
		}, &keyView{Name: keyOne, Enabled: true, Plans: map[string]string{}}},
		{"delete", func() error {
			_, err := a.DeleteApiKey(c, &adminv1.DeleteApiKeyRequest{Name: keyOne})
			return err
		}, nil},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if err := b.FollowKeyChanges(c); err != nil {
			t.Fatalf("%s: follow: %v", step.name, err)
		}
		if diff := cmp.Diff(step.want, lookupB()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, diff)
		}
	}

	// A write that keeps no log (a node of an older version): the kinds
	// it wrote make b read every key again.
	err := st.Update(c, func(tx store.Tx) error {
		k, err := proto.Marshal(&adminv1.ApiKey{Name: keyTwo, Enabled: proto.Bool(true)})
		if err != nil {
			return err
		}
		if err := tx.Put("apiKeys", keyTwo, k); err != nil {
			return err
		}
		return tx.Put("apiKeyHashes", apikey.Hash(valueTwo), []byte(keyTwo))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ApplyKeyChanges(c, []store.Kind{"apiKeyHashes", "apiKeys"}); err != nil {
		t.Fatal(err)
	}
	if k, err := b.LookupAPIKey(c, apikey.Hash(valueTwo)); err != nil || k == nil || k.Name != keyTwo {
		t.Fatalf("key written without the log: %v, %v", k, err)
	}
	// Kinds that concern no key change nothing.
	if err := b.ApplyKeyChanges(c, []store.Kind{"routes"}); err != nil {
		t.Fatal(err)
	}
}

// failingStore is a real store whose read transactions fail while fail is
// set, as a networked store's do when its server goes away.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (s *failingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.fail.Load() {
		return fmt.Errorf("view: %w", store.ErrUnavailable)
	}
	return s.Store.View(ctx, fn)
}

// TestKeyIndexWhenAReadFails: when the read that follows a write fails,
// the index stops answering alone: lookups ask the store, and while the
// store fails too they get the index's last answer rather than an error;
// once the store answers, its answer (the write) is what lookups see.
func TestKeyIndexWhenAReadFails(t *testing.T) {
	fs := &failingStore{Store: openStore(t)}
	svc := newService(t, fs)
	c := ctx(t)
	must[*adminv1.ApiKey](t)(svc.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "one", ApiKey: &adminv1.ApiKey{Value: valueOne}}))
	if _, err := svc.LoadKeyIndex(c); err != nil {
		t.Fatal(err)
	}
	fs.fail.Store(true)
	must[*adminv1.ApiKey](t)(svc.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: keyOne, Enabled: proto.Bool(false)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}}))
	k, err := svc.LookupAPIKey(c, apikey.Hash(valueOne))
	if err != nil || k == nil || !k.Enabled {
		t.Fatalf("store down: lookup = %+v, %v; want the last known answer (enabled)", k, err)
	}
	fs.fail.Store(false)
	k, err = svc.LookupAPIKey(c, apikey.Hash(valueOne))
	if err != nil || k == nil || k.Enabled {
		t.Fatalf("store back: lookup = %+v, %v; want the key disabled", k, err)
	}
	if _, err := svc.LoadKeyIndex(c); err != nil {
		t.Fatal(err)
	}
	k, err = svc.LookupAPIKey(c, apikey.Hash(valueOne))
	if err != nil || k == nil || k.Enabled {
		t.Fatalf("reloaded: lookup = %+v, %v; want the key disabled", k, err)
	}
}
