package routing_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

func grpcTo(target string) *adminv1.Integration {
	return &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: target}}}
}

// deployed builds an entry for stage api/stage serving the example schema
// (or no schema) with a default integration and routes.
func deployed(t testing.TB, api, stage string, withSchema bool, routes ...*adminv1.Route) routing.Entry {
	t.Helper()
	a := &adminv1.Api{Name: "apis/" + api, DefaultIntegration: grpcTo(api + "-default:1")}
	if withSchema {
		b, err := proto.Marshal(examplebackend.FileDescriptorSet())
		if err != nil {
			t.Fatal(err)
		}
		a.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: b}
	}
	d := &adminv1.Deployment{Name: a.GetName() + "/deployments/d1", Snapshot: &adminv1.ApiSnapshot{Api: a, Routes: routes}}
	return routing.Entry{
		Stage:      &adminv1.Stage{Name: a.GetName() + "/stages/" + stage, Deployment: d.GetName(), Variables: map[string]string{"host": stage + "-host"}},
		Deployment: d,
	}
}

const getBook = "/tollgate.example.v1.BookstoreService/GetBook"

func TestResolveGRPC(t *testing.T) {
	routeGet := &adminv1.Route{Name: "apis/shop/routes/get", Match: &adminv1.Route_GrpcMethod{GrpcMethod: getBook}, Integration: grpcTo("${stageVariables.host}:443")}
	routeEcho := &adminv1.Route{Name: "apis/shop/routes/echo", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"}, Integration: grpcTo("echo:1")}
	table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{
		deployed(t, "shop", "prod", true, routeGet, routeEcho),
		deployed(t, "shop", "beta", true),
		deployed(t, "legacy", "prod", false, &adminv1.Route{Name: "apis/legacy/routes/x", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/legacy.v1.Old/Call"}}),
	}, DomainMappings: []*adminv1.DomainMapping{
		{Name: "domainMappings/beta", Domain: "beta.shop.example", Stage: "apis/shop/stages/beta"},
	}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name, method, hint string
		authority          string
		wantTarget         string
		wantStage          string
		wantErr            error
	}{
		{"route with stage variable", getBook, "shop/prod", "", "prod-host:443", "apis/shop/stages/prod", nil},
		{"default integration on another stage", getBook, "apis/shop/stages/beta", "", "shop-default:1", "apis/shop/stages/beta", nil},
		{"service wildcard", "/tollgate.example.v1.EchoService/Echo", "shop/prod", "", "echo:1", "apis/shop/stages/prod", nil},
		{"two stages serve it", getBook, "", "", "", "", routing.ErrAmbiguous},
		{"stage id shared by two APIs", getBook, "prod", "", "prod-host:443", "apis/shop/stages/prod", nil},
		{"only one API has the method", "/legacy.v1.Old/Call", "", "", "legacy-default:1", "apis/legacy/stages/prod", nil},
		{"schema-less API proxies any method to its default", "/legacy.v1.Old/Other", "legacy/prod", "", "legacy-default:1", "apis/legacy/stages/prod", nil},
		{"unknown method falls to the catch-all API", "/nope.Svc/M", "", "", "legacy-default:1", "apis/legacy/stages/prod", nil},
		{"unknown stage", getBook, "shop/gamma", "", "", "", routing.ErrNoRoute},
		{"method not in the stage's schema", "/tollgate.example.v1.BookstoreService/Nope", "shop/beta", "", "", "", routing.ErrNoRoute},
		{"hint with too many segments", getBook, "a/b/c", "", "", "", routing.ErrNoRoute},
		{"domain mapping picks the stage", getBook, "", "beta.shop.example:443", "shop-default:1", "apis/shop/stages/beta", nil},
		{"domain mapping is case-insensitive", getBook, "", "BETA.shop.example", "shop-default:1", "apis/shop/stages/beta", nil},
		{"hint wins over the domain", getBook, "shop/prod", "beta.shop.example", "prod-host:443", "apis/shop/stages/prod", nil},
		{"unmapped authority", getBook, "", "other.example", "", "", routing.ErrAmbiguous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := table.ResolveGRPC(tt.method, tt.hint, tt.authority)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Integration.GetGrpc().GetTarget(); got != tt.wantTarget || r.Stage.Name != tt.wantStage {
				t.Fatalf("resolved to %s on %s, want %s on %s", got, r.Stage.Name, tt.wantTarget, tt.wantStage)
			}
		})
	}
}

func TestHTTPRoutesAndCanary(t *testing.T) {
	e := deployed(t, "files", "prod", false,
		&adminv1.Route{Name: "apis/files/routes/get", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/files/{path=**}"}}},
		&adminv1.Route{Name: "apis/files/routes/any", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "*", Path: "/health"}}},
	)
	canary := proto.Clone(e.Deployment).(*adminv1.Deployment)
	canary.Name = "apis/files/deployments/d2"
	e.Canary = canary
	e.Stage.Canary = &adminv1.CanarySettings{Deployment: canary.GetName(), Percent: 100, VariableOverrides: map[string]string{"host": "canary"}}
	table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{e}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	st := table.StagesByID("prod")[0]
	tests := []struct {
		method, path, wantRoute string
		wantBinding             string
	}{
		{"GET", "/files/a/b", "apis/files/routes/get", "a/b"},
		{"POST", "/files/a", "", ""},
		{"DELETE", "/health", "apis/files/routes/any", ""},
		{"GET", "/files/../x", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, b, ok := st.HTTPRoute(tt.method, tt.path)
			if tt.wantRoute == "" {
				if ok {
					t.Fatalf("matched %s", r.Name())
				}
				return
			}
			if !ok || r.Name() != tt.wantRoute || b["path"] != tt.wantBinding {
				t.Fatalf("got %v %v %v", r, b, ok)
			}
		})
	}
	if c := st.PickCanary(); !c.IsCanary || c.Variables["host"] != "canary" || c.Deployment != "apis/files/deployments/d2" {
		t.Fatalf("a 100%% canary was not picked: %+v", c)
	}
}

func TestCompileSkipsBrokenStages(t *testing.T) {
	good := deployed(t, "good", "prod", true)
	bad := deployed(t, "bad", "prod", false)
	bad.Deployment.Snapshot.Api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: []byte("garbage")}
	table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{good, bad}})
	if len(errs) != 1 || len(table.Stages()) != 1 {
		t.Fatalf("errs %v, stages %d", errs, len(table.Stages()))
	}
}

func BenchmarkResolveGRPC(b *testing.B) {
	var entries []routing.Entry
	for i := range 50 {
		entries = append(entries, deployed(b, fmt.Sprintf("api-%d", i), "prod", i == 0))
	}
	table, _ := routing.Compile(routing.Config{Stages: entries})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := table.ResolveGRPC(getBook, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzResolveGRPC(f *testing.F) {
	table, _ := routing.Compile(routing.Config{Stages: []routing.Entry{deployed(f, "shop", "prod", true), deployed(f, "legacy", "beta", false)}})
	f.Add(getBook, "")
	f.Add("/a/b", "shop/prod")
	f.Add("", "apis/shop/stages/prod")
	f.Fuzz(func(t *testing.T, method, hint string) {
		r, err := table.ResolveGRPC(method, hint, "")
		if err == nil && (r == nil || r.Stage == nil) {
			t.Fatal("nil route without error")
		}
	})
}

func TestStageForHost(t *testing.T) {
	table, errs := routing.Compile(routing.Config{
		Stages: []routing.Entry{deployed(t, "shop", "prod", true), deployed(t, "orders", "prod", true)},
		DomainMappings: []*adminv1.DomainMapping{
			{Name: "domainMappings/a", Domain: "api.example.com", Stage: "apis/shop/stages/prod"},
			{Name: "domainMappings/b", Domain: "api.example.com", BasePath: "/orders", Stage: "apis/orders/stages/prod"},
			{Name: "domainMappings/c", Domain: "gone.example.com", Stage: "apis/gone/stages/prod"},
		},
	})
	if len(errs) != 1 {
		t.Fatalf("errs = %v, want one for the mapping of a stage that is not served", errs)
	}
	tests := []struct {
		host, path, wantStage, wantRest string
	}{
		{"api.example.com", "/v1/shelves", "apis/shop/stages/prod", "/v1/shelves"},
		{"api.example.com:8080", "/orders/1", "apis/orders/stages/prod", "/1"},
		{"api.example.com", "/orders", "apis/orders/stages/prod", "/"},
		{"api.example.com", "/ordersx", "apis/shop/stages/prod", "/ordersx"},
		{"API.Example.com.", "/x", "apis/shop/stages/prod", "/x"},
		{"other.example.com", "/x", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			st, rest, ok := table.StageForHost(tt.host, tt.path)
			if tt.wantStage == "" {
				if ok {
					t.Fatalf("mapped to %s", st.Name)
				}
				return
			}
			if !ok || st.Name != tt.wantStage || rest != tt.wantRest {
				t.Fatalf("got %v %q %v, want %s %q", st, rest, ok, tt.wantStage, tt.wantRest)
			}
		})
	}
}

// TestMethodKinds: what the response cache needs to know of each method is
// computed once per deployment, from the descriptors, for routed methods,
// wildcard routes and the default integration alike.
func TestMethodKinds(t *testing.T) {
	routeGet := &adminv1.Route{Name: "apis/shop/routes/get", Match: &adminv1.Route_GrpcMethod{GrpcMethod: getBook}}
	routeEcho := &adminv1.Route{Name: "apis/shop/routes/echo", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"}}
	table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{
		deployed(t, "shop", "prod", true, routeGet, routeEcho),
		deployed(t, "legacy", "prod", false),
	}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		method, hint         string
		unary, noSideEffects bool
	}{
		{getBook, "shop/prod", true, true},
		{"/tollgate.example.v1.BookstoreService/ListBooks", "shop/prod", true, true},
		{"/tollgate.example.v1.BookstoreService/CreateBook", "shop/prod", true, false},
		{"/tollgate.example.v1.BookstoreService/WatchBooks", "shop/prod", false, false},
		{"/tollgate.example.v1.EchoService/Echo", "shop/prod", true, false},
		{"/tollgate.example.v1.EchoService/EchoBidiStream", "shop/prod", false, false},
		{"/tollgate.example.v1.EchoService/EchoClientStream", "shop/prod", false, false},
		{"/legacy.v1.Old/Call", "legacy/prod", false, false}, // no descriptors: unknown
	}
	for _, tt := range tests {
		r, err := table.ResolveGRPC(tt.method, tt.hint, "")
		if err != nil {
			t.Fatalf("%s: %v", tt.method, err)
		}
		if r.Unary != tt.unary || r.NoSideEffects != tt.noSideEffects {
			t.Errorf("%s: unary %v, no side effects %v; want %v, %v", tt.method, r.Unary, r.NoSideEffects, tt.unary, tt.noSideEffects)
		}
	}
}

// TestAuthorizerTargetsResolvedPerStage (issue 13): custom authorizer
// targets get each stage's variables when the stage is compiled, in a copy
// per stage; the deployment's snapshot is not modified.
func TestAuthorizerTargetsResolvedPerStage(t *testing.T) {
	custom := func(c *adminv1.CustomAuthorizer) *adminv1.Authorizer {
		return &adminv1.Authorizer{Name: "apis/shop/authorizers/a", Type: &adminv1.Authorizer_Custom{Custom: c}}
	}
	tests := []struct {
		name       string
		authorizer *adminv1.Authorizer
		target     func(*adminv1.Authorizer) string
		want       map[string]string // stage ID → resolved target
	}{
		{"grpc", custom(&adminv1.CustomAuthorizer{Callout: &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "${stageVariables.host}:9000"}}}),
			func(a *adminv1.Authorizer) string { return a.GetCustom().GetGrpc().GetTarget() },
			map[string]string{"prod": "prod-host:9000", "prod2": "prod2-host:9000"}},
		{"http", custom(&adminv1.CustomAuthorizer{Callout: &adminv1.CustomAuthorizer_Http{Http: &adminv1.HttpIntegration{Uri: "https://${stageVariables.host}/authorize"}}}),
			func(a *adminv1.Authorizer) string { return a.GetCustom().GetHttp().GetUri() },
			map[string]string{"prod": "https://prod-host/authorize", "prod2": "https://prod2-host/authorize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prod := deployed(t, "shop", "prod", true)
			prod.Deployment.Snapshot.Authorizers = []*adminv1.Authorizer{tt.authorizer}
			prod2 := routing.Entry{Stage: &adminv1.Stage{Name: "apis/shop/stages/prod2", Deployment: prod.Deployment.GetName(), Variables: map[string]string{"host": "prod2-host"}}, Deployment: prod.Deployment}
			table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{prod, prod2}})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			seen := map[*adminv1.Authorizer]bool{}
			for _, st := range table.Stages() {
				a := st.Authorizers["apis/shop/authorizers/a"]
				if got := tt.target(a); got != tt.want[st.ID] {
					t.Errorf("stage %s: target %q, want %q", st.ID, got, tt.want[st.ID])
				}
				if seen[a] {
					t.Errorf("stage %s shares its authorizer message with another stage", st.ID)
				}
				seen[a] = true
			}
			if got := tt.target(tt.authorizer); got == tt.want["prod"] {
				t.Errorf("the snapshot's authorizer was modified: %q", got)
			}
		})
	}
}

// TestCompileKeepsPrevious checks what a stage that cannot be compiled
// serves: its previous compilation with KeepPrevious, nothing without, and
// its stage without the canary when only the canary fails.
func TestCompileKeepsPrevious(t *testing.T) {
	good := deployed(t, "shop", "prod", true)
	prev, errs := routing.Compile(routing.Config{Stages: []routing.Entry{good}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	broken := &adminv1.Deployment{Name: "apis/shop/deployments/d2", Snapshot: &adminv1.ApiSnapshot{Api: &adminv1.Api{
		Name: "apis/shop", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: []byte("not a descriptor set")}}}}
	toBroken := routing.Entry{Stage: &adminv1.Stage{Name: good.Stage.GetName(), Deployment: broken.GetName()}, Deployment: broken}
	canaryBroken := routing.Entry{
		Stage:      &adminv1.Stage{Name: good.Stage.GetName(), Deployment: good.Deployment.GetName(), Canary: &adminv1.CanarySettings{Deployment: broken.GetName(), Percent: 50}},
		Deployment: good.Deployment, Canary: broken,
	}
	tests := []struct {
		name         string
		cfg          routing.Config
		wantServed   string // the deployment the stage serves, "" for none
		wantKept     string
		wantCanary   bool
		wantDeployed string // StageError.Deployment
	}{
		{"kept", routing.Config{Stages: []routing.Entry{toBroken}, Previous: prev, KeepPrevious: true}, good.Deployment.GetName(), good.Deployment.GetName(), false, broken.GetName()},
		{"left out", routing.Config{Stages: []routing.Entry{toBroken}, Previous: prev}, "", "", false, broken.GetName()},
		{"left out without a previous table", routing.Config{Stages: []routing.Entry{toBroken}, KeepPrevious: true}, "", "", false, broken.GetName()},
		{"canary only", routing.Config{Stages: []routing.Entry{canaryBroken}}, good.Deployment.GetName(), good.Deployment.GetName(), true, broken.GetName()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, errs := routing.Compile(tt.cfg)
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			var se *routing.StageError
			if !errors.As(errs[0], &se) {
				t.Fatalf("error %T, want *routing.StageError", errs[0])
			}
			if se.Stage != good.Stage.GetName() || se.Deployment != tt.wantDeployed || se.Kept != tt.wantKept || se.Canary != tt.wantCanary {
				t.Errorf("StageError %+v, want deployment %s, kept %q, canary %v", se, tt.wantDeployed, tt.wantKept, tt.wantCanary)
			}
			st := table.Stage(good.Stage.GetName())
			switch {
			case tt.wantServed == "" && st != nil:
				t.Errorf("stage served from %s, want not served", st.Deployment)
			case tt.wantServed != "" && (st == nil || st.Deployment != tt.wantServed):
				t.Errorf("stage %v, want served from %s", st, tt.wantServed)
			case st != nil && st.Canary() != nil:
				t.Errorf("stage serves a canary from %s", st.Canary().Deployment)
			}
		})
	}
}
