package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// One of three targets is killed under load: with retries, no unary call
// fails (issue 17).
func TestRetriesHideKilledTarget(t *testing.T) {
	bs := []*countedBackend{startCounted(t), startCounted(t), startCounted(t)}
	var targets []*adminv1.Target
	for _, b := range bs {
		targets = append(targets, &adminv1.Target{Address: b.Addr()})
	}
	route := grpcTargets(targets, nil)
	route.GetIntegration().GetGrpc().OutlierDetection = &adminv1.OutlierDetection{BaseEjectionTime: durationpb.New(time.Minute)}
	// A budget of every call: with few calls so far, the default (20%,
	// at least 3 per 10 s) would rightly refuse some of the retries that
	// calls in flight to the killed target need (TestProxyRetryBudget
	// tests the default).
	route.RetryPolicy = &adminv1.RetryPolicy{Attempts: 3, BudgetPercent: 100}
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", "127.0.0.1:1", route), nil))
	echo := examplev1.NewEchoServiceClient(tg.grpcConn(t))

	var calls, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if _, err := echo.Echo(ctx(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
					failures.Add(1)
					t.Logf("call failed: %v", err)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	t.Logf("%d calls before the kill", calls.Load())
	bs[1].Stop()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d calls failed", f, calls.Load())
	}
	t.Logf("%d calls", calls.Load())
}

// Plain HTTP calls with an idempotent method are retried on another target
// after a 503; other methods are not.
func TestHTTPRetries(t *testing.T) {
	var badHits, goodHits atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(bad.Close)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodHits.Add(1)
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	t.Cleanup(good.Close)
	tg := startGateway(t)
	d := deployment(t, "files", "v1", "127.0.0.1:1", &adminv1.Route{
		Name:  "apis/files/routes/items",
		Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "*", Path: "/items"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{
			Uri: "http://api.example",
			Targets: []*adminv1.Target{
				{Address: strings.TrimPrefix(bad.URL, "http://")}, {Address: strings.TrimPrefix(good.URL, "http://")},
			},
		}}},
		RetryPolicy: &adminv1.RetryPolicy{Attempts: 2, BudgetPercent: 100},
	})
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, nil))
	do := func(method string) (int, string) {
		req, _ := http.NewRequest(method, tg.url("/prod/items"), strings.NewReader("payload"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range 20 {
		if code, body := do(http.MethodPut); code != http.StatusOK || body != "payload" {
			t.Fatalf("PUT: %d %q, want 200 with the body sent again", code, body)
		}
	}
	if badHits.Load() == 0 {
		t.Error("the failing target was never tried")
	}
	failedPosts := 0
	for range 20 {
		if code, _ := do(http.MethodPost); code != http.StatusOK {
			failedPosts++
		}
	}
	if failedPosts == 0 {
		t.Error("POST calls were retried")
	}
}
