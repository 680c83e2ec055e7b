package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestRetiredRuntimeFreedAfterLastCall checks that a replaced stage's
// runtime stays reachable while a REST call matched on it runs, and is
// released as soon as that call ends, not after a fixed grace (issue 23).
func TestRetiredRuntimeFreedAfterLastCall(t *testing.T) {
	be := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", be.Addr()), nil))
	if got := tg.gw.RegisteredRefs(); got != 1 {
		t.Fatalf("%d references registered, want 1", got)
	}

	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(tg.url("/prod/v1/echo"), "application/json", strings.NewReader(`{"message":"sleep:500ms"}`))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for deadline := time.Now().Add(5 * time.Second); tg.gw.RESTCallsInFlight() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the call was never dispatched")
		}
	}
	// The stage is removed: its runtime is retired while the call runs.
	tg.load(t, entry("other", "prod", deployment(t, "other", "v1", be.Addr()), nil))
	if got := tg.gw.RegisteredRefs(); got != 2 {
		t.Errorf("during the call: %d references registered, want 2 (the new stage's and the running call's)", got)
	}
	if code := <-done; code != http.StatusOK {
		t.Fatalf("call across the reload: status %d, want 200", code)
	}
	if got := tg.gw.RegisteredRefs(); got != 1 {
		t.Errorf("after the call: %d references registered, want 1", got)
	}
	tg.load(t, []routing.Entry{}...)
	if got := tg.gw.RegisteredRefs(); got != 0 {
		t.Errorf("nothing served: %d references registered, want 0", got)
	}
}
