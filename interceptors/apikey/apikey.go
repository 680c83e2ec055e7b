package apikey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
)

// MetadataKey is the metadata entry (HTTP header) carrying the key.
const MetadataKey = "x-api-key"

// Reasons of refused keys, in the google.rpc.ErrorInfo of the refusal
// (domain gatewayerr.Domain).
const (
	// ReasonMissing: the call carries no key (or several).
	ReasonMissing = "API_KEY_MISSING"
	// ReasonInvalid: the key is unknown or disabled.
	ReasonInvalid = "API_KEY_INVALID"
	// ReasonNotInPlan: the key is in no usage plan covering the stage.
	ReasonNotInPlan = "API_KEY_NOT_IN_PLAN"
)

// Refusals: Amazon API Gateway's body ("Forbidden") for every refused key,
// with the reason as an ErrorInfo so that the caller and the logs can tell
// which it was. Telling an unknown key from an uncovered one reveals
// nothing useful: keys carry at least 20 characters of secret.
var (
	errMissing   = gatewayerr.New(codes.PermissionDenied, ReasonMissing, "Forbidden")
	errInvalid   = gatewayerr.New(codes.PermissionDenied, ReasonInvalid, "Forbidden")
	errNotInPlan = gatewayerr.New(codes.PermissionDenied, ReasonNotInPlan, "Forbidden")
	errIPDenied  = gatewayerr.New(codes.PermissionDenied, gatewayerr.ReasonIPDenied, "Forbidden")
)

// Needs and Provides are the API-key policy's place in the chain (see
// interceptors/chain): it reads the key a custom authorizer chose (with
// the API key source AUTHORIZER) and resolves the caller's key and plan.
var (
	Needs    = []callinfo.Fact{callinfo.FactUsageIdentifierKey}
	Provides = []callinfo.Fact{callinfo.FactAPIKey}
)

// Key is what a Lookup knows about a key.
type Key struct {
	// Name is the key's resource name.
	Name string
	// Enabled reports whether the key is accepted.
	Enabled bool
	// CustomerID is the key's customer ID.
	CustomerID string
	// UsagePlans maps each stage covered by one of the key's usage plans
	// to that plan.
	UsagePlans map[string]*adminv1.UsagePlan
	// IPPolicy is the networks the key may be used from, compiled; nil
	// admits every address.
	IPPolicy *ipacl.Rule
}

// Lookup finds a key by the hex SHA-256 of its value. It returns nil and no
// error for an unknown key.
type Lookup interface {
	LookupAPIKey(ctx context.Context, hash string) (*Key, error)
}

// DigestLookup is a Lookup that also finds a key by the SHA-256 of its
// value as bytes (the gateway's own index): the interceptor then neither
// encodes the digest in hex nor has it decoded on every call.
type DigestLookup interface {
	Lookup
	// LookupAPIKeyDigest is LookupAPIKey with the digest unencoded.
	LookupAPIKeyDigest(ctx context.Context, sum [sha256.Size]byte) (*Key, error)
}

// LookupFunc adapts a function to Lookup.
type LookupFunc func(ctx context.Context, hash string) (*Key, error)

// LookupAPIKey calls f.
func (f LookupFunc) LookupAPIKey(ctx context.Context, hash string) (*Key, error) { return f(ctx, hash) }

// Hash returns the hex SHA-256 of a key value, the only form in which the
// gateway stores a key (the admin API indexes keys by it). Keys have at
// least 20 characters (generated ones 256 bits of entropy), so an unsalted
// fast hash cannot be brute-forced, and lookups by hash stay O(1).
func Hash(value string) string {
	return hexDigest(sha256.Sum256(bytesOf(value)))
}

// hexDigest encodes a digest as Hash does.
func hexDigest(sum [sha256.Size]byte) string {
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:])
}

// Required reports whether a route needs an API key.
func Required(r *adminv1.Route) bool {
	return r.GetApiKeyRequired() || r.GetAuthorization().GetType() == adminv1.RouteAuthorization_TYPE_API_KEY
}

// StreamServerInterceptor checks the API key of calls whose route requires
// one and records the resolved key in the call (callinfo.Call.APIKey).
// Calls without callinfo (outside the data plane) pass untouched. The
// digests of the keys lookup knows are remembered (see digestCache), never
// its answers: each call asks lookup.
func StreamServerInterceptor(lookup Lookup) grpc.StreamServerInterceptor {
	c := newChecker(lookup)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		call := callinfo.FromContext(ss.Context())
		if call == nil || !Required(call.Route) {
			return handler(srv, ss)
		}
		if err := c.check(ss.Context(), call); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// checker checks the keys of calls.
type checker struct {
	lookup   Lookup
	byDigest DigestLookup // lookup, when it is one
	digests  *digestCache
	records  *recordCache
}

// newChecker returns the checker of the keys lookup finds.
func newChecker(lookup Lookup) *checker {
	c := &checker{lookup: lookup, digests: newDigestCache(), records: new(recordCache)}
	c.byDigest, _ = lookup.(DigestLookup)
	return c
}

// find looks up the key of value, remembering its digest if it is known.
func (c *checker) find(ctx context.Context, value string) (*Key, error) {
	sum, cached := c.digests.digest(value)
	var (
		key *Key
		err error
	)
	if c.byDigest != nil {
		key, err = c.byDigest.LookupAPIKeyDigest(ctx, sum)
	} else {
		key, err = c.lookup.LookupAPIKey(ctx, hexDigest(sum))
	}
	if key != nil && !cached {
		c.digests.add(value, sum)
	}
	return key, err
}

// check resolves and validates the key of a call.
func (c *checker) check(ctx context.Context, call *callinfo.Call) error {
	var value string
	if call.APIKeySource == adminv1.Api_API_KEY_SOURCE_AUTHORIZER {
		value = call.UsageIdentifierKey
	} else {
		vals := call.MetadataValues(ctx, MetadataKey)
		if len(vals) != 1 {
			// None, or several: never guess which one was meant.
			return errMissing
		}
		value = vals[0]
	}
	if value == "" {
		return errMissing
	}
	key, err := c.find(ctx, value)
	if err != nil {
		return status.Error(codes.Internal, "could not check the API key")
	}
	if key == nil || !key.Enabled {
		return errInvalid
	}
	// Only once the key is known to be valid: telling the holder of an
	// unknown key that its address is refused would say nothing useful.
	if key.IPPolicy != nil && !key.IPPolicy.Admits(ipacl.ParseAddr(call.SourceIP)) {
		return errIPDenied
	}
	plan, ok := key.UsagePlans[call.Stage]
	if !ok {
		return errNotInPlan
	}
	call.APIKey = c.records.record(key, plan)
	return nil
}

// Cache is a Lookup that remembers answers, known and unknown keys alike,
// for at most its TTL: for a Lookup that reads a store on every call (the
// gateway's own keeps every key in memory and uses one only while that is
// not loaded). When an entry expires under load, one call reads the
// store for it and the others wait for that answer, rather than every
// concurrent call reading at once. When that read fails (the store is
// unavailable), the expired answer is served and kept another TTL, so that
// a gateway keeps admitting the keys it knew while its database is down.
type Cache struct {
	next    Lookup
	ttl     time.Duration
	max     int
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]cacheEntry
	flights singleflight.Group
}

type cacheEntry struct {
	key     *Key
	expires time.Time
}

// NewCache caches next's answers for ttl (default one second) and at most
// max entries (default 100,000; when full, the cache starts afresh rather
// than letting a flood of random keys grow it).
func NewCache(next Lookup, ttl time.Duration, max int) *Cache {
	if ttl <= 0 {
		ttl = time.Second
	}
	if max <= 0 {
		max = 100_000
	}
	return &Cache{next: next, ttl: ttl, max: max, now: time.Now, entries: map[string]cacheEntry{}}
}

// LookupAPIKey answers from the cache or asks the next Lookup.
func (c *Cache) LookupAPIKey(ctx context.Context, hash string) (*Key, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	// The shared lookup must not end with the first caller's
	// cancellation; the store read is short and bounded by itself.
	v, err, _ := c.flights.Do(hash, func() (any, error) {
		key, err := c.next.LookupAPIKey(context.WithoutCancel(ctx), hash)
		if err != nil {
			if ok {
				// The store failed (a shared database is down): the last
				// answer is better than refusing every caller, and is
				// kept another TTL so the store is not asked on every call.
				c.mu.Lock()
				c.entries[hash] = cacheEntry{key: e.key, expires: now.Add(c.ttl)}
				c.mu.Unlock()
				return e.key, nil
			}
			return nil, err
		}
		c.mu.Lock()
		if len(c.entries) >= c.max {
			c.entries = map[string]cacheEntry{}
		}
		c.entries[hash] = cacheEntry{key: key, expires: now.Add(c.ttl)}
		c.mu.Unlock()
		return key, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Key), nil
}
