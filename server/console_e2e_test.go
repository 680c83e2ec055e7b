package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// chromiumHint says how to get the browser the console test drives.
const chromiumHint = "the web console test needs Chromium: apt-get install -y chromium"

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	ctx       context.Context
	shotsDir  string
	mu        sync.Mutex
	jsErrors  []string // uncaught exceptions and console errors (CSP violations among them)
	shotCount int
}

// startBrowser starts headless Chromium with a fresh profile, closed with
// the test. Without Chromium it skips t, or fails it when CI=true.
// Screenshots go to $TOLLGATE_TEST_ARTIFACTS/<test> when that is set, else
// to a temporary folder.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(chromiumHint + " (CI=true: the console test must run)")
		}
		t.Skip(chromiumHint)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })

	b := &browser{ctx: ctx, shotsDir: t.TempDir()}
	if dir := os.Getenv("TOLLGATE_TEST_ARTIFACTS"); dir != "" {
		b.shotsDir = filepath.Join(dir, t.Name())
		if err := os.MkdirAll(b.shotsDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The first action starts the browser; it must run without a timeout,
	// which would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.jsErrors = append(b.jsErrors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// run runs browser actions, each within 20 s, failing t (with a
// screenshot) if one fails.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value, within 20 s.
func value[T any](t *testing.T, b *browser, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the viewport as a numbered PNG.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shotCount++
	file := filepath.Join(b.shotsDir, fmt.Sprintf("%02d-%s.png", b.shotCount, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
		return err
	})
}

// TestConsole drives the web console in headless Chromium against a real
// gateway: sign-in (a refused token, then the admin token), an API's
// stages, a deploy and a roll back, creating an API key whose value is
// shown once, its usage chart after calls through the data plane, the
// stage's live metrics, disabling the key, and signing out.
func TestConsole(t *testing.T) {
	b := startBrowser(t)
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())

	// A keyed route, not deployed yet, and a usage plan for the demo stage.
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "teapot", Route: &adminv1.Route{
		Match:          &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/teapot"}},
		Integration:    &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 200, Body: "tea"}}},
		ApiKeyRequired: true,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUsagePlan(ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
		Quota:     &adminv1.QuotaSettings{Limit: 1000, Period: adminv1.QuotaSettings_PERIOD_MONTH},
	}}); err != nil {
		t.Fatal(err)
	}
	stageDeployment := func() string {
		t.Helper()
		st, err := admin.GetStage(ctx, &adminv1.GetStageRequest{Name: "apis/bookstore/stages/demo"})
		if err != nil {
			t.Fatal(err)
		}
		return st.GetDeployment()
	}
	original := stageDeployment()
	teapot := func(key string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+"/demo/teapot", nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		return doHTTPReq(t, req)
	}

	// Sign in: a wrong token is refused, the admin token lists the APIs.
	b.run(t, "sign in with a wrong token",
		chromedp.Navigate("http://"+ts.AdminAddr()+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.ID("sign-in-button")),
		chromedp.WaitVisible(chromedp.CSS("#message.error")),
	)
	msg := value(t, b, "message", chromedp.Text(chromedp.ID("message")))
	if !strings.Contains(msg, "refused") {
		t.Errorf("message after a wrong token: %q", msg)
	}
	b.run(t, "sign in",
		chromedp.SendKeys(chromedp.ID("token"), ts.AdminToken()),
		chromedp.Click(chromedp.ID("sign-in-button")),
		chromedp.WaitVisible(chromedp.CSS(`a.api-link[href="#/apis/bookstore"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.api-link[href="#/apis/chat"]`)),
	)
	b.screenshot(t, "apis")

	// Deploy: a new deployment, served by the stage; the keyed route is live.
	b.run(t, "deploy",
		chromedp.Click(chromedp.CSS(`a.api-link[href="#/apis/bookstore"]`)),
		chromedp.WaitVisible(chromedp.ID("deploy-demo")),
		chromedp.Click(chromedp.ID("deploy-demo")),
		waitJS(`document.getElementById("message").textContent.includes("now serves")`),
	)
	msg = value(t, b, "message", chromedp.Text(chromedp.ID("message")))
	deployed := stageDeployment()
	if deployed == original || !strings.Contains(msg, deployed) {
		t.Fatalf("after deploying: stage serves %s (was %s); the console said %q", deployed, original, msg)
	}
	if code := teapot(""); code != http.StatusForbidden {
		t.Errorf("the deployed keyed route without a key: %d, want 403", code)
	}
	b.screenshot(t, "deployed")

	// Roll back to the original deployment, then deploy again.
	b.run(t, "roll back",
		chromedp.SetValue(chromedp.ID("rollback-select-demo"), original),
		chromedp.Click(chromedp.ID("rollback-demo")),
		waitJS(`document.getElementById("message").textContent.includes("rolled back")`),
	)
	if got := stageDeployment(); got != original {
		t.Fatalf("after rolling back the stage serves %s, want %s", got, original)
	}
	b.run(t, "deploy again",
		chromedp.Click(chromedp.ID("deploy-demo")),
		waitJS(`document.getElementById("message").textContent.includes("now serves")`),
	)

	// Create an API key: its value is shown once.
	b.run(t, "create a key",
		chromedp.Click(chromedp.ID("nav-keys")),
		chromedp.WaitVisible(chromedp.ID("create-key-form")),
		chromedp.SendKeys(chromedp.ID("key-id"), "console-key"),
		chromedp.SendKeys(chromedp.ID("key-display-name"), "Made in the console"),
		chromedp.Click(chromedp.ID("create-key")),
		chromedp.WaitVisible(chromedp.ID("key-value")),
	)
	keyValue := value(t, b, "key value", chromedp.Text(chromedp.ID("key-value")))
	b.screenshot(t, "key-created")
	if len(keyValue) < 20 {
		t.Fatalf("key value shown: %q", keyValue)
	}
	key, err := admin.GetApiKey(ctx, &adminv1.GetApiKeyRequest{Name: "apiKeys/console-key"})
	if err != nil || key.GetDisplayName() != "Made in the console" || key.GetValue() != "" {
		t.Fatalf("the key as stored: %v, %v (a Get must not return its value)", key, err)
	}

	// Calls with the key, counted in the plan's usage chart.
	if _, err := admin.CreateUsagePlanKey(ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/gold",
		UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: "apiKeys/console-key"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code := teapot(keyValue); code != http.StatusOK {
			t.Fatalf("a call with the key: %d", code)
		}
	}
	b.run(t, "usage chart",
		chromedp.Click(chromedp.ID("nav-plans")),
		chromedp.WaitVisible(chromedp.CSS(`a.plan-link[href="#/plans/gold"]`)),
		chromedp.Click(chromedp.CSS(`a.plan-link[href="#/plans/gold"]`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.usage-chart[data-key="apiKeys/console-key"]`)),
	)
	total := value(t, b, "calls in the chart", chromedp.Evaluate[int](`[...document.querySelectorAll('svg.usage-chart[data-key="apiKeys/console-key"] rect.bar')]
		.reduce((n, r) => n + Number(r.dataset.calls), 0)`))
	b.screenshot(t, "usage-chart")
	if total != 3 {
		t.Errorf("the usage chart shows %d calls, want 3", total)
	}
	bars := value(t, b, "bars", chromedp.Evaluate[int](`document.querySelectorAll('svg.usage-chart[data-key="apiKeys/console-key"] rect.bar').length`))
	if bars != 14 {
		t.Errorf("the chart has %d bars, want one per day for 14 days", bars)
	}

	// The stage's live metrics count the keyed route's calls: the refused
	// one and the three with the key.
	b.run(t, "live metrics",
		chromedp.Click(chromedp.ID("nav-apis")),
		chromedp.WaitVisible(chromedp.CSS(`a.api-link[href="#/apis/bookstore"]`)),
		chromedp.Click(chromedp.CSS(`a.api-link[href="#/apis/bookstore"]`)),
		waitJS(`Number(document.querySelector('#metrics-demo tr[data-route="teapot"] .calls')?.textContent) >= 4`),
	)
	b.screenshot(t, "live-metrics")

	// Disable the key: the data plane refuses it.
	b.run(t, "disable the key",
		chromedp.Click(chromedp.ID("nav-keys")),
		chromedp.WaitVisible(chromedp.ID("toggle-console-key")),
		chromedp.Click(chromedp.ID("toggle-console-key")),
		waitJS(`document.querySelector('tr[data-key="apiKeys/console-key"] .state')?.textContent === "disabled"`),
	)
	// Key changes reach the data plane within moments, not at once.
	for disabledAt := time.Now(); teapot(keyValue) != http.StatusForbidden; time.Sleep(50 * time.Millisecond) {
		if time.Since(disabledAt) > 15*time.Second {
			t.Fatal("the key disabled in the console was still accepted after 15 s")
		}
	}

	// Sign out: the token is forgotten.
	b.run(t, "sign out",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("token")),
	)
	stored := value(t, b, "stored token", chromedp.Evaluate[string](`sessionStorage.getItem("tollgate.adminToken") || ""`))
	if stored != "" {
		t.Error("the token is still in sessionStorage after signing out")
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.jsErrors {
		// The wrong token's 401 is logged by the browser as a failed fetch.
		if strings.Contains(e, "401") {
			continue
		}
		t.Errorf("browser error: %s", e)
	}
}

// doHTTPReq sends req and returns its status, discarding the body.
func doHTTPReq(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
