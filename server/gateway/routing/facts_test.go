package routing_test

import (
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestRouteFactsCompiledOnce: every compiled route's call-record facts are
// built with the stage and shared by its calls (one pointer), and say what
// the route and stage are.
func TestRouteFactsCompiledOnce(t *testing.T) {
	routeGet := &adminv1.Route{Name: "apis/shop/routes/get", Match: &adminv1.Route_GrpcMethod{GrpcMethod: getBook}, ValidateRequest: boolPtr(true)}
	routeEcho := &adminv1.Route{Name: "apis/shop/routes/echo", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"}}
	routeHook := &adminv1.Route{Name: "apis/shop/routes/hook", Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "POST", Path: "/hook"}}}
	table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{
		deployed(t, "shop", "prod", true, routeGet, routeEcho, routeHook),
		deployed(t, "legacy", "prod", false),
	}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	resolve := func(method, hint string) *routing.Route {
		t.Helper()
		r, err := table.ResolveGRPC(method, hint, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	hook, _, ok := table.Stage("apis/shop/stages/prod").HTTPRoute("POST", "/hook")
	if !ok {
		t.Fatal("no HTTP route")
	}
	for _, tt := range []struct {
		name        string
		route       func() *routing.Route
		wantKey     string
		wantRoute   *adminv1.Route
		wantUnary   bool
		wantRequest bool // a request type to validate
	}{
		{"method route", func() *routing.Route { return resolve(getBook, "shop/prod") }, "get", routeGet, true, true},
		{"service wildcard", func() *routing.Route { return resolve("/tollgate.example.v1.EchoService/EchoBidiStream", "shop/prod") }, "echo", routeEcho, false, false},
		{"default integration", func() *routing.Route {
			return resolve("/tollgate.example.v1.BookstoreService/ListShelves", "shop/prod")
		},
			"/tollgate.example.v1.BookstoreService/ListShelves", nil, true, false},
		{"plain HTTP route", func() *routing.Route { return hook }, "hook", routeHook, false, false},
		{"schema-less fallback", func() *routing.Route { return resolve("/legacy.v1.Old/Call", "legacy/prod") }, "*", nil, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.route()
			f := r.Facts()
			if f == nil || tt.route().Facts() != f {
				t.Fatal("the route's facts are not one shared value")
			}
			if f.Stage != r.Stage.Name || f.API != r.Stage.API || f.Deployment != r.Stage.Deployment || f.StageConfig != r.Stage.Config ||
				f.RouteKey != tt.wantKey || f.ThrottleKey != r.Stage.Name+"|"+tt.wantKey || f.Route != tt.wantRoute ||
				f.Unary != tt.wantUnary || (f.RequestType != nil) != tt.wantRequest || f.StageVariables["host"] != "prod-host" {
				t.Errorf("facts %+v", f)
			}
		})
	}
}

func boolPtr(b bool) *bool { return &b }
