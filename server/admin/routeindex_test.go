package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/store"
)

func grpcRoute(method string) *adminv1.Route {
	return &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: method}}
}

func httpRoute(method, path string) *adminv1.Route {
	return &adminv1.Route{Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: method, Path: path}}, Integration: grpcIntegration("localhost:1")}
}

// TestRouteMatchIndex checks that route writes find a route matching the
// same calls through the index (issue 23) with the errors a scan of every
// route gave: creates, updates that move or keep a match, deletes that free
// it, and an API deleted and created again.
func TestRouteMatchIndex(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, _, _ := seedAPI(t, e)
	const echo = "/tollgate.example.v1.EchoService/Echo"
	create := func(id string, r *adminv1.Route) error {
		_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: id, Route: r})
		return err
	}
	update := func(id string, r *adminv1.Route) error {
		r.Name = api.GetName() + "/routes/" + id
		_, err := e.client.UpdateRoute(c, &adminv1.UpdateRouteRequest{Route: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"http", "grpc_method"}}})
		return err
	}
	del := func(id string) error {
		_, err := e.client.DeleteRoute(c, &adminv1.DeleteRouteRequest{Name: api.GetName() + "/routes/" + id})
		return err
	}
	steps := []struct {
		name string
		do   func() error
		want codes.Code
		msg  string // in the error's message
	}{
		{"grpc route", func() error { return create("g1", grpcRoute(echo)) }, codes.OK, ""},
		{"same grpc method", func() error { return create("g2", grpcRoute(echo)) }, codes.AlreadyExists, "routes/g1 (it matches the same calls)"},
		{"http route", func() error { return create("h1", httpRoute("GET", "/v1/a/{id}")) }, codes.OK, ""},
		{"same http match", func() error { return create("h2", httpRoute("GET", "/v1/a/{id}")) }, codes.AlreadyExists, "routes/h1"},
		{"other method, same path", func() error { return create("h3", httpRoute("POST", "/v1/a/{id}")) }, codes.OK, ""},
		{"update keeping its match", func() error { return update("h1", httpRoute("GET", "/v1/a/{id}")) }, codes.OK, ""},
		{"update onto another's match", func() error { return update("h3", httpRoute("GET", "/v1/a/{id}")) }, codes.AlreadyExists, "routes/h1"},
		{"update moving its match", func() error { return update("h1", httpRoute("GET", "/v1/b/{id}")) }, codes.OK, ""},
		{"the old match is free", func() error { return create("h4", httpRoute("GET", "/v1/a/{id}")) }, codes.OK, ""},
		{"the new match is taken", func() error { return create("h5", httpRoute("GET", "/v1/b/{id}")) }, codes.AlreadyExists, "routes/h1"},
		{"delete", func() error { return del("g1") }, codes.OK, ""},
		{"a deleted route's match is free", func() error { return create("g3", grpcRoute(echo)) }, codes.OK, ""},
	}
	for _, s := range steps {
		err := s.do()
		if got := status.Code(err); got != s.want || !strings.Contains(fmt.Sprint(err), s.msg) {
			t.Fatalf("%s: %v, want %v with %q", s.name, err, s.want, s.msg)
		}
	}
	// An API deleted with its routes and created again starts with an
	// empty index.
	if _, err := e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Force: true}); err != nil {
		t.Fatal(err)
	}
	seedAPI(t, e)
	if err := create("again", grpcRoute(echo)); err != nil {
		t.Fatalf("route of a deleted API still indexed: %v", err)
	}
}

// TestRouteMatchIndexBuiltForOldRoutes writes routes as a store from
// before the index holds them (no index entries), and checks that a
// conflicting route is still refused: the API's routes are indexed on its
// first route write.
func TestRouteMatchIndexBuiltForOldRoutes(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, _, _ := seedAPI(t, e)
	old := httpRoute("GET", "/v1/old")
	old.Name = api.GetName() + "/routes/old"
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		b, err := proto.Marshal(old)
		if err != nil {
			return err
		}
		return tx.Put("routes", old.GetName(), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "new", Route: httpRoute("GET", "/v1/old")})
	if st := wantCode(t, err, codes.AlreadyExists); !strings.Contains(st.Message(), "routes/old") {
		t.Fatalf("message %q does not name the route", st.Message())
	}
}

// BenchmarkCreateRoute creates routes in an API that has n already: the
// cost of a route write must not grow with n (it was O(n): every route of
// the API decoded per write).
func BenchmarkCreateRoute(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			svc, st := seedStages(b, 1)
			r := httpRoute("GET", "")
			err := st.Update(context.Background(), func(tx store.Tx) error {
				api, err := proto.Marshal(&adminv1.Api{Name: "apis/shop", DefaultIntegration: grpcIntegration("localhost:1")})
				if err != nil {
					return err
				}
				if err := tx.Put("apis", "apis/shop", api); err != nil {
					return err
				}
				for i := range n {
					r.Name = fmt.Sprintf("apis/shop/routes/r%d", i)
					r.GetHttp().Path = fmt.Sprintf("/v1/resource%d/{id}", i)
					v, err := proto.Marshal(r)
					if err != nil {
						return err
					}
					if err := tx.Put("routes", r.GetName(), v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// The first write indexes the API's existing routes.
			if _, err := svc.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "first", Route: httpRoute("GET", "/first")}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, err := svc.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: fmt.Sprintf("new%d", i),
					Route: httpRoute("GET", fmt.Sprintf("/v2/resource%d/{id}", i))})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
