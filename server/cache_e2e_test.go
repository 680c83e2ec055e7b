package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestResponseCacheServer: the demo stage with its cache turned on through
// the admin API caches GetBook over gRPC and REST; refreshes need the admin
// token (or an authorizer's permission); FlushStageCache (gRPC and REST)
// and a new deployment empty the cache; the metrics count hits and misses.
func TestResponseCacheServer(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	_, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{
		Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Cache: &adminv1.CacheSettings{
			Enabled: true, RequireAuthorizationForCacheControl: true,
			UnauthorizedCacheControl: adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403,
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"cache"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := admin.GetStage(actx, &adminv1.GetStageRequest{Name: "apis/bookstore/stages/demo"})
	if err != nil {
		t.Fatal(err)
	}
	if c := st.GetCache(); c.GetTtlSeconds() != 300 || c.GetCapacityBytes() != 64<<20 || c.GetMaxEntryBytes() != 1<<20 {
		t.Errorf("stage cache defaults: %v", c)
	}

	books := examplev1.NewBookstoreServiceClient(dial(t, ts.DataAddr()))
	grpcGet := func(kv ...string) (string, codes.Code) {
		t.Helper()
		var hdr metadata.MD
		ctx := metadata.AppendToOutgoingContext(context.Background(), kv...)
		_, err := books.GetBook(ctx, &examplev1.GetBookRequest{Name: "shelves/fiction/books/b1"}, grpc.Header(&hdr))
		v := hdr.Get("x-tollgate-cache")
		if len(v) == 0 {
			return "", status.Code(err)
		}
		return v[0], status.Code(err)
	}
	restGet := func(headers ...string) (string, int) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+"/demo/v1/shelves/fiction/books/b1", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http1Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.Header.Get("Grpc-Metadata-X-Tollgate-Cache") != "" {
			t.Errorf("the cache status reached REST clients prefixed")
		}
		return resp.Header.Get("X-Tollgate-Cache"), resp.StatusCode
	}
	expect := func(step, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: x-tollgate-cache %q, want %q", step, got, want)
		}
	}

	g, _ := grpcGet()
	expect("gRPC first", g, "miss")
	g, _ = grpcGet()
	expect("gRPC second", g, "hit")
	r, _ := restGet()
	expect("REST first", r, "miss")
	r, _ = restGet()
	expect("REST second", r, "hit")

	// Refreshing needs the permission: the admin token, not a guess.
	if _, code := grpcGet("cache-control", "max-age=0"); code != codes.PermissionDenied {
		t.Errorf("gRPC refresh without permission: %v, want PERMISSION_DENIED", code)
	}
	if _, code := restGet("Cache-Control", "max-age=0", "X-Tollgate-Admin-Token", "not-the-token-0123456789"); code != http.StatusForbidden {
		t.Errorf("REST refresh with a wrong token: %d, want 403", code)
	}
	g, _ = grpcGet("cache-control", "max-age=0", "x-tollgate-admin-token", ts.AdminToken())
	expect("gRPC refresh with the admin token", g, "miss")
	r, _ = restGet("Cache-Control", "max-age=0", "X-Tollgate-Admin-Token", ts.AdminToken())
	expect("REST refresh with the admin token", r, "miss")
	g, _ = grpcGet()
	expect("gRPC after refresh", g, "hit")

	// FlushStageCache over gRPC, then over REST.
	if _, err := admin.FlushStageCache(actx, &adminv1.FlushStageCacheRequest{Name: "apis/bookstore/stages/demo"}); err != nil {
		t.Fatal(err)
	}
	g, _ = grpcGet()
	expect("gRPC after a flush", g, "miss")
	r, _ = restGet()
	expect("REST after a flush", r, "miss")
	res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+"/v1/apis/bookstore/stages/demo:flushCache", "Bearer "+ts.AdminToken(), "{}")
	if res.status != http.StatusOK {
		t.Fatalf("REST flush: %d %s", res.status, res.body)
	}
	g, _ = grpcGet()
	expect("gRPC after a REST flush", g, "miss")
	if _, err := admin.FlushStageCache(actx, &adminv1.FlushStageCacheRequest{Name: "apis/bookstore/stages/nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("flushing a missing stage: %v, want NOT_FOUND", err)
	}

	// A new deployment starts from an empty cache.
	g, _ = grpcGet()
	expect("before deploying", g, "hit")
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment"}},
	}); err != nil {
		t.Fatal(err)
	}
	g, _ = grpcGet()
	expect("after deploying", g, "miss")

	metrics := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	for _, name := range []string{"tollgate_cache_hits_total", "tollgate_cache_misses_total"} {
		if !strings.Contains(metrics.body, name+"{") {
			t.Errorf("/metrics has no %s", name)
		}
	}
}
