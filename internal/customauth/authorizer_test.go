package customauth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"
)

func TestDecideSendsProto(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
	a := customauth.New(caller)
	req := requestRequest("Bearer abc", "t1", "shop/prod/GET/v1/pets/1")
	d := decide(t, a, req)
	if !d.Allowed || d.PrincipalID != "user-1" || d.FromCache {
		t.Errorf("Decide = %+v, want allowed for user-1, not from cache", d)
	}
	if diff := cmp.Diff(req.Proto, fake.lastRequest(), protocmp.Transform()); diff != "" {
		t.Errorf("authorizer received (-want +got):\n%s", diff)
	}
}

// TestDecideCacheKey checks that every part of the key tells identities
// apart: each variant of the base request is a miss after the base was
// cached, and the base itself stays a hit.
func TestDecideCacheKey(t *testing.T) {
	base := func() customauth.Request { return requestRequest("Bearer abc", "t1", "shop/prod/GET/v1/pets/1") }
	tests := []struct {
		name   string
		change func(*customauth.Request)
	}{
		{"same token, other second source value", func(r *customauth.Request) { r.IdentityValues[1] = "t2" }},
		{"other token", func(r *customauth.Request) { r.IdentityValues[0] = "Bearer abd" }},
		{"other source name", func(r *customauth.Request) { r.IdentitySources[1] = "$request.querystring.tenant" }},
		{"token alone", func(r *customauth.Request) {
			r.IdentitySources, r.IdentityValues = r.IdentitySources[:1], r.IdentityValues[:1]
		}},
		{"other generation", func(r *customauth.Request) { r.Generation = "deployments/d2;etag=1" }},
		{"other authorizer", func(r *customauth.Request) { r.AuthorizerName = "apis/shop/authorizers/admins" }},
		{"other stage", func(r *customauth.Request) { r.Stage = "apis/shop/stages/prod2" }},
		{"other resolved target", func(r *customauth.Request) { r.Target = "grpc:plain:authz-2:9000" }},
		{"other type", func(r *customauth.Request) {
			r.Type = datav1.AuthorizeRequest_TYPE_TOKEN
			r.Proto.Type = datav1.AuthorizeRequest_TYPE_TOKEN
		}},
		{"value moved between sources", func(r *customauth.Request) {
			// ("Bearer abc", "t1") against ("Bearer ab", "ct1"): a naive
			// concatenation would not tell them apart.
			r.IdentityValues = []string{"Bearer ab", "ct1"}
		}},
		{"separator in a value", func(r *customauth.Request) {
			r.IdentityValues = []string{"Bearer abc\x00$request.header.X-Tenant\x00t1", ""}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
			a := customauth.New(caller)
			decide(t, a, base())
			req := base()
			tt.change(&req)
			if d := decide(t, a, req); d.FromCache {
				t.Errorf("variant: FromCache = true, want a callout")
			}
			if d := decide(t, a, base()); !d.FromCache {
				t.Errorf("base again: FromCache = false, want a hit")
			}
			if got := fake.calls.Load(); got != 2 {
				t.Errorf("callouts = %d, want 2", got)
			}
		})
	}
}

func TestDecideTTL(t *testing.T) {
	clock := newFakeClock()
	fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
	a := customauth.New(caller, customauth.WithTTL(time.Minute), customauth.WithClock(clock.Now))
	req := tokenRequest("tok", "shop/prod/GET/v1/pets")

	steps := []struct {
		advance   time.Duration
		fromCache bool
		calls     int64
	}{
		{0, false, 1},
		{time.Minute - time.Nanosecond, true, 1}, // last instant of the TTL
		{time.Nanosecond, false, 2},              // expired: calls out and caches anew
		{30 * time.Second, true, 2},
		{30 * time.Second, false, 3},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		d := decide(t, a, req)
		if d.FromCache != s.fromCache || !d.Allowed {
			t.Errorf("step %d: Decide = %+v, want allowed with FromCache %v", i, d, s.fromCache)
		}
		if got := fake.calls.Load(); got != s.calls {
			t.Errorf("step %d: callouts = %d, want %d", i, got, s.calls)
		}
	}
}

func TestDecideTTLZero(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
		a := customauth.New(caller, customauth.WithTTL(ttl))
		for range 3 {
			if d := decide(t, a, tokenRequest("tok", "shop/prod/GET/v1/pets")); d.FromCache || !d.Allowed {
				t.Errorf("TTL %v: Decide = %+v, want allowed, not from cache", ttl, d)
			}
		}
		if got := fake.calls.Load(); got != 3 {
			t.Errorf("TTL %v: callouts = %d, want 3", ttl, got)
		}
	}
}

// TestDecideNoIdentitySources checks that a request without identity sources,
// whose key would be the same for every caller, is never cached.
func TestDecideNoIdentitySources(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
	a := customauth.New(caller)
	req := requestRequest("", "", "shop/prod/GET/v1/pets")
	req.IdentitySources, req.IdentityValues = nil, nil
	decide(t, a, req)
	if d := decide(t, a, req); d.FromCache {
		t.Errorf("Decide = %+v, want no cache", d)
	}
	if got := fake.calls.Load(); got != 2 {
		t.Errorf("callouts = %d, want 2", got)
	}
}

// TestDecideCachedPolicyPerResource checks that what is cached is the
// policy, evaluated for every call, not the first call's yes or no.
func TestDecideCachedPolicyPerResource(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "shop/prod/GET/pets")))
	a := customauth.New(caller)
	tests := []struct {
		resource  string
		allowed   bool
		fromCache bool
	}{
		{"shop/prod/GET/pets", true, false},
		{"shop/prod/DELETE/pets/1", false, true},
		{"shop/prod/GET/pets", true, true},
		{"shop/prod/GET/pets/1", false, true},
	}
	for _, tt := range tests {
		d := decide(t, a, tokenRequest("tok", tt.resource))
		if d.Allowed != tt.allowed || d.FromCache != tt.fromCache {
			t.Errorf("Decide(%q) = %+v, want Allowed %v FromCache %v", tt.resource, d, tt.allowed, tt.fromCache)
		}
	}
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("callouts = %d, want 1", got)
	}
}

func TestDecideDenyCached(t *testing.T) {
	for name, resp := range map[string]*datav1.AuthorizeResponse{
		"explicit deny": deny("*"),
		"empty policy":  {PrincipalId: "user-1"},
	} {
		t.Run(name, func(t *testing.T) {
			fake, caller := startGRPC(t, respondWith(resp))
			a := customauth.New(caller)
			for i, fromCache := range []bool{false, true, true} {
				d := decide(t, a, tokenRequest("tok", "shop/prod/GET/pets"))
				if d.Allowed || d.FromCache != fromCache || d.Context != nil || d.UsageIdentifierKey != "" {
					t.Errorf("call %d: Decide = %+v, want denied with FromCache %v", i, d, fromCache)
				}
			}
			if got := fake.calls.Load(); got != 1 {
				t.Errorf("callouts = %d, want 1", got)
			}
		})
	}
}

// TestDecideConcurrentMisses checks that 1,000 concurrent calls with one new
// token make exactly one callout.
func TestDecideConcurrentMisses(t *testing.T) {
	const n = 1000
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fake, caller := startGRPC(t, func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		once.Do(func() { close(entered) })
		<-release
		return allow("user-1", "shop/prod/GET/*"), nil
	})
	a := customauth.New(caller)

	var started, done sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for i := range n {
		done.Go(func() {
			resource := "shop/prod/GET/v1/pets"
			if i%2 == 1 {
				resource = "shop/prod/DELETE/v1/pets" // same identity, another call
			}
			started.Done()
			d, err := a.Decide(t.Context(), tokenRequest("new-token", resource))
			switch {
			case err != nil:
				errs <- err
			case d.Allowed != (i%2 == 0):
				errs <- errors.New("wrong decision for " + resource)
			}
		})
	}
	started.Wait()
	<-entered
	// Give the last goroutines time to join the callout; any that arrive
	// later hit the cache, which also makes no callout.
	time.Sleep(50 * time.Millisecond)
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("callouts = %d, want 1", got)
	}
}

// TestDecideWaiterGivesUp checks that a call whose context ends stops
// waiting, while the callout goes on and fills the cache.
func TestDecideWaiterGivesUp(t *testing.T) {
	release := make(chan struct{})
	fake, caller := startGRPC(t, func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		<-release
		return allow("user-1", "*"), nil
	})
	a := customauth.New(caller)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := a.Decide(ctx, tokenRequest("tok", "shop/prod/GET/x"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, customauth.ErrAuthorizerFailed) {
		t.Fatalf("Decide error = %v, want context.Canceled only", err)
	}
	close(release)
	// The callout completes in the background; poll for its cache entry.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := decide(t, a, tokenRequest("tok", "shop/prod/GET/x"))
		if d.FromCache {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned callout never filled the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("callouts = %d, want 1", got)
	}
}

// TestDecideFailuresNotCached checks every kind of callout failure: an
// error wrapping ErrAuthorizerFailed, and the next call calls out again.
func TestDecideFailuresNotCached(t *testing.T) {
	unreachable := func(t *testing.T) string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		_ = lis.Close()
		return addr
	}
	slow := func(ctx context.Context, _ *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Minute): // only reached if the timeout is not applied
			return allow("user-1", "*"), nil
		}
	}
	tests := []struct {
		name        string
		respond     respondFunc // nil: the authorizer is unreachable
		wantTimeout bool
	}{
		{name: "unreachable"},
		{name: "error status", respond: func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
			return nil, status.Error(codes.Internal, "database down")
		}},
		{name: "permission denied status", respond: func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
			return nil, status.Error(codes.PermissionDenied, "no")
		}},
		{name: "slower than the timeout", respond: slow, wantTimeout: true},
		{name: "unknown effect", respond: respondWith(&datav1.AuthorizeResponse{
			PrincipalId: "user-1",
			Policy:      []*datav1.Statement{{Effect: datav1.Effect(3), Resources: []string{"*"}}},
		})},
		{name: "allow without principal", respond: respondWith(allow("", "*"))},
		{name: "statement without resources", respond: respondWith(&datav1.AuthorizeResponse{
			PrincipalId: "user-1",
			Policy:      []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW}},
		})},
		{name: "response larger than MaxResponseBytes", respond: respondWith(&datav1.AuthorizeResponse{
			PrincipalId: "user-1",
			Policy:      []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{strings.Repeat("x", customauth.MaxResponseBytes)}}},
		})},
		{name: "more than MaxContextEntries", respond: func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
			r := allow("user-1", "*")
			r.Context = map[string]string{}
			for i := range customauth.MaxContextEntries + 1 {
				r.Context["k"+strconv.Itoa(i)] = "v"
			}
			return r, nil
		}},
		{name: "context larger than MaxContextBytes", respond: func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
			r := allow("user-1", "*")
			r.Context = map[string]string{"k": strings.Repeat("v", customauth.MaxContextBytes)}
			return r, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var caller customauth.Caller
			if tt.respond == nil {
				caller = dial(t, unreachable(t))
			} else {
				_, caller = startGRPC(t, tt.respond)
			}
			counting := &countingCaller{next: caller}
			var logs bytes.Buffer
			// Only the slow case needs a short timeout; the others get a long
			// one so that a loaded machine cannot turn their failure into a
			// timeout.
			timeout := time.Minute
			if tt.wantTimeout {
				timeout = 100 * time.Millisecond
			}
			a := customauth.New(counting,
				customauth.WithTimeout(timeout),
				customauth.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			for i := range 2 {
				d, err := a.Decide(t.Context(), tokenRequest("secret-token", "shop/prod/GET/x"))
				if !errors.Is(err, customauth.ErrAuthorizerFailed) {
					t.Fatalf("call %d: Decide = %+v, %v; want ErrAuthorizerFailed", i, d, err)
				}
				if got := errors.Is(err, customauth.ErrAuthorizerTimeout); got != tt.wantTimeout {
					t.Errorf("call %d: errors.Is(%v, ErrAuthorizerTimeout) = %v, want %v", i, err, got, tt.wantTimeout)
				}
			}
			if got := counting.calls.Load(); got != 2 {
				t.Errorf("callouts = %d, want 2 (failures are not cached)", got)
			}
			if !strings.Contains(logs.String(), "custom authorizer callout failed") {
				t.Errorf("log = %q, want the failure logged", logs.String())
			}
			if strings.Contains(logs.String(), "secret-token") {
				t.Errorf("log = %q, leaks the token", logs.String())
			}
		})
	}
}

// TestDecideRecovers checks that a failure is not remembered once the
// authorizer is back.
func TestDecideRecovers(t *testing.T) {
	fake, caller := startGRPC(t, func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		return nil, status.Error(codes.Unavailable, "starting")
	})
	a := customauth.New(caller)
	if _, err := a.Decide(t.Context(), tokenRequest("tok", "shop/prod/GET/x")); !errors.Is(err, customauth.ErrAuthorizerFailed) {
		t.Fatalf("Decide error = %v, want ErrAuthorizerFailed", err)
	}
	fake.setRespond(respondWith(allow("user-1", "*")))
	if d := decide(t, a, tokenRequest("tok", "shop/prod/GET/x")); !d.Allowed || d.FromCache {
		t.Errorf("Decide = %+v, want allowed by a new callout", d)
	}
}

func TestDecidePanickingCaller(t *testing.T) {
	a := customauth.New(customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		panic("boom")
	}))
	_, err := a.Decide(t.Context(), tokenRequest("tok", "shop/prod/GET/x"))
	if !errors.Is(err, customauth.ErrAuthorizerFailed) {
		t.Errorf("Decide error = %v, want ErrAuthorizerFailed", err)
	}
}

// TestDecideLRU fills a cache of two: the third key evicts the least
// recently used.
func TestDecideLRU(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
	a := customauth.New(caller, customauth.WithMaxEntries(2))
	steps := []struct {
		token     string
		fromCache bool
	}{
		{"a", false},
		{"b", false},
		{"a", true},  // a is now the most recently used
		{"c", false}, // evicts b
		{"a", true},
		{"c", true},
		{"b", false}, // evicted: calls out, and evicts a
		{"c", true},
		{"a", false},
	}
	for i, s := range steps {
		if d := decide(t, a, tokenRequest(s.token, "shop/prod/GET/x")); d.FromCache != s.fromCache {
			t.Errorf("step %d (%s): FromCache = %v, want %v", i, s.token, d.FromCache, s.fromCache)
		}
	}
	if got := fake.calls.Load(); got != 5 {
		t.Errorf("callouts = %d, want 5", got)
	}
}

func TestInvalidate(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "*")))
	a := customauth.New(caller)
	req := tokenRequest("tok", "shop/prod/GET/x")
	decide(t, a, req)
	if d := decide(t, a, req); !d.FromCache {
		t.Fatalf("Decide = %+v, want a hit before Invalidate", d)
	}
	a.Invalidate()
	if d := decide(t, a, req); d.FromCache {
		t.Errorf("Decide = %+v, want a callout after Invalidate", d)
	}
	if got := fake.calls.Load(); got != 2 {
		t.Errorf("callouts = %d, want 2", got)
	}
}

// TestInvalidateDuringCallout checks that a callout that started before
// Invalidate answers its caller but does not fill the cache.
func TestInvalidateDuringCallout(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	fake, caller := startGRPC(t, func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
		return allow("user-1", "*"), nil
	})
	a := customauth.New(caller)
	req := tokenRequest("tok", "shop/prod/GET/x")
	result := make(chan error, 1)
	go func() {
		_, err := a.Decide(t.Context(), req)
		result <- err
	}()
	<-entered
	a.Invalidate()
	close(release)
	if err := <-result; err != nil {
		t.Fatalf("Decide during Invalidate: %v", err)
	}
	if d := decide(t, a, req); d.FromCache {
		t.Errorf("Decide = %+v, want a callout: the old callout must not fill the cache", d)
	}
	if got := fake.calls.Load(); got != 2 {
		t.Errorf("callouts = %d, want 2", got)
	}
}

// TestDecideContextFromCache checks that a cached decision carries the
// authorizer's context (shared, read-only) like the first one.
func TestDecideContextFromCache(t *testing.T) {
	resp := allow("user-1", "*")
	resp.Context = map[string]string{"tenant": "t1"}
	_, caller := startGRPC(t, respondWith(resp))
	a := customauth.New(caller)
	req := tokenRequest("tok", "shop/prod/GET/x")
	for i := range 2 {
		d := decide(t, a, req)
		if d.FromCache != (i == 1) || d.Context["tenant"] != "t1" || len(d.Context) != 1 {
			t.Errorf("decision %d = %+v, want tenant t1 (from the cache the second time)", i, d)
		}
	}
}

// TestDecideReusedProto checks that the caller may change its request's
// proto once Decide returned, even while the callout goes on.
func TestDecideReusedProto(t *testing.T) {
	release := make(chan struct{})
	fake, caller := startGRPC(t, func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		<-release
		return allow("user-1", "*"), nil
	})
	a := customauth.New(caller)
	req := tokenRequest("tok", "shop/prod/GET/x")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Decide(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Decide error = %v, want DeadlineExceeded", err)
	}
	req.Proto.AuthorizationToken = "changed" // must not race with the callout
	close(release)
	for fake.lastRequest() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if got := fake.lastRequest().GetAuthorizationToken(); got != "tok" {
		t.Errorf("authorizer received token %q, want tok", got)
	}
}

func TestDecideInvalidRequest(t *testing.T) {
	tests := []struct {
		name   string
		change func(*customauth.Request)
	}{
		{"no proto", func(r *customauth.Request) { r.Proto = nil }},
		{"unspecified type", func(r *customauth.Request) {
			r.Type = datav1.AuthorizeRequest_TYPE_UNSPECIFIED
			r.Proto.Type = datav1.AuthorizeRequest_TYPE_UNSPECIFIED
		}},
		{"type differs from proto", func(r *customauth.Request) { r.Proto.Type = datav1.AuthorizeRequest_TYPE_REQUEST }},
		{"more sources than values", func(r *customauth.Request) { r.IdentityValues = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counting := &countingCaller{next: customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
				return allow("user-1", "*"), nil
			})}
			a := customauth.New(counting)
			req := tokenRequest("tok", "shop/prod/GET/x")
			tt.change(&req)
			if _, err := a.Decide(t.Context(), req); !errors.Is(err, customauth.ErrInvalidRequest) {
				t.Errorf("Decide error = %v, want ErrInvalidRequest", err)
			}
			if got := counting.calls.Load(); got != 0 {
				t.Errorf("callouts = %d, want 0", got)
			}
		})
	}
}

func TestNewNilCaller(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	customauth.New(nil)
}

// TestCached: Cached answers from the cache only, without a request
// message, and never calls out.
func TestCached(t *testing.T) {
	fake, caller := startGRPC(t, respondWith(allow("user-1", "shop/prod/GET/*")))
	for _, tt := range []struct {
		name    string
		opts    []customauth.Option
		wantHit bool
	}{
		{"cache", nil, true},
		{"TTL zero", []customauth.Option{customauth.WithTTL(0)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := customauth.New(caller, tt.opts...)
			req := tokenRequest("tok-"+tt.name, "shop/prod/GET/x")
			bare := req
			bare.Proto = nil
			if _, ok := a.Cached(&bare); ok {
				t.Fatal("Cached before any callout = true")
			}
			before := fake.calls.Load()
			decide(t, a, req)
			d, ok := a.Cached(&bare)
			if ok != tt.wantHit || (ok && (!d.Allowed || !d.FromCache || d.PrincipalID != "user-1")) {
				t.Errorf("Cached = %+v, %v; want a hit: %v", d, ok, tt.wantHit)
			}
			bare.MethodResource = "shop/prod/DELETE/x"
			if d, ok := a.Cached(&bare); ok != tt.wantHit || d.Allowed {
				t.Errorf("Cached for another resource = %+v, %v; want a denying hit: %v", d, ok, tt.wantHit)
			}
			other := bare
			other.IdentityValues = []string{"tok-other"}
			if _, ok := a.Cached(&other); ok {
				t.Error("Cached for another identity = true")
			}
			if got := fake.calls.Load() - before; got != 1 {
				t.Errorf("callouts = %d, want 1", got)
			}
		})
	}
}
