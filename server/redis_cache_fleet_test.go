package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server"
)

// deploySharedCacheBooks creates on the fleet the API books (the example
// backend's descriptors, GetBook requiring an API key) and its stage
// cached with Stage.shared_cache, and two API keys in a plan of it. It
// returns the keys' values once every node serves the stage.
func deploySharedCacheBooks(t *testing.T, f *redisFleet, shared bool) (keyX, keyY string) {
	t.Helper()
	a := f.admin
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateApi(a.ctx, &adminv1.CreateApiRequest{ApiId: "books", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: b.Addr()}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/books", RouteId: "get", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/GetBook"}, ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/books"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: "apis/books", StageId: "prod", Stage: &adminv1.Stage{
		Deployment: d.GetName(), Cache: &adminv1.CacheSettings{Enabled: true}, SharedCache: shared,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUsagePlan(a.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "readers", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/books/stages/prod"}},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x", "y"} {
		k, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/readers", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: k.GetName()}}); err != nil {
			t.Fatal(err)
		}
		if id == "x" {
			keyX = k.GetValue()
		} else {
			keyY = k.GetValue()
		}
	}
	// The other nodes apply the writes within milliseconds; wait until each
	// serves the stage (an answer other than "not found" for key X's call
	// would also cache it, so a book nobody asks for later is used).
	for _, n := range f.nodes {
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, err := getBook(t, n, keyX, "shelves/science/books/b3")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s does not serve apis/books/stages/prod: %v", n.DataAddr(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return keyX, keyY
}

// getBook calls GetBook over gRPC on a node with an API key, returning the
// title and the x-tollgate-cache header.
func getBook(t *testing.T, n *server.Server, key, name string) (title, cacheStatus string, err error) {
	t.Helper()
	conn := dialTB(t, n.DataAddr())
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-api-key", key, "x-tollgate-stage", "prod"), 5*time.Second)
	defer cancel()
	var hdr metadata.MD
	book, err := examplev1.NewBookstoreServiceClient(conn).GetBook(ctx, &examplev1.GetBookRequest{Name: name}, grpc.Header(&hdr))
	if v := hdr.Get("x-tollgate-cache"); len(v) > 0 {
		cacheStatus = v[0]
	}
	return book.GetTitle(), cacheStatus, err
}

// TestFleetSharedCacheOnRedis: with Stage.shared_cache, a response cached
// through node A is a hit on node B; a caller's entry is never served to
// another caller (API keys X and Y, over real sockets); FlushStageCache on
// B clears it for A (through Redis's generation, and A's memory through
// the fleet notice); with Redis down, calls are served and a flush of the
// stage fails with UNAVAILABLE, but one of a stage not sharing its cache
// succeeds; without shared_cache each node caches alone.
func TestFleetSharedCacheOnRedis(t *testing.T) {
	f := startRedisFleet(t)
	keyX, keyY := deploySharedCacheBooks(t, f, true)
	nodeA, nodeB := f.nodes[0], f.nodes[1]
	const book = "shelves/fiction/books/b1"

	step := func(name string, n *server.Server, key, want string) {
		t.Helper()
		title, got, err := getBook(t, n, key, book)
		if err != nil || title == "" {
			t.Fatalf("%s: GetBook = %q, %v", name, title, err)
		}
		if got != want {
			t.Fatalf("%s: x-tollgate-cache %q, want %q", name, got, want)
		}
	}
	step("X on A, first", nodeA, keyX, "miss")
	step("X on B, cached by A", nodeB, keyX, "hit")
	step("Y on B: X's entry is not Y's", nodeB, keyY, "miss")
	step("Y on A, cached by B", nodeA, keyY, "hit")
	step("X on the third node", f.nodes[2], keyX, "hit")

	if _, err := f.admin.FlushStageCache(f.admin.ctx, &adminv1.FlushStageCacheRequest{Name: "apis/books/stages/prod"}); err != nil {
		t.Fatal(err)
	}
	// Flushed on node A (the admin client's): B, which holds the entry in
	// memory too, drops it on the fleet notice (or within a second, the
	// shared entries' lifetime in memory) and finds none in Redis's new
	// generation. (C would then hit what B's miss stored: it is the
	// response fetched after the flush.)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, got, err := getBook(t, nodeB, keyX, book)
		if err != nil {
			t.Fatal(err)
		}
		if got == "miss" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B still serves the entry flushed on node A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The miss on B refilled Redis: A, whose memory was flushed, hits it.
	step("X on A after the flush, refilled by another node", nodeA, keyX, "hit")

	// Flushed on B, through B's own admin API.
	bAdmin := newFleetAdmin(t, nodeB)
	if _, err := bAdmin.FlushStageCache(bAdmin.ctx, &adminv1.FlushStageCacheRequest{Name: "apis/books/stages/prod"}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		_, got, err := getBook(t, nodeA, keyY, book)
		if err != nil {
			t.Fatal(err)
		}
		if got == "miss" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node A still serves the entry flushed on node B")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Redis dies: calls are served from memory and backends; a flush
	// fails with UNAVAILABLE (the shared entries would survive it).
	f.redis.Stop(t)
	for i := range 5 {
		if title, _, err := getBook(t, nodeB, keyY, book); err != nil || title == "" {
			t.Fatalf("call %d with Redis down: %q, %v", i, title, err)
		}
	}
	_, err := f.admin.FlushStageCache(f.admin.ctx, &adminv1.FlushStageCacheRequest{Name: "apis/books/stages/prod"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("FlushStageCache with Redis down: %v, want UNAVAILABLE", err)
	}
	// A stage whose cache is not shared is flushed on the nodes alone.
	if _, err := f.admin.FlushStageCache(f.admin.ctx, &adminv1.FlushStageCacheRequest{Name: "apis/shop/stages/live"}); err != nil {
		t.Fatalf("FlushStageCache of a stage not sharing its cache, with Redis down: %v", err)
	}
}

// TestFleetCacheNotSharedByDefault: without Stage.shared_cache, each
// node keeps its own entries (nothing goes to Redis).
func TestFleetCacheNotSharedByDefault(t *testing.T) {
	f := startRedisFleet(t)
	keyX, _ := deploySharedCacheBooks(t, f, false)
	for i, n := range f.nodes[:2] {
		if _, got, err := getBook(t, n, keyX, "shelves/fiction/books/b2"); err != nil || got != "miss" {
			t.Fatalf("node %d: x-tollgate-cache %q, %v; want a miss on every node", i, got, err)
		}
	}
}
