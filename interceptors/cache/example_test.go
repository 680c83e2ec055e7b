package cache_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// The cache goes last in the policy chain, after authorization and
// throttling; the gateway keeps it in step with what is deployed (Retain)
// and lets the admin API flush a stage.
func Example() {
	c := cache.New(cache.WithAdminPermission(func(ctx context.Context, _ *callinfo.Call) bool {
		md, _ := metadata.FromIncomingContext(ctx)
		return len(md.Get(cache.AdminTokenHeader)) == 1 && md.Get(cache.AdminTokenHeader)[0] == "the-admin-token"
	}))
	defer c.Close()
	srv := grpc.NewServer(grpc.ChainStreamInterceptor( /* routing, authorization, throttling, */ c.StreamServerInterceptor()))
	defer srv.Stop()

	// After every deploy: only the deployments the stages serve keep a cache.
	c.Retain(map[string][]string{"apis/shop/stages/prod": {"apis/shop/deployments/d2"}})
	// FlushStageCache.
	fmt.Println(c.Flush("apis/shop/stages/prod"))
	// Output: false
}
