package authorizer

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// TestRetainFreesRetiredAuthorizers checks that after 50 changes of a
// custom authorizer's gRPC target, Retain leaves one authorizer and one
// connection, and the goroutines of the others' connections end (issue 23).
func TestRetainFreesRetiredAuthorizers(t *testing.T) {
	i := New(WithLinkLocalTargets(true))
	t.Cleanup(func() { _ = i.Close() })
	const stage = "apis/shop/stages/prod"
	authorizerFor := func(n int) *adminv1.Authorizer {
		return &adminv1.Authorizer{Name: "apis/shop/authorizers/a", Uid: "u", Etag: strconv.Itoa(n),
			Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
				Timeout: durationpb.New(time.Second),
				Callout: &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "127.0.0.1:" + strconv.Itoa(10000+n)}}}}}
	}
	jwt := &adminv1.Authorizer{Name: "apis/shop/authorizers/j", Uid: "j", Etag: "1", Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{}}}
	build := func(a *adminv1.Authorizer) {
		t.Helper()
		i.mu.Lock()
		defer i.mu.Unlock()
		if _, err := i.buildCustom(&callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage}}, a); err != nil {
			t.Fatal(err)
		}
	}
	baseline := runtime.NumGoroutine()
	for n := range 50 {
		build(authorizerFor(n))
		i.Retain(map[string][]*adminv1.Authorizer{stage: {authorizerFor(n), jwt}})
	}
	last := authorizerFor(49)
	i.mu.Lock()
	custom, conns := len(i.custom), len(i.conns)
	_, kept := i.custom[customKey{stage: stage, version: version(last), target: calloutTarget(last.GetCustom())}]
	i.mu.Unlock()
	if custom != 1 || conns != 1 || !kept {
		t.Errorf("after 50 target changes: %d custom authorizers, %d connections (latest kept: %v), want 1, 1", custom, conns, kept)
	}
	// One connection's goroutines may remain; the 49 others' must end.
	const slack = 8
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+slack {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, baseline %d: retired connections were not closed", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Nothing in use: nothing kept.
	i.Retain(nil)
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.custom) != 0 || len(i.conns) != 0 || len(i.jwt) != 0 {
		t.Errorf("nothing in use: %d custom, %d connections, %d verifiers kept", len(i.custom), len(i.conns), len(i.jwt))
	}
}
