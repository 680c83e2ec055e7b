package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
)

// seedKeys writes into a new embedded store in dir, in one transaction,
// the usage plan "gold" covering apis/shop/stages/prod with n API keys
// (values "value-{i}"), as the admin API stores them: building 100,000
// keys through the admin API would take minutes of fsyncs.
func seedKeys(b *testing.B, dir string, n int) {
	b.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "tollgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
		if err := put(tx, "usagePlans", "usagePlans/gold", &adminv1.UsagePlan{Name: "usagePlans/gold",
			ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/prod"}}}); err != nil {
			return err
		}
		for i := range n {
			name := "apiKeys/k" + strconv.Itoa(i)
			if err := put(tx, "apiKeys", name, &adminv1.ApiKey{Name: name, Enabled: proto.Bool(true)}); err != nil {
				return err
			}
			if err := tx.Put("apiKeyHashes", apikey.Hash("value-"+strconv.Itoa(i)), []byte(name)); err != nil {
				return err
			}
			member := "usagePlans/gold/keys/k" + strconv.Itoa(i)
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
}

// BenchmarkKeyedCallsAtScale calls a route that requires an API key
// through the whole gateway (HTTP, the policy chain, a mock integration,
// so that the key's cost is not hidden behind a backend's), with a usage
// plan of 1,000 and of 100,000 keys: the same key on every call (cached
// after the first) and a different key on every call (each one's first
// call: an uncached lookup in the store). Issue 23's targets: distinct
// keys within 20 % of one key, and the cost flat in the plan's size.
func BenchmarkKeyedCallsAtScale(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		dir := b.TempDir()
		seedKeys(b, dir, n)
		s := startNodeIn(b, dir, "", io.Discard)
		a := newFleetAdmin(b, s)
		if _, err := a.CreateApi(a.ctx, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{}}); err != nil {
			b.Fatal(err)
		}
		if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "hello", Route: &adminv1.Route{
			Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/hello"}},
			Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "hi"}}},
			ApiKeyRequired: true,
		}}); err != nil {
			b.Fatal(err)
		}
		d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: "apis/shop", StageId: "prod",
			Stage: &adminv1.Stage{Deployment: d.GetName()}}); err != nil {
			b.Fatal(err)
		}
		url := "http://" + s.DataAddr() + "/prod/hello"
		client := &http.Client{}
		b.Cleanup(client.CloseIdleConnections)
		call := func(b *testing.B, key string) {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("x-api-key", key)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("key %s: status %d", key, resp.StatusCode)
			}
		}
		b.Run(fmt.Sprintf("keys=%d/same-key", n), func(b *testing.B) {
			call(b, "value-0")
			cpu := processCPU()
			for b.Loop() {
				call(b, "value-0")
			}
			reportCPU(b, cpu)
		})
		next := 1 // key 0 is cached by now; every later call takes a new one
		b.Run(fmt.Sprintf("keys=%d/distinct-keys", n), func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				if next == n {
					b.Fatalf("more iterations than the %d keys (use -benchtime Nx with N < %d)", n, n)
				}
				call(b, "value-"+strconv.Itoa(next))
				next++
			}
			reportCPU(b, cpu)
		})
	}
}

// processCPU returns the CPU time the process (client and gateway alike)
// has used: on a machine shared with other work, CPU time per call moves
// far less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per iteration since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}
