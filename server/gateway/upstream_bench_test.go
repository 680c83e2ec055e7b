package gateway_test

import (
	"context"
	"fmt"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// BenchmarkTargets is a unary call through the gateway to an integration
// with one target (the single target form), and with 1 and 10 targets
// balanced by each policy, each target its own backend (issue 17).
func BenchmarkTargets(b *testing.B) {
	var addrs []string
	for range 10 {
		addrs = append(addrs, backend(b).Addr())
	}
	cases := []struct {
		name    string
		targets int
		policy  adminv1.LoadBalancing_Policy
	}{
		{"single-target-form", 0, 0},
		{"round-robin/targets=1", 1, adminv1.LoadBalancing_POLICY_ROUND_ROBIN},
		{"round-robin/targets=10", 10, adminv1.LoadBalancing_POLICY_ROUND_ROBIN},
		{"least-request/targets=10", 10, adminv1.LoadBalancing_POLICY_LEAST_REQUEST},
		{"consistent-hash/targets=10", 10, adminv1.LoadBalancing_POLICY_CONSISTENT_HASH},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			gi := &adminv1.GrpcIntegration{Target: addrs[0]}
			if c.targets > 0 {
				gi = &adminv1.GrpcIntegration{LoadBalancing: &adminv1.LoadBalancing{Policy: c.policy}}
				for _, a := range addrs[:c.targets] {
					gi.Targets = append(gi.Targets, &adminv1.Target{Address: a})
				}
			}
			tg := startGateway(b)
			tg.load(b, entry("shop", "prod", deployment(b, "shop", "v1", "127.0.0.1:1", &adminv1.Route{
				Name:        "apis/shop/routes/echo",
				Match:       &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
				Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: gi}},
			}), nil))
			client := examplev1.NewEchoServiceClient(tg.grpcConn(b))
			for i := range 2 * max(c.targets, 1) { // connect every target first
				if _, err := client.Echo(context.Background(), &examplev1.EchoRequest{Message: fmt.Sprint(i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Echo(context.Background(), &examplev1.EchoRequest{Message: "hi"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
