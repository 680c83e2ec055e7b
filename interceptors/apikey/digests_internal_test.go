package apikey

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// keyTable is a Lookup whose keys a test changes between calls; it counts
// its lookups.
type keyTable struct {
	mu      sync.Mutex
	keys    map[[sha256.Size]byte]*Key
	lookups int
}

func (t *keyTable) LookupAPIKey(ctx context.Context, hash string) (*Key, error) {
	for h, k := range t.snapshot() {
		if hexDigest(h) == hash {
			t.count()
			return k, nil
		}
	}
	t.count()
	return nil, nil
}

func (t *keyTable) LookupAPIKeyDigest(_ context.Context, sum [sha256.Size]byte) (*Key, error) {
	t.count()
	return t.snapshot()[sum], nil
}

func (t *keyTable) count() { t.mu.Lock(); t.lookups++; t.mu.Unlock() }

func (t *keyTable) snapshot() map[[sha256.Size]byte]*Key {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys
}

func (t *keyTable) set(value string, k *Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := map[[sha256.Size]byte]*Key{}
	for h, old := range t.keys {
		next[h] = old
	}
	if k == nil {
		delete(next, sha256.Sum256([]byte(value)))
	} else {
		next[sha256.Sum256([]byte(value))] = k
	}
	t.keys = next
}

// onlyHex hides a keyTable's digest lookup: the interceptor must then
// encode digests in hex, as for any Lookup.
type onlyHex struct{ t *keyTable }

func (o onlyHex) LookupAPIKey(ctx context.Context, hash string) (*Key, error) {
	return o.t.LookupAPIKey(ctx, hash)
}

// occupied counts the cache's filled slots.
func occupied(c *digestCache) int { return c.known.Len() }

// TestDigestCacheDecidesNothing: with a key's digest cached, every change
// to what the Lookup answers for it applies to the very next call, for
// both kinds of Lookup.
func TestDigestCacheDecidesNothing(t *testing.T) {
	const stage, value = "apis/shop/stages/prod", "cached-key-0123456789abcdef"
	gold := &adminv1.UsagePlan{Name: "usagePlans/gold"}
	silver := &adminv1.UsagePlan{Name: "usagePlans/silver"}
	for _, kind := range []string{"digest", "hex"} {
		t.Run(kind, func(t *testing.T) {
			table := &keyTable{}
			var lookup Lookup = table
			if kind == "hex" {
				lookup = onlyHex{table}
			}
			c := newChecker(lookup)
			call := func() (*callinfo.Call, error) {
				call := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage, Route: &adminv1.Route{ApiKeyRequired: true}}}
				ctx := callinfo.NewContext(metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, value)), call)
				return call, c.check(ctx, call)
			}
			steps := []struct {
				name     string
				key      *Key // nil: deleted
				wantErr  error
				wantPlan string
			}{
				{"unknown", nil, errInvalid, ""},
				{"created in gold", &Key{Name: "apiKeys/a", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}}, nil, "usagePlans/gold"},
				{"disabled", &Key{Name: "apiKeys/a", UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}}, errInvalid, ""},
				{"enabled", &Key{Name: "apiKeys/a", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}}, nil, "usagePlans/gold"},
				{"moved to silver", &Key{Name: "apiKeys/a", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: silver}}, nil, "usagePlans/silver"},
				{"out of every plan", &Key{Name: "apiKeys/a", Enabled: true}, errNotInPlan, ""},
				{"deleted", nil, errInvalid, ""},
				{"the value reissued", &Key{Name: "apiKeys/b", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: gold}}, nil, "usagePlans/gold"},
			}
			for _, step := range steps {
				table.set(value, step.key)
				for range 2 { // the second call answers from the cached digest
					got, err := call()
					if status.Code(err) != status.Code(step.wantErr) || (err != nil && err != step.wantErr) {
						t.Fatalf("%s: %v, want %v", step.name, err, step.wantErr)
					}
					if err == nil && got.APIKey.UsagePlan != step.wantPlan {
						t.Fatalf("%s: plan %q, want %q", step.name, got.APIKey.UsagePlan, step.wantPlan)
					}
				}
			}
			if table.lookups != 2*len(steps) {
				t.Errorf("%d lookups for %d calls: every call must ask the Lookup", table.lookups, 2*len(steps))
			}
			if n := occupied(c.digests); n != 1 {
				t.Errorf("%d cached digests, want the one key's", n)
			}
		})
	}
}

// TestDigestCacheBounded: values the Lookup does not know are never
// cached, and known ones fill at most the fixed table.
func TestDigestCacheBounded(t *testing.T) {
	table := &keyTable{}
	c := newChecker(table)
	for i := range 3 * digestSlots {
		if _, err := c.find(context.Background(), "random-key-"+strconv.Itoa(i)+"-0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
	}
	if n := occupied(c.digests); n != 0 {
		t.Fatalf("%d slots filled by unknown keys, want 0", n)
	}
	known := map[[sha256.Size]byte]*Key{}
	for i := range 3 * digestSlots {
		known[sha256.Sum256([]byte("known-key-"+strconv.Itoa(i)+"-0123456789abcdef"))] = &Key{Name: "apiKeys/k" + strconv.Itoa(i)}
	}
	table.keys = known
	for i := range 3 * digestSlots {
		value := "known-key-" + strconv.Itoa(i) + "-0123456789abcdef"
		k, err := c.find(context.Background(), value)
		if err != nil || k == nil || k.Name != "apiKeys/k"+strconv.Itoa(i) {
			t.Fatalf("%s: %v, %v", value, k, err)
		}
	}
	if n := occupied(c.digests); n > digestSlots {
		t.Fatalf("%d slots filled, more than the table's %d", n, digestSlots)
	}
}

// TestDigestCacheMatchesHash: a cached digest is the value's, whatever
// the length of the value and whichever value last took its slot.
func TestDigestCacheMatchesHash(t *testing.T) {
	c := newDigestCache()
	values := []string{"", "a", "short-key-01234567890", string(make([]byte, 200)), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	for _, v := range values {
		sum, cached := c.digest(v)
		if cached || hexDigest(sum) != Hash(v) {
			t.Fatalf("%q: cached %v, digest %x", v, cached, sum)
		}
		c.add(v, sum)
	}
	for _, v := range values {
		sum, _ := c.digest(v)
		if hexDigest(sum) != Hash(v) {
			t.Fatalf("%q: digest %x, want %s", v, sum, Hash(v))
		}
	}
	// (A value of the same length as a cached one in the same slot is not
	// taken for it: internal/valuememo's TestTable.)
}

// TestInterceptorUsesDigestLookup: through the interceptor, a known key
// passes and a revoked one is refused on the next call.
func TestInterceptorUsesDigestLookup(t *testing.T) {
	const stage, value = "apis/shop/stages/prod", "cached-key-0123456789abcdef"
	table := &keyTable{}
	table.set(value, &Key{Name: "apiKeys/a", Enabled: true, UsagePlans: map[string]*adminv1.UsagePlan{stage: {Name: "usagePlans/gold"}}})
	intercept := StreamServerInterceptor(table)
	run := func() error {
		call := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{Stage: stage, Route: &adminv1.Route{ApiKeyRequired: true}}}
		ctx := callinfo.NewContext(metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, value)), call)
		return intercept(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{FullMethod: "/a.B/C"}, func(any, grpc.ServerStream) error { return nil })
	}
	for range 3 {
		if err := run(); err != nil {
			t.Fatal(err)
		}
	}
	table.set(value, nil)
	if err := run(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("revoked key: %v, want PERMISSION_DENIED", err)
	}
}

// TestRecordCache: calls with the same key and plan share one record;
// any change to the key or plan gets a new one, right.
func TestRecordCache(t *testing.T) {
	var c recordCache
	gold := &adminv1.UsagePlan{Name: "usagePlans/gold"}
	key := &Key{Name: "apiKeys/a", CustomerID: "c1", Enabled: true}
	first := c.record(key, gold)
	want := callinfo.APIKey{Name: "apiKeys/a", UsagePlan: "usagePlans/gold", Plan: gold, CustomerID: "c1", PlanBucket: "plan|apiKeys/a|usagePlans/gold"}
	if *first != want {
		t.Fatalf("record %+v, want %+v", *first, want)
	}
	if c.record(key, gold) != first {
		t.Error("the same key and plan got a new record")
	}
	silver := &adminv1.UsagePlan{Name: "usagePlans/silver"}
	if got := c.record(key, silver); got.UsagePlan != "usagePlans/silver" || got.Plan != silver || got.PlanBucket != "plan|apiKeys/a|usagePlans/silver" {
		t.Errorf("another plan: %+v", *got)
	}
	replaced := &Key{Name: "apiKeys/a", CustomerID: "c2", Enabled: true}
	if got := c.record(replaced, gold); got.CustomerID != "c2" {
		t.Errorf("a replaced key: %+v", *got)
	}
	key.CustomerID = "c3" // changed in place, which the index never does
	if got := c.record(key, gold); got.CustomerID != "c3" || got == first {
		t.Errorf("a key changed in place: %+v", *got)
	}
	if *first != want {
		t.Errorf("a shared record changed: %+v", *first)
	}
}
