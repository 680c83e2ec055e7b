package routing_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestCompileReusesUnchangedStages checks that a reload compiles only the
// stages whose configuration or deployments changed (issue 23), and that
// the descriptors of identical descriptor sets are linked once.
func TestCompileReusesUnchangedStages(t *testing.T) {
	entries := []routing.Entry{
		deployed(t, "shop", "prod", true),
		deployed(t, "shop", "beta", true),
		deployed(t, "other", "prod", true),
		deployed(t, "legacy", "prod", false),
	}
	compile := func(prev *routing.Table) *routing.Table {
		t.Helper()
		table, errs := routing.Compile(routing.Config{Stages: entries, Previous: prev})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return table
	}
	first := compile(nil)
	if got := first.Compiles(); got != 4 {
		t.Fatalf("first compile: %d stages compiled, want 4", got)
	}
	// Three deployments of separately serialized but equal descriptor sets.
	files := first.Stage("apis/shop/stages/prod").Files
	for _, name := range []string{"apis/shop/stages/beta", "apis/other/stages/prod"} {
		if first.Stage(name).Files != files {
			t.Errorf("%s: descriptors linked again, want them shared by content", name)
		}
	}
	if first.Stage("apis/shop/stages/prod").Snapshot.GetApi().GetFileDescriptorSet() != nil {
		t.Error("a compiled stage keeps its own copy of the descriptor set")
	}

	// Nothing changed: nothing compiled, the same stages served.
	second := compile(first)
	if got := second.Compiles(); got != 0 {
		t.Errorf("unchanged reload: %d stages compiled, want 0", got)
	}
	if second.Stage("apis/shop/stages/prod") != first.Stage("apis/shop/stages/prod") {
		t.Error("unchanged stage compiled again")
	}

	// Equal messages read again from the store: still nothing compiled.
	for i := range entries {
		entries[i].Stage = proto.CloneOf(entries[i].Stage)
	}
	if got := compile(second).Compiles(); got != 0 {
		t.Errorf("reload of equal messages: %d stages compiled, want 0", got)
	}

	// A change to one stage compiles that stage only.
	entries[1].Stage.Variables["host"] = "changed"
	third := compile(second)
	if got := third.Compiles(); got != 1 {
		t.Errorf("one stage changed: %d stages compiled, want 1", got)
	}
	r, ok := third.Stage("apis/shop/stages/beta").Method(getBook)
	if !ok || r.Stage != third.Stage("apis/shop/stages/beta") {
		t.Fatal("changed stage does not serve its methods")
	}
	if third.Stage("apis/shop/stages/beta").Files != files {
		t.Error("recompiled stage linked its descriptors again")
	}

	// A new deployment of another API compiles that stage only.
	other := deployed(t, "other", "prod", true)
	other.Deployment.Name = "apis/other/deployments/d2"
	other.Stage.Deployment = other.Deployment.Name
	entries[2] = other
	if got := compile(third).Compiles(); got != 1 {
		t.Errorf("another API redeployed: %d stages compiled, want 1", got)
	}
}
