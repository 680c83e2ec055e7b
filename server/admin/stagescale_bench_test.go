package admin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// seedStages writes n stages of one API, each serving its own deployment
// of the example schema, as n deploys of an unchanged API leave them.
func seedStages(b *testing.B, n int) (*admin.Service, store.Store) {
	b.Helper()
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "tollgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := store.Migrate(ctx, st, store.Migrations); err != nil {
		b.Fatal(err)
	}
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		b.Fatal(err)
	}
	api := &adminv1.Api{Name: "apis/shop", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "backend:443"}}}}
	err = st.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			d := &adminv1.Deployment{Name: fmt.Sprintf("apis/shop/deployments/d%d", i), Snapshot: &adminv1.ApiSnapshot{Api: api}}
			s := &adminv1.Stage{Name: fmt.Sprintf("apis/shop/stages/s%d", i), Deployment: d.GetName()}
			for _, m := range []proto.Message{d, s} {
				v, err := proto.Marshal(m)
				if err != nil {
					return err
				}
				kind, name := "deployments", d.GetName()
				if m == s {
					kind, name = "stages", s.GetName()
				}
				if err := tx.Put(store.Kind(kind), name, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := admin.New(st)
	if err != nil {
		b.Fatal(err)
	}
	return svc, st
}

// BenchmarkDeployed is the read of what is deployed that follows every
// deploy-affecting admin write, at 10 and 1,000 stages: "cached" as after a
// write in this process (only new deployments are decoded), "cold" as
// after another node's change or a restart.
func BenchmarkDeployed(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, cold := range []bool{false, true} {
			name := fmt.Sprintf("stages=%d/cached", n)
			if cold {
				name = fmt.Sprintf("stages=%d/cold", n)
			}
			b.Run(name, func(b *testing.B) {
				svc, _ := seedStages(b, n)
				ctx := context.Background()
				if _, err := svc.Deployed(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if cold {
						svc.ForgetDeployed()
					}
					d, err := svc.Deployed(ctx)
					if err != nil || len(d.Stages) != n {
						b.Fatal(len(d.Stages), err)
					}
				}
			})
		}
	}
}

// BenchmarkDeployedChanges is the read of what changed that follows an
// admin PATCH of one stage (the write itself not timed), at 10, 100 and
// 1,000 stages: it reads that stage only, so it costs the same at each.
func BenchmarkDeployedChanges(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("stages=%d", n), func(b *testing.B) {
			svc, _ := seedStages(b, n)
			ctx := context.Background()
			if _, err := svc.DeployedChanges(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if _, err := svc.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/s0",
					Variables: map[string]string{"v": fmt.Sprint(i)}}}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				d, err := svc.DeployedChanges(ctx)
				if err != nil || len(d.Stages) != 1 {
					b.Fatal(len(d.Stages), err)
				}
			}
		})
	}
}
