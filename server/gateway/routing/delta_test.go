package routing_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestCompileDelta checks that a table compiled from a change to the
// previous one (Config.Delta) compiles the changed stages only and serves
// exactly what a compile of every stage serves, over random changes:
// stages added, changed and removed, across APIs with and without
// descriptors (issue 23).
func TestCompileDelta(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 23))
	apis := []struct {
		name   string
		schema bool
	}{{"shop", true}, {"other", true}, {"legacy", false}, {"old", false}}
	ids := []string{"prod", "beta", "dev"}
	live := map[string]routing.Entry{}
	var table *routing.Table
	mappings := []*adminv1.DomainMapping{{Name: "domainMappings/m", Domain: "shop.example", Stage: "apis/shop/stages/prod"}}
	for step := range 300 {
		var changed []routing.Entry
		var removed []string
		for range 1 + r.IntN(3) {
			a := apis[r.IntN(len(apis))]
			name := "apis/" + a.name + "/stages/" + ids[r.IntN(len(ids))]
			if _, ok := live[name]; ok && r.IntN(3) == 0 && name != mappings[0].GetStage() {
				delete(live, name)
				if !slices.Contains(removed, name) {
					removed = append(removed, name)
				}
				changed = slices.DeleteFunc(changed, func(e routing.Entry) bool { return e.Stage.GetName() == name })
				continue
			}
			e := deployed(t, a.name, lastSegment(name), a.schema || r.IntN(2) == 0)
			e.Stage.Variables["step"] = fmt.Sprint(step)
			live[name] = e
			removed = slices.DeleteFunc(removed, func(n string) bool { return n == name })
			changed = slices.DeleteFunc(changed, func(e routing.Entry) bool { return e.Stage.GetName() == name })
			changed = append(changed, e)
		}
		all := make([]routing.Entry, 0, len(live))
		for _, e := range live {
			all = append(all, e)
		}
		cfg := routing.Config{Stages: changed, Removed: removed, Previous: table, Delta: table != nil}
		if _, ok := live[mappings[0].GetStage()]; ok {
			cfg.DomainMappings = mappings
		}
		next, errs := routing.Compile(cfg)
		if len(errs) > 0 {
			t.Fatalf("step %d: %v", step, errs)
		}
		if table != nil && next.Compiles() != len(changed) {
			t.Fatalf("step %d: %d stages compiled for %d changed", step, next.Compiles(), len(changed))
		}
		if table != nil && len(next.Changes()) != len(changed)+countServed(table, removed) {
			t.Fatalf("step %d: %d changes reported, want %d", step, len(next.Changes()), len(changed)+countServed(table, removed))
		}
		full, errs := routing.Compile(routing.Config{Stages: all, DomainMappings: cfg.DomainMappings})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if got, want := describe(next, apis[0].name), describe(full, apis[0].name); got != want {
			t.Fatalf("step %d: the delta table serves\n%s\nthe full compile\n%s", step, got, want)
		}
		table = next
	}
}

// countServed counts the names table serves.
func countServed(table *routing.Table, names []string) int {
	n := 0
	for _, name := range names {
		if table != nil && table.Stage(name) != nil {
			n++
		}
	}
	return n
}

func lastSegment(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// describe lists what a table serves: its stages, stages by ID and hint,
// and the resolution of gRPC methods with and without hints.
func describe(table *routing.Table, api string) string {
	out := ""
	for _, st := range table.Stages() {
		out += fmt.Sprintf("stage %s %s vars=%v\n", st.Name, st.Deployment, st.Variables)
	}
	for _, id := range []string{"prod", "beta", "dev"} {
		for _, st := range table.StagesByID(id) {
			out += "id " + id + " " + st.Name + "\n"
		}
	}
	for _, hint := range []string{"", "prod", api + "/beta", "apis/legacy/stages/dev"} {
		for _, m := range []string{getBook, "/tollgate.example.v1.EchoService/Echo", "/legacy.v1.Old/Call"} {
			r, err := table.ResolveGRPC(m, hint, "")
			if err != nil {
				out += fmt.Sprintf("resolve %s %q: %v\n", m, hint, err)
				continue
			}
			out += fmt.Sprintf("resolve %s %q: %s %s\n", m, hint, r.Stage.Name, prototext.Format(r.Integration))
		}
	}
	if st, _, ok := table.StageForHost("shop.example", "/x"); ok {
		out += "host " + st.Name + "\n"
	}
	return out
}
