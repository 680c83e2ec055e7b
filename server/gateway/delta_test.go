package gateway_test

import (
	"testing"

	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestLoadDelta checks a Load of a change (Config.Delta, what the server
// does after an admin write) end to end: the changed stage serves its new
// deployment, the others keep serving, a removed stage is gone, and a
// stage that fails to compile keeps serving its previous deployment and
// stays listed in Failures through later changes that leave it alone
// (issue 23).
func TestLoadDelta(t *testing.T) {
	b1, b2 := backend(t), backend(t)
	tg := startGateway(t)
	d1 := deployment(t, "shop", "v1", b1.Addr())
	d2 := deployment(t, "shop", "v2", b2.Addr())
	tg.load(t, entry("shop", "a", d1, nil), entry("shop", "b", d1, nil), entry("shop", "c", d1, nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	call := func(stage string) error {
		t.Helper()
		c := metadata.AppendToOutgoingContext(ctx(t), "x-tollgate-stage", "shop/"+stage)
		_, err := echo.Echo(c, &examplev1.EchoRequest{Message: "hi"})
		return err
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := call(s); err != nil {
			t.Fatalf("stage %s: %v", s, err)
		}
	}
	// Stage a moves to d2, c goes away: b is not part of the change.
	tg.loadChange(t, []routing.Entry{entry("shop", "a", d2, nil)}, []string{"apis/shop/stages/c"})
	if st := tg.gw.Table().Stage("apis/shop/stages/a"); st == nil || st.Deployment != d2.GetName() {
		t.Fatalf("stage a serves %v, want %s", st, d2.GetName())
	}
	if err := call("a"); err != nil {
		t.Fatalf("stage a after the change: %v", err)
	}
	if err := call("b"); err != nil {
		t.Fatalf("stage b after another stage's change: %v", err)
	}
	if err := call("c"); err == nil {
		t.Fatal("a removed stage still serves")
	}
	// The pooled backends are counted by the runtimes using them.
	if u := tg.gw.BackendUsers(); u[b1.Addr()] != 1 || u[b2.Addr()] != 1 {
		t.Fatalf("backend users %v, want one runtime on each backend", u)
	}
	// A deployment that cannot be compiled: a keeps serving d2.
	bad := deployment(t, "shop", "bad", b2.Addr())
	bad.Snapshot.Routes = []*adminv1.Route{{Name: "apis/shop/routes/r", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/{"}}}}
	if errs := tg.gw.Load(routing.Config{Stages: []routing.Entry{entry("shop", "a", bad, nil)}, Delta: true}); len(errs) != 1 {
		t.Fatalf("load of an uncompilable stage: %v, want one error", errs)
	}
	if err := call("a"); err != nil {
		t.Fatalf("stage a after a failed change: %v", err)
	}
	// A change to b leaves a's failure listed.
	tg.loadDelta(t, entry("shop", "b", d2, map[string]string{"v": "1"}))
	if f := tg.gw.Failures(); len(f) != 1 || f[0].Stage != "apis/shop/stages/a" || f[0].Kept != d2.GetName() {
		t.Fatalf("failures after another stage's change: %+v", f)
	}
	// Fixing a clears it.
	tg.loadDelta(t, entry("shop", "a", d1, nil))
	if f := tg.gw.Failures(); len(f) != 0 {
		t.Fatalf("failures after the fix: %+v", f)
	}
	if err := call("a"); err != nil {
		t.Fatalf("stage a after the fix: %v", err)
	}
	if u := tg.gw.BackendUsers(); u[b1.Addr()] != 1 || u[b2.Addr()] != 1 {
		t.Fatalf("backend users %v, want one runtime on each backend", u)
	}
	// The last stage on b2 leaves: b2 is no longer retained.
	tg.loadChange(t, nil, []string{"apis/shop/stages/b"})
	if u := tg.gw.BackendUsers(); u[b1.Addr()] != 1 || u[b2.Addr()] != 0 {
		t.Fatalf("backend users %v, want b1 only", u)
	}
}
