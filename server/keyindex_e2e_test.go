package server_test

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/pgtest"
	"github.com/tollgate-gw/tollgate/server"
)

// deployKeyed serves, on the stage live, GET /hello and GET /keyed (which
// requires an API key), and creates the usage plan gold covering live.
func (a fleetAdmin) deployKeyed(tb testing.TB) {
	tb.Helper()
	a.deployMock(tb, "v1")
	if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "keyed"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		tb.Fatal(err)
	}
	d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.serveDeployment(d.GetName()); err != nil {
		tb.Fatal(err)
	}
	if _, err := a.CreateUsagePlan(a.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/live"}},
	}}); err != nil {
		tb.Fatal(err)
	}
}

// keyedStatus calls GET /live/keyed on a node with an API key.
func keyedStatus(tb testing.TB, client *http.Client, s *server.Server, key string) int {
	tb.Helper()
	code, _, err := get(client, s, "/live/keyed", key)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

// waitKeyed calls GET /live/keyed on a node until it answers want, for at
// most limit, and returns how long that took.
func waitKeyed(tb testing.TB, client *http.Client, s *server.Server, key string, want int, limit time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	code := 0
	for time.Since(start) < limit {
		if code = keyedStatus(tb, client, s, key); code == want {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	tb.Fatalf("node %s answers %d with the key after %s, want %d", s.DataAddr(), code, limit, want)
	return 0
}

// TestAPIKeyChangesApplyAtOnce: on one node, a key created, disabled,
// removed from its plan or deleted is answered accordingly by the very
// next call after the admin write's response (the key index is updated
// before the write answers, and the data plane's cache of key digests
// decides nothing: every call asks the index). Each step calls twice, the
// second time with the key's digest cached.
func TestAPIKeyChangesApplyAtOnce(t *testing.T) {
	s := startNode(t, "", &syncBuffer{})
	a := newFleetAdmin(t, s)
	client := &http.Client{Timeout: 5 * time.Second}
	a.deployKeyed(t)
	waitServes(t, client, s, "v1", 5*time.Second)

	key, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	value := key.GetValue()
	// Known, but in no plan yet; a value never issued.
	if code := keyedStatus(t, client, s, value); code != http.StatusForbidden {
		t.Fatalf("key in no plan: %d, want 403", code)
	}
	if code := keyedStatus(t, client, s, "tgk_never-issued-0123456789abcdef"); code != http.StatusForbidden {
		t.Fatalf("unknown key: %d, want 403", code)
	}
	enabled := func(on bool) func() error {
		return func() error {
			_, err := a.UpdateApiKey(a.ctx, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: "apiKeys/k1", Enabled: proto.Bool(on)},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
			return err
		}
	}
	addToPlan := func() error {
		_, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/k1"}})
		return err
	}
	steps := []struct {
		name  string
		write func() error
		want  int
	}{
		{"added to the plan", addToPlan, http.StatusOK},
		{"disabled", enabled(false), http.StatusForbidden},
		{"enabled", enabled(true), http.StatusOK},
		{"removed from the plan", func() error {
			_, err := a.DeleteUsagePlanKey(a.ctx, &adminv1.DeleteUsagePlanKeyRequest{Name: "usagePlans/gold/keys/k1"})
			return err
		}, http.StatusForbidden},
		{"added again", addToPlan, http.StatusOK},
		{"plan no longer covers the stage", func() error {
			_, err := a.UpdateUsagePlan(a.ctx, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: "usagePlans/gold"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}})
			return err
		}, http.StatusForbidden},
		{"covers it again", func() error {
			_, err := a.UpdateUsagePlan(a.ctx, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: "usagePlans/gold",
				ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/live"}}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}})
			return err
		}, http.StatusOK},
		{"deleted", func() error {
			_, err := a.DeleteApiKey(a.ctx, &adminv1.DeleteApiKeyRequest{Name: "apiKeys/k1"})
			return err
		}, http.StatusForbidden},
		{"its value issued again, in the plan", func() error {
			if _, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k2", ApiKey: &adminv1.ApiKey{Value: value}}); err != nil {
				return err
			}
			_, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/k2"}})
			return err
		}, http.StatusOK},
		{"deleted again", func() error {
			_, err := a.DeleteApiKey(a.ctx, &adminv1.DeleteApiKeyRequest{Name: "apiKeys/k2"})
			return err
		}, http.StatusForbidden},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for _, which := range []string{"first", "second"} {
			if code := keyedStatus(t, client, s, value); code != step.want {
				t.Errorf("key %s: %s call answered %d, want %d", step.name, which, code, step.want)
			}
		}
	}
}

// TestFleetAPIKeysOnPostgres runs two gateways on one PostgreSQL: a key
// created and put in a plan on A is admitted by B, and disabled, removed
// from its plan or deleted on A it is refused by B, each within the
// change feed's delay (milliseconds; the once-a-second poll of the key
// change log bounds it should notifications stop).
func TestFleetAPIKeysOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	logs := &syncBuffer{}
	a, b := startNode(t, url, logs), startNode(t, url, logs)
	admin := newFleetAdmin(t, a)
	client := &http.Client{Timeout: 5 * time.Second}
	admin.deployKeyed(t)
	waitServes(t, client, b, "v1", 5*time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	}()

	key, err := admin.CreateApiKey(admin.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	value := key.GetValue()
	if _, err := admin.CreateUsagePlanKey(admin.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold",
		UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/k1"}}); err != nil {
		t.Fatal(err)
	}
	// The limit is generous for a loaded machine; the log shows the
	// delays seen.
	const limit = 3 * time.Second
	t.Logf("created on A: admitted by B after %s", waitKeyed(t, client, b, value, http.StatusOK, limit))

	if _, err := admin.UpdateApiKey(admin.ctx, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: "apiKeys/k1", Enabled: proto.Bool(false)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}}); err != nil {
		t.Fatal(err)
	}
	if code := keyedStatus(t, client, a, value); code != http.StatusForbidden {
		t.Errorf("disabled on A: A answered %d, want 403 at once", code)
	}
	t.Logf("disabled on A: refused by B after %s", waitKeyed(t, client, b, value, http.StatusForbidden, limit))

	if _, err := admin.UpdateApiKey(admin.ctx, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: "apiKeys/k1", Enabled: proto.Bool(true)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}}); err != nil {
		t.Fatal(err)
	}
	waitKeyed(t, client, b, value, http.StatusOK, limit)
	if _, err := admin.DeleteUsagePlanKey(admin.ctx, &adminv1.DeleteUsagePlanKeyRequest{Name: "usagePlans/gold/keys/k1"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed from the plan on A: refused by B after %s", waitKeyed(t, client, b, value, http.StatusForbidden, limit))

	if _, err := admin.CreateUsagePlanKey(admin.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold",
		UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/k1"}}); err != nil {
		t.Fatal(err)
	}
	waitKeyed(t, client, b, value, http.StatusOK, limit)
	if _, err := admin.DeleteApiKey(admin.ctx, &adminv1.DeleteApiKeyRequest{Name: "apiKeys/k1"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("deleted on A: refused by B after %s", waitKeyed(t, client, b, value, http.StatusForbidden, limit))

	// A node started later loads the keys the others wrote.
	admin2 := newFleetAdmin(t, b)
	key2, err := admin2.CreateApiKey(admin2.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin2.CreateUsagePlanKey(admin2.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold",
		UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/k2"}}); err != nil {
		t.Fatal(err)
	}
	c := startNode(t, url, logs)
	waitServes(t, client, c, "v1", 5*time.Second)
	if code := keyedStatus(t, client, c, key2.GetValue()); code != http.StatusOK {
		t.Errorf("node started after the key was written answered %d, want 200", code)
	}
	waitKeyed(t, client, a, key2.GetValue(), http.StatusOK, limit)
}
