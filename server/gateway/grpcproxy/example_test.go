package grpcproxy_test

import (
	"context"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// Example wires the proxy into a data-plane server: every call reaches the
// one generic handler, which routes it by service.
func Example() {
	routes := map[string]grpcproxy.Call{
		"/tollgate.example.v1.EchoService/": {
			Backend: grpcproxy.Backend{Target: "echo.internal:9000"},
			Timeout: 5 * time.Second,
		},
	}
	director := func(_ context.Context, fullMethod string) (grpcproxy.Call, error) {
		for prefix, call := range routes {
			if len(fullMethod) > len(prefix) && fullMethod[:len(prefix)] == prefix {
				return call, nil
			}
		}
		return grpcproxy.Call{}, status.Errorf(codes.Unimplemented, "no route for %s", fullMethod)
	}

	pool := grpcproxy.NewPool()
	defer pool.Close()
	proxy := grpcproxy.New(pool, director)
	srv := grpc.NewServer(
		grpc.ForceServerCodecV2(grpcproxy.Codec()),
		grpc.UnknownServiceHandler(proxy.Handler()),
		// grpc.ChainStreamInterceptor(the gateway's policies...),
	)
	defer srv.Stop()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()

	// When deployments change, keep only the backends still in use.
	pool.Retain([]grpcproxy.Backend{{Target: "echo.internal:9000"}})
	// Output:
}
