package admin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// seedPlan writes, in one transaction, a stage's usage plan "gold" with n
// API keys (values "value-{i}"), as the admin API would store them: the
// scale at which key operations must not scan the plan.
func seedPlan(b *testing.B, n int) *admin.Service {
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
	put := func(tx store.Tx, kind, key string, m proto.Message) error {
		v, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		return tx.Put(store.Kind(kind), key, v)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := put(tx, "usagePlans", "usagePlans/gold", &adminv1.UsagePlan{Name: "usagePlans/gold", ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/prod"}}}); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("apiKeys/k%d", i)
			if err := put(tx, "apiKeys", name, &adminv1.ApiKey{Name: name, Enabled: proto.Bool(true)}); err != nil {
				return err
			}
			if err := tx.Put("apiKeyHashes", apikey.Hash(fmt.Sprintf("value-%d", i)), []byte(name)); err != nil {
				return err
			}
			member := fmt.Sprintf("usagePlans/gold/keys/k%d", i)
			if err := put(tx, "usagePlanKeys", member, &adminv1.UsagePlanKey{Name: member, ApiKey: name}); err != nil {
				return err
			}
			if err := tx.Put(store.APIKeyPlansKind, name+"|usagePlans/gold", nil); err != nil {
				return err
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
	return svc
}

// BenchmarkLookupAPIKey is the data plane's key lookup (the key index)
// with a plan of 1,000 and of 100,000 keys: the cost must not grow with
// the plan.
func BenchmarkLookupAPIKey(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			svc := seedPlan(b, n)
			ctx := context.Background()
			if _, err := svc.LoadKeyIndex(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k, err := svc.LookupAPIKey(ctx, apikey.Hash(fmt.Sprintf("value-%d", i%n)))
				if err != nil || k == nil || k.UsagePlans["apis/shop/stages/prod"] == nil {
					b.Fatalf("lookup: %v, %v", k, err)
				}
			}
		})
	}
}

// BenchmarkKeyIndexLoad loads the key index of a plan of 100,000 keys (what
// a server does at startup) and reports the index's heap per key, measured
// after a collection with the index held and again after it is dropped.
func BenchmarkKeyIndexLoad(b *testing.B) {
	const n = 100_000
	svc := seedPlan(b, n)
	ctx := context.Background()
	var heap uint64
	for b.Loop() {
		b.StopTimer()
		fresh, err := admin.New(svc.Store())
		if err != nil {
			b.Fatal(err)
		}
		before := heapInUse()
		b.StartTimer()
		if got, err := fresh.LoadKeyIndex(ctx); err != nil || got != n {
			b.Fatalf("LoadKeyIndex = %d, %v", got, err)
		}
		b.StopTimer()
		heap = heapInUse() - before
		runtime.KeepAlive(fresh)
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/n, "heap-B/key")
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
