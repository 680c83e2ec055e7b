package gateway_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// countedBackend is an example backend that counts its unary calls and
// records the x-user of each.
type countedBackend struct {
	*examplebackend.Server
	calls atomic.Int64
	mu    sync.Mutex
	users map[string]bool
}

func startCounted(t *testing.T) *countedBackend {
	t.Helper()
	cb := &countedBackend{users: map[string]bool{}}
	s, err := examplebackend.Start("127.0.0.1:0", grpc.ChainUnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if strings.HasPrefix(info.FullMethod, "/grpc.health.") {
				return h(ctx, req) // health checks are not calls
			}
			cb.calls.Add(1)
			if v := metadata.ValueFromIncomingContext(ctx, "x-user"); len(v) > 0 {
				cb.mu.Lock()
				cb.users[v[0]] = true
				cb.mu.Unlock()
			}
			return h(ctx, req)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	cb.Server = s
	return cb
}

// grpcTargets is a route of every Echo method to targets.
func grpcTargets(targets []*adminv1.Target, lb *adminv1.LoadBalancing) *adminv1.Route {
	return &adminv1.Route{
		Name:  "apis/shop/routes/echo",
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
			Targets: targets, LoadBalancing: lb,
		}}},
	}
}

// An integration's targets share its calls by weight, within 5% over
// 10,000 calls (issue 17).
func TestGRPCTargetsWeightedSplit(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t), startCounted(t)}
	weights := []uint32{1, 3, 6}
	var targets []*adminv1.Target
	for i, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr(), Weight: weights[i]})
	}
	// The third target comes from a stage variable.
	targets[2].Address = "${stageVariables.third}"
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", grpcTargets(targets, nil)), map[string]string{"third": bs[2].Addr()}))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))

	const n, workers = 10_000, 8
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range n / workers {
				if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d calls failed", f)
	}
	for i, b := range bs {
		want := float64(n) * float64(weights[i]) / 10
		if got := float64(b.calls.Load()); math.Abs(got-want) > 0.05*want {
			t.Errorf("target %d (weight %d): %.0f calls, want %.0f ± 5%%", i, weights[i], got, want)
		}
	}
}

// Consistent hashing on a metadata key keeps each key on one target.
func TestGRPCTargetsConsistentHash(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t), startCounted(t)}
	var targets []*adminv1.Target
	for _, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr()})
	}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", grpcTargets(targets,
		&adminv1.LoadBalancing{Policy: adminv1.LoadBalancing_POLICY_CONSISTENT_HASH, HashHeader: "X-User"})), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))
	const users = 300
	for range 3 {
		for u := range users {
			c := metadata.AppendToOutgoingContext(ctx(t), "x-user", fmt.Sprintf("user-%d", u))
			if _, err := echo.Echo(c, &examplev1.EchoRequest{Message: "hi"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := 0
	for i, b := range bs {
		total += len(b.users)
		if len(b.users) < users/6 {
			t.Errorf("target %d got %d of %d users", i, len(b.users), users)
		}
	}
	if total != users {
		t.Errorf("%d user-target pairs, want %d: some users moved between targets", total, users)
	}
}

// An HTTP integration's targets get the same balancing; the Host header
// stays the URI's.
func TestHTTPTargetsWeightedSplit(t *testing.T) {
	var hits [2]atomic.Int64
	var badHost atomic.Value
	var servers []*httptest.Server
	for i := range hits {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			if r.Host != "api.example" || r.URL.Path != "/base/items" {
				badHost.Store(r.Host + r.URL.Path)
			}
			_, _ = io.WriteString(w, "ok")
		}))
		t.Cleanup(s.Close)
		servers = append(servers, s)
	}
	tg := startGateway(t)
	d := deployment(t, "files", "v1", "127.0.0.1:1", &adminv1.Route{
		Name:  "apis/files/routes/items",
		Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/items"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{
			Uri: "http://api.example/base",
			Targets: []*adminv1.Target{
				{Address: strings.TrimPrefix(servers[0].URL, "http://"), Weight: 1},
				{Address: strings.TrimPrefix(servers[1].URL, "http://"), Weight: 3},
			},
		}}},
	})
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, nil))
	const n = 2000
	for range n {
		resp, err := http.Get(tg.url("/prod/items"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if v := badHost.Load(); v != nil {
		t.Errorf("a backend got %v, want Host api.example and path /base/items", v)
	}
	for i, w := range []float64{1, 3} {
		want := n * w / 4
		if got := float64(hits[i].Load()); math.Abs(got-want) > 0.05*want {
			t.Errorf("target %d: %.0f calls, want %.0f ± 5%%", i, got, want)
		}
	}
}
