package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/pgtest"
	"github.com/tollgate-gw/tollgate/server"
)

// nodeToken is the admin token every node of a test fleet shares.
const nodeToken = "fleet-admin-token-0123456789"

// startNode starts a gateway on the shared store url, stopped when the test
// ends, logging only to logs.
func startNode(tb testing.TB, url string, logs io.Writer) *server.Server {
	tb.Helper()
	return startNodeIn(tb, tb.TempDir(), url, logs)
}

// startNodeIn is startNode with the data directory given (a test may
// have written a store there first).
func startNodeIn(tb testing.TB, dataDir, url string, logs io.Writer) *server.Server {
	tb.Helper()
	return startServer(tb, server.Config{
		DataDir:         dataDir,
		AdminAddr:       "127.0.0.1:0",
		ListenAddr:      "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second,
		Store:           url,
		AdminToken:      nodeToken,
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
		Stderr:          io.Discard,
	}).Server
}

// fleetAdmin is an admin client of one node.
type fleetAdmin struct {
	adminv1.AdminServiceClient
	ctx context.Context
}

func newFleetAdmin(tb testing.TB, s *server.Server) fleetAdmin {
	tb.Helper()
	conn := dialTB(tb, s.AdminAddr())
	ctx := metadataToken(tb)
	return fleetAdmin{adminv1.NewAdminServiceClient(conn), ctx}
}

// deployMock creates (or updates) the route GET /hello of API shop to
// answer body from a mock, deploys it, and returns the deployment's name.
func (a fleetAdmin) deployMock(tb testing.TB, body string) string {
	tb.Helper()
	route := &adminv1.Route{
		Name:        "apis/shop/routes/hello",
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/hello"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: body}}},
	}
	if _, err := a.GetApi(a.ctx, &adminv1.GetApiRequest{Name: "apis/shop"}); status.Code(err) == codes.NotFound {
		if _, err := a.CreateApi(a.ctx, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{}}); err != nil {
			tb.Fatalf("CreateApi: %v", err)
		}
		route.Name = ""
		if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "hello", Route: route}); err != nil {
			tb.Fatalf("CreateRoute: %v", err)
		}
	} else if _, err := a.UpdateRoute(a.ctx, &adminv1.UpdateRouteRequest{Route: route}); err != nil {
		tb.Fatalf("UpdateRoute: %v", err)
	}
	d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop"})
	if err != nil {
		tb.Fatalf("CreateDeployment: %v", err)
	}
	return d.GetName()
}

// serveDeployment points the stage live at deployment, creating it first.
func (a fleetAdmin) serveDeployment(deployment string) error {
	_, err := a.UpdateStage(a.ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/shop/stages/live", Deployment: deployment}})
	if status.Code(err) == codes.NotFound {
		_, err = a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: "apis/shop", StageId: "live", Stage: &adminv1.Stage{Deployment: deployment}})
	}
	return err
}

// hello calls GET /live/hello on a node's data port.
func hello(client *http.Client, s *server.Server) (int, string, error) {
	return get(client, s, "/live/hello", "")
}

// get calls GET path on a node's data port, with an API key unless empty.
func get(client *http.Client, s *server.Server, path, apiKey string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.DataAddr()+path, nil)
	if err != nil {
		return 0, "", err
	}
	if apiKey != "" {
		req.Header.Set("X-Api-Key", apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitServes calls a node until it answers want, for at most limit.
func waitServes(tb testing.TB, client *http.Client, s *server.Server, want string, limit time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	var code int
	var body string
	var err error
	for time.Since(start) < limit {
		if code, body, err = hello(client, s); err == nil && code == http.StatusOK && body == want {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	tb.Fatalf("node %s does not serve %q after %s: last answer %d %q %v", s.DataAddr(), want, limit, code, body, err)
	return 0
}

// TestFleetOnPostgres runs three gateways on one PostgreSQL: a deploy on
// node A is served by B and C within a second, and so are account
// settings; usage counted on all three adds up exactly in GetUsage on A;
// with PostgreSQL stopped B keeps serving (API keys it knew
// included) while admin writes fail with UNAVAILABLE; after a restart a new
// deploy reaches B and C without restarting anything.
func TestFleetOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	logs := &syncBuffer{}
	nodes := []*server.Server{startNode(t, url, logs), startNode(t, url, logs), startNode(t, url, logs)}
	a, b, c := nodes[0], nodes[1], nodes[2]
	admin := newFleetAdmin(t, a)
	client := &http.Client{Timeout: 5 * time.Second}

	if err := admin.serveDeployment(admin.deployMock(t, "v1")); err != nil {
		t.Fatal(err)
	}
	waitServes(t, client, a, "v1", time.Second) // the writing node: at once
	waitServes(t, client, b, "v1", 2*time.Second)
	waitServes(t, client, c, "v1", 2*time.Second)

	// Account settings written on A apply on C.
	if _, err := admin.UpdateAccountSettings(admin.ctx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
		Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: 1, BurstLimit: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, _, err := hello(client, c)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusTooManyRequests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node C never throttled after the account limit changed on A (last %d)", code)
		}
	}
	if _, err := admin.UpdateAccountSettings(admin.ctx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
		Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: 10000, BurstLimit: 5000},
	}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the 1/s bucket refills meanwhile too
	waitServes(t, client, c, "v1", 2*time.Second)

	// A route requiring an API key, for checking keys during the outage.
	if _, err := admin.CreateRoute(admin.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "keyed"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateApiKey(admin.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "fleet"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUsagePlan(admin.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/live"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUsagePlanKey(admin.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.serveDeployment(admin.deployMock(t, "v1")); err != nil {
		t.Fatal(err)
	}
	keyed := func() (int, string, error) { return get(client, b, "/live/keyed", key.GetValue()) }
	var admitted int64 // keyed calls answered 200, which are counted
	// Every node must serve the new route before the calls below are
	// made on all three (each follows the change feed on its own).
	for _, n := range nodes {
		for deadline := time.Now().Add(5 * time.Second); ; {
			code, body, err := get(client, n, "/live/keyed", key.GetValue())
			if err == nil && code == http.StatusOK {
				admitted++
			}
			if err == nil && code == http.StatusOK && body == "keyed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s never served the keyed route: %d %q %v", n.DataAddr(), code, body, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Usage counted on every node adds up exactly in the shared store:
	// each node flushes its counts every second, in a serialized write.
	usage := func() int64 {
		t.Helper()
		resp, err := admin.GetUsage(admin.ctx, &adminv1.GetUsageRequest{UsagePlan: "usagePlans/gold"})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, k := range resp.GetItems() {
			for _, d := range k.GetDays() {
				n += d.GetCalls()
			}
		}
		return n
	}
	var wg sync.WaitGroup
	var failed sync.Map
	for i, n := range nodes {
		wg.Go(func() {
			for range 10 * (i + 1) {
				if code, _, err := get(client, n, "/live/keyed", key.GetValue()); err != nil || code != http.StatusOK {
					failed.Store(n.DataAddr(), fmt.Sprint(code, err))
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("keyed call on %v failed: %v", k, v); return true })
	want := admitted + 60
	for deadline := time.Now().Add(10 * time.Second); ; {
		got := usage()
		if got == want {
			break
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("GetUsage on node A counts %d calls made on the three nodes, want %d", got, want)
		}
		time.Sleep(100 * time.Millisecond) // nodes flush every second
	}

	pg.Stop(t)
	time.Sleep(600 * time.Millisecond) // let a store read be due: the key index must answer without it
	if code, body, err := keyed(); err != nil || code != http.StatusOK || body != "keyed" {
		t.Errorf("node B with PostgreSQL down answered the keyed route %d %q %v; want the key it knew admitted", code, body, err)
	}
	for range 20 {
		if code, body, err := hello(client, b); err != nil || code != http.StatusOK || body != "v1" {
			t.Fatalf("node B with PostgreSQL down answered %d %q %v; want its last configuration", code, body, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err = admin.CreateDeployment(admin.ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/shop"})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "configuration store is unavailable") {
		t.Fatalf("admin write with PostgreSQL down = %v; want UNAVAILABLE saying the store is unavailable", err)
	}
	probe := func(s *server.Server, query string) (int, string) {
		resp, err := client.Get("http://" + s.DataAddr() + "/readyz" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := probe(b, ""); code != http.StatusOK || !strings.Contains(body, "store unavailable") {
		t.Errorf("/readyz with PostgreSQL down = %d %q; want 200 saying the store is unavailable", code, body)
	}
	if code, _ := probe(b, "?require=store"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz?require=store with PostgreSQL down = %d, want 503", code)
	}

	pg.Restart(t)
	if code, body := probe(b, "?require=store"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz?require=store after the restart = %d %q, want 200 ok", code, body)
	}
	if err := admin.serveDeployment(admin.deployMock(t, "v2")); err != nil {
		t.Fatal(err)
	}
	waitServes(t, client, b, "v2", 5*time.Second)
	waitServes(t, client, c, "v2", 5*time.Second)
	if t.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
}

// BenchmarkFleetPropagation measures how long an admin write acknowledged
// by node A takes to be served by nodes B and C: 100 stage updates per
// iteration, alternating between two deployments, each waited for on both
// nodes (polled every 0.2 ms). It reports the p50 and p99 over every
// (write, node) pair, counted from A's acknowledgement and from the moment
// the write was sent.
func BenchmarkFleetPropagation(b *testing.B) {
	pg := pgtest.Start(b)
	url := pg.NewDatabase(b)
	nodes := []*server.Server{startNode(b, url, io.Discard), startNode(b, url, io.Discard), startNode(b, url, io.Discard)}
	admin := newFleetAdmin(b, nodes[0])
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	deployments := []string{admin.deployMock(b, "even"), admin.deployMock(b, "odd")}
	bodies := []string{"even", "odd"}
	if err := admin.serveDeployment(deployments[1]); err != nil {
		b.Fatal(err)
	}
	for _, n := range nodes[1:] {
		waitServes(b, client, n, "odd", 5*time.Second)
	}
	const writes = 100
	var delays, fromSend []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range writes {
			sent := time.Now()
			if err := admin.serveDeployment(deployments[i%2]); err != nil {
				b.Fatal(err)
			}
			acked := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, n := range nodes[1:] {
				wg.Go(func() {
					for {
						if code, body, err := hello(client, n); err == nil && code == http.StatusOK && body == bodies[i%2] {
							break
						}
						if time.Since(acked) > 10*time.Second {
							b.Errorf("node %s did not serve write %d within 10s", n.DataAddr(), i)
							return
						}
						time.Sleep(200 * time.Microsecond)
					}
					mu.Lock()
					delays = append(delays, time.Since(acked))
					fromSend = append(fromSend, time.Since(sent))
					mu.Unlock()
				})
			}
			wg.Wait()
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	slices.Sort(fromSend)
	pct := func(d []time.Duration, p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(pct(delays, 0.50)), "p50-ms")
	b.ReportMetric(ms(pct(delays, 0.99)), "p99-ms")
	b.ReportMetric(ms(pct(fromSend, 0.50)), "p50-from-send-ms")
	b.ReportMetric(ms(pct(fromSend, 0.99)), "p99-from-send-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("propagation over %d (write, node) pairs, after node A's acknowledgement: p50 %s, p99 %s, max %s; after the write was sent: p50 %s, p99 %s",
		len(delays), pct(delays, 0.50), pct(delays, 0.99), delays[len(delays)-1], pct(fromSend, 0.50), pct(fromSend, 0.99))
}

// dialTB and metadataToken are dial and withToken for benchmarks too.
func dialTB(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func metadataToken(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+nodeToken)
}
