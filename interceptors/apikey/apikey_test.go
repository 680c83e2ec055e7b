package apikey_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

const stage = "apis/shop/stages/prod"

var gold = &adminv1.UsagePlan{Name: "usagePlans/gold"}

var keys = map[string]*apikey.Key{
	apikey.Hash("good-key-0123456789abcdef"):  {Name: "apiKeys/good", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}},
	apikey.Hash("off-key-0123456789abcdef"):   {Name: "apiKeys/off", Enabled: false, UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}},
	apikey.Hash("other-key-0123456789abcdef"): {Name: "apiKeys/other", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{"apis/shop/stages/beta": gold}},
}

func lookup(_ context.Context, hash string) (*apikey.Key, error) { return keys[hash], nil }

func run(t testing.TB, route *adminv1.Route, source adminv1.Api_ApiKeySource, usageKey string, md metadata.MD) (*callinfo.Call, error) {
	call := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage, Route: route, APIKeySource: source}, AuthResult: callinfo.AuthResult{UsageIdentifierKey: usageKey}}
	ctx := callinfo.NewContext(metadata.NewIncomingContext(context.Background(), md), call)
	intercept := apikey.StreamServerInterceptor(apikey.LookupFunc(lookup))
	err := intercept(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{FullMethod: "/a.B/C"}, func(any, grpc.ServerStream) error { return nil })
	return call, err
}

func TestInterceptor(t *testing.T) {
	required := &adminv1.Route{ApiKeyRequired: true}
	keyType := &adminv1.Route{Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_API_KEY}}
	header := adminv1.Api_API_KEY_SOURCE_HEADER
	tests := []struct {
		name     string
		route    *adminv1.Route
		source   adminv1.Api_ApiKeySource
		usageKey string
		md       metadata.MD
		want     codes.Code
		wantKey  string
	}{
		{"open route", &adminv1.Route{}, header, "", nil, codes.OK, ""},
		{"default integration", nil, header, "", nil, codes.OK, ""},
		{"missing", required, header, "", nil, codes.PermissionDenied, ""},
		{"unknown", required, header, "", metadata.Pairs("x-api-key", "nope"), codes.PermissionDenied, ""},
		{"disabled", required, header, "", metadata.Pairs("x-api-key", "off-key-0123456789abcdef"), codes.PermissionDenied, ""},
		{"not covering the stage", required, header, "", metadata.Pairs("x-api-key", "other-key-0123456789abcdef"), codes.PermissionDenied, ""},
		{"two keys", required, header, "", metadata.Pairs("x-api-key", "good-key-0123456789abcdef", "x-api-key", "good-key-0123456789abcdef"), codes.PermissionDenied, ""},
		{"good", required, header, "", metadata.Pairs("x-api-key", "good-key-0123456789abcdef"), codes.OK, "apiKeys/good"},
		{"API_KEY authorization type", keyType, header, "", metadata.Pairs("x-api-key", "good-key-0123456789abcdef"), codes.OK, "apiKeys/good"},
		{"key from the authorizer", required, adminv1.Api_API_KEY_SOURCE_AUTHORIZER, "good-key-0123456789abcdef", nil, codes.OK, "apiKeys/good"},
		{"authorizer source ignores the header", required, adminv1.Api_API_KEY_SOURCE_AUTHORIZER, "", metadata.Pairs("x-api-key", "good-key-0123456789abcdef"), codes.PermissionDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := run(t, tt.route, tt.source, tt.usageKey, tt.md)
			if status.Code(err) != tt.want {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tt.want)
			}
			if err != nil && status.Convert(err).Message() != "Forbidden" {
				t.Errorf("message %q reveals why", status.Convert(err).Message())
			}
			got := ""
			if call.APIKey != nil {
				got = call.APIKey.Name
			}
			if got != tt.wantKey {
				t.Errorf("resolved key %q, want %q", got, tt.wantKey)
			}
		})
	}
}

func TestCacheTTL(t *testing.T) {
	var calls atomic.Int64
	enabled := true
	next := apikey.LookupFunc(func(context.Context, string) (*apikey.Key, error) {
		calls.Add(1)
		return &apikey.Key{Enabled: enabled}, nil
	})
	c := apikey.NewCache(next, 100*time.Millisecond, 0)
	for range 10 {
		if k, _ := c.LookupAPIKey(context.Background(), "h"); !k.Enabled {
			t.Fatal("not enabled")
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d lookups for 10 cached calls", calls.Load())
	}
	enabled = false
	deadline := time.Now().Add(2 * time.Second)
	for {
		if k, _ := c.LookupAPIKey(context.Background(), "h"); !k.Enabled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never saw the key disabled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCacheCollapsesConcurrentMisses(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	next := apikey.LookupFunc(func(context.Context, string) (*apikey.Key, error) {
		calls.Add(1)
		<-release
		return &apikey.Key{Enabled: true}, nil
	})
	c := apikey.NewCache(next, time.Hour, 0)
	const callers = 100
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(callers)
	for range callers {
		wg.Go(func() {
			started.Done()
			if k, err := c.LookupAPIKey(context.Background(), "h"); err != nil || !k.Enabled {
				t.Errorf("lookup = %v, %v", k, err)
			}
		})
	}
	started.Wait()
	// Let every caller reach the cache before the store answers.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d store lookups for %d concurrent callers of one key, want 1", n, callers)
	}
}

func TestCacheBound(t *testing.T) {
	var calls atomic.Int64
	next := apikey.LookupFunc(func(context.Context, string) (*apikey.Key, error) { calls.Add(1); return nil, nil })
	c := apikey.NewCache(next, time.Hour, 10)
	for i := range 1000 {
		_, _ = c.LookupAPIKey(context.Background(), string(rune('a'+i%26))+time.Duration(i).String())
	}
	if calls.Load() != 1000 {
		t.Fatalf("%d lookups", calls.Load())
	}
}

// BenchmarkInterceptorCached is the cost of checking a key held in the cache.
func BenchmarkInterceptorCached(b *testing.B) {
	c := apikey.NewCache(apikey.LookupFunc(lookup), time.Hour, 0)
	intercept := apikey.StreamServerInterceptor(c)
	route := &adminv1.Route{ApiKeyRequired: true}
	md := metadata.Pairs("x-api-key", "good-key-0123456789abcdef")
	base := metadata.NewIncomingContext(context.Background(), md)
	info := &grpc.StreamServerInfo{FullMethod: "/a.B/C"}
	done := func(any, grpc.ServerStream) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		call := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage, Route: route}}
		if err := intercept(nil, testkit.NewServerStream(callinfo.NewContext(base, call)), info, done); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCacheServesStaleOnError: while the store fails, a key seen before is
// still answered from the expired entry, and the store is asked at most
// once per TTL; an unknown key gets the error.
func TestCacheServesStaleOnError(t *testing.T) {
	var calls atomic.Int64
	var down atomic.Bool
	errDown := status.Error(codes.Unavailable, "store unavailable")
	next := apikey.LookupFunc(func(context.Context, string) (*apikey.Key, error) {
		calls.Add(1)
		if down.Load() {
			return nil, errDown
		}
		return &apikey.Key{Name: "apiKeys/k", Enabled: true}, nil
	})
	c := apikey.NewCache(next, 50*time.Millisecond, 0)
	if k, err := c.LookupAPIKey(context.Background(), "h"); err != nil || k.Name != "apiKeys/k" {
		t.Fatalf("lookup = %v, %v", k, err)
	}
	down.Store(true)
	time.Sleep(60 * time.Millisecond)
	before := calls.Load()
	for range 20 {
		if k, err := c.LookupAPIKey(context.Background(), "h"); err != nil || k.Name != "apiKeys/k" {
			t.Fatalf("lookup with the store down = %v, %v; want the last answer", k, err)
		}
	}
	if n := calls.Load() - before; n != 1 {
		t.Errorf("%d store reads for 20 calls within a TTL of a failure, want 1", n)
	}
	if _, err := c.LookupAPIKey(context.Background(), "unknown"); status.Code(err) != codes.Unavailable {
		t.Errorf("unknown key with the store down: %v, want the store's error", err)
	}
}
