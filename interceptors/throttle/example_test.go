package throttle_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/throttle"
)

// route is what a gateway would compile per deployment: the bucket keys
// are built once, so that Checks does not allocate per call.
type route struct {
	stageKey, routeKey string
	stage, route       throttle.Limit
}

type routeKey struct{}

func ExampleStreamServerInterceptor() {
	checks := func(ctx context.Context, dst []throttle.Check) []throttle.Check {
		r, _ := ctx.Value(routeKey{}).(*route)
		if r == nil {
			return dst
		}
		return append(dst,
			throttle.Check{Level: throttle.LevelStage, Key: r.stageKey, Limit: r.stage},
			throttle.Check{Level: throttle.LevelRoute, Key: r.routeKey, Limit: r.route},
		)
	}
	limiter := throttle.NewLocalLimiter()
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(throttle.StreamServerInterceptor(limiter, checks)))
	defer srv.Stop()
	// Register the proxy's unknown-service handler, listen and serve.
	fmt.Println("ready")
	// Output: ready
}

func ExampleRetryAfter() {
	err := throttle.Refusal(throttle.LevelRoute, 1500*time.Millisecond)
	if d, ok := throttle.RetryAfter(err); ok {
		// A REST edge sends this as the Retry-After header of its 429.
		fmt.Printf("Retry-After: %d\n", int(d.Seconds()))
	}
	level, _ := throttle.Level(err)
	fmt.Println("refused at", level)
	// Output:
	// Retry-After: 2
	// refused at route
}

func ExampleLocalLimiter_Allow() {
	l := throttle.NewLocalLimiter()
	limit := throttle.Limit{Rate: 2, Burst: 1} // one call per 500 ms
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fmt.Println(l.Allow("stage|apis/a/stages/prod", limit, now))
	fmt.Println(l.Allow("stage|apis/a/stages/prod", limit, now.Add(100*time.Millisecond)))
	fmt.Println(l.Allow("stage|apis/a/stages/prod", limit, now.Add(500*time.Millisecond)))
	// Output:
	// true 0s
	// false 400ms
	// true 0s
}
