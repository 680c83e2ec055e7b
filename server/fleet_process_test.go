package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/pgtest"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

// procNode is a gateway running as its own process (the tollgate binary).
type procNode struct {
	cmd       *exec.Cmd
	adminAddr string
	dataAddr  string
	exited    chan struct{}
	logs      *syncBuffer
}

// DataAddr returns the node's data address, as server.Server's.
func (n *procNode) DataAddr() string { return n.dataAddr }

// buildTollgate builds the tollgate binary into a temporary directory once
// per test.
func buildTollgate(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	bin := filepath.Join(t.TempDir(), "tollgate")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/tollgate-gw/tollgate/cmd/tollgate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tollgate: %v\n%s", err, out)
	}
	return bin
}

// startProcNode starts `tollgate serve` on the shared store and Redis, and
// returns once it logged that it is ready (with its addresses).
func startProcNode(t *testing.T, bin, storeURL, redisURL string) *procNode {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--store", storeURL, "--redis", redisURL,
		"--admin-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
	cmd.Env = append(os.Environ(), "TOLLGATE_ADMIN_TOKEN="+nodeToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &procNode{cmd: cmd, exited: make(chan struct{}), logs: &syncBuffer{}}
	ready := make(chan [2]string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		for lines.Scan() {
			line := lines.Text()
			_, _ = n.logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg       string `json:"msg"`
				AdminAddr string `json:"admin_addr"`
				DataAddr  string `json:"data_addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tollgate is ready" {
				ready <- [2]string{rec.AdminAddr, rec.DataAddr}
			}
		}
		_ = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			t.Logf("logs of node %s:\n%s", n.dataAddr, n.logs.String())
		}
	})
	select {
	case addrs := <-ready:
		n.adminAddr, n.dataAddr = addrs[0], addrs[1]
	case <-n.exited:
		t.Fatalf("tollgate serve exited before it was ready:\n%s", n.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("tollgate serve not ready after 60s:\n%s", n.logs.String())
	}
	return n
}

// procGet calls GET path on a process node.
func procGet(client *http.Client, n *procNode, path, apiKey string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+n.dataAddr+path, nil)
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

// procWaitServes calls a process node until it answers want.
func procWaitServes(t *testing.T, client *http.Client, n *procNode, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, err := procGet(client, n, path, "")
		if err == nil && code == http.StatusOK && body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s does not serve %q at %s: %d %q %v", n.dataAddr, want, path, code, body, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procLoad calls GET /live/hello on each of nodes from two goroutines each
// until stop is closed, and returns the answers by status code (0:
// transport errors) and the first unexpected answer.
func procLoad(client *http.Client, nodes []*procNode, stop <-chan struct{}) (map[int]int64, string) {
	var mu sync.Mutex
	codes := map[int]int64{}
	first := ""
	var wg sync.WaitGroup
	for _, n := range nodes {
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					code, body, err := procGet(client, n, "/live/hello", "")
					mu.Lock()
					if err != nil {
						code = 0
						body = err.Error()
					}
					codes[code]++
					if code != http.StatusOK && first == "" {
						first = fmt.Sprintf("%s: %d %s", n.dataAddr, code, body)
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return codes, first
}

// TestFleetProcesses runs three gateway processes (the tollgate binary) on
// one PostgreSQL and one Redis, with real clients: a deploy on node A is
// served by node C; a quota is exact across the three, and an account
// throttle within 1% of rate × time + burst; node C is killed
// with SIGKILL under load while admin writes go to A: calls to A and B all
// succeed and every acknowledged write is there afterwards, read through
// B; PostgreSQL and then Redis are restarted under load: calls keep
// succeeding, admin writes fail with UNAVAILABLE only while PostgreSQL is
// down and reach the other node once it is back.
func TestFleetProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	pg := pgtest.Start(t)
	rd := redistest.Start(t)
	storeURL := pg.NewDatabase(t)
	bin := buildTollgate(t)
	nodes := []*procNode{
		startProcNode(t, bin, storeURL, rd.URL),
		startProcNode(t, bin, storeURL, rd.URL),
		startProcNode(t, bin, storeURL, rd.URL),
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	t.Cleanup(client.CloseIdleConnections)
	adminA := fleetAdmin{adminv1.NewAdminServiceClient(dialTB(t, a.adminAddr)), metadataToken(t)}
	adminB := fleetAdmin{adminv1.NewAdminServiceClient(dialTB(t, b.adminAddr)), metadataToken(t)}

	// Deploy on A, call C.
	if err := adminA.serveDeployment(adminA.deployMock(t, "v1")); err != nil {
		t.Fatal(err)
	}
	procWaitServes(t, client, c, "/live/hello", "v1")
	procWaitServes(t, client, b, "/live/hello", "v1")

	// A quota of 50 across the three processes: 150 concurrent calls admit
	// exactly 50.
	if _, err := adminA.CreateRoute(adminA.ctx, &adminv1.CreateRouteRequest{Parent: "apis/shop", RouteId: "keyed", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/keyed"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{Body: "keyed"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	key, err := adminA.CreateApiKey(adminA.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "proc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminA.CreateUsagePlan(adminA.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "proc", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/live"}},
		Quota:     &adminv1.QuotaSettings{Limit: 50, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := adminA.CreateUsagePlanKey(adminA.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/proc", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if err := adminA.serveDeployment(adminA.deployMock(t, "v2")); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		procWaitServes(t, client, n, "/live/hello", "v2")
	}
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 30 {
		wg.Go(func() {
			for i := range 5 {
				code, body, err := procGet(client, nodes[(g+i)%3], "/live/keyed", key.GetValue())
				switch {
				case err != nil:
					t.Error(err)
				case code == http.StatusOK:
					admitted.Add(1)
				case code == http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("GET /live/keyed: %d %s", code, body)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 50 || refused.Load() != 100 {
		t.Fatalf("150 calls over 3 processes against a quota of 50: %d admitted, %d refused; want 50 and 100", admitted.Load(), refused.Load())
	}

	// An account throttle across the three processes admits within 1% of
	// rate × time + burst (less under a stall of the machine: the bucket
	// fills and loses tokens, it never over-admits; the test allows 3%
	// below).
	setAccount := func(rate float64, burst int32) {
		t.Helper()
		if _, err := adminA.UpdateAccountSettings(adminA.ctx, &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
			Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: rate, BurstLimit: burst},
		}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the other nodes apply it within milliseconds (BenchmarkFleetPropagation)
	}
	const rate, burst = 200, 200
	setAccount(rate, burst)
	stop := make(chan struct{})
	start := time.Now()
	var window time.Duration
	time.AfterFunc(3*time.Second, func() { window = time.Since(start); close(stop) })
	throttled, _ := procLoad(client, nodes, stop)
	want := rate*window.Seconds() + burst
	got := float64(throttled[http.StatusOK])
	t.Logf("account throttle %d/s burst %d over 3 processes, %s: %v; want %.0f 200s (%+.2f%%)", rate, burst, window.Round(time.Millisecond), throttled, want, 100*(got-want)/want)
	if got > 1.01*want || got < 0.97*want || throttled[http.StatusTooManyRequests] == 0 {
		t.Errorf("admitted %.0f calls over 3 processes, want %.0f (+1%%, -3%%) and some throttled", got, want)
	}
	setAccount(100000, 100000)

	// kill -9 node C under load, with admin writes on A.
	stop = make(chan struct{})
	var loadCodes map[int]int64
	var firstBad string
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		loadCodes, firstBad = procLoad(client, []*procNode{a, b}, stop)
	}()
	var acked []string
	for i := range 20 {
		if i == 5 {
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		id := fmt.Sprintf("w%02d", i)
		if _, err := adminA.CreateApiKey(adminA.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: id}); err != nil {
			t.Errorf("CreateApiKey %s on A while C dies: %v", id, err)
			continue
		}
		acked = append(acked, "apiKeys/"+id)
	}
	<-c.exited
	time.Sleep(200 * time.Millisecond) // a little load after the kill, on top of the writes'
	close(stop)
	<-loadDone
	t.Logf("load on A and B while C was killed: %v", loadCodes)
	if firstBad != "" || loadCodes[http.StatusOK] == 0 {
		t.Errorf("calls to A and B failed while C was killed: %v; first: %s", loadCodes, firstBad)
	}
	for _, name := range acked {
		if _, err := adminB.GetApiKey(adminB.ctx, &adminv1.GetApiKeyRequest{Name: name}); err != nil {
			t.Errorf("acknowledged write %s not found through B: %v", name, err)
		}
	}

	// PostgreSQL restarts under load: calls keep succeeding; writes fail
	// with UNAVAILABLE while it is down, then reach the other node.
	stop = make(chan struct{})
	loadDone = make(chan struct{})
	go func() {
		defer close(loadDone)
		loadCodes, firstBad = procLoad(client, []*procNode{a, b}, stop)
	}()
	pg.Stop(t)
	_, err = adminA.CreateApiKey(adminA.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "during-outage"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("an admin write with PostgreSQL down: %v, want UNAVAILABLE", err)
	}
	pg.Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := adminA.CreateApiKey(adminA.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "after-outage"})
		if err == nil || status.Code(err) == codes.AlreadyExists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin writes still fail 30s after PostgreSQL restarted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := adminA.serveDeployment(adminA.deployMock(t, "v3")); err != nil {
		t.Fatal(err)
	}
	procWaitServes(t, client, b, "/live/hello", "v3")

	// Redis restarts under load (the account throttle puts it on every
	// call's path): calls keep succeeding.
	rd.Stop(t)
	rd.Restart(t)
	close(stop)
	<-loadDone
	t.Logf("load on A and B while PostgreSQL, then Redis, restarted: %v", loadCodes)
	if firstBad != "" {
		t.Errorf("calls failed while PostgreSQL and Redis restarted: %v; first: %s", loadCodes, firstBad)
	}
	// Traffic still flows through both engines afterwards.
	procWaitServes(t, client, a, "/live/hello", "v3")
	if code, body, err := procGet(client, b, "/live/hello", ""); err != nil || code != http.StatusOK {
		t.Fatalf("after the restarts: %d %s %v", code, body, err)
	}
}
