package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// want checks a result's body and cache status.
func want(t *testing.T, step string, got result, body, cacheStatus string) {
	t.Helper()
	if got.code != codes.OK || got.body != body || got.cache != cacheStatus {
		t.Errorf("%s: got %v %q cache %q, want OK %q cache %q", step, got.code, got.body, got.cache, body, cacheStatus)
	}
}

func TestHitMissExpiry(t *testing.T) {
	be := &backend{}
	e := newEnv(t, be)
	want(t, "first call", e.get("a"), "a#1", "miss")
	r := e.get("a")
	want(t, "second call", r, "a#1", "hit")
	// A hit replays the backend's headers and trailers.
	if r.header.Get("x-backend")[0] != "yes" || len(r.trailer.Get("x-backend-trailer")) != 1 {
		t.Errorf("hit lost the backend's metadata: header %v trailer %v", r.header, r.trailer)
	}
	want(t, "another request", e.get("b"), "b#2", "miss")
	e.clock.Advance(59 * time.Second)
	want(t, "just before the TTL", e.get("a"), "a#1", "hit")
	e.clock.Advance(time.Second)
	want(t, "at the TTL", e.get("a"), "a#3", "miss")
	want(t, "refilled", e.get("a"), "a#3", "hit")
	if n := be.calls.Load(); n != 3 {
		t.Errorf("backend calls = %d, want 3", n)
	}

	// A route's TTL overrides the stage's.
	e.configure(func(c *callinfo.Call) {
		c.StageConfig.RouteSettings = map[string]*adminv1.RouteSettings{"get": {CacheTtlSeconds: proto.Int32(5)}}
	})
	want(t, "route TTL: first", e.get("c"), "c#4", "miss")
	e.clock.Advance(5 * time.Second)
	want(t, "route TTL: expired", e.get("c"), "c#5", "miss")
}

// TestKeyParts: each part of the key separates entries; everything else
// shares them.
func TestKeyParts(t *testing.T) {
	authorized := func(c *callinfo.Call) {
		c.Route.Authorization = &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"}
	}
	withKeyParams := func(c *callinfo.Call) {
		c.Route.CacheKeyParameters = []string{"method.request.querystring.page", "method.request.header.Accept-Language"}
	}
	rest := func(path, query string, kv ...string) []string {
		return append([]string{mdHTTPMethod, "GET", mdHTTPPath, path, mdQuery, query}, kv...)
	}
	tests := []struct {
		name        string
		setup       func(c *callinfo.Call)
		first, then []string // metadata of the two calls
		firstReq    string
		thenReq     string
		wantHit     bool
	}{
		{"same gRPC request", nil, nil, nil, "a", "a", true},
		{"gRPC request message", nil, nil, nil, "a", "b", false},
		{"named header (gRPC)", withKeyParams, []string{"accept-language", "fr"}, []string{"accept-language", "de"}, "a", "a", false},
		{"named header, same value (gRPC)", withKeyParams, []string{"accept-language", "fr"}, []string{"accept-language", "fr"}, "a", "a", true},
		{"unnamed header (gRPC)", withKeyParams, []string{"x-other", "1"}, []string{"x-other", "2"}, "a", "a", true},
		{"REST path parameter", nil, rest("/v1/books/1", ""), rest("/v1/books/2", ""), "a", "a", false},
		{"REST same path", nil, rest("/v1/books/1", ""), rest("/v1/books/1", ""), "a", "a", true},
		{"REST named query parameter", withKeyParams, rest("/v1/books", "page=1"), rest("/v1/books", "page=2"), "a", "a", false},
		{"REST named query parameter in another order", withKeyParams, rest("/v1/books", "page=1&x=1"), rest("/v1/books", "x=1&page=1"), "a", "a", true},
		{"REST unnamed query parameter", withKeyParams, rest("/v1/books", "other=1"), rest("/v1/books", "other=2"), "a", "a", true},
		{"REST named header", withKeyParams, rest("/v1/books", "", callinfo.HeaderMetadataPrefix+"accept-language", "fr"), rest("/v1/books", "", callinfo.HeaderMetadataPrefix+"accept-language", "de"), "a", "a", false},
		{"REST unnamed header", withKeyParams, rest("/v1/books", "", callinfo.HeaderMetadataPrefix+"x-other", "1"), rest("/v1/books", "", callinfo.HeaderMetadataPrefix+"x-other", "2"), "a", "a", true},
		{"REST GET body is not in the key", nil, rest("/v1/books", ""), rest("/v1/books", ""), "a", "b", true},
		{"REST and gRPC do not share", nil, nil, rest("/test.v1.Shop/Get", ""), "a", "a", false},
		{"principal", authorized, []string{mdPrincipal, "alice"}, []string{mdPrincipal, "bob"}, "a", "a", false},
		{"same principal", authorized, []string{mdPrincipal, "alice"}, []string{mdPrincipal, "alice"}, "a", "a", true},
		{"API key", func(c *callinfo.Call) { c.Route.ApiKeyRequired = true }, []string{mdAPIKey, "apiKeys/k1"}, []string{mdAPIKey, "apiKeys/k2"}, "a", "a", false},
		{"principal ignored on an open route", nil, []string{mdPrincipal, "alice"}, []string{mdPrincipal, "bob"}, "a", "a", true},
		{"shared by callers", func(c *callinfo.Call) { authorized(c); c.Route.CacheSharedByCallers = true }, []string{mdPrincipal, "alice"}, []string{mdPrincipal, "bob"}, "a", "a", true},
		{"deployment", nil, []string{mdDeployment, "apis/shop/deployments/d1"}, []string{mdDeployment, "apis/shop/deployments/d2"}, "a", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &backend{})
			if tt.setup != nil {
				e.configure(tt.setup)
			}
			first := e.get(tt.firstReq, tt.first...)
			if first.cache != "miss" {
				t.Fatalf("first call: cache %q (%v), want miss", first.cache, first.code)
			}
			then := e.get(tt.thenReq, tt.then...)
			if got := then.cache == "hit"; got != tt.wantHit {
				t.Errorf("second call: cache %q, body %q; want hit %v", then.cache, then.body, tt.wantHit)
			}
			if tt.wantHit && then.body != first.body {
				t.Errorf("hit body %q, want %q", then.body, first.body)
			}
		})
	}
}

// TestAuthorizedCallWithoutIdentity: an authorized route whose call has no
// identity is never cached, so no caller can get another's entry.
func TestAuthorizedCallWithoutIdentity(t *testing.T) {
	be := &backend{}
	e := newEnv(t, be)
	e.configure(func(c *callinfo.Call) { c.Route.ApiKeyRequired = true })
	for i := range 2 {
		if r := e.get("a"); r.cache != "" {
			t.Errorf("call %d: cache %q, want none", i, r.cache)
		}
	}
	if n := be.calls.Load(); n != 2 {
		t.Errorf("backend calls = %d, want 2", n)
	}
}

// TestNotCached lists the calls and responses that are never cached:
// each of two identical calls reaches the backend.
func TestNotCached(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(c *callinfo.Call, be *backend)
		kv     []string
		header bool // whether the calls are cacheable (carry x-tollgate-cache)
		code   codes.Code
	}{
		{"gRPC method with side effects", func(c *callinfo.Call, _ *backend) { c.NoSideEffects = false }, nil, false, codes.OK},
		{"REST POST", nil, []string{mdHTTPMethod, "POST", mdHTTPPath, "/v1/books"}, false, codes.OK},
		{"streaming method", func(c *callinfo.Call, _ *backend) { c.Unary, c.Route.CacheAllMethods = false, true }, nil, false, codes.OK},
		{"stage cache disabled", func(c *callinfo.Call, _ *backend) { c.StageConfig.Cache.Enabled = false }, nil, false, codes.OK},
		{"stage TTL 0", func(c *callinfo.Call, _ *backend) { c.StageConfig.Cache.TtlSeconds = proto.Int32(0) }, nil, false, codes.OK},
		{"route caching off", func(c *callinfo.Call, _ *backend) {
			c.StageConfig.RouteSettings = map[string]*adminv1.RouteSettings{"get": {CachingEnabled: proto.Bool(false)}}
		}, nil, false, codes.OK},
		{"error response", func(_ *callinfo.Call, be *backend) { be.code.Store(int32(codes.NotFound)) }, nil, true, codes.NotFound},
		{"oversize response", func(_ *callinfo.Call, be *backend) { be.pad = 2000 }, nil, true, codes.OK},
		{"no-store", func(_ *callinfo.Call, be *backend) { be.header = metadata.Pairs("cache-control", "no-store") }, nil, true, codes.OK},
		{"private", func(_ *callinfo.Call, be *backend) {
			be.header = metadata.Pairs("cache-control", "max-age=60, private")
		}, nil, true, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{}
			e := newEnv(t, be)
			if tt.setup != nil {
				e.configure(func(c *callinfo.Call) { tt.setup(c, be) })
			}
			for i := range 2 {
				r := e.get("a", tt.kv...)
				if r.code != tt.code {
					t.Fatalf("call %d: %v, want %v", i, r.code, tt.code)
				}
				wantHeader := ""
				if tt.header && r.code == codes.OK {
					wantHeader = "miss"
				}
				if r.code == codes.OK && r.cache != wantHeader {
					t.Errorf("call %d: cache %q, want %q", i, r.cache, wantHeader)
				}
			}
			if n := be.calls.Load(); n != 2 {
				t.Errorf("backend calls = %d, want 2", n)
			}
		})
	}
}

// TestOptIn: a route that opts in caches methods that are not reads.
func TestOptIn(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
	}{
		{"gRPC method with side effects", nil},
		{"REST POST", []string{mdHTTPMethod, "POST", mdHTTPPath, "/v1/books"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{}
			e := newEnv(t, be)
			e.configure(func(c *callinfo.Call) { c.NoSideEffects, c.Route.CacheAllMethods = false, true })
			want(t, "first", e.get("a", tt.kv...), "a#1", "miss")
			want(t, "second", e.get("a", tt.kv...), "a#1", "hit")
			// With a body, the body is part of the key.
			want(t, "other body", e.get("b", tt.kv...), "b#2", "miss")
		})
	}
}

// TestCacheControl: max-age=0 refreshes for permitted callers; the others
// are ignored, ignored with a header, or refused, by the stage's strategy.
func TestCacheControl(t *testing.T) {
	refresh := []string{"cache-control", "max-age=0"}
	tests := []struct {
		name        string
		strategy    adminv1.CacheSettings_UnauthorizedCacheControl
		require     bool
		kv          []string
		wantBody    string
		wantCache   string
		wantIgnored string
		wantCode    codes.Code
	}{
		{"not required: anyone refreshes", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403, false, refresh, "a#2", "miss", "", codes.OK},
		{"authorizer permission refreshes", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403, true, append([]string{mdInvalidate, "yes"}, refresh...), "a#2", "miss", "", codes.OK},
		{"no-cache refreshes too", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE, true, []string{mdInvalidate, "yes", "cache-control", "no-cache"}, "a#2", "miss", "", codes.OK},
		{"admin token refreshes", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403, true, append([]string{cache.AdminTokenHeader, "secret"}, refresh...), "a#2", "miss", "", codes.OK},
		{"wrong admin token is ignored", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE, true, append([]string{cache.AdminTokenHeader, "guess"}, refresh...), "a#1", "hit", "", codes.OK},
		{"unauthorized: ignore", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE, true, refresh, "a#1", "hit", "", codes.OK},
		{"unauthorized: unspecified ignores", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_UNSPECIFIED, true, refresh, "a#1", "hit", "", codes.OK},
		{"unauthorized: ignore with header", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE_WITH_HEADER, true, refresh, "a#1", "hit", "ignored", codes.OK},
		{"unauthorized: 403", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403, true, refresh, "", "", "", codes.PermissionDenied},
		{"max-age above 0 is no refresh", adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403, true, []string{"cache-control", "max-age=10"}, "a#1", "hit", "", codes.OK},
	}
	admin := cache.WithAdminPermission(func(ctx context.Context, _ *callinfo.Call) bool {
		md, _ := metadata.FromIncomingContext(ctx)
		vs := md.Get(cache.AdminTokenHeader)
		return len(vs) == 1 && vs[0] == "secret"
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{}
			e := newEnv(t, be, admin)
			e.configure(func(c *callinfo.Call) {
				c.StageConfig.Cache.UnauthorizedCacheControl = tt.strategy
				c.StageConfig.Cache.RequireAuthorizationForCacheControl = tt.require
			})
			want(t, "fill", e.get("a"), "a#1", "miss")
			r := e.get("a", tt.kv...)
			if r.code != tt.wantCode || r.body != tt.wantBody || r.cache != tt.wantCache || r.ignored != tt.wantIgnored {
				t.Errorf("got %v %q cache %q ignored %q, want %v %q cache %q ignored %q",
					r.code, r.body, r.cache, r.ignored, tt.wantCode, tt.wantBody, tt.wantCache, tt.wantIgnored)
			}
			// A refresh replaced the entry; anything else left it.
			after := tt.wantBody
			if after == "" {
				after = "a#1"
			}
			want(t, "after", e.get("a"), after, "hit")
		})
	}
}

// TestForbiddenCacheControlDetails: the 403 says why, in an ErrorInfo.
func TestForbiddenCacheControlDetails(t *testing.T) {
	e := newEnv(t, &backend{})
	e.configure(func(c *callinfo.Call) {
		c.StageConfig.Cache.RequireAuthorizationForCacheControl = true
		c.StageConfig.Cache.UnauthorizedCacheControl = adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403
	})
	ctx := metadata.AppendToOutgoingContext(t.Context(), "cache-control", "max-age=0")
	err := e.conn.Invoke(ctx, "/test.v1.Shop/Get", wrapString("a"), wrapString(""))
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied {
		t.Fatalf("code %v, want PERMISSION_DENIED", st.Code())
	}
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if reason != cache.ReasonCacheControlForbidden {
		t.Errorf("ErrorInfo reason %q, want %q", reason, cache.ReasonCacheControlForbidden)
	}
}

func TestFlushAndRetain(t *testing.T) {
	const stage, d1, d2 = "apis/shop/stages/prod", "apis/shop/deployments/d1", "apis/shop/deployments/d2"
	be := &backend{}
	e := newEnv(t, be)
	want(t, "fill", e.get("a"), "a#1", "miss")
	want(t, "hit", e.get("a"), "a#1", "hit")
	if !e.cache.Flush(stage) {
		t.Error("Flush reported no cache for the stage")
	}
	want(t, "after flush", e.get("a"), "a#2", "miss")
	want(t, "refilled", e.get("a"), "a#2", "hit")
	if e.cache.Flush("apis/shop/stages/other") {
		t.Error("Flush of a stage without a cache reported one")
	}

	// The stage gets deployment d2: its calls start from an empty cache,
	// and d1's cache is dropped, so going back to d1 starts empty too.
	e.cache.Retain(map[string][]string{stage: {d2}})
	want(t, "d2 first", e.get("a", mdDeployment, d2), "a#3", "miss")
	want(t, "d2 hit", e.get("a", mdDeployment, d2), "a#3", "hit")
	e.cache.Retain(map[string][]string{stage: {d1}})
	want(t, "back to d1", e.get("a", mdDeployment, d1), "a#4", "miss")
	// The live deployment keeps its entries.
	e.cache.Retain(map[string][]string{stage: {d1}})
	want(t, "d1 kept", e.get("a", mdDeployment, d1), "a#4", "hit")
	// A call still running on a replaced deployment is served, not cached:
	// it cannot bring the dropped cache back.
	for i := range 2 {
		if r := e.get("a", mdDeployment, d2); r.code != codes.OK || r.cache != "" {
			t.Errorf("call %d on the replaced deployment: %v cache %q, want OK without a cache", i, r.code, r.cache)
		}
	}
	e.cache.Retain(map[string][]string{stage: {d1, d2}})
	want(t, "d2 live again, from empty", e.get("a", mdDeployment, d2), "a#7", "miss")
}

// TestConcurrentMisses: 1,000 concurrent identical misses reach the
// backend once, and all get its answer.
func TestConcurrentMisses(t *testing.T) {
	be := &backend{delay: 200 * time.Millisecond}
	e := newEnv(t, be)
	const n = 1000
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Go(func() { results[i] = e.get("a") })
	}
	wg.Wait()
	if got := be.calls.Load(); got != 1 {
		t.Errorf("backend calls = %d, want 1", got)
	}
	for i, r := range results {
		if r.code != codes.OK || r.body != "a#1" || (r.cache != "miss" && r.cache != "hit") {
			t.Fatalf("call %d: %v %q cache %q", i, r.code, r.body, r.cache)
		}
	}
}

// TestConcurrentMissesShareErrors: concurrent misses whose shared backend
// call fails all get its error, and the next call tries again.
func TestConcurrentMissesShareErrors(t *testing.T) {
	be := &backend{delay: 100 * time.Millisecond}
	be.code.Store(int32(codes.Unavailable))
	e := newEnv(t, be)
	var wg sync.WaitGroup
	errs := make([]codes.Code, 50)
	for i := range errs {
		wg.Go(func() { errs[i] = e.get("a").code })
	}
	wg.Wait()
	for i, c := range errs {
		if c != codes.Unavailable {
			t.Fatalf("call %d: %v, want UNAVAILABLE", i, c)
		}
	}
	calls := be.calls.Load()
	if calls >= 50 {
		t.Errorf("backend calls = %d: concurrent misses were not collapsed", calls)
	}
	be.code.Store(int32(codes.OK))
	if r := e.get("a"); r.code != codes.OK || r.cache != "miss" {
		t.Errorf("after the error: %v cache %q, want a fresh miss", r.code, r.cache)
	}
}

// TestCallerGivesUp: a waiting call whose client gives up ends at once;
// the shared backend call goes on for the others.
func TestCallerGivesUp(t *testing.T) {
	be := &backend{delay: 300 * time.Millisecond}
	e := newEnv(t, be)
	done := make(chan result)
	go func() { done <- e.get("a") }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := e.conn.Invoke(ctx, "/test.v1.Shop/Get", wrapString("a"), wrapString(""))
	if status.Code(err) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting call: %v, want DEADLINE_EXCEEDED", err)
	}
	want(t, "leading call", <-done, "a#1", "miss")
}

// wrapString returns a request or response message.
func wrapString(s string) *wrapperspb.StringValue { return wrapperspb.String(s) }

// TestFlushDuringBackendCall: a backend call that started before a flush
// does not fill the flushed cache.
func TestFlushDuringBackendCall(t *testing.T) {
	be := &backend{gate: make(chan struct{})}
	e := newEnv(t, be)
	done := make(chan result)
	go func() { done <- e.get("a") }()
	for be.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	e.cache.Flush("apis/shop/stages/prod")
	close(be.gate)
	want(t, "the call in flight", <-done, "a#1", "miss")
	want(t, "after it", e.get("a"), "a#2", "miss")
	want(t, "then", e.get("a"), "a#2", "hit")
}

// TestRetainStages checks that RetainStages applies a change to the named
// stages only: the other stages keep their caches and their deployments.
func TestRetainStages(t *testing.T) {
	const stage, other, d1, d2 = "apis/shop/stages/prod", "apis/shop/stages/beta", "apis/shop/deployments/d1", "apis/shop/deployments/d2"
	be := &backend{}
	e := newEnv(t, be)
	e.cache.Retain(map[string][]string{stage: {d1}, other: {d1}})
	want(t, "fill", e.get("a", mdDeployment, d1), "a#1", "miss")
	want(t, "hit", e.get("a", mdDeployment, d1), "a#1", "hit")
	// Another stage changes: this one keeps its entries.
	e.cache.RetainStages(map[string][]string{other: {d2}})
	want(t, "kept", e.get("a", mdDeployment, d1), "a#1", "hit")
	// This stage moves to d2: from empty, and d1 is no longer cached.
	e.cache.RetainStages(map[string][]string{stage: {d2}})
	want(t, "d2 first", e.get("a", mdDeployment, d2), "a#2", "miss")
	want(t, "d2 hit", e.get("a", mdDeployment, d2), "a#2", "hit")
	if r := e.get("a", mdDeployment, d1); r.code != codes.OK || r.cache != "" {
		t.Errorf("call on the replaced deployment: %v cache %q, want OK without a cache", r.code, r.cache)
	}
	// The stage is no longer served: its caches are dropped.
	e.cache.RetainStages(map[string][]string{stage: nil})
	if e.cache.Flush(stage) {
		t.Error("a stage no longer served still has a cache")
	}
}
