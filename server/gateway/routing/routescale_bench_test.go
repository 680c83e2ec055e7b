package routing_test

import (
	"fmt"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// BenchmarkCompileHTTPRoutes compiles one stage serving a deployment of n
// plain HTTP routes (each "/v1/resource{i}/{id}" and its ":cancel" custom
// method, half with their own integration): the compile a deploy of such
// an API costs. Issue 23's target: at most 50 ms at 10,000 routes.
func BenchmarkCompileHTTPRoutes(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			routes := make([]*adminv1.Route, 0, n)
			for i := range n {
				path := fmt.Sprintf("/v1/resource%d/{id}", i/2)
				if i%2 == 1 {
					path += ":cancel"
				}
				r := &adminv1.Route{Name: fmt.Sprintf("apis/web/routes/r%d", i),
					Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: path}}}
				if i%2 == 0 {
					r.Integration = grpcTo("${stageVariables.host}:443")
				}
				routes = append(routes, r)
			}
			e := deployed(b, "web", "prod", false, routes...)
			b.ReportAllocs()
			for b.Loop() {
				table, errs := routing.Compile(routing.Config{Stages: []routing.Entry{e}})
				if len(errs) > 0 || len(table.Stage("apis/web/stages/prod").HTTPRoutes()) != n {
					b.Fatal(errs)
				}
			}
		})
	}
}
