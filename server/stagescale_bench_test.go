package server_test

import (
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// BenchmarkStagePatch measures an admin PATCH of one stage (its variables)
// through the admin gRPC API, acknowledged once the data plane serves it,
// with n stages of one API served (each its own deployment of the same
// descriptors, as n deploys leave them): the write, the read of what
// changed, the pre-flight compile and the data plane's reload. Issue 23's
// target is the same cost at 1,000 stages as at 10. "create/s" is the rate
// at which the n stages were created (each write reloads too).
func BenchmarkStagePatch(b *testing.B) {
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("stages=%d", n), func(b *testing.B) {
			s := startNode(b, "", io.Discard)
			a := newFleetAdmin(b, s)
			api, err := a.CreateApi(a.ctx, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
				DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
				DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "localhost:50051"}}},
			}})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for i := range n {
				// A deploy and a stage serving it; retention keeps every
				// deployment (they are all served).
				d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: api.GetName()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "s" + strconv.Itoa(i),
					Stage: &adminv1.Stage{Deployment: d.GetName()}}); err != nil {
					b.Fatal(err)
				}
			}
			created := float64(n) / time.Since(start).Seconds()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := a.UpdateStage(a.ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: api.GetName() + "/stages/s0",
					Variables: map[string]string{"v": strconv.Itoa(i)}}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(created, "create/s")
		})
	}
}
